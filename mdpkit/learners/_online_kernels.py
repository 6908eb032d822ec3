"""Numba kernels of the optimistic tabular learners (UCBVI, KL-regularized UCBVI).

Arrays: counts ``N[h, s, a]``, transition counts ``Nsas[h, s, a, s_next]``, reward sums
``Rsum[h, s, a]``; upper / lower / certainty-equivalent values ``V_up[h, s]``,
``V_lo[h, s]``, ``V_rec[h, s]`` with ``h = 0..H`` and ``V[H] = 0``; policies ``pi[h, s, a]``.
The action part is the exact solvers' (:func:`mdpkit.solvers._bellman_kernels.action_row`):
``beta == 0`` selects the hard max (UCBVI), ``beta > 0`` the centred KL soft max toward
``exp(log_ref)`` of :func:`mdpkit.solve_kl_regularized` (UCBVI-Ent style), so that, given
the true model and no bonus, a planning step is the exact soft backward induction.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .._config import NO_NRT
from .._sampling_kernels import inverse_cdf_index as _search
from .._sampling_kernels import sample_categorical
from ..divergences._kernels import kl_max_row
from ..mdp._mdp_kernels import backward_policy_value
from ..solvers._bellman_kernels import ACT_MAX, action_into

BONUS_HOEFFDING, BONUS_BERNSTEIN = 0, 1


@njit(cache=True, inline="always")
def _act_stage(Q, beta, log_ref, V_out, pi_out, write_pi, ref):
    """Apply the solvers' action part (:func:`mdpkit.solvers._bellman_kernels.action_into`) over one stage.

    ``beta == 0``: hard max and the greedy one-hot policy (first maximizer on ties);
    ``beta > 0``: the centred soft max ``beta * log sum_a pi_ref(a) exp(Q[s, a] / beta)`` of
    :func:`mdpkit.solve_kl_regularized` and its softmax policy. ``Q``, ``log_ref`` and
    ``pi_out`` are ``(S, A)``, ``V_out`` is ``(S,)``; ``pi_out`` is written only when ``write_pi``;
    ``ref = exp(log_ref)``, precomputed once per run. The soft rows call the solvers' row
    kernel :func:`~mdpkit.divergences._kernels.kl_max_row` with the masses given, inlined into
    the planning kernel (measured: 1.4x faster than through ``action_into``, which is compiled
    apart, on UCBVI-Ent with S=20, A=5, H=10).
    """
    if beta == 0.0:
        action_into(ACT_MAX, Q, log_ref, beta, V_out, pi_out, write_pi)
        return
    for s in range(Q.shape[0]):
        V_out[s] = kl_max_row(Q[s], log_ref[s], beta, pi_out[s], write_pi, ref[s])


@njit(cache=True)  # not fastmath: masked actions have log_ref = -inf
def ref_masses(log_ref):
    """``exp(log_ref)``: the reference masses of the KL action part, computed once per run."""
    return np.exp(log_ref)


@njit(cache=True, fastmath=True, error_model="numpy", **NO_NRT)
def plan_episode(N, Nsas, Rsum, bonus_kind, L, bonus_scale, beta, log_ref, V_up, V_lo, V_rec, pi, pi_rec,
                 q_up, q_lo, q_rec, ref):
    """Optimistic, pessimistic and certainty-equivalent backward induction on the empirical model.

    ``Q_up = min(H - h, r_hat + P_hat V_up[h+1] + b)``, ``Q_lo = max(0, r_hat + P_hat V_lo[h+1] - b)``
    and ``Q_rec = r_hat + P_hat V_rec[h+1]``; unvisited pairs get ``Q_up = H - h``, ``Q_lo = Q_rec = 0``.
    The bonus ``b`` is Hoeffding ``(H-h-1) sqrt(L / (2n))`` or the minimum of it and the
    empirical-Bernstein bonus
    ``2 sqrt(L Var_hat(V_up)/(n-1)) + 2 sqrt(L E_hat[(V_up - V_lo)^2]/(n-1)) + 7 (H-h-1) L / (3 (n-1))``,
    times ``bonus_scale``. One pass over ``Nsas`` serves the three recursions. Writes the values,
    the played policy ``pi`` (greedy or soft in ``Q_up``) and the recommended policy ``pi_rec``
    (in ``Q_rec``); ``q_up``, ``q_lo``, ``q_rec`` are ``(S, A)`` work arrays for one stage;
    ``ref = exp(log_ref)`` (:func:`ref_masses`; the online loop computes it once per run).
    Compiled without Numba's reference counting (it allocates nothing): the row views
    ``Q[s]`` of the action part otherwise cost an atomic count update each (measured: planning
    1.6x slower on UCBVI-Ent, S=20, A=5, H=10).
    """
    H, S, A = N.shape
    for h in range(H - 1, -1, -1):
        vmax = float(H - h)
        rng_v = float(H - h - 1)
        for s in range(S):
            for a in range(A):
                n = N[h, s, a]
                if n == 0.0:
                    q_up[s, a] = vmax
                    q_lo[s, a] = 0.0
                    q_rec[s, a] = 0.0
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
                q_up[s, a] = min(vmax, r + pv_up + b)
                q_lo[s, a] = max(0.0, r + pv_lo - b)
                q_rec[s, a] = r + pv_rec * inv
        _act_stage(q_rec, beta, log_ref[h], V_rec[h], pi_rec[h], True, ref[h])
        _act_stage(q_up, beta, log_ref[h], V_up[h], pi[h], True, ref[h])
        _act_stage(q_lo, beta, log_ref[h], V_lo[h], q_lo, False, ref[h])


@njit(cache=True, error_model="numpy", **NO_NRT)
def policy_value(P4, r3, pi, mu0, V):
    """Exact ``mu0 . V^pi_0`` by the MDP's backward policy evaluation; ``V`` is work (H+1, S)."""
    V[V.shape[0] - 1, :] = 0.0
    backward_policy_value(P4, r3, pi, V[:0], 1.0, V)
    out = 0.0
    for s in range(mu0.shape[0]):
        out += mu0[s] * V[0, s]
    return out


