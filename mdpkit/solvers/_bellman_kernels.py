"""Numba kernels of the generic Bellman backup (DESIGN.md sections 3 and 4).

Transition storage is a tuple ``st = (kind, P2, fw_idx, fw_p, indptr, indices, data)``:

* ``kind == DENSE``: ``P2[(s, a), s']``, shape ``(S*A, S)``;
* ``kind == FIXED``: fixed-width successor layout, ``fw_idx[(s, a), j]`` (int32) and
  ``fw_p[(s, a), j]`` of shape ``(S*A, k)``, rows padded with zero-probability entries
  (one contiguous, branch-free inner loop: the floor for few successors per row);
* ``kind == CSR``: ``indptr, indices (int32), data`` of a CSR matrix ``(S*A, S)``.

The unused members are 1-element dummies. Every kernel reads one row through
:func:`q_row`. Action part: hard max (``ACT_MAX``) or KL log-sum-exp toward
``pi_ref`` (``ACT_KL``); the generic f-divergence action part lives in
:mod:`mdpkit.divergences._kernels`.

Serial/parallel twins share their body: the parallel one splits the states into
blocks of ``BLOCK`` and runs the serial block helper on each block in a ``prange``.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .._config import NO_NRT
from ..divergences._kernels import kl_max_row, kl_max_rows

ACT_MAX, ACT_KL = 0, 1
DENSE, FIXED, CSR = 0, 1, 2
BLOCK = 256


# -- rows ------------------------------------------------------------------------------
@njit(cache=True, fastmath=True, inline="always")
def dense_row(P2, i, V):
    """``sum_j P2[i, j] V[j]``."""
    acc = 0.0
    for j in range(P2.shape[1]):
        acc += P2[i, j] * V[j]
    return acc


@njit(cache=True, fastmath=True, inline="always")
def csr_row(indptr, indices, data, i, V):
    """``sum_k data[k] V[indices[k]]`` over CSR row ``i``."""
    acc = 0.0
    for k in range(indptr[i], indptr[i + 1]):
        acc += data[k] * V[indices[k]]
    return acc


@njit(cache=True, fastmath=True, inline="always")
def q_row(kind, P2, idx, p, indptr, indices, data, i, V):
    """Return the expected next value ``(P V)[i]`` of state-action row ``i``.

    Works for any storage (the unpacked storage tuple; unpack it once per loop, not per
    row).
    """
    if kind < 0:
        return 0.0
    if kind == FIXED:
        acc = 0.0
        for j in range(idx.shape[1]):
            acc += p[i, j] * V[idx[i, j]]
        return acc
    if kind == DENSE:
        return dense_row(P2, i, V)
    return csr_row(indptr, indices, data, i, V)


# -- Q = r + gamma P V (the transition part alone) -------------------------------------
@njit(cache=True, fastmath=True)
def q_dense_into(P2, r2, gamma, V, Q2):
    """``Q2[i] = r2[i] + gamma * sum_j P2[i, j] V[j]`` (serial)."""
    for i in range(P2.shape[0]):
        Q2[i] = r2[i] + gamma * dense_row(P2, i, V)


@njit(cache=True, fastmath=True, parallel=True)
def q_dense_into_par(P2, r2, gamma, V, Q2):
    """Parallel twin of :func:`q_dense_into` (same row helper, ``prange`` over rows)."""
    for i in prange(P2.shape[0]):
        Q2[i] = r2[i] + gamma * dense_row(P2, i, V)


@njit(cache=True, fastmath=True)
def q_csr_into(indptr, indices, data, r2, gamma, V, Q2):
    """``Q2[i] = r2[i] + gamma * sum_k data[k] V[indices[k]]`` over CSR row ``i``."""
    for i in range(indptr.shape[0] - 1):
        Q2[i] = r2[i] + gamma * csr_row(indptr, indices, data, i, V)


@njit(cache=True, fastmath=True, parallel=True)
def q_csr_into_par(indptr, indices, data, r2, gamma, V, Q2):
    """Parallel twin of :func:`q_csr_into`."""
    for i in prange(indptr.shape[0] - 1):
        Q2[i] = r2[i] + gamma * csr_row(indptr, indices, data, i, V)


# -- action part -----------------------------------------------------------------------
@njit(cache=True, inline="always")  # inlined: a call per state costs more than a small row
def action_row(kind, q, log_ref, beta, pi_out, write_pi, p=None):
    """Compute the action part of one state; return the value.

    The action part is ``max_a q`` (greedy one-hot policy, first maximizer on ties) or
    ``beta * logsumexp(q/beta + log_ref)`` (softmax policy). ``p``, optional, is
    ``exp(log_ref)`` precomputed (see :func:`kl_max_row`).
    """
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
    return kl_max_row(q, log_ref, beta, pi_out, write_pi, p)


@njit(cache=True, inline="always")
def _row_of(ref, s):
    """Row ``s`` of an optional array (``None`` stays ``None``; the branch is pruned at compile time)."""
    if ref is None:
        return None
    return ref[s]


@njit(cache=True)
def action_into(kind, Q, log_ref, beta, V_out, pi_out, write_pi, ref=None):
    """Apply the row-wise action part (:func:`action_row`) over all states.

    ``ref``, optional, is ``exp(log_ref)`` precomputed by a caller that applies it many
    times.
    """
    for s in range(Q.shape[0]):
        V_out[s] = action_row(kind, Q[s], log_ref[s], beta, pi_out[s], write_pi, _row_of(ref, s))


@njit(cache=True, parallel=True)
def action_into_par(kind, Q, log_ref, beta, V_out, pi_out, write_pi):
    """Parallel twin of :func:`action_into` (``prange`` over states; large soft problems)."""
    for s in prange(Q.shape[0]):
        V_out[s] = action_row(kind, Q[s], log_ref[s], beta, pi_out[s], write_pi)


# -- fused sweep: V_new = M[r + gamma P V], greedy actions -----------------------------
@njit(cache=True, fastmath=True)
def q_rows(st, i0, i1, r2, gamma, V, out):
    """Write ``out[i - i0] = r2[i] + gamma * (P V)[i]`` for the rows ``i0 <= i < i1``.

    ``gamma = 0`` gives ``r2``. One storage branch per call: a branch per row inside a loop
    that also stores to a buffer measured 20x slower on sparse rows.
    """
    kind, P2, idx, p, indptr, indices, data = st
    if gamma == 0.0:
        for i in range(i0, i1):
            out[i - i0] = r2[i]
    elif kind == FIXED:
        for i in range(i0, i1):
            acc = 0.0
            for j in range(idx.shape[1]):
                acc += p[i, j] * V[idx[i, j]]
            out[i - i0] = r2[i] + gamma * acc
    elif kind == DENSE:
        for i in range(i0, i1):
            out[i - i0] = r2[i] + gamma * dense_row(P2, i, V)
    else:
        for i in range(i0, i1):
            out[i - i0] = r2[i] + gamma * csr_row(indptr, indices, data, i, V)


@njit(cache=True)
def chunk_buffer(A):
    """Scratch of the soft sweeps: ``BLOCK`` states' ``Q`` and :func:`kl_max_rows`' work (``2 A + 2`` each)."""
    return np.empty(BLOCK * (2 * A + 2))


@njit(cache=True, fastmath=True, **NO_NRT)
def backup_block(st, lo, hi, A, r2, gamma, act, ref, log_ref, beta, V, V_new, greedy, qbuf):
    """Back up states ``lo <= s < hi``: ``V_new[s]`` and (hard max) ``greedy[s] = argmax_a Q``.

    ``gamma = 0`` skips the transitions (``Q = r``: the backup of ``V = 0``). The soft max
    (``ref = exp(log_ref)``) computes ``Q`` by chunks of ``len(qbuf) // (2 A + 2)`` states
    with :func:`q_rows` (``qbuf`` from :func:`chunk_buffer`), then their values with
    :func:`kl_max_rows` (vectorised exponentials and logarithms).
    """
    kind, P2, idx, p, indptr, indices, data = st
    if gamma == 0.0:
        kind = -1
    if act == ACT_KL:
        ch = qbuf.shape[0] // (2 * A + 2)
        q = qbuf[:ch * A]
        for c0 in range(lo, hi, ch):
            c1 = min(hi, c0 + ch)
            q_rows(st, c0 * A, c1 * A, r2, gamma, V, q)
            kl_max_rows(q, ref[c0:c1], log_ref[c0:c1], beta, V_new[c0:c1], q[:0], False, qbuf[ch * A:])
        return
    for s in range(lo, hi):
        base = s * A
        best = 0
        vb = -np.inf
        for a in range(A):
            q = r2[base + a] + gamma * q_row(kind, P2, idx, p, indptr, indices, data, base + a, V)
            if q > vb:
                vb = q
                best = a
        V_new[s] = vb
        greedy[s] = best


@njit(cache=True)
def sweep(st, A, r2, gamma, act, ref, log_ref, beta, V, V_new, greedy):
    """One Bellman sweep over all states (serial)."""
    backup_block(st, 0, V.shape[0], A, r2, gamma, act, ref, log_ref, beta, V, V_new, greedy, chunk_buffer(A))


@njit(cache=True, parallel=True)
def sweep_par(st, A, r2, gamma, act, ref, log_ref, beta, V, V_new, greedy):
    """Parallel twin of :func:`sweep`: blocks of ``BLOCK`` states in a ``prange``."""
    S = V.shape[0]
    nb = (S + BLOCK - 1) // BLOCK
    for b in prange(nb):
        hi = min(S, (b + 1) * BLOCK)
        backup_block(st, b * BLOCK, hi, A, r2, gamma, act, ref, log_ref, beta, V, V_new, greedy,
                     chunk_buffer(A))


@njit(cache=True)
def _sweep(st, A, r2, gamma, act, ref, log_ref, beta, V, V_new, greedy, parallel):
    zero = True
    for s in range(V.shape[0]):
        if V[s] != 0.0:
            zero = False
            break
    if zero:  # T 0 = M[r]: no need to read P (saves the first sweep from V = 0)
        sweep(st, A, r2, 0.0, act, ref, log_ref, beta, V, V_new, greedy)
    elif parallel:
        sweep_par(st, A, r2, gamma, act, ref, log_ref, beta, V, V_new, greedy)
    else:
        sweep(st, A, r2, gamma, act, ref, log_ref, beta, V, V_new, greedy)


@njit(cache=True)
def span_of_change(V_new, V):
    """``(min, max)`` of ``V_new - V``."""
    lo = np.inf
    hi = -np.inf
    for s in range(V.shape[0]):
        d = V_new[s] - V[s]
        lo = min(lo, d)
        hi = max(hi, d)
    return lo, hi


@njit(cache=True, inline="always")
def span_stop(V, V_new, residuals, it, c, tol):
    """Record sweep ``it``'s residual and test the span stop; return ``(stopped, lo, hi)``.

    ``lo, hi`` bound ``V_new - V``. When ``c (hi - lo) <= 2 tol`` (``c = gamma/(1-gamma)``,
    the MacQueen bounds' half-width) ``V`` receives the midpoint estimate
    ``V_new + c (hi + lo) / 2``, within ``tol`` of ``V*`` (Puterman Sec. 6.6.3).
    """
    lo, hi = span_of_change(V_new, V)
    if it < residuals.shape[0]:  # a 1-element trace when none is kept
        residuals[it] = max(abs(lo), abs(hi))
    if c * (hi - lo) <= 2.0 * tol:
        mid = 0.5 * c * (hi + lo)
        for s in range(V.shape[0]):
            V[s] = V_new[s] + mid
        return True, lo, hi
    return False, lo, hi


@njit(cache=True)
def value_iteration_kernel(st, A, r2, gamma, act, ref, log_ref, beta, V, tol, max_iter, parallel,
                           V_new, greedy, residuals):
    """Compiled value iteration with MacQueen span-based stopping (Puterman Sec. 6.6.3).

    Iterates ``V <- T V``; with ``d = T V - V``, the bounds
    ``T V + gamma/(1-gamma) [min d, max d]`` bracket ``V*``. Stops when the half-width
    ``gamma * span(d) / (2 (1 - gamma))`` is ``<= tol`` and returns the midpoint, so
    ``||V - V*||_inf <= tol``. Valid for any monotone operator with
    ``T(V + c) = T V + gamma c``, which includes the KL soft max.
    Returns the number of sweeps, negated when ``max_iter`` was reached first;
    ``residuals[k]`` is ``||T V_k - V_k||_inf``.
    """
    c = gamma / (1.0 - gamma)
    for it in range(max_iter):
        _sweep(st, A, r2, gamma, act, ref, log_ref, beta, V, V_new, greedy, parallel)
        done, lo, hi = span_stop(V, V_new, residuals, it, c, tol)
        if done:
            return it + 1
        V[:] = V_new
    return -max_iter


# -- modified policy iteration (hard max) ------------------------------------------------
@njit(cache=True, fastmath=True)
def policy_block(st, lo, hi, A, r2, gamma, pol, V, V_out):
    """Evaluate the policy ``pol`` one sweep over the states ``lo <= s < hi`` (Gauss-Seidel).

    ``V_out[s] = r(s, pol[s]) + gamma * (P V)(s, pol[s])`` for ``lo <= s < hi``;
    returns ``(min, max)`` of ``V_out[s] - V[s]``.
    """
    kind, P2, idx, p, indptr, indices, data = st
    dlo = np.inf
    dhi = -np.inf
    for s in range(lo, hi):
        i = s * A + pol[s]
        new = r2[i] + gamma * q_row(kind, P2, idx, p, indptr, indices, data, i, V)
        d = new - V[s]
        dlo = min(dlo, d)
        dhi = max(dhi, d)
        V_out[s] = new
    return dlo, dhi


@njit(cache=True, parallel=True)
def policy_sweep_par(st, A, r2, gamma, pol, V, V_out):
    """Evaluate ``pol`` one Jacobi sweep over all states (parallel twin of ``policy_block``).

    Parallel (Jacobi) twin of ``policy_block`` over all states; returns the change's
    ``(min, max)``.
    """
    S = V.shape[0]
    nb = (S + BLOCK - 1) // BLOCK
    los = np.empty(nb)
    his = np.empty(nb)
    for b in prange(nb):
        los[b], his[b] = policy_block(st, b * BLOCK, min(S, (b + 1) * BLOCK), A, r2, gamma, pol, V, V_out)
    return los.min(), his.max()


@njit(cache=True, fastmath=True, **NO_NRT)
def bounded_block(st, lo, hi, A, r2, gamma, pol, V, V_new, greedy, Qs, Hs, H, margin):
    """Hard backup of states ``lo <= s < hi`` reading only the rows a bound cannot rule out.

    MacQueen's action elimination (Puterman Sec. 6.7.2) with stored scores: ``Qs[i]`` is
    row ``i``'s score ``r_i + gamma P_i V'`` at an earlier ``V'``, and ``H - Hs[i]`` bounds
    ``max(V - V')`` (``H`` accumulates ``max`` of the change between successive calls), so
    ``Q_i(V) <= Qs[i] + gamma (H - Hs[i])``. The row of ``pol[s]`` is computed exactly; any
    other action whose bound is below its score by more than ``margin`` (the rounding of
    the rows and of ``H``) is skipped, the rest are computed and stored. ``V_new``,
    ``greedy`` are those of the full sweep (first maximizing action); returns the number
    of rows read besides the policy's.
    """
    kind, P2, idx, p, indptr, indices, data = st
    n = 0
    for s in range(lo, hi):
        base = s * A
        best = pol[s]
        vb = r2[base + best] + gamma * q_row(kind, P2, idx, p, indptr, indices, data, base + best, V)
        Qs[base + best] = vb
        Hs[base + best] = H
        cut = vb - margin
        a0 = best
        for a in range(A):
            i = base + a
            if a == a0 or Qs[i] + gamma * (H - Hs[i]) < cut:
                continue
            q = r2[i] + gamma * q_row(kind, P2, idx, p, indptr, indices, data, i, V)
            n += 1
            Qs[i] = q
            Hs[i] = H
            if q > vb or (q == vb and a < best):
                vb = q
                best = a
        V_new[s] = vb
        greedy[s] = best
    return n


@njit(cache=True, parallel=True)
def bounded_sweep_par(st, A, r2, gamma, pol, V, V_new, greedy, Qs, Hs, H, margin):
    """Parallel twin of :func:`bounded_block` over all states (blocks of ``BLOCK``)."""
    S = V.shape[0]
    nb = (S + BLOCK - 1) // BLOCK
    n = np.zeros(nb, dtype=np.int64)
    for b in prange(nb):
        n[b] = bounded_block(st, b * BLOCK, min(S, (b + 1) * BLOCK), A, r2, gamma, pol, V, V_new, greedy, Qs,
                             Hs, H, margin)
    return n.sum()


@njit(cache=True)
def _improve(st, A, r2, gamma, V, V_new, greedy, parallel, it, Qs, Hs, Vprev, acc):
    """Run the improvement sweep of MPI: full (``Qs`` empty) or bounded (:func:`bounded_block`).

    ``acc = [H, max |V| so far, max |r|]``; updates ``H`` by ``max(V - Vprev)`` and ``Vprev``.
    ``greedy`` holds the last greedy policy (the candidate of each state) when ``it > 0``.
    """
    if Qs.shape[0] == 0 or it == 0:
        hard = r2.reshape((-1, A))  # (ref and log_ref: unused by the hard max)
        _sweep(st, A, r2, gamma, ACT_MAX, hard, hard, 1.0, V, V_new, greedy, parallel)
        n = V.shape[0] * A
        if Qs.shape[0] > 0:  # store the full sweep's scores: the rows read, or r when V = 0
            acc[1] = np.abs(V).max()
            zero = acc[1] == 0.0
            for s in range(V.shape[0]):
                for a in range(A):
                    i = s * A + a
                    Qs[i] = r2[i] if zero else 0.0
                    Hs[i] = 0.0 if zero else -1e300  # unknown: a bound of ~1e300
                Vprev[s] = V[s]
        return n
    dmax = -np.inf
    for s in range(V.shape[0]):
        dmax = max(dmax, V[s] - Vprev[s])
        Vprev[s] = V[s]
        acc[1] = max(acc[1], abs(V[s]))
    acc[0] += dmax
    # rounding of two rows (length S, fastmath order) and of the it additions into H
    u = 2.0 ** -53
    margin = 4.0 * u * ((V.shape[0] + 2) * (acc[2] + acc[1]) + (it + 1) * (abs(acc[0]) + acc[1]))
    # the last greedy policy is each state's candidate, overwritten in place (state s reads
    # pol[s] before writing greedy[s] and nothing else of it)
    if parallel:
        return bounded_sweep_par(st, A, r2, gamma, greedy, V, V_new, greedy, Qs, Hs, acc[0], margin)
    return bounded_block(st, 0, V.shape[0], A, r2, gamma, greedy, V, V_new, greedy, Qs, Hs, acc[0], margin)


@njit(cache=True)
def mpi_start(r2, S, eliminating):
    """State of :func:`mpi_round` before round 0: ``Vprev`` (size ``S`` with elimination, else 0) and ``acc``."""
    acc = np.zeros(3)
    for i in range(r2.shape[0]):
        if np.isfinite(r2[i]):
            acc[2] = max(acc[2], abs(r2[i]))
    return np.empty(S if eliminating else 0), acc


@njit(cache=True)
def mpi_round(st, A, r2, gamma, V, tol, it, max_eval, eval_frac, eval_rate, parallel, V_new, greedy, residuals,
              Qs, Hs, Vprev, acc):
    """Round ``it`` of :func:`modified_policy_iteration_kernel`: an improvement, the span test, evaluations.

    Returns the number of rows of ``P`` the round read (``S`` per evaluation sweep; for
    round 0 an upper bound), ``-1`` when the span test stopped (then
    ``V`` is the answer and, with elimination, ``V_new = T V`` and ``greedy`` its backup).
    ``parallel`` picks the parallel twins of the sweeps (the same numbers bit for bit).
    """
    S = V.shape[0]
    n = _improve(st, A, r2, gamma, V, V_new, greedy, parallel, it, Qs, Hs, Vprev, acc)
    done, lo, hi = span_stop(V, V_new, residuals, it, gamma / (1.0 - gamma), tol)
    if done:
        if Qs.shape[0] > 0:  # T V and its greedy policy at the answer, for the result
            _improve(st, A, r2, gamma, V, V_new, greedy, parallel, it + 1, Qs, Hs, Vprev, acc)
        return -1
    target = eval_frac * (hi - lo)
    prev = hi - lo
    rows = 0
    # adaptive depth: an improvement that read at most one other row per state costs at
    # most two evaluation sweeps and contracts at least as much, so value iteration then
    for _ in range(max_eval if n > S or eval_frac < 0.0 else 0):
        if parallel:
            lo, hi = policy_sweep_par(st, A, r2, gamma, greedy, V_new, V)
        else:
            lo, hi = policy_block(st, 0, S, A, r2, gamma, greedy, V_new, V)
        rows += S
        V_new[:] = V
        if hi - lo <= target or hi - lo > eval_rate * prev:
            break
        prev = hi - lo
    V[:] = V_new
    return rows + (n + S if Qs.shape[0] > 0 else n)


@njit(cache=True)
def modified_policy_iteration_kernel(st, A, r2, gamma, V, tol, max_iter, max_eval, eval_frac, eval_rate,
                                     parallel, V_new, greedy, residuals, Qs, Hs):
    """Run modified policy iteration with adaptive evaluation depth and span stopping.

    Improvement: one Bellman sweep ``V <- T V`` (greedy ``pi``), stopping by the
    MacQueen span rule of :func:`value_iteration_kernel` (valid for any ``V``). Partial
    evaluation: sweeps toward ``V^pi`` (one row per state, ``A`` times cheaper than a
    Bellman sweep) while the span of their change exceeds ``eval_frac`` times the span
    of the last Bellman change and shrinks by at least the factor ``eval_rate`` per
    sweep (slower evaluation does not pay: improvement is then the bottleneck), at most
    ``max_eval`` of them (Puterman Sec. 6.5: MPI converges for any evaluation depths).
    Evaluation sweeps are Jacobi (they commute with adding a constant, which the span
    rule relies on). With ``Qs, Hs`` of size ``S*A`` (dense models) the improvement
    sweeps after the first read only the rows that action elimination cannot rule out
    (:func:`bounded_block`: the full sweep's iterates); with adaptive depth
    (``eval_frac >= 0``) no evaluation follows an improvement that read at most ``S``
    other rows; on return ``V_new = T V`` and ``greedy`` hold the backup of the answer
    ``V``. Empty arrays: full sweeps. One round per :func:`mpi_round`.
    Returns the number of improvement sweeps (negated if ``max_iter`` was reached);
    ``residuals`` as in value iteration.
    """
    Vprev, acc = mpi_start(r2, V.shape[0], Qs.shape[0] > 0)
    for it in range(max_iter):
        if mpi_round(st, A, r2, gamma, V, tol, it, max_eval, eval_frac, eval_rate, parallel, V_new, greedy,
                     residuals, Qs, Hs, Vprev, acc) < 0:
            return it + 1
    return -max_iter


# -- policy evaluation by a banded direct solve ------------------------------------------
@njit(cache=True)
def bandwidth(st, A, S, limit):
    """Return the transition bandwidth ``max |s' - s|`` (early stop past ``limit``).

    ``max |s' - s|`` over the transitions ``P(s'|s, a) > 0``; stops early (returns
    ``limit + 1``) once it exceeds ``limit``.
    """
    b = 0
    kind, P2, idx, p, indptr, indices, data = st
    for s in range(S):
        for a in range(A):
            i = s * A + a
            if kind == DENSE:
                j = 0
                while j < s - b and P2[i, j] == 0.0:
                    j += 1
                b = max(b, s - j)
                j = S - 1
                while j > s + b and P2[i, j] == 0.0:
                    j -= 1
                b = max(b, j - s)
            elif kind == FIXED:
                for k in range(idx.shape[1]):
                    if p[i, k] > 0.0:
                        b = max(b, abs(idx[i, k] - s))
            else:
                for k in range(indptr[i], indptr[i + 1]):
                    if data[k] > 0.0:
                        b = max(b, abs(indices[k] - s))
            if b > limit:
                return limit + 1
    return b


@njit(cache=True)
def band_matrix(st, A, pi, gamma, b, M):
    """Fill ``I - gamma P_pi`` in band storage.

    ``M[s, b + s' - s] = (I - gamma P_pi)[s, s']`` in band storage ``(S, 2b + 1)``,
    ``P_pi(s'|s) = sum_a pi[s, a] P(s'|s, a)`` (entries outside the band must be zero).
    """
    S = pi.shape[0]
    M[:] = 0.0
    kind, P2, idx, p, indptr, indices, data = st
    for s in range(S):
        M[s, b] = 1.0
        for a in range(A):
            w = gamma * pi[s, a]
            if w == 0.0:
                continue
            i = s * A + a
            if kind == DENSE:
                for j in range(max(0, s - b), min(S, s + b + 1)):
                    M[s, b + j - s] -= w * P2[i, j]
            elif kind == FIXED:
                for k in range(idx.shape[1]):
                    M[s, b + idx[i, k] - s] -= w * p[i, k]
            else:
                for k in range(indptr[i], indptr[i + 1]):
                    M[s, b + indices[k] - s] -= w * data[k]


@njit(cache=True)
def band_solve(M, b, rhs, x):
    """Solve ``M x = rhs`` for a band matrix (``M[s, b + s' - s]``) by LU without pivoting.

    ``I - gamma P_pi`` is strictly row diagonally dominant (margin ``1 - gamma``), for
    which Gaussian elimination without pivoting exists and is stable (growth factor at
    most 2; Higham, Accuracy and Stability of Numerical Algorithms, Thm 9.9). Cost
    ``O(S b^2)``; ``M`` is overwritten by its factors.
    """
    S = M.shape[0]
    x[:] = rhs
    for k in range(S):
        piv = M[k, b]
        for i in range(k + 1, min(S, k + b + 1)):
            l = M[i, b + k - i] / piv
            if l == 0.0:
                continue
            M[i, b + k - i] = l
            for j in range(k + 1, min(S, k + b + 1)):
                M[i, b + j - i] -= l * M[k, b + j - k]
            x[i] -= l * x[k]
    for k in range(S - 1, -1, -1):
        acc = x[k]
        for j in range(k + 1, min(S, k + b + 1)):
            acc -= M[k, b + j - k] * x[j]
        x[k] = acc / M[k, b]


#: a full band (``b >= S - 1``) from this many states on is solved by LAPACK's dense LU (measured
#: faster than :func:`band_solve` from about 30 states: 26 vs 47 us at S = 50, 114 vs 352 us at 100)
DENSE_SOLVE_MIN_STATES = 32


@njit(cache=True)
def band_evaluate(st, A, pi, gamma, b, M, rhs, V):
    """Write ``V = (I - gamma P_pi)^{-1} rhs``, the exact value of policy ``pi`` (rewards ``rhs``).

    Banded LU (:func:`band_matrix`, :func:`band_solve`); a full band of at least
    ``DENSE_SOLVE_MIN_STATES`` states goes to LAPACK (``np.linalg.solve``, partial pivoting).
    """
    band_matrix(st, A, pi, gamma, b, M)
    S = V.shape[0]
    if b < S - 1 or S < DENSE_SOLVE_MIN_STATES:
        band_solve(M, b, rhs, V)
        return
    D = np.empty((S, S))
    for s in range(S):
        for j in range(S):
            D[s, j] = M[s, b + j - s]
    V[:] = np.linalg.solve(D, rhs)


@njit(cache=True, inline="always")
def _rewards_tie(r2, A):
    """Whether some state has two actions with equal reward (``r2`` of length ``S*A``)."""
    for s in range(r2.shape[0] // A):
        for a in range(A):
            for c in range(a + 1, A):
                if r2[s * A + a] == r2[s * A + c]:
                    return True
    return False


@njit(cache=True)
def policy_iteration_band_kernel(st, A, r2, gamma, b, V, max_iter, parallel, from_zero, V_new, greedy, pol, M,
                                 residuals):
    """Howard's policy iteration, each evaluation a banded (or full-band dense) LU solve (:func:`band_evaluate`).

    Starts from the greedy policy of ``V``; with ``from_zero`` (``V = 0``) it first writes
    into ``V`` the uniform policy's value if the rewards of some state tie (greedy policies
    of ``V = 0`` and of ``max_a r`` tie there too), else ``T 0 = max_a r``. A state switches action only when that
    improves its value by more than ``1e-12 (1 + max |V|)`` (ties keep the current action),
    and the loop stops at a stable policy, whose value is then ``V*`` exactly (Puterman
    Thm 6.4.2). ``V`` ends as ``V^pi``. Returns the number of evaluations, negated if
    ``max_iter`` was reached first; ``residuals[k] = ||T V_k - V_k||_inf``.
    """
    S = V.shape[0]
    W = np.zeros((S, A))
    rhs = np.empty(S)
    dummy = np.zeros((1, 1))
    if from_zero and _rewards_tie(r2, A):
        for s in range(S):
            acc = 0.0
            for a in range(A):
                W[s, a] = 1.0 / A
                acc += r2[s * A + a]
            rhs[s] = acc / A
        band_evaluate(st, A, W, gamma, b, M, rhs, V)
    elif from_zero:
        for s in range(S):
            V[s] = np.max(r2[s * A:(s + 1) * A])
    _sweep(st, A, r2, gamma, ACT_MAX, dummy, dummy, 1.0, V, V_new, greedy, parallel)
    pol[:] = greedy
    for it in range(max_iter):
        for s in range(S):
            W[s, :] = 0.0
            W[s, pol[s]] = 1.0
            rhs[s] = r2[s * A + pol[s]]
        band_evaluate(st, A, W, gamma, b, M, rhs, V)
        _sweep(st, A, r2, gamma, ACT_MAX, dummy, dummy, 1.0, V, V_new, greedy, parallel)
        vmax = 0.0
        res = 0.0
        for s in range(S):
            vmax = max(vmax, abs(V[s]))
            res = max(res, abs(V_new[s] - V[s]))
        if it < residuals.shape[0]:
            residuals[it] = res
        eps = 1e-12 * (1.0 + vmax)
        changed = False
        for s in range(S):
            if V_new[s] - V[s] > eps and greedy[s] != pol[s]:
                pol[s] = greedy[s]
                changed = True
        if not changed:
            return it + 1
    return -max_iter


# -- the result of a hard-max solve in one pass ------------------------------------------
@njit(cache=True)
def finish_hard(st, A, r2, gamma, V, Q, pi, TV):
    """Write ``Q = r + gamma P V``, ``TV = max_a Q`` and the greedy one-hot ``pi`` in one pass.

    ``pi`` must be zeros on entry (first maximizer on ties). Returns
    ``(finite, max |TV - V|, min d, max d)`` with ``d = TV - V``; ``finite`` is false when
    ``V`` or ``Q`` holds a NaN or an inf.
    """
    S = V.shape[0]
    Q2 = Q.reshape(-1)
    q_rows(st, 0, S * A, r2, gamma, V, Q2)
    finite = True
    res = 0.0
    lo = np.inf
    hi = -np.inf
    for s in range(S):
        best = 0
        for a in range(A):
            finite = finite and np.isfinite(Q[s, a])
            if Q[s, a] > Q[s, best]:
                best = a
        pi[s, best] = 1.0
        TV[s] = Q[s, best]
        finite = finite and np.isfinite(V[s])
        d = TV[s] - V[s]
        res = max(res, abs(d))
        lo = min(lo, d)
        hi = max(hi, d)
    return finite, res, lo, hi


# -- soft (KL) modified policy iteration ---------------------------------------------------
# The per-state loops over the A actions here are compiled with contractions only: under
# fastmath=True LLVM vectorises each short sum over the actions (runtime checks and a
# horizontal reduction per state), measured 1.6x slower on the gridworld (S = 1e4, A = 4).
@njit(cache=True, fastmath={"contract"})
def soft_improve(st, A, r2, gamma, log_ref, beta, V, V_new, pi, kl, qbuf, ref):
    """Soft Bellman sweep ``V_new = T V`` with its softmax policy ``pi``.

    Also writes ``kl[s] = V_new(s) - sum_a pi(a|s) Q(s, a) = -beta KL(pi(.|s) || ref(.|s))``
    (no logarithm of ``pi``: the identity of the regularized max). ``ref = exp(log_ref)``;
    ``qbuf`` from :func:`chunk_buffer`; the rows go by chunks through :func:`kl_max_rows`.
    """
    S = V.shape[0]
    ch = qbuf.shape[0] // (2 * A + 2)
    q = qbuf[:ch * A]
    pi_flat = pi.reshape(-1)
    for c0 in range(0, S, ch):
        c1 = min(S, c0 + ch)
        q_rows(st, c0 * A, c1 * A, r2, gamma, V, q)
        kl_max_rows(q, ref[c0:c1], log_ref[c0:c1], beta, V_new[c0:c1], pi_flat[c0 * A:c1 * A], True,
                    qbuf[ch * A:])
        for s in range(c0, c1):
            o = (s - c0) * A
            m = 0.0
            for a in range(A):
                m += pi[s, a] * q[o + a]
            kl[s] = V_new[s] - m


@njit(cache=True, fastmath={"contract"})
def soft_evaluate(st, A, r2, gamma, pi, kl, V, V_out, qbuf):
    """Policy sweep ``V_out = r_pi - beta KL + gamma P_pi V`` of a fixed stochastic ``pi``.

    No exponential; returns ``(min, max)`` of ``V_out - V``.
    """
    S = V.shape[0]
    ch = qbuf.shape[0] // A
    lo = np.inf
    hi = -np.inf
    for c0 in range(0, S, ch):
        c1 = min(S, c0 + ch)
        q_rows(st, c0 * A, c1 * A, r2, gamma, V, qbuf)
        for s in range(c0, c1):
            o = (s - c0) * A
            acc = kl[s]
            for a in range(A):
                acc += pi[s, a] * qbuf[o + a]
            V_out[s] = acc
            lo = min(lo, acc - V[s])
            hi = max(hi, acc - V[s])
    return lo, hi


@njit(cache=True)
def soft_mpi_kernel(st, A, r2, gamma, log_ref, beta, V, tol, max_iter, max_eval, eval_frac,
                    V_new, pi, kl, residuals):
    """Run modified policy iteration on the KL-regularized problem (Geist et al. 2019).

    Improvement: one soft Bellman sweep (softmax policy ``pi``), stopped by the MacQueen
    span rule of :func:`value_iteration_kernel` (valid for any ``V``, so the certificate
    does not depend on the evaluation). Evaluation: Jacobi sweeps of ``pi``'s regularized
    policy operator (linear, no exponential or logarithm, about the cost of a hard
    sweep) while the span of their change exceeds ``eval_frac`` times that of the last
    Bellman change, at most ``max_eval``. Returns the number of improvements (negated if
    ``max_iter`` was reached first).
    """
    c = gamma / (1.0 - gamma)
    qbuf = chunk_buffer(A)
    ref = np.exp(log_ref)
    for it in range(max_iter):
        soft_improve(st, A, r2, gamma, log_ref, beta, V, V_new, pi, kl, qbuf, ref)
        done, lo, hi = span_stop(V, V_new, residuals, it, c, tol)
        if done:
            return it + 1
        target = eval_frac * (hi - lo)
        for _ in range(max_eval):
            lo, hi = soft_evaluate(st, A, r2, gamma, pi, kl, V_new, V, qbuf)
            V_new[:] = V
            if hi - lo <= target:
                break
        V[:] = V_new
    return -max_iter


@njit(cache=True)
def reach_sizes(rev_ptr, rev_idx, seed, n_layers):
    """``out[k]``: the states with a path of at most ``k`` steps to a ``seed`` state, ``k < n_layers``.

    Breadth-first search on the reversed graph (``rev_ptr, rev_idx`` as in
    :func:`mark_predecessors`): from ``V = 0`` the states that value iteration can change
    in sweep ``k + 1`` are among these (``seed``: the states whose reward is not zero).
    """
    S = seed.shape[0]
    seen = seed.copy()
    frontier = np.empty(S, dtype=np.int64)
    nxt = np.empty(S, dtype=np.int64)
    nf = 0
    for s in range(S):
        if seen[s]:
            frontier[nf] = s
            nf += 1
    out = np.empty(n_layers, dtype=np.int64)
    total = nf
    for k in range(n_layers):
        out[k] = total
        nn = 0
        for f in range(nf):
            s = frontier[f]
            for j in range(rev_ptr[s], rev_ptr[s + 1]):
                q = rev_idx[j]
                if not seen[q]:
                    seen[q] = True
                    nxt[nn] = q
                    nn += 1
        frontier, nxt = nxt, frontier
        nf = nn
        total += nn
    return out


# -- value iteration that skips the states whose successors did not change -----------------
@njit(cache=True)
def mark_predecessors(V_new, V, rev_ptr, rev_idx, active):
    """Mark the predecessors of the states whose value changed; return how many changed.

    Sets ``active[p] = 1`` for every predecessor ``p`` of a state with ``V_new != V``
    (bitwise) and ``0`` elsewhere.
    """
    active[:] = 0
    n = 0
    for s in range(V.shape[0]):
        if V_new[s] != V[s]:
            n += 1
            for k in range(rev_ptr[s], rev_ptr[s + 1]):
                active[rev_idx[k]] = 1
    return n


@njit(cache=True)
def active_sweep(st, A, r2, gamma, V, V_new, greedy, active):
    """Apply a Bellman sweep to the states with ``active[s]`` (runs of consecutive ones).

    The others keep ``V_new[s] = V[s]``, which is their exact backup when none of their
    successors changed (same inputs, same arithmetic).
    """
    S = V.shape[0]
    dummy = np.empty((1, 1))
    q = np.empty(1)
    s = 0
    while s < S:
        if active[s] == 0:
            V_new[s] = V[s]
            s += 1
            continue
        e = s
        while e < S and active[e] == 1:
            e += 1
        backup_block(st, s, e, A, r2, gamma, ACT_MAX, dummy, dummy, 1.0, V, V_new, greedy, q)
        s = e


@njit(cache=True)
def value_iteration_active_kernel(st, A, r2, gamma, V, tol, max_iter, rev_ptr, rev_idx, V_new, greedy,
                                  residuals):
    """Value iteration (hard max) that sweeps only the states a change can reach.

    Identical iterates to :func:`value_iteration_kernel` (serial): a state none of whose
    successors changed in the last sweep has the same backup, so it is copied, not
    recomputed. ``rev_ptr, rev_idx`` list the predecessors of every state (CSR of the
    reversed graph). From ``V = 0`` on a local sparse model (gridworld) values spread
    from the rewarding states one step per sweep, so early sweeps touch few states; once
    more than half the states change, the tracking stops and full sweeps follow. Same
    span stop and return convention as :func:`value_iteration_kernel`.
    """
    c = gamma / (1.0 - gamma)
    S = V.shape[0]
    active = np.ones(S, dtype=np.uint8)
    full = False
    dummy = np.empty((1, 1))
    for it in range(max_iter):
        if it == 0 or full:
            _sweep(st, A, r2, gamma, ACT_MAX, dummy, dummy, 1.0, V, V_new, greedy, False)
        else:
            active_sweep(st, A, r2, gamma, V, V_new, greedy, active)
        done, lo, hi = span_stop(V, V_new, residuals, it, c, tol)
        if done:
            return it + 1
        if not full:
            full = 2 * mark_predecessors(V_new, V, rev_ptr, rev_idx, active) > S
        V[:] = V_new
    return -max_iter
