r"""Exact gold-reward curves of best-of-N and of the proxy-tilted policy.

For a joint law :math:`(p, g, \tilde r)` (:class:`~mdpkit.reward_hacking.JointLaw`) and a
policy :math:`\pi` that optimizes the proxy, the curve is
:math:`\big(\mathrm{KL}(\pi\|p),\ \mathbb E_\pi g\big)` as the optimization pressure
grows. Both policies keep the reference's ratios inside a proxy level, so with
:math:`\bar g(\ell) = \mathbb E_p[g \mid \tilde r = \ell]` everything is a sum over proxy
levels:

* best-of-N on :math:`\tilde r` (uniform ties): the level law
  :math:`F(\ell)^N - F(\ell^-)^N` of :func:`mdpkit.bon.best_of_n` (its log-space kernel);
* the tilted policy :math:`\pi_\beta \propto p\,e^{\tilde r/\beta}`, the solution of
  :math:`\max_\pi \mathbb E_\pi \tilde r - \beta\,\mathrm{KL}(\pi\|p)`
  (:func:`mdpkit.bon.tilted`);
* the f-regularized policy :math:`\max_\pi \mathbb E_\pi \tilde r - \beta D_f(\pi\|p)` of
  a :mod:`mdpkit.divergences` object (``method="regularized"``).

Gao et al. (2023) fit :math:`d(\alpha - \beta d)` (best-of-N) and
:math:`d(\alpha - \beta \log d)` (RL) to gold-reward gains against
:math:`d = \sqrt{\mathrm{KL}}`; :func:`fit_gao` fits both by least squares (the
coefficient called :math:`\beta` there is ``decay`` here, since ``beta`` names a KL
strength in mdpkit).

References
----------
.. [1] L. Gao, J. Schulman, J. Hilton, "Scaling laws for reward model
   overoptimization", ICML 2023, Eq. (1)-(2).
.. [2] R. Rafailov et al., "Scaling laws for reward model overoptimization in direct
   alignment algorithms", NeurIPS 2024.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from .. import bon
from .._results import ScalarFields, as_frame
from .._typing import FloatArray, RNGLike
from .._validation import (
    as_float_array,
    as_generator,
    check_choice,
    check_int,
    check_scalar,
)
from ..bon import _bon_kernels as _bk
from ..bon._tilt import _centre, _lam_for_kl
from ..divergences import FDivergence
from . import _hacking_kernels as _hk
from ._mitigations import apply_transform

METHODS = ("best_of_n", "regularized", "tilted")
FORMS = ("bon", "rl")


@dataclass(frozen=True)
class GoldCurve:
    r"""Gold and proxy reward of an optimized policy against its KL to the reference.

    Attributes
    ----------
    method : str
    param_name : str
        ``"n"`` (best-of-N) or ``"beta"`` (tilted, regularized).
    param : ndarray
        N or :math:`\beta` at each point (``inf`` for the reference itself).
    kl, gold, proxy : ndarray
        :math:`\mathrm{KL}(\pi\|p)`, :math:`\mathbb E_\pi g` and :math:`\mathbb E_\pi \tilde r`
        (the optimized reward, after any transform).
    gold_ref, proxy_ref : float
        Values under the reference.
    """

    method: str
    param_name: str
    param: FloatArray
    kl: FloatArray
    gold: FloatArray
    proxy: FloatArray
    gold_ref: float
    proxy_ref: float

    @property
    def d(self) -> FloatArray:
        r""":math:`d = \sqrt{\mathrm{KL}}`."""
        return np.sqrt(self.kl)

    def summary(self) -> str:
        """Return one line: method, number of points, largest KL and best gold reward."""
        return (f"{self.method} gold curve: {self.kl.size} points, KL up to {np.max(self.kl):.6g}, "
                f"max gold {np.max(self.gold):.6g} (reference {self.gold_ref:.6g})")

    def to_frame(self) -> Any:
        """Return one row per point (a pandas DataFrame).

        Columns ``method``, the parameter (``param_name``), ``kl``, ``d``, ``gold``, ``proxy``.
        """
        return as_frame({"method": np.full(self.kl.size, self.method), self.param_name: self.param,
                         "kl": self.kl, "d": self.d, "gold": self.gold, "proxy": self.proxy})

    def peak(self, law: Any = None, *, transform: Any = None) -> Peak:
        """Return the overoptimization peak, see :func:`overoptimization_peak`."""
        return overoptimization_peak(self, law, transform=transform)

    def fit(self, form: str | None = None) -> GaoFit:
        """Gao et al.'s fit, see :func:`fit_gao`."""
        return fit_gao(self, form)


