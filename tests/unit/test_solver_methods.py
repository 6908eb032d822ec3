"""The fast solver paths (issue 18): every method agrees with another to 1e-8, the default
rule picks what its documentation says, the storages agree, and threads change nothing.

No timing assertions: speed is measured by ``benchmarks/bench_solvers.py``.
"""

import numpy as np
import pytest
import scipy.sparse as sp

import mdpkit as mk
from mdpkit.solvers import _bellman_kernels as BK
from mdpkit.solvers import _methods as MM
from mdpkit.solvers import _solve

METHODS = ("value_iteration", "policy_iteration", "modified_policy_iteration")


def _uneven(S=15, A=3, gamma=0.95):
    """Sparse rows of very different widths: stored CSR, not fixed width."""
    rng = np.random.default_rng(3)
    P = np.zeros((S * A, S))
    for i in range(S * A):
        k = 1 if i % 4 else S
        P[i, rng.choice(S, size=k, replace=False)] = rng.dirichlet(np.ones(k))
    return mk.TabularMDP(sp.csr_matrix(P), rng.random((S, A)), gamma=gamma)


MODELS = {
    "dense random": lambda: mk.random_mdp(30, 4, gamma=0.95, rng=0),
    "dense chain": lambda: mk.chain_mdp(40, gamma=0.99, sparse=False),
    "sparse chain": lambda: mk.chain_mdp(40, gamma=0.99),
    "banded chain": lambda: mk.banded_chain(60, gamma=0.99),
    "river swim": lambda: mk.river_swim(12, gamma=0.99),
    "gridworld": lambda: mk.gridworld(6, 7, gamma=0.95),
    "uneven csr": _uneven,
    "sparse random g=0.999": lambda: mk.random_mdp(40, 3, gamma=0.999, rng=1, n_successors=4, sparse=True),
}


def _policy_value(mdp, pi):
    """Exact value of a deterministic policy by a dense solve (independent of the solvers)."""
    S = mdp.n_states
    P = mdp.P[np.arange(S), pi]
    return np.linalg.solve(np.eye(S) - mdp.gamma * P, mdp.r[np.arange(S), pi])


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_method_agrees(name):
    mdp = MODELS[name]()
    # tol above the documented rounding floor gamma/(1-gamma) 4 eps (|V| + |r|) (about 2e-9 at
    # gamma = 0.999 here), so that every method can certify it
    tol = 1e-10 if mdp.gamma <= 0.99 else 1e-8
    res = {m: mk.solve(mdp, method=m, tol=tol, max_iter=10**6) for m in (None, *METHODS)}
    exact = _policy_value(mdp, res["policy_iteration"].pi.argmax(axis=1))
    for m, r in res.items():
        assert r.converged, (name, m)
        np.testing.assert_allclose(r.V, exact, atol=max(1e-8, 2 * tol), rtol=0, err_msg=f"{name}: {m}")
    # the fixed evaluation depth of the compiled MPI, and MPI from a nonzero start
    fixed = mk.solve(mdp, method="modified_policy_iteration", n_sweeps=5, tol=1e-10, max_iter=10**6)
    np.testing.assert_allclose(fixed.V, exact, atol=1e-8, rtol=0)
    warm = mk.solve(mdp, method="modified_policy_iteration", V0=np.ones(mdp.n_states), tol=1e-10)
    np.testing.assert_allclose(warm.V, exact, atol=1e-8, rtol=0)


