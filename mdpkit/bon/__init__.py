r"""Best-of-N asymptotics: exact best-of-N laws, the KL-optimal tilted policy,
reward-KL frontiers, memoryless large deviations and InfAlign's calibrated transforms.

>>> import mdpkit as mk
>>> ref = mk.bon.Discrete(probs=[0.25, 0.25, 0.5], rewards=[0.0, 1.0, 2.0])
>>> bon = mk.bon.best_of_n(ref, n=2)
>>> mk.bon.expected_reward(bon), mk.bon.win_rate(bon, ref)
(1.6875, 0.640625)
"""

from ._frontier import (
    Frontier,
    FrontierCurve,
    bon_gain_fraction,
    frontier,
    soft_best_of_n,
)
from ._infalign import (
    CalibratedPolicy,
    Transform,
    calibrated_frontier,
    calibrated_policy,
    calibrated_reward,
    ctrl_policy,
    empirical_calibrated_reward,
    exp_transform,
    identity_transform,
    neg_exp_transform,
    tune_exp_transform,
)
from ._laws import (
    Continuous,
    Discrete,
    OrderStatistic,
    best_of_n,
    expected_reward,
    kl,
    kl_bound,
    win_rate,
    win_rate_bound,
    worst_of_n,
)
from ._memoryless import Memoryless
from ._sampling import (
    Estimate,
    MonteCarloBoN,
    mc_kl,
    monte_carlo_best_of_n,
    sample,
    sample_best_of_n,
)
from ._tilt import (
    beta_for_kl,
    conditional,
    geometric_mixture,
    log_partition,
    max_kl,
    oreal_mixture_weight,
    tilted,
)

__all__ = [
    "CalibratedPolicy",
    "Continuous",
    "Discrete",
    "Estimate",
    "Frontier",
    "FrontierCurve",
    "Memoryless",
    "MonteCarloBoN",
    "OrderStatistic",
    "Transform",
    "best_of_n",
    "bon_gain_fraction",
    "calibrated_frontier",
    "calibrated_policy",
    "calibrated_reward",
    "ctrl_policy",
    "empirical_calibrated_reward",
    "exp_transform",
    "beta_for_kl",
    "conditional",
    "expected_reward",
    "frontier",
    "geometric_mixture",
    "identity_transform",
    "kl",
    "kl_bound",
    "log_partition",
    "max_kl",
    "mc_kl",
    "monte_carlo_best_of_n",
    "neg_exp_transform",
    "oreal_mixture_weight",
    "sample",
    "sample_best_of_n",
    "soft_best_of_n",
    "tilted",
    "tune_exp_transform",
    "win_rate",
    "win_rate_bound",
    "worst_of_n",
]
