"""Numba kernels of UCBVI-CH and UCBVI-BF exactly as in Azar, Osband, Munos (2017), Alg. 1-4.

Counts are per stage (the layered MDP whose states are the pairs ``(h, s)``), so the
algorithm is Azar et al.'s run on that stationary layered MDP with ``S' = S H`` states.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .._sampling_kernels import inverse_cdf_index as _search
from ._online_kernels import _env_step, policy_value

AZAR_CH, AZAR_BF = 0, 1


@njit(cache=True, error_model="numpy")
def azar_plan(N, Nsas, Rsum, Nstate, Q_prev, variant, L, S_eff, V, pi):
    """UCB-Q-values (Alg. 2): ``Q = min(Q_prev, H, r_hat + P_hat V_{h+1} + b)``, ``Q = H`` unvisited.

    ``variant == AZAR_CH``: ``b = 7 H L / sqrt(n)`` (Alg. 3). ``AZAR_BF`` (Alg. 4):
    ``b = sqrt(8 L Var_hat(V_{h+1}) / n) + 14 H L / (3 n) + sqrt(8 E_hat[min(1e4 H^3 S'^2 A L^2 /
    N'_{h+1}(y), H^2)] / n)`` with ``N'_{h+1}(y)`` the visits of ``(h+1, y)`` (the last term is 0 at
    the last stage, where ``V_{h+1} = 0`` is known). Updates ``Q_prev`` in place; greedy ``pi``
    (first maximizer).
    """
    H, S, A = N.shape
    Hf = float(H)
    for s in range(S):
        V[H, s] = 0.0
    for h in range(H - 1, -1, -1):
        for s in range(S):
            best = 0
            for a in range(A):
                n = N[h, s, a]
                if n > 0.0:
                    pv = 0.0
                    pv2 = 0.0
                    corr = 0.0
                    for t in range(S):
                        c = Nsas[h, s, a, t] / n
                        v = V[h + 1, t]
                        pv += c * v
                        pv2 += c * v * v
                        if variant == AZAR_BF and h < H - 1 and c > 0.0:
                            m = Nstate[h + 1, t]
                            cap = Hf * Hf
                            if m > 0.0:
                                cap = min(1e4 * Hf**3 * S_eff * S_eff * A * L * L / m, cap)
                            corr += c * cap
                    if variant == AZAR_CH:
                        b = 7.0 * Hf * L / np.sqrt(n)
                    else:
                        var = max(pv2 - pv * pv, 0.0)
                        b = np.sqrt(8.0 * L * var / n) + 14.0 * Hf * L / (3.0 * n) + np.sqrt(8.0 * corr / n)
                    q = min(Q_prev[h, s, a], Hf, Rsum[h, s, a] / n + pv + b)
                    Q_prev[h, s, a] = q
                if Q_prev[h, s, a] > Q_prev[h, s, best]:
                    best = a
            for a in range(A):
                pi[h, s, a] = 0.0
            pi[h, s, best] = 1.0
            V[h, s] = Q_prev[h, s, best]


@njit(cache=True, error_model="numpy")
def run_azar_episodes(seed, cum_mu0, cumP, P4, r3, mu0, v_star, variant, L, S_eff, N, Nsas, Rsum, Nstate,
                      Q_prev, V, pi, V_work, subopt, returns, upper):
    """Plan (:func:`azar_plan`), record ``v_star - mu0.V^pi_0`` and ``mu0.V_0``, play, then update counts."""
    np.random.seed(seed)  # noqa: NPY002 (Numba's own generator, seeded from the caller's)
    H, S, A = N.shape
    K = subopt.shape[0]
    for k in range(K):
        azar_plan(N, Nsas, Rsum, Nstate, Q_prev, variant, L, S_eff, V, pi)
        up = 0.0
        for s in range(S):
            up += mu0[s] * V[0, s]
        upper[k] = up
        subopt[k] = v_star - policy_value(P4, r3, pi, mu0, V_work)
        s = _search(cum_mu0, np.random.random() * cum_mu0[S - 1])  # noqa: NPY002
        ret = 0.0
        for h in range(H):
            a = 0
            for b in range(A):
                if pi[h, s, b] == 1.0:
                    a = b
            s_next, rew = _env_step(cumP, r3, h, s, a, np.random.random())  # noqa: NPY002
            ret += rew
            N[h, s, a] += 1.0
            Nsas[h, s, a, s_next] += 1.0
            Rsum[h, s, a] += rew
            Nstate[h, s] += 1.0
            s = s_next
        returns[k] = ret
    azar_plan(N, Nsas, Rsum, Nstate, Q_prev, variant, L, S_eff, V, pi)
