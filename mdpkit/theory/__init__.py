"""Closed-form bounds and predictions, and the statistics the checks use.

The statistical tools are shared by every check: :func:`loglog_slope` (rate exponents
with a confidence interval), :func:`mean_and_se` and :func:`bound_violation_test`.
"""

from ._bon import (
    binary_tilt_kl,
    bon_kl_bound,
    bon_kl_saturation,
    bon_win_rate_bound,
    calibrated_identity_kl,
    calibrated_identity_mean,
    order_statistic_kl,
)
from ._stats import BoundTest, SlopeFit, bound_violation_test, loglog_slope, mean_and_se

__all__ = [
    "BoundTest",
    "SlopeFit",
    "binary_tilt_kl",
    "bon_kl_bound",
    "bon_kl_saturation",
    "bon_win_rate_bound",
    "bound_violation_test",
    "calibrated_identity_kl",
    "calibrated_identity_mean",
    "loglog_slope",
    "mean_and_se",
    "order_statistic_kl",
]
