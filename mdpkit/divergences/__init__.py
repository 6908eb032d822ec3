r"""f-divergences: generators, conjugates, values and the regularized max.

>>> from mdpkit.divergences import ChiSquare
>>> M, pi = ChiSquare().regularized_max([0.0, 1.0], [0.5, 0.5], beta=1.0)  # max x - 4(x - 1/2)^2
>>> round(float(M), 6), [round(float(x), 6) for x in pi]
(0.5625, [0.375, 0.625])
"""

from ._divergences import (
    ALL_DIVERGENCES,
    KL,
    Alpha,
    ChiSquare,
    FDivergence,
    ForwardKL,
    Hellinger,
    JensenShannon,
    TotalVariation,
)

__all__ = [
    "ALL_DIVERGENCES",
    "Alpha",
    "ChiSquare",
    "FDivergence",
    "ForwardKL",
    "Hellinger",
    "JensenShannon",
    "KL",
    "TotalVariation",
]
