r"""Fast discounted solvers and the rule that picks the default method.

Storage. Sparse models are swept in a fixed-width successor layout (``(S*A, k)``
arrays of int32 successor indices and probabilities, DESIGN.md section 4) when the
padding to the widest row costs at most a third more entries than CSR; otherwise
CSR. Dense models stay dense. The layout and the bandwidth of the model are computed
once per :class:`~mdpkit.TabularMDP` and cached (the model is immutable).

Default method (:func:`default_method`), for a discounted model with nominal
transitions; let ``W`` be the entries of ``P`` read by one Bellman sweep, ``S`` the
states and ``b`` the bandwidth ``max |s' - s|`` over ``P(s'|s, a) > 0``:

1. ``S (b + 1)^2 <= 8 W`` (banded models: chains, RiverSwim): policy iteration,
   each evaluation an exact banded LU solve of ``(I - gamma P_pi) V = r_pi``
   (cost ``O(S b^2)``, a few sweeps). Howard's PI needs few improvements even where
   value iteration needs thousands of sweeps (slow mixing); with ``policy_reg`` (KL)
   this is soft policy iteration, Newton's method on the soft Bellman equation
   (quadratic convergence near the fixed point).
2. Dense with ``S^3 / 3 <= 4 W`` (``S <= 12 A``, small models): policy iteration with a
   dense LU solve (unregularized: compiled end to end, the matrix as one full band).
3. Otherwise, unregularized and dense: modified policy iteration with adaptive evaluation depth
   (:func:`~mdpkit.solvers._bellman_kernels.modified_policy_iteration_kernel`):
   evaluation sweeps cost one row per state instead of ``A``; they go on while each
   halves the change (so the evaluation pays) until the change is ``1e-4`` of the last
   Bellman change: a fast-mixing model is evaluated almost exactly (policy iteration
   in two or three Bellman sweeps), a slow-mixing one gets one or two evaluation sweeps
   per improvement (value iteration at a lower price). Every improvement sweep after the
   first reads only the rows that MacQueen's action elimination cannot rule out (Puterman
   Sec. 6.7.2): each action's last computed score ``r + gamma P V'`` plus ``gamma`` times a
   bound on ``max(V - V')`` is compared with the current action's exact score
   (:func:`~mdpkit.solvers._bellman_kernels.bounded_block`, the full sweep's ``T V`` and
   greedy policy bit for bit). On a fast-mixing model the values move almost by a
   constant after the first evaluation, so an improvement reads about one row per state,
   the cost of an evaluation sweep; when it read at most one other row per state, the
   evaluation sweeps are skipped (value iteration at the price of policy evaluation),
   and evaluation stops at ``EVAL_FRAC_BOUNDED = 0.1`` of the Bellman change, since
   the change after the next improvement is set by the policy's change, not by the
   evaluation's accuracy.
   The result's ``Q`` is then computed on first access. Dense random ``S = 1000``,
   ``A = 10``, ``gamma = 0.99``: 7 improvement and 1 evaluation sweeps, 3.8 ms, against
   22 ms for the same kernel with full improvement sweeps (same process).
4. Sparse (not banded) with at least ``KRYLOV_MIN_STATES`` states, hard max without
   masks or KL: policy iteration with Krylov evaluations (:mod:`mdpkit.solvers._krylov`),
   unless (hard max) value iteration's predicted cost (:func:`vi_sweeps`: its sweep bound
   and, from ``V = 0``, the states within reach of the rewards) is at most
   ``VI_MAX_SWEEPS`` full sweeps, where value iteration (rule 6) is chosen:
   each evaluation solves ``(I - gamma P_pi) V = rhs`` by ILU(0)-preconditioned BiCGSTAB
   warm-started at ``T V``; with KL it is soft policy iteration (Newton). Value iteration
   needs about ``log(tol) / log(gamma)`` sweeps and, on a local model, at least one per
   step of the diameter (761 on the gridworld ``S = 1e5``, ``gamma = 0.99``; soft VI
   2223); policy iteration needs 5-14 evaluations of a few dozen preconditioned products
   each there (measured under load 3-4 on 2 cores, same process: gridworld ``S = 1e4``,
   ``gamma = 0.9``, 15.6 ms against value iteration's 47 ms). On the gridworld
   ``S = 1e5``, ``gamma = 0.9`` value iteration with change tracking takes 98 ms against
   Krylov policy iteration's 204 ms (predicted 79 sweeps, against 175 for ``S = 1e4``
   where policy iteration is the faster, 17 ms against 20 ms; same process, load 2-3).
5. Otherwise, sparse and KL-regularized: soft modified policy iteration
   (:func:`~mdpkit.solvers._bellman_kernels.soft_mpi_kernel`): the soft Bellman sweep
   (``A`` exponentials per state) gives the softmax policy, then up to
   ``SOFT_EVAL_SWEEPS`` linear evaluation sweeps of it without exponentials, until their
   change is ``EVAL_FRAC`` of the Bellman change; the MacQueen stop is on the Bellman
   sweep.
6. Otherwise (sparse unregularized, dense KL): value iteration (compiled, span
   stopping). Sparse, unregularized, serial and with at least ``ACTIVE_MIN_STATES``
   states, each sweep recomputes only the states with a successor whose value changed
   in the last sweep (:func:`~mdpkit.solvers._bellman_kernels.value_iteration_active_kernel`,
   the same iterates bit for bit): from ``V = 0`` values spread from the rewarding states
   one step per sweep (3.7x fewer state updates on the gridworld ``S = 1e5``,
   ``gamma = 0.9``). In a sparse local model (gridworld, Taxi) an evaluation sweep moves values
   only along the current policy's edges, no farther than a Bellman sweep, and measured
   slower than value iteration there; a dense soft sweep reads ``P`` like a hard one
   (memory-bound), so cheaper evaluation sweeps do not pay.

Other f-divergences and robust transition parts use value iteration. Every method
stops with the MacQueen span certificate ``||V - V*||_inf <= tol`` or, for
unregularized policy iteration, at a stable greedy policy (exact).

Threads: a sweep runs in parallel only when it reads at least ``PARALLEL_MIN_WORK``
entries of ``P`` (``mdpkit._config``); a parallel region costs 4-20 ms on a loaded 2-core
machine, so smaller sweeps run serially and threads never hurt. The exception is rule 3
from ``S^2 >= TIMED_THREADS_MIN_WORK`` (dense ``S >= 1415``): its rounds are run from
Python and timed (:func:`~mdpkit.solvers._solve._mpi_timed`), and run on all threads
only when the other cores are idle and that is measured faster per row read (dense
random ``S = 2000``, ``gamma = 0.99``: 16-22 ms against 28 ms on one thread; with a
CPU-bound process on the other core, 1.05x the one-thread time). Parallel sweeps split
the states into blocks, so the answer is the same for any thread count.
"""

