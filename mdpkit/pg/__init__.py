r"""Policy-gradient dynamics of softmax policies (reasoning RL with verifiable rewards).

Exact (expected) and sampled PG / natural PG on K-armed and multi-prompt softmax
bandits and tabular softmax MDPs (sampled: G trajectories per step); the GRPO family of advantage estimators (REINFORCE,
RLOO, GRPO, Dr. GRPO, BNPO, NGRPO) with PPO clipping, Clip-Cov / KL-Cov, difficulty
filtering and GVM allocation; the entropy mechanism (Cui et al. 2025), pass@k and the
KL estimators k1, k2, k3. See the theory page "Policy-gradient dynamics".

>>> import mdpkit as mk
>>> mk.pg.pass_at_k(5, 2, 2)
0.7
"""

from ._exact import MDPTrajectory, PGTrajectory, exact_dynamics, exact_dynamics_mdp
from ._kl import ESTIMATORS as KL_ESTIMATORS
from ._kl import KLEstimatorMoments, kl_estimator_moments
from ._metrics import (
    entropy,
    entropy_change_prediction,
    fit_entropy_law,
    pass_at_k,
    pass_at_k_exact,
    zero_advantage_probability,
)
from ._models import PGProblem, beta_prompts, k_armed, multi_prompt
from ._sampled import (
    ESTIMATORS,
    GROUP_ESTIMATORS,
    ClipCov,
    EstimatorMoments,
    KLCov,
    SampledRun,
    advantages,
    estimator_moments,
    gradient_samples,
    gvm_allocation,
    sample_dynamics,
)
from ._sampled_mdp import SampledMDPRun, sample_dynamics_mdp

__all__ = [
    "ESTIMATORS",
    "GROUP_ESTIMATORS",
    "ClipCov",
    "EstimatorMoments",
    "KLCov",
    "SampledRun",
    "advantages",
    "estimator_moments",
    "gradient_samples",
    "gvm_allocation",
    "sample_dynamics",
    "sample_dynamics_mdp",
    "SampledMDPRun",
    "KLEstimatorMoments",
    "KL_ESTIMATORS",
    "MDPTrajectory",
    "PGProblem",
    "PGTrajectory",
    "beta_prompts",
    "entropy",
    "entropy_change_prediction",
    "exact_dynamics",
    "exact_dynamics_mdp",
    "fit_entropy_law",
    "k_armed",
    "kl_estimator_moments",
    "multi_prompt",
    "pass_at_k",
    "pass_at_k_exact",
    "zero_advantage_probability",
]
