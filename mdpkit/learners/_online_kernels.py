"""Numba kernels of the optimistic tabular learners (UCBVI, KL-regularized UCBVI).

Arrays: counts ``N[h, s, a]``, transition counts ``Nsas[h, s, a, s_next]``, reward sums
``Rsum[h, s, a]``; upper / lower / certainty-equivalent values ``V_up[h, s]``,
``V_lo[h, s]``, ``V_rec[h, s]`` with ``h = 0..H`` and ``V[H] = 0``; policies ``pi[h, s, a]``. ``beta == 0`` selects the hard max (UCBVI),
``beta > 0`` the KL-regularized soft max toward ``exp(log_ref)`` (UCBVI-Ent style).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .._sampling_kernels import inverse_cdf_index as _search

BONUS_HOEFFDING, BONUS_BERNSTEIN = 0, 1


@njit(cache=True, inline="always", error_model="numpy")
def _act(q, beta, log_ref, h, s, pi):
    """Action part for one state: hard max (``beta == 0``) or soft max toward ``exp(log_ref)``; writes ``pi[h, s]``."""
    A = q.shape[0]
    if beta == 0.0:
        best = 0
        for a in range(1, A):
            if q[a] > q[best]:
                best = a
        for a in range(A):
            pi[h, s, a] = 0.0
        pi[h, s, best] = 1.0
        return q[best]
    m = -np.inf
    for a in range(A):
        m = max(m, q[a] / beta + log_ref[h, s, a])
    z = 0.0
    for a in range(A):
        e = np.exp(q[a] / beta + log_ref[h, s, a] - m)
        pi[h, s, a] = e
        z += e
    for a in range(A):
        pi[h, s, a] /= z
    return beta * (m + np.log(z))


@njit(cache=True, fastmath=True, error_model="numpy")
def plan_episode(N, Nsas, Rsum, bonus_kind, L, bonus_scale, beta, log_ref, V_up, V_lo, V_rec, pi, pi_rec,
                 q_up, q_lo, q_rec):
    """Optimistic, pessimistic and certainty-equivalent backward induction on the empirical model.

    ``Q_up = min(H - h, r_hat + P_hat V_up[h+1] + b)``, ``Q_lo = max(0, r_hat + P_hat V_lo[h+1] - b)``
    and ``Q_rec = r_hat + P_hat V_rec[h+1]``; unvisited pairs get ``Q_up = H - h``, ``Q_lo = Q_rec = 0``.
    The bonus ``b`` is Hoeffding ``(H-h-1) sqrt(L / (2n))`` or the minimum of it and the
    empirical-Bernstein bonus
    ``2 sqrt(L Var_hat(V_up)/(n-1)) + 2 sqrt(L E_hat[(V_up - V_lo)^2]/(n-1)) + 7 (H-h-1) L / (3 (n-1))``,
    times ``bonus_scale``. One pass over ``Nsas`` serves the three recursions. Writes the values,
    the played policy ``pi`` (greedy or soft in ``Q_up``) and the recommended policy ``pi_rec``
    (in ``Q_rec``); ``q_up``, ``q_lo``, ``q_rec`` are work rows of length ``A``.
    """
    H, S, A = N.shape
    for h in range(H - 1, -1, -1):
        vmax = float(H - h)
        rng_v = float(H - h - 1)
        for s in range(S):
            for a in range(A):
                n = N[h, s, a]
                if n == 0.0:
                    q_up[a] = vmax
                    q_lo[a] = 0.0
                    q_rec[a] = 0.0
                    continue
                inv = 1.0 / n
                pv_up = 0.0
                pv_lo = 0.0
                pv_rec = 0.0
                pv2 = 0.0
                gap2 = 0.0
                if bonus_kind == BONUS_BERNSTEIN:
                    for t in range(S):
                        c = Nsas[h, s, a, t]
                        vu = V_up[h + 1, t]
                        vl = V_lo[h + 1, t]
                        pv_up += c * vu
                        pv_lo += c * vl
                        pv_rec += c * V_rec[h + 1, t]
                        pv2 += c * vu * vu
                        gap2 += c * (vu - vl) * (vu - vl)
                else:
                    for t in range(S):
                        c = Nsas[h, s, a, t]
                        pv_up += c * V_up[h + 1, t]
                        pv_lo += c * V_lo[h + 1, t]
                        pv_rec += c * V_rec[h + 1, t]
                pv_up *= inv
                pv_lo *= inv
                b = rng_v * np.sqrt(0.5 * L * inv)
                if bonus_kind == BONUS_BERNSTEIN and n > 1.0:
                    var = max(pv2 * inv - pv_up * pv_up, 0.0)
                    inv1 = 1.0 / (n - 1.0)
                    bb = (2.0 * np.sqrt(L * var * inv1) + 2.0 * np.sqrt(L * gap2 * inv * inv1)
                          + 7.0 * rng_v * L * inv1 / 3.0)
                    if bb < b:
                        b = bb
                b *= bonus_scale
                r = Rsum[h, s, a] * inv
                q_up[a] = min(vmax, r + pv_up + b)
                q_lo[a] = max(0.0, r + pv_lo - b)
                q_rec[a] = r + pv_rec * inv
            V_rec[h, s] = _act(q_rec, beta, log_ref, h, s, pi_rec)
            if beta == 0.0:
                best = 0
                best_lo = q_lo[0]
                for a in range(1, A):
                    if q_up[a] > q_up[best]:
                        best = a
                    if q_lo[a] > best_lo:
                        best_lo = q_lo[a]
                V_up[h, s] = q_up[best]
                V_lo[h, s] = best_lo
                for a in range(A):
                    pi[h, s, a] = 0.0
                pi[h, s, best] = 1.0
            else:
                m_up = -np.inf
                m_lo = -np.inf
                for a in range(A):
                    m_up = max(m_up, q_up[a] / beta + log_ref[h, s, a])
                    m_lo = max(m_lo, q_lo[a] / beta + log_ref[h, s, a])
                z_up = 0.0
                z_lo = 0.0
                for a in range(A):
                    e = np.exp(q_up[a] / beta + log_ref[h, s, a] - m_up)
                    pi[h, s, a] = e
                    z_up += e
                    z_lo += np.exp(q_lo[a] / beta + log_ref[h, s, a] - m_lo)
                for a in range(A):
                    pi[h, s, a] /= z_up
                V_up[h, s] = beta * (m_up + np.log(z_up))
                V_lo[h, s] = beta * (m_lo + np.log(z_lo))


@njit(cache=True, fastmath=True, error_model="numpy")
def policy_value(P4, r3, pi, mu0, V):
    """Exact ``mu0 . V^pi_0`` by backward recursion ``V_h = sum_a pi (r_h + P_h V_{h+1})``; ``V`` is work (H+1, S)."""
    H, S, A = pi.shape
    for s in range(S):
        V[H, s] = 0.0
    for h in range(H - 1, -1, -1):
        hp = h if P4.shape[0] > 1 else 0
        hr = h if r3.shape[0] > 1 else 0
        for s in range(S):
            v = 0.0
            for a in range(A):
                p = pi[h, s, a]
                if p != 0.0:
                    acc = r3[hr, s, a]
                    for t in range(S):
                        acc += P4[hp, s, a, t] * V[h + 1, t]
                    v += p * acc
            V[h, s] = v
    out = 0.0
    for s in range(S):
        out += mu0[s] * V[0, s]
    return out


@njit(cache=True, inline="always")
def _record_bounds(k, mu0, V_up, V_lo, P4, r3, pi, V_work, v_star, upper, lower, subopt):
    """Episode ``k``: the confidence bounds ``mu0 . V_up[0]``, ``mu0 . V_lo[0]`` and the exact
    suboptimality of the played policy."""
    up = 0.0
    lo = 0.0
    for s in range(mu0.shape[0]):
        up += mu0[s] * V_up[0, s]
        lo += mu0[s] * V_lo[0, s]
    upper[k] = up
    lower[k] = lo
    subopt[k] = v_star - policy_value(P4, r3, pi, mu0, V_work)


@njit(cache=True, inline="always")
def _sample_action(pi_row, u):
    """One action from ``pi_row`` by inverse CDF at the uniform ``u``.

    Random numbers are drawn by the caller, so the kernels and their ``.py_func`` use
    the same stream.
    """
    acc = 0.0
    for b in range(pi_row.shape[0]):
        acc += pi_row[b]
        if u < acc:
            return b
    return pi_row.shape[0] - 1


@njit(cache=True, inline="always")
def _env_step(cumP, r3, h, s, a, u):
    """Next state (inverse CDF at the uniform ``u``) and reward of ``(s, a)`` at stage ``h``."""
    row = cumP[h if cumP.shape[0] > 1 else 0, s, a]
    s_next = _search(row, u * row[row.shape[0] - 1])
    return s_next, r3[h if r3.shape[0] > 1 else 0, s, a]


@njit(cache=True, error_model="numpy")
def run_episodes(seed, cum_mu0, cumP, P4, r3, mu0, v_star, bonus_kind, L, bonus_scale, beta, log_ref,
                 N, Nsas, Rsum, V_up, V_lo, V_rec, pi, pi_rec, V_work, subopt, rec_subopt, returns, upper,
                 lower):
    """The online loop: plan, evaluate, play one episode, update counts.

    Before episode ``k`` the kernel plans (:func:`plan_episode`: the played policy ``pi``
    and the recommended policy ``pi_rec``), and writes
    ``subopt[k] = v_star - mu0.V^{pi}_0``, ``rec_subopt[k] = v_star - mu0.V^{pi_rec}_0``,
    ``mu0.V_up_0``, ``mu0.V_lo_0`` and the realized return. After the loop ``pi`` and
    ``pi_rec`` hold the policies planned from all episodes. Environment randomness comes
    from ``np.random.seed(seed)``.
    """
    np.random.seed(seed)  # noqa: NPY002 (Numba's own generator, seeded from the caller's)
    H, S, A = N.shape
    K = subopt.shape[0]
    q_up = np.empty(A)
    q_lo = np.empty(A)
    q_rec = np.empty(A)
    for k in range(K):
        plan_episode(N, Nsas, Rsum, bonus_kind, L, bonus_scale, beta, log_ref, V_up, V_lo, V_rec, pi, pi_rec,
                     q_up, q_lo, q_rec)
        rec_subopt[k] = v_star - policy_value(P4, r3, pi_rec, mu0, V_work)
        _record_bounds(k, mu0, V_up, V_lo, P4, r3, pi, V_work, v_star, upper, lower, subopt)
        s = _search(cum_mu0, np.random.random() * cum_mu0[S - 1])  # noqa: NPY002
        ret = 0.0
        for h in range(H):
            a = 0
            if beta == 0.0:
                for b in range(A):
                    if pi[h, s, b] == 1.0:
                        a = b
            else:
                a = _sample_action(pi[h, s], np.random.random())  # noqa: NPY002
            s_next, rew = _env_step(cumP, r3, h, s, a, np.random.random())  # noqa: NPY002
            ret += rew
            N[h, s, a] += 1.0
            Nsas[h, s, a, s_next] += 1.0
            Rsum[h, s, a] += rew
            s = s_next
        returns[k] = ret
    plan_episode(N, Nsas, Rsum, bonus_kind, L, bonus_scale, beta, log_ref, V_up, V_lo, V_rec, pi, pi_rec,
                 q_up, q_lo, q_rec)


@njit(cache=True, fastmath=True, error_model="numpy")
def plan_lsvi(phi, Lam_inv, M, b, bonus, sign, beta, log_ref, V, pi, w, y, q):
    """Least-squares value iteration with an elliptical bonus (LSVI-UCB, Jin et al. 2020, Alg. 1).

    ``w_h = Lam_h^{-1} (b_h + M_h V[h+1])`` with ``b_h = sum phi r`` and ``M_h[:, s'] = sum phi 1{s_next = s'}``,
    ``Q_h = clip(phi . w_h + sign * bonus * ||phi||_{Lam_h^{-1}}, 0, H - h)``; ``sign = +1`` optimistic,
    ``-1`` pessimistic, ``bonus = 0`` certainty-equivalent. Writes ``V`` (H+1, S) and ``pi``.
    """
    H = Lam_inv.shape[0]
    S, A, d = phi.shape
    for h in range(H - 1, -1, -1):
        vmax = float(H - h)
        for i in range(d):
            acc = b[h, i]
            for t in range(S):
                acc += M[h, i, t] * V[h + 1, t]
            y[i] = acc
        for i in range(d):
            acc = 0.0
            for j in range(d):
                acc += Lam_inv[h, i, j] * y[j]
            w[i] = acc
        for s in range(S):
            for a in range(A):
                val = 0.0
                for i in range(d):
                    val += w[i] * phi[s, a, i]
                if bonus != 0.0:
                    quad = 0.0
                    for i in range(d):
                        acc = 0.0
                        for j in range(d):
                            acc += Lam_inv[h, i, j] * phi[s, a, j]
                        quad += phi[s, a, i] * acc
                    val += sign * bonus * np.sqrt(max(quad, 0.0))
                q[a] = min(max(val, 0.0), vmax)
            V[h, s] = _act(q, beta, log_ref, h, s, pi)


@njit(cache=True, error_model="numpy")
def run_lsvi_episodes(seed, cum_mu0, cumP, P4, r3, mu0, v_star, phi, bonus, beta, log_ref,
                      Lam_inv, M, b, counts, V_up, V_lo, V_rec, pi, pi_lo, pi_rec, V_work,
                      subopt, rec_subopt, returns, upper, lower):
    """The LSVI-UCB online loop (same trace as :func:`run_episodes`); Sherman-Morrison updates of ``Lam_inv``."""
    np.random.seed(seed)  # noqa: NPY002 (Numba's own generator, seeded from the caller's)
    H, S, A = counts.shape
    d = phi.shape[2]
    K = subopt.shape[0]
    w = np.empty(d)
    y = np.empty(d)
    q = np.empty(A)
    u_vec = np.empty(d)
    for k in range(K):
        plan_lsvi(phi, Lam_inv, M, b, 0.0, 1.0, beta, log_ref, V_rec, pi_rec, w, y, q)
        rec_subopt[k] = v_star - policy_value(P4, r3, pi_rec, mu0, V_work)
        plan_lsvi(phi, Lam_inv, M, b, bonus, -1.0, beta, log_ref, V_lo, pi_lo, w, y, q)
        plan_lsvi(phi, Lam_inv, M, b, bonus, 1.0, beta, log_ref, V_up, pi, w, y, q)
        _record_bounds(k, mu0, V_up, V_lo, P4, r3, pi, V_work, v_star, upper, lower, subopt)
        s = _search(cum_mu0, np.random.random() * cum_mu0[S - 1])  # noqa: NPY002
        ret = 0.0
        for h in range(H):
            a = _sample_action(pi[h, s], np.random.random())  # noqa: NPY002
            s_next, rew = _env_step(cumP, r3, h, s, a, np.random.random())  # noqa: NPY002
            ret += rew
            counts[h, s, a] += 1.0
            quad = 0.0
            for i in range(d):
                acc = 0.0
                for j in range(d):
                    acc += Lam_inv[h, i, j] * phi[s, a, j]
                u_vec[i] = acc
                quad += phi[s, a, i] * acc
            denom = 1.0 + quad
            for i in range(d):
                for j in range(d):
                    Lam_inv[h, i, j] -= u_vec[i] * u_vec[j] / denom
                M[h, i, s_next] += phi[s, a, i]
                b[h, i] += phi[s, a, i] * rew
            s = s_next
        returns[k] = ret
    plan_lsvi(phi, Lam_inv, M, b, bonus, 1.0, beta, log_ref, V_up, pi, w, y, q)
    plan_lsvi(phi, Lam_inv, M, b, 0.0, 1.0, beta, log_ref, V_rec, pi_rec, w, y, q)
