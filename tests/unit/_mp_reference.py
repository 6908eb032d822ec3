"""50-digit mpmath reference for the f-regularized max (independent of the kernels).

Written from the definitions only: ``pi_a = p_a t_a`` with ``f'(t_a) = (q_a - lam)/beta``
(textbook inverses of ``f'``, ``t_a = 0`` below ``f'(0+)``), ``lam`` by bisection on ``sum_a pi_a = 1``, and
``M = <pi, q> - beta sum_a p_a f(t_a)`` with the generator as printed in the papers.
"""

from __future__ import annotations

import mpmath as mp

DPS = 60


def _f(name, alpha, t):
    if name == "kl":
        return t * mp.log(t) if t > 0 else mp.mpf(0)
    if name == "forward_kl":
        return -mp.log(t)
    if name == "chi2":
        return (t - 1) ** 2
    if name == "hellinger":
        return (mp.sqrt(t) - 1) ** 2
    if name == "alpha":
        return (t**alpha - alpha * t - (1 - alpha)) / (alpha * (alpha - 1))
    if name == "js":
        a = t * mp.log(t) if t > 0 else mp.mpf(0)
        return (a - (1 + t) * mp.log((1 + t) / 2)) / 2
    raise ValueError(name)


def _fprime(name, alpha, t):
    if name == "kl":
        return mp.log(t) + 1
    if name == "forward_kl":
        return -1 / t
    if name == "chi2":
        return 2 * (t - 1)
    if name == "hellinger":
        return 1 - 1 / mp.sqrt(t)
    if name == "alpha":
        return (t ** (alpha - 1) - 1) / (alpha - 1)
    if name == "js":
        return mp.log(2 * t / (1 + t)) / 2
    raise ValueError(name)


def _ratio(name, alpha, u):
    """The solution ``t >= 0`` of ``f'(t) = u`` (0 below ``f'(0+)``, inf above ``f'(inf)``)."""
    if name == "kl":
        return mp.exp(u - 1)
    if name == "forward_kl":
        return -1 / u if u < 0 else mp.inf
    if name == "chi2":
        return max(mp.mpf(0), 1 + u / 2)
    if name == "hellinger":
        return 1 / (1 - u) ** 2 if u < 1 else mp.inf
    if name == "alpha":
        z = 1 + (alpha - 1) * u
        if z > 0:
            return z ** (1 / (alpha - 1))
        return mp.mpf(0) if alpha > 1 else mp.inf
    if name == "js":
        e = mp.exp(2 * u)
        return e / (2 - e) if e < 2 else mp.inf
    raise ValueError(name)


def regularized_max(name, q, p, beta, alpha=0.5):
    """``max_pi <pi, q> - beta D_f(pi || p)`` to about 50 digits."""
    # tiny reference masses need ratios up to 1/p: carry that many more digits
    dps = DPS + 3 * max(0, int(-mp.log10(min(x for x in p if x > 0))))  # z = p^(1-alpha), alpha >= -2
    with mp.workdps(dps):
        q = [mp.mpf(x) for x in q]
        p = [mp.mpf(x) for x in p]
        total = sum(p)  # the law the float input stands for: divided by its exact sum
        p = [x / total for x in p]
        beta = mp.mpf(beta)
        alpha = mp.mpf(alpha)

        def mass(lam):
            return sum(pa * _ratio(name, alpha, (qa - lam) / beta) for qa, pa in zip(q, p))

        fp1 = _fprime(name, alpha, mp.mpf(1))
        lo, hi = min(q) - beta * fp1, max(q) - beta * fp1
        for _ in range(4 * dps):
            mid = (lo + hi) / 2
            if mass(mid) >= 1:
                lo = mid
            else:
                hi = mid
        lam = (lo + hi) / 2
        t = [_ratio(name, alpha, (qa - lam) / beta) for qa in q]
        tot = sum(pa * ta for pa, ta in zip(p, t))
        t = [ta / tot for ta in t]
        M = sum(pa * ta * qa for pa, ta, qa in zip(p, t, q)) - beta * sum(
            pa * _f(name, alpha, ta) for pa, ta in zip(p, t)
        )
        return float(M), [float(pa * ta) for pa, ta in zip(p, t)]
