"""Memoryless asymptotics (Yang et al.) and InfAlign calibrated policies."""

import itertools

import numpy as np
import pytest
from scipy import integrate, stats
from scipy.special import logsumexp

import mdpkit as mk
from mdpkit.bon import _bon_kernels as K

ML = dict(token_probs=[0.4, 0.3, 0.2, 0.1], token_rewards=[0.0, 0.3, 0.6, 1.0])


def test_sequence_pmf_matches_enumeration():
    ml = mk.bon.Memoryless(**ML)
    p, r = np.array(ML["token_probs"]), np.array(ML["token_rewards"])
    n = 4
    v, lp = ml.sequence_reward_log_pmf(n)
    want = {}
    for tup in itertools.product(range(4), repeat=n):
        key = round(float(r[list(tup)].sum()), 9)
        want[key] = want.get(key, 0.0) + float(np.prod(p[list(tup)]))
    got = {round(float(x), 9): float(np.exp(l)) for x, l in zip(v, lp) if l > -np.inf}
    assert got.keys() == want.keys()
    for k in want:
        assert got[k] == pytest.approx(want[k], rel=1e-13)


def test_sequence_pmf_keeps_far_tails():
    ml = mk.bon.Memoryless(**ML)
    v, lp = ml.sequence_reward_log_pmf(2560)
    assert lp[-1] == pytest.approx(2560 * np.log(0.1), rel=1e-13)  # all tokens at r = 1
    assert lp[0] == pytest.approx(2560 * np.log(0.4), rel=1e-13)
    assert logsumexp(lp) == pytest.approx(0.0, abs=1e-11)


def test_convolution_kernel_matches_py_func():
    lp = np.log(np.array([0.5, 0.3, 0.2]))
    steps = np.array([0, 1, 3])
    o1, o2 = np.empty(3 * 3 + 1), np.empty(3 * 3 + 1)
    K.log_convolve_power(lp, steps, 3, o1)
    K.log_convolve_power.py_func(lp, steps, 3, o2)
    np.testing.assert_allclose(o1, o2, rtol=1e-14)


def test_claims_c4_reference_values():
    """CLAIMS C4: x_Delta = 0.5256 at Delta = 0.2; BoN 0.455 (n=10), 0.500 (40), 0.517 (160)."""
    ml = mk.bon.Memoryless(**ML)
    assert ml.tilted_reward_per_token(0.2) == pytest.approx(0.5256, abs=5e-5)
    for n, want in ((10, 0.455), (40, 0.500), (160, 0.517)):
        assert ml.bon_reward_per_token(n, 0.2) == pytest.approx(want, abs=5e-4)


def test_rate_function_is_legendre_transform():
    ml = mk.bon.Memoryless(**ML)
    for x in (0.05, 0.2, 0.31, 0.5, 0.9):
        ts = np.linspace(-60, 60, 240001)
        brute = np.max(ts * x - ml.cgf(ts))
        assert ml.rate_function(x) == pytest.approx(brute, abs=1e-7)
    assert ml.rate_function(ml.mean) == 0.0
    assert ml.rate_function(1.0) == pytest.approx(-np.log(0.1))
    assert ml.rate_function(0.0) == pytest.approx(-np.log(0.4))
    assert ml.rate_function(1.5) == np.inf
    d = 0.2
    assert ml.rate_function(ml.tilted_reward_per_token(d)) == pytest.approx(d, rel=1e-12)


def test_tilt_kl_is_rate_at_mean():
    """Per-token KL of the tilt at t equals I(Lambda'(t)) = t Lambda'(t) - Lambda(t)."""
    ml = mk.bon.Memoryless(**ML)
    p = np.array(ML["token_probs"])
    for t in (0.3, 2.0, 7.0):
        q = ml.token_tilt(t)
        assert np.sum(q * np.log(q / p)) == pytest.approx(ml.rate_function(ml.cgf_derivative(t)), rel=1e-10)


def test_scaled_cgf_exact_for_every_n():
    ml = mk.bon.Memoryless(**ML)
    lam, t, n = 1.5, 0.7, 30
    v, lp = ml.sequence_reward_log_pmf(n)
    lphi = lp + lam * v - logsumexp(lp + lam * v)
    exact = logsumexp(lphi + t * v) / n
    assert ml.scaled_cgf_under_tilt(t, lam) == pytest.approx(exact, rel=1e-12)
    rhs = t / lam * (ml.cgf(lam) + ml.renyi_divergence(1 + t / lam, lam))
    assert ml.scaled_cgf_under_tilt(t, lam) == pytest.approx(rhs, rel=1e-12)


def test_bon_per_token_converges_and_kl_vanishes():
    ml = mk.bon.Memoryless(**ML)
    xs = [ml.bon_reward_per_token(n, 0.2) for n in (10, 40, 160)]
    assert xs[0] < xs[1] < xs[2] < ml.tilted_reward_per_token(0.2)
    ks = [ml.bon_to_tilt_kl_per_token(n, 0.2) for n in (10, 40, 160)]
    assert ks[0] > ks[1] > ks[2] > 0
    assert ml.bon_kl_per_token(40, 0.2) <= 0.2


