r"""Policy iteration on large sparse models: hard (Howard) and soft (Newton), Krylov evaluations.

Each iteration is one Bellman sweep ``T V`` (hard max: its greedy policy; KL soft max:
its softmax policy :math:`\pi \propto \pi_{ref} e^{Q/\beta}` and
:math:`-\beta\,\mathrm{KL}(\pi\|\pi_{ref})`), the MacQueen span test on ``T V - V`` (the
same certificate as value iteration: valid for any ``V``, so the answer is within
``tol`` of ``V*`` whatever the accuracy of the evaluations), then an evaluation of the
policy,

.. math::

    (I - \gamma P_\pi)\, V = r_\pi - \beta\,\mathrm{KL}(\pi\|\pi_{ref}),

by ILU(0)-preconditioned BiCGSTAB warm-started at ``T V``
(:mod:`mdpkit.solvers._krylov_kernels`). Soft policy iteration is Newton's method on
the soft Bellman equation (Geist et al. 2019; quadratic convergence near ``V*``); hard
policy iteration ends at a stable greedy policy (Puterman 2005, Thm 6.4.2).

Evaluation accuracy. The solve stops at the true residual
:math:`\|r_\pi - \beta\mathrm{KL} - (I - \gamma P_\pi)V\|_\infty \le \eta`, with the
inexact-Newton forcing term :math:`\eta = \max(\eta_{final}, 0.1 (1 - \gamma)
\|TV - V\|_\infty)` and :math:`\eta_{final} = \frac{1-\gamma}{4\gamma}` ``tol``: once the
policy is stable, ``T V - V`` is minus the residual, so the next span test sees a
half-width at most :math:`\frac{\gamma}{1-\gamma}\eta_{final} \le` ``tol``/4.

Fallback. When an evaluation does not reach its tolerance (breakdown, or more than
``MAX_MATVECS`` products) or the half-width stops shrinking, the solve hands its
current ``T V`` to the method that was the default before (value iteration, or the
compiled soft modified policy iteration), which carries the same certificate; an
answer is never reported converged without it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._typing import FloatArray
from . import _bellman_kernels as BK
from . import _krylov_kernels as KK

#: at most this many matrix-vector products per evaluation
MAX_MATVECS = 2000
#: BiCGSTAB restarts (iterative refinement) before an evaluation counts as failed
N_RESTART = 3
#: inexact Newton forcing factor: evaluate to this fraction of (1 - gamma) ||T V - V||
FORCING = 0.1
#: hand over to the fallback after STALL_ITERS iterations without the half-width
#: falling below STALL_FACTOR times its best so far
STALL_ITERS = 8
STALL_FACTOR = 0.9


class _Evaluator:
    """Assemble, factor and solve ``(I - gamma P_pi) V = rhs`` for successive policies (buffers reused)."""

    def __init__(self, prob: Any) -> None:
        S, A = prob.S, prob.A
        kind, _, idx, _, cptr, _, _ = prob.st
        width = idx.shape[1] if kind == BK.FIXED else int(np.diff(cptr).max(initial=1))
        self.cap = S + prob.work  # every stored entry of P once, plus the diagonal
        self.st, self.A, self.gamma = prob.st, A, prob.gamma
        self.indptr = np.empty(S + 1, dtype=np.int64)
        self.indices = np.empty(self.cap, dtype=np.int64)
        self.data = np.empty(self.cap)
        self.lu = np.empty(self.cap)
        self.diag = np.empty(S, dtype=np.int64)
        self.inv_diag = np.empty(S)
        self.work = np.full(S, -1, dtype=np.int64)
        self.cols = np.empty(A * width + 1, dtype=np.int64)
        self.vals = np.empty(A * width + 1)
        self.n_mv = 0

    def solve(self, pi: FloatArray, rhs: FloatArray, x: FloatArray, eta: float) -> bool:
        """Overwrite ``x`` (the warm start) with the evaluation; ``False`` when ``eta`` was not met."""
        KK.policy_matrix(self.st, self.A, pi, self.gamma, self.indptr, self.indices, self.data, self.diag,
                         self.cols, self.vals)
        if not KK.ilu0(self.indptr, self.indices, self.data, self.diag, self.lu, self.inv_diag, self.work) > 0.0:
            return False
        n = KK.bicgstab(self.indptr, self.indices, self.data, self.lu, self.diag, self.inv_diag, rhs, x, eta,
                        MAX_MATVECS, N_RESTART)
        self.n_mv += max(int(n), 0)
        return bool(n >= 0)


def use_krylov(prob: Any) -> bool:
    """Whether policy iteration evaluates by ILU-BiCGSTAB (sparse storage, nominal, hard or KL)."""
    return bool(prob.st is not None and prob.st[0] != BK.DENSE and prob.robust_ops is None
                and (prob.kind == "kl" or (prob.kind == "max" and prob.masks is None)))


def policy_iteration_krylov(prob: Any, V: FloatArray, tol: float, max_iter: int, trace: bool, finish: Any,
                            fallback: Any) -> Any:
    """Run hard or soft policy iteration with Krylov evaluations (module docstring).

    ``finish(prob, V, method, n_iter, converged, residuals, tol, max_iter, trace)`` builds
    the result; ``fallback(prob, V, tol, max_iter, trace)`` finishes a solve that stalls.
    """
    S, A, gamma = prob.S, prob.A, prob.gamma
    soft = prob.kind == "kl"
    c = gamma / (1.0 - gamma)
    ev = _Evaluator(prob)
    r = prob.r2s[0].reshape(S, A)
    V_new, pi, kl, qbuf, rhs = np.empty(S), np.zeros((S, A)), np.zeros(S), BK.chunk_buffer(A), np.empty(S)
    ref = np.exp(prob.log_ref[0]) if soft else r  # masses of the soft sweep (0 where masked)
    greedy = np.empty(S, dtype=np.int64)
    hist = np.empty(max_iter if trace else 1)
    if not soft and not np.any(V):
        # V = 0 ties every action where the reward is zero and Howard's PI (ties keep the
        # action) would then move the reward one step per iteration: start from the
        # greedy policy of the uniform policy's value instead.
        unif = np.full((S, A), 1.0 / A)
        if not ev.solve(unif, r.mean(axis=1), V, FORCING * float(np.max(np.abs(r), initial=0.0))):
            return fallback(prob, np.zeros(S), tol, max_iter, trace)
    eta_final = 0.25 * tol / c
    best, since = np.inf, 0
    for it in range(max_iter):
        if soft:
            BK.soft_improve(prob.st, A, prob.r2s[0], gamma, prob.log_ref[0], prob.beta, V, V_new, pi, kl, qbuf, ref)
        else:
            BK._sweep(prob.st, A, prob.r2s[0], gamma, BK.ACT_MAX, r, r, 1.0, V, V_new, greedy, prob.parallel)
        done, lo, hi = BK.span_stop(V, V_new, hist, it, c, tol)
        if done:
            return finish(prob, V, "policy_iteration", it + 1, True, hist[: it + 1], tol, max_iter, trace)
        best, since = (hi - lo, 0) if hi - lo <= STALL_FACTOR * best else (best, since + 1)
        if since >= STALL_ITERS:
            return fallback(prob, V_new, tol, max_iter, trace)
        if soft:
            rhs = np.einsum("sa,sa->s", pi, r) + kl
        else:
            KK.one_hot_policy(greedy, prob.r2s[0], A, pi, rhs)
        V[:] = V_new
        if not ev.solve(pi, rhs, V, max(eta_final, FORCING * (1.0 - gamma) * max(abs(lo), abs(hi)))):
            return fallback(prob, V_new, tol, max_iter, trace)
    return finish(prob, V, "policy_iteration", max_iter, False, hist[: min(max_iter, hist.shape[0])], tol, max_iter,
                  trace)
