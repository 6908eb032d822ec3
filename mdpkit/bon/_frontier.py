r"""Soft best-of-N and reward-vs-KL frontiers.

All three policies compared here (best-of-N with uniform tie-breaking, the tilted
policy, soft best-of-N) keep the reference's ratios inside a reward level, so their
KL to the reference equals the KL between level laws; frontiers are computed on the
level law (``n_levels`` points instead of ``n_atoms``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._results import as_frame
from .._typing import FloatArray
from .._validation import check_int, check_positive, check_scalar
from . import _bon_kernels as _k
from ._laws import Discrete, _check_ref, best_of_n, expected_reward, kl, win_rate
from ._tilt import _check_discrete, _lam_for_kl, _level_tilt, max_kl

# Laplace-route grid: trapezoid step in t = log s; error ~ exp(-pi^2 / h) for the
# (analytic in a strip) integrands here, far below rounding
_SOFT_H = 0.1
_SOFT_MAX_RANGE = 700.0  # (r_max - r_min) / temperature beyond which exp(-range) underflows


def _level_ref(ref: Discrete) -> Discrete:
    """Return the reference pushed to its reward levels (same KL/reward/win for level laws)."""
    if ref.n_levels == ref.n_atoms and bool(np.all(np.diff(ref.rewards) > 0)):
        return ref
    return Discrete._new(np.ascontiguousarray(ref.level_log_probs),
                         _level_atoms(ref.level_rewards))


def _level_atoms(r: FloatArray):
    from ._laws import _Atoms, _readonly

    return _Atoms(_readonly(np.array(r, dtype=float)))


def soft_best_of_n(ref: Discrete, n: int, temperature: float) -> Discrete:
    r"""Return the exact law of soft best-of-N.

    Soft best-of-N draws N reference samples and returns sample ``i``
    with probability :math:`\propto e^{r(Y_i)/\tau}`.

    .. math:: q(y) = N\,p(y)\,w(y)\;\mathbb E\Big[\frac{1}{w(y) + W_2 + \dots + W_N}\Big],
              \qquad w = e^{r/\tau},

    and the expectation is the Laplace integral
    :math:`\int_0^\infty e^{-s w(y)} M(s)^{N-1} ds` with :math:`M(s) = \mathbb E_p e^{-sW}`,
    evaluated by the trapezoid rule in :math:`t = \log s` (spectrally accurate).
    :math:`\tau \to 0` gives best-of-N, :math:`\tau \to \infty` the reference
    (Verdun et al., 2025, "Soft best-of-n sampling").

    Parameters
    ----------
    ref : Discrete
    n : int
        Number of draws, >= 1.
    temperature : float
        :math:`\tau > 0`, with :math:`(r_{\max} - r_{\min})/\tau \le 700`.

    Examples
    --------
    >>> ref = Discrete([0.5, 0.5], [0.0, 1.0])
    >>> q = soft_best_of_n(ref, 2, 1.0).probs   # 1/4 + 1/2 * e/(1+e) on the top atom
    >>> round(float(q[1]), 12)
    0.615529289315
    """
    _check_discrete(ref)
    n = check_int("n", n, lo=1)
    tau = check_positive("temperature", temperature)
    r = ref.level_rewards
    llp = ref.level_log_probs
    support = np.isfinite(llp)
    span = float(r[support].max() - r[support].min())
    if span / tau > _SOFT_MAX_RANGE:
        raise ValueError(
            f"`temperature` must be >= (max r - min r)/{_SOFT_MAX_RANGE:g} = "
            f"{span / _SOFT_MAX_RANGE:.3g} for this reference; got {temperature!r}. "
            "Smaller temperatures are best-of-N to within rounding: use `best_of_n`."
        )
    if n == 1:
        return ref
    log_w = np.where(support, (r - r[support].max()) / tau, 0.0)
    t_lo = -math.log(n) - 40.0
    t_hi = math.log(50.0) + span / tau
    t = np.arange(t_lo, t_hi + _SOFT_H, _SOFT_H)
    lp = np.ascontiguousarray(np.where(support, llp, -np.inf))
    out = np.empty(r.shape[0])
    _k.soft_bon_log_weights(lp, np.ascontiguousarray(log_w), math.log(n - 1), t, _SOFT_H, out)
    lq_level = math.log(n) + lp + log_w + out
    lq_level -= np.logaddexp.reduce(lq_level[support])  # trapezoid mass defect ~1e-16
    lq = np.empty(ref.n_atoms)
    _k.spread_levels(np.ascontiguousarray(lq_level), ref._atoms.level_sorted,
                     ref._sorted_arrays()[1], llp, lq)
    return Discrete._new_sorted(lq, ref._atoms)


@dataclass(frozen=True)
class FrontierCurve:
    """One reward-vs-KL curve.

    Attributes
    ----------
    method : str
    kl, reward, win_rate : ndarray
        KL to the reference, expected reward, win rate against one reference sample.
    param : ndarray
        N (best_of_n), beta (tilted) or temperature (soft_best_of_n).
    param_name : str
    """

    method: str
    kl: FloatArray
    reward: FloatArray
    win_rate: FloatArray
    param: FloatArray
    param_name: str

    def summary(self) -> str:
        """One line: the method, its number of points and its KL and reward ranges."""
        return (f"{self.method} frontier: {self.kl.size} points, KL in [{self.kl.min():.4g}, {self.kl.max():.4g}], "
                f"reward in [{self.reward.min():.4g}, {self.reward.max():.4g}]")

    def to_frame(self) -> Any:
        """Return the curve as a pandas DataFrame, one row per point.

        Columns: ``method``, the parameter (named ``param_name``), ``kl``, ``reward``,
        ``win_rate``.
        """
        return as_frame({"method": np.full(self.kl.size, self.method), self.param_name: self.param,
                         "kl": self.kl, "reward": self.reward, "win_rate": self.win_rate})


@dataclass(frozen=True)
class Frontier:
    r"""Reward-vs-KL frontiers of several methods on one reference.

    Attributes
    ----------
    curves : dict of str to FrontierCurve
    reference_reward : float
    kl_max : float
    gain_fraction : ndarray or None
        For each best-of-N point, :math:`(E_{BoN} r - E_p r)/(E_{\pi_\beta} r - E_p r)`
        with the tilted policy at the same KL (1 is optimal).
    """

    curves: dict[str, FrontierCurve]
    reference_reward: float
    kl_max: float
    gain_fraction: FloatArray | None = field(default=None)

    def __getitem__(self, method: str) -> FrontierCurve:
        return self.curves[method]

    def summary(self) -> str:
        """One line: the methods, the KL range and the reference reward."""
        return (f"Frontier of {', '.join(self.curves)} up to KL {self.kl_max:.4g} "
                f"(reference reward {self.reference_reward:.4g})")

    def to_frame(self) -> Any:
        """Return all curves stacked as a pandas DataFrame.

        Columns: ``method``, ``param``, ``kl``, ``reward``, ``win_rate``; the parameter's
        meaning per method is the curve's ``param_name``.
        """
        cs = list(self.curves.values())
        return as_frame({"method": np.concatenate([np.full(c.kl.size, c.method) for c in cs]),
                         "param": np.concatenate([c.param for c in cs]),
                         **{k: np.concatenate([getattr(c, k) for c in cs]) for k in ("kl", "reward", "win_rate")}})


_METHODS = ("best_of_n", "soft_best_of_n", "tilted")


def _curve(method: str, laws: list[Discrete], ref: Discrete, params: list[float], pname: str) -> FrontierCurve:
    return FrontierCurve(
        method,
        np.array([kl(q, ref) for q in laws]),
        np.array([expected_reward(q) for q in laws]),
        np.array([win_rate(q, ref) for q in laws]),
        np.array(params, dtype=float),
        pname,
    )


def frontier(ref: Discrete, methods: tuple[str, ...] | list[str] = ("best_of_n", "tilted"),
             kl_max: float | None = None, *, n_points: int = 200, soft_n: int = 4,
             n_max: int = 10**6) -> Frontier:
    r"""Reward-vs-KL curves of best-of-N, the tilted policy and soft best-of-N.

    * ``"best_of_n"``: N on a geometric grid from 1 to ``n_max`` (uniform ties),
      while :math:`\mathrm{KL} \le` ``kl_max``.
    * ``"tilted"``: :math:`\pi_\beta \propto p e^{r/\beta}` at ``n_points`` KL values
      equally spaced on ``[0, kl_max]`` (the optimal curve; Yang et al., 2024; CLAIMS B3).
    * ``"soft_best_of_n"``: N = ``soft_n`` and temperatures on a log grid.

    Also returns the fraction of the tilted gain that best-of-N achieves at equal KL.

    Examples
    --------
    >>> ref = Discrete([0.25, 0.25, 0.25, 0.25], [0.0, 1.0, 2.0, 3.0])
    >>> fr = frontier(ref, kl_max=1.0, n_points=20)
    >>> bool(np.all(fr.gain_fraction <= 1 + 1e-12)), fr["tilted"].kl[-1].round(12)
    (True, np.float64(1.0))
    """
    methods, km = _frontier_args(ref, methods, kl_max)
    n_points = check_int("n_points", n_points, lo=2)
    n_max = check_int("n_max", n_max, lo=1)
    L = _level_ref(ref)
    curves: dict[str, FrontierCurve] = {}
    gain = None
    r0 = expected_reward(L)
    if "best_of_n" in methods:
        curves["best_of_n"] = bon = _bon_curve(L, n_points, n_max, km)
        gain = _gain_fractions(L, bon, r0)
    if "tilted" in methods:
        curves["tilted"] = _tilted_curve(L, n_points, km)
    if "soft_best_of_n" in methods:
        curves["soft_best_of_n"] = _soft_curve(L, n_points, soft_n, km)
    return Frontier(curves, r0, km, gain)


def _frontier_args(ref: Discrete, methods: tuple[str, ...] | list[str] | str,
                   kl_max: float | None) -> tuple[tuple[str, ...], float]:
    """Validate ``methods`` and the KL budget (default ``min(5, max_kl(ref))``)."""
    _check_ref(ref)
    _check_discrete(ref)
    if isinstance(methods, str):
        methods = (methods,)
    for m in methods:
        if m not in _METHODS:
            raise ValueError(f"`methods` entries must be one of {sorted(_METHODS)}; got {m!r}.")
    kmax = max_kl(ref)
    if kmax == 0.0:
        raise ValueError("`ref` has a single reward level with positive mass: every policy "
                         "has the same reward and there is no frontier.")
    if kl_max is None:
        kl_max = min(5.0, kmax)
    km = check_scalar("kl_max", kl_max, lo=0.0, lo_inclusive=False)
    if km > kmax * (1 + 1e-12):
        raise ValueError(f"`kl_max` must be <= log(1/p(top level)) = {kmax:.12g}; got {kl_max!r}.")
    return tuple(methods), min(km, kmax)


def _bon_curve(L: Discrete, n_points: int, n_max: int, km: float) -> FrontierCurve:
    """Best-of-N on a geometric grid of N up to ``n_max``, while the KL stays <= ``km``."""
    ns = np.unique(np.round(np.geomspace(1, n_max, n_points)).astype(np.int64))
    laws, kept = [], []
    for n in ns:
        q = best_of_n(L, int(n))
        if kl(q, L) > km * (1 + 1e-12):
            break
        laws.append(q)
        kept.append(float(n))
    return _curve("best_of_n", laws, L, kept, "n")


def _gain_fractions(L: Discrete, bon: FrontierCurve, r0: float) -> FloatArray:
    """Fraction of the tilted policy's reward gain at equal KL, for every best-of-N point."""
    gain = np.empty(bon.kl.shape[0])
    for i, (k_i, r_i) in enumerate(zip(bon.kl, bon.reward, strict=True)):
        rt = float(np.dot(np.exp(_level_tilt(L, _lam_for_kl(L, k_i))[0]), L.level_rewards))
        gain[i] = 1.0 if bon.param[i] == 1 or rt - r0 <= 0 else (r_i - r0) / (rt - r0)
    return gain