def test_lattice_errors():
    with pytest.raises(ValueError, match="lattice"):
        mk.bon.Memoryless(token_probs=[0.5, 0.5], token_rewards=[0.0, np.pi])
    ml = mk.bon.Memoryless(token_probs=[0.5, 0.5], token_rewards=[0.0, np.pi], lattice_step=np.pi)
    assert ml.sequence_reward_log_pmf(2)[0][-1] == pytest.approx(2 * np.pi)
    with pytest.raises(ValueError, match="`token_probs` must be non-negative and sum to 1"):
        mk.bon.Memoryless(token_probs=[0.5, 0.6], token_rewards=[0.0, 1.0])


def test_delta_errors():
    ml = mk.bon.Memoryless(**ML)
    with pytest.raises(ValueError, match=r"`delta` must be <= -log p\(r_max\)"):
        ml.tilted_reward_per_token(3.0)
    with pytest.raises(ValueError, match="`delta` must be >= 0"):
        ml.bon_reward_per_token(10, -0.1)
    with pytest.raises(ValueError, match="`n` must be >= 1"):
        ml.bon_reward_per_token(0, 0.1)


# ------------------------------------------------------------------ InfAlign
def test_identity_transform_closed_forms():
    lam = 2.0
    pol = mk.bon.CalibratedPolicy(mk.bon.identity_transform(), beta=1 / lam)
    mean_u = 1 / (-np.expm1(-lam)) - 1 / lam
    assert pol.kl == pytest.approx(lam * mean_u + np.log(lam) - np.log(np.expm1(lam)), abs=1e-13)
    assert pol.win_rate(1, against="reference") == pytest.approx(mean_u, abs=1e-13)
    Q = lambda u: np.expm1(lam * u) / np.expm1(lam)
    for n in (2, 8):
        want = integrate.quad(lambda u: u**n * n * Q(u) ** (n - 1) * lam * np.exp(lam * u) / np.expm1(lam), 0, 1, epsabs=1e-14)[0]
        assert pol.win_rate(n) == pytest.approx(want, abs=1e-12)


def test_bon_point_and_n1_reduction():
    """Win rate of q = BoN_M of the reference (density M u^{M-1}) against one sample is M/(M+1)."""
    for N in (1, 4):
        pol = mk.bon.CalibratedPolicy(mk.bon.exp_transform(3.0), beta=0.7)
        # N = 1 and against="bon" equals against="reference"
        if N == 1:
            assert pol.win_rate(1) == pol.win_rate(1, against="reference")
    pol = mk.bon.calibrated_policy(mk.bon.identity_transform(), kl=0.3)
    assert pol.kl == pytest.approx(0.3, rel=1e-10)


def test_worst_of_n_mirror():
    pol = mk.bon.CalibratedPolicy(mk.bon.neg_exp_transform(4.0), beta=0.5)
    f = lambda u: pol.pdf(u)
    Q = lambda u: integrate.quad(f, 0, u, epsabs=1e-14)[0]
    n = 3
    want = integrate.quad(lambda u: (1 - (1 - u) ** n) * n * (1 - Q(u)) ** (n - 1) * f(u), 0, 1, epsabs=1e-12)[0]
    assert pol.win_rate(n, mode="worst") == pytest.approx(want, abs=1e-9)


def test_tuned_exp_beats_identity():
    t, w = mk.bon.tune_exp_transform(4, 0.5)
    assert t > 0 and w > mk.bon.calibrated_policy(mk.bon.identity_transform(), kl=0.5).win_rate(4) + 1e-3


def test_calibration_discrete_and_ctrl():
    ref = mk.bon.Discrete([0.2, 0.3, 0.5], [3.0, 1.0, 2.0])
    np.testing.assert_allclose(mk.bon.calibrated_reward(ref), [1.0, 0.3, 0.8])
    np.testing.assert_allclose(mk.bon.calibrated_reward(ref, [0.0, 1.5, 9.0]), [0.0, 0.3, 1.0])
    pol = mk.bon.ctrl_policy(ref, mk.bon.exp_transform(2.0), 0.5)
    e = np.log(ref.probs) + np.exp(2.0 * np.array([1.0, 0.3, 0.8])) / 0.5
    np.testing.assert_allclose(pol.probs, np.exp(e - logsumexp(e)), rtol=1e-12)
    c = mk.bon.Continuous(stats.norm())
    np.testing.assert_allclose(mk.bon.calibrated_reward(c, [0.0]), [0.5])


def test_infalign_errors():
    with pytest.raises(ValueError, match="`t` must be > 0"):
        mk.bon.exp_transform(-1.0)
    with pytest.raises(TypeError, match="`transform` must be a `mk.bon.Transform`"):
        mk.bon.CalibratedPolicy(lambda u: u, 1.0)
    with pytest.raises(ValueError, match=r"`against` must be one of \['bon', 'reference'\]"):
        mk.bon.CalibratedPolicy(mk.bon.identity_transform(), 1.0).win_rate(2, against="x")
    with pytest.raises(ValueError, match="`kl` must be >= 0"):
        mk.bon.calibrated_policy(mk.bon.identity_transform(), kl=-1.0)
    with pytest.raises(ValueError, match="`reference_rewards` must not be empty"):
        mk.bon.empirical_calibrated_reward([], [1.0])
