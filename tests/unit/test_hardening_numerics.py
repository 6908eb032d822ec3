"""Regression tests for issue 12 items 1-6, 11 (sizes), 12: no silent wrong answer, no NaN.

Each expected value comes from an independent route: a 60-digit mpmath evaluation written
from the definitions (``_mp_reference``), a closed form, or a brute-force enumeration.
"""

from __future__ import annotations

import itertools
import sys
import warnings
from pathlib import Path

import mpmath as mp
import numpy as np
import pytest

import mdpkit as mk
from mdpkit import ConvergenceWarning
from mdpkit.divergences import (
    KL,
    Alpha,
    ChiSquare,
    FDivergence,
    ForwardKL,
    Hellinger,
    JensenShannon,
)

sys.path.insert(0, str(Path(__file__).parent))
from _mp_reference import regularized_max as mp_regularized_max  # noqa: E402

REF = mk.bon.Discrete([0.4, 0.3, 0.2, 0.1], [0.0, 0.3, 0.6, 1.0])


# -- item 1: soft best-of-N in log space ------------------------------------------------
@pytest.mark.parametrize("n", [10**30, 10**50, 10**400])
def test_soft_best_of_n_huge_n_is_the_tilt(n):
    # n -> inf: (w + W_2 + ... + W_n)/n -> E W, so q(y) -> p(y) w(y) / E W (closed form);
    # the O(1/n) correction is below rounding for n >= 1e30.
    q = mk.bon.soft_best_of_n(REF, n, 1.0)
    w = np.array([0.4, 0.3, 0.2, 0.1]) * np.exp([0.0, 0.3, 0.6, 1.0])
    np.testing.assert_allclose(q.probs, w / w.sum(), rtol=1e-12)
    assert mk.bon.expected_reward(q) <= 1.0


def test_soft_best_of_n_small_n_against_enumeration():
    # n = 3: q(y) = sum over the other two draws of p p' * 3 w(y) / (w(y) + w' + w''), in mpmath
    p = [mp.mpf(x) for x in ("0.4", "0.3", "0.2", "0.1")]
    w = [mp.e ** mp.mpf(x) for x in ("0", "0.3", "0.6", "1")]
    exact = [sum(3 * p[y] * p[i] * p[j] * w[y] / (w[y] + w[i] + w[j])
                 for i, j in itertools.product(range(4), repeat=2)) for y in range(4)]
    q = mk.bon.soft_best_of_n(REF, 3, 1.0)
    np.testing.assert_allclose(q.probs, [float(x) for x in exact], rtol=1e-12)


def test_computed_law_is_renormalization_checked():
    from mdpkit.bon._laws import Discrete

    with pytest.raises(FloatingPointError, match="sums to"):
        Discrete._new(np.log(np.array([0.5, 0.6])), REF._atoms.__class__(np.array([0.0, 1.0])))


# -- item 2: regularized max without cancellation ----------------------------------------
DIVS = [("forward_kl", ForwardKL()), ("chi2", ChiSquare()), ("hellinger", Hellinger()),
        ("alpha", Alpha(0.5)), ("alpha", Alpha(-1.0)), ("alpha", Alpha(3.0)), ("js", JensenShannon())]


@pytest.mark.parametrize(("name", "div"), DIVS, ids=lambda x: str(x))
def test_regularized_max_matches_60_digit_reference_for_all_beta(name, div):
    rng = np.random.default_rng(12)
    alpha = getattr(div, "alpha", 0.5)
    for beta in (1e-12, 1e-8, 1.0, 1e8, 1e12):
        for scale in (1e-6, 1.0, 1e6):
            q = rng.normal(size=3) * scale + rng.normal() * 10 * scale
            p = rng.dirichlet(np.ones(3))
            M, pi = div.regularized_max(q, p, beta)
            M_ref, pi_ref = mp_regularized_max(name, q, p, beta, alpha)
            # a few roundings of the inputs' scale: the best any float64 route can do
            assert abs(float(M) - M_ref) <= 1e-13 * (abs(M_ref) + np.abs(q).max()), (beta, scale)
            np.testing.assert_allclose(pi, pi_ref, atol=1e-12)


