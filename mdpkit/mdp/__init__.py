r"""Problem objects: tabular MDPs, generators and classic instances.

Array convention: ``P[s, a, s_next]`` (finite horizon ``P[h, s, a, s_next]``),
``r[s, a]`` (``r[h, s, a]``), policies ``pi[s, a]`` (``pi[h, s, a]``), values ``V[s]``,
``Q[s, a]`` (finite horizon ``V[h, s]`` with ``h = 0..H`` and ``V[H] = 0``); the
discount is ``gamma`` (never ``beta``, which is the KL strength).

>>> import mdpkit as mk
>>> mk.river_swim(6, gamma=0.95)
TabularMDP(n_states=6, n_actions=2, gamma=0.95, dense)
"""

from ._dataset import OfflineDataset
from ._generators import (
    banded_chain,
    chain_mdp,
    forest,
    from_gymnasium,
    gridworld,
    puterman_example,
    quantecon_example,
    random_mdp,
    river_swim,
    small,
    token_tree_mdp,
    uniform_policy,
)
from ._linear import LinearMDP, r2pvi_linear_mdp, random_linear_mdp
from ._tabular import TabularMDP, Trajectories

TabularMDP.from_gymnasium = staticmethod(from_gymnasium)  # type: ignore[attr-defined]

__all__ = [
    "banded_chain",
    "LinearMDP",
    "OfflineDataset",
    "TabularMDP",
    "Trajectories",
    "chain_mdp",
    "forest",
    "from_gymnasium",
    "gridworld",
    "puterman_example",
    "quantecon_example",
    "r2pvi_linear_mdp",
    "random_linear_mdp",
    "random_mdp",
    "river_swim",
    "small",
    "token_tree_mdp",
    "uniform_policy",
]
