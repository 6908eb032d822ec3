"""Closed-form bounds and predictions, and the statistics the checks use.

The statistical tools are shared by every check: :func:`loglog_slope` (rate exponents
with a confidence interval), :func:`mean_and_se` and :func:`bound_violation_test`.
"""

from ._stats import BoundTest, SlopeFit, bound_violation_test, loglog_slope, mean_and_se

__all__ = ["BoundTest", "SlopeFit", "bound_violation_test", "loglog_slope", "mean_and_se"]
