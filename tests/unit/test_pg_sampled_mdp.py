"""mdpkit.pg sampled MDP dynamics: mean sampled step = exact expected step (z-scores), enumeration."""

import itertools
import math
import time

import numpy as np
import pytest

import mdpkit as mk
from mdpkit.pg import _mdp_kernels as kr
from mdpkit.pg import _sampled_mdp

pg = mk.pg
Z_MAX = 4.5   # per coordinate; a few dozen coordinates per test (Bonferroni ~1e-4)


def _tree():
    return mk.token_tree_mdp(2, 2, [0.2, 1.0, 0.0, 0.6])


def _z0_tree():
    return np.random.default_rng(1).normal(size=(2, 7, 2))


def _mean_step(mdp, z0, estimator, G, n_runs, eta=0.5, rng=3):
    run = pg.sample_dynamics_mdp(mdp, z0, eta=eta, n_steps=1, G=G, estimator=estimator,
                                 n_runs=n_runs, rng=rng, bnpo_params=(1.5, 1.5))
    dz = (run.z - z0).reshape(n_runs, -1)
    return dz.mean(0), dz.std(0, ddof=1) / math.sqrt(n_runs)


def _assert_z(mean, se, expect):
    moved = se > 0
    assert np.all(np.abs(mean - expect)[moved] < Z_MAX * se[moved]), \
        np.max(np.abs(mean - expect)[moved] / se[moved])
    # coordinates no sample ever moves (unreachable rows) are exactly unchanged, as predicted
    np.testing.assert_allclose(mean[~moved], expect[~moved], atol=1e-12)


@pytest.mark.parametrize(("estimator", "factor"), [("reinforce", 1.0), ("reinforce_baseline", 1.0),
                                                   ("rloo", 1.0), ("dr_grpo", 2 / 3)])
def test_mean_sampled_step_is_exact_pg_step_token_tree(estimator, factor):
    mdp, z0 = _tree(), _z0_tree()
    ex = pg.exact_dynamics_mdp(mdp, z0, eta=0.5, n_steps=1)
    mean, se = _mean_step(mdp, z0, estimator, 3, 20_000)
    _assert_z(mean, se, factor * (ex.z - z0).ravel())


@pytest.mark.parametrize("estimator", ["reinforce", "rloo"])
def test_mean_sampled_step_is_exact_pg_step_discounted(estimator):
    """Geometric stopping makes the undiscounted episode return unbiased for V^pi."""
    mdp = mk.random_mdp(4, 3, gamma=0.7, rng=2)
    z0 = np.random.default_rng(0).normal(size=(4, 3))
    ex = pg.exact_dynamics_mdp(mdp, z0, eta=0.5, n_steps=1)
    mean, se = _mean_step(mdp, z0, estimator, 2, 20_000)
    _assert_z(mean, se, (ex.z - z0).ravel())


def _enumerated_step(mdp_rewards, z0, estimator, G, eta, eps=1e-6):
    """Exact E[dz] on the 2-token binary tree: all G-tuples of the 4 leaf paths."""
    pi = np.exp(z0 - z0.max(-1, keepdims=True))
    pi /= pi.sum(-1, keepdims=True)
    paths = []
    for a0, a1 in itertools.product(range(2), repeat=2):
        s1 = 1 + a0
        score = np.zeros_like(z0)
        score[0, 0] -= pi[0, 0]
        score[0, 0, a0] += 1
        score[1, s1] -= pi[1, s1]
        score[1, s1, a1] += 1
        paths.append((pi[0, 0, a0] * pi[1, s1, a1], mdp_rewards[2 * a0 + a1], score))
    expect = np.zeros_like(z0)
    for tup in itertools.product(paths, repeat=G):
        prob = np.prod([p for p, _, _ in tup])
        R = np.array([r for _, r, _ in tup])
        if estimator == "grpo":
            A = (R - R.mean()) / (R.std() + eps)
        else:   # bnpo with Beta(1.5, 1.5): density 8/pi sqrt(p(1-p)) at the group mean
            p = R.mean()
            A = (R - p) / (8 / math.pi * math.sqrt(p * (1 - p))) if 0 < p < 1 else 0 * R
        expect += prob * eta / G * sum(a * sc for a, (_, _, sc) in zip(A, tup, strict=True))
    return expect


