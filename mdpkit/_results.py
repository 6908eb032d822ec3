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


@dataclass(frozen=True, slots=True, kw_only=True)
class AverageRewardResult:
    r"""Output of an average-reward (gain-optimal) solver.

    Attributes
    ----------
    gain : float
        Optimal long-run average reward :math:`g^* = \lim_T \frac1T \mathbb E \sum_{t<T} r_t`
        (the same from every state for a unichain problem).
    bias : ndarray, shape (S,)
        Bias :math:`h` of the returned policy solving :math:`g + h = r_\pi + P_\pi h`,
        normalized by :math:`d_\pi^\top h = 0` with :math:`d_\pi` the stationary law.
    pi : ndarray, shape (S, A)
        Gain-optimal deterministic policy (one-hot rows).
    Q : ndarray, shape (S, A)
        Relative action values :math:`r + P h - g` (``-inf`` at infeasible actions).
    span : float
        :math:`\mathrm{sp}(h^*) = \max_s h(s) - \min_s h(s)`.
    gain_bounds : tuple of float
        ``(lo, hi)`` with ``lo <= g* <= hi`` (equal for policy iteration).
    stationary : ndarray, shape (S,)
        Stationary law :math:`d_\pi` of the returned policy.
    converged : bool
    n_iter : int
    method : str
    message : str
    trace : dict or None
    """

    gain: float
    bias: FloatArray
    pi: FloatArray
    Q: FloatArray
    span: float
    gain_bounds: tuple[float, float]
    stationary: FloatArray
    converged: bool
    n_iter: int
    method: str
    message: str = ""
    trace: dict[str, Any] | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        return (f"AverageRewardResult(method={self.method!r}, converged={self.converged}, "
                f"n_iter={self.n_iter}, gain={self.gain:.10g}, span={self.span:.6g})")
