"""Result containers shared by the solvers, and the convergence warning."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any, ClassVar, cast

import numpy as np

from ._typing import FloatArray


class ConvergenceWarning(UserWarning):
    """An iterative solver stopped before meeting its tolerance."""


#: SciPy-style status codes of :class:`SolveResult`, the one table of solver messages.
SOLVE_STATUS: dict[int, str] = {
    0: "converged: the stopping rule was met (exact for backward induction)",
    1: "maximum number of iterations reached before the tolerance",
    2: "non-finite value encountered (nan or inf)",
    3: "stopped at the rounding floor of the values: the certified error is above `tol`",
}


def as_frame(columns: dict[str, Any]) -> Any:
    """Return a :class:`pandas.DataFrame` from equal-length columns (pandas is imported lazily).

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


def grid_frame(axes: dict[str, Any], **arrays: Any) -> Any:
    """Return one row per cell of a grid (a pandas DataFrame).

    ``axes`` maps each axis's column name to its labels (in axis order); every array of
    ``arrays`` has (or broadcasts to) the grid's shape ``tuple(len(labels) ...)``.
    """
    labels = [np.asarray(v) for v in axes.values()]
    shape = tuple(len(v) for v in labels)
    grids = np.meshgrid(*labels, indexing="ij")
    cols: dict[str, Any] = {k: g.ravel() for k, g in zip(axes, grids, strict=True)}
    cols.update({k: np.broadcast_to(np.asarray(v), shape).ravel() for k, v in arrays.items()})
    return as_frame(cols)


_SCALARS = (bool, int, float, str, np.number, np.bool_)


def _fmt(v: Any) -> str:
    return f"{v:.6g}" if isinstance(v, float | np.floating) else str(v)


class ScalarFields:
    """Give a dataclass a one-line ``summary()`` and a one-row ``to_frame()`` of its scalar fields.

    A class with array fields overrides ``to_frame`` with a frame of those arrays and keeps
    this ``summary`` (every scalar field, floats to 6 significant digits).
    """

    __slots__ = ()

    def scalar_fields(self) -> dict[str, Any]:
        """Return the fields whose values are numbers, booleans or strings, in field order."""
        values = {f.name: getattr(self, f.name) for f in fields(cast(Any, self))}
        return {k: v for k, v in values.items() if isinstance(v, _SCALARS)}

    def summary(self) -> str:
        """Return one line: the class name and every scalar field."""
        items = ", ".join(f"{k} = {_fmt(v)}" for k, v in self.scalar_fields().items())
        return f"{type(self).__name__}: {items}"

    def to_frame(self) -> Any:
        """Return one row with a column per scalar field (a pandas DataFrame)."""
        return as_frame({k: [v] for k, v in self.scalar_fields().items()})


class ArrayFields(ScalarFields):
    """Give a dataclass the scalar ``summary()`` and a frame with one row per entry of its arrays.

    The class names its equal-shape array fields in ``frame_arrays`` and the column names of
    their axes in ``frame_axes`` (trailing names are used when the arrays have fewer axes).
    """

    __slots__ = ()
    frame_axes: ClassVar[tuple[str, ...]]
    frame_arrays: ClassVar[tuple[str, ...]]

    def to_frame(self) -> Any:
        """Return one row per entry of the ``frame_arrays`` fields, indexed by ``frame_axes``."""
        arrays = {k: np.asarray(getattr(self, k)) for k in self.frame_arrays}
        shape = next(iter(arrays.values())).shape
        names = self.frame_axes[len(self.frame_axes) - len(shape):]
        return grid_frame({n: np.arange(m) for n, m in zip(names, shape, strict=True)}, **arrays)


class RegretTraces:
    """Run-axis statistics shared by the runners' results.

    Mixed into :class:`mdpkit.bandits.BanditRun` and :class:`mdpkit.learners.OnlineRun`,
    which hold ``regret[run, checkpoint]`` and ``n_runs``.
    """

    __slots__ = ()
    regret: FloatArray

    if TYPE_CHECKING:  # a field of BanditRun, a property of OnlineRun: read-only here

        @property
        def n_runs(self) -> int:
            """Number of independent runs."""

    @property
    def mean_regret(self) -> FloatArray:
        """Mean regret over runs at each checkpoint, shape ``(n_checkpoints,)``."""
        return self.regret.mean(axis=0)

    @property
    def regret_se(self) -> FloatArray:
        """Standard error of :attr:`mean_regret` (needs ``n_runs >= 2``)."""
        if self.n_runs < 2:
            raise ValueError(f"`regret_se` needs n_runs >= 2; this run has n_runs = {self.n_runs}.")
        return self.regret.std(axis=0, ddof=1) / np.sqrt(self.n_runs)

    @property
    def final_regret(self) -> FloatArray:
        """Regret of every run at the last checkpoint, shape ``(n_runs,)``."""
        return self.regret[:, -1]


