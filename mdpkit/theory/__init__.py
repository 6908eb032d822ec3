"""Closed-form bounds and predictions, and the statistics the checks use.

The statistical tools are shared by every check: :func:`loglog_slope` (rate exponents
with a confidence interval), :func:`mean_and_se` and :func:`bound_violation_test`.
Bandit and online-learning bounds (UCB1, Successive Elimination, MOSS, EXP3, Hedge,
regret matching, OFUL, Lai-Robbins, minimax) live in :mod:`mdpkit.theory._bandit_bounds`;
best-of-N and calibrated-space closed forms in :mod:`mdpkit.theory._bon`.
"""

from ._bandit_bounds import (
    bernoulli_kl,
    exp3_regret_bound,
    gaussian_kl,
    hedge_regret_bound,
    lai_robbins_constant,
    minimax_lower_bound,
    moss_regret_bound,
    nash_gap_bound,
    oful_regret_bound,
    regret_matching_regret_bound,
    successive_elimination_regret_bound,
    ucb1_regret_bound,
)
from ._bandit_finite_time import (
    klucb_exploration_level,
    klucb_pulls_bound,
    klucb_regret_bound,
    thompson_leading_term,
)
from ._bon import (
    binary_tilt_kl,
    bon_kl_bound,
    bon_kl_saturation,
    bon_win_rate_bound,
    calibrated_identity_kl,
    calibrated_identity_mean,
    order_statistic_kl,
)
from ._demo import bc_kl_limit
from ._stats import BoundTest, SlopeFit, bound_violation_test, loglog_slope, mean_and_se
from ._ucbvi import azar_log_term, azar_regret_bound

__all__ = [
    "BoundTest",
    "SlopeFit",
    "azar_log_term",
    "azar_regret_bound",
    "bc_kl_limit",
    "bernoulli_kl",
    "binary_tilt_kl",
    "bon_kl_bound",
    "bon_kl_saturation",
    "bon_win_rate_bound",
    "bound_violation_test",
    "calibrated_identity_kl",
    "calibrated_identity_mean",
    "exp3_regret_bound",
    "gaussian_kl",
    "hedge_regret_bound",
    "klucb_exploration_level",
    "klucb_pulls_bound",
    "klucb_regret_bound",
    "lai_robbins_constant",
    "loglog_slope",
    "mean_and_se",
    "minimax_lower_bound",
    "moss_regret_bound",
    "nash_gap_bound",
    "oful_regret_bound",
    "order_statistic_kl",
    "regret_matching_regret_bound",
    "successive_elimination_regret_bound",
    "thompson_leading_term",
    "ucb1_regret_bound",
]