@pytest.mark.parametrize("div", [Alpha(0.5), JensenShannon()], ids=["alpha", "js"])
def test_issue_example_large_beta(div):
    # E_p q + Var_p(q) / (2 beta f''(1)): 5e-7 + O(1e-21)
    M, _ = div.regularized_max([0.0, 1e-6], [0.5, 0.5], beta=1e8)
    assert float(M) == pytest.approx(5e-7, rel=1e-14)


def test_alpha_minus_one_small_beta_large_q():
    q = np.array([2373.92635916, 2808.2972948, 4222.17036199]) * 1e3
    p = np.array([0.35, 0.25, 0.4])
    M, _ = Alpha(-1.0).regularized_max(q, p, beta=1e-8)
    M_ref, _ = mp_regularized_max("alpha", q, p, 1e-8, -1.0)
    assert abs(float(M) - M_ref) <= 1e-13 * np.abs(q).max()


def test_one_state_mdp_near_one_gamma_is_exact():
    # V = M(Q)/(1-gamma) for one state: the regularized max of r at the fixed point
    m = mk.TabularMDP(np.ones((1, 2, 1)), [[0.0, 1e-6]], gamma=0.999999)
    res = mk.solve(m, policy_reg=mk.PolicyRegularizer(Alpha(0.5), [[0.5, 0.5]], 1e8))
    assert res.converged and float(res.V[0]) == pytest.approx(0.5, rel=1e-9)


def test_js_large_beta_converges():
    m = mk.mdp.random_mdp(4, 3, gamma=0.99, rng=0)
    res = mk.solve(m, policy_reg=mk.PolicyRegularizer(JensenShannon(), np.full((4, 3), 1 / 3), 1e8))
    # beta -> inf: the value of the reference policy (closed form (I - gamma P_ref)^-1 r_ref)
    V_ref = mk.policy_evaluation(m, np.full((4, 3), 1 / 3))
    assert res.converged and res.n_iter < 1000
    np.testing.assert_allclose(res.V, V_ref, atol=1e-6)


# -- item 3: ForwardKL NaN, results checked whole ----------------------------------------
def test_forward_kl_small_beta_no_nan():
    M, pi = ForwardKL().regularized_max([1e9, 1e9 - 1], [0.5, 0.5], beta=1e-8)
    M_ref, pi_ref = mp_regularized_max("forward_kl", [1e9, 1e9 - 1], [0.5, 0.5], 1e-8)
    assert float(M) == pytest.approx(M_ref, rel=1e-15)
    np.testing.assert_allclose(pi, pi_ref, rtol=1e-9)


def test_forward_kl_finite_horizon_and_discounted_no_nan():
    reg = mk.PolicyRegularizer(ForwardKL(), [[0.5, 0.5]], 1e-8)
    fh = mk.solve(mk.TabularMDP(np.ones((1, 1, 2, 1)), [[[1e9, 1e9 - 1]]], horizon=1), policy_reg=reg)
    assert np.all(np.isfinite(fh.V)) and float(fh.V[0, 0]) == pytest.approx(1e9, rel=1e-15)
    d = mk.solve(mk.TabularMDP(np.ones((1, 2, 1)), [[1.0, 0.0]], gamma=0.5), policy_reg=reg)
    assert np.all(np.isfinite(d.pi)) and d.pi.sum() == pytest.approx(1.0)


def test_non_finite_result_raises():
    from mdpkit.solvers._solve import _check_finite_result

    with pytest.raises(FloatingPointError, match=r"non-finite `pi\[0, 0\]`"):
        _check_finite_result("value_iteration", V=np.zeros(1), pi=np.array([[np.nan, 0.0]]))


