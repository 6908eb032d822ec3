"""mdpkit: exact, fast theory-checking for regularized decision making.

Tabular and linear MDPs (standard, KL/f-divergence policy-regularized, robust under
transition f-divergences), learners on samples, bandit simulators, best-of-N
asymptotics, a bridge to small language models, and a registry of theorem checks.

>>> import mdpkit as mk
>>> mdp = mk.random_mdp(n_states=5, n_actions=2, gamma=0.9, rng=0)
>>> bool(mk.solve(mdp).converged)
True
"""

from __future__ import annotations

import importlib
from typing import Any

from ._config import get_num_threads, set_num_threads
from ._results import ConvergenceWarning, SolveResult

__version__ = "0.1.0"

# Subpackages loaded on first attribute access, so `import mdpkit` stays fast and
# never imports an optional dependency.
_LAZY_SUBMODULES = (
    "bandits", "bon", "checks", "divergences", "learners", "mdp", "pg", "plotting",
    "preference", "reward_hacking", "solvers", "sweep", "theory",
)

# Public names re-exported from subpackages; resolved lazily too.
_LAZY_NAMES: dict[str, str] = {}


def _export(module: str, *names: str) -> None:
    for n in names:
        _LAZY_NAMES[n] = module


def __getattr__(name: str) -> Any:
    if name in _LAZY_SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    if name in _LAZY_NAMES:
        value = getattr(importlib.import_module(f"{__name__}.{_LAZY_NAMES[name]}"), name)
        globals()[name] = value  # resolved once: later look-ups (``mk.solve`` in a loop) are plain
        return value
    raise AttributeError(f"module 'mdpkit' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY_SUBMODULES) | set(_LAZY_NAMES))


# --- exports (one line per subpackage; keep sorted) -------------------------------
_export("mdp", "TabularMDP", "random_mdp", "chain_mdp", "banded_chain", "river_swim", "gridworld",
        "puterman_example", "uniform_policy", "token_tree_mdp")
_export("mdp", "LinearMDP", "r2pvi_linear_mdp", "random_linear_mdp")
_export("mdp", "forest", "small", "quantecon_example")
_export("solvers", "solve", "solve_kl_regularized", "PolicyRegularizer", "bellman",
        "soft_bellman", "policy_evaluation", "greedy_policy")
_export("solvers", "Robust", "solve_robust")
_export("solvers", "solve_average_reward")

__all__ = [
    "ConvergenceWarning",
    "SolveResult",
    "__version__",
    "get_num_threads",
    "set_num_threads",
    *_LAZY_SUBMODULES,
    *sorted(_LAZY_NAMES),
]