@pytest.mark.parametrize("name", ["dense random", "banded chain", "river swim", "gridworld", "uneven csr"])
def test_soft_methods_agree(name):
    """Soft PI (Newton, banded/dense LU), soft VI and soft MPI give one fixed point."""
    mdp = MODELS[name]()
    ref = mk.uniform_policy(mdp)
    res = {m: mk.solve_kl_regularized(mdp, ref, 0.2, method=m, tol=1e-10, max_iter=10**6) for m in (None, *METHODS)}
    V = res["value_iteration"].V
    for m, r in res.items():
        assert r.converged, (name, m)
        np.testing.assert_allclose(r.V, V, atol=1e-8, rtol=0, err_msg=f"{name}: {m}")
    # fixed point check by an independent route: the soft Bellman equation in NumPy
    Q = mdp.r + mdp.gamma * (mdp.P @ V)
    soft = 0.2 * np.log((ref * np.exp((Q - Q.max(1, keepdims=True)) / 0.2)).sum(1)) + Q.max(1)
    np.testing.assert_allclose(soft, V, atol=1e-8, rtol=0)


@pytest.mark.parametrize(("name", "want"), [
    ("banded chain", "policy_iteration"),
    ("river swim", "policy_iteration"),
    ("dense random", "policy_iteration"),  # S = 30 <= 12 A: dense LU costs a few sweeps
    ("gridworld", "policy_iteration"),  # 6 x 7: bandwidth 7 is still cheap
    ("gridworld 30 x 30", "value_iteration"),
    ("uneven csr", "value_iteration"),
])
def test_default_rule(name, want):
    mdp = mk.gridworld(30, 30, gamma=0.95) if name == "gridworld 30 x 30" else MODELS[name]()
    assert mk.solve(mdp).method == want
    soft = mk.solve_kl_regularized(mdp, mk.uniform_policy(mdp), 0.5).method
    assert soft == ("policy_iteration" if want == "policy_iteration" else "modified_policy_iteration")


def test_active_value_iteration_is_value_iteration(monkeypatch):
    """The sweep that skips unchanged regions (sparse, S >= ACTIVE_MIN_STATES) returns value
    iteration's answer exactly, checked against the LP-free route: policy evaluation."""
    mdp = mk.gridworld(15, 15, gamma=0.9)
    full = mk.solve(mdp, method="value_iteration", tol=1e-10)
    monkeypatch.setattr(MM, "ACTIVE_MIN_STATES", 100)
    active = mk.solve(mdp, method="value_iteration", tol=1e-10)
    assert active.n_iter == full.n_iter and active.converged
    np.testing.assert_array_equal(active.V, full.V)
    np.testing.assert_allclose(active.V, _policy_value(mdp, active.pi.argmax(1)), atol=2e-10, rtol=0)


def test_soft_mpi_sparse_default_agrees():
    """Sparse KL default (compiled soft MPI, adaptive and fixed depth) against soft VI and the
    soft Bellman equation in NumPy (independent route)."""
    mdp = mk.gridworld(20, 20, gamma=0.97)
    ref = np.random.default_rng(0).dirichlet(np.ones(4), size=mdp.n_states)
    vi = mk.solve_kl_regularized(mdp, ref, 0.3, method="value_iteration", tol=1e-10, max_iter=10**6)
    for n_sweeps in (None, 1, 4):
        r = mk.solve_kl_regularized(mdp, ref, 0.3, tol=1e-10, max_iter=10**6, n_sweeps=n_sweeps)
        assert r.method == "modified_policy_iteration" and r.converged and r.error_bound <= 1e-10
        np.testing.assert_allclose(r.V, vi.V, atol=2e-10, rtol=0)
    Q = mdp.r + mdp.gamma * (mdp.P_csr @ r.V).reshape(mdp.n_states, 4)
    m = Q.max(1)
    np.testing.assert_allclose(m + 0.3 * np.log((ref * np.exp((Q - m[:, None]) / 0.3)).sum(1)), r.V, atol=1e-9, rtol=0)


def test_default_rule_large_dense_and_robust():
    assert mk.solve(mk.random_mdp(60, 2, gamma=0.9, rng=0)).method == "modified_policy_iteration"
    rob = mk.solvers.Robust(mk.divergences.KL(), lam=0.5)
    assert mk.solve(mk.random_mdp(6, 2, gamma=0.9, rng=0), robust=rob).method == "value_iteration"