# -- item 4: user divergences refused -----------------------------------------------------
def test_user_divergence_refused():
    class Mine(FDivergence):
        def f(self, t):
            return np.asarray(t) ** 2 - 1

    with pytest.raises(TypeError, match="built-in f-divergences"):
        Mine()
    with pytest.raises(TypeError, match="`FDivergence` is refused"):
        FDivergence()
    assert KL().name == "kl"


# -- item 5: stopping rules with a rounding floor -----------------------------------------
def test_regularized_policy_iteration_stops_at_large_values():
    # |V| ~ 7e5 at gamma = 0.999 puts the default tol below the rounding floor: PI must stop
    # there in a few steps and say so (main ran to max_iter); value iteration with a
    # certifiable tol=1e-3 is the independent route (MacQueen bound, Puterman 6.6.3)
    m0 = mk.mdp.random_mdp(5, 3, gamma=0.999, rng=1)
    m = mk.TabularMDP(m0.P, m0.r * 1e3, gamma=0.999)
    reg = mk.PolicyRegularizer(ChiSquare(), np.full((5, 3), 1 / 3), 1.0)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        res = mk.solve(m, method="policy_iteration", policy_reg=reg, max_iter=500)
    assert res.n_iter < 50 and not res.converged and "achievable" in res.message
    assert any("rounding floor" in str(x.message) for x in w)
    vi = mk.solve(m, policy_reg=reg, tol=1e-3)
    assert vi.converged and np.abs(vi.V - res.V).max() <= 1e-3 + 1e-5


def test_converged_never_reported_above_certified_error():
    m = mk.TabularMDP(np.ones((1, 2, 1)), [[7e5, 7e5 - 1]], gamma=0.999999)
    with pytest.warns(ConvergenceWarning, match="rounding floor"):
        res = mk.solve(m)
    assert not res.converged and "achievable" in res.message
    with pytest.warns(ConvergenceWarning, match="rounding floor"):
        assert not mk.solve(m, method="policy_iteration").converged
    # a loose enough tol is certifiable: V* = 7e5 / 1e-6 = 7e11 (closed form)
    ok = mk.solve(m, tol=1e4)
    assert ok.converged and abs(float(ok.V[0]) - 7e11) <= 1e4


# -- item 6: overflow refused --------------------------------------------------------------
def test_overflowing_rewards_refused():
    with pytest.raises(ValueError, match=r"`r` must satisfy \|r\| <= 5e\+299"):
        mk.TabularMDP(np.ones((1, 2, 1)), [[1e308, 0.0]], gamma=0.5)
    with pytest.raises(ValueError, match=r"\|means\| <= 1e\+100"):
        mk.bandits.GaussianBandit([1e308, -1e308])
    with pytest.raises(ValueError, match="Beta shapes beyond 1e12"):
        mk.bandits.BetaBandit([1e15, 1.0], [1e15, 1.0])


# -- items 11, 12: sizes and silently accepted inputs --------------------------------------
def test_solve_sizes_and_v0():
    m = mk.puterman_example(0.5)
    with pytest.raises(ValueError, match=r"`max_iter` must be <= 10000000"):
        mk.solve(m, max_iter=10**10)
    fh = mk.TabularMDP(np.ones((2, 1, 2, 1)), np.zeros((2, 1, 2)), horizon=2)
    with pytest.raises(ValueError, match="`V0` is for discounted solves"):
        mk.solve(fh, V0=[1.0])


def test_complex_strings_and_bool_rng_refused():
    with pytest.raises(TypeError, match="`P` must be real; got complex"):
        mk.TabularMDP(np.ones((1, 2, 1)) + 0j, [[1.0, 0.0]], gamma=0.5)
    with pytest.raises(TypeError, match="`r` must be real numbers, not strings"):
        mk.TabularMDP(np.ones((1, 2, 1)), [["1", "0"]], gamma=0.5)
    with pytest.raises(TypeError, match="bool True"):
        mk.mdp.random_mdp(3, 2, gamma=0.9, rng=True)


