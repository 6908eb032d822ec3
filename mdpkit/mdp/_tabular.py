r"""Tabular MDPs: discounted or finite horizon, dense or sparse transitions.

Array convention (DESIGN.md section 2):

========================  ==================================  =========================
math                      code                                shape
========================  ==================================  =========================
P(s' | s, a)              ``P[s, a, s_next]``                 ``(S, A, S)``
P_h(s' | s, a)            ``P[h, s, a, s_next]``              ``(H, S, A, S)``
r(s, a), r_h(s, a)        ``r[s, a]``, ``r[h, s, a]``          ``(S, A)``, ``(H, S, A)``
discount                  ``gamma``                           ``0 <= gamma < 1``
policy                    ``pi[s, a]`` / ``pi[h, s, a]``      rows on the simplex
values                    ``V[s]``, ``Q[s, a]``               finite horizon ``V[h, s]``,
                                                              ``h = 0..H``, ``V[H] = 0``
========================  ==================================  =========================

Sparse transitions are a scipy CSR matrix of shape ``(S*A, S)`` whose row ``s*A + a``
is ``P(. | s, a)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from .._results import as_frame
from .._typing import FloatArray, IntArray, RNGLike
from .._validation import (
    SIMPLEX_ATOL,
    as_float_array,
    as_generator,
    check_discount,
    check_int,
    check_magnitude,
    check_memory,
    check_policy,
    check_scalar,
    check_simplex,
)
from . import _mdp_kernels as MK


def _readonly(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


@dataclass(frozen=True, slots=True)
class Trajectories:
    """Sampled episodes, run axis first.

    Attributes
    ----------
    states : ndarray of int, shape (n_episodes, T + 1)
        ``states[i, t]`` is :math:`s_t` of episode ``i`` (``T = horizon`` or ``n_steps``).
    actions : ndarray of int, shape (n_episodes, T)
    rewards : ndarray, shape (n_episodes, T)
    horizon : int
        ``T``.
    """

    states: IntArray
    actions: IntArray
    rewards: FloatArray
    horizon: int

    @property
    def n_episodes(self) -> int:
        return int(self.states.shape[0])

    @property
    def returns(self) -> FloatArray:
        """Undiscounted return of each episode."""
        return self.rewards.sum(axis=1)

    def summary(self) -> str:
        """One line: episodes, horizon and the mean return with its standard error."""
        ret = self.returns
        se = float(ret.std(ddof=1) / np.sqrt(ret.size)) if ret.size > 1 else float("nan")
        return (f"Trajectories: {self.n_episodes} episodes of {self.horizon} steps, "
                f"mean return {float(ret.mean()):.6g} +- {se:.2g}")

    def to_frame(self) -> Any:
        """Return the trajectories as a pandas DataFrame, one row per step.

        Columns: ``episode``, ``t``, ``state``, ``action``, ``reward``, ``next_state``.
        """
        n, T = self.actions.shape
        ep, t = np.meshgrid(np.arange(n), np.arange(T), indexing="ij")
        return as_frame({"episode": ep.ravel(), "t": t.ravel(), "state": self.states[:, :-1].ravel(),
                         "action": self.actions.ravel(), "reward": self.rewards.ravel(),
                         "next_state": self.states[:, 1:].ravel()})


def _check_gamma_horizon(gamma: float | None, horizon: int | None) -> tuple[float | None, int | None]:
    """Discounted (``gamma`` only), finite horizon (``horizon``, optionally discounted by ``0 <= gamma <= 1``)."""
    if gamma is None and horizon is None:
        raise ValueError("one of `gamma` (discounted) and `horizon` (finite horizon) must be given; "
                         "got neither.")
    if horizon is None:
        return check_discount(gamma), None
    H = check_int("horizon", horizon, lo=1)
    if gamma is None:
        return None, H
    g = check_scalar("gamma", gamma, lo=0.0, hi=1.0)
    return g, H


def _check_terminal(v: npt.ArrayLike, S: int, H: int | None) -> FloatArray:
    if H is None:
        raise ValueError("`terminal_value` needs a finite-horizon MDP (`horizon=`).")
    return as_float_array("terminal_value", v, shape=(S,))


def _is_transition_reward(r: FloatArray, H: int | None) -> bool:
    """``r[s, a, s_next]`` (or ``r[h, s, a, s_next]``) rather than ``r[s, a]`` / ``r[h, s, a]``.

    A 3-D ``r`` is stage-dependent ``r[h, s, a]`` when a horizon is given and its first axis
    has length ``H``; otherwise it is ``r[s, a, s_next]`` (first and last axes equal).
    """
    if r.ndim == 4:
        return True
    if r.ndim == 3 and r.shape[0] == r.shape[2]:
        return H is None or r.shape[0] != H
    return False


def _reduce_transition_reward(r: FloatArray, P_dense: FloatArray | None, P_csr: sp.csr_matrix | None,
                              S: int, A: int, H: int | None) -> FloatArray:
    r"""Exact expected reward :math:`r(s, a) = \sum_{s'} P(s'|s, a)\, r(s, a, s')` (per stage if either is staged)."""
    if r.shape[-3:] != (S, A, S):
        raise ValueError(f"transition-dependent `r` must have shape (S, A, S) = {(S, A, S)} "
                         f"(or (H, S, A, S)); got {r.shape}.")
    as_float_array("r", r)  # finite: the expectation is taken where P > 0 and must be a number
    r4 = r if r.ndim == 4 else r[None]
    if P_csr is not None:
        out = np.stack([np.asarray(P_csr.multiply(r4[h].reshape(S * A, S)).sum(axis=1)).reshape(S, A)
                        for h in range(r4.shape[0])])
    else:
        assert P_dense is not None
        P4 = P_dense if P_dense.ndim == 4 else P_dense[None]
        out = np.einsum("hsat,hsat->hsa", np.broadcast_to(P4, (max(P4.shape[0], r4.shape[0]), S, A, S)),
                        np.broadcast_to(r4, (max(P4.shape[0], r4.shape[0]), S, A, S)))
    if out.shape[0] > 1 and H is None:
        raise ValueError(f"`r` of shape {r.shape} (stage-dependent) needs `horizon`.")
    return np.ascontiguousarray(out[0] if out.shape[0] == 1 else out)


def _index_vector(name: str, x: npt.ArrayLike) -> IntArray:
    a = np.asarray(x)
    if a.ndim != 1 or a.size == 0:
        raise ValueError(f"`{name}` must be a non-empty 1-D array of indices; got shape {a.shape}.")
    if a.dtype.kind not in "iu":
        raise TypeError(f"`{name}` must hold integers; got dtype {a.dtype}.")
    return a.astype(np.int64)


def _check_pairs(s_idx: IntArray, a_idx: IntArray, S: int, A: int) -> None:
    """Check indices: in range, no duplicate pair, every state with a pair."""
    for name, idx, n in (("s_indices", s_idx, S), ("a_indices", a_idx, A)):
        bad = np.flatnonzero((idx < 0) | (idx >= n))
        if bad.size:
            k = int(bad[0])
            raise ValueError(f"`{name}[{k}]` = {int(idx[k])} is out of range; it must lie in [0, {n - 1}]"
                             + (" (S = number of columns of `P`)." if name == "s_indices" else
                                " (`n_actions`)."))
    flat = s_idx * A + a_idx
    order = np.argsort(flat, kind="stable")
    dup = np.flatnonzero(np.diff(flat[order]) == 0)
    if dup.size:
        i, j = int(order[dup[0]]), int(order[dup[0] + 1])
        raise ValueError(f"duplicate state-action pair (s, a) = ({int(s_idx[i])}, {int(a_idx[i])}) "
                         f"at positions {i} and {j} of `s_indices`/`a_indices`.")
    missing = np.setdiff1d(np.arange(S), s_idx)
    if missing.size:
        raise ValueError(f"state {int(missing[0])} has no feasible action: it appears in no pair of "
                         "`s_indices`; every state needs at least one pair.")


def _feasible_rewards(r: FloatArray, action_mask: npt.ArrayLike | None) -> tuple[FloatArray, np.ndarray | None]:
    """Rewards with ``-inf`` at infeasible actions and the feasibility mask (``None`` if all feasible).

    ``r = -inf`` marks an infeasible action (QuantEcon's convention); ``action_mask``
    (boolean, ``True`` = feasible) marks more. NaN and ``+inf`` are errors, and so is a
    state (or stage-state) without a feasible action.
    """
    mask = np.isfinite(r)
    if action_mask is None and mask.all():  # every reward finite: nothing to refuse or mask
        return r, None
    bad = np.isnan(r) | (r == np.inf)
    if np.any(bad):
        idx = [int(i) for i in np.argwhere(bad)[0]]
        raise ValueError(f"`r` must be finite (or -inf for an infeasible action); `r{idx}` = {r[tuple(idx)]!r}.")
    if action_mask is not None:
        m = np.asarray(action_mask)
        if m.dtype != np.bool_:
            raise TypeError(f"`action_mask` must be a boolean array (True = feasible); got dtype {m.dtype}.")
        if m.shape not in (r.shape, r.shape[-2:]):
            raise ValueError(f"`action_mask` must have shape {r.shape[-2:]} (or {r.shape}); got {m.shape}.")
        mask = mask & m
    if mask.all():
        return r, None
    empty = ~mask.any(axis=-1)
    if np.any(empty):
        idx = [int(i) for i in np.argwhere(empty)[0]]
        where = f"state {idx[-1]}" + (f" at stage {idx[0]}" if len(idx) == 2 else "")
        row = ", ".join([*map(str, idx), ":"])
        raise ValueError(f"{where} has no feasible action: every entry of `r[{row}]` is -inf or masked by "
                         "`action_mask`; give it at least one feasible action (e.g. a self-loop).")
    r = np.ascontiguousarray(np.where(mask, r, -np.inf))
    return r, np.ascontiguousarray(np.broadcast_to(mask, r.shape))


def _never_feasible(mask: np.ndarray | None) -> np.ndarray | None:
    """``(S, A)`` pairs infeasible at every stage (their transition rows may be all zero)."""
    if mask is None:
        return None
    return np.asarray(~mask if mask.ndim == 2 else ~mask.any(axis=0), dtype=bool)


def _fill_infeasible_rows(P: FloatArray, mask: np.ndarray | None) -> FloatArray:
    """Replace all-zero rows of never-feasible pairs by a self-loop (they never matter)."""
    never = _never_feasible(mask)
    if never is None:
        return P
    zero = (P.sum(axis=-1) == 0.0) & never
    if not np.any(zero):
        return P
    P = P.copy()
    idx = np.argwhere(zero)
    P[(*idx.T, idx[:, -2])] = 1.0
    return P


def _checked_csr(P: sp.spmatrix | sp.sparray, S: int, A: int, mask: np.ndarray | None) -> sp.csr_matrix:
    """Validate a CSR ``(S*A, S)``: finite, non-negative, rows summing to 1 (empty infeasible rows: self-loops)."""
    csr = sp.csr_matrix(P, dtype=np.float64)
    if csr.shape != (S * A, S):
        raise ValueError(f"sparse `P` must have shape (S*A, S) = {(S * A, S)} to match `r`; got {csr.shape}.")
    csr.sum_duplicates()
    data = csr.data
    if data.size and not np.all(np.isfinite(data)):
        raise ValueError("`P` must be finite; the sparse matrix has non-finite entries.")
    if data.size and data.min() < 0:
        raise ValueError(f"`P` must have non-negative entries; found {data.min()!r}.")
    sums = np.asarray(csr.sum(axis=1)).ravel()
    never = _never_feasible(mask)
    if never is not None:
        empty = np.flatnonzero((sums == 0.0) & never.ravel())
        if empty.size:
            csr = (csr + sp.csr_matrix((np.ones(empty.size), (empty, empty // A)), shape=csr.shape)).tocsr()
            sums[empty] = 1.0
    csr.sort_indices()
    bad = np.flatnonzero(np.abs(sums - 1.0) > SIMPLEX_ATOL)
    if bad.size:
        s, a = divmod(int(bad[0]), A)
        raise ValueError(f"`P[{s}, {a}, :]` must sum to 1 (atol={SIMPLEX_ATOL:g}); it sums to {sums[bad[0]]:.12g}.")
    for arr in (csr.data, csr.indices, csr.indptr):
        arr.setflags(write=False)
    return csr


class TabularMDP:
    r"""A finite MDP :math:`(\mathcal S, \mathcal A, P, r, \gamma \text{ or } H, \mu_0)`.

    Parameters
    ----------
    P : array_like or scipy.sparse matrix
        Transitions: dense ``P[s, a, s_next]`` of shape ``(S, A, S)``; for finite horizon
        also stage-dependent ``P[h, s, a, s_next]`` of shape ``(H, S, A, S)``; or a scipy
        sparse matrix of shape ``(S*A, S)`` (row ``s*A + a``). Rows must lie on the
        simplex within ``1e-10``.
    r : array_like
        Rewards ``r[s, a]`` of shape ``(S, A)``, or ``r[h, s, a]`` of shape ``(H, S, A)``
        for finite horizon. Transition-dependent rewards ``r[s, a, s_next]`` (shape
        ``(S, A, S)``, or ``(H, S, A, S)``) are reduced exactly to the expected reward
        :math:`r(s, a) = \sum_{s'} P(s'|s, a)\, r(s, a, s')`; a 3-D ``r`` whose first axis
        equals the horizon is read as ``r[h, s, a]``.
    gamma : float, optional
        Discount, ``0 <= gamma < 1`` (infinite horizon); with ``horizon`` a per-step
        discount ``0 <= gamma <= 1`` of the finite-horizon problem (default 1).
    horizon : int, optional
        Episode length ``H >= 1`` (finite horizon). At least one of ``gamma`` and
        ``horizon``.
    mu0 : array_like, shape (S,), optional
        Initial state law; uniform by default.
    action_mask : array_like of bool, shape (S, A) or like ``r``, optional
        ``True`` where an action is feasible. Rewards of ``-inf`` mark infeasible actions
        too (QuantEcon's convention); ``r`` is stored with ``-inf`` at every infeasible
        pair. Every solver, the soft max (the mask is removed from ``pi_ref``'s support,
        which is renormalized on the feasible actions), the robust operators, ``evaluate``
        and ``simulate`` respect it; a policy with mass on an infeasible action and a state
        without a feasible action are errors. Transition rows of never-feasible pairs may
        be all zero.
    terminal_value : array_like, shape (S,), optional
        Finite horizon: the value :math:`V_H` collected at the end (QuantEcon's
        ``backward_induction(v_term=...)``, pymdptoolbox's ``FiniteHorizon(..., h)``);
        zeros by default.

    Examples
    --------
    >>> import numpy as np
    >>> P = np.array([[[1.0, 0.0], [0.0, 1.0]], [[0.0, 1.0], [0.0, 1.0]]])
    >>> r = np.array([[0.0, 1.0], [2.0, 2.0]])
    >>> mdp = TabularMDP(P, r, gamma=0.5)
    >>> mdp.n_states, mdp.n_actions, mdp.is_finite_horizon
    (2, 2, False)
    >>> mdp.evaluate(np.array([1, 0]))     # V(1) = 2/(1-0.5) = 4, V(0) = 1 + 0.5*4 = 3
    array([3., 4.])
    """

    def __init__(
        self,
        P: npt.ArrayLike | sp.spmatrix | sp.sparray,
        r: npt.ArrayLike,
        *,
        gamma: float | None = None,
        horizon: int | None = None,
        mu0: npt.ArrayLike | None = None,
        action_mask: npt.ArrayLike | None = None,
        terminal_value: npt.ArrayLike | None = None,
    ) -> None:
        self._gamma, self._horizon = _check_gamma_horizon(gamma, horizon)
        H = self._horizon
        r_raw = as_float_array("r", r, ndim=(2, 3, 4), finite=False)
        trans = _is_transition_reward(r_raw, H)
        # transition-dependent r[..., s, a, s_next]: shapes and mask from a placeholder, reduced below
        r_arr = np.zeros(r_raw.shape[:-1]) if trans else r_raw
        if r_arr.ndim == 4:
            raise ValueError(f"`r` must have shape (S, A), (H, S, A), (S, A, S) or (H, S, A, S); got {r_raw.shape}.")
        if r_arr.ndim == 3 and H is None:
            raise ValueError(f"`r` of shape {r_arr.shape} (stage-dependent) needs `horizon`.")
        if r_arr.ndim == 3 and r_arr.shape[0] != H:
            raise ValueError(f"`r` must have shape (H, S, A) with H = horizon = {H}; got {r_arr.shape}.")
        S, A = r_arr.shape[-2:]
        if S < 1 or A < 1:
            raise ValueError(f"`r` must have at least one state and one action; got shape {r_arr.shape}.")
        r_arr, mask = _feasible_rewards(r_arr, action_mask)
        _check_value_range(r_arr, self._gamma, H)
        self._P_dense: FloatArray | None = None
        self._P_csr: sp.csr_matrix | None = None
        if sp.issparse(P):
            self._P_csr = _checked_csr(P, S, A, mask)
        else:
            P_arr = as_float_array("P", P, ndim=(3, 4))
            if P_arr.ndim == 4 and H is None:
                raise ValueError(f"`P` of shape {P_arr.shape} (stage-dependent) needs `horizon`.")
            want = (H, S, A, S) if P_arr.ndim == 4 else (S, A, S)
            if P_arr.shape != want:
                raise ValueError(f"`P` must have shape {want} to match `r` of shape {r_arr.shape}; got {P_arr.shape}.")
            P_arr = _fill_infeasible_rows(P_arr, mask)
            check_simplex("P", P_arr)
            self._P_dense = _readonly(P_arr)
        if trans:
            r_arr = _reduce_transition_reward(r_raw, self._P_dense, self._P_csr, S, A, H)
            mask = None if mask is None else np.ascontiguousarray(np.broadcast_to(mask, r_arr.shape))
            r_arr = r_arr if mask is None else np.where(mask, r_arr, -np.inf)
        self._r = _readonly(r_arr)
        self._mask = None if mask is None else _readonly(mask)
        self._r_finite = self._r if mask is None else _readonly(np.where(mask, r_arr, 0.0))
        self._terminal = _readonly(np.zeros(S) if terminal_value is None else _check_terminal(terminal_value, S, H))
        self._sa_pairs: tuple[IntArray, IntArray] | None = None
        self._S, self._A = int(S), int(A)
        if mu0 is None:
            m = np.full(S, 1.0 / S)
        else:
            m = as_float_array("mu0", mu0, shape=(S,))
            check_simplex("mu0", m)
        self._mu0 = _readonly(m)

    # -- state-action-pair form -----------------------------------------------------------
    @classmethod
    def from_sa_pairs(
        cls,
        s_indices: npt.ArrayLike,
        a_indices: npt.ArrayLike,
        P: npt.ArrayLike | sp.spmatrix | sp.sparray,
        r: npt.ArrayLike,
        *,
        n_actions: int | None = None,
        **kwargs: object,
    ) -> TabularMDP:
        r"""Build from feasible state-action pairs (QuantEcon's ``s_indices``/``a_indices`` form).

        Pair ``k`` is :math:`(s_k, a_k)` with transition row ``P[k, :]`` (shape ``(L, S)``,
        dense or sparse) and reward ``r[k]``; pairs may come in any order. Actions absent
        from a state are infeasible (``r = -inf``, see ``action_mask``), so states may have
        different action sets. ``n_actions`` defaults to ``max(a_indices) + 1``; other
        keywords (``gamma``, ``horizon``, ``mu0``, ``terminal_value``) go to the constructor.
        Duplicate pairs, indices out of range and states without a pair are errors.

        Examples
        --------
        >>> import numpy as np, mdpkit as mk
        >>> mdp = mk.TabularMDP.from_sa_pairs([0, 0, 1], [0, 1, 0], [[1, 0], [0, 1], [0, 1]],
        ...                                   [0.0, 1.0, 2.0], gamma=0.5)
        >>> mdp.action_mask.tolist()
        [[True, True], [True, False]]
        >>> res = mk.solve(mdp)
        >>> res.V, mdp.pair_values(res.Q)       # Q at the pairs, in (s, a) order
        (array([3., 4.]), array([1.5, 3. , 4. ]))
        """
        s_idx = _index_vector("s_indices", s_indices)
        a_idx = _index_vector("a_indices", a_indices)
        L = s_idx.shape[0]
        if a_idx.shape[0] != L:
            raise ValueError(f"`s_indices` and `a_indices` must have the same length; got {L} and {a_idx.shape[0]}.")
        sparse = sp.issparse(P)
        P2 = sp.csr_matrix(P, dtype=np.float64) if sparse else as_float_array("P", P, ndim=2)
        if P2.shape[0] != L:
            raise ValueError(f"`P` must have one row per pair: shape (L, S) with L = {L}; got {P2.shape}.")
        r1 = as_float_array("r", r, shape=(L,), finite=False)
        S = int(P2.shape[1])
        A = int(a_idx.max()) + 1 if n_actions is None else check_int("n_actions", n_actions, lo=1)
        _check_pairs(s_idx, a_idx, S, A)
        flat = s_idx * A + a_idx
        r_full = np.full(S * A, -np.inf)
        r_full[flat] = r1
        if sp.issparse(P2):
            coo = sp.coo_matrix(P2)
            P_full = sp.csr_matrix((coo.data, (flat[coo.row], coo.col)), shape=(S * A, S))
        else:
            P_full = np.zeros((S * A, S))
            P_full[flat] = P2
            P_full = P_full.reshape(S, A, S)
        mask = np.zeros(S * A, dtype=bool)
        mask[flat] = True
        mdp = cls(P_full, r_full.reshape(S, A), action_mask=mask.reshape(S, A), **kwargs)  # type: ignore[arg-type]
        return mdp

    def to_sa_pairs(self) -> tuple[IntArray, IntArray, sp.csr_matrix, FloatArray]:
        """``(s_indices, a_indices, P, r)`` over the feasible pairs, sorted by ``(s, a)``.

        ``P`` is CSR of shape ``(L, S)``, ``r`` has shape ``(L,)`` (stationary models).
        :meth:`from_sa_pairs` of the output rebuilds the same MDP.

        >>> import mdpkit as mk
        >>> s, a, P, r = mk.puterman_example(0.5).to_sa_pairs()
        >>> s.tolist(), a.tolist(), r.tolist()
        ([0, 0, 1, 1], [0, 1, 0, 1], [5.0, 10.0, -1.0, -1.0])
        """
        if not self.is_stationary:
            raise NotImplementedError("`to_sa_pairs` is defined for stationary models (P[s, a, s'], r[s, a]).")
        s_idx, a_idx = self._pairs()
        rows = s_idx * self._A + a_idx
        return s_idx, a_idx, self.P_csr[rows], np.ascontiguousarray(self._r[s_idx, a_idx])

    def pair_values(self, X: npt.ArrayLike) -> FloatArray:
        """Return an ``(S, A)`` (or ``(H, S, A)``) array such as ``Q`` or ``pi`` read at the feasible pairs.

        Order of :meth:`to_sa_pairs` (sorted by ``(s, a)``); shape ``(L,)`` or ``(H, L)``.
        """
        Xa = as_float_array("X", X, finite=False)
        if Xa.shape[-2:] != (self._S, self._A):
            raise ValueError(f"`X` must have shape (..., S, A) = (..., {self._S}, {self._A}); got {Xa.shape}.")
        s_idx, a_idx = self._pairs()
        return np.ascontiguousarray(Xa[..., s_idx, a_idx])

    def _pairs(self) -> tuple[IntArray, IntArray]:
        m = self.action_mask
        m2 = m if m.ndim == 2 else m.any(axis=0)
        s_idx, a_idx = np.nonzero(m2)
        return s_idx.astype(np.int64), a_idx.astype(np.int64)

    # -- basic properties -------------------------------------------------------------
    @property
    def n_states(self) -> int:
        return self._S

    @property
    def n_actions(self) -> int:
        return self._A

    @property
    def gamma(self) -> float | None:
        """Discount (``None`` for an undiscounted finite-horizon problem)."""
        return self._gamma

    @property
    def terminal_value(self) -> FloatArray:
        """Finite horizon: the value ``V_H`` received at the end (zeros by default)."""
        return self._terminal

    @property
    def horizon(self) -> int | None:
        """Horizon ``H`` (``None`` for discounted problems)."""
        return self._horizon

    @property
    def is_finite_horizon(self) -> bool:
        return self._horizon is not None

    @property
    def is_sparse(self) -> bool:
        return self._P_csr is not None

    @property
    def is_stationary(self) -> bool:
        """True when neither ``P`` nor ``r`` depends on the stage."""
        return self._r.ndim == 2 and (self._P_dense is None or self._P_dense.ndim == 3)

    @property
    def r(self) -> FloatArray:
        return self._r

    @property
    def mu0(self) -> FloatArray:
        return self._mu0

    @property
    def action_mask(self) -> np.ndarray:
        """Boolean feasibility mask, the shape of ``r`` (all ``True`` without infeasible actions)."""
        if self._mask is None:
            return _readonly(np.ones(self._r.shape, dtype=bool))
        return self._mask

    @property
    def has_infeasible_actions(self) -> bool:
        """True when some action is infeasible (``r = -inf`` or masked)."""
        return self._mask is not None

    @property
    def P(self) -> FloatArray:
        """Dense transitions (densified on request if stored sparse)."""
        if self._P_dense is not None:
            return self._P_dense
        assert self._P_csr is not None
        return _readonly(self._P_csr.toarray().reshape(self._S, self._A, self._S))

    @property
    def P_csr(self) -> sp.csr_matrix:
        """Transitions as CSR of shape ``(S*A, S)`` (stationary models only)."""
        if self._P_csr is not None:
            return self._P_csr
        assert self._P_dense is not None
        if self._P_dense.ndim == 4:
            raise NotImplementedError("`P_csr` is defined for stationary transitions only.")
        return sp.csr_matrix(self._P_dense.reshape(self._S * self._A, self._S))

    def P_at(self, h: int = 0) -> FloatArray:
        """Dense ``P_h`` of shape ``(S, A, S)`` (the same for every ``h`` if stationary)."""
        P = self.P
        return P[h] if P.ndim == 4 else P

    def r_at(self, h: int = 0) -> FloatArray:
        """``r_h`` of shape ``(S, A)``."""
        return self._r[h] if self._r.ndim == 3 else self._r

    def __repr__(self) -> str:
        kind = f"gamma={self._gamma}" if self._horizon is None else f"horizon={self._horizon}"
        if self._horizon is not None and self._gamma is not None:
            kind += f", gamma={self._gamma}"
        store = "sparse" if self.is_sparse else "dense"
        return f"TabularMDP(n_states={self._S}, n_actions={self._A}, {kind}, {store})"

    # -- policies -----------------------------------------------------------------------
    def check_policy(self, pi: npt.ArrayLike, name: str = "pi") -> FloatArray:
        """Validate ``pi`` for this MDP; returns ``(S, A)`` or ``(H, S, A)`` float64.

        A policy with positive mass on an infeasible action is an error.
        """
        p = check_policy(name, pi, self._S, self._A, self._horizon)
        if self._mask is not None:
            bad = (p > 0) & ~self._mask
            if np.any(bad):
                idx = [int(i) for i in np.argwhere(bad)[0]]
                raise ValueError(f"`{name}` must put no mass on infeasible actions; `{name}{idx}` = "
                                 f"{p[tuple(idx)]!r} but that action is infeasible (r = -inf or masked).")
        return p

    def transition_matrix(self, pi: npt.ArrayLike, h: int = 0) -> sp.csr_matrix | FloatArray:
        r"""State-to-state kernel of a policy, :math:`P_\pi[s, s'] = \sum_a \pi(a|s) P_h(s'|s, a)`.

        Dense ``(S, S)`` array for dense models, CSR for sparse ones. Deterministic
        policies select rows (no arithmetic); stochastic ones use one batched matrix
        product per state.

        >>> import mdpkit as mk
        >>> mk.puterman_example().transition_matrix([[1.0, 0.0], [1.0, 0.0]])
        array([[0.5, 0.5],
               [0. , 1. ]])
        """
        p = self.check_policy(pi, name="pi")
        return self._transition_matrix(p[h] if p.ndim == 3 else p, h)

    def _transition_matrix(self, pi_h: FloatArray, h: int = 0) -> sp.csr_matrix | FloatArray:
        S, A = self._S, self._A
        det = np.all((pi_h == 0.0) | (pi_h == 1.0))
        if self._P_csr is not None:
            if det:
                return self._P_csr[np.arange(S) * A + np.argmax(pi_h, axis=1)]
            W = sp.csr_matrix((pi_h.ravel(), (np.repeat(np.arange(S), A), np.arange(S * A))), shape=(S, S * A))
            return (W @ self._P_csr).tocsr()
        P = self.P_at(h)
        if det:
            return np.ascontiguousarray(P[np.arange(S), np.argmax(pi_h, axis=1)])
        return np.matmul(pi_h[:, None, :], P)[:, 0, :]

    # -- evaluation ---------------------------------------------------------------------
    def evaluate(self, pi: npt.ArrayLike) -> FloatArray:
        r"""Exact value of ``pi``.

        Discounted: :math:`V^\pi = (I - \gamma P_\pi)^{-1} r_\pi` by a direct (sparse)
        linear solve. Finite horizon: backward recursion
        :math:`V_h = r_{\pi,h} + \gamma P_{\pi,h} V_{h+1}` (:math:`\gamma = 1` unless given),
        :math:`V_H` = ``terminal_value`` (zeros by default), shape ``(H+1, S)``.
        """
        return self._value(self.check_policy(pi))

    def _value(self, p: FloatArray, penalty: FloatArray | None = None) -> FloatArray:
        r"""Evaluate a validated policy ``p`` exactly (the one policy evaluation).

        An optional per-state ``penalty`` is subtracted from :math:`r_\pi` (``(S,)``, or ``(H, S)``); shared
        by :meth:`evaluate` and :func:`mdpkit.policy_evaluation`.
        """
        if self._horizon is None:
            Ppi = self._transition_matrix(p)
            rpi = (p * self._r_finite).sum(axis=1) - (0.0 if penalty is None else penalty)
            g = self._gamma
            assert g is not None
            if sp.issparse(Ppi):
                M = (sp.identity(self._S, format="csc") - g * Ppi).tocsc()
                return np.asarray(spla.spsolve(M, rpi), dtype=np.float64)
            return np.linalg.solve(np.eye(self._S) - g * Ppi, rpi)
        H = self._horizon
        V = np.zeros((H + 1, self._S))
        V[H] = self._terminal
        g = 1.0 if self._gamma is None else self._gamma
        r_fin = self._r_finite if self._r_finite.ndim == 3 else self._r_finite[None]
        pen = np.zeros((0, self._S)) if penalty is None else np.ascontiguousarray(penalty, dtype=np.float64)
        if self._P_dense is not None:               # the compiled recursion (also the learners')
            P4 = self._P_dense if self._P_dense.ndim == 4 else self._P_dense[None]
            MK.backward_policy_value(P4, np.ascontiguousarray(r_fin), np.ascontiguousarray(p), pen, g, V)
            return V
        for h in range(H - 1, -1, -1):              # sparse stationary P: the same recursion by CSR products
            Q = r_fin[-1 if r_fin.shape[0] == 1 else h] + g * self._expect(V[h + 1], h)
            V[h] = (p[h] * Q).sum(axis=1)
            if pen.shape[0]:
                V[h] -= pen[h]
        return V

    def _expect(self, V: FloatArray, h: int = 0) -> FloatArray:
        """``(P V)[s, a] = sum_s' P_h(s'|s,a) V(s')``."""
        if self._P_csr is not None:
            return (self._P_csr @ V).reshape(self._S, self._A)
        return self.P_at(h) @ V

    def q_values(self, pi: npt.ArrayLike) -> FloatArray:
        r""":math:`Q^\pi = r + \gamma P V^\pi` (shape ``(S, A)``), or ``(H, S, A)`` for finite horizon."""
        V = self.evaluate(pi)
        if self._horizon is None:
            assert self._gamma is not None
            return self._r + self._gamma * self._expect(V)
        g = 1.0 if self._gamma is None else self._gamma
        return np.stack([self.r_at(h) + g * self._expect(V[h + 1], h) for h in range(self._horizon)])

    def occupancy(self, pi: npt.ArrayLike) -> FloatArray:
        r"""State-action occupancy measure of ``pi`` from ``mu0``.

        Discounted (normalized): :math:`d(s,a) = (1-\gamma)\sum_t \gamma^t
        \Pr(s_t = s, a_t = a)`, solving :math:`(I - \gamma P_\pi^\top) d_S = (1-\gamma)\mu_0`;
        sums to 1 and satisfies :math:`\langle d, r\rangle = (1-\gamma)\,\mu_0^\top V^\pi`.
        Finite horizon: :math:`d_h(s,a) = \Pr(s_h = s, a_h = a)`, shape ``(H, S, A)``, each
        stage summing to 1, with :math:`\sum_h \langle d_h, r_h\rangle = \mu_0^\top V^\pi_0`.
        """
        p = self.check_policy(pi)
        if self._horizon is None:
            g = self._gamma
            assert g is not None
            Ppi = self._transition_matrix(p)
            b = (1.0 - g) * self._mu0
            if sp.issparse(Ppi):
                M = (sp.identity(self._S, format="csc") - g * Ppi.T).tocsc()
                dS = np.asarray(spla.spsolve(M, b), dtype=np.float64)
            else:
                dS = np.asarray(np.linalg.solve(np.eye(self._S) - g * Ppi.T, b), dtype=np.float64)
            return dS[:, None] * p
        H = self._horizon
        d = np.empty((H, self._S, self._A))
        dS = self._mu0.copy()
        for h in range(H):
            d[h] = dS[:, None] * p[h]
            if h + 1 < H:
                if self._P_csr is not None:
                    dS = np.asarray(self._P_csr.T @ d[h].ravel()).ravel()
                else:
                    dS = np.einsum("sa,sat->t", d[h], self.P_at(h))
        return d

    # -- simulation ---------------------------------------------------------------------
    def simulate(
        self,
        pi: npt.ArrayLike,
        n_episodes: int,
        *,
        rng: RNGLike = None,
        n_steps: int | None = None,
    ) -> Trajectories:
        """Sample ``n_episodes`` episodes of ``pi`` from ``mu0``.

        Finite horizon: ``horizon`` steps with the stage-dependent policy. Discounted:
        ``n_steps`` steps (required), the discount being left to the caller.

        Examples
        --------
        >>> import mdpkit as mk
        >>> mdp = mk.random_mdp(n_states=4, n_actions=2, horizon=3, rng=0)
        >>> tr = mdp.simulate(mk.uniform_policy(mdp), n_episodes=5, rng=1)
        >>> tr.states.shape, tr.actions.shape
        ((5, 4), (5, 3))
        """
        p = self.check_policy(pi)
        n = check_int("n_episodes", n_episodes, lo=1)
        if self._horizon is None:
            if n_steps is None:
                raise ValueError("`n_steps` is required to simulate a discounted MDP.")
            T = check_int("n_steps", n_steps, lo=1)
            p_stages = p[None]
        else:
            if n_steps is not None and n_steps != self._horizon:
                raise ValueError(f"`n_steps` must equal the horizon {self._horizon} if given; got {n_steps}.")
            T = self._horizon
            p_stages = p
        check_memory(f"simulating {n} episodes of {T} steps", 6 * n * (T + 1),
                     hint="Simulate fewer episodes at a time.")
        gen = as_generator(rng)
        u = gen.random((n, T, 3))
        cum_mu0 = np.cumsum(self._mu0)
        cum_pi = np.ascontiguousarray(np.cumsum(p_stages, axis=-1))
        S, A = self._S, self._A
        if self._P_csr is not None:
            csr = self._P_csr
            cum_data = np.empty_like(csr.data)
            MK.row_cumsum(csr.indptr, csr.data, cum_data)
            P_kind = 1
            cumP = np.zeros((1, 1, 1, 1))
            indptr, indices = csr.indptr.astype(np.int64), csr.indices.astype(np.int64)
        else:
            assert self._P_dense is not None
            P4 = self._P_dense if self._P_dense.ndim == 4 else self._P_dense[None]
            cumP = np.ascontiguousarray(np.cumsum(P4, axis=-1))
            P_kind = 0
            indptr = indices = np.zeros(1, dtype=np.int64)
            cum_data = np.zeros(1)
        r3 = self._r_finite if self._r_finite.ndim == 3 else self._r_finite[None]
        states = np.empty((n, T + 1), dtype=np.int64)
        actions = np.empty((n, T), dtype=np.int64)
        rewards = np.empty((n, T))
        MK.simulate_kernel(u, cum_mu0, cum_pi, P_kind, cumP, indptr, indices, cum_data, np.ascontiguousarray(r3),
                         S, A, states, actions, rewards)
        return Trajectories(states, actions, rewards, T)


VALUE_BOUND = 1e300  # values (sums of rewards) must stay below this to be finite in float64


def _check_value_range(r: FloatArray, gamma: float | None, horizon: int | None) -> None:
    """Refuse rewards whose values ``|r| / (1 - gamma)`` or ``H |r|`` would overflow."""
    n_terms = horizon if horizon is not None else 1.0 / (1.0 - float(gamma))  # type: ignore[arg-type]
    if np.abs(r).max() <= VALUE_BOUND / n_terms:  # one pass; -inf (infeasible) takes the exact test below
        return
    check_magnitude("r", np.where(np.isfinite(r), r, 0.0), VALUE_BOUND / n_terms,  # -inf: infeasible
                    f"values up to |r|max * {'H' if horizon is not None else '1/(1-gamma)'} must stay "
                    f"below {VALUE_BOUND:g} to be finite in float64")
