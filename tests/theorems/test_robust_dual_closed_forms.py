"""Tang, Liu, Xu (ICML 2025), the closed-form robust duals (CLAIMS.md B1, C6) are exact.

"inf_mu E_mu V + lam D_f(mu || mu0) = E[min(V, min V + lam)] (TV), -lam log E e^{-V/lam} (KL),
sup_alpha E[V]_alpha - Var([V]_alpha)/(4 lam) (chi2)", and the constrained form is the
Lagrangian dual "inf_{D(mu||mu0) <= rho} E_mu V = sup_{lam >= 0} {penalized(lam) - lam rho}".

Each property is checked at random (v, p, lam, rho), including laws with zeros and
constant values, against an independent NumPy route or a certificate (attainment by
the returned law, weak duality against random feasible laws).
"""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from mdpkit.divergences import KL, ChiSquare, TotalVariation, ball_inf, penalized_inf

DIVS = {"tv": TotalVariation(), "kl": KL(), "chi2": ChiSquare()}


@st.composite
def value_law(draw, max_n=10):
    n = draw(st.integers(1, max_n))
    v = np.array(draw(st.lists(st.floats(-10, 10), min_size=n, max_size=n)))
    if draw(st.booleans()) and n > 1 and draw(st.booleans()):
        v[:] = v[0]  # constant values
    w = np.array(draw(st.lists(st.floats(0.0, 1.0), min_size=n, max_size=n)))
    if draw(st.booleans()):
        w[w < 0.3] = 0.0  # exact zeros
    if w.sum() <= 1e-3:
        w[draw(st.integers(0, n - 1))] = 1.0
    w[(w > 0) & (w < 1e-3)] = 1e-3
    return v, w / w.sum()


def _chi2_brute(v, p, lam):
    """max over the sorted support values and every segment's stationary point (O(n^2) NumPy)."""
    vs = np.unique(v[p > 0])

    def g(alpha):
        x = np.minimum(v, alpha)[p > 0]
        w = p[p > 0]
        m = w @ x
        return m - w @ (x - m) ** 2 / (4 * lam)

    cands = list(vs)
    for lo, hi in zip(vs[:-1], vs[1:], strict=True):
        below = (v <= lo) & (p > 0)
        mass, first = p[below].sum(), p[below] @ v[below]
        a = (2 * lam + first) / mass  # alpha - E[v]_alpha = 2 lam on this segment
        if lo < a < hi:
            cands.append(a)
    return max(g(a) for a in cands)


@settings(deadline=None)
@given(vp=value_law(), lam=st.floats(0.05, 5.0))
def test_penalized_duals_equal_independent_closed_forms(vp, lam):
    v, p = vp
    sup = p > 0
    m = v[sup].min()
    expected = {
        "tv": p @ np.minimum(v, v.min() + lam),
        "kl": m - lam * np.log(p[sup] @ np.exp(-(v[sup] - m) / lam)),
        "chi2": _chi2_brute(v, p, lam),
    }
    scale = 1.0 + np.abs(v).max()
    for name, div in DIVS.items():
        val, q = penalized_inf(div, v, p, lam)
        assert abs(val - expected[name]) <= 1e-12 * scale, name
        # the returned law attains the value and lies on the simplex
        assert np.all(q >= 0) and abs(q.sum() - 1) <= 1e-12
        assert abs(q @ v + lam * div.value(q, p) - val) <= 1e-10 * scale, name
        # bounds: min v <= value <= E_p v
        low = v.min() if name == "tv" else m
        assert low - 1e-12 * scale <= val <= p @ v + 1e-12 * scale


@settings(deadline=None)
@given(vp=value_law(), lam=st.floats(0.05, 5.0), c=st.floats(-5, 5), data=st.data())
def test_penalized_dual_weak_duality_and_invariances(vp, lam, c, data):
    v, p = vp
    rng = np.random.default_rng(data.draw(st.integers(0, 2**31)))
    scale = 1.0 + np.abs(v).max() + abs(c)
    for name, div in DIVS.items():
        val, _ = penalized_inf(div, v, p, lam)
        # any law is an upper bound (KL, chi2: supported on supp p)
        for _ in range(5):
            q = np.zeros_like(p)
            support = p > 0 if name != "tv" else np.ones_like(p, bool)
            q[support] = rng.dirichlet(np.ones(support.sum()))
            assert q @ v + lam * div.value(q, p) >= val - 1e-10 * scale
        # shift equivariance and monotonicity
        assert abs(penalized_inf(div, v + c, p, lam)[0] - (val + c)) <= 1e-11 * scale
        assert penalized_inf(div, v + np.abs(rng.normal(size=v.size)), p, lam)[0] >= val - 1e-12 * scale


@settings(deadline=None)
@given(vp=value_law(), rho=st.floats(0.0, 2.0), lams=st.lists(st.floats(0.01, 20.0), min_size=3, max_size=3))
def test_ball_duals_feasible_attained_and_lagrangian(vp, rho, lams):
    v, p = vp
    scale = 1.0 + np.abs(v).max()
    for name, div in DIVS.items():
        val, q = ball_inf(div, v, p, rho)
        D = div.value(q, p)
        assert D <= rho + 1e-9 * (1 + rho), name
        assert abs(q @ v - val) <= 1e-11 * scale
        # weak duality: ball(rho) >= pen(lam) - lam rho for every lam
        for lam in lams:
            assert val >= penalized_inf(div, v, p, lam)[0] - lam * rho - 1e-10 * scale, name
        # shrinking in rho
        assert ball_inf(div, v, p, rho + 0.1)[0] <= val + 1e-12 * scale
        assert val <= p @ v + 1e-12 * scale
