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

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from .._typing import FloatArray, IntArray, RNGLike
from .._validation import (
    SIMPLEX_ATOL,
    as_float_array,
    as_generator,
    check_discount,
    check_int,
    check_policy,
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
        for finite horizon.
    gamma : float, optional
        Discount, ``0 <= gamma < 1``. Exactly one of ``gamma`` and ``horizon``.
    horizon : int, optional
        Episode length ``H >= 1`` (undiscounted finite horizon).
    mu0 : array_like, shape (S,), optional
        Initial state law; uniform by default.

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
    ) -> None:
        if (gamma is None) == (horizon is None):
            raise ValueError(
                "exactly one of `gamma` (discounted) and `horizon` (finite horizon) must be given; "
                f"got gamma={gamma!r}, horizon={horizon!r}."
            )
        self._gamma = None if gamma is None else check_discount(gamma)
        self._horizon = None if horizon is None else check_int("horizon", horizon, lo=1)
        H = self._horizon

        r_arr = as_float_array("r", r, ndim=(2, 3))
        if r_arr.ndim == 3 and H is None:
            raise ValueError(f"`r` of shape {r_arr.shape} (stage-dependent) needs `horizon`.")
        if r_arr.ndim == 3 and r_arr.shape[0] != H:
            raise ValueError(f"`r` must have shape (H, S, A) with H = horizon = {H}; got {r_arr.shape}.")
        S, A = r_arr.shape[-2:]
        if S < 1 or A < 1:
            raise ValueError(f"`r` must have at least one state and one action; got shape {r_arr.shape}.")

        self._P_dense: FloatArray | None = None
        self._P_csr: sp.csr_matrix | None = None
        if sp.issparse(P):
            csr = sp.csr_matrix(P, dtype=np.float64)
            if csr.shape != (S * A, S):
                raise ValueError(
                    f"sparse `P` must have shape (S*A, S) = {(S * A, S)} to match `r`; got {csr.shape}."
                )
            csr.sum_duplicates()
            csr.sort_indices()
            data = csr.data
            if data.size and not np.all(np.isfinite(data)):
                raise ValueError("`P` must be finite; the sparse matrix has non-finite entries.")
            if data.size and data.min() < 0:
                raise ValueError(f"`P` must have non-negative entries; found {data.min()!r}.")
            sums = np.asarray(csr.sum(axis=1)).ravel()
            bad = np.flatnonzero(np.abs(sums - 1.0) > SIMPLEX_ATOL)
            if bad.size:
                s, a = divmod(int(bad[0]), A)
                raise ValueError(
                    f"`P[{s}, {a}, :]` must sum to 1 (atol={SIMPLEX_ATOL:g}); it sums to {sums[bad[0]]:.12g}."
                )
            for arr in (csr.data, csr.indices, csr.indptr):
                arr.setflags(write=False)
            self._P_csr = csr
        else:
            P_arr = as_float_array("P", P, ndim=(3, 4))
            if P_arr.ndim == 4:
                if H is None:
                    raise ValueError(f"`P` of shape {P_arr.shape} (stage-dependent) needs `horizon`.")
                want: tuple[int, ...] = (H, S, A, S)
            else:
                want = (S, A, S)
            if P_arr.shape != want:
                raise ValueError(f"`P` must have shape {want} to match `r` of shape {r_arr.shape}; got {P_arr.shape}.")
            check_simplex("P", P_arr)
            self._P_dense = _readonly(P_arr)
        if r_arr.ndim == 3 and self._P_dense is None:
            pass  # sparse stationary P with stage-dependent r is fine
        self._r = _readonly(r_arr)
        self._S, self._A = int(S), int(A)
        if mu0 is None:
            m = np.full(S, 1.0 / S)
        else:
            m = as_float_array("mu0", mu0, shape=(S,))
            check_simplex("mu0", m)
        self._mu0 = _readonly(m)

    # -- basic properties -------------------------------------------------------------
    @property
    def n_states(self) -> int:
        return self._S

    @property
    def n_actions(self) -> int:
        return self._A

    @property
    def gamma(self) -> float | None:
        """Discount (``None`` for finite horizon)."""
        return self._gamma

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
        store = "sparse" if self.is_sparse else "dense"
        return f"TabularMDP(n_states={self._S}, n_actions={self._A}, {kind}, {store})"

    # -- policies -----------------------------------------------------------------------
    def check_policy(self, pi: npt.ArrayLike, name: str = "pi") -> FloatArray:
        """Validate ``pi`` for this MDP; returns ``(S, A)`` or ``(H, S, A)`` float64."""
        return check_policy(name, pi, self._S, self._A, self._horizon)

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
        :math:`V_h = r_{\pi,h} + P_{\pi,h} V_{h+1}`, :math:`V_H = 0`, shape ``(H+1, S)``.
        """
        return self._value(self.check_policy(pi))

    def _value(self, p: FloatArray, penalty: FloatArray | None = None) -> FloatArray:
        r"""The one exact policy evaluation, for a validated policy ``p`` and an optional
        per-state ``penalty`` subtracted from :math:`r_\pi` (``(S,)``, or ``(H, S)``); shared
        by :meth:`evaluate` and :func:`mdpkit.policy_evaluation`."""
        if self._horizon is None:
            Ppi = self._transition_matrix(p)
            rpi = (p * self._r).sum(axis=1) - (0.0 if penalty is None else penalty)
            g = self._gamma
            assert g is not None
            if sp.issparse(Ppi):
                M = (sp.identity(self._S, format="csc") - g * Ppi).tocsc()
                return np.asarray(spla.spsolve(M, rpi), dtype=np.float64)
            return np.linalg.solve(np.eye(self._S) - g * Ppi, rpi)
        H = self._horizon
        V = np.zeros((H + 1, self._S))
        pen = np.zeros((0, self._S)) if penalty is None else np.ascontiguousarray(penalty, dtype=np.float64)
        if self._P_dense is not None:               # the compiled recursion (also the learners')
            P4 = self._P_dense if self._P_dense.ndim == 4 else self._P_dense[None]
            r3 = self._r if self._r.ndim == 3 else self._r[None]
            MK.backward_policy_value(P4, r3, np.ascontiguousarray(p), pen, V)
            return V
        for h in range(H - 1, -1, -1):              # sparse stationary P: the same recursion by CSR products
            V[h] = (p[h] * (self.r_at(h) + self._expect(V[h + 1], h))).sum(axis=1)
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
        return np.stack([self.r_at(h) + self._expect(V[h + 1], h) for h in range(self._horizon)])

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
        r3 = self._r if self._r.ndim == 3 else self._r[None]
        states = np.empty((n, T + 1), dtype=np.int64)
        actions = np.empty((n, T), dtype=np.int64)
        rewards = np.empty((n, T))
        MK.simulate_kernel(u, cum_mu0, cum_pi, P_kind, cumP, indptr, indices, cum_data, np.ascontiguousarray(r3),
                         S, A, states, actions, rewards)
        return Trajectories(states, actions, rewards, T)