class LazyQ:
    """A :class:`SolveResult`'s ``Q`` computed on first access by ``compute()`` (one Bellman pass).

    A solver that ends with the greedy policy and ``T V`` without having read every row
    of ``P`` (action elimination) passes ``Q=LazyQ(f)``; reading ``result.Q`` runs ``f``
    once and keeps the array, so the full pass is paid only by a caller who needs ``Q``.
    """

    __slots__ = ("compute",)

    def __init__(self, compute: Callable[[], FloatArray]) -> None:
        self.compute = compute


@dataclass(frozen=True, slots=True, kw_only=True)
class SolveResult:
    r"""Output of a tabular MDP solver.

    Attributes
    ----------
    V : ndarray, shape (S,) or (H+1, S)
        (Regularized) optimal value; finite horizon ``V[h, s]`` with ``V[H] = 0``.
    Q : ndarray, shape (S, A) or (H, S, A)
        :math:`r + \gamma P V`; computed on first access (one Bellman pass) when the
        solver did not read every row of ``P`` (dense modified policy iteration).
    pi : ndarray, shape (S, A) or (H, S, A)
        Optimal (regularized) policy; rows sum to 1.
    converged : bool
        ``status == 0``.
    n_iter : int
        Sweeps (value iteration), improvement steps (policy iteration) or stages.
    residual : float
        Certificate: ``max_s |(T V)(s) - V(s)|`` at exit (0 for backward induction).
    method : str
    status : int (derived from ``converged`` when not given)
        SciPy-style code: 0 converged, 1 iteration limit reached, 2 non-finite values,
        3 rounding floor above ``tol``
        (:data:`SOLVE_STATUS`).
    message : str
        ``SOLVE_STATUS[status]`` unless a solver gives a more specific one.
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
    status: int | None = None
    message: str = ""
    trace: dict[str, Any] | None = field(default=None, repr=False)
    bounds: tuple[FloatArray, FloatArray] | None = field(default=None, repr=False)
    _q_fn: Any = field(default=None, init=False, repr=False, compare=False)

    def __getattr__(self, name: str) -> Any:
        # ``Q`` given as a LazyQ is computed on first access (``__post_init__`` unset the slot)
        fn = object.__getattribute__(self, "_q_fn") if name == "Q" else None
        if fn is None:
            raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")
        Q = fn()
        object.__setattr__(self, "Q", Q)
        object.__setattr__(self, "_q_fn", None)
        return Q

    @property
    def error_bound(self) -> float:
        r"""Certified :math:`\|V - V^*\|_\infty \le \max_s \max(u_s - V_s, V_s - l_s)` from :attr:`bounds`.

        ``0.0`` for finite horizon (backward induction is exact); ``inf`` when no bounds
        are known.
        """
        if self.bounds is None:
            return 0.0 if np.ndim(self.V) == 2 else float("inf")
        lo, hi = self.bounds
        return float(max((hi - self.V).max(), (self.V - lo).max(), 0.0))

    def __post_init__(self) -> None:
        if isinstance(self.Q, LazyQ):  # computed on first access of `Q`
            object.__setattr__(self, "_q_fn", self.Q.compute)
            object.__delattr__(self, "Q")
        if self.status is None:  # derived from `converged` unless a solver names the cause
            object.__setattr__(self, "status", 0 if self.converged else 1)
        if self.status not in SOLVE_STATUS:
            raise ValueError(f"`status` must be one of {sorted(SOLVE_STATUS)}; got {self.status!r}.")
        if self.converged != (self.status == 0):
            raise ValueError(f"`converged` must equal `status == 0`; got converged={self.converged}, "
                             f"status={self.status}.")
        if not self.message:
            object.__setattr__(self, "message", SOLVE_STATUS[int(self.status)])

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
        """Return the policy and values, one row per (stage, state, action) (a pandas DataFrame)."""
        pi = np.asarray(self.pi)
        V = np.asarray(self.V)
        V_sa = np.broadcast_to((V[:-1] if pi.ndim == 3 else V)[..., None], pi.shape)
        return policy_frame(pi=pi, Q=self.Q, V=V_sa)

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

    def summary(self) -> str:
        """One line: method, convergence, iterations, gain and span."""
        state = "converged" if self.converged else "NOT converged"
        return (f"{self.method}: {state} in {self.n_iter} iterations, gain {self.gain:.10g}, "
                f"span {self.span:.6g}")

    def to_frame(self) -> Any:
        """Return the policy, relative values and bias, one row per (state, action) (a pandas DataFrame)."""
        pi = np.asarray(self.pi)
        return policy_frame(pi=pi, Q=self.Q, bias=np.broadcast_to(np.asarray(self.bias)[:, None], pi.shape))
