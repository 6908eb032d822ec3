r"""Finite-time regret bounds of the asymptotically optimal bandit algorithms.

Lai and Robbins' constant :math:`C = \sum_a \Delta_a/\mathrm{kl}(\mu_a, \mu^*)` is an
*asymptotic* lower bound (a liminf); a finite horizon says nothing about
:math:`R_T / (C \ln T)`. What holds at every horizon are the finite-time upper bounds:

* KL-UCB, Garivier and Cappé (2011), Theorem 1 (:math:`c = 3`):
  :math:`\mathbb E N_a(T) \le (1+\varepsilon)\ln T/\mathrm{kl}(\mu_a,\mu^*) + C_1\ln\ln T
  + C_2(\varepsilon)T^{-\beta(\varepsilon)}`, with :math:`C_1, C_2, \beta` left implicit.
  The same argument with every constant written out is Lattimore and Szepesvári (2020),
  Theorem 10.6, implemented by :func:`klucb_pulls_bound`.
* Thompson sampling with Beta(1, 1) priors, Kaufmann, Korda and Munos (2012), Theorem 1:
  :math:`\mathbb E R_T \le (1+\varepsilon)\sum_a \Delta_a(\ln T + \ln\ln T)/\mathrm{kl}(\mu_a,
  \mu^*) + C(\varepsilon, \mu)`; Agrawal and Goyal (2013), Theorem 1:
  :math:`\mathbb E R_T \le (1+\varepsilon)\sum_a \Delta_a\ln T/\mathrm{kl}(\mu_a,\mu^*)
  + O(K/\varepsilon^2)`. The additive constants are not explicit in either paper, so
  :func:`thompson_leading_term` returns the explicit leading term only.

References
----------
.. [GC11] A. Garivier, O. Cappé, "The KL-UCB algorithm for bounded stochastic bandits and
   beyond", COLT 2011, Theorem 1.
.. [KKM12] E. Kaufmann, N. Korda, R. Munos, "Thompson sampling: an asymptotically optimal
   finite-time analysis", ALT 2012, Theorem 1.
.. [AG13] S. Agrawal, N. Goyal, "Further optimal regret bounds for Thompson sampling",
   AISTATS 2013, Theorem 1.
.. [LS20b] T. Lattimore, Cs. Szepesvári, "Bandit Algorithms", Cambridge, 2020, Theorem 10.6.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from .._typing import FloatArray
from .._validation import as_float_array, check_int, check_scalar
from ._bandit_bounds import bernoulli_kl


def _bernoulli_means(means: npt.ArrayLike) -> FloatArray:
    mu = as_float_array("means", means, ndim=1)
    if mu.size < 2:
        raise ValueError(f"`means` must describe K >= 2 arms; got K = {mu.size}.")
    if np.any((mu < 0) | (mu >= 1)):
        bad = mu[(mu < 0) | (mu >= 1)][0]
        raise ValueError(f"`means` must lie in [0, 1) for Bernoulli arms; got {bad!r}.")
    return mu


def klucb_exploration_level(horizon: int) -> float:
    r"""Return :math:`\log f(n)`, the exploration level of KL-UCB.

    :math:`\log f(n)` with :math:`f(n) = 1 + n\log^2 n`, the exploration level of KL-UCB
    in Lattimore and Szepesvári (2020), Algorithm 8 / Theorem 10.6.

    >>> round(klucb_exploration_level(100), 6)    # log(1 + 100 log(100)^2)
    7.660001
    """
    n = check_int("horizon", horizon, lo=1)
    return math.log1p(n * math.log(n) ** 2)


def klucb_pulls_bound(mu_arm: float, mu_star: float, horizon: int, *,
                      exploration: float | None = None, grid: int = 400) -> float:
    r"""Finite-time bound on the pulls of a suboptimal arm by Bernoulli KL-UCB.

    Lattimore and Szepesvári (2020), Theorem 10.6 (the explicit form of Garivier and
    Cappé's 2011 argument): if the index of every arm at round :math:`t \le n` uses an
    exploration level of at least :math:`\log f(t)`, :math:`f(t) = 1 + t\log^2 t`, and at
    most :math:`a_n`, then for :math:`\varepsilon_1, \varepsilon_2 > 0`,
    :math:`\varepsilon_1 + \varepsilon_2 < \Delta`,

    .. math::
        \mathbb E T_i(n) \le \frac{a_n}{\mathrm{kl}(\mu_i + \varepsilon_1, \mu^* - \varepsilon_2)}
        + \frac{1}{2\varepsilon_1^2} + \frac{2}{\varepsilon_2^2}.

    The infimum over a ``grid`` x ``grid`` lattice of :math:`(\varepsilon_1, \varepsilon_2)`
    is returned (any point of the lattice is a valid bound, so the lattice is
    conservative). With the default ``a_n = log f(n)`` the bound tends to
    :math:`\ln n/\mathrm{kl}(\mu_i, \mu^*)` as :math:`n \to \infty`.

    Parameters
    ----------
    mu_arm, mu_star : float
        Means of the suboptimal arm and of the best arm, ``0 <= mu_arm < mu_star < 1``.
    horizon : int
        n >= 2.
    exploration : float, optional
        :math:`a_n`, the largest exploration level the algorithm uses up to ``horizon``
        (default :func:`klucb_exploration_level`); must be ``>= log f(n)``.
    grid : int
        Lattice size per axis, >= 10.

    Examples
    --------
    >>> round(klucb_pulls_bound(0.5, 0.9, 10_000), 1)
    349.5
    """
    lo = check_scalar("mu_arm", mu_arm, lo=0.0, hi=1.0, hi_inclusive=False)
    hi = check_scalar("mu_star", mu_star, lo=0.0, hi=1.0, hi_inclusive=False)
    if not lo < hi:
        raise ValueError(f"`mu_arm` must be < `mu_star`; got {mu_arm!r} and {mu_star!r}.")
    n = check_int("horizon", horizon, lo=2)
    base = klucb_exploration_level(n)
    a_n = base if exploration is None else check_scalar("exploration", exploration, lo=base)
    g = check_int("grid", grid, lo=10)
    gap = hi - lo
    i, j = np.meshgrid(np.arange(1, g + 1), np.arange(1, g + 1), indexing="ij")
    ok = i + j <= g  # eps1 + eps2 <= gap * g / (g + 1) < gap, by integers (no rounding)
    e1 = gap * i[ok] / (g + 1)
    e2 = gap * j[ok] / (g + 1)
    d = np.asarray(bernoulli_kl(lo + e1, hi - e2))
    return float(np.min(a_n / d + 0.5 / e1**2 + 2.0 / e2**2))


def klucb_regret_bound(means: npt.ArrayLike, horizon: int, *, exploration: float | None = None,
                       grid: int = 400) -> float:
    r"""Return the KL-UCB regret bound of Lattimore and Szepesvári (2020), Theorem 10.6.

    :math:`\sum_{a:\Delta_a>0} \Delta_a\, B_a(n)` with :math:`B_a` of :func:`klucb_pulls_bound`
    (Lattimore and Szepesvári 2020, Theorem 10.6; regret decomposition).

    >>> round(klucb_regret_bound([0.9, 0.5], 10_000), 1)
    139.8
    """
    mu = _bernoulli_means(means)
    best = float(mu.max())
    return float(sum((best - m) * klucb_pulls_bound(float(m), best, horizon, exploration=exploration,
                                                    grid=grid) for m in mu if m < best))


def thompson_leading_term(means: npt.ArrayLike, horizon: int, eps: float = 0.0) -> float:
    r"""Return the explicit leading term of the Thompson-sampling regret bounds.

    The term :math:`(1+\varepsilon)\sum_a \Delta_a \ln T/\mathrm{kl}(\mu_a,\mu^*)`
    of the Thompson-sampling bounds of Agrawal and Goyal (2013, Theorem 1) and Kaufmann et al.
    (2012, Theorem 1, which adds :math:`\ln\ln T` inside).

    Their additive constants (:math:`O(K/\varepsilon^2)`, :math:`C(\varepsilon, \mu)`) are
    not explicit, so this is *not* a bound at finite ``horizon``; it is the slope in
    :math:`\ln T` that the regret approaches, equal to the Lai-Robbins constant at
    ``eps = 0``.

    >>> round(thompson_leading_term([0.9, 0.8], 1000, 0.0) / math.log(1000), 4)
    2.2521
    """
    mu = _bernoulli_means(means)
    n = check_int("horizon", horizon, lo=2)
    e = check_scalar("eps", eps, lo=0.0)
    best = float(mu.max())
    sub = mu[mu < best]
    return float((1.0 + e) * math.log(n) * np.sum((best - sub) / np.asarray(bernoulli_kl(sub, best))))
