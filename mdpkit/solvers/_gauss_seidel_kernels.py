"""Numba kernel of Gauss-Seidel value iteration (in-place sweeps, newest values first).

Kept apart from :mod:`mdpkit.solvers._bellman_kernels`: one sweep visits the states in
order ``s = 0..S-1`` and overwrites ``V[s]`` at once, so the later states of the same
sweep already use it. Infeasible pairs (``feas[i] == 0``) are skipped by the hard max and
carry ``pi_ref = 0`` (``log_ref = -inf``) in the KL soft max.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..divergences._kernels import kl_max_row

ACT_MAX, ACT_KL = 0, 1


@njit(cache=True)
def _row_q(sparse, P2, indptr, indices, data, r2, feas, gamma, kind, V, s, q_row):
    """``q_row[a] = r(s, a) + gamma * P(.|s, a) V`` with the current ``V`` (masked: -inf / 0)."""
    A = q_row.shape[0]
    for a in range(A):
        i = s * A + a
        if feas[i] == 0:
            q_row[a] = -np.inf if kind == ACT_MAX else 0.0
            continue
        acc = 0.0
        if sparse:
            for k in range(indptr[i], indptr[i + 1]):
                acc += data[k] * V[indices[k]]
        else:
            for j in range(P2.shape[1]):
                acc += P2[i, j] * V[j]
        q_row[a] = r2[i] + gamma * acc


@njit(cache=True)
def gauss_seidel_kernel(sparse, P2, indptr, indices, data, r2, feas, gamma, kind, log_ref, beta,
                        V, tol, max_iter, residuals):
    """In-place sweeps until ``gamma / (1 - gamma) * ||V_new - V_old||_inf <= tol``.

    The Gauss-Seidel operator is a ``gamma``-contraction in sup norm with fixed point
    ``V*`` (Puterman 2005, Thm. 6.3.4), so the stop certifies ``||V - V*||_inf <= tol``.
    Returns the number of sweeps, negated when ``max_iter`` was reached first;
    ``residuals[k]`` is the sup-norm change of sweep ``k``.
    """
    S = V.shape[0]
    A = r2.shape[0] // S
    q_row = np.empty(A)
    pi_row = np.empty(A)
    c = gamma / (1.0 - gamma)
    for it in range(max_iter):
        diff = 0.0
        for s in range(S):
            _row_q(sparse, P2, indptr, indices, data, r2, feas, gamma, kind, V, s, q_row)
            if kind == ACT_MAX:
                v = q_row[0]
                for a in range(1, A):
                    v = max(v, q_row[a])
            else:
                v = kl_max_row(q_row, log_ref[s], beta, pi_row, False)
            diff = max(diff, abs(v - V[s]))
            V[s] = v
        residuals[it] = diff
        if c * diff <= tol:
            return it + 1
    return -max_iter
