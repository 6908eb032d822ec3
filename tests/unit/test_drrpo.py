"""DR-RPO: exact robust policy value, policy mirror descent and the online learner (CLAIMS C8)."""

import numpy as np
import pytest

import mdpkit as mk
from mdpkit.divergences import KL, TotalVariation


@pytest.fixture(scope="module")
def lin():
    return mk.r2pvi_linear_mdp()


def test_value_of_the_exact_optimum_is_the_optimum(lin):
    ref = np.full((5, 16), 1 / 16)
    for div, rho in ((TotalVariation(), 0.3), (KL(), 0.2)):
        opt = mk.solvers.solve_linear_robust(lin, div=div, rho=rho, policy_reg=mk.PolicyRegularizer(KL(), ref, 0.2))
        V, Q = mk.learners.robust_policy_value(lin, opt.pi, div=div, rho=rho, beta=0.2)
        np.testing.assert_allclose(V, opt.V, atol=1e-12)
        np.testing.assert_allclose(Q, opt.Q, atol=1e-12)


def test_robust_value_below_nominal_and_decreasing_in_rho(lin):
    pi = np.random.default_rng(0).dirichlet(np.ones(16), size=(3, 5))
    nominal = lin.to_tabular().evaluate(pi)
    vals = [mk.learners.robust_policy_value(lin, pi, div=TotalVariation(), rho=r)[0] for r in (0.0, 0.2, 0.5)]
    np.testing.assert_allclose(vals[0], nominal, atol=1e-12)
    assert np.all(vals[1] <= vals[0] + 1e-12) and np.all(vals[2] <= vals[1] + 1e-12)


def test_large_step_is_soft_policy_iteration(lin):
    # eta -> inf: one step per stage solves a horizon-H problem after H steps
    res = mk.learners.robust_policy_mirror_descent(lin, div=TotalVariation(), rho=0.3, beta=0.5, eta=1e9, n_iter=3)
    ref = np.full((5, 16), 1 / 16)
    opt = mk.solvers.solve_linear_robust(lin, div=TotalVariation(), rho=0.3,
                                         policy_reg=mk.PolicyRegularizer(KL(), ref, 0.5))
    assert res.objective[-1] == pytest.approx(float(lin.mu0 @ opt.V[0]), abs=1e-7)


def test_online_learner_is_deterministic_under_a_seed(lin):
    a = mk.learners.DRRPO(rho=0.3, beta=0.1).run(lin, n_episodes=15, rng=3)
    b = mk.learners.DRRPO(rho=0.3, beta=0.1).run(lin, n_episodes=15, rng=np.random.default_rng(3))
    np.testing.assert_array_equal(a.regret, b.regret)
    assert np.all(np.diff(a.regret) >= -1e-12)   # every gap J* - J(pi_k) >= 0


def test_bad_inputs_are_named(lin):
    with pytest.raises(ValueError, match="`beta`"):
        mk.learners.DRRPO(rho=0.1, beta=0.0)
    with pytest.raises(ValueError, match="`rho`"):
        mk.learners.DRRPO(rho=-1.0, beta=0.1)
    with pytest.raises(ValueError, match="`pi`"):
        mk.learners.robust_policy_value(lin, np.ones((3, 5, 16)), div=TotalVariation(), rho=0.1)
    with pytest.raises(ValueError, match="`pi_ref`"):
        mk.learners.robust_policy_mirror_descent(lin, div=TotalVariation(), rho=0.1, beta=0.1,
                                                 pi_ref=np.zeros((5, 16)))
    with pytest.raises(TypeError, match="`lin`"):
        mk.learners.robust_policy_value("x", np.ones((3, 5, 16)) / 16, div=TotalVariation(), rho=0.1)
    with pytest.raises(ValueError, match="`n_episodes`"):
        mk.learners.DRRPO(rho=0.1, beta=0.1).run(lin, n_episodes=0)
