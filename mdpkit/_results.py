"""Result containers shared by the solvers, and the convergence warning."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._typing import FloatArray


class ConvergenceWarning(UserWarning):
    """An iterative solver stopped before meeting its tolerance."""


#: SciPy-style status codes of :class:`SolveResult`, the one table of solver messages.
SOLVE_STATUS: dict[int, str] = {
    0: "converged: the stopping rule was met (exact for backward induction)",
    1: "maximum number of iterations reached before the tolerance",
    2: "non-finite value encountered (nan or inf)",
}


def as_frame(columns: dict[str, Any]) -> Any:
    """A :class:`pandas.DataFrame` from equal-length columns (pandas is imported lazily).

    Every result object's ``to_frame()`` goes through here, so the error for a missing
    pandas is the same everywhere.
    """
    try:
        import pandas as pd
    except ImportError as e:  # pragma: no cover - pandas is a test dependency
        raise ImportError("`to_frame()` needs pandas; install it with `pip install pandas`.") from e
    return pd.DataFrame({k: np.asarray(v) for k, v in columns.items()})


def policy_frame(**arrays: Any) -> Any:
    """One row per (stage, state, action) of equal-shape ``(H, S, A)`` (or ``(S, A)``) arrays."""
    first = np.asarray(next(iter(arrays.values())))
    shape = first.shape if first.ndim == 3 else (1, *first.shape)
    h, s, a = np.meshgrid(*(np.arange(n) for n in shape), indexing="ij")
    cols: dict[str, Any] = {"stage": h.ravel(), "state": s.ravel(), "action": a.ravel()}
    cols.update({k: np.asarray(v).reshape(shape).ravel() for k, v in arrays.items()})
    return as_frame(cols)


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
        ``status == 0``.
    n_iter : int
        Sweeps (value iteration), improvement steps (policy iteration) or stages.
    residual : float
        Certificate: ``max_s |(T V)(s) - V(s)|`` at exit (0 for backward induction).
    method : str
    status : int
        SciPy-style code: 0 converged, 1 iteration limit reached, 2 non-finite values
        (:data:`SOLVE_STATUS`).
    message : str
        ``SOLVE_STATUS[status]`` unless a solver gives a more specific one.
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
    status: int = 0
    message: str = ""
    trace: dict[str, Any] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.status not in SOLVE_STATUS:
            raise ValueError(f"`status` must be one of {sorted(SOLVE_STATUS)}; got {self.status!r}.")
        if self.converged != (self.status == 0):
            raise ValueError(f"`converged` must equal `status == 0`; got converged={self.converged}, "
                             f"status={self.status}.")
        if not self.message:
            object.__setattr__(self, "message", SOLVE_STATUS[self.status])

    def __repr__(self) -> str:  # compact, in the spirit of scipy's _RichResult
        return (
            f"SolveResult(method={self.method!r}, converged={self.converged}, "
            f"n_iter={self.n_iter}, residual={self.residual:.3e}, V.shape={np.shape(self.V)})"
        )

    def summary(self) -> str:
        """One line: method, convergence, iterations, certificate and the value range.

        >>> import mdpkit as mk
        >>> mk.solve(mk.random_mdp(n_states=3, n_actions=2, horizon=2, rng=0)).summary()[:40]
        'backward_induction: converged in 2 itera'
        """
        state = "converged" if self.converged else "NOT converged"
        V = np.asarray(self.V)
        return (f"{self.method}: {state} in {self.n_iter} iterations, residual {self.residual:.2e}, "
                f"V in [{V.min():.6g}, {V.max():.6g}]")

    def to_frame(self) -> Any:
        """The policy and values, one row per (stage, state, action) (a pandas DataFrame)."""
        pi = np.asarray(self.pi)
        V = np.asarray(self.V)
        V_sa = np.broadcast_to((V[:-1] if pi.ndim == 3 else V)[..., None], pi.shape)
        return policy_frame(pi=pi, Q=self.Q, V=V_sa)
