r"""InfAlign: calibrated rewards, transforms and exact inference-time win rates.

Balashankar et al. (2025), "InfAlign: Inference-aware language model alignment".
The calibrated reward :math:`C(y) = P_{y'\sim p}(r(y') \le r(y))` is uniform on
[0, 1] under the reference when rewards are atomless, so in calibrated space every
reference and every reward model look the same. A policy aligned with the
transformed reward :math:`\Phi(C)` at strength :math:`\beta` has the calibrated density

.. math:: q(u) = e^{\Phi(u)/\beta} / \int_0^1 e^{\Phi(v)/\beta} dv,

with :math:`\mathrm{KL}(q\|p) = \int q\log q`, and the inference-time win rate of
best-of-N of ``q`` against best-of-N of the reference is
:math:`\int_0^1 u^N\, d Q(u)^N` (CLAIMS B8). CTRL uses :math:`\Phi(u) = e^{tu}` for
best-of-N and :math:`\Phi(u) = -e^{-tu}` for worst-of-N. All integrals use a composite
Gauss-Legendre rule whose panels are refined geometrically towards both ends of
[0, 1], so peaked densities stay exact to ~1e-13.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import optimize
from scipy.special import logsumexp

from .._results import as_frame
from .._typing import FloatArray
from .._validation import (
    as_float_array,
    check_choice,
    check_int,
    check_nonnegative,
    check_positive,
)
from ._laws import Continuous, Discrete, _check_same, best_of_n, win_rate, worst_of_n

_G = 20  # Gauss-Legendre points per panel
_EDGE = 10.0 ** -np.arange(1, 15)
_BREAKS = np.unique(np.concatenate([[0.0, 1.0], _EDGE, 1.0 - _EDGE, np.linspace(0.1, 0.9, 17)]))
_X, _W = np.polynomial.legendre.leggauss(_G)


def _rule() -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    a, b = _BREAKS[:-1], _BREAKS[1:]
    half = (b - a)[:, None] / 2
    u = (a[:, None] + b[:, None]) / 2 + half * _X[None, :]
    w = half * _W[None, :]
    # partial-panel nodes for the CDF: for node j of a panel, G nodes on [a, u_j]
    hp = (u - a[:, None]) / 2
    up = (a[:, None, None] + u[:, :, None]) / 2 + hp[:, :, None] * _X[None, None, :]
    wp = hp[:, :, None] * _W[None, None, :]
    return u, w, up, wp


_U, _WU, _UP, _WP = _rule()


@dataclass(frozen=True)
class Transform:
    r"""A reward transform :math:`\Phi` on calibrated rewards :math:`u \in [0, 1]`.

    ``kind="identity"``: :math:`\Phi(u) = u`; ``"exp"``: :math:`e^{tu}` (best-of-N);
    ``"neg_exp"``: :math:`-e^{-tu}` (worst-of-N). Build with :func:`identity_transform`,
    :func:`exp_transform`, :func:`neg_exp_transform`.
    """

    kind: str
    t: float = 0.0

    def __call__(self, u: npt.ArrayLike) -> FloatArray:
        u = np.asarray(u, dtype=float)
        if self.kind == "identity":
            return u
        if self.kind == "exp":
            return np.exp(self.t * u)
        return -np.exp(-self.t * u)


def identity_transform() -> Transform:
    r""":math:`\Phi(u) = u` (calibration only).

    >>> float(identity_transform()(0.25))
    0.25
    """
    return Transform("identity")


def exp_transform(t: float) -> Transform:
    r""":math:`\Phi(u) = e^{tu}`, InfAlign's transform for best-of-N (``t > 0``).

    >>> round(float(exp_transform(2.0)(0.5)), 12)   # e
    2.718281828459
    """
    return Transform("exp", check_positive("t", t))


def neg_exp_transform(t: float) -> Transform:
    r""":math:`\Phi(u) = -e^{-tu}`, InfAlign's transform for worst-of-N (``t > 0``).

    >>> round(float(neg_exp_transform(2.0)(0.5)), 12)   # -1/e
    -0.367879441171
    """
    return Transform("neg_exp", check_positive("t", t))


def _check_transform(tr: object) -> Transform:
    if not isinstance(tr, Transform):
        raise TypeError(f"`transform` must be a `mk.bon.Transform`; got {type(tr).__name__}.")
    return tr


_AGAINST = ("bon", "reference")
_MODES = ("best", "worst")


class CalibratedPolicy:
    r"""The aligned calibrated density :math:`q(u) \propto e^{\Phi(u)/\beta}` on [0, 1].

    Examples
    --------
    >>> pol = CalibratedPolicy(identity_transform(), beta=1.0)
    >>> round(pol.win_rate(1, against="reference"), 10)   # E_q[u] = 1/(1-e^{-1}) - 1
    0.5819767069
    """

    def __init__(self, transform: Transform, beta: float):
        self.transform = _check_transform(transform)
        self.beta = check_positive("beta", beta)
        phi1 = float(self.transform(1.0)) / self.beta
        with np.errstate(over="ignore"):
            e = self.transform(_U) / self.beta - phi1
        self._log_c = float(logsumexp(e, b=_WU)) + phi1
        self._logq = e + phi1 - self._log_c
        self._q = np.exp(self._logq)

    @cached_property
    def _tails(self) -> tuple[FloatArray, FloatArray]:
        """CDF Q (from the left) and upper tail S = 1 - Q (from the right) at the nodes."""
        with np.errstate(over="ignore"):
            qp = np.exp(self.transform(_UP) / self.beta - self._log_c)
        inside = np.sum(qp * _WP, axis=2)
        panel = np.sum(self._q * _WU, axis=1)
        before = np.concatenate(([0.0], np.cumsum(panel)[:-1]))
        after = np.concatenate((np.cumsum(panel[::-1])[::-1][1:], [0.0]))
        Q = np.minimum(before[:, None] + inside, 1.0)
        S = np.maximum(after[:, None] + (panel[:, None] - inside), 0.0)
        return Q, S

    def logpdf(self, u: npt.ArrayLike) -> FloatArray:
        return self.transform(u) / self.beta - self._log_c

    def pdf(self, u: npt.ArrayLike) -> FloatArray:
        return np.exp(self.logpdf(u))

    @cached_property
    def kl(self) -> float:
        r""":math:`\mathrm{KL}(q\|\mathrm{U}[0,1]) = \int_0^1 q \log q`.

        >>> round(CalibratedPolicy(identity_transform(), beta=0.5).kl, 10)   # lambda = 2
        0.1515959239
        """
        return max(float(np.sum(_WU * self._q * self._logq)), 0.0)

    def summary(self) -> str:
        """One line: the transform, ``beta``, the KL and the standard win rate."""
        return (f"Calibrated policy: {self.transform.kind} transform (t={self.transform.t:g}), beta={self.beta:g}, "
                f"KL={self.kl:.6g}, win rate vs one reference sample {self.win_rate(1):.6g}")

    def to_frame(self, n_points: int = 11) -> Any:
        """Return the density on ``n_points`` calibrated rewards as a pandas DataFrame.

        Columns ``u`` (evenly spaced in ``[0, 1]``) and ``pdf``.
        """
        u = np.linspace(0.0, 1.0, check_int("n_points", n_points, lo=2))
        return as_frame({"u": u, "pdf": self.pdf(u)})

    def win_rate(self, n: int = 1, *, against: str = "bon", mode: str = "best") -> float:
        r"""Inference-time win rate of the policy's best- (or worst-) of-N.

        ``mode="best"``: :math:`P(\max_N q > \max_N p)` for ``against="bon"`` and
        :math:`P(\max_N q > Y')` for ``against="reference"``; ``mode="worst"``: the same
        with minima (worst-of-N against worst-of-N of the reference, or one sample).
        Rewards are atomless in calibrated space, so there are no ties.
        """
        n = check_int("n", n, lo=1)
        check_choice("against", against, _AGAINST)
        check_choice("mode", mode, _MODES)
        u, q = _U, self._q
        m = n if against == "bon" else 1
        dens = q
        if n > 1:  # density of the best (worst) of n: n Q^(n-1) q (n S^(n-1) q)
            tail = self._tails[0 if mode == "best" else 1]
            dens = n * np.exp((n - 1) * np.log(np.maximum(tail, 1e-300))) * q
        if mode == "best":
            ref_cdf = u**m
        else:
            with np.errstate(divide="ignore"):
                ref_cdf = -np.expm1(m * np.log1p(-u))
        return float(np.sum(_WU * dens * ref_cdf))


def _kl_of(transform: Transform, beta: float) -> float:
    return CalibratedPolicy(transform, beta).kl


def calibrated_policy(transform: Transform, beta: float | None = None, kl: float | None = None) -> CalibratedPolicy:
    r"""Return the CTRL policy in calibrated space at a temperature or a KL budget.

    >>> pol = calibrated_policy(exp_transform(5.0), kl=0.5)
    >>> round(pol.kl, 10)
    0.5
    """
    _check_transform(transform)
    if (beta is None) == (kl is None):
        raise ValueError("give exactly one of `beta` and `kl`.")
    if beta is not None:
        return CalibratedPolicy(transform, beta)
    d = check_nonnegative("kl", kl)
    if d == 0.0:
        raise ValueError("`kl` must be > 0 (kl = 0 is the reference itself, beta = inf).")
    if d > 20.0:
        raise ValueError(f"`kl` must be <= 20 in calibrated space (quadrature range); got {kl!r}.")

    def f(lb: float) -> float:
        return math.log(max(_kl_of(transform, math.exp(lb)), 1e-300)) - math.log(d)

    # the density's scale is set by the range of Phi: search beta around it
    c = math.log(float(transform(1.0) - transform(0.0)))
    lo, hi = c - 3.0, c + 3.0
    while f(lo) < 0:
        lo -= 3.0
        if lo < c - 60.0:
            raise ValueError(f"`kl` = {kl!r} is beyond the quadrature's resolution for this transform.")
    while f(hi) > 0:
        hi += 3.0
    lb = optimize.brentq(f, lo, hi, xtol=1e-14, rtol=8.9e-16)
    return CalibratedPolicy(transform, math.exp(lb))


def calibrated_frontier(transform: Transform, n: int, kl: npt.ArrayLike, *, against: str = "bon",
                        mode: str = "best") -> FloatArray:
    r"""Inference-time win rates of the CTRL policy at each KL budget in ``kl``.

    >>> w = calibrated_frontier(identity_transform(), 1, [0.1, 1.0], against="reference")
    >>> bool(w[0] < w[1] < 1)
    True
    """
    ks = as_float_array("kl", kl, ndim=1)
    return np.array([calibrated_policy(transform, kl=float(k)).win_rate(n, against=against, mode=mode)
                     for k in ks])


def tune_exp_transform(n: int, kl: float, *, against: str = "bon", mode: str = "best",
                       t_max: float = 60.0) -> tuple[float, float]:
    r"""Find the transform parameter ``t`` with the highest win rate at KL budget ``kl``.

    That is the ``t`` of :func:`exp_transform` (``mode="best"``) or :func:`neg_exp_transform`
    (``"worst"``) with the highest win rate at KL budget ``kl``; returns ``(t, win_rate)``.

    A log-grid scan of :math:`t \in [0.05, t_{\max}]` followed by a bounded Brent
    refinement in :math:`\log t`. For large N and budgets the win rate can keep
    increasing up to ``t_max`` (the supremum is then approached as :math:`t \to \infty`);
    the returned ``t`` equals ``t_max`` in that case.

    >>> t, w = tune_exp_transform(4, 0.5)
    >>> bool(w > calibrated_policy(identity_transform(), kl=0.5).win_rate(4))
    True
    """
    check_choice("mode", mode, _MODES)
    make = exp_transform if mode == "best" else neg_exp_transform

    def win(lt: float) -> float:
        return calibrated_policy(make(math.exp(lt)), kl=kl).win_rate(n, against=against, mode=mode)

    grid = np.linspace(math.log(0.05), math.log(t_max), 13)
    vals = [win(g) for g in grid]
    i = int(np.argmax(vals))
    lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]
    res = optimize.minimize_scalar(lambda lt: -win(lt), bounds=(lo, hi), method="bounded",
                                   options={"xatol": 1e-4})
    if -res.fun >= vals[i]:
        return math.exp(res.x), float(-res.fun)
    return math.exp(grid[i]), float(vals[i])


def calibrated_reward(ref: Discrete | Continuous, rewards: npt.ArrayLike | None = None) -> FloatArray:
    r"""Calibrated reward :math:`C(y) = P_{y' \sim p}(r(y') \le r(y))`.

    For a :class:`Discrete` reference, per atom (``rewards=None``) or at given reward
    values; for a :class:`Continuous` one, the reference CDF at ``rewards``.

    >>> calibrated_reward(Discrete([0.25, 0.25, 0.5], [0.0, 2.0, 1.0])).tolist()
    [0.25, 1.0, 0.75]
    """
    if isinstance(ref, Continuous):
        if rewards is None:
            raise ValueError("`rewards` must be given for a continuous reference.")
        return np.asarray(ref.cdf(as_float_array("rewards", rewards)), dtype=float)
    if not isinstance(ref, Discrete):
        raise TypeError(f"`ref` must be a Discrete or Continuous reference; got {type(ref).__name__}.")
    cdf = np.minimum(np.cumsum(ref.level_probs), 1.0)
    if rewards is None:
        return cdf[ref._atoms.level_of_atom]
    x = as_float_array("rewards", rewards)
    idx = np.searchsorted(ref.level_rewards, x, side="right") - 1
    return np.where(idx >= 0, cdf[np.maximum(idx, 0)], 0.0)


def empirical_calibrated_reward(reference_rewards: npt.ArrayLike, rewards: npt.ArrayLike) -> FloatArray:
    r"""Estimate CTRL's calibrated reward :math:`C` from M reference samples.

    CTRL's estimate of :math:`C` from M reference samples: the fraction with reward
    :math:`\le r`.

    >>> empirical_calibrated_reward([0.0, 1.0, 2.0, 3.0], [1.5, 3.0]).tolist()
    [0.5, 1.0]
    """
    s = np.sort(as_float_array("reference_rewards", reference_rewards, ndim=1))
    if s.size == 0:
        raise ValueError("`reference_rewards` must not be empty.")
    x = as_float_array("rewards", rewards)
    return np.searchsorted(s, x, side="right") / s.size


def ctrl_policy(ref: Discrete, transform: Transform, beta: float) -> Discrete:
    r"""Return CTRL's calibrated-and-transformed tilt of a discrete reference.

    CTRL on a discrete reference: :math:`\pi \propto p\,e^{\Phi(C(y))/\beta}`, a law
    over the atoms of ``ref``.

    >>> ref = Discrete([0.5, 0.5], [0.0, 1.0])
    >>> ctrl_policy(ref, identity_transform(), 0.5).probs.round(6).tolist()  # C = (1/2, 1)
    [0.268941, 0.731059]
    """
    if not isinstance(ref, Discrete):
        raise TypeError(f"`ref` must be a `mk.bon.Discrete`; got {type(ref).__name__}.")
    _check_transform(transform)
    b = check_positive("beta", beta)
    z = transform(calibrated_reward(ref)) / b
    with np.errstate(invalid="ignore"):
        e = np.where(np.isfinite(ref.log_probs), ref.log_probs + z, -np.inf)
    return Discrete._new(e - logsumexp(e), ref._atoms)


def inference_time_win_rate(policy: Discrete, ref: Discrete, n: int, *, mode: str = "best",
                            ties: str = "random") -> float:
    r"""Return InfAlign's inference-time win rate of ``policy`` over ``ref``.

    InfAlign's inference-time win rate of ``policy`` over ``ref`` under best-of-N
    (``mode="best"``) or worst-of-N (``"worst"``) on both sides:
    :math:`P(r(T_N(\pi)) > r(T_N(p))) + \tfrac12 P(=)`.

    >>> ref = Discrete([0.5, 0.5], [0.0, 1.0])
    >>> inference_time_win_rate(ref, ref, 4)
    0.5
    """
    if not isinstance(policy, Discrete) or not isinstance(ref, Discrete):
        raise TypeError("`policy` and `ref` must be `mk.bon.Discrete` laws.")
    _check_same(policy, ref, "policy", "ref")
    check_choice("mode", mode, _MODES)
    f = best_of_n if mode == "best" else worst_of_n
    return win_rate(f(policy, n, ties=ties), f(ref, n, ties=ties))