def _tilted_curve(L: Discrete, n_points: int, km: float) -> FrontierCurve:
    """Tilt the reference to ``n_points`` KL values equally spaced on ``[0, km]``."""
    lam_max = _lam_for_kl(L, km)
    if math.isinf(lam_max):
        lam_max = 800.0 / float(np.min(np.diff(L.level_rewards[np.isfinite(L.level_log_probs)])))
    targets = np.linspace(0.0, km, n_points)
    lams = np.empty(n_points)
    lams[0], lams[-1] = 0.0, lam_max
    for i in range(1, n_points - 1):  # root search in log(lambda): exact at any reward scale
        lams[i] = _lam_for_kl(L, float(targets[i]))
    laws = [L if lam == 0 else Discrete._new(_level_tilt(L, lam)[0], L._atoms) for lam in lams]
    with np.errstate(divide="ignore"):
        return _curve("tilted", laws, L, list(1.0 / lams), "beta")


def _soft_curve(L: Discrete, n_points: int, soft_n: int, km: float) -> FrontierCurve:
    """Soft best-of-N with N = ``soft_n`` on a log grid of temperatures, while KL <= ``km``."""
    span = float(L.level_rewards[-1] - L.level_rewards[0])
    taus = np.geomspace(100.0 * span, span / (0.999 * _SOFT_MAX_RANGE), n_points)
    laws, kept = [], []
    for tau in taus:
        q = soft_best_of_n(L, soft_n, tau)
        if kl(q, L) > km * (1 + 1e-12):
            break
        laws.append(q)
        kept.append(float(tau))
    return _curve("soft_best_of_n", laws, L, kept, "temperature")


def bon_gain_fraction(ref: Discrete, n: int) -> float:
    r"""Return the fraction of the optimal (tilted) reward gain that best-of-N reaches.

    Fraction :math:`(E_{\pi_N} r - E_p r)/(E_{\pi_\beta} r - E_p r)` of the optimal
    (tilted) reward gain that best-of-N reaches at its own KL.

    >>> ref = Discrete([0.25, 0.25, 0.25, 0.25], [0.0, 1.0, 2.0, 3.0])
    >>> bon_gain_fraction(ref, 1), round(bon_gain_fraction(ref, 4), 4)
    (1.0, 0.9905)
    """
    _check_discrete(ref)
    L = _level_ref(ref)
    q = best_of_n(L, n)
    r0 = expected_reward(L)
    k = kl(q, L)
    if n == 1 or k == 0.0:  # N = 1 is the reference itself
        return 1.0
    rt = float(np.dot(np.exp(_level_tilt(L, _lam_for_kl(L, k))[0]), L.level_rewards))
    return (expected_reward(q) - r0) / (rt - r0)
