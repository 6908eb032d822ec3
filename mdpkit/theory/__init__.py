"""Closed-form bounds and predictions, and the statistics the checks use.

The statistical tools are shared by every check: :func:`loglog_slope` (rate exponents
with a confidence interval), :func:`mean_and_se` and :func:`bound_violation_test`.
Bandit and online-learning bounds (UCB1, Successive Elimination, MOSS, EXP3, Hedge,
regret matching, OFUL, Lai-Robbins, minimax) live in :mod:`mdpkit.theory._bandit_bounds`.
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
from ._stats import BoundTest, SlopeFit, bound_violation_test, loglog_slope, mean_and_se

__all__ = [
    "BoundTest",
    "SlopeFit",
    "bernoulli_kl",
    "bound_violation_test",
    "exp3_regret_bound",
    "gaussian_kl",
    "hedge_regret_bound",
    "lai_robbins_constant",
    "loglog_slope",
    "mean_and_se",
    "minimax_lower_bound",
    "moss_regret_bound",
    "nash_gap_bound",
    "oful_regret_bound",
    "regret_matching_regret_bound",
    "successive_elimination_regret_bound",
    "ucb1_regret_bound",
]
