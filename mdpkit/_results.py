"""Result containers shared by the solvers, and the convergence warning."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._typing import FloatArray


class ConvergenceWarning(UserWarning):
    """An iterative solver stopped before meeting its tolerance."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SolveResult:
    """Output of a tabular MDP solver.

    Attributes
    ----------
    V : ndarray, shape (S,) or (H+1, S)
        (Regularized) optimal value; finite horizon ``V[h, s]`` with ``V[H] = 0``.
    Q : ndarray, shape (S, A) or (H, S, A)
    pi : ndarray, shape (S, A) or (H, S, A)
        Optimal (regularized) policy; rows sum to 1.
    converged : bool
    n_iter : int
        Sweeps (value iteration), improvement steps (policy iteration) or stages.
    residual : float
        Certificate: ``max_s |(T V)(s) - V(s)|`` at exit (0 for backward induction).
    method : str
    message : str
    trace : dict or None
        Optional diagnostics, e.g. ``{"residual": ndarray}`` per iteration, or the
        worst-case transition kernel ``{"P_worst": ndarray}`` of a robust solve.
    """

    V: FloatArray
    Q: FloatArray
    pi: FloatArray
    converged: bool
    n_iter: int
    residual: float
    method: str
    message: str = ""
    trace: dict[str, Any] | None = field(default=None, repr=False)

    def __repr__(self) -> str:  # compact, in the spirit of scipy's _RichResult
        return (
            f"SolveResult(method={self.method!r}, converged={self.converged}, "
            f"n_iter={self.n_iter}, residual={self.residual:.3e}, V.shape={np.shape(self.V)})"
        )
