"""Numba kernels of the online preference learners (online DPO, XPO) on a bandit.

Plain float64 arrays in, preallocated outputs, no validation (the front end in
``_online.py`` validates). Randomness comes pre-drawn: ``u[run, t, 0:3]`` are the
uniforms of the first response, the second response and the label of round ``t``.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def _draw(cdf, u):
    """Inverse CDF by bisection on an increasing cumulative array (last entry = total)."""
    x = u * cdf[-1]
    lo, hi = 0, cdf.size - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if cdf[mid] > x:
            hi = mid
        else:
            lo = mid + 1
    return lo


@njit(cache=True)
def _softmax_into(theta, pi, cdf):
    m = theta.max()
    s = 0.0
    for y in range(theta.size):
        pi[y] = np.exp(theta[y] - m)
        s += pi[y]
    c = 0.0
    for y in range(theta.size):
        pi[y] /= s
        c += pi[y]
        cdf[y] = c


@njit(cache=True)
def _gap(theta, log_ref, r, beta, j_star):
    """J_beta(pi*) - J_beta(pi) with J = E r - beta KL, from the logits (log space)."""
    m = theta.max()
    s = 0.0
    for y in range(theta.size):
        s += np.exp(theta[y] - m)
    lz = m + np.log(s)
    j = 0.0
    for y in range(theta.size):
        lp = theta[y] - lz
        j += np.exp(lp) * (r[y] - beta * (lp - log_ref[y]))
    return j_star - j


@njit(cache=True)
def _label(r, y1, y2, u):
    """(winner, loser) under Bradley-Terry preferences of r."""
    if u < 1.0 / (1.0 + np.exp(r[y2] - r[y1])):
        return y1, y2
    return y2, y1


@njit(cache=True)
def online_sgd(log_ref, r, beta, alpha, eta, from_ref, u, ck, eps, j_star, gap_out, rounds_out, pi_out):
    """Streaming online DPO / XPO: one SGD step on the logits per round (TRL's online trainers).

    Round t: y ~ pi_t, y' ~ pi_t (or pi_ref when ``from_ref``), BT label, then
    theta -= eta * grad[-log sigma(beta (g_w - g_l)) + alpha log pi(y')] (the alpha term only
    with ``from_ref``, y' being XPO's reference sample).
    """
    n_runs, T = u.shape[0], u.shape[1]
    Y = log_ref.size
    cref = np.cumsum(np.exp(log_ref))
    for run in range(n_runs):
        theta = log_ref.copy()
        pi = np.empty(Y)
        cdf = np.empty(Y)
        k = 0
        rounds_out[run] = T + 1
        for t in range(T):
            _softmax_into(theta, pi, cdf)
            if eps > 0.0 and rounds_out[run] > T and _gap(theta, log_ref, r, beta, j_star) <= eps:
                rounds_out[run] = t
            while k < ck.size and ck[k] == t:
                gap_out[run, k] = _gap(theta, log_ref, r, beta, j_star)
                k += 1
            y1 = _draw(cdf, u[run, t, 0])
            y2 = _draw(cref if from_ref else cdf, u[run, t, 1])
            w, l = _label(r, y1, y2, u[run, t, 2])
            hw = 0.0
            if w != l:
                h = beta * ((theta[w] - log_ref[w]) - (theta[l] - log_ref[l]))
                hw = -beta / (1.0 + np.exp(h))  # d/dg_w of -log sigma(h); the softmax shift cancels
            theta[w] -= eta * hw
            theta[l] += eta * hw
            if from_ref and alpha > 0.0:
                for y in range(Y):
                    theta[y] += eta * alpha * pi[y]
                theta[y2] -= eta * alpha
        while k < ck.size:
            gap_out[run, k] = _gap(theta, log_ref, r, beta, j_star)
            k += 1
        if eps > 0.0 and rounds_out[run] > T and _gap(theta, log_ref, r, beta, j_star) <= eps:
            rounds_out[run] = T
        _softmax_into(theta, pi, cdf)
        pi_out[run] = pi


@njit(cache=True)
def _objective(f, W, n_ref, t, log_ref, beta, alpha, ridge):
    """Accumulated objective of Xie et al. Alg. 1 in the implied reward f = beta log(pi/pi_ref) + c."""
    Y = f.size
    val = 0.0
    for w in range(Y):
        val += 0.5 * ridge * f[w] * f[w]
        for l in range(Y):
            if W[w, l] > 0.0 and w != l:
                d = f[w] - f[l]
                val += W[w, l] * (np.log1p(np.exp(-d)) if d > 0 else -d + np.log1p(np.exp(d)))
    if alpha > 0.0:
        m = (log_ref + f / beta).max()
        s = 0.0
        for y in range(Y):
            s += np.exp(log_ref[y] + f[y] / beta - m)
        lz = m + np.log(s)
        for y in range(Y):
            val += alpha * n_ref[y] * (f[y] / beta - lz)
    return val


@njit(cache=True)
def _objective_grad(f, W, n_ref, t, log_ref, beta, alpha, ridge, pi, g):
    Y = f.size
    for y in range(Y):
        g[y] = ridge * f[y]
    for w in range(Y):
        for l in range(Y):
            if W[w, l] > 0.0 and w != l:
                a = W[w, l] / (1.0 + np.exp(f[w] - f[l]))
                g[w] -= a
                g[l] += a
    if alpha > 0.0:
        for y in range(Y):
            g[y] += alpha * (n_ref[y] - t * pi[y]) / beta


@njit(cache=True)
def online_argmin(log_ref, r, beta, alpha, ridge, bound, n_inner, from_ref, u, ck, eps, j_star,
                  gap_out, rounds_out, pi_out):
    """Online DPO / XPO with all past data (Xie et al. 2024, Alg. 1) on implied rewards f in [0, bound].

    Round t adds the pair (y ~ pi_t, y' ~ pi_t or pi_ref) to the counts W and y' to the
    reference counts (XPO), then takes ``n_inner`` projected gradient steps (step 1/L_t) on
    sum W softplus(f_l - f_w) + ridge |f|^2/2 + alpha sum_i log pi_f(y'_i); with alpha > 0 each
    coordinate is first moved to ``bound`` when that lowers the objective (its global
    minimizer along the coordinate when the bonus dominates).
    """
    n_runs, T = u.shape[0], u.shape[1]
    Y = log_ref.size
    cref = np.cumsum(np.exp(log_ref))
    for run in range(n_runs):
        f = np.zeros(Y)
        W = np.zeros((Y, Y))
        n_ref = np.zeros(Y)
        pi = np.empty(Y)
        cdf = np.empty(Y)
        g = np.empty(Y)
        k = 0
        rounds_out[run] = T + 1
        for t in range(T):
            theta = log_ref + f / beta
            _softmax_into(theta, pi, cdf)
            if eps > 0.0 and rounds_out[run] > T and _gap(theta, log_ref, r, beta, j_star) <= eps:
                rounds_out[run] = t
            while k < ck.size and ck[k] == t:
                gap_out[run, k] = _gap(theta, log_ref, r, beta, j_star)
                k += 1
            y1 = _draw(cdf, u[run, t, 0])
            y2 = _draw(cref if from_ref else cdf, u[run, t, 1])
            w, l = _label(r, y1, y2, u[run, t, 2])
            W[w, l] += 1.0
            if from_ref:
                n_ref[y2] += 1.0
            n = t + 1.0
            if alpha > 0.0:
                for y in range(Y):
                    old = f[y]
                    base = _objective(f, W, n_ref, n, log_ref, beta, alpha, ridge)
                    f[y] = bound
                    if _objective(f, W, n_ref, n, log_ref, beta, alpha, ridge) >= base:
                        f[y] = old
            step = 1.0 / (ridge + n * (0.5 + alpha / (beta * beta)))
            for _ in range(n_inner):
                _softmax_into(log_ref + f / beta, pi, cdf)
                _objective_grad(f, W, n_ref, n, log_ref, beta, alpha, ridge, pi, g)
                for y in range(Y):
                    f[y] = min(max(f[y] - step * g[y], 0.0), bound)
        theta = log_ref + f / beta
        while k < ck.size:
            gap_out[run, k] = _gap(theta, log_ref, r, beta, j_star)
            k += 1
        if eps > 0.0 and rounds_out[run] > T and _gap(theta, log_ref, r, beta, j_star) <= eps:
            rounds_out[run] = T
        _softmax_into(theta, pi, cdf)
        pi_out[run] = pi
