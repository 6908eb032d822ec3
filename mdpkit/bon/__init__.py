r"""Best-of-N asymptotics: exact best-of-N laws, the KL-optimal tilted policy,
reward-KL frontiers, memoryless large deviations and InfAlign's calibrated transforms.

>>> import mdpkit as mk
>>> ref = mk.bon.Discrete(probs=[0.25, 0.25, 0.5], rewards=[0.0, 1.0, 2.0])
>>> bon = mk.bon.best_of_n(ref, n=2)
>>> mk.bon.expected_reward(bon), mk.bon.win_rate(bon, ref)
(1.6875, 0.640625)
"""

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
    "Continuous",
    "Discrete",
    "OrderStatistic",
    "best_of_n",
    "beta_for_kl",
    "conditional",
    "expected_reward",
    "geometric_mixture",
    "kl",
    "kl_bound",
    "log_partition",
    "max_kl",
    "oreal_mixture_weight",
    "tilted",
    "win_rate",
    "win_rate_bound",
    "worst_of_n",
]
