r"""The KL-optimal (exponentially tilted) policy and its relatives.

For a reference ``p`` with reward ``r`` the solution of
:math:`\max_\pi \mathbb E_\pi r - \beta\,\mathrm{KL}(\pi\|p)` is the Gibbs law

.. math:: \pi_\beta(y) = p(y)\,e^{r(y)/\beta} / Z(\beta),

(Korbak et al., 2022; Yang et al., 2024, with :math:`\lambda = 1/\beta`).
Everything is computed on reward levels, in log space, with the exponent centred so
that neither :math:`\beta = 10^{-8}` nor :math:`\beta = 10^{8}` overflows or cancels.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import optimize
from scipy.special import logsumexp

from .._typing import FloatArray
from .._validation import check_nonnegative, check_positive, check_scalar
from . import _bon_kernels as _k
from ._laws import Discrete, _check_same

# beyond this lambda * (smallest reward gap) the tilt equals the top-level law in float64
_LAMBDA_GAP_SATURATION = 800.0


def _check_discrete(ref: object, name: str = "ref") -> Discrete:
    if not isinstance(ref, Discrete):
        raise TypeError(f"`{name}` must be a `mk.bon.Discrete`; got {type(ref).__name__}.")
    return ref


def _support(ref: Discrete) -> tuple[np.ndarray, FloatArray, FloatArray, FloatArray]:
    """(level indices, rewards, log-masses, masses) of the levels with positive mass."""
    llp = ref.level_log_probs
    idx = np.flatnonzero(llp > -np.inf)
    return idx, ref.level_rewards[idx], llp[idx], ref.level_probs[idx]


def _centre(r: FloatArray, p: FloatArray, lam: float) -> float:
    # centre at the mean for small lam (KL ~ lam^2 Var/2 keeps its digits) and at the
    # top reward for large lam (no cancellation between E_phi r / beta and log Z)
    mean = float(np.dot(p, r)) / float(p.sum())
    return mean if lam * (r[-1] - mean) <= 1.0 else float(r[-1])


def _level_tilt(ref: Discrete, lam: float) -> tuple[FloatArray, float, float]:
    """(log phi on levels, KL(phi||p), log Z) for the tilt at inverse temperature lam."""
    idx, r, llp, p = _support(ref)
    out = np.full(ref.n_levels, -np.inf)
    if lam == 0.0:
        out[idx] = llp
        return out, 0.0, 0.0
    if math.isinf(lam):
        out[idx[-1]] = 0.0
        return out, float(-llp[-1]), math.inf
    c = _centre(r, p, lam)
    a = lam * (r - c)
    e = llp + a
    lz = float(logsumexp(e))
    lphi = e - lz
    klv = float(np.dot(np.exp(lphi), a)) - lz
    out[idx] = lphi
    return out, max(klv, 0.0), lz + lam * c


def max_kl(ref: Discrete) -> float:
    r"""Largest KL budget any policy can use: :math:`\log 1/p(\text{top level})`.

    >>> bool(max_kl(Discrete([0.75, 0.25], [0.0, 1.0])) == np.log(4))
    True
    """
    _check_discrete(ref)
    return 0.0 - float(_support(ref)[2][-1])  # 0.0 - x avoids -0.0


def log_partition(ref: Discrete, beta: float) -> float:
    r""":math:`\log Z(\beta) = \log \sum_y p(y) e^{r(y)/\beta}`.

    >>> round(log_partition(Discrete([0.5, 0.5], [0.0, 1.0]), 1.0), 12)   # log((1 + e)/2)
    0.620114506958
    """
    _check_discrete(ref)
    b = check_positive("beta", beta)
    return _level_tilt(ref, 1.0 / b)[2]


def _tilt_kl(ref: Discrete, lam: float) -> float:
    """KL(pi_{1/lam} || p) through the fused level kernel (used by the root searches)."""
    if lam == 0.0:
        return 0.0
    _, r, llp, p = _support(ref)
    out = np.empty(4)
    _k.tilt_stats(llp, r, lam, _centre(r, p, lam), out)
    return max(float(out[1]), 0.0)


def _lam_for_kl(ref: Discrete, delta: float) -> float:
    _, r, llp, p = _support(ref)
    kmax = float(-llp[-1])
    if delta == 0.0:
        return 0.0
    if r.shape[0] == 1:  # one reward level: every tilt is the reference, KL 0 < delta
        return math.inf
    gap = float(np.min(np.diff(r)))
    lam_cap = _LAMBDA_GAP_SATURATION / gap
    if delta >= kmax or _tilt_kl(ref, lam_cap) <= delta:
        return math.inf
    # start at KL ~ lam^2 Var/2, in logs: Var may overflow (rewards ~1e200) or underflow
    # (masses ~1e-310), its log does not
    dev = r - float(np.dot(p, r)) / float(p.sum())
    s = float(np.max(np.abs(dev)))
    log_var = 2.0 * math.log(s) + math.log(float(np.dot(p, (dev / s) ** 2)))
    x0 = min(0.5 * (math.log(2.0 * delta) - log_var), math.log(lam_cap))
    lo = hi = x0
    while _tilt_kl(ref, math.exp(lo)) > delta:
        lo -= 2.0
    while hi < math.log(lam_cap) and _tilt_kl(ref, math.exp(hi)) < delta:
        hi += 2.0
    hi = min(hi, math.log(lam_cap))
    x = optimize.brentq(lambda t: _tilt_kl(ref, math.exp(t)) - delta, lo, hi,
                        xtol=1e-15, rtol=8.9e-16, maxiter=500)
    return math.exp(x)


def _check_budget(ref: Discrete, kl: float) -> float:
    d = check_nonnegative("kl", kl)
    kmax = float(-_support(ref)[2][-1])
    if d > kmax * (1.0 + 1e-12) + 1e-15:
        raise ValueError(
            f"`kl` must be <= log(1/p(top level)) = {kmax:.12g}, the largest KL any policy "
            f"can reach from this reference; got {kl!r}."
        )
    return min(d, kmax)


def beta_for_kl(ref: Discrete, kl: float) -> float:
    r"""Temperature :math:`\beta` at which :math:`\mathrm{KL}(\pi_\beta\|p)` equals ``kl``.

    :math:`\mathrm{KL}(\pi_{1/\lambda}\|p)` increases in :math:`\lambda` (its derivative
    is :math:`\lambda\,\mathrm{Var}_{\pi}(r)`), so a bracketing root search on
    :math:`\log\lambda` is exact to rounding. Returns ``inf`` for ``kl=0`` and ``0.0``
    for ``kl = log 1/p(top)``.

    Examples
    --------
    >>> ref = Discrete([0.5, 0.5], [0.0, 1.0])
    >>> from mdpkit.bon import kl
    >>> round(kl(tilted(ref, beta=beta_for_kl(ref, 0.1)), ref), 12)
    0.1
    """
    _check_discrete(ref)
    d = _check_budget(ref, kl)
    lam = _lam_for_kl(ref, d)
    return math.inf if lam == 0.0 else (0.0 if math.isinf(lam) else 1.0 / lam)


def tilted(ref: Discrete, beta: float | None = None, kl: float | None = None) -> Discrete:
    r"""KL-optimal policy :math:`\pi_\beta \propto p\,e^{r/\beta}`, at a temperature or a KL budget.

    Give exactly one of ``beta`` (> 0) or ``kl`` (``0 <= kl <= log 1/p(top)``). For
    the budget :math:`\Delta`, :math:`\pi` solves
    :math:`\max\{\mathbb E_\pi r : \mathrm{KL}(\pi\|p) \le \Delta\}` (Yang et al., 2024,
    CLAIMS B3); ``kl=0`` returns ``ref`` and the maximum returns ``p`` restricted to the top level.

    Examples
    --------
    >>> ref = Discrete([0.5, 0.5], [0.0, 1.0])
    >>> tilted(ref, beta=1 / np.log(3)).probs.round(12).tolist()   # p e^{r log 3}/Z
    [0.25, 0.75]
    """
    _check_discrete(ref)
    if (beta is None) == (kl is None):
        raise ValueError("give exactly one of `beta` and `kl`.")
    if beta is not None:
        lam = 1.0 / check_positive("beta", beta)
    else:
        assert kl is not None  # exactly one of beta, kl (checked above)
        lam = _lam_for_kl(ref, _check_budget(ref, kl))
    return _atom_law(ref, lam)


def _atom_law(ref: Discrete, lam: float) -> Discrete:
    if lam == 0.0:
        return ref
    lphi, _, _ = _level_tilt(ref, lam)
    lev = ref._atoms.level_of_atom
    with np.errstate(invalid="ignore"):
        lq = lphi[lev] + ref.log_probs - ref.level_log_probs[lev]
    lq[ref.log_probs == -np.inf] = -np.inf
    return Discrete._new(lq, ref._atoms)


def conditional(ref: Discrete, reward: float) -> Discrete:
    r"""Return the reference conditioned on one reward level, :math:`p(\cdot \mid r = v)`.

    >>> conditional(Discrete([0.2, 0.3, 0.5], [1.0, 0.0, 1.0]), 1.0).probs.round(12).tolist()
    [0.285714285714, 0.0, 0.714285714286]
    """
    _check_discrete(ref)
    v = check_scalar("reward", reward)
    m = ref.rewards == v
    if not np.any(m) or not np.any(ref.probs[m] > 0) and not np.any(np.isfinite(ref.log_probs[m])):
        raise ValueError(f"`reward` must be a reward level with positive mass; got {reward!r}.")
    lp = np.where(m, ref.log_probs, -np.inf)
    return Discrete._new(lp - logsumexp(lp), ref._atoms)


def oreal_mixture_weight(p_success: float, beta: float) -> float:
    r"""Return the weight of the success component in the tilted policy for a binary reward.

    The weight is :math:`\alpha = p e^{1/\beta} / (p e^{1/\beta} + 1 - p)` (OREAL;
    CLAIMS #18):

    .. math:: \pi_\beta = \alpha\,p(\cdot\mid r=1) + (1-\alpha)\,p(\cdot\mid r=0).

    >>> round(oreal_mixture_weight(0.5, 1.0), 12)   # e / (e + 1)
    0.73105857863
    """
    p = check_scalar("p_success", p_success, lo=0.0, hi=1.0)
    b = check_positive("beta", beta)
    if p in (0.0, 1.0):
        return p
    # logistic of log(p/(1-p)) + 1/beta, stable for tiny beta
    z = math.log(p) - math.log1p(-p) + 1.0 / b
    return 1.0 / (1.0 + math.exp(-z)) if z > -700 else math.exp(z)


def geometric_mixture(p: Discrete, q: Discrete, w: float) -> Discrete:
    r"""Normalised geometric mixture :math:`p^{1-w} q^{w} / Z` (RLG guidance, CLAIMS #40).

    If ``q`` is the tilt :math:`\pi_\beta` of ``p``, the mixture is :math:`\pi_{\beta/w}`.
    ``w`` may exceed 1 (extrapolation) as long as the result is normalisable.

    >>> ref = Discrete([0.5, 0.5], [0.0, 1.0])
    >>> m = geometric_mixture(ref, tilted(ref, beta=1.0), 2.0)
    >>> bool(np.allclose(m.probs, tilted(ref, beta=0.5).probs))
    True
    """
    _check_discrete(p, "p")
    _check_discrete(q, "q")
    _check_same(p, q, "p", "q")
    w = check_scalar("w", w, lo=0.0)
    with np.errstate(invalid="ignore"):
        e = (1.0 - w) * p.log_probs + w * q.log_probs
    e = np.where((p.log_probs == -np.inf) | (q.log_probs == -np.inf), -np.inf, e)
    return Discrete._new(e - logsumexp(e), p._atoms)

