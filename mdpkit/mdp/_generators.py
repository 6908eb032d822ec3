"""Generators and classic instances of tabular MDPs."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from .._typing import FloatArray, RNGLike
from .._validation import as_float_array, as_generator, check_int, check_scalar
from ._tabular import TabularMDP


def _kind(gamma: float | None, horizon: int | None) -> dict[str, Any]:
    if gamma is None and horizon is None:
        raise ValueError("one of `gamma` and `horizon` must be given.")
    return {"gamma": gamma, "horizon": horizon}


def uniform_policy(mdp: TabularMDP) -> FloatArray:
    """Return the uniform policy, shape ``(S, A)`` (discounted) or ``(H, S, A)`` (finite horizon).

    >>> import mdpkit as mk
    >>> mk.uniform_policy(mk.random_mdp(n_states=3, n_actions=4, gamma=0.9, rng=0))[0]
    array([0.25, 0.25, 0.25, 0.25])
    """
    shape: tuple[int, ...] = (mdp.n_states, mdp.n_actions)
    if mdp.horizon is not None:
        shape = (mdp.horizon, *shape)
    return np.full(shape, 1.0 / mdp.n_actions)


def random_mdp(
    n_states: int,
    n_actions: int,
    *,
    gamma: float | None = None,
    horizon: int | None = None,
    rng: RNGLike = None,
    n_successors: int | None = None,
    concentration: float = 1.0,
    stationary: bool = True,
    sparse: bool = False,
) -> TabularMDP:
    r"""Random MDP with Dirichlet transition rows and uniform rewards in ``[0, 1]``.

    Parameters
    ----------
    n_states, n_actions : int
    gamma, horizon : optional
        Exactly one: discounted or finite-horizon problem.
    rng : int, Generator or None
    n_successors : int, optional
        If given, each row has exactly this many successors (chosen uniformly without
        replacement), the Dirichlet law living on them (sparse rows).
    concentration : float
        Dirichlet concentration :math:`\alpha > 0` (small = peaked rows).
    stationary : bool
        For finite horizon, ``False`` draws a different ``P_h``, ``r_h`` per stage.
    sparse : bool
        Store ``P`` as CSR ``(S*A, S)`` (stationary only).

    Examples
    --------
    >>> mdp = random_mdp(n_states=50, n_actions=4, gamma=0.95, rng=0)
    >>> mdp.P.shape, bool(np.allclose(mdp.P.sum(-1), 1))
    ((50, 4, 50), True)
    """
    S = check_int("n_states", n_states, lo=1)
    A = check_int("n_actions", n_actions, lo=1)
    alpha = check_scalar("concentration", concentration, lo=0.0, lo_inclusive=False)
    kind = _kind(gamma, horizon)
    gen = as_generator(rng)
    k = S if n_successors is None else check_int("n_successors", n_successors, lo=1, hi=S)
    n_stages = 1 if (stationary or horizon is None) else check_int("horizon", horizon, lo=1)
    if sparse and n_stages > 1:
        raise NotImplementedError("sparse storage is for stationary transitions only.")

    def draw_P() -> FloatArray:
        P = np.zeros((S, A, S))
        w = gen.dirichlet(np.full(k, alpha), size=(S, A))
        if k == S:
            return w
        for s in range(S):
            for a in range(A):
                P[s, a, gen.choice(S, size=k, replace=False)] = w[s, a]
        return P

    if n_stages == 1:
        P = draw_P()
        r = gen.random((S, A))
    else:
        P = np.stack([draw_P() for _ in range(n_stages)])
        r = gen.random((n_stages, S, A))
    if sparse:
        return TabularMDP(sp.csr_matrix(P.reshape(S * A, S)), r, **kind)
    return TabularMDP(P, r, **kind)


def chain_mdp(
    n_states: int,
    *,
    gamma: float | None = None,
    horizon: int | None = None,
    slip: float = 0.1,
    sparse: bool = True,
    n_actions: int = 4,
) -> TabularMDP:
    r"""Banded slow-mixing chain: actions move ``-1, 0, +1, +2`` states (clipped at the ends).

    With probability ``slip`` the move fails and the agent drifts one state left.
    Reward 1 in the right-most state, 0 elsewhere. Value iteration needs about
    :math:`S` sweeps before the reward propagates back, which makes it a benchmark
    where random dense MDPs (which mix in one step) say nothing.

    >>> mdp = chain_mdp(10, gamma=0.9)
    >>> mdp.n_states, mdp.n_actions, mdp.is_sparse
    (10, 4, True)
    """
    S = check_int("n_states", n_states, lo=2)
    A = check_int("n_actions", n_actions, lo=1, hi=4)
    p = check_scalar("slip", slip, lo=0.0, hi=1.0)
    moves = (-1, 0, 1, 2)[:A]
    rows, cols, vals = [], [], []
    for s in range(S):
        left = max(s - 1, 0)
        for a, m in enumerate(moves):
            t = min(max(s + m, 0), S - 1)
            i = s * A + a
            rows += [i, i]
            cols += [t, left]
            vals += [1.0 - p, p]
    P = sp.csr_matrix((vals, (rows, cols)), shape=(S * A, S))
    r = np.zeros((S, A))
    r[S - 1, :] = 1.0
    kind = _kind(gamma, horizon)
    return TabularMDP(P if sparse else P.toarray().reshape(S, A, S), r, **kind)


def banded_chain(
    n_states: int = 1500,
    n_actions: int = 4,
    *,
    band: int = 7,
    gamma: float | None = None,
    horizon: int | None = None,
    left_reward: float = 0.5,
    right_reward: float = 1.0,
    sparse: bool = True,
) -> TabularMDP:
    r"""Banded slow-mixing chain with rewards at both ends (a solver benchmark).

    Every transition stays within ``h = band // 2`` states: action ``a`` has drift
    :math:`m_a`, evenly spaced in ``[-(h-1), h-1]`` (``-2, -2/3, 2/3, 2`` for ``A = 4``,
    ``band = 7``), and

    .. math::

        P(s' \mid s, a) \propto 2^{-|s' - s - m_a|}, \qquad |s' - s| \le h,

    where mass that would leave ``[0, S-1]`` stays at the nearest end. Reward
    ``left_reward`` in state 0 and ``right_reward`` in state ``S-1`` (any action), 0
    elsewhere. Information travels at most ``h`` states per step, so value iteration
    needs on the order of ``S / h`` sweeps before the ends are felt in the middle
    (slow mixing), while ``P`` has bandwidth ``h``.

    Examples
    --------
    >>> m = banded_chain(20, gamma=0.9)
    >>> m.n_states, m.n_actions, m.P_csr.nnz <= 20 * 4 * 7
    (20, 4, True)
    >>> bool(abs(m.P_csr.sum(axis=1) - 1).max() < 1e-12)
    True
    """
    S = check_int("n_states", n_states, lo=2)
    A = check_int("n_actions", n_actions, lo=1)
    w = check_int("band", band, lo=3)
    lr = check_scalar("left_reward", left_reward)
    rr = check_scalar("right_reward", right_reward)
    kind = _kind(gamma, horizon)
    h = w // 2
    drifts = np.linspace(-(h - 1), h - 1, A) if A > 1 else np.zeros(1)
    offs = np.arange(-h, h + 1)
    weights = 2.0 ** (-np.abs(offs[None, :] - drifts[:, None]))
    weights /= weights.sum(axis=1, keepdims=True)                       # (A, band)
    s_idx = np.arange(S)
    rows = (s_idx[:, None, None] * A + np.arange(A)[None, :, None]) * np.ones(offs.size, dtype=np.int64)
    cols = np.clip(s_idx[:, None, None] + offs[None, None, :], 0, S - 1) * np.ones((1, A, 1), dtype=np.int64)
    vals = np.broadcast_to(weights[None], (S, A, offs.size))
    P = sp.csr_matrix((vals.ravel(), (rows.ravel(), cols.ravel())), shape=(S * A, S))
    P.sum_duplicates()
    r = np.zeros((S, A))
    r[0, :] = lr
    r[S - 1, :] = rr
    return TabularMDP(P if sparse else P.toarray().reshape(S, A, S), r, **kind)


def river_swim(
    n_states: int = 6, *, gamma: float | None = None, horizon: int | None = None
) -> TabularMDP:
    r"""RiverSwim (Strehl and Littman, 2008): a hard-exploration chain.

    Action 0 (left) moves deterministically left. Action 1 (right, against the
    current) succeeds with probability 0.35 (0.6 at the right end to stay), stays with
    0.6 (0.4 at the ends) and slips left with 0.05. Rewards: 0.005 for "left" in state
    0, 1 for "right" in the last state.

    References
    ----------
    .. [1] A. L. Strehl and M. L. Littman, "An analysis of model-based interval
       estimation for Markov decision processes", JCSS 74(8), 2008.

    >>> mdp = river_swim(6, gamma=0.95)
    >>> float(mdp.r[5, 1]), float(mdp.r[0, 0])
    (1.0, 0.005)
    """
    S = check_int("n_states", n_states, lo=2)
    P = np.zeros((S, 2, S))
    for s in range(S):
        P[s, 0, max(s - 1, 0)] = 1.0
        if s == 0:
            P[s, 1, 0] += 0.4
            P[s, 1, 1] += 0.6
        elif s == S - 1:
            P[s, 1, s] += 0.6
            P[s, 1, s - 1] += 0.4
        else:
            P[s, 1, s + 1] += 0.35
            P[s, 1, s] += 0.6
            P[s, 1, s - 1] += 0.05
    r = np.zeros((S, 2))
    r[0, 0] = 0.005
    r[S - 1, 1] = 1.0
    mu0 = np.zeros(S)
    mu0[: min(2, S)] = 1.0 / min(2, S)
    return TabularMDP(P, r, mu0=mu0, **_kind(gamma, horizon))


def gridworld(
    n_rows: int,
    n_cols: int | None = None,
    *,
    gamma: float | None = None,
    horizon: int | None = None,
    slip: float = 0.1,
    goal_reward: float = 1.0,
    step_reward: float = 0.0,
    sparse: bool = True,
) -> TabularMDP:
    r"""Slippery gridworld with 4 actions (up, right, down, left) and an absorbing goal.

    The intended move happens with probability ``1 - slip``; otherwise one of the two
    perpendicular moves (``slip / 2`` each). Moves into a wall stay put. The bottom-right
    cell is the goal: reward ``goal_reward`` per step spent there (it is absorbing), and
    ``step_reward`` elsewhere. ``S = n_rows * n_cols`` (sparse CSR by default: 3
    successors per row, so ``S = 10^5`` fits easily).

    >>> g = gridworld(3, 4, gamma=0.9)
    >>> g.n_states, g.n_actions, g.P_csr.nnz <= 3 * 12 * 4
    (12, 4, True)
    """
    R = check_int("n_rows", n_rows, lo=1)
    C = R if n_cols is None else check_int("n_cols", n_cols, lo=1)
    p = check_scalar("slip", slip, lo=0.0, hi=1.0)
    S, A = R * C, 4
    goal = S - 1
    d_r = np.array([-1, 0, 1, 0])
    d_c = np.array([0, 1, 0, -1])
    s_idx = np.arange(S)
    row, col = np.divmod(s_idx, C)

    def target(direction: int) -> npt.NDArray[np.int64]:
        rr = np.clip(row + d_r[direction], 0, R - 1)
        cc = np.clip(col + d_c[direction], 0, C - 1)
        t = rr * C + cc
        t[goal] = goal
        return t

    rows_l, cols_l, vals_l = [], [], []
    for a in range(A):
        for direction, w in ((a, 1.0 - p), ((a + 1) % 4, p / 2), ((a + 3) % 4, p / 2)):
            if w == 0.0:
                continue
            rows_l.append(s_idx * A + a)
            cols_l.append(target(direction))
            vals_l.append(np.full(S, w))
    P = sp.csr_matrix(
        (np.concatenate(vals_l), (np.concatenate(rows_l), np.concatenate(cols_l))), shape=(S * A, S)
    )
    r = np.full((S, A), float(step_reward))
    r[goal, :] = float(goal_reward)
    return TabularMDP(P if sparse else P.toarray().reshape(S, A, S), r, **_kind(gamma, horizon))


def puterman_example(gamma: float = 0.95) -> TabularMDP:
    r"""Return the two-state example of Puterman (2005), Section 3.1 / Example 6.2.1.

    State 0 has actions ``a11`` (reward 5, to each state w.p. 1/2) and ``a12`` (reward
    10, to state 1); state 1 has the single action ``a21`` (reward -1, absorbing), which
    is duplicated here so that every state has two actions. Closed form: for
    :math:`\gamma > 10/11` action ``a11`` is optimal and

    .. math::

        V^*(0) = \frac{5 - 5.5\gamma}{(1 - 0.5\gamma)(1-\gamma)}, \qquad
        V^*(1) = \frac{-1}{1-\gamma};

    for :math:`\gamma < 10/11`, ``a12`` is optimal and :math:`V^*(0) = 10 - \gamma/(1-\gamma)`.

    References
    ----------
    .. [1] M. L. Puterman, Markov Decision Processes, Wiley, 2005, Sec. 3.1 and Ex. 6.2.1.

    >>> import mdpkit as mk
    >>> round(float(mk.solve(puterman_example(0.95)).V[0]), 6)   # (5 - 5.225)/(0.525*0.05)
    -8.571429
    """
    g = check_scalar("gamma", gamma, lo=0.0, hi=1.0, hi_inclusive=False)
    P = np.array([[[0.5, 0.5], [0.0, 1.0]], [[0.0, 1.0], [0.0, 1.0]]])
    r = np.array([[5.0, 10.0], [-1.0, -1.0]])
    return TabularMDP(P, r, gamma=g)


def token_tree_mdp(
    vocab_size: int,
    length: int,
    terminal_reward: npt.ArrayLike,
) -> TabularMDP:
    r"""Deterministic token tree: states are prefixes, actions are tokens.

    A finite-horizon MDP with ``H = length``; state ``s`` at stage ``h`` is a prefix of
    ``h`` tokens (stored in a flat index over all prefixes of every length), action
    ``a`` appends token ``a``; the reward ``terminal_reward[y]`` is paid on the last
    token of the sequence ``y`` (index in base ``vocab_size``, first token most
    significant). This is the token-level MDP in which
    :math:`\beta \log \pi^*(a|s)/\pi_{ref}(a|s) = Q^*(s,a) - V^*(s)` (RTO / XPO /
    implicit-reward papers, CLAIMS.md #15-#17).

    Returns a ``TabularMDP`` with ``S = sum_{h=0}^{L} V^h`` states; the root (empty
    prefix) is state 0 and ``mu0`` is the point mass there.

    >>> m = token_tree_mdp(2, 2, [0.0, 1.0, 2.0, 3.0])
    >>> m.n_states, m.n_actions, m.horizon
    (7, 2, 2)
    """
    Vs = check_int("vocab_size", vocab_size, lo=1)
    L = check_int("length", length, lo=1)
    rew = as_float_array("terminal_reward", terminal_reward, shape=(Vs**L,))
    offsets = np.cumsum([0] + [Vs**h for h in range(L + 1)])  # start index of each depth
    S = int(offsets[-1])
    P = np.zeros((L, S, Vs, S))
    r = np.zeros((L, S, Vs))
    for h in range(L):
        for j in range(Vs**h):
            s = offsets[h] + j
            for a in range(Vs):
                child = offsets[h + 1] + j * Vs + a
                P[h, s, a, child] = 1.0
                if h == L - 1:
                    r[h, s, a] = rew[j * Vs + a]
        # states not at depth h are unreachable at stage h: make them self-loops
        for s in range(S):
            if not (offsets[h] <= s < offsets[h + 1]):
                P[h, s, :, s] = 1.0
    mu0 = np.zeros(S)
    mu0[0] = 1.0
    return TabularMDP(P, r, horizon=L, mu0=mu0)


def from_gymnasium(env: Any, *, gamma: float | None = None, horizon: int | None = None) -> TabularMDP:
    r"""Build a ``TabularMDP`` from a gymnasium toy-text environment's ``P`` table.

    ``env.unwrapped.P[s][a]`` is a list of ``(prob, next_state, reward, terminated)``
    (FrozenLake, Taxi, CliffWalking). Rewards become expectations
    :math:`r(s,a) = \sum p \cdot \text{reward}`; a terminating transition goes to one
    extra absorbing zero-reward state (index ``S``), so the MDP has ``S + 1`` states.
    The initial law is ``env.unwrapped.initial_state_distrib`` when present.

    Examples
    --------
    >>> import gymnasium as gym                              # doctest: +SKIP
    >>> mdp = from_gymnasium(gym.make("FrozenLake-v1"), gamma=0.99)   # doctest: +SKIP
    >>> mdp.n_states, mdp.n_actions                          # doctest: +SKIP
    (17, 4)
    """
    u = getattr(env, "unwrapped", env)
    table = getattr(u, "P", None)
    if not isinstance(table, dict) or not table:
        raise TypeError("`env` must be a gymnasium toy-text environment with a `P` table "
                        f"(dict of dicts); {type(u).__name__} has none.")
    S = len(table)
    A = len(table[0])
    T = S  # absorbing terminal state
    rows, cols, vals = [], [], []
    r = np.zeros((S + 1, A))
    for s in range(S):
        if len(table[s]) != A:
            raise ValueError(f"`env.P[{s}]` must have {A} actions; got {len(table[s])}.")
        for a in range(A):
            for prob, s_next, reward, terminated in table[s][a]:
                rows.append(s * A + a)
                cols.append(T if terminated else int(s_next))
                vals.append(float(prob))
                r[s, a] += float(prob) * float(reward)
    for a in range(A):
        rows.append(T * A + a)
        cols.append(T)
        vals.append(1.0)
    P = sp.csr_matrix((vals, (rows, cols)), shape=((S + 1) * A, S + 1))
    mu0 = np.zeros(S + 1)
    init = getattr(u, "initial_state_distrib", None)
    if init is not None:
        mu0[:S] = np.asarray(init, dtype=np.float64)
    else:
        mu0[0] = 1.0
    return TabularMDP(P, r, gamma=gamma, horizon=horizon, mu0=mu0)


# --- classic instances of pymdptoolbox and QuantEcon ----------------------------------
def forest(
    n_states: int = 3,
    r1: float = 4.0,
    r2: float = 2.0,
    p: float = 0.1,
    *,
    gamma: float | None = 0.9,
    horizon: int | None = None,
    sparse: bool = False,
) -> TabularMDP:
    r"""Return pymdptoolbox's forest-management problem ``forest(S, r1, r2, p)``.

    States ``0..S-1`` are forest ages (``S-1`` the oldest); action 0 waits, action 1
    cuts. Waiting ages the forest by one (the oldest stays oldest) unless a fire, of
    probability ``p``, resets it to age 0; cutting resets it to 0 surely. Rewards: waiting
    pays ``r1`` in the oldest state and 0 elsewhere; cutting pays 0 in state 0, 1 in the
    middle states and ``r2`` in the oldest state. Array convention ``P[s, a, s_next]``
    (pymdptoolbox stores ``P[a, s, s_next]``).

    Published values (pymdptoolbox's tests): with ``gamma = 0.9`` policy iteration gives
    :math:`V^* = (26.244, 29.484, 33.484)` and "always wait"; the long-run average reward
    of "always wait" is :math:`4 \cdot 0.9^2 = 3.24` (stationary law :math:`(0.1, 0.09, 0.81)`).

    Examples
    --------
    >>> import mdpkit as mk
    >>> res = mk.solve(mk.forest(), method="policy_iteration")
    >>> [round(float(v), 10) for v in res.V], res.pi.argmax(1).tolist()
    ([26.244, 29.484, 33.484], [0, 0, 0])
    """
    S = check_int("n_states", n_states, lo=2)
    a1 = check_scalar("r1", r1, lo=0.0, lo_inclusive=False)
    a2 = check_scalar("r2", r2, lo=0.0, lo_inclusive=False)
    q = check_scalar("p", p, lo=0.0, hi=1.0)
    rows = np.concatenate([np.arange(S), np.arange(S), np.arange(S)])
    acts = np.concatenate([np.zeros(2 * S, dtype=int), np.ones(S, dtype=int)])
    cols = np.concatenate([np.zeros(S, dtype=int), np.minimum(np.arange(S) + 1, S - 1), np.zeros(S, dtype=int)])
    vals = np.concatenate([np.full(S, q), np.full(S, 1.0 - q), np.ones(S)])
    P = sp.csr_matrix((vals, (rows * 2 + acts, cols)), shape=(2 * S, S))  # duplicates summed
    r = np.zeros((S, 2))
    r[S - 1, 0] = a1
    r[1:, 1] = 1.0
    r[S - 1, 1] = a2
    return TabularMDP(P if sparse else P.toarray().reshape(S, 2, S), r, gamma=gamma, horizon=horizon)


def small(*, gamma: float | None = 0.9, horizon: int | None = None) -> TabularMDP:
    r"""Return pymdptoolbox's two-state, two-action test problem ``small()``.

    :math:`P(\cdot|0, 0) = (0.5, 0.5)`, :math:`P(\cdot|0, 1) = (0, 1)`,
    :math:`P(\cdot|1, 0) = (0.8, 0.2)`, :math:`P(\cdot|1, 1) = (0.1, 0.9)`;
    :math:`r = ((5, 10), (-1, 2))`. With ``gamma = 0.9`` the optimal policy is (1, 0)
    with :math:`V^* = (42.4418604651\ldots, 36.0465116279\ldots)`; its long-run average
    reward is :math:`7/1.8 = 3.888\ldots` (stationary law :math:`(0.8, 1)/1.8`).

    Examples
    --------
    >>> import mdpkit as mk
    >>> res = mk.solve(mk.small(), method="policy_iteration")
    >>> [round(float(v), 8) for v in res.V], res.pi.argmax(1).tolist()
    ([42.44186047, 36.04651163], [1, 0])
    """
    P = np.array([[[0.5, 0.5], [0.0, 1.0]], [[0.8, 0.2], [0.1, 0.9]]])
    r = np.array([[5.0, 10.0], [-1.0, 2.0]])
    return TabularMDP(P, r, gamma=gamma, horizon=horizon)


def quantecon_example(gamma: float = 0.95) -> TabularMDP:
    r"""Return the example of QuantEcon's ``DiscreteDP`` docstring (Puterman 2005, Sec. 3.1).

    State-action pairs :math:`\{(0, 0), (0, 1), (1, 0)\}` (action 1 is infeasible in
    state 1), rewards 5, 10, -1, transitions :math:`(0.5, 0.5)`, :math:`(0, 1)`,
    :math:`(0, 1)`. With ``gamma = 0.95`` the optimal policy is (0, 0) with
    :math:`V^* = (-8.5714285714\ldots, -20)` (QuantEcon's published values).

    Examples
    --------
    >>> import mdpkit as mk
    >>> mdp = mk.quantecon_example()
    >>> res = mk.solve(mdp, method="linear_programming")
    >>> [round(float(v), 8) for v in res.V], res.pi.argmax(1).tolist(), mdp.action_mask[1].tolist()
    ([-8.57142857, -20.0], [0, 0], [True, False])
    """
    return TabularMDP.from_sa_pairs([0, 0, 1], [0, 1, 0], [[0.5, 0.5], [0.0, 1.0], [0.0, 1.0]],
                                    [5.0, 10.0, -1.0], gamma=gamma)