@njit(cache=True, inline="always")
def _record_bounds(k, mu0, V_up, V_lo, P4, r3, pi, V_work, v_star, upper, lower, subopt):
    """Return episode ``k``'s confidence bounds and the played policy's suboptimality.

    Episode ``k``: the confidence bounds ``mu0 . V_up[0]``, ``mu0 . V_lo[0]`` and the exact
    suboptimality of the played policy.
    """
    up = 0.0
    lo = 0.0
    for s in range(mu0.shape[0]):
        up += mu0[s] * V_up[0, s]
        lo += mu0[s] * V_lo[0, s]
    upper[k] = up
    lower[k] = lo
    subopt[k] = v_star - policy_value(P4, r3, pi, mu0, V_work)


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
    """Run the online loop: plan, evaluate, play one episode, update counts.

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
    q_up = np.empty((S, A))
    q_lo = np.empty((S, A))
    q_rec = np.empty((S, A))
    ref = ref_masses(log_ref)  # once per run
    for k in range(K):
        plan_episode(N, Nsas, Rsum, bonus_kind, L, bonus_scale, beta, log_ref, V_up, V_lo, V_rec, pi, pi_rec,
                     q_up, q_lo, q_rec, ref)
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
                a = sample_categorical(pi[h, s], np.random.random())  # noqa: NPY002
            s_next, rew = _env_step(cumP, r3, h, s, a, np.random.random())  # noqa: NPY002
            ret += rew
            N[h, s, a] += 1.0
            Nsas[h, s, a, s_next] += 1.0
            Rsum[h, s, a] += rew
            s = s_next
        returns[k] = ret
    plan_episode(N, Nsas, Rsum, bonus_kind, L, bonus_scale, beta, log_ref, V_up, V_lo, V_rec, pi, pi_rec,
                 q_up, q_lo, q_rec, ref)


@njit(cache=True, fastmath=True, error_model="numpy", **NO_NRT)
def plan_lsvi(phi, Lam_inv, M, b, bonus, sign, beta, log_ref, V, pi, w, y, q, ref):
    """Least-squares value iteration with an elliptical bonus (LSVI-UCB, Jin et al. 2020, Alg. 1).

    ``w_h = Lam_h^{-1} (b_h + M_h V[h+1])`` with ``b_h = sum phi r`` and ``M_h[:, s'] = sum phi 1{s_next = s'}``,
    ``Q_h = clip(phi . w_h + sign * bonus * ||phi||_{Lam_h^{-1}}, 0, H - h)``; ``sign = +1`` optimistic,
    ``-1`` pessimistic, ``bonus = 0`` certainty-equivalent. Writes ``V`` (H+1, S) and ``pi``; ``w``, ``y``
    are work vectors of length ``d``, ``q`` an (S, A) work array; ``ref = exp(log_ref)``
    (:func:`ref_masses`, computed once per run). Compiled without Numba's reference counting
    (nothing is allocated; see :func:`plan_episode`).
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
                q[s, a] = min(max(val, 0.0), vmax)
        _act_stage(q, beta, log_ref[h], V[h], pi[h], True, ref[h])


