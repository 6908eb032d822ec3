r"""Preference optimization and Nash learning.

Preference problems (Bradley-Terry and general, possibly intransitive, preference matrices;
contexts; token trees), the direct-alignment losses (DPO, IPO, SLiC/hinge, f-DPO, TDPO)
with exact gradients and their population minimizers, online learners (online DPO, XPO,
HyPO) and KL-regularized preference games (the exact regularized Nash equilibrium,
Nash-MP, INPO).

>>> import mdpkit as mk
>>> mk.preference.tilted_policy([0.5, 0.5], [0.0, 1.0], beta=1.0).round(6).tolist()
[0.268941, 0.731059]
"""

from ._losses import DIVERGENCES, LOSSES, LossValue, preference_loss
from ._minimizers import LossMinimum, fdpo_minimizer, ipo_minimizer, minimize_loss
from ._nash import (
    GameTrajectory,
    NashResult,
    inpo,
    inpo_base,
    inpo_step,
    nash_mp,
    regularized_nash,
)
from ._offline import OfflineRun, hypo, offline_dpo
from ._online import OnlineRun, online_dpo, xpo
from ._problems import (
    PreferencePairs,
    bradley_terry_matrix,
    check_preference_matrix,
    cyclic_preference,
    kl_objective,
    population_counts,
    sample_pairs,
    tilted_policy,
)
from ._token import (
    minimize_token_loss,
    sequence_log_probs,
    token_loss,
    token_policy_to_mdp,
)

__all__ = [
    "DIVERGENCES",
    "GameTrajectory",
    "LOSSES",
    "LossMinimum",
    "LossValue",
    "NashResult",
    "OfflineRun",
    "OnlineRun",
    "PreferencePairs",
    "bradley_terry_matrix",
    "check_preference_matrix",
    "cyclic_preference",
    "fdpo_minimizer",
    "hypo",
    "inpo",
    "inpo_base",
    "inpo_step",
    "ipo_minimizer",
    "kl_objective",
    "minimize_loss",
    "minimize_token_loss",
    "nash_mp",
    "offline_dpo",
    "online_dpo",
    "population_counts",
    "preference_loss",
    "regularized_nash",
    "sample_pairs",
    "sequence_log_probs",
    "tilted_policy",
    "token_loss",
    "token_policy_to_mdp",
    "xpo",
]
