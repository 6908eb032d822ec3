r"""Exact planning on known tabular models: one generic backup, many regularizers.

See :func:`solve` for the operator and the stopping rule. Robust transition parts
plug in through ``solve(..., robust=...)``: any object with a method
``transition_operator(mdp, stage)`` returning ``op(V, out)`` that writes the robust
next-state value ``T[V](s, a)`` into ``out[s, a]``.

>>> import mdpkit as mk
>>> mdp = mk.random_mdp(n_states=20, n_actions=3, gamma=0.9, rng=1)
>>> a, b = mk.solve(mdp, method="value_iteration"), mk.solve(mdp, method="policy_iteration")
>>> bool(abs(a.V - b.V).max() < 1e-8)
True
"""

from ._average import AVERAGE_METHODS, recurrent_classes, solve_average_reward
from ._solve import (
    METHODS,
    PolicyRegularizer,
    TransitionOperator,
    bellman,
    greedy_policy,
    policy_evaluation,
    soft_bellman,
    solve,
    solve_kl_regularized,
)
from .robust import (
    Robust,
    robust_bellman,
    robust_policy_evaluation,
    solve_linear_robust,
    solve_robust,
    worst_case_kernel,
)

__all__ = [
    "AVERAGE_METHODS",
    "METHODS",
    "PolicyRegularizer",
    "Robust",
    "TransitionOperator",
    "bellman",
    "greedy_policy",
    "policy_evaluation",
    "recurrent_classes",
    "robust_bellman",
    "robust_policy_evaluation",
    "soft_bellman",
    "solve",
    "solve_average_reward",
    "solve_kl_regularized",
    "solve_linear_robust",
    "solve_robust",
    "worst_case_kernel",
]
