"""Numba kernels of tabular Q-learning.

Synchronous (generative model), speedy, variance-reduced, and asynchronous along one
trajectory.

Transitions are CSR rows ``(indptr, indices, cum)`` with ``cum`` the within-row
cumulative probabilities; next states are drawn by inverse CDF. Every run calls
``np.random.seed(seed)`` first, so it depends on its seed only. ``feas[i] == 0`` marks an
infeasible pair ``i = s * A + a``: never updated, never in a max, not in the error.
Errors ``||Q - Q*||_inf`` (feasible pairs) are written at the checkpoints ``ck``.
"""

# ruff: noqa: NPY002  (Numba compiles only the legacy np.random API, seeded per run)
from __future__ import annotations

import numpy as np
from numba import njit

from .._sampling_kernels import inverse_cdf_index

ETA_CONSTANT, ETA_LINEAR, ETA_RESCALED, ETA_POLYNOMIAL = 0, 1, 2, 3
ALG_Q, ALG_SPEEDY = 0, 1


@njit(cache=True)
def step_size(code, n, gamma, eta0, omega):
    """Learning rate after ``n >= 1`` updates: constant, 1/n, 1/(1 + (1-gamma) n) or n^-omega."""
    if code == ETA_CONSTANT:
        return eta0
    if code == ETA_LINEAR:
        return 1.0 / n
    if code == ETA_RESCALED:
        return 1.0 / (1.0 + (1.0 - gamma) * n)
    return 1.0 / n ** omega


@njit(cache=True)
def _next_state(indptr, indices, cum, i):
    k0 = indptr[i]
    k1 = indptr[i + 1]
    return indices[k0 + inverse_cdf_index(cum[k0:k1], np.random.random() * cum[k1 - 1])]


@njit(cache=True)
def _greedy_values(Q, feas, S, A, V):
    for s in range(S):
        v = -np.inf
        for a in range(A):
            if feas[s * A + a] != 0:
                v = max(v, Q[s * A + a])
        V[s] = v


@njit(cache=True)
def _sup_error(Q, Q_star, feas):
    e = 0.0
    for i in range(Q.shape[0]):
        if feas[i] != 0:
            e = max(e, abs(Q[i] - Q_star[i]))
    return e


@njit(cache=True)
def synchronous_run(alg, indptr, indices, cum, r2, feas, gamma, S, A, n_iter, eta_code, eta0, omega,
                    Q_star, ck, seed, Q, err_out):
    """Run synchronous Q-learning (``ALG_Q``) or speedy Q-learning (``ALG_SPEEDY``, Azar et al. 2011).

    Iteration ``t = 1..n_iter`` draws one ``s' ~ P(.|s, a)`` for every pair. Q-learning:
    ``Q_t = (1 - eta_t) Q_{t-1} + eta_t (r + gamma max Q_{t-1}(s', .))``. Speedy, with
    ``alpha = 1/t`` and the same ``s'`` in both empirical operators:
    ``Q_t = Q_{t-1} + alpha (T Q_{t-2} - Q_{t-1}) + (1 - alpha)(T Q_{t-1} - T Q_{t-2})``.
    """
    np.random.seed(seed)
    n = S * A
    Q[:] = 0.0
    Q_prev = Q.copy()
    Q_new = np.empty(n)
    V = np.empty(S)
    V_prev = np.empty(S)
    j = 0
    for t in range(1, n_iter + 1):
        _greedy_values(Q, feas, S, A, V)
        if alg == ALG_SPEEDY:
            _greedy_values(Q_prev, feas, S, A, V_prev)
        eta = step_size(eta_code, t, gamma, eta0, omega)
        for i in range(n):
            if feas[i] == 0:
                Q_new[i] = 0.0
                continue
            s2 = _next_state(indptr, indices, cum, i)
            target = r2[i] + gamma * V[s2]
            if alg == ALG_Q:
                Q_new[i] = (1.0 - eta) * Q[i] + eta * target
            else:
                alpha = 1.0 / t
                old = r2[i] + gamma * V_prev[s2]
                Q_new[i] = Q[i] + alpha * (old - Q[i]) + (1.0 - alpha) * (target - old)
        Q_prev[:] = Q
        Q[:] = Q_new
        while j < ck.shape[0] and ck[j] == t:
            err_out[j] = _sup_error(Q, Q_star, feas)
            j += 1


