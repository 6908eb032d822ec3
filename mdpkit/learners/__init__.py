r"""Sample-based learners: offline pessimistic (robust) value iteration on linear MDPs.

:class:`PEVI` (non-robust), :class:`R2PVI` (robust regularized, TV / KL / chi-square)
and :class:`DRPVI` (TV uncertainty balls) learn from an :class:`OfflineDataset`
collected with :meth:`mdpkit.LinearMDP.collect`.

>>> import mdpkit as mk
>>> from mdpkit.divergences import TotalVariation
>>> data = mk.r2pvi_linear_mdp().collect(n_trajectories=20, rng=0)
>>> mk.learners.R2PVI(div=TotalVariation(), lam=0.1).fit(data).pi_.shape
(3, 5, 16)
"""

from ._dataset import OfflineDataset
from ._offline import DRPVI, PEVI, R2PVI

__all__ = [
    "DRPVI",
    "OfflineDataset",
    "PEVI",
    "R2PVI",
]
