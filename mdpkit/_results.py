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
    r"""Output of a tabular MDP solver.

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
        worst-case transition kernel ``{"P_worst": ndarray}`` of a robust solve, or the
        duality-gap certificate of the linear program (``"duality_gap"``,
        ``"primal_infeasibility"``, ``"dual_infeasibility"``, ``"occupancy"``).
    bounds : tuple of two ndarrays or None
        Discounted problems: ``(lower, upper)`` with ``lower <= V* <= upper`` elementwise,
        the MacQueen bounds :math:`TV + \frac{\gamma}{1-\gamma}[\min d, \max d]`,
        :math:`d = TV - V` (Puterman 2005, Sec. 6.6.3), valid for every monotone operator
        with :math:`T(V + c) = TV + \gamma c`; ``None`` for finite horizon (exact).
        :attr:`error_bound` turns them into a certified :math:`\|V - V^*\|_\infty`.
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
    bounds: tuple[FloatArray, FloatArray] | None = field(default=None, repr=False)

    @property
    def error_bound(self) -> float:
        r"""Certified :math:`\|V - V^*\|_\infty \le \max_s \max(u_s - V_s, V_s - l_s)` from :attr:`bounds`.

        ``0.0`` for finite horizon (backward induction is exact); ``inf`` when no bounds
        are known.
        """
        if self.bounds is None:
            return 0.0 if np.ndim(self.V) == 2 else float("inf")
        lo, hi = self.bounds
        return float(max(np.max(hi - self.V), np.max(self.V - lo), 0.0))

    def __repr__(self) -> str:  # compact, in the spirit of scipy's _RichResult
        return (
            f"SolveResult(method={self.method!r}, converged={self.converged}, "
            f"n_iter={self.n_iter}, residual={self.residual:.3e}, V.shape={np.shape(self.V)})"
        )
