r"""Closed forms for demonstration-regularized RL (Tiapkin et al., ICLR 2024; CLAIMS C9).

Behaviour cloning with add-:math:`\kappa` smoothing, :math:`\pi^{BC}_h(a|s) =
(n_h(s,a)+\kappa)/(n_h(s)+\kappa A)`, from :math:`N^E` expert episodes: in a reachable
:math:`(h, s)` the count is :math:`n \sim \mathrm{Bin}(N^E, d_h(s))` and, with
:math:`k = |\mathrm{supp}\,\pi^E_h(\cdot|s)|`,

.. math::

    \mathbb E\,\mathrm{KL}(\pi^E_h(\cdot|s)\,\|\,\pi^{BC}_h(\cdot|s)) =
    \frac{(k-1)/2 + \kappa(A-k)}{n} + O(n^{-2}):

:math:`(k-1)/(2n)` is the multinomial (chi-square / Wilks) term on the support and
:math:`\kappa(A-k)/n` the smoothing mass put on the :math:`A-k` actions the expert never
takes. Weighting by :math:`d_h(s)` and using :math:`\mathbb E[1/n] \approx 1/(N^E d_h(s))`,

.. math::

    N^E\, \mathbb E\,\mathrm{KL}_{traj}(\pi^E\|\pi^{BC}) \to \sum_{(h,s):\, d_h(s) > 0}
    \Big(\frac{k_h(s)-1}{2} + \kappa\,(A - k_h(s))\Big),

:math:`\kappa(A-1)` per reachable state for a deterministic expert. States with
:math:`N^E d_h(s) \lesssim 1` are mostly unvisited and contribute about
:math:`d_h(s)\,\mathrm{KL}(\pi^E\|\mathrm{uniform}) \le d_h(s)\log A` instead, so the
approach to the limit is from below at moderate :math:`N^E` (CLAIMS C9, corrections).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from .._validation import as_float_array, check_positive


def bc_kl_limit(pi_e: npt.ArrayLike, occupancy: npt.ArrayLike, kappa: float = 1.0) -> float:
    r""":math:`\lim_{N^E\to\infty} N^E\,\mathbb E\,\mathrm{KL}_{traj}(\pi^E\|\pi^{BC})` for add-:math:`\kappa` BC.

    :math:`\sum_{(h,s): d_h(s)>0} (k_h(s)-1)/2 + \kappa(A-k_h(s))` (module docstring).

    Parameters
    ----------
    pi_e : array_like, shape (H, S, A)
        Expert policy.
    occupancy : array_like, shape (H, S)
        :math:`d_h(s) = \Pr^{\pi^E}(s_h = s)`; only its support matters.
    kappa : float
        Smoothing pseudo-count, ``> 0``.

    Examples
    --------
    >>> pi_e = np.array([[[1.0, 0.0, 0.0], [0.5, 0.5, 0.0]]])     # H = 1, S = 2, A = 3
    >>> bc_kl_limit(pi_e, [[0.3, 0.7]])                           # 2 + (1/2 + 1)
    3.5
    """
    pe = as_float_array("pi_e", pi_e, ndim=3)
    d = as_float_array("occupancy", occupancy, shape=pe.shape[:2])
    k = check_positive("kappa", kappa)
    if np.any(pe < 0) or np.max(np.abs(pe.sum(-1) - 1.0)) > 1e-10:
        raise ValueError("`pi_e` must have rows on the simplex (non-negative, summing to 1 within 1e-10).")
    if np.any(d < 0):
        raise ValueError("`occupancy` must be non-negative.")
    A = pe.shape[-1]
    supp = (pe > 0).sum(-1)
    per_state = (supp - 1) / 2.0 + k * (A - supp)
    return float(np.sum(per_state[d > 0]))
