"""Slow pure-Python reference implementations of the bandit algorithms.

Each reference follows the textbook description of its algorithm with plain Python
loops and draws its random numbers from ``np.random.RandomState(seed)`` in the order the
compiled kernels document (policy draws first, then the environment's draw), so that,
fed the seed of a simulated run, it must reproduce that run's pull sequence exactly.
KL-UCB indices are solved with scipy's ``brentq``, independently of the kernel's Newton
solver.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import brentq


# ----------------------------------------------------------------- random variates
def gamma_mt(rs, k):
    """Marsaglia-Tsang Gamma(k, 1) for k >= 1 (squeeze test first)."""
    d = k - 1.0 / 3.0
    c = 1.0 / math.sqrt(9.0 * d)
    while True:
        x = rs.standard_normal()
        v = 1.0 + c * x
        if v <= 0:
            continue
        v = v**3
        u = rs.random_sample()
        if u < 1 - 0.0331 * x**4 or math.log(u) < 0.5 * x * x + d * (1 - v + math.log(v)):
            return d * v


def log_gamma(rs, k):
    """log Gamma(k, 1); for k < 1 the boost G(k + 1) * U^(1/k)."""
    if k >= 1:
        return math.log(gamma_mt(rs, k))
    g = math.log(gamma_mt(rs, k + 1))
    return g + math.log(rs.random_sample()) / k


def beta_draw(rs, a, b):
    """G_a / (G_a + G_b)."""
    if a >= 1 and b >= 1:
        ga = gamma_mt(rs, a)
        gb = gamma_mt(rs, b)
        return ga / (ga + gb)
    la = log_gamma(rs, a)
    lb = log_gamma(rs, b)
    return 1.0 / (1.0 + math.exp(lb - la))


class Env:
    """Reward draws: ('bernoulli', means) | ('gaussian', means, sigmas) | ('beta', a, b) | ('table', X)."""

    def __init__(self, kind, *arrays):
        self.kind = kind
        self.arrays = [np.asarray(a, dtype=float) for a in arrays]

    def draw(self, rs, a, t):
        if self.kind == "bernoulli":
            return 1.0 if rs.random_sample() < self.arrays[0][a] else 0.0
        if self.kind == "gaussian":
            return self.arrays[0][a] + self.arrays[1][a] * rs.standard_normal()
        if self.kind == "beta":
            return beta_draw(rs, self.arrays[0][a], self.arrays[1][a])
        return float(self.arrays[0][t, a])


def argmax_first(values):
    best, arg = -math.inf, 0
    for k, v in enumerate(values):
        if v > best:
            best, arg = v, k
    return arg


def kl_bern(p, q):
    out = 0.0
    if p > 0:
        out += p * math.log(p / q)
    if p < 1:
        out += (1 - p) * math.log((1 - p) / (1 - q))
    return out


def klucb_index(p, d):
    if d <= 0:
        return p
    if p >= 1:
        return 1.0
    hi = 1 - 1e-15
    if kl_bern(p, hi) <= d:
        return 1.0
    return brentq(lambda q: kl_bern(p, q) - d, p, hi, xtol=1e-15, rtol=1e-15)


# ----------------------------------------------------------------- stochastic index policies
def run_index_reference(name, prm, env, K, horizon, seed):
    """Pull sequence and rewards of one run of a named index/sampling policy."""
    rs = np.random.RandomState(seed)
    n = [0] * K
    s = [0.0] * K
    s2 = [0.0] * K
    fails = [0.0] * K
    active = [True] * K
    phase_left = []  # successive elimination: arms still to play in this phase
    commit = None
    arms, rewards = [], []
    for t in range(horizon):
        mean = [s[k] / n[k] if n[k] else 0.0 for k in range(K)]
        if name == "ts_beta":
            a = argmax_first([beta_draw(rs, prm[0] + s[k], prm[1] + fails[k]) for k in range(K)])
        elif name == "ts_gauss":
            a = argmax_first([s[k] / (n[k] + 1) + prm[0] / math.sqrt(n[k] + 1) * rs.standard_normal()
                              for k in range(K)])
        elif name == "etc":
            if t < prm[0] * K:
                a = t % K
            else:
                if commit is None:
                    commit = argmax_first(mean)
                a = commit
        elif name == "se":
            if not phase_left:
                if t > 0:
                    r = {k: math.sqrt(2 * math.log(horizon) / n[k]) for k in range(K) if active[k]}
                    best_lcb = max(mean[k] - r[k] for k in r)
                    for k in r:
                        if mean[k] + r[k] < best_lcb:
                            active[k] = False
                phase_left = [k for k in range(K) if active[k]]
            a = phase_left.pop(0)
        elif t < K:
            a = t
        elif name == "ucb1":
            a = argmax_first([mean[k] + math.sqrt(prm[0] * math.log(t) / n[k]) for k in range(K)])
        elif name == "moss":
            a = argmax_first([mean[k] + math.sqrt(max(math.log(horizon / (K * n[k])), 0) / n[k])
                              for k in range(K)])
        elif name == "ucbv":
            e = prm[0] * math.log(t)
            idx = []
            for k in range(K):
                var = max(s2[k] / n[k] - mean[k] ** 2, 0.0)
                idx.append(mean[k] + math.sqrt(2 * var * e / n[k]) + 3 * prm[1] * prm[2] * e / n[k])
            a = argmax_first(idx)
        elif name in ("klucb", "klucb_gauss"):
            f = math.log(t) + prm[0] * math.log(max(math.log(t), 1.0))
            if name == "klucb":
                a = argmax_first([klucb_index(mean[k], f / n[k]) for k in range(K)])
            else:
                a = argmax_first([mean[k] + prm[1] * math.sqrt(2 * f / n[k]) for k in range(K)])
        elif name in ("eps", "eps_decay"):
            eps = prm[0] if name == "eps" else min(1.0, prm[0] * (K * math.log(t) / t) ** (1 / 3))
            if rs.random_sample() < eps:
                a = int(rs.random_sample() * K)
            else:
                a = argmax_first(mean)
        else:
            raise ValueError(name)
        x = env.draw(rs, a, t)
        n[a] += 1
        s[a] += x
        s2[a] += x * x
        if name == "ts_beta":
            succ = x
            if 0 < x < 1:
                succ = 1.0 if rs.random_sample() < x else 0.0
            s[a] += succ - x
            fails[a] += 1 - succ
        arms.append(a)
        rewards.append(x)
    return arms, rewards


def sample_cat(p, u):
    acc, last = 0.0, 0
    for k, pk in enumerate(p):
        if pk > 0:
            last = k
            acc += pk
            if u < acc:
                return k
    return last


def softmax(z):
    m = max(z)
    e = [math.exp(v - m) for v in z]
    tot = sum(e)
    return [v / tot for v in e]


def run_weights_reference(name, prm, env, K, horizon, seed, log_ref=None):
    """EXP3, Hedge, regret matching and the softmax policy-gradient bandit."""
    rs = np.random.RandomState(seed)
    z = [0.0] * K
    baseline = 0.0
    arms, rewards = [], []
    for t in range(horizon):
        if name == "exp3":
            g = prm[0]
            p = [(1 - g) * w + g / K for w in softmax(z)]
        elif name == "hedge":
            p = softmax([prm[0] * v for v in z])
        elif name == "rm":
            pos = [max(v, 0.0) for v in z]
            p = [v / sum(pos) for v in pos] if sum(pos) > 0 else [1.0 / K] * K
        else:
            p = softmax(z)
        a = sample_cat(p, rs.random_sample())
        if name in ("hedge", "rm"):
            xs = [env.draw(rs, k, t) for k in range(K)]
            x = xs[a]
        else:
            x = env.draw(rs, a, t)
        if name == "exp3":
            z[a] += prm[0] * x / (p[a] * K)
        elif name == "hedge":
            z = [z[k] + xs[k] for k in range(K)]
        elif name == "rm":
            ex = sum(p[k] * xs[k] for k in range(K))
            z = [z[k] + xs[k] - ex for k in range(K)]
        else:
            lr, use_b, natural, tau = prm
            adv = x - baseline if use_b else x
            if natural:
                z = [z[k] + lr * ((adv / p[k] if k == a else 0.0) - tau * (z[k] - log_ref[k]))
                     for k in range(K)]
            else:
                kl = sum(p[k] * (math.log(p[k]) - log_ref[k]) for k in range(K) if p[k] > 0)
                grad = [adv * ((k == a) - p[k]) - tau * p[k] * (math.log(p[k]) - log_ref[k] - kl)
                        for k in range(K)]
                z = [z[k] + lr * grad[k] for k in range(K)]
            baseline += (x - baseline) / (t + 1)
        arms.append(a)
        rewards.append(x)
    return arms, rewards


def run_linear_reference(name, prm, theta, X, action_set, sigma, horizon, seed):
    """LinUCB / OFUL / LinTS with explicit matrix inverses (numpy.linalg.inv) each step."""
    rs = np.random.RandomState(seed)
    lam = prm[0]
    d = theta.size
    K = X.shape[0]
    V = lam * np.eye(d)
    bvec = np.zeros(d)
    arms, gaps = [], []
    X = X.copy()
    for _ in range(horizon):
        if action_set != "fixed":
            X = np.array([[rs.standard_normal() for _ in range(d)] for _ in range(K)])
            if action_set == "sphere":
                X /= np.linalg.norm(X, axis=1, keepdims=True)
            else:
                X /= math.sqrt(d)
        Vinv = np.linalg.inv(V)
        th = Vinv @ bvec
        if name == "lints":
            L = np.linalg.cholesky(Vinv)
            zz = np.array([rs.standard_normal() for _ in range(d)])
            tt = th + prm[1] * L @ zz
            idx = X @ tt
        else:
            if name == "oful":
                logdet = np.linalg.slogdet(V)[1] - d * math.log(lam)
                width = sigma * math.sqrt(logdet + 2 * prm[2]) + math.sqrt(lam) * prm[3]
            else:
                width = prm[1]
            idx = X @ th + width * np.sqrt(np.einsum("ki,ij,kj->k", X, Vinv, X))
        a = argmax_first(list(idx))
        mu = X @ theta
        x = mu[a] + sigma * rs.standard_normal()
        V += np.outer(X[a], X[a])
        bvec += x * X[a]
        arms.append(a)
        gaps.append(mu.max() - mu[a])
    return arms, gaps