from __future__ import annotations

import weakref
from typing import Any

import numpy as np

from .._typing import FloatArray
from ..mdp import TabularMDP
from . import _bellman_kernels as BK

#: pad CSR to fixed width when it costs at most this factor more entries
FIXED_WIDTH_MAX_PAD = 4.0 / 3.0
#: policy iteration with a banded solve when ``S (b+1)^2 <= BAND_FACTOR * W``
BAND_FACTOR = 8.0
#: policy iteration with a dense solve when ``S^3 / 3 <= DENSE_LU_FACTOR * W``
DENSE_LU_FACTOR = 4.0
#: adaptive MPI: evaluate until the change is this fraction of the Bellman change
EVAL_FRAC = 1e-4
#: ... with action elimination (dense): an improvement then costs about one row per state and
#: its change is set by the policy's change, not by the evaluation's accuracy (dense random
#: S = 2000, gamma = 0.99: 4.7e-3 after evaluating to 1.3e-2 or to 6e-6), so it stops sooner
EVAL_FRAC_BOUNDED = 0.1
#: adaptive MPI: ... or until one evaluation sweep shrinks the change by less than this
EVAL_RATE = 0.5
#: adaptive MPI: at most this many evaluation sweeps per improvement (times A)
EVAL_SWEEPS_PER_ACTION = 25
#: KL-regularized MPI: at most this many evaluation sweeps per improvement
SOFT_EVAL_SWEEPS = 10
#: sparse hard value iteration tracks the states that can change from this many states on
ACTIVE_MIN_STATES = 10_000
#: sparse models with this many states and more default to policy iteration with Krylov evaluations
KRYLOV_MIN_STATES = 5_000
#: ... unless (hard max) value iteration is predicted to cost at most this many full sweeps
#: (Krylov policy iteration measured 150-180 sweeps' worth on the gridworlds at gamma = 0.9)
VI_MAX_SWEEPS = 150.0
#: per-sweep cost of change tracking's O(S) passes (span test, marking), in full sweeps (measured)
ACTIVE_OVERHEAD = 0.35