def test_storage_layouts():
    """Fixed width for even rows, CSR for uneven ones, dense stays dense; cached per model."""
    g = mk.gridworld(5, 5, gamma=0.9)
    st, work = MM.storage(g)
    assert st[0] == BK.FIXED and st[2].shape == (100, 3) and work == 300
    assert MM.storage(g)[0] is st
    assert MM.storage(_uneven())[0][0] == BK.CSR
    assert MM.storage(mk.random_mdp(5, 2, gamma=0.9, rng=0))[0][0] == BK.DENSE
    assert MM.model_bandwidth(mk.banded_chain(50, gamma=0.9), *MM.storage(mk.banded_chain(50, gamma=0.9))) == 3


def test_thread_count_changes_nothing():
    """A parallel sweep (forced on a small model) gives the serial answer bit for bit."""
    mdp = mk.random_mdp(300, 4, gamma=0.95, rng=5)
    prob = _solve._Problem(mdp, None, None)
    outs = []
    for parallel in (False, True):
        for kernel in ("vi", "mpi", "mpi-eliminating"):
            V = np.zeros(300)
            args = (np.empty(300), np.empty(300, np.int64), np.empty(10_000))
            if kernel == "vi":
                BK.value_iteration_kernel(prob.st, 4, prob.r2s[0], 0.95, BK.ACT_MAX, prob.ref[0], prob.log_ref[0], 1.0, V, 1e-9,
                                          10_000, parallel, *args)
            else:
                nq = 1200 if kernel == "mpi-eliminating" else 0
                BK.modified_policy_iteration_kernel(prob.st, 4, prob.r2s[0], 0.95, V, 1e-9, 10_000, 100, 1e-4, 0.5,
                                                    parallel, *args, np.empty(nq), np.empty(nq))
            outs.append(V)
    for k in range(3):
        np.testing.assert_array_equal(outs[k], outs[k + 3])


@pytest.mark.parametrize("idle, gain", [(8, np.inf), (8, 0.0), (0, np.inf)])
def test_timed_mpi_rounds_match_the_kernel_bit_for_bit(monkeypatch, idle, gain):
    """The timed driver runs the kernel's rounds; parallel ones only on idle cores, same numbers."""
    mdp = mk.random_mdp(300, 4, gamma=0.95, rng=5)
    monkeypatch.setattr(_solve, "TIMED_THREADS_MIN_WORK", 0)
    monkeypatch.setattr(_solve, "get_num_threads", lambda: 2)
    monkeypatch.setattr(_solve, "idle_cores", lambda: idle)
    monkeypatch.setattr(_solve, "THREAD_GAIN", gain)
    modes = []
    rnd = BK.mpi_round

    def spy(*args):
        modes.append(args[10])
        return rnd(*args)

    monkeypatch.setattr(BK, "mpi_round", spy)
    got = mk.solve(mdp, tol=1e-9)
    monkeypatch.setattr(_solve, "TIMED_THREADS_MIN_WORK", 10**18)  # the compiled kernel, serial
    want = mk.solve(mdp, tol=1e-9)
    assert got.method == want.method == "modified_policy_iteration" and got.n_iter == want.n_iter
    np.testing.assert_array_equal(got.V, want.V)
    np.testing.assert_array_equal(got.pi, want.pi)
    assert len(modes) == got.n_iter and not any(modes[:2])
    assert modes[2:] == [idle > 0 and (k == 0 or gain > 1) for k in range(len(modes) - 2)]


def test_banded_chain_generator():
    m = mk.mdp.banded_chain(40, 4, band=7, gamma=0.99)
    P = m.P
    np.testing.assert_allclose(P.sum(-1), 1.0, atol=1e-12)
    s, a, t = np.nonzero(P)
    assert np.abs(t - s).max() == 3
    assert m.r[0, 0] == 0.5 and m.r[-1, 0] == 1.0 and m.r[1:-1].sum() == 0.0
    # drifts -2, -2/3, 2/3, 2: the mean move of action 3 in the middle of the chain is > 1
    assert (P[20, 3] * (np.arange(40) - 20)).sum() > 1.0 > (P[20, 2] * (np.arange(40) - 20)).sum() > 0
    with pytest.raises(ValueError, match="band"):
        mk.mdp.banded_chain(40, band=2, gamma=0.9)