@pytest.mark.parametrize("estimator", ["grpo", "bnpo"])
def test_biased_estimators_match_enumeration(estimator):
    rewards = np.array([0.0, 1.0, 0.0, 1.0]) if estimator == "bnpo" else np.array([0.2, 1.0, 0.0, 0.6])
    mdp, z0 = mk.token_tree_mdp(2, 2, rewards), _z0_tree()
    expect = _enumerated_step(rewards, z0, estimator, 3, 0.5)
    mean, se = _mean_step(mdp, z0, estimator, 3, 20_000)
    _assert_z(mean, se, expect.ravel())
    ex = pg.exact_dynamics_mdp(mdp, z0, eta=0.5, n_steps=1).z - z0
    ratio = expect[ex != 0] / ex[ex != 0]
    if estimator == "grpo":   # graded returns: the normalization tilts the step off the gradient
        assert ratio.max() - ratio.min() > 0.05
    else:   # binary returns: a positive multiple of the exact PG step (a function of p only)
        assert ratio.min() > 0 and ratio.max() - ratio.min() < 1e-9


def test_training_on_token_tree_reaches_the_best_leaf():
    run = pg.sample_dynamics_mdp(_tree(), np.zeros((7, 2)), eta=1.0, n_steps=150, G=8,
                                 estimator="grpo", n_runs=4, rng=0)
    assert run.value.shape == (4, 11) and run.entropy.shape == (4, 11, 2, 7)
    assert np.all(run.value[:, -1] > 0.9)        # the best leaf pays 1
    assert np.all(run.mean_return[:, -20:].mean(1) > 0.85)


def test_seeding_prefix_and_threads(monkeypatch):
    mdp = mk.random_mdp(3, 2, gamma=0.9, rng=0)
    kw = dict(eta=0.3, n_steps=8, G=3, rng=5, estimator="rloo")
    t0 = time.perf_counter()
    a = pg.sample_dynamics_mdp(mdp, np.zeros((3, 2)), n_runs=4, **kw)
    wall = time.perf_counter() - t0
    b = pg.sample_dynamics_mdp(mdp, np.zeros((3, 2)), n_runs=2, **kw)
    np.testing.assert_array_equal(a.z[:2], b.z)
    monkeypatch.setattr(_sampled_mdp, "PARALLEL_MIN_TRAJECTORIES", 0)
    c = pg.sample_dynamics_mdp(mdp, np.zeros((3, 2)), n_runs=4, n_threads=2, **kw)
    assert 0.0 < a.seconds <= wall   # the kernel's time, a part of the whole call
    np.testing.assert_array_equal(a.z, c.z)
    np.testing.assert_array_equal(a.mean_return, c.mean_return)


def test_mdp_kernel_matches_py_func():
    mdp = _tree()
    arrays, gamma = _sampled_mdp._model_arrays(mdp)
    z0 = _z0_tree().reshape(14, 2)
    args = (*arrays, gamma, z0, np.array([3, 4]), np.array([0.4, 1e-6, 1.5, 1.5, 1.0]), 3,
            np.array([0, 3]), 9)
    outs = [(np.zeros((2, 14, 2)), np.zeros(2), np.zeros(3), np.zeros((14, 2))) for _ in range(2)]
    kr.run_sampled_mdp(*args, *outs[0])
    with np.errstate(over="ignore"):
        kr.run_sampled_mdp.py_func(*args, *outs[1])
    for x, y in zip(outs[0], outs[1], strict=True):
        np.testing.assert_allclose(x, y, rtol=1e-13, atol=1e-15)