@njit(cache=True, error_model="numpy")
def run_lsvi_episodes(seed, cum_mu0, cumP, P4, r3, mu0, v_star, phi, bonus, beta, log_ref,
                      Lam_inv, M, b, counts, V_up, V_lo, V_rec, pi, pi_lo, pi_rec, V_work,
                      subopt, rec_subopt, returns, upper, lower):
    """Run the LSVI-UCB online loop (same trace as :func:`run_episodes`); Sherman-Morrison updates of ``Lam_inv``."""
    np.random.seed(seed)  # noqa: NPY002 (Numba's own generator, seeded from the caller's)
    H, S, A = counts.shape
    d = phi.shape[2]
    K = subopt.shape[0]
    w = np.empty(d)
    y = np.empty(d)
    q = np.empty((S, A))
    u_vec = np.empty(d)
    ref = ref_masses(log_ref)  # once per run
    for k in range(K):
        plan_lsvi(phi, Lam_inv, M, b, 0.0, 1.0, beta, log_ref, V_rec, pi_rec, w, y, q, ref)
        rec_subopt[k] = v_star - policy_value(P4, r3, pi_rec, mu0, V_work)
        plan_lsvi(phi, Lam_inv, M, b, bonus, -1.0, beta, log_ref, V_lo, pi_lo, w, y, q, ref)
        plan_lsvi(phi, Lam_inv, M, b, bonus, 1.0, beta, log_ref, V_up, pi, w, y, q, ref)
        _record_bounds(k, mu0, V_up, V_lo, P4, r3, pi, V_work, v_star, upper, lower, subopt)
        s = _search(cum_mu0, np.random.random() * cum_mu0[S - 1])  # noqa: NPY002
        ret = 0.0
        for h in range(H):
            a = sample_categorical(pi[h, s], np.random.random())  # noqa: NPY002
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
    plan_lsvi(phi, Lam_inv, M, b, bonus, 1.0, beta, log_ref, V_up, pi, w, y, q, ref)
    plan_lsvi(phi, Lam_inv, M, b, 0.0, 1.0, beta, log_ref, V_rec, pi_rec, w, y, q, ref)


# -- many independent runs: run r is seeded with seeds[r] only (any thread count, any n_runs) --
@njit(cache=True, error_model="numpy")
def run_tabular_one(seed, cum_mu0, cumP, P4, r3, mu0, v_star, bonus_kind, L, bonus_scale, beta, log_ref,
                    counts, pi, pi_rec, subopt, rec_subopt, returns, upper, lower):
    """One run of :func:`run_episodes` from empty counts; ``counts`` must be zero on entry."""
    H, S, A = counts.shape
    run_episodes(seed, cum_mu0, cumP, P4, r3, mu0, v_star, bonus_kind, L, bonus_scale, beta, log_ref,
                 counts, np.zeros((H, S, A, S)), np.zeros((H, S, A)), np.zeros((H + 1, S)),
                 np.zeros((H + 1, S)), np.zeros((H + 1, S)), pi, pi_rec, np.empty((H + 1, S)),
                 subopt, rec_subopt, returns, upper, lower)


@njit(cache=True, parallel=True)
def run_tabular_many(seeds, cum_mu0, cumP, P4, r3, mu0, v_star, bonus_kind, L, bonus_scale, beta, log_ref,
                     counts, pi, pi_rec, subopt, rec_subopt, returns, upper, lower):
    """:func:`run_tabular_one` for every run (rows of the outputs), in parallel."""
    for r in prange(seeds.size):
        run_tabular_one(seeds[r], cum_mu0, cumP, P4, r3, mu0, v_star, bonus_kind, L, bonus_scale, beta,
                        log_ref, counts[r], pi[r], pi_rec[r], subopt[r], rec_subopt[r], returns[r],
                        upper[r], lower[r])


@njit(cache=True, error_model="numpy")
def run_lsvi_one(seed, cum_mu0, cumP, P4, r3, mu0, v_star, phi, bonus, beta, log_ref, ridge,
                 counts, pi, pi_rec, subopt, rec_subopt, returns, upper, lower):
    """One run of :func:`run_lsvi_episodes` from ``Lam = ridge I`` and empty statistics."""
    H, S, A = counts.shape
    d = phi.shape[2]
    Lam_inv = np.zeros((H, d, d))
    for h in range(H):
        for i in range(d):
            Lam_inv[h, i, i] = 1.0 / ridge
    run_lsvi_episodes(seed, cum_mu0, cumP, P4, r3, mu0, v_star, phi, bonus, beta, log_ref, Lam_inv,
                      np.zeros((H, d, S)), np.zeros((H, d)), counts, np.zeros((H + 1, S)),
                      np.zeros((H + 1, S)), np.zeros((H + 1, S)), pi, np.empty((H, S, A)), pi_rec,
                      np.zeros((H + 1, S)), subopt, rec_subopt, returns, upper, lower)


@njit(cache=True, parallel=True)
def run_lsvi_many(seeds, cum_mu0, cumP, P4, r3, mu0, v_star, phi, bonus, beta, log_ref, ridge,
                  counts, pi, pi_rec, subopt, rec_subopt, returns, upper, lower):
    """:func:`run_lsvi_one` for every run (rows of the outputs), in parallel."""
    for r in prange(seeds.size):
        run_lsvi_one(seeds[r], cum_mu0, cumP, P4, r3, mu0, v_star, phi, bonus, beta, log_ref, ridge,
                     counts[r], pi[r], pi_rec[r], subopt[r], rec_subopt[r], returns[r], upper[r], lower[r])