def _full_backup(prob, V):
    S, A = prob.S, prob.A
    Vn, g = np.empty(S), np.empty(S, np.int64)
    hard = prob.r2s[0].reshape(S, A)
    BK.sweep(prob.st, A, prob.r2s[0], prob.gamma, BK.ACT_MAX, hard, hard, 1.0, V, Vn, g)
    return Vn, g


@pytest.mark.parametrize("ties", [False, True])
def test_bounded_sweep_is_the_full_sweep(ties):
    """Action elimination reads fewer rows and returns the full sweep's T V and greedy policy bit for bit.

    The stored scores come from an earlier ``V'``; the bound ``H - Hs >= max(V - V')`` is
    the only thing the kernel may rely on. ``ties``: actions 0 and 1 of every state share
    their row and reward (the first index must win, as in the full sweep).
    """
    S, A, gamma = 150, 6, 0.95
    mdp = mk.random_mdp(S, A, gamma=gamma, rng=3)
    if ties:
        P, r = mdp.P.copy(), mdp.r.copy()
        P[:, 1], r[:, 1] = P[:, 0], r[:, 0]
        r[:, 0] += 0.5  # both lead in most states: the tie is at the top there
        r[:, 1] += 0.5
        mdp = mk.TabularMDP(P, r, gamma=gamma)
    prob = _solve._Problem(mdp, None, None)
    rng = np.random.default_rng(0)
    V_old = rng.normal(size=S)
    Qs = (prob.r2s[0] + gamma * prob.st[1] @ V_old)  # exact scores at V_old
    for shift_span in (0.0, 1e-3, 0.1, 10.0):
        V = V_old + 3.0 + shift_span * rng.random(S)
        Hs = np.zeros(S * A)
        H = float((V - V_old).max())
        TV, g = _full_backup(prob, V)
        Vn, gn = np.empty(S), np.empty(S, np.int64)
        pol = rng.integers(0, A, S)
        for f in (BK.bounded_block, BK.bounded_block.py_func):
            n = f(prob.st, 0, S, A, prob.r2s[0], gamma, pol, V, Vn, gn, Qs.copy(), Hs.copy(), H, 1e-12)
            if f is BK.bounded_block:  # the same compiled rows: bit for bit
                np.testing.assert_array_equal(Vn, TV)
            else:  # Python sums the rows in order, the compiled sweep in SIMD lanes: ulps apart
                np.testing.assert_allclose(Vn, TV, rtol=1e-14)
            np.testing.assert_array_equal(gn, g)
            assert 0 <= n <= S * (A - 1)
        if shift_span == 0.0:  # a pure shift keeps every action's rank: only a tied partner is read
            n = BK.bounded_block(prob.st, 0, S, A, prob.r2s[0], gamma, g.copy(), V, Vn, gn, Qs.copy(), Hs.copy(),
                                 H, 1e-12)
            assert n == (int((g == 0).sum()) if ties else 0) and (not ties or (g == 0).sum() > S // 2)


def test_dense_mpi_reads_little_and_agrees():
    """Dense default: MPI with action elimination; V within tol of policy iteration's, Q on first access."""
    mdp = mk.random_mdp(400, 8, gamma=0.99, rng=2)
    res = mk.solve(mdp, tol=1e-9)
    ref = mk.solve(mdp, method="policy_iteration")
    assert res.method == "modified_policy_iteration" and res.converged
    assert np.abs(res.V - ref.V).max() <= 1e-9 and (res.pi == ref.pi).all()
    assert res.error_bound <= 1e-9 and res.bounds is not None
    lo, hi = res.bounds
    assert (lo <= ref.V + 1e-9).all() and (ref.V <= hi + 1e-9).all()
    Q_np = mdp.r + 0.99 * mdp.P @ res.V
    np.testing.assert_allclose(res.Q, Q_np, rtol=1e-12, atol=1e-10)
    np.testing.assert_allclose(res.residual, np.abs(Q_np.max(1) - res.V).max(), atol=1e-10)
    import dataclasses
    import pickle

    again = pickle.loads(pickle.dumps(mk.solve(mdp, tol=1e-9)))
    np.testing.assert_array_equal(again.Q, res.Q)
    np.testing.assert_array_equal(dataclasses.replace(res, n_iter=0).Q, res.Q)
    with pytest.raises(AttributeError, match="no attribute 'q'"):
        res.q  # noqa: B018


def test_reach_sizes_against_csgraph():
    """BFS layer sizes against scipy's unweighted shortest paths from a super-source (independent route)."""
    from scipy.sparse.csgraph import shortest_path

    mdp = mk.random_mdp(300, 3, gamma=0.9, rng=4, n_successors=2, sparse=True)
    S = mdp.n_states
    seed = np.zeros(S, dtype=bool)
    seed[[0, 17, 250]] = True
    rev_ptr, rev_idx = MM.predecessors(mdp)
    got = BK.reach_sizes(rev_ptr, rev_idx, seed, 40)
    rows = np.repeat(np.arange(S * 3) // 3, np.diff(mdp.P_csr.indptr))
    G = sp.lil_matrix((S + 1, S + 1))
    G[mdp.P_csr.indices, rows] = 1.0  # s' -> s for P(s'|s, a) > 0: reversed edges
    G[S, np.flatnonzero(seed)] = 1.0
    d = shortest_path(G.tocsr(), indices=S, unweighted=True)[:S] - 1.0
    np.testing.assert_array_equal(got, [(d <= k).sum() for k in range(40)])
    np.testing.assert_array_equal(BK.reach_sizes.py_func(rev_ptr, rev_idx, seed, 40), got)


def test_default_rule_value_iteration_within_reach(monkeypatch):
    """Sparse hard, S >= KRYLOV_MIN_STATES: value iteration when its predicted cost is small.

    The prediction counts, per sweep, the states within reach of the reward: on a large
    gridworld at gamma = 0.9 few are, at gamma = 0.99 the sweep bound alone rules it out.
    """
    monkeypatch.setattr(MM, "KRYLOV_MIN_STATES", 400)
    monkeypatch.setattr(MM, "ACTIVE_MIN_STATES", 400)
    near, far = mk.gridworld(60, 60, gamma=0.8), mk.gridworld(60, 60, gamma=0.99)
    p_near, p_far = _solve._Problem(near, None, None), _solve._Problem(far, None, None)
    n = np.log(2e-8 * 0.2 / 0.8) / np.log(0.8)  # sweep bound, span(T 0) = 1
    assert MM.vi_sweeps(p_near, 1e-8, True) < n < MM.vi_sweeps(p_near, 1e-8, False) + 1
    assert MM.vi_sweeps(p_far, 1e-8, True) > MM.VI_MAX_SWEEPS
    r_near, r_far = mk.solve(near), mk.solve(far)
    assert (r_near.method, r_far.method) == ("value_iteration", "policy_iteration")
    from scipy.sparse.linalg import spsolve

    for r, m in ((r_near, near), (r_far, far)):  # exact value of the greedy policy, sparse LU
        S, pi = m.n_states, r.pi.argmax(1)
        P_pi = m.P_csr[np.arange(S) * 4 + pi]
        V_pi = spsolve((sp.identity(S) - m.gamma * P_pi).tocsc(), m.r[np.arange(S), pi])
        np.testing.assert_allclose(r.V, V_pi, atol=2e-8, rtol=0)
