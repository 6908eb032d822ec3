"""Numba kernels of the generic Bellman backup (DESIGN.md section 3).

Transition part: ``Q = r + gamma * P V`` for dense ``P2[(s, a), s']`` or CSR rows.
Action part: hard max (``ACT_MAX``), KL log-sum-exp toward ``pi_ref`` (``ACT_KL``).
The generic f-divergence action part lives in :mod:`mdpkit.divergences._kernels`.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ..divergences._kernels import kl_max_row

ACT_MAX, ACT_KL = 0, 1


@njit(cache=True, fastmath=True)
def q_dense_into(P2, r2, gamma, V, Q2):
    """``Q2[i] = r2[i] + gamma * sum_j P2[i, j] V[j]`` (serial)."""
    n, S = P2.shape
    for i in range(n):
        acc = 0.0
        for j in range(S):
            acc += P2[i, j] * V[j]
        Q2[i] = r2[i] + gamma * acc


@njit(cache=True, fastmath=True, parallel=True)
def q_dense_into_par(P2, r2, gamma, V, Q2):
    """Parallel twin of :func:`q_dense_into` (``prange`` over state-action rows)."""
    n, S = P2.shape
    for i in prange(n):
        acc = 0.0
        for j in range(S):
            acc += P2[i, j] * V[j]
        Q2[i] = r2[i] + gamma * acc


@njit(cache=True, fastmath=True)
def q_csr_into(indptr, indices, data, r2, gamma, V, Q2):
    """``Q2[i] = r2[i] + gamma * sum_k data[k] V[indices[k]]`` over CSR row ``i``."""
    n = indptr.shape[0] - 1
    for i in range(n):
        acc = 0.0
        for k in range(indptr[i], indptr[i + 1]):
            acc += data[k] * V[indices[k]]
        Q2[i] = r2[i] + gamma * acc


@njit(cache=True, fastmath=True, parallel=True)
def q_csr_into_par(indptr, indices, data, r2, gamma, V, Q2):
    """Parallel twin of :func:`q_csr_into`."""
    n = indptr.shape[0] - 1
    for i in prange(n):
        acc = 0.0
        for k in range(indptr[i], indptr[i + 1]):
            acc += data[k] * V[indices[k]]
        Q2[i] = r2[i] + gamma * acc


@njit(cache=True, inline="always")  # inlined: a call per state costs more than a small row
def action_row(kind, q, log_ref, beta, pi_out, write_pi):
    """Action part of one state: ``max_a q`` (greedy one-hot policy, first maximizer on
    ties) or ``beta * logsumexp(q/beta + log_ref)`` (softmax policy); returns the value."""
    if kind == ACT_MAX:
        best = 0
        for a in range(1, q.shape[0]):
            if q[a] > q[best]:
                best = a
        if write_pi:
            for a in range(q.shape[0]):
                pi_out[a] = 0.0
            pi_out[best] = 1.0
        return q[best]
    return kl_max_row(q, log_ref, beta, pi_out, write_pi)


@njit(cache=True)
def action_into(kind, Q, log_ref, beta, V_out, pi_out, write_pi):
    """Row-wise action part (:func:`action_row`) over all states."""
    for s in range(Q.shape[0]):
        V_out[s] = action_row(kind, Q[s], log_ref[s], beta, pi_out[s], write_pi)


@njit(cache=True, parallel=True)
def action_into_par(kind, Q, log_ref, beta, V_out, pi_out, write_pi):
    """Parallel twin of :func:`action_into` (``prange`` over states; large soft problems)."""
    for s in prange(Q.shape[0]):
        V_out[s] = action_row(kind, Q[s], log_ref[s], beta, pi_out[s], write_pi)


@njit(cache=True)
def value_iteration_kernel(sparse, P2, indptr, indices, data, r2, gamma, kind, log_ref, beta,
                           V, tol, max_iter, parallel, Q2, V_new, residuals):
    """Compiled value iteration with MacQueen span-based stopping (Puterman Sec. 6.6.3).

    Iterates ``V <- T V``; with ``d = T V - V``, the bounds
    ``T V + gamma/(1-gamma) [min d, max d]`` bracket ``V*``. Stops when the half-width
    ``gamma * span(d) / (2 (1 - gamma))`` is ``<= tol`` and returns the midpoint, so
    ``||V - V*||_inf <= tol``. Valid for any monotone operator with
    ``T(V + c) = T V + gamma c``, which includes the KL soft max.
    Returns the number of sweeps, negated when ``max_iter`` was reached first;
    ``residuals[k]`` is ``||T V_k - V_k||_inf``.
    """
    S = V.shape[0]
    A = r2.shape[0] // S
    Q = Q2.reshape((S, A))
    dummy = np.empty((S, A))
    c = gamma / (1.0 - gamma) if gamma < 1.0 else np.inf
    for it in range(max_iter):
        if sparse:
            if parallel:
                q_csr_into_par(indptr, indices, data, r2, gamma, V, Q2)
            else:
                q_csr_into(indptr, indices, data, r2, gamma, V, Q2)
        else:
            if parallel:
                q_dense_into_par(P2, r2, gamma, V, Q2)
            else:
                q_dense_into(P2, r2, gamma, V, Q2)
        if parallel:
            action_into_par(kind, Q, log_ref, beta, V_new, dummy, False)
        else:
            action_into(kind, Q, log_ref, beta, V_new, dummy, False)
        lo = np.inf
        hi = -np.inf
        for s in range(S):
            d = V_new[s] - V[s]
            lo = min(lo, d)
            hi = max(hi, d)
        residuals[it] = max(abs(lo), abs(hi))
        if c * (hi - lo) <= 2.0 * tol:
            mid = 0.5 * c * (hi + lo)
            for s in range(S):
                V[s] = V_new[s] + mid
            return it + 1
        for s in range(S):
            V[s] = V_new[s]
    return -max_iter
