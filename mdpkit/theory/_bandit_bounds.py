r"""Closed-form regret bounds and lower-bound constants for bandits and online learning.

Every function is a textbook formula, evaluated in float64 with no reference to the
simulator, so the checks can compare simulated regret against them.

References
----------
.. [AUE02] P. Auer, N. Cesa-Bianchi, P. Fischer, "Finite-time analysis of the multiarmed
   bandit problem", Machine Learning 47, 2002, Theorem 1.
.. [AUE02b] P. Auer, N. Cesa-Bianchi, Y. Freund, R. Schapire, "The nonstochastic
   multiarmed bandit problem", SIAM J. Comput. 32, 2002, Corollary 3.2.
.. [AB09] J.-Y. Audibert, S. Bubeck, "Minimax policies for adversarial and stochastic
   bandits", COLT 2009, Theorem 5.
.. [CBL06] N. Cesa-Bianchi, G. Lugosi, "Prediction, Learning, and Games", Cambridge,
   2006, Theorem 2.2 and Section 2.1 (polynomial potential, p = 2).
.. [AYPS11] Y. Abbasi-Yadkori, D. Pal, Cs. Szepesvari, "Improved algorithms for linear
   stochastic bandits", NeurIPS 2011, Theorem 3.
.. [LR85] T. L. Lai, H. Robbins, "Asymptotically efficient adaptive allocation rules",
   Adv. Appl. Math. 6, 1985.
.. [LS20] T. Lattimore, Cs. Szepesvari, "Bandit Algorithms", Cambridge, 2020,
   Theorem 15.2 (minimax lower bound).
.. [SLI19] A. Slivkins, "Introduction to Multi-Armed Bandits", Found. Trends ML 12, 2019,
   Sections 1.3, 2, 5, 6, 9.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from .._typing import FloatArray
from .._validation import as_float_array, check_int, check_positive, check_scalar

_FAMILIES = ("bernoulli", "gaussian")


def _gaps(gaps: npt.ArrayLike) -> FloatArray:
    g = as_float_array("gaps", gaps, ndim=1)
    if g.size < 2:
        raise ValueError(f"`gaps` must describe K >= 2 arms; got K = {g.size}.")
    if np.any(g < 0):
        i = int(np.argmax(g < 0))
        raise ValueError(f"`gaps` must be >= 0; `gaps[{i}]` = {g[i]!r}.")
    if not np.any(g == 0):
        raise ValueError("`gaps` must contain at least one 0 (an optimal arm).")
    return g


def _horizon(horizon: Any) -> int:
    return check_int("horizon", horizon, lo=1)


def ucb1_regret_bound(gaps: npt.ArrayLike, horizon: int) -> float:
    r"""Explicit UCB1 bound of Auer et al. (2002), Theorem 1.

    .. math::
        \mathbb E R_T \le \sum_{a:\Delta_a>0} \frac{8\ln T}{\Delta_a}
        + \Big(1 + \frac{\pi^2}{3}\Big)\sum_a \Delta_a,

    valid for every horizon ``T >= 1`` and rewards in [0, 1] (UCB1 with
    :math:`\sqrt{2\ln t/n_a}`).

    Parameters
    ----------
    gaps : array_like, shape (K,)
        :math:`\Delta_a \ge 0`, at least one zero.
    horizon : int
        Horizon ``>= 1``.

    Examples
    --------
    >>> round(ucb1_regret_bound([0.0, 0.5], 100), 4)
    75.8277
    """
    g = _gaps(gaps)
    T = _horizon(horizon)
    pos = g[g > 0]
    return float(np.sum(8.0 * math.log(T) / pos) + (1.0 + math.pi**2 / 3.0) * g.sum())


def successive_elimination_regret_bound(gaps: npt.ArrayLike, horizon: int) -> float:
    r"""Explicit bound for Successive Elimination with radius :math:`\sqrt{2\ln T/n}` (Slivkins 2019, Sec. 1.3).

    On the clean event (every empirical mean within its radius; probability at least
    :math:`1 - 2K/T^3` by Hoeffding and a union bound) a surviving arm satisfies
    :math:`\Delta_a \le 4\sqrt{2\ln T/n_a}` after its last completed phase, so
    :math:`n_a(T) \le 32\ln T/\Delta_a^2 + 1`; off it the regret is at most
    :math:`T\Delta_{\max}`:

    .. math::
        \mathbb E R_T \le \sum_{a:\Delta_a>0}\Big(\frac{32\ln T}{\Delta_a} + \Delta_a\Big)
        + \frac{2K\Delta_{\max}}{T^2}.

    Examples
    --------
    >>> round(successive_elimination_regret_bound([0.0, 0.5], 100), 3)
    295.231
    """
    g = _gaps(gaps)
    T = _horizon(horizon)
    pos = g[g > 0]
    return float(np.sum(32.0 * math.log(T) / pos + pos) + 2.0 * g.size * g.max() / T**2)


def moss_regret_bound(n_arms: int, horizon: int) -> float:
    r"""Minimax bound of MOSS, :math:`\mathbb E R_T \le 49\sqrt{KT}` (Audibert and Bubeck 2009, Theorem 5).

    Examples
    --------
    >>> moss_regret_bound(4, 100)
    980.0
    """
    K = check_int("n_arms", n_arms, lo=2)
    return 49.0 * math.sqrt(K * _horizon(horizon))


def exp3_regret_bound(n_arms: int, horizon: int) -> float:
    r"""EXP3 bound :math:`2\sqrt{e-1}\sqrt{TK\ln K}` (Auer et al. 2002b, Corollary 3.2 with :math:`g = T`).

    Holds for the expected regret against the best fixed arm on any oblivious reward
    sequence in [0, 1]^K when :math:`\gamma = \min\{1, \sqrt{K\ln K/((e-1)T)}\}`.

    Examples
    --------
    >>> round(exp3_regret_bound(10, 10_000), 2)
    1258.01
    """
    K = check_int("n_arms", n_arms, lo=2)
    T = _horizon(horizon)
    return 2.0 * math.sqrt(math.e - 1.0) * math.sqrt(T * K * math.log(K))


def hedge_regret_bound(n_arms: int, horizon: int) -> float:
    r"""Hedge bound :math:`\sqrt{(T/2)\ln K}` with :math:`\eta = \sqrt{8\ln K/T}` (Cesa-Bianchi and Lugosi 2006, Thm 2.2).

    For losses (or rewards) in [0, 1]; the bound is on
    :math:`\sum_t \langle p_t, \ell_t\rangle - \min_k \sum_t \ell_{t,k}`.

    Examples
    --------
    >>> round(hedge_regret_bound(2, 800), 4)
    16.6511
    """
    K = check_int("n_arms", n_arms, lo=2)
    return math.sqrt(_horizon(horizon) / 2.0 * math.log(K))


def regret_matching_regret_bound(n_arms: int, horizon: int, payoff_range: float = 1.0) -> float:
    r"""Regret-matching bound :math:`\max_a R_T(a) \le b\sqrt{KT}` for payoffs of range :math:`b`.

    Blackwell's argument for the quadratic potential :math:`\Phi = \sum_a (R_a^+)^2`
    (Cesa-Bianchi and Lugosi 2006, Sec. 2.1 and Cor. 2.1 with p = 2): regret matching
    makes the cross term non-positive, so :math:`\Phi_T \le \sum_t \sum_a
    (x_{t,a} - \langle p_t, x_t\rangle)^2 \le T K b^2`.

    Examples
    --------
    >>> regret_matching_regret_bound(4, 100)
    20.0
    """
    K = check_int("n_arms", n_arms, lo=2)
    b = check_positive("payoff_range", payoff_range)
    return b * math.sqrt(K * _horizon(horizon))


def oful_regret_bound(horizon: int, d: int, *, ridge: float = 1.0, S: float = 1.0, L: float = 1.0,
                      sigma: float = 1.0, delta: float = 0.05) -> float:
    r"""OFUL high-probability regret bound (Abbasi-Yadkori et al. 2011, Theorem 3).

    With probability at least :math:`1-\delta`, for all :math:`T`,

    .. math::
        R_T \le 4\sqrt{T d \ln(\lambda_r + T L/d)}\,\Big(\sqrt{\lambda_r} S
        + \sigma\sqrt{2\ln(1/\delta) + d\ln(1 + T L/(\lambda_r d))}\Big),

    for :math:`\|x\| \le L`, :math:`\|\theta\| \le S`, :math:`\langle x, \theta\rangle
    \in [-1, 1]`, :math:`\sigma`-sub-Gaussian noise and :math:`\lambda_r \ge \max(1, L^2)`.

    Examples
    --------
    >>> round(oful_regret_bound(100, 2), 2)
    529.69
    """
    T = _horizon(horizon)
    d = check_int("d", d, lo=1)
    ridge = check_positive("ridge", ridge)
    S = check_positive("S", S)
    L = check_positive("L", L)
    sigma = check_positive("sigma", sigma)
    delta = check_scalar("delta", delta, lo=0.0, hi=1.0, lo_inclusive=False, hi_inclusive=False)
    if ridge < max(1.0, L * L):
        raise ValueError(f"`ridge` must be >= max(1, L^2) = {max(1.0, L * L):g} for Theorem 3; got {ridge!r}.")
    radius = math.sqrt(ridge) * S + sigma * math.sqrt(2.0 * math.log(1.0 / delta)
                                                      + d * math.log(1.0 + T * L / (ridge * d)))
    return 4.0 * math.sqrt(T * d * math.log(ridge + T * L / d)) * radius


def minimax_lower_bound(n_arms: int, horizon: int) -> float:
    r"""Minimax lower bound :math:`\frac{1}{27}\sqrt{(K-1)T}` (Lattimore and Szepesvari 2020, Thm 15.2).

    For every policy there is a Gaussian (unit variance) instance with
    :math:`\mathbb E R_T \ge \sqrt{(K-1)T}/27` whenever :math:`T \ge K - 1`; the
    :math:`\Omega(\sqrt{KT})` scale of Slivkins (2019), Ch. 2.

    Examples
    --------
    >>> round(minimax_lower_bound(10, 8100), 4)
    10.0
    """
    K = check_int("n_arms", n_arms, lo=2)
    T = _horizon(horizon)
    if T < K - 1:
        raise ValueError(f"`horizon` must be >= n_arms - 1 = {K - 1} for the lower bound; got {T}.")
    return math.sqrt((K - 1) * T) / 27.0


def bernoulli_kl(p: npt.ArrayLike, q: npt.ArrayLike) -> FloatArray:
    r"""Bernoulli divergence :math:`\mathrm{kl}(p, q) = p\ln\frac pq + (1-p)\ln\frac{1-p}{1-q}` (0 ln 0 = 0).

    ``+inf`` where ``q`` excludes an outcome that ``p`` allows.

    Examples
    --------
    >>> round(float(bernoulli_kl(0.5, 0.25)), 6)
    0.143841
    """
    pa = as_float_array("p", p)
    qa = as_float_array("q", q)
    for name, v in (("p", pa), ("q", qa)):
        if np.any((v < 0) | (v > 1)):
            raise ValueError(f"`{name}` must lie in [0, 1]; got {v[(v < 0) | (v > 1)].ravel()[0]!r}.")
    shape = np.broadcast_shapes(np.shape(p), np.shape(q))
    pa, qa = np.broadcast_arrays(pa.reshape(np.shape(p)), qa.reshape(np.shape(q)))
    with np.errstate(divide="ignore", invalid="ignore"):
        t1 = np.where(pa > 0, pa * (np.log(pa) - np.log(qa)), 0.0)
        t2 = np.where(pa < 1, (1 - pa) * (np.log1p(-pa) - np.log1p(-qa)), 0.0)
    out = np.asarray(t1 + t2).reshape(shape)
    return out[()] if out.ndim == 0 else out


def gaussian_kl(mu1: npt.ArrayLike, mu2: npt.ArrayLike, sigma: float = 1.0) -> FloatArray:
    r"""KL between :math:`\mathcal N(\mu_1, \sigma^2)` and :math:`\mathcal N(\mu_2, \sigma^2)`: :math:`(\mu_1-\mu_2)^2/(2\sigma^2)`.

    >>> float(gaussian_kl(0.0, 1.0, sigma=0.5))
    2.0
    """
    a = as_float_array("mu1", mu1)
    b = as_float_array("mu2", mu2)
    s = check_positive("sigma", sigma)
    shape = np.broadcast_shapes(np.shape(mu1), np.shape(mu2))
    out = np.asarray((a.reshape(np.shape(mu1)) - b.reshape(np.shape(mu2))) ** 2 / (2.0 * s * s))
    out = out.reshape(shape)
    return out[()] if out.ndim == 0 else out


def lai_robbins_constant(env_or_means: Any, *, family: str | None = None, sigma: float = 1.0) -> float:
    r"""Lai-Robbins constant :math:`C = \sum_{a:\Delta_a>0} \Delta_a / \mathrm{KL}(\nu_a, \nu^*)`.

    Every uniformly efficient policy has :math:`\liminf_T \mathbb E R_T/\ln T \ge C`
    (Lai and Robbins 1985, Theorem 2; Slivkins 2019, Ch. 2). The divergence is Bernoulli
    (``family="bernoulli"``) or Gaussian with common standard deviation ``sigma``.

    Parameters
    ----------
    env_or_means : BernoulliBandit, GaussianBandit or array_like, shape (K,)
        An environment (its family and noise level are used) or the arm means.
    family : {"bernoulli", "gaussian"}, optional
        Required with plain means.
    sigma : float
        Gaussian noise level (ignored for Bernoulli; taken from a GaussianBandit, whose
        arms must then share one ``sigma``).

    Examples
    --------
    >>> round(lai_robbins_constant([0.9, 0.8], family="bernoulli"), 4)
    2.2521
    >>> lai_robbins_constant([1.0, 0.0], family="gaussian")
    2.0
    """
    fam = family
    if hasattr(env_or_means, "means") and hasattr(env_or_means, "family"):
        env = env_or_means
        if fam is not None and fam != env.family:
            raise ValueError(f"`family` must match the environment ({env.family!r}); got {fam!r}.")
        fam = env.family
        mu = np.asarray(env.means, dtype=np.float64)
        if fam == "gaussian":
            sig = np.asarray(env.sigma)
            if not np.all(sig == sig[0]):
                raise ValueError("`env` must have one common `sigma` for the Gaussian Lai-Robbins constant.")
            sigma = float(sig[0])
    else:
        mu = as_float_array("means", env_or_means, ndim=1)
        if mu.size < 2:
            raise ValueError(f"`means` must describe K >= 2 arms; got K = {mu.size}.")
    if fam not in _FAMILIES:
        raise ValueError(f"`family` must be one of {list(_FAMILIES)}; got {fam!r}.")
    best = mu.max()
    sub = mu[mu < best]
    if sub.size == 0:
        return 0.0
    if fam == "bernoulli":
        if np.any((mu < 0) | (mu > 1)):
            raise ValueError("`means` must lie in [0, 1] for Bernoulli arms.")
        if best == 1.0:
            raise ValueError("`means` must be < 1 for the best Bernoulli arm: kl(mu_a, 1) is infinite "
                             "and the constant is 0 for this degenerate instance.")
        kl = bernoulli_kl(sub, best)
    else:
        kl = gaussian_kl(sub, best, sigma)
    return float(np.sum((best - sub) / kl))


def nash_gap_bound(regret_row: float, regret_col: float, horizon: int) -> float:
    r"""Approximate-equilibrium guarantee of no-regret self-play, :math:`\varepsilon = (R_1 + R_2)/T`.

    If the row and column players of a zero-sum game have regrets :math:`R_1, R_2` after
    :math:`T` rounds, the average play :math:`(\bar x, \bar y)` is an
    :math:`\varepsilon`-Nash equilibrium (Slivkins 2019, Ch. 9; Freund and Schapire 1999).

    >>> nash_gap_bound(3.0, 1.0, 100)
    0.04
    """
    return (check_scalar("regret_row", regret_row) + check_scalar("regret_col", regret_col)) / _horizon(horizon)