@njit(cache=True)
def variance_reduced_run(indptr, indices, cum, r2, feas, gamma, S, A, epoch_length, recenter, Q_star, seed,
                         Q, err_out):
    """Variance-reduced Q-learning (Wainwright 2019): one checkpoint per epoch.

    Epoch ``m`` recentres at ``Qbar = Q`` with the Monte-Carlo operator
    ``Ttil(s, a) = r + gamma mean_{n <= recenter[m]} max Qbar(s'_n, .)``, then runs
    ``epoch_length`` steps ``Q <- (1 - eta_k) Q + eta_k (gamma (max Q(s') - max Qbar(s')) + Ttil)``
    with ``eta_k = 1 / (1 + (1 - gamma) k)`` and one fresh ``s'`` per pair and step.
    """
    np.random.seed(seed)
    n = S * A
    Q[:] = 0.0
    Q_new = np.empty(n)
    V = np.empty(S)
    V_bar = np.empty(S)
    T_til = np.empty(n)
    for m in range(recenter.shape[0]):
        _greedy_values(Q, feas, S, A, V_bar)
        for i in range(n):
            if feas[i] == 0:
                T_til[i] = 0.0
                continue
            acc = 0.0
            for _ in range(recenter[m]):
                acc += V_bar[_next_state(indptr, indices, cum, i)]
            T_til[i] = r2[i] + gamma * acc / recenter[m]
        for k in range(1, epoch_length + 1):
            _greedy_values(Q, feas, S, A, V)
            eta = 1.0 / (1.0 + (1.0 - gamma) * k)
            for i in range(n):
                if feas[i] == 0:
                    Q_new[i] = 0.0
                    continue
                s2 = _next_state(indptr, indices, cum, i)
                Q_new[i] = (1.0 - eta) * Q[i] + eta * (gamma * (V[s2] - V_bar[s2]) + T_til[i])
            Q[:] = Q_new
        err_out[m] = _sup_error(Q, Q_star, feas)


@njit(cache=True)
def trajectory_run(indptr, indices, cum, r2, feas, gamma, S, A, n_steps, eta_code, eta0, omega, cum_mu0,
                   cum_pi, Q_star, ck, seed, Q, err_out):
    """Asynchronous Q-learning (Watkins) along one trajectory of the behaviour policy.

    Step ``t`` plays ``a_t ~ pi_b(.|s_t)``, draws ``s_{t+1}`` and updates the visited pair
    only, with the learning rate of its visit count ``n(s_t, a_t)``.
    """
    np.random.seed(seed)
    Q[:] = 0.0
    counts = np.zeros(S * A)
    s = inverse_cdf_index(cum_mu0, np.random.random() * cum_mu0[S - 1])
    j = 0
    for t in range(1, n_steps + 1):
        a = inverse_cdf_index(cum_pi[s], np.random.random() * cum_pi[s, A - 1])
        i = s * A + a
        s2 = _next_state(indptr, indices, cum, i)
        counts[i] += 1.0
        eta = step_size(eta_code, counts[i], gamma, eta0, omega)
        v = -np.inf
        for b in range(A):
            if feas[s2 * A + b] != 0:
                v = max(v, Q[s2 * A + b])
        Q[i] += eta * (r2[i] + gamma * v - Q[i])
        s = s2
        while j < ck.shape[0] and ck[j] == t:
            err_out[j] = _sup_error(Q, Q_star, feas)
            j += 1


@njit(cache=True)
def many_runs(kind, alg, indptr, indices, cum, r2, feas, gamma, S, A, n_iter, eta_code, eta0, omega, cum_mu0,
              cum_pi, epoch_length, recenter, Q_star, ck, seeds, Q_out, err_out):
    """Run ``seeds.shape[0]`` independent runs of one algorithm (``kind``: 0 synchronous, 1 VR, 2 trajectory)."""
    for run in range(seeds.shape[0]):
        if kind == 0:
            synchronous_run(alg, indptr, indices, cum, r2, feas, gamma, S, A, n_iter, eta_code, eta0, omega,
                            Q_star, ck, seeds[run], Q_out[run], err_out[run])
        elif kind == 1:
            variance_reduced_run(indptr, indices, cum, r2, feas, gamma, S, A, epoch_length, recenter, Q_star,
                                 seeds[run], Q_out[run], err_out[run])
        else:
            trajectory_run(indptr, indices, cum, r2, feas, gamma, S, A, n_iter, eta_code, eta0, omega, cum_mu0,
                           cum_pi, Q_star, ck, seeds[run], Q_out[run], err_out[run])