class _Levels:
    """Proxy levels of the reference with their masses and mean gold reward."""

    def __init__(self, probs: FloatArray, proxy: FloatArray, gold: FloatArray):
        self.ref = bon.Discrete(probs, proxy)
        lpr, llp = self.ref.level_probs, self.ref.level_log_probs
        a = self.ref._atoms
        pg = np.add.reduceat((probs * gold)[a.order], a.level_starts)
        with np.errstate(invalid="ignore", divide="ignore"):
            self.gold = np.where(lpr > 0, pg / np.where(lpr > 0, lpr, 1.0), 0.0)
        self.p = np.ascontiguousarray(lpr)
        self.lp = np.ascontiguousarray(llp)
        self.r = np.ascontiguousarray(self.ref.level_rewards)
        self.linear_ok = self.ref._linear_ok


def _bon_points(L: _Levels, ns: FloatArray) -> FloatArray:
    """(KL, gold, proxy) of best-of-N at each N, through mdpkit.bon's law kernels."""
    out = np.empty((ns.shape[0], 3))
    lq = np.empty(L.p.shape[0])
    for j, n in enumerate(ns):
        ln = math.log(n)
        if L.linear_ok:
            _bk.max_law_from_probs(L.p, L.lp, float(n), ln, lq)
        else:
            _bk.max_law_from_log_probs(L.lp, ln, lq)
        _hk.law_moments(lq, L.lp, L.gold, L.r, out[j])
    out[:, 0] = np.maximum(out[:, 0], 0.0)
    return out


def _tilt_points(L: _Levels, lams: FloatArray) -> FloatArray:
    """(KL, gold, proxy) of the tilted policy at each inverse temperature."""
    support = L.lp > -np.inf
    r_s, p_s = L.r[support], L.p[support]
    # bon's centring rule (mean for small lam, top reward for large), evaluated once
    mean, top = _centre(r_s, p_s, 0.0), float(r_s[-1])
    cs = np.where(lams * (top - mean) <= 1.0, mean, top)
    out = np.empty((lams.shape[0], 4))
    _hk.tilt_moments(L.lp, L.r, L.gold, np.ascontiguousarray(lams, dtype=np.float64), cs, out)
    out[:, 1] = np.maximum(out[:, 1], 0.0)
    return out[:, [1, 3, 2]]


def _regularized_points(probs: FloatArray, proxy: FloatArray, gold: FloatArray,
                        div: FDivergence, betas: FloatArray) -> FloatArray:
    if not isinstance(div, FDivergence):
        raise TypeError(f"`div` must be an mdpkit.divergences object (e.g. ChiSquare()); got "
                        f"{type(div).__name__}.")
    if np.any(probs <= 0):
        raise ValueError("method='regularized' needs a reference with positive mass on every atom.")
    out = np.empty((betas.shape[0], 3))
    for j, b in enumerate(betas):
        _, pi = div.regularized_max(proxy, probs, float(b))
        m = pi > 0
        klv = float(np.sum(pi[m] * np.log(pi[m] / probs[m])))
        out[j] = (max(klv, 0.0), pi @ gold, pi @ proxy)
    return out


def _default_ns(n_points: int, n_max: int) -> FloatArray:
    return np.unique(np.round(np.geomspace(1, n_max, n_points))).astype(float)


def _default_lams(L: _Levels, kl_max: float | None, n_points: int) -> FloatArray:
    kmax = float(-L.lp[L.lp > -np.inf][-1])
    if kmax == 0.0:
        raise ValueError("the optimized reward is constant on the reference's support.")
    km = min(5.0, 0.99 * kmax) if kl_max is None else check_scalar(
        "kl_max", kl_max, lo=0.0, lo_inclusive=False, hi=kmax)
    lam_hi = _lam_for_kl(L.ref, km)
    if math.isinf(lam_hi):
        raise ValueError(f"`kl_max` must be below log 1/p(top proxy level) = {kmax:.6g}; got {km!r}.")
    return np.concatenate(([0.0], np.geomspace(lam_hi, lam_hi * 1e-2, n_points - 1)[::-1]))


def _betas_for_kl(L: _Levels, kl: npt.ArrayLike) -> FloatArray:
    ks = as_float_array("kl", np.atleast_1d(kl), ndim=1)
    kmax = float(-L.lp[L.lp > -np.inf][-1])
    bad = (ks < 0) | (ks >= kmax)
    if np.any(bad):
        raise ValueError(f"`kl` values must satisfy 0 <= kl < log 1/p(top proxy level) = {kmax:.6g}; "
                         f"got {ks[bad][0]!r}.")
    return np.array([bon.beta_for_kl(L.ref, float(k)) for k in ks])


