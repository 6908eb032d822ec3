"""Numba kernels of the tabular MDP: simulation and the one finite-horizon policy evaluation.

:func:`backward_policy_value` is the policy evaluation shared by
:meth:`mdpkit.TabularMDP.evaluate`, :func:`mdpkit.policy_evaluation` (finite horizon) and the
online learners' exact regret trace.
"""

from __future__ import annotations

from numba import njit

from .._config import NO_NRT
from .._sampling_kernels import inverse_cdf_index as _search


@njit(cache=True, fastmath=True, error_model="numpy", **NO_NRT)
def backward_policy_value(P4, r3, pi, pen, gamma, V):
    """``V[h, s] = sum_a pi[h, s, a] (r_h(s, a) + gamma sum_t P_h(t|s, a) V[h+1, t]) - pen[h, s]``.

    ``V[H]`` holds the terminal value on entry (zeros for the plain finite-horizon value).

    ``P4`` is ``(H, S, A, S)`` or ``(1, S, A, S)`` (stationary), ``r3`` likewise ``(H or 1, S, A)``;
    ``pen`` is ``(H, S)`` or has zero rows (no penalty). Actions with ``pi = 0`` are skipped.
    """
    H, S, A = pi.shape
    for h in range(H - 1, -1, -1):
        hp = h if P4.shape[0] > 1 else 0
        hr = h if r3.shape[0] > 1 else 0
        for s in range(S):
            v = 0.0
            for a in range(A):
                p = pi[h, s, a]
                if p != 0.0:
                    acc = 0.0
                    for t in range(S):
                        acc += P4[hp, s, a, t] * V[h + 1, t]
                    v += p * (r3[hr, s, a] + gamma * acc)
            V[h, s] = v - pen[h, s] if pen.shape[0] > 0 else v


@njit(cache=True)
def row_cumsum(indptr, data, out):
    """Cumulative sums of the probabilities within each CSR row."""
    for i in range(indptr.shape[0] - 1):
        acc = 0.0
        for k in range(indptr[i], indptr[i + 1]):
            acc += data[k]
            out[k] = acc


@njit(cache=True)
def simulate_kernel(u, cum_mu0, cum_pi, P_kind, cumP, indptr, indices, cum_data, r3, S, A,
                     states, actions, rewards):
    """Inverse-CDF sampling of episodes from pre-drawn uniforms ``u[episode, t, 3]``."""
    n, T = actions.shape
    for i in range(n):
        s = _search(cum_mu0, u[i, 0, 2] * cum_mu0[-1])
        states[i, 0] = s
        for t in range(T):
            hp = t if cum_pi.shape[0] > 1 else 0
            a = _search(cum_pi[hp, s], u[i, t, 0] * cum_pi[hp, s, A - 1])
            actions[i, t] = a
            hr = t if r3.shape[0] > 1 else 0
            rewards[i, t] = r3[hr, s, a]
            if P_kind == 0:
                hP = t if cumP.shape[0] > 1 else 0
                row = cumP[hP, s, a]
                s = _search(row, u[i, t, 1] * row[S - 1])
            else:
                k0 = indptr[s * A + a]
                k1 = indptr[s * A + a + 1]
                seg = cum_data[k0:k1]
                s = indices[k0 + _search(seg, u[i, t, 1] * seg[-1])]
            states[i, t + 1] = s
