r"""Sample-based learners: offline, online, behaviour cloning and RLHF.

Offline pessimistic (robust) value iteration on linear MDPs, behaviour cloning,
optimistic online RL, and preference-based RLHF.

:class:`PEVI` (non-robust), :class:`R2PVI` (robust regularized, TV / KL / chi-square)
and :class:`DRPVI` (TV uncertainty balls) learn from an :class:`~mdpkit.mdp.OfflineDataset`
collected with :meth:`mdpkit.LinearMDP.collect`.

>>> import mdpkit as mk
>>> from mdpkit.divergences import TotalVariation
>>> data = mk.r2pvi_linear_mdp().collect(n_trajectories=20, rng=0)
>>> mk.learners.R2PVI(div=TotalVariation(), lam=0.1).fit(data).pi_.shape
(3, 5, 16)

Demonstration-regularized RL (Tiapkin et al., ICLR 2024) chains three of them: clone the
expert (:func:`behavior_cloning`), then learn online with a KL penalty toward the clone
(:class:`DemoRegularizedUCBVI`, :func:`run_online`), or plan toward it with a reward
learned from preferences (:func:`demo_regularized_rlhf`).

>>> mdp = mk.random_mdp(n_states=4, n_actions=2, horizon=3, rng=0)
>>> demos = mdp.simulate(mk.solve(mdp).pi, n_episodes=50, rng=0)
>>> pi_bc = mk.learners.behavior_cloning(demos, 4, 2, horizon=3).pi
>>> pi_bc.shape
(3, 4, 2)
"""

from ._bc import (
    BCResult,
    LogLinearPolicy,
    behavior_cloning,
    linear_behavior_cloning,
    log_linear_policy,
    trajectory_kl,
)
from ._drrpo import (
    DRRPO,
    DRRPORun,
    MirrorDescentResult,
    robust_policy_mirror_descent,
    robust_policy_value,
)
from ._linear_online import LSVIUCB, KLRegularizedLSVIUCB
from ._offline import DRPVI, PEVI, R2PVI, OfflineResult
from ._online import (
    UCBVI,
    DemoRegularizedUCBVI,
    KLRegularizedUCBVI,
    OnlineRun,
    demo_regularization_beta,
    run_online,
)
from ._qlearning import (
    QLearningRun,
    q_learning,
    speedy_q_learning,
    variance_reduced_q_learning,
)
from ._rlhf import (
    Preferences,
    RewardEstimate,
    RLHFResult,
    bradley_terry_reward,
    demo_regularized_rlhf,
    preference_pairs,
)

__all__ = [
    "BCResult",
    "DRPVI",
    "DRRPO",
    "DRRPORun",
    "MirrorDescentResult",
    "OfflineResult",
    "PEVI",
    "R2PVI",
    # demonstration-regularized RL
    "DemoRegularizedUCBVI",
    "KLRegularizedLSVIUCB",
    "KLRegularizedUCBVI",
    "LSVIUCB",
    "LogLinearPolicy",
    "OnlineRun",
    "Preferences",
    "RLHFResult",
    "RewardEstimate",
    "UCBVI",
    "behavior_cloning",
    "bradley_terry_reward",
    "demo_regularization_beta",
    "demo_regularized_rlhf",
    "linear_behavior_cloning",
    "log_linear_policy",
    "preference_pairs",
    "robust_policy_mirror_descent",
    "robust_policy_value",
    "run_online",
    "trajectory_kl",
    # tabular model-free (Q-learning family)
    "QLearningRun",
    "q_learning",
    "speedy_q_learning",
    "variance_reduced_q_learning",
]