# -- item 11: extreme rewards/masses in the tilt, sizes, readable errors -------------------
def test_tilt_at_extreme_scales_matches_closed_form():
    # two atoms (1/2, 1/2): KL(q || p) = q log 2q + (1 - q) log 2(1 - q) = 0.1, whatever the
    # reward scale (the tilt is scale-free); solved independently in mpmath
    q_top = float(mp.findroot(lambda q: q * mp.log(2 * q) + (1 - q) * mp.log(2 * (1 - q)) - mp.mpf("0.1"),
                              mp.mpf("0.7")))
    for scale in (1.0, 1e200, 1e-200):
        law = mk.bon.Discrete([0.5, 0.5], [0.0, scale])
        assert mk.bon.tilted(law, kl=0.1).probs[1] == pytest.approx(q_top, rel=1e-10)
        assert mk.bon.beta_for_kl(law, 0.1) == pytest.approx(scale * mk.bon.beta_for_kl(
            mk.bon.Discrete([0.5, 0.5], [0.0, 1.0]), 0.1), rel=1e-10)
        fr = mk.bon.frontier(law, kl_max=0.5, n_points=5)
        np.testing.assert_allclose(fr["tilted"].kl, np.linspace(0, 0.5, 5), atol=1e-12)


def test_tilt_with_subnormal_mass():
    law = mk.bon.Discrete([1 - 1e-310, 1e-310], [0.0, 1.0])
    q = mk.bon.tilted(law, kl=0.1)
    assert mk.bon.kl(q, law) == pytest.approx(0.1, rel=1e-9)


def test_sizes_are_validated_before_allocating():
    ref = mk.bon.Discrete([0.5, 0.5], [0.0, 1.0])
    with pytest.raises(ValueError, match="reference draws would need"):
        mk.bon.sample_best_of_n(ref, 10**100, 10)
    big_h = mk.TabularMDP(np.ones((1, 1, 1)), np.zeros((1, 1)), horizon=10**9)
    with pytest.raises(ValueError, match="horizon 1000000000 would need"):
        mk.solve(big_h)
    with pytest.raises(ValueError, match="broadcast to horizon"):
        big_h.simulate(np.ones((1, 1)), 10)
    env = mk.bandits.BernoulliBandit([0.5, 0.4])
    with pytest.raises(ValueError, match="`n_runs` must be <= 10000000"):
        mk.bandits.simulate(env, mk.bandits.UCB1(), horizon=10, n_runs=2**40)
    with pytest.raises(ValueError, match="`horizon` must be <= 9007199254740992"):
        mk.bandits.simulate(env, mk.bandits.UCB1(), horizon=10**20)


def test_user_policy_and_learner_class_errors():
    from numba import njit

    @njit
    def select(t, state):
        return 0

    @njit
    def update(t, state, params, arm, reward):
        pass

    env = mk.bandits.BernoulliBandit([0.5, 0.4])
    with pytest.raises(TypeError, match=r"select\(t, state, params\) -> int"):
        mk.bandits.simulate(env, mk.bandits.StepPolicy(select, update, state_size=1), horizon=10)
    with pytest.raises(TypeError, match=r"learner instance, e.g. UCBVI\(\)"):
        mk.learners.run_online(mk.learners.UCBVI, mk.random_mdp(3, 2, horizon=3, rng=0), n_episodes=10)


