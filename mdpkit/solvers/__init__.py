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

__all__ = [
    "METHODS",
    "PolicyRegularizer",
    "TransitionOperator",
    "bellman",
    "greedy_policy",
    "policy_evaluation",
    "soft_bellman",
    "solve",
    "solve_kl_regularized",
]
