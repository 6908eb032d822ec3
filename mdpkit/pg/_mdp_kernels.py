"""Compiled sampled policy-gradient dynamics of tabular softmax MDPs (trajectories); no validation.

Layout: logit rows ``z[hz * S + s, a]`` (``hz`` the stage for finite horizon, 0 otherwise),
cumulative transition rows ``pc[(hp * S + s) * A + a, s']``, rewards ``r[(hr * S + s) * A + a]``
with ``hp``/``hr`` 0 for stationary models. Each run owns a xoshiro256+ stream (see
:mod:`mdpkit.pg._sampled_kernels`), so results do not depend on the thread count.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ._exact_kernels import softmax_rows
from ._sampled_kernels import REINFORCE_BASELINE, group_advantages, rng_init, uniform


@njit(cache=True)
def search(cdf, i, u):
    """First column k of row i with u < cdf[i, k] (binary search; the last column if none)."""
    lo = 0
    hi = cdf.shape[1] - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if u < cdf[i, mid]:
            hi = mid
        else:
            lo = mid + 1
    return lo


@njit(cache=True)
def rollout(pc, r, mu_c, pcdf, term, dims, gamma, state, vis, n0):
    """One trajectory from mu0; appends its visits (row * A + a) to vis from n0; returns (R, n, vis).

    Finite horizon H: R = sum_h gamma^h r_h + gamma^H V_H(s_H). Discounted: the episode
    stops after each step with probability 1 - gamma and R is the undiscounted sum, whose
    mean is the discounted value and whose REINFORCE gradient is unbiased.
    """
    S, A, H, Hz, Hp, Hr = dims[0], dims[1], dims[2], dims[3], dims[4], dims[5]
    s = search(mu_c, 0, uniform(state) * mu_c[0, S - 1])
    R = 0.0
    disc = 1.0
    n = n0
    h = 0
    while True:
        if n == vis.size:   # grow the visit buffer (geometric episodes are unbounded)
            bigger = np.empty(2 * vis.size, dtype=np.int64)
            bigger[:n] = vis[:n]
            vis = bigger
        row = (h if Hz > 1 else 0) * S + s
        a = search(pcdf, row, uniform(state) * pcdf[row, A - 1])
        vis[n] = row * A + a
        n += 1
        k = ((h if Hr > 1 else 0) * S + s) * A + a
        R += disc * r[k]
        t = ((h if Hp > 1 else 0) * S + s) * A + a
        s = search(pc, t, uniform(state) * pc[t, S - 1])
        h += 1
        if H > 0:
            disc *= gamma
            if h == H:
                R += disc * term[s]
                break
        elif uniform(state) >= gamma:
            break
    return R, n, vis


@njit(cache=True)
def start_value(P, r, mu0, term, pi, dims, gamma):
    """mu0 . V^pi: backward recursion (finite horizon) or (I - gamma P_pi) V = r_pi (discounted)."""
    S, A, H, Hz, Hp, Hr = dims[0], dims[1], dims[2], dims[3], dims[4], dims[5]
    if H > 0:
        V = term.copy()
        for h in range(H - 1, -1, -1):
            Vn = np.zeros(S)
            for s in range(S):
                row = (h if Hz > 1 else 0) * S + s
                for a in range(A):
                    k = ((h if Hp > 1 else 0) * S + s) * A + a
                    ev = 0.0
                    for s2 in range(S):
                        ev += P[k, s2] * V[s2]
                    Vn[s] += pi[row, a] * (r[((h if Hr > 1 else 0) * S + s) * A + a] + gamma * ev)
            V = Vn
    else:
        M = np.eye(S)
        rp = np.zeros(S)
        for s in range(S):
            for a in range(A):
                rp[s] += pi[s, a] * r[s * A + a]
                for s2 in range(S):
                    M[s, s2] -= gamma * pi[s, a] * P[s * A + a, s2]
        V = np.linalg.solve(M, rp)
    return float(np.dot(mu0, V))


@njit(cache=True)
def mdp_step(z, pi, lp, H_row, P, pc, r, mu0, mu_c, term, dims, gamma, code, G, eta, eps, bnpo_a,
             bnpo_b, r_max, state, vis, R, adv, grad, coef, starts):
    """One sampled step: G trajectories, group advantages of their returns, score-function ascent.

    dz_row = eta / G sum_i A_i sum_{visits (row, a) of i} (e_a - pi_row). Returns (mean return, vis).
    """
    A = dims[1]
    softmax_rows(z, pi, lp, H_row)
    pcdf = lp   # log pi is not needed below: reuse its storage for the cumulative policy
    for i in range(z.shape[0]):
        acc = 0.0
        for a in range(A):
            acc += pi[i, a]
            pcdf[i, a] = acc
    n = 0
    for g in range(G):
        starts[g] = n
        R[g], n, vis = rollout(pc, r, mu_c, pcdf, term, dims, gamma, state, vis, n)
    starts[G] = n
    base = 0.0
    if code == REINFORCE_BASELINE:
        base = start_value(P, r, mu0, term, pi, dims, gamma)
    group_advantages(code, R, 0, G, base, eps, bnpo_a, bnpo_b, r_max, adv)
    grad[:, :] = 0.0
    coef[:] = 0.0
    for g in range(G):
        w = eta * adv[g] / G
        for k in range(starts[g], starts[g + 1]):
            row = vis[k] // A
            grad[row, vis[k] - row * A] += w
            coef[row] += w
    for i in range(z.shape[0]):
        for a in range(A):
            z[i, a] += grad[i, a] - coef[i] * pi[i, a]
    return R.mean(), vis


@njit(cache=True)
def run_sampled_mdp(P, pc, r, mu0, mu_c, term, dims, gamma, z0, prm_i, prm_f, n_steps, ck, seed,
                    z_ck, value, mean_return, z_out):
    """One seeded run: z and mu0 . V at the checkpoints, each step's mean sampled return, final z."""
    state = np.empty(4, dtype=np.uint64)
    rng_init(seed, state)
    code, G = prm_i[0], prm_i[1]
    eta, eps, bnpo_a, bnpo_b, r_max = prm_f[0], prm_f[1], prm_f[2], prm_f[3], prm_f[4]
    nrow, A = z0.shape
    z = z0.copy()
    pi, lp, H_row = np.empty((nrow, A)), np.empty((nrow, A)), np.empty(nrow)
    grad, coef = np.empty((nrow, A)), np.empty(nrow)
    vis = np.empty(64 * G, dtype=np.int64)
    R, adv, starts = np.empty(G), np.empty(G), np.empty(G + 1, dtype=np.int64)
    j = 0
    for t in range(n_steps + 1):
        if j < ck.size and ck[j] == t:
            z_ck[j] = z
            softmax_rows(z, pi, lp, H_row)
            value[j] = start_value(P, r, mu0, term, pi, dims, gamma)
            j += 1
        if t == n_steps:
            break
        mean_return[t], vis = mdp_step(z, pi, lp, H_row, P, pc, r, mu0, mu_c, term, dims, gamma,
                                       code, G, eta, eps, bnpo_a, bnpo_b, r_max, state, vis, R,
                                       adv, grad, coef, starts)
    z_out[:, :] = z


@njit(cache=True, parallel=True)
def run_sampled_mdp_many(P, pc, r, mu0, mu_c, term, dims, gamma, z0, prm_i, prm_f, n_steps, ck,
                         seeds, z_ck, value, mean_return, z_out):
    """Every run in parallel; run i depends only on seeds[i]."""
    for i in prange(seeds.size):
        run_sampled_mdp(P, pc, r, mu0, mu_c, term, dims, gamma, z0, prm_i, prm_f, n_steps, ck,
                        seeds[i], z_ck[i], value[i], mean_return[i], z_out[i])
