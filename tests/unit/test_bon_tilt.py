"""Tilted policy, KL budget solve, OREAL mixture, RLG geometric mixing."""

import numpy as np
import pytest
from scipy.special import logsumexp

import mdpkit as mk

P = np.array([0.1, 0.25, 0.05, 0.3, 0.2, 0.1])
R = np.array([1.0, 0.0, 1.0, 2.0, 0.0, 2.5])


def gibbs(p, r, beta):
    e = np.log(p) + r / beta
    return np.exp(e - logsumexp(e))


@pytest.mark.parametrize("beta", [1e-3, 0.1, 1.0, 10.0, 1e6])
def test_tilted_matches_closed_form(beta):
    ref = mk.bon.Discrete(P, R)
    np.testing.assert_allclose(mk.bon.tilted(ref, beta=beta).probs, gibbs(P, R, beta), rtol=1e-12, atol=1e-300)
    lz = logsumexp(np.log(P) + R / beta)
    assert mk.bon.log_partition(ref, beta) == pytest.approx(lz, rel=1e-13)


@pytest.mark.parametrize("delta", [1e-8, 0.01, 0.5, 1.5, 2.2])
def test_beta_for_kl_roundtrip(delta):
    ref = mk.bon.Discrete(P, R)
    b = mk.bon.beta_for_kl(ref, delta)
    assert mk.bon.kl(mk.bon.tilted(ref, beta=b), ref) == pytest.approx(delta, rel=1e-10)
    assert mk.bon.kl(mk.bon.tilted(ref, kl=delta), ref) == pytest.approx(delta, rel=1e-10)


def test_small_kl_matches_quadratic_expansion():
    ref = mk.bon.Discrete(P, R)
    var = P @ (R - P @ R) ** 2
    for beta in (1e4, 1e6, 1e8):
        k = mk.bon.kl(mk.bon.tilted(ref, beta=beta), ref)
        assert k == pytest.approx(var / (2 * beta**2), rel=1e-3)


def test_budget_endpoints():
    ref = mk.bon.Discrete(P, R)
    assert mk.bon.beta_for_kl(ref, 0.0) == np.inf
    np.testing.assert_array_equal(mk.bon.tilted(ref, kl=0.0).probs, ref.probs)
    kmax = mk.bon.max_kl(ref)
    assert kmax == pytest.approx(-np.log(0.1))
    top = mk.bon.tilted(ref, kl=kmax)
    np.testing.assert_allclose(top.probs, [0, 0, 0, 0, 0, 1.0])
    assert mk.bon.beta_for_kl(ref, kmax) == 0.0
    assert mk.bon.kl(mk.bon.tilted(ref, beta=1e-8), ref) == pytest.approx(kmax, rel=1e-14)


def test_tilt_dominates_best_of_n_at_equal_kl():
    ref = mk.bon.Discrete(P, R)
    for n in (2, 4, 16):
        b = mk.bon.best_of_n(ref, n)
        t = mk.bon.tilted(ref, kl=mk.bon.kl(b, ref))
        assert mk.bon.expected_reward(t) >= mk.bon.expected_reward(b) - 1e-12


def test_oreal_mixture():
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(7))
    r = np.array([1, 0, 0, 1, 1, 0, 0], float)
    ref = mk.bon.Discrete(p, r)
    for beta in (0.1, 1.0, 5.0):
        a = mk.bon.oreal_mixture_weight(p[r == 1].sum(), beta)
        mix = a * mk.bon.conditional(ref, 1.0).probs + (1 - a) * mk.bon.conditional(ref, 0.0).probs
        np.testing.assert_allclose(mk.bon.tilted(ref, beta=beta).probs, mix, rtol=1e-12)
    assert mk.bon.oreal_mixture_weight(0.3, 1e-6) == 1.0
    assert mk.bon.oreal_mixture_weight(0.0, 1.0) == 0.0


def test_geometric_mixture_is_tilt():
    ref = mk.bon.Discrete(P, R)
    for beta, w in ((1.0, 0.5), (0.3, 2.0), (2.0, 0.0)):
        m = mk.bon.geometric_mixture(ref, mk.bon.tilted(ref, beta=beta), w)
        want = ref.probs if w == 0 else gibbs(P, R, beta / w)
        np.testing.assert_allclose(m.probs, want, rtol=1e-12)


def test_bad_budgets():
    ref = mk.bon.Discrete(P, R)
    with pytest.raises(ValueError, match="`kl` must be >= 0"):
        mk.bon.tilted(ref, kl=-0.1)
    with pytest.raises(ValueError, match=r"`kl` must be <= log\(1/p\(top level\)\)"):
        mk.bon.tilted(ref, kl=5.0)
    with pytest.raises(ValueError, match=r"`kl` must be <= log\(1/p\(top level\)\)"):
        mk.bon.beta_for_kl(ref, 5.0)


def test_bad_beta():
    ref = mk.bon.Discrete(P, R)
    with pytest.raises(ValueError, match="`beta` must be > 0"):
        mk.bon.tilted(ref, beta=0.0)
    with pytest.raises(ValueError, match="exactly one of `beta` and `kl`"):
        mk.bon.tilted(ref, beta=1.0, kl=1.0)
    with pytest.raises(ValueError, match="exactly one of `beta` and `kl`"):
        mk.bon.tilted(ref)


def test_conditional_on_missing_level():
    with pytest.raises(ValueError, match="`reward` must be a reward level"):
        mk.bon.conditional(mk.bon.Discrete(P, R), 7.0)


def test_oreal_bad_probability():
    with pytest.raises(ValueError, match="`p_success` must be <= 1"):
        mk.bon.oreal_mixture_weight(1.5, 1.0)


def test_tilt_kernel_matches_py_func():
    from mdpkit.bon import _bon_kernels as K

    lp = np.log(P)
    o1, o2 = np.empty(4), np.empty(4)
    K.tilt_stats(lp, R, 3.0, 1.0, o1)
    K.tilt_stats.py_func(lp, R, 3.0, 1.0, o2)
    np.testing.assert_allclose(o1, o2, rtol=1e-14)
    q = gibbs(P, R, 1 / 3.0)
    assert o1[2] == pytest.approx(q @ R, rel=1e-13)
    assert o1[1] == pytest.approx(np.sum(q * np.log(q / P)), rel=1e-12)


def test_single_level_reference_tilts_to_itself_at_any_budget():
    """One reward level: every tilt is the reference (KL 0), even for a positive budget
    below rounding (the LLM validator's constant-reward case divided by a zero variance)."""
    ref = mk.bon.Discrete([0.5, 0.25, 0.25], [0.0, 0.0, 0.0])
    for kl in (0.0, 1e-20):
        t = mk.bon.tilted(ref, kl=kl)
        assert mk.bon.kl(t, ref) == 0.0
        np.testing.assert_allclose(t.probs, ref.probs)
    with pytest.raises(ValueError, match="`kl` must be <="):
        mk.bon.tilted(ref, kl=1e-3)
