r"""Closed forms for best-of-N, tilted policies and InfAlign's calibrated space.

These are the paper formulas the best-of-N checks compare against; they take plain
numbers, not :mod:`mdpkit.bon` objects.
"""

from __future__ import annotations

import math

from .._validation import check_int, check_positive, check_scalar


def bon_kl_bound(n: int) -> float:
    r""":math:`\log N - (N-1)/N`, Beirami et al. (2024), the best-of-N KL bound (tight for atomless rewards).

    >>> round(bon_kl_bound(16), 5)
    1.83509
    """
    n = check_int("n", n, lo=1)
    ln = math.log(n)
    return ln + math.expm1(-ln)


def bon_win_rate_bound(n: int) -> float:
    r""":math:`N/(N+1)`: win rate of best-of-N against one reference draw, ties counted 1/2.

    >>> bon_win_rate_bound(3)
    0.75
    """
    n = check_int("n", n, lo=1)
    return n / (n + 1.0)


def bon_kl_saturation(p_top: float) -> float:
    r""":math:`\lim_{N\to\infty}\mathrm{KL}(\pi_N\|p) = \log 1/p(\text{top level})`.

    >>> round(bon_kl_saturation(0.25), 12)
    1.38629436112
    """
    p = check_scalar("p_top", p_top, lo=0.0, hi=1.0, lo_inclusive=False)
    return -math.log(p)


def order_statistic_kl(n: int, m: int) -> float:
    r"""Return the KL between max-of-N and max-of-M of one atomless reference.

    KL between max-of-N and max-of-M of one atomless reference: in calibrated space
    Beta(N, 1) vs Beta(M, 1), :math:`\log(N/M) - (N - M)/N`.

    >>> round(order_statistic_kl(4, 1), 12) == round(bon_kl_bound(4), 12)
    True
    """
    n = check_int("n", n, lo=1)
    m = check_int("m", m, lo=1)
    return math.log(n / m) - (n - m) / n


def calibrated_identity_kl(lam: float) -> float:
    r"""Return the KL to U[0, 1] of the calibrated tilted density.

    KL to U[0, 1] of the calibrated density :math:`q(u) = \lambda e^{\lambda u}/(e^\lambda - 1)`
    (identity transform, :math:`\lambda = 1/\beta`):
    :math:`\lambda\,\mathbb E_q u + \log\lambda - \log(e^\lambda - 1)`.

    >>> round(calibrated_identity_kl(1e-6), 12)
    0.0
    """
    lam = check_positive("lam", lam)
    return lam * calibrated_identity_mean(lam) + math.log(lam) - math.log(math.expm1(lam))


def calibrated_identity_mean(lam: float) -> float:
    r""":math:`\mathbb E_q u = 1/(1 - e^{-\lambda}) - 1/\lambda`, the standard (N = 1) win rate.

    >>> round(calibrated_identity_mean(1.0), 10)
    0.5819767069
    """
    lam = check_positive("lam", lam)
    if lam < 1e-4:  # series, avoids cancellation
        return 0.5 + lam / 12.0 - lam**3 / 720.0
    return 1.0 / (-math.expm1(-lam)) - 1.0 / lam


def binary_tilt_kl(p_success: float, beta: float) -> float:
    r"""Return the KL of the tilt of a binary reward (OREAL, CLAIMS #18).

    KL of the tilt of a binary reward (OREAL, CLAIMS #18):
    :math:`\alpha/\beta - \log(p e^{1/\beta} + 1 - p)` with
    :math:`\alpha = p e^{1/\beta}/(p e^{1/\beta} + 1 - p)`.

    >>> round(binary_tilt_kl(0.5, 1.0), 12)
    0.110944071672
    """
    p = check_scalar("p_success", p_success, lo=0.0, hi=1.0, lo_inclusive=False, hi_inclusive=False)
    b = check_positive("beta", beta)
    log_z = math.log(p) + 1.0 / b + math.log1p((1.0 - p) / p * math.exp(-1.0 / b))
    alpha = math.exp(math.log(p) + 1.0 / b - log_z)
    return alpha / b - log_z
