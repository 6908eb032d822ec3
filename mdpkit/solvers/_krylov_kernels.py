r"""Numba kernels of policy evaluation by preconditioned BiCGSTAB on ``I - gamma P_pi``.

The system :math:`(I - \gamma P_\pi) V = r_\pi` of a stationary policy is assembled in
CSR (sorted columns, the diagonal always stored; :func:`policy_matrix`), factored
incompletely with ILU(0) (:func:`ilu0`: the LU factors restricted to the pattern of the
matrix) and solved by BiCGSTAB (van der Vorst 1992) right-preconditioned by that
factorization (:func:`bicgstab`).

Why it works. :math:`I - \gamma P_\pi` is a nonsingular M-matrix (non-positive
off-diagonal, strictly diagonally dominant rows with margin :math:`1 - \gamma`), for
which ILU(0) exists with positive pivots (Meijerink and van der Vorst, Math. Comp. 31,
1977, Thm 2.3). Its two triangular solves carry a value across the whole state space
along increasing and decreasing state indices, so on a local model (gridworld) a
preconditioned iteration moves values much farther than a Bellman sweep, which moves
them one transition.

Transition storage ``st`` as in :mod:`mdpkit.solvers._bellman_kernels` (fixed-width or
CSR; the dense layout is not used here).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._bellman_kernels import DENSE, FIXED


@njit(cache=True, inline="always")
def _add_entry(cols, vals, m, j, v):
    """Add ``v`` at column ``j`` to the row buffer of ``m`` entries; return the new count."""
    for t in range(m):
        if cols[t] == j:
            vals[t] += v
            return m
    cols[m] = j
    vals[m] = v
    return m + 1


@njit(cache=True)
def policy_matrix(st, A, pi, gamma, indptr, indices, data, diag, cols, vals):
    """Assemble ``I - gamma P_pi`` in CSR with sorted columns and the diagonal always stored.

    ``P_pi(s'|s) = sum_a pi[s, a] P(s'|s, a)``; zero weights and zero probabilities are
    skipped. ``indices``/``data`` need room for every entry (at most ``S`` plus the
    entries of the rows with ``pi > 0``); ``cols, vals`` are one row's scratch buffers.
    ``diag[s]`` receives the position of ``(s, s)``. Returns the number of entries.
    """
    kind, P2, idx, p, cptr, cind, cdat = st
    S = pi.shape[0]
    nnz = 0
    indptr[0] = 0
    for s in range(S):
        cols[0] = s
        vals[0] = 1.0
        m = 1
        for a in range(A):
            w = gamma * pi[s, a]
            if w == 0.0:
                continue
            i = s * A + a
            if kind == FIXED:
                for j in range(idx.shape[1]):
                    if p[i, j] != 0.0:
                        m = _add_entry(cols, vals, m, idx[i, j], -w * p[i, j])
            elif kind != DENSE:
                for k in range(cptr[i], cptr[i + 1]):
                    if cdat[k] != 0.0:
                        m = _add_entry(cols, vals, m, cind[k], -w * cdat[k])
        for t in range(1, m):  # insertion sort of the (few) entries by column
            cj, cv = cols[t], vals[t]
            u = t - 1
            while u >= 0 and cols[u] > cj:
                cols[u + 1] = cols[u]
                vals[u + 1] = vals[u]
                u -= 1
            cols[u + 1] = cj
            vals[u + 1] = cv
        for t in range(m):
            indices[nnz + t] = cols[t]
            data[nnz + t] = vals[t]
            if cols[t] == s:
                diag[s] = nnz + t
        nnz += m
        indptr[s + 1] = nnz
    return nnz


@njit(cache=True)
def one_hot_policy(greedy, r2, A, pi, rhs):
    """``pi[s] = e_{greedy[s]}`` (shape ``(S, A)``) and ``rhs[s] = r(s, greedy[s])`` in one pass."""
    for s in range(greedy.shape[0]):
        for a in range(A):
            pi[s, a] = 0.0
        pi[s, greedy[s]] = 1.0
        rhs[s] = r2[s * A + greedy[s]]


@njit(cache=True)
def ilu0(indptr, indices, data, diag, lu, inv_diag, work):
    """ILU(0) of the CSR matrix into ``lu`` (same pattern): unit ``L`` below, ``U`` on and above the diagonal.

    IKJ elimination restricted to the pattern; ``inv_diag[i] = 1 / U[i, i]``; ``work``
    is an int64 scratch of length ``S`` filled with ``-1`` (restored on exit). Returns
    the smallest pivot.
    """
    S = indptr.shape[0] - 1
    lu[: indptr[S]] = data[: indptr[S]]  # the entries stored, not the buffer's capacity
    piv = np.inf
    for i in range(S):
        for k in range(indptr[i], indptr[i + 1]):
            work[indices[k]] = k
        for k in range(indptr[i], diag[i]):
            j = indices[k]
            lu[k] /= lu[diag[j]]
            for kk in range(diag[j] + 1, indptr[j + 1]):
                pos = work[indices[kk]]
                if pos >= 0:
                    lu[pos] -= lu[k] * lu[kk]
        for k in range(indptr[i], indptr[i + 1]):
            work[indices[k]] = -1
        piv = min(piv, lu[diag[i]])
        inv_diag[i] = 1.0 / lu[diag[i]]
    return piv


@njit(cache=True)
def ilu_solve(indptr, indices, lu, diag, inv_diag, b, x):
    """Solve ``L U x = b`` with the factors of :func:`ilu0` (forward, then backward).

    ``inv_diag`` holds ``1 / U[i, i]`` (a multiplication, not a division, on the
    backward solve's chain of dependent rows).
    """
    S = indptr.shape[0] - 1
    for i in range(S):
        acc = b[i]
        for k in range(indptr[i], diag[i]):
            acc -= lu[k] * x[indices[k]]
        x[i] = acc
    for i in range(S - 1, -1, -1):
        acc = x[i]
        for k in range(diag[i] + 1, indptr[i + 1]):
            acc -= lu[k] * x[indices[k]]
        x[i] = acc * inv_diag[i]


@njit(cache=True)
def residual_into(indptr, indices, data, x, b, r):
    """``r = b - M x``; return ``||r||_inf``."""
    S = indptr.shape[0] - 1
    nrm = 0.0
    for i in range(S):
        acc = b[i]
        for k in range(indptr[i], indptr[i + 1]):
            acc -= data[k] * x[indices[k]]
        r[i] = acc
        nrm = max(nrm, abs(acc))
    return nrm


@njit(cache=True)
def _matvec_dot(indptr, indices, data, x, y, z):
    """``y = M x``; return ``<z, y>`` (a loop, not BLAS: a threaded ddot wakes threads)."""
    S = indptr.shape[0] - 1
    dot = 0.0
    for i in range(S):
        acc = 0.0
        for k in range(indptr[i], indptr[i + 1]):
            acc += data[k] * x[indices[k]]
        y[i] = acc
        dot += z[i] * acc
    return dot


@njit(cache=True)
def _dot(a, b):
    acc = 0.0
    for i in range(a.shape[0]):
        acc += a[i] * b[i]
    return acc


@njit(cache=True)
def bicgstab(indptr, indices, data, lu, diag, inv_diag, b, x, eta, max_mv, n_restart):
    """Solve ``M x = b`` by BiCGSTAB right-preconditioned with the ILU factors ``lu``.

    Starts from ``x`` (a warm start) and stops when the TRUE residual
    ``||b - M x||_inf <= eta`` (recomputed after the recursive one meets ``eta``; on a
    mismatch the method restarts from ``x``, at most ``n_restart`` times: iterative
    refinement). Returns the matrix-vector products used, or ``-1`` when ``eta`` was
    not met within ``max_mv`` products or the recurrence broke down. Serial loops only
    (no BLAS): the same answer for any thread count.
    """
    S = b.shape[0]
    r, r0, p, v, s, t = np.empty(S), np.empty(S), np.zeros(S), np.zeros(S), np.empty(S), np.empty(S)
    ph, sh = np.empty(S), np.empty(S)
    n_mv = 1
    nrm = residual_into(indptr, indices, data, x, b, r)
    for _ in range(n_restart + 1):
        if nrm <= eta:
            return n_mv
        r0[:] = r
        p[:] = 0.0
        v[:] = 0.0
        rho, alpha, omega = 1.0, 1.0, 1.0
        rho_new = _dot(r0, r)
        while n_mv < max_mv:
            if rho_new == 0.0 or omega == 0.0:
                break
            beta = (rho_new / rho) * (alpha / omega)
            rho = rho_new
            for i in range(S):
                p[i] = r[i] + beta * (p[i] - omega * v[i])
            ilu_solve(indptr, indices, lu, diag, inv_diag, p, ph)
            den = _matvec_dot(indptr, indices, data, ph, v, r0)
            if den == 0.0:
                break
            alpha = rho / den
            small = 0.0
            for i in range(S):
                s[i] = r[i] - alpha * v[i]
                small = max(small, abs(s[i]))
            n_mv += 1
            if small <= eta:
                for i in range(S):
                    x[i] += alpha * ph[i]
                break
            ilu_solve(indptr, indices, lu, diag, inv_diag, s, sh)
            ts = _matvec_dot(indptr, indices, data, sh, t, s)
            n_mv += 1
            tt = _dot(t, t)
            omega = ts / tt if tt > 0.0 else 0.0
            small = 0.0
            rho_new = 0.0
            for i in range(S):
                x[i] += alpha * ph[i] + omega * sh[i]
                r[i] = s[i] - omega * t[i]
                small = max(small, abs(r[i]))
                rho_new += r0[i] * r[i]
            if small <= eta:
                break
        nrm = residual_into(indptr, indices, data, x, b, r)
        n_mv += 1
        if n_mv >= max_mv:
            break
    return n_mv if nrm <= eta else -1