def test_start_value_kernel_matches_evaluate():
    for mdp in (_tree(), mk.random_mdp(4, 3, gamma=0.7, rng=2)):
        z = np.random.default_rng(4).normal(size=(mdp.horizon or 1, mdp.n_states, mdp.n_actions))
        pi = np.exp(z) / np.exp(z).sum(-1, keepdims=True)
        arrays, gamma = _sampled_mdp._model_arrays(mdp)
        P, _, r, mu0, _, term, dims = arrays
        got = kr.start_value(P, r, mu0, term, pi.reshape(-1, mdp.n_actions), dims, gamma)
        V = mdp.evaluate(pi if mdp.is_finite_horizon else pi[0])
        assert got == pytest.approx(float(mdp.mu0 @ (V[0] if mdp.is_finite_horizon else V)), rel=1e-12)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: pg.sample_dynamics_mdp(_tree(), np.zeros((7, 2)), eta=0.0, n_steps=2), "`eta`"),
        (lambda: pg.sample_dynamics_mdp(_tree(), np.zeros((7, 3)), eta=1.0, n_steps=2), "`z0`"),
        (lambda: pg.sample_dynamics_mdp(_tree(), np.zeros((7, 2)), eta=1.0, n_steps=2, G=1), "`G`"),
        (lambda: pg.sample_dynamics_mdp(mk.token_tree_mdp(2, 1, [0.0, 2.0]), np.zeros((3, 2)),
                                        eta=1.0, n_steps=2, estimator="bnpo"), r"\[0, 1\]"),
        (lambda: pg.sample_dynamics_mdp(mk.random_mdp(3, 2, gamma=0.9, rng=0), np.zeros((3, 2)),
                                        eta=1.0, n_steps=2, estimator="ngrpo"), "finite-horizon"),
        (lambda: pg.sample_dynamics_mdp("mdp", np.zeros((3, 2)), eta=1.0, n_steps=2), "TabularMDP"),
        # n_threads is validated even where the work is small (one thread runs then)
        (lambda: pg.sample_dynamics_mdp(_tree(), np.zeros((7, 2)), eta=1.0, n_steps=2, n_threads=0),
         "`n_threads`"),
        (lambda: pg.sample_dynamics_mdp(_tree(), np.zeros((7, 2)), eta=1.0, n_steps=2,
                                        n_threads=10**6), "`n_threads`"),
        (lambda: pg.sample_dynamics_mdp(_tree(), np.zeros((7, 2)), eta=1.0, n_steps=2,
                                        bnpo_params=1.5), "`bnpo_params`"),
        (lambda: pg.sample_dynamics_mdp(_tree(), np.zeros((7, 2)), eta=1.0, n_steps=2,
                                        bnpo_params=(1.5, 1.5, 1.5)), "`bnpo_params`"),
        (lambda: pg.sample_dynamics_mdp(_tree(), np.zeros((7, 2)), eta=1.0, n_steps=2,
                                        bnpo_params=(0.0, 1.5)), r"`bnpo_params\[0\]`"),
    ],
)
def test_bad_input(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()


def test_bnpo_default_is_the_adaptive_rule_as_in_sample_dynamics():
    # one group per step: the adaptive fit is undefined and gives (1, 1), as sample_dynamics
    # does with a single prompt (its default bnpo_params=None)
    mdp = mk.token_tree_mdp(2, 2, [0.0, 1.0, 0.0, 1.0])
    kw = dict(eta=0.5, n_steps=5, G=4, estimator="bnpo", n_runs=2, rng=4)
    dflt = pg.sample_dynamics_mdp(mdp, np.zeros((7, 2)), **kw)
    np.testing.assert_array_equal(dflt.z, pg.sample_dynamics_mdp(mdp, np.zeros((7, 2)),
                                                                 bnpo_params=(1.0, 1.0), **kw).z)
    assert not np.array_equal(dflt.z, pg.sample_dynamics_mdp(mdp, np.zeros((7, 2)),
                                                             bnpo_params=(1.5, 1.5), **kw).z)
    prob = pg.k_armed([0.3, 0.6])
    kw1 = dict(eta=0.5, n_steps=5, G=4, estimator="bnpo", n_runs=2, rng=4)
    np.testing.assert_array_equal(pg.sample_dynamics(prob, **kw1).z,
                                  pg.sample_dynamics(prob, bnpo_params=(1.0, 1.0), **kw1).z)


def test_finite_horizon_discounted_gradient_matches_central_differences():
    # independent route for the gamma^h weighting: J(z) = mu0 . V_0 from mdp.evaluate, central
    # differences in every logit. Per stage and state a trajectory visits (h, s) at most once,
    # so along one logit J = c + d_h(s) gamma^h sum_a pi_a Q_h(s, a) with A = 2 actions:
    # |J'''| <= (Q range) max|p'''| = (Q range) / 8, Q range <= sum_h gamma^h (r_max - r_min).
    # Truncation <= step^2 / 6 * |J'''|; rounding <= delta / step with delta = 64 eps |J|max.
    mdp = mk.random_mdp(3, 2, gamma=0.7, horizon=4, rng=0, stationary=False)
    z0 = np.random.default_rng(2).normal(size=(4, 3, 2))
    exact = pg.exact_dynamics_mdp(mdp, z0, eta=1.0, n_steps=1).z - z0

    def J(z):
        pi = np.exp(z - z.max(-1, keepdims=True))
        return float(mdp.mu0 @ mdp.evaluate(pi / pi.sum(-1, keepdims=True))[0])

    step = 1e-4
    fd = np.zeros_like(z0)
    for idx in np.ndindex(z0.shape):
        e = np.zeros_like(z0)
        e[idx] = step
        fd[idx] = (J(z0 + e) - J(z0 - e)) / (2 * step)
    r = np.asarray(mdp.r)
    span = sum(0.7**h for h in range(4)) * (r.max() - r.min()) + 0.7**4 * np.ptp(mdp.terminal_value)
    tol = step**2 / 6 * span / 8 + 64 * np.finfo(float).eps * span / step
    assert np.abs(exact).max() > 1e-2      # gradient ~3e-2; dropping gamma^h moves it by ~5e-2
    assert np.max(np.abs(fd - exact)) <= tol