def _ns(n: npt.ArrayLike | None, n_points: int, n_max: int) -> FloatArray:
    if n is None:
        return _default_ns(check_int("n_points", n_points, lo=2), check_int("n_max", n_max, lo=1))
    return np.array([check_int("n", int(v) if float(v).is_integer() else v, lo=1)
                     for v in np.atleast_1d(np.asarray(n, dtype=float))], dtype=float)


def _betas(L: _Levels, method: str, beta: Any, kl: Any, kl_max: Any, n_points: int) -> FloatArray:
    if kl is not None:
        if method != "tilted" or beta is not None:
            raise ValueError("`kl` targets are for method='tilted' without `beta`.")
        return _betas_for_kl(L, kl)
    if beta is not None:
        betas = as_float_array("beta", np.atleast_1d(beta), ndim=1)
        if np.any(betas <= 0):
            raise ValueError(f"`beta` must be > 0; got {betas[betas <= 0][0]!r}.")
        return betas
    if method != "tilted":
        raise ValueError("method='regularized' needs `beta` (an array of strengths > 0).")
    with np.errstate(divide="ignore"):
        return 1.0 / _default_lams(L, kl_max, check_int("n_points", n_points, lo=2))


def gold_reward_curve(law: Any, method: str = "best_of_n", *, transform: Any = None,
                      n: npt.ArrayLike | None = None, beta: npt.ArrayLike | None = None,
                      kl_max: float | None = None, n_points: int = 200, n_max: int = 10_000,
                      div: FDivergence | None = None, kl: npt.ArrayLike | None = None) -> GoldCurve:
    r"""Exact gold reward of a policy that optimizes the proxy, against its KL.

    Parameters
    ----------
    law : JointLaw or EnsembleLaw
    method : {"best_of_n", "tilted", "regularized"}
        Best-of-N on the proxy; the KL-optimal tilt :math:`p e^{\tilde r/\beta}/Z`; or
        the maximizer of :math:`\mathbb E_\pi\tilde r - \beta D_f(\pi\|p)` for ``div``.
    transform : callable, optional
        Maps ``law`` to the reward that is optimized (ensemble aggregates, PAR shaping).
    n : array_like of int, optional
        Values of N (best-of-N); default ``n_points`` geometric values in [1, ``n_max``].
    beta : array_like, optional
        Strengths :math:`\beta > 0` (tilted, regularized). For ``"tilted"`` the default
        is :math:`\beta = \infty` (the reference) and ``n_points - 1`` geometric inverse
        temperatures up to the one with KL ``kl_max`` (default ``min(5, 0.99 log 1/p_top)``).
    div : FDivergence
        Required by ``"regularized"``.
    kl : array_like, optional
        ``"tilted"`` only: KL values :math:`0 \le \mathrm{KL} < \log 1/p_{top}` at which
        to evaluate, each solved for :math:`\beta` by :func:`mdpkit.bon.beta_for_kl`
        (exact, about 40 tilt evaluations per value).

    Returns
    -------
    GoldCurve

    Examples
    --------
    >>> from mdpkit.reward_hacking import JointLaw
    >>> law = JointLaw([0.5, 0.5], gold=[1.0, 0.0], proxy=[0.0, 1.0])   # anti-correlated
    >>> c = gold_reward_curve(law, "best_of_n", n=[1, 2])
    >>> c.gold.tolist(), round(float(c.kl[1]), 12)       # BoN-2 picks atom 1 w.p. 3/4
    ([0.5, 0.25], 0.130812035941)
    """
    check_choice("method", method, METHODS)
    reward = apply_transform(law, transform)
    L = _Levels(law.probs, reward, law.gold)
    if method == "best_of_n":
        if beta is not None or div is not None or kl is not None:
            raise ValueError("method='best_of_n' takes `n`, not `beta`, `div` or `kl` (N is an "
                             "integer; KL targets are for 'tilted').")
        param, pname = _ns(n, n_points, n_max), "n"
        pts = _bon_points(L, param)
    else:
        if n is not None:
            raise ValueError(f"method={method!r} takes `beta`, not `n`.")
        if (method == "tilted") == (div is not None):
            raise ValueError("method='regularized' needs `div` (an mdpkit.divergences object); "
                             "method='tilted' is the KL tilt and takes none.")
        param, pname = _betas(L, method, beta, kl, kl_max, n_points), "beta"
        if method == "tilted":
            pts = _tilt_points(L, 1.0 / param)
        else:
            assert div is not None  # checked above
            pts = _regularized_points(law.probs, reward, law.gold, div, param)
    return GoldCurve(method, pname, param, pts[:, 0], pts[:, 1], pts[:, 2],
                     float(law.probs @ law.gold), float(law.probs @ reward))