# -- item 14: one simplex rule --------------------------------------------------------------
def test_one_simplex_tolerance_everywhere():
    from mdpkit._validation import SIMPLEX_ATOL

    assert SIMPLEX_ATOL == 1e-9
    off = 5e-9  # beyond the rule: refused by every front end alike
    with pytest.raises(ValueError, match="atol=1e-09"):
        mk.TabularMDP(np.array([[[1 - off]]]), [[0.0]], gamma=0.5)
    m = mk.puterman_example(0.5)
    with pytest.raises(ValueError, match="atol=1e-09"):
        mk.policy_evaluation(m, [[1 - off, 0.0], [1.0, 0.0]])
    with pytest.raises(ValueError, match="atol=1e-09"):
        mk.bon.Discrete([0.5, 0.5 - off], [0.0, 1.0])
    with pytest.raises(ValueError, match="atol=1e-09"):
        KL().regularized_max([0.0, 1.0], [0.5, 0.5 - off], beta=1.0)
    ok = 5e-10  # within it: accepted by every front end
    mk.TabularMDP(np.array([[[1 - ok]]]), [[0.0]], gamma=0.5)
    mk.policy_evaluation(m, [[1 - ok, 0.0], [1.0, 0.0]])
    mk.bon.Discrete([0.5, 0.5 - ok], [0.0, 1.0])
    KL().regularized_max([0.0, 1.0], [0.5, 0.5 - ok], beta=1.0)


# -- found by the fuzzer: tiny reference masses, huge scores ------------------------------
@pytest.mark.parametrize(("name", "div"), [("forward_kl", ForwardKL()), ("hellinger", Hellinger()),
                                           ("alpha", Alpha(0.5)), ("js", JensenShannon())],
                         ids=["forward_kl", "hellinger", "alpha", "js"])
def test_tiny_reference_mass_near_the_pole(name, div):
    # the optimal ratio pi/p of the top action is ~1/p_top = 1e20..1e60: resolved in the
    # distance to the pole of (f')^-1, checked against the (more-digit) mpmath reference
    for p_top in (1e-20, 1e-60):
        for beta in (1e-12, 1e-3, 1.0):
            p = [1 - p_top, p_top]
            M, pi = div.regularized_max([-1.0, 0.0], p, beta)
            M_ref, pi_ref = mp_regularized_max(name, [-1.0, 0.0], p, beta, 0.5)
            assert abs(float(M) - M_ref) <= 1e-13 and abs(pi[1] - pi_ref[1]) <= 1e-12, (p_top, beta)


def test_huge_scores_and_subnormal_masses_are_finite_or_refused():
    for div in (KL(), Hellinger(), ForwardKL(), JensenShannon()):
        M, pi = div.regularized_max([0.0, 1e300], [0.5, 0.5], beta=1e-12)
        assert float(M) == pytest.approx(1e300, rel=1e-12) and pi[1] == pytest.approx(1.0)
    with pytest.raises(ValueError, match=r"\|q\| <= 1e\+300"):
        KL().regularized_max([0.0, 1e308], [0.5, 0.5], beta=1.0)
    with pytest.raises(ValueError, match=r"`p` must be strictly positive \(>= 1e-300\)"):
        Hellinger().regularized_max([-1.0, 0.0], [1.0, 2.2e-309], beta=1e-12)


def test_masked_action_with_an_f_divergence_regularizer():
    # found by the fuzzer: r = -inf marks an infeasible action; the reference renormalized
    # on the feasible one is (0, 1), so pi = (0, 1) and V = r(feasible) = 0 (closed form)
    m = mk.TabularMDP(np.ones((1, 2, 1)), [[-np.inf, 0.0]], gamma=0.0)
    for div in (ChiSquare(), Hellinger(), JensenShannon(), Alpha(0.5), ForwardKL()):
        res = mk.solve(m, policy_reg=mk.PolicyRegularizer(div, [[0.5, 0.5]], 1e-8))
        assert res.V.tolist() == [0.0] and res.pi.tolist() == [[0.0, 1.0]]


# -- item 13: unsupported robust combinations say what to do instead ------------------------
def test_unsupported_robust_combinations_have_the_promised_message():
    m = mk.random_mdp(3, 2, gamma=0.9, rng=0)
    with pytest.raises(NotImplementedError, match="robust duals are implemented for KL, ChiSquare and TotalVariation"):
        mk.solve(m, robust=mk.Robust(Hellinger(), lam=1.0))
    with pytest.raises(NotImplementedError, match="use method='value_iteration' for robust MDPs"):
        mk.solve(m, robust=mk.Robust(KL(), lam=1.0), method="policy_iteration")