_DUMMY_F2 = np.zeros((1, 1))
_DUMMY_I2 = np.zeros((1, 1), dtype=np.int32)
_DUMMY_F1 = np.zeros(1)
_DUMMY_I1 = np.zeros(1, dtype=np.int32)
_DUMMY_P1 = np.zeros(2, dtype=np.int64)

_cache: weakref.WeakKeyDictionary[TabularMDP, dict[Any, Any]] = weakref.WeakKeyDictionary()


def _model_cache(mdp: TabularMDP) -> dict[Any, Any]:
    c = _cache.get(mdp)
    if c is None:
        c = {}
        _cache[mdp] = c
    return c


def csr64(mdp: TabularMDP) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(indptr, indices, data)`` of the sparse ``P`` with int64 indices (cached)."""
    c = _model_cache(mdp)
    if "csr64" not in c:
        csr = mdp.P_csr
        c["csr64"] = (csr.indptr.astype(np.int64), csr.indices.astype(np.int64), csr.data)
    return c["csr64"]  # type: ignore[no-any-return]


def predecessors(mdp: TabularMDP) -> tuple[np.ndarray, np.ndarray]:
    """``(rev_ptr, rev_idx)``: the states ``s`` with ``P(s'|s, a) > 0`` for some ``a``, per ``s'`` (cached)."""
    c = _model_cache(mdp)
    if "pred" not in c:
        import scipy.sparse as sp

        csr = mdp.P_csr
        S, A = mdp.n_states, mdp.n_actions
        rows = np.repeat(np.arange(S * A) // A, np.diff(csr.indptr))
        G = sp.csr_matrix((np.ones(rows.shape[0], dtype=np.int8), (csr.indices, rows)), shape=(S, S))
        c["pred"] = (G.indptr.astype(np.int64), G.indices.astype(np.int64))
    return c["pred"]  # type: ignore[no-any-return]


def reward_max(mdp: TabularMDP, r2s: list[np.ndarray]) -> float:
    """``max |r|`` over the finite rewards (``-inf`` marks an infeasible action), cached."""
    c = _model_cache(mdp)
    if "rmax" not in c:
        c["rmax"] = max(float(np.max(np.abs(r[np.isfinite(r)]), initial=0.0)) for r in r2s)
    return float(c["rmax"])


def fixed_width(indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, A: int) -> tuple[np.ndarray, np.ndarray]:
    """Pad CSR rows ``(S*A, S)`` into dense ``(S*A, k)`` arrays.

    CSR rows ``(S*A, S)`` as ``(S*A, k)`` arrays (``k`` = widest row), padded with
    probability 0 and the row's own state as index (so padding reads a cached value).
    """
    n = indptr.shape[0] - 1
    nnz = np.diff(indptr)
    k = max(int(nnz.max()) if n else 1, 1)
    rows = np.repeat(np.arange(n), nnz)
    pos = np.arange(indices.shape[0]) - np.repeat(indptr[:-1], nnz)
    idx = np.repeat((np.arange(n, dtype=np.int32) // A)[:, None], k, axis=1)
    prob = np.zeros((n, k))
    idx[rows, pos] = indices
    prob[rows, pos] = data
    return idx, prob


def storage(mdp: TabularMDP, stage: int = 0) -> tuple[Any, int]:
    """Kernel storage tuple of stage ``stage`` and the entries ``W`` read per sweep (cached)."""
    c = _model_cache(mdp)
    key = ("st", stage)
    if key in c:
        return c[key]
    S, A = mdp.n_states, mdp.n_actions
    if mdp.is_sparse:
        csr = mdp.P_csr
        n_rows = S * A
        k = int(np.diff(csr.indptr).max()) if n_rows else 1
        if n_rows * k <= FIXED_WIDTH_MAX_PAD * max(csr.nnz, 1):
            idx, prob = fixed_width(csr.indptr, csr.indices, csr.data, A)
            st = (BK.FIXED, _DUMMY_F2, idx, prob, _DUMMY_P1, _DUMMY_I1, _DUMMY_F1)
            work = n_rows * k
        else:
            st = (BK.CSR, _DUMMY_F2, _DUMMY_I2, _DUMMY_F2, csr.indptr.astype(np.int64),
                  csr.indices.astype(np.int32), csr.data)
            work = csr.nnz
    else:
        P = mdp.P
        P3 = P[stage] if P.ndim == 4 else P
        P2 = np.ascontiguousarray(P3.reshape(S * A, S))
        st = (BK.DENSE, P2, _DUMMY_I2, _DUMMY_F2, _DUMMY_P1, _DUMMY_I1, _DUMMY_F1)
        work = S * A * S
    c[key] = (st, work)
    return st, work


def band_limit(S: int, work: int) -> int:
    """Largest bandwidth for which a banded solve costs at most ``BAND_FACTOR`` sweeps."""
    return max(int(np.sqrt(BAND_FACTOR * work / max(S, 1))) - 1, 0)


def model_bandwidth(mdp: TabularMDP, st: Any, work: int) -> int:
    """Bandwidth of ``P`` (or ``band_limit + 1`` if larger), cached per model."""
    c = _model_cache(mdp)
    if "band" not in c:
        S = mdp.n_states
        c["band"] = int(BK.bandwidth(st, mdp.n_actions, S, band_limit(S, work)))
    return int(c["band"])


def _band(prob: Any) -> int:
    """:func:`model_bandwidth` of the problem's model, kept on ``prob`` (one look-up per solve)."""
    b = getattr(prob, "band", None)
    if b is None:
        b = prob.band = model_bandwidth(prob.mdp, prob.st, prob.work)
    return int(b)


def default_method(prob: Any, tol: float, from_zero: bool) -> str:
    """Apply the documented rule of the module docstring; return a method name."""
    if prob.robust_ops is not None or prob.kind == "fdiv":
        return "value_iteration"
    if evaluation_solver(prob) is not None:
        return "policy_iteration"
    dense = prob.st[0] == BK.DENSE
    if not dense and prob.S >= KRYLOV_MIN_STATES and (prob.kind == "kl" or prob.masks is None):
        if prob.kind == "max" and vi_sweeps(prob, tol, from_zero) <= VI_MAX_SWEEPS:
            return "value_iteration"
        return "policy_iteration"
    if prob.kind == "kl":
        return "value_iteration" if dense else "modified_policy_iteration"
    return "modified_policy_iteration" if dense and prob.masks is None else "value_iteration"


def vi_sweeps(prob: Any, tol: float, from_zero: bool) -> float:
    """Predicted cost of hard value iteration, in full sweeps (rule 4).

    The span stop needs at most ``n = log(2 tol (1 - gamma) / (gamma span(T 0))) / log gamma``
    sweeps (the change contracts by ``gamma`` per sweep, faster where the model mixes).
    With change tracking from ``V = 0`` (:func:`use_active`), sweep ``k + 1`` updates only
    the states within ``k`` steps of a rewarding state (:func:`reach_sizes`, the
    predecessor graph searched once per model), a full sweep once that is over half the
    states, plus ``ACTIVE_OVERHEAD`` of a sweep for the span test and the marking.
    """
    S, A, gamma = prob.S, prob.A, prob.gamma
    r = prob.r2s[0].reshape(S, A)
    t0 = r[:, 0].copy()  # T 0 = max_a r, by columns (a reduction over a short axis is slow)
    for a in range(1, A):
        np.maximum(t0, r[:, a], out=t0)
    if not np.isfinite(t0).all():
        return np.inf
    span0 = float(t0.max() - t0.min())
    if span0 <= 2.0 * tol * (1.0 - gamma) / gamma:
        return 1.0
    n = int(np.ceil(np.log(2.0 * tol * (1.0 - gamma) / (gamma * span0)) / np.log(gamma)))
    if not (from_zero and use_active(prob)):
        return float(n)
    if ACTIVE_OVERHEAD * n > VI_MAX_SWEEPS:  # too many sweeps whatever they touch
        return ACTIVE_OVERHEAD * n
    rev_ptr, rev_idx = predecessors(prob.mdp)
    sizes = BK.reach_sizes(rev_ptr, rev_idx, t0 != 0.0, n) / S
    work = 1.0 + np.where(sizes[:-1] > 0.5, 1.0, sizes[1:]).sum()
    return float(work + ACTIVE_OVERHEAD * n)


def use_active(prob: Any) -> bool:
    """Whether hard value iteration sweeps only the states a change can reach (serial, sparse, large)."""
    return bool(prob.kind == "max" and prob.masks is None and prob.st[0] != BK.DENSE and not prob.parallel
                and prob.S >= ACTIVE_MIN_STATES)


def evaluation_solver(prob: Any) -> str | None:
    """``"band"`` or ``"dense"`` when an exact evaluation is cheap (rules 1-2), else ``None``."""
    S = prob.S
    if prob.H is not None:
        return None
    b = _band(prob)
    if b <= band_limit(S, prob.work):
        return "band"
    if prob.st[0] == BK.DENSE and S**3 / 3.0 <= DENSE_LU_FACTOR * prob.work:
        return "dense"
    return None


def evaluate_fast(prob: Any, pi: FloatArray, rhs: FloatArray, how: str) -> FloatArray:
    """``(I - gamma P_pi)^{-1} rhs`` by a banded or dense LU solve."""
    S = prob.S
    if how == "band":
        b = _band(prob)
        M = np.empty((S, 2 * b + 1))
        BK.band_matrix(prob.st, prob.A, pi, prob.gamma, b, M)
        x = np.empty(S)
        BK.band_solve(M, b, rhs, x)
        return x
    Ppi = prob.mdp._transition_matrix(pi)
    return np.linalg.solve(np.eye(S) - prob.gamma * Ppi, rhs)


def kl_penalty(pi: FloatArray, log_ref: FloatArray, beta: float) -> FloatArray:
    """``beta * KL(pi(.|s) || ref(.|s))`` per state, with ``0 log 0 = 0``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(pi > 0.0, pi * (np.log(pi) - log_ref), 0.0)
    return beta * t.sum(axis=1)


def policy_iteration_band(prob: Any, V: FloatArray, tol: float, max_iter: int, trace: bool, finish: Any,
                          full: bool = False) -> Any:
    """Unregularized policy iteration compiled end to end with banded evaluations.

    ``full``: the whole matrix as one band (``b = S - 1``; rule 2, small dense models),
    solved by LAPACK's dense LU from ``DENSE_SOLVE_MIN_STATES`` states
    (:func:`~mdpkit.solvers._bellman_kernels.band_evaluate`).

    From ``V = 0`` (the default start) it starts, as QuantEcon does, from the greedy policy
    of ``T 0 = max_a r`` (one sweep, which usually saves an evaluation), or, where the rewards
    of a state tie, from the greedy policy of the uniform policy's value: there ``V = 0``
    and ``T 0`` tie every action wherever the reward is zero (chains with rewards at the
    ends), and Howard's PI (which keeps the current action on ties) would then carry the
    reward only one band further per improvement.
    """
    S, A = prob.S, prob.A
    b = S - 1 if full else _band(prob)
    hist = np.empty(max_iter if trace else 1)
    n = BK.policy_iteration_band_kernel(prob.st, A, prob.r2s[0], prob.gamma, b, V, max_iter, prob.parallel,
                                        not V.any(), np.empty(S), np.empty(S, dtype=np.int64),
                                        np.empty(S, dtype=np.int64), np.empty((S, 2 * b + 1)), hist)
    converged, n = n > 0, abs(int(n))
    return finish(prob, V, "policy_iteration", n, converged, hist[:n], tol, max_iter, trace)