# --------------------------------------------------------------------------- peak and fits
@dataclass(frozen=True)
class Peak(ScalarFields):
    """Largest gold reward on a curve.

    Attributes
    ----------
    index : int
    kl, d, gold, param : float
    interior : bool
        False when the maximum is at the last point (no overoptimization seen yet).
    """

    index: int
    kl: float
    d: float
    gold: float
    param: float
    interior: bool


def overoptimization_peak(curve: GoldCurve, law: Any = None, *, transform: Any = None) -> Peak:
    r"""Return the overoptimization peak: :math:`\arg\max` of the gold reward over the curve's KL.

    Without ``law`` it is the best point of the curve. With the ``law`` (and
    ``transform``) the curve was computed from, the peak is refined between the grid
    neighbours of that point: for ``"tilted"`` by a bounded scalar search over the inverse
    temperature (at an interior peak :math:`\frac{d}{d\lambda}\mathbb E_{\pi}g =
    \mathrm{Cov}_{\pi}(g, \tilde r) = 0`), for ``"best_of_n"`` over every integer N between
    the neighbours (at most 10^4 of them).

    Examples
    --------
    >>> from mdpkit.reward_hacking import tail_proxy
    >>> law = tail_proxy(tail_mass=1e-3, tail_proxy=[10.0], tail_gold=-5.0, n_grid=32)
    >>> pk = overoptimization_peak(gold_reward_curve(law, "best_of_n", n_max=10**5))
    >>> pk.interior, 10 <= pk.param <= 1000
    (True, True)
    """
    if not isinstance(curve, GoldCurve):
        raise TypeError(f"`curve` must be a GoldCurve; got {type(curve).__name__}.")
    i = int(np.argmax(curve.gold))
    interior = i < curve.gold.shape[0] - 1
    best = (float(curve.kl[i]), float(curve.gold[i]), float(curve.param[i]))
    if law is not None and interior and i > 0 and curve.method in ("tilted", "best_of_n"):
        best = max(best, _refine(curve, i, law, transform), key=lambda t: t[1])
    return Peak(i, best[0], math.sqrt(best[0]), best[1], best[2], interior)


def _refine(curve: GoldCurve, i: int, law: Any, transform: Any) -> tuple[float, float, float]:
    """(KL, gold, param) at the best point between the neighbours of grid point ``i``."""
    L = _Levels(law.probs, apply_transform(law, transform), law.gold)
    lo, hi = curve.param[i - 1], curve.param[i + 1]
    if curve.method == "best_of_n":
        if hi - lo > 10_000:
            raise ValueError("refining a best-of-N peak needs grid neighbours at most 10^4 apart.")
        ns = np.arange(lo, hi + 1, dtype=float)
        pts = _bon_points(L, ns)
        j = int(np.argmax(pts[:, 1]))
        return float(pts[j, 0]), float(pts[j, 1]), float(ns[j])
    from scipy import optimize

    a, b = math.log(1.0 / lo) if np.isfinite(lo) else math.log(1e-12 / hi), math.log(1.0 / hi)
    res = optimize.minimize_scalar(lambda t: -_tilt_points(L, np.array([math.exp(t)]))[0, 1],
                                   bounds=(a, b), method="bounded", options={"xatol": 1e-10})
    pt = _tilt_points(L, np.array([math.exp(res.x)]))[0]
    return float(pt[0]), float(pt[1]), math.exp(-res.x)


@dataclass(frozen=True)
class GaoFit(ScalarFields):
    r"""Least-squares fit of Gao et al.'s form to :math:`g - g_{ref}` against :math:`d`.

    Attributes
    ----------
    form : {"bon", "rl"}
        :math:`d(\alpha - \beta d)` or :math:`d(\alpha - \beta\log d)`.
    alpha, decay : float
        :math:`\alpha` and Gao's :math:`\beta`.
    r2, rmse : float
        Goodness of fit on the fitted points.
    d_peak : float
        Argmax of the fitted form (:math:`\alpha/2\beta`, or :math:`e^{\alpha/\beta - 1}`);
        ``inf`` when ``decay <= 0``.
    """

    form: str
    alpha: float
    decay: float
    r2: float
    rmse: float
    d_peak: float

    def predict(self, d: npt.ArrayLike) -> FloatArray:
        """Fitted gold gain at ``d``.

        >>> GaoFit("bon", 1.0, 0.25, 1.0, 0.0, 2.0).predict([2.0]).tolist()
        [1.0]
        """
        x = np.asarray(d, dtype=float)
        return x * (self.alpha - self.decay * _shape(self.form, x))


