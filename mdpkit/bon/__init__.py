r"""Best-of-N asymptotics, tilted policies, reward-KL frontiers and InfAlign transforms.

Exact best-of-N laws [1]_, the KL-optimal tilted policy [4]_, reward-KL frontiers,
memoryless large deviations [2]_ and InfAlign's calibrated transforms [3]_.

Conventions are stated in :mod:`mdpkit.bon._laws`: ties are merged into reward levels;
``ties="random"`` breaks them uniformly (the law of ``argmax`` over exchangeable draws),
``ties="first"`` by the fixed order "higher reward, then lower atom index"; win rates
count ties as 1/2. Everything is computed in log space, so N up to 1e100 (or ``log_n``
beyond the float range) and references with 1e6 atoms are exact to rounding.

References
----------
.. [1] A. Beirami et al., "Theoretical guarantees on the best-of-n alignment policy",
   arXiv 2401.01879 (the KL bound and the exact law).
.. [2] J. Q. Yang et al., "Asymptotics of language model alignment", arXiv 2404.01730.
.. [3] A. Balashankar et al., "InfAlign: inference-aware language model alignment",
   arXiv 2412.19792.
.. [4] T. Korbak, E. Perez, C. Buckley, "RL with KL penalties is better viewed as
   Bayesian inference", Findings of EMNLP 2022.

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
    inference_time_win_rate,
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
    kl_estimate_beirami,
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
    "inference_time_win_rate",
    "kl",
    "kl_bound",
    "kl_estimate_beirami",
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
