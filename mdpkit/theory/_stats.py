"""Statistical tools the checks use to compare measurements with theory."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import stats

from .._results import ScalarFields
from .._validation import as_float_array, check_scalar


@dataclass(frozen=True, slots=True)
class SlopeFit(ScalarFields):
    """Least-squares fit ``log y = intercept + slope * log x`` with a confidence interval."""

    slope: float
    intercept: float
    stderr: float
    ci_low: float
    ci_high: float
    n_points: int


def loglog_slope(x: npt.ArrayLike, y: npt.ArrayLike, *, confidence: float = 0.95) -> SlopeFit:
    r"""Fit the exponent of a power law ``y ~ c x^slope`` on log-log axes.

    The interval is the two-sided Student-t interval of the OLS slope with
    ``n - 2`` degrees of freedom.

    Parameters
    ----------
    x, y : array_like, shape (n,)
        Positive values, ``n >= 3``.
    confidence : float
        Coverage of the interval, in (0, 1).

    Examples
    --------
    >>> fit = loglog_slope([1, 10, 100, 1000], [2, 20, 200, 2000])
    >>> round(fit.slope, 12)
    1.0
    """
    xa = as_float_array("x", x, ndim=1)
    ya = as_float_array("y", y, ndim=1)
    if xa.shape != ya.shape:
        raise ValueError(f"`x` and `y` must have the same shape; got {xa.shape} and {ya.shape}.")
    if xa.size < 3:
        raise ValueError(f"`x` must have at least 3 points for a slope interval; got {xa.size}.")
    if np.any(xa <= 0) or np.any(ya <= 0):
        raise ValueError("`x` and `y` must be positive for a log-log fit.")
    check_scalar("confidence", confidence, lo=0.0, hi=1.0, lo_inclusive=False, hi_inclusive=False)
    lx, ly = np.log(xa), np.log(ya)
    res = stats.linregress(lx, ly)
    n = xa.size
    tq = stats.t.ppf(0.5 + confidence / 2, n - 2)
    se = float(res.stderr)
    return SlopeFit(float(res.slope), float(res.intercept), se,
                    float(res.slope - tq * se), float(res.slope + tq * se), n)


def mean_and_se(samples: npt.ArrayLike, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Sample mean and its standard error ``std(ddof=1) / sqrt(n)`` along ``axis``.

    >>> m, se = mean_and_se([1.0, 2.0, 3.0])
    >>> float(m), round(float(se), 6)
    (2.0, 0.57735)
    """
    a = as_float_array("samples", samples)
    n = a.shape[axis]
    if n < 2:
        raise ValueError(f"`samples` needs at least 2 values along axis {axis}; got {n}.")
    return a.mean(axis=axis), a.std(axis=axis, ddof=1) / np.sqrt(n)


@dataclass(frozen=True, slots=True)
class BoundTest(ScalarFields):
    """One-sided test of ``E[X] <= bound`` from i.i.d. samples."""

    mean: float
    se: float
    bound: float
    z: float
    p_value: float
    violated: bool


def bound_violation_test(samples: npt.ArrayLike, bound: float, *, alpha: float = 1e-3) -> BoundTest:
    r"""Test :math:`H_0: \mathbb E X \le b` against :math:`\mathbb E X > b`.

    Uses the normal approximation ``z = (mean - b) / se``; ``violated`` is
    ``p_value < alpha``. A mean within its standard error of the bound is not a
    violation, and a bound that holds only in expectation is not rejected by noise.

    >>> t = bound_violation_test([0.9, 1.1, 1.0, 0.95], bound=2.0)
    >>> t.violated
    False
    """
    a = as_float_array("samples", samples, ndim=1)
    b = check_scalar("bound", bound)
    m, se = mean_and_se(a)
    se_f = float(se)
    if se_f == 0.0:
        z = np.inf if float(m) > b else -np.inf
    else:
        z = (float(m) - b) / se_f
    p = float(stats.norm.sf(z))
    return BoundTest(float(m), se_f, b, float(z), p, p < alpha)