def _shape(form: str, d: FloatArray) -> FloatArray:
    if form == "bon":
        return d
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(d > 0, np.log(np.where(d > 0, d, 1.0)), 0.0)


def fit_gao(curve: GoldCurve, form: str | None = None) -> GaoFit:
    r"""Fit :math:`g(d) - g_{ref} = d(\alpha - \beta d)` (BoN) or :math:`d(\alpha - \beta \log d)` (RL).

    Linear least squares in :math:`(\alpha, \beta)` over the points with :math:`d > 0`
    (Gao et al., 2023, Eq. 1-2). ``form`` defaults to ``"bon"`` for best-of-N curves and
    ``"rl"`` otherwise.

    Examples
    --------
    >>> d = np.linspace(0.1, 3, 30)
    >>> c = GoldCurve("best_of_n", "n", d, d**2, d * (1 - 0.25 * d), d, 0.0, 0.0)
    >>> f = fit_gao(c)
    >>> round(f.alpha, 10), round(f.decay, 10), round(f.d_peak, 10)
    (1.0, 0.25, 2.0)
    """
    if not isinstance(curve, GoldCurve):
        raise TypeError(f"`curve` must be a GoldCurve; got {type(curve).__name__}.")
    form = ("bon" if curve.method == "best_of_n" else "rl") if form is None else form
    check_choice("form", form, FORMS)
    d = curve.d
    m = d > 0
    if int(m.sum()) < 3:
        raise ValueError("`curve` needs at least 3 points with KL > 0 to fit 2 parameters.")
    x, y = d[m], curve.gold[m] - curve.gold_ref
    X = np.stack([x, -x * _shape(form, x)], axis=1)
    (alpha, decay), *_ = np.linalg.lstsq(X, y, rcond=None)
    resid = y - X @ np.array([alpha, decay])
    ss = float(np.sum((y - y.mean()) ** 2))
    r2 = 1.0 - float(resid @ resid) / ss if ss > 0 else 1.0
    if decay <= 0:
        peak = math.inf
    else:
        peak = alpha / (2 * decay) if form == "bon" else math.exp(alpha / decay - 1.0)
    return GaoFit(form, float(alpha), float(decay), r2, float(np.sqrt(np.mean(resid**2))),
                  float(peak))


# --------------------------------------------------------------------------- Monte Carlo
def monte_carlo_gold(law: Any, method: str, param: float, n_samples: int, *,
                     transform: Any = None, rng: RNGLike = None) -> bon.Estimate:
    r"""Monte-Carlo estimate of the gold reward, independent of the exact curve.

    * ``"best_of_n"``: simulates the procedure (N reference draws, keep the best proxy,
      ties uniformly; :func:`mdpkit.bon.sample_best_of_n`) and averages the gold reward;
    * ``"tilted"``: self-normalized importance sampling from the reference,
      :math:`\sum_i w_i g_i / \sum_i w_i` with :math:`w_i = e^{\tilde r_i/\beta}`,
      standard error by the delta method.

    Examples
    --------
    >>> from mdpkit.reward_hacking import JointLaw
    >>> law = JointLaw([0.5, 0.5], gold=[1.0, 0.0], proxy=[0.0, 1.0])
    >>> monte_carlo_gold(law, "best_of_n", 2, 40_000, rng=0).agrees(0.25)
    True
    """
    check_choice("method", method, ("best_of_n", "tilted"))
    size = check_int("n_samples", n_samples, lo=2)
    reward = apply_transform(law, transform)
    g = as_generator(rng)
    ref = bon.Discrete(law.probs, reward)
    if method == "best_of_n":
        y = bon.sample_best_of_n(ref, check_int("param", param, lo=1), size, rng=g)
        x = law.gold[y]
        return bon.Estimate(float(x.mean()), float(x.std(ddof=1) / math.sqrt(size)), size)
    b = check_scalar("param", param, lo=0.0, lo_inclusive=False)
    y = bon.sample(ref, size, rng=g)
    a = reward[y] / b
    w = np.exp(a - a.max())
    w = w / w.mean()
    est = float(np.mean(w * law.gold[y]))
    se = float(np.std(w * (law.gold[y] - est), ddof=1) / math.sqrt(size))
    return bon.Estimate(est, se, size)
