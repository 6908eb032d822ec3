r"""Sample-based learners: offline pessimistic (robust) value iteration on linear MDPs.

>>> import mdpkit as mk
>>> data = mk.r2pvi_linear_mdp().collect(n_trajectories=20, rng=0)
>>> data.n_trajectories
20
"""

from ._dataset import OfflineDataset

__all__ = [
    "OfflineDataset",
]
