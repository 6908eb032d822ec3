"""KL-regularized preference games: exact equilibrium, Nash-MP, INPO, bad input."""

import numpy as np
import pytest

from mdpkit import preference as pref


def _game(Y, seed):
    g = np.random.default_rng(seed)
    B = g.random((Y, Y))
    return 0.5 + (B - B.T) / 2, g.dirichlet(np.ones(Y))


@pytest.mark.parametrize("Y,beta", [(3, 0.05), (10, 0.3), (50, 2.0)])
def test_regularized_nash_is_the_fixed_point(Y, beta):
    P, ref = _game(Y, Y)
    res = pref.regularized_nash(P, ref, beta)
    assert res.converged
    fp = ref * np.exp(P @ res.pi / beta)
    np.testing.assert_allclose(res.pi, fp / fp.sum(), rtol=1e-12)
    # no deviation gains: the max player's regularized payoff is maximized at pi*
    def payoff(x):
        return x @ P @ res.pi - beta * np.sum(x * np.log(x / ref))
    g = np.random.default_rng(0)
    for _ in range(20):
        assert payoff(g.dirichlet(np.ones(Y))) <= payoff(res.pi) + 1e-12


def test_cyclic_game_uniform_reference_gives_uniform_nash():
    res = pref.regularized_nash(pref.cyclic_preference(5, 0.3), np.full(5, 0.2), 0.1)
    np.testing.assert_allclose(res.pi, 0.2, atol=1e-13)


@pytest.mark.parametrize("Y", [3, 30])
def test_nash_mp_contracts_at_the_stated_rate(Y):
    P, ref = _game(Y, 7)
    beta = 0.3
    star = pref.regularized_nash(P, ref, beta).pi
    tr = pref.nash_mp(P, ref, beta, n_iter=30, eta=2.0)
    kl = tr.kl_to(star)
    ok = kl > 1e-13
    assert np.all(kl[ok] <= kl[0] * (1 + 2 * beta) ** (-tr.queries[ok] / 2) * (1 + 1e-9))
    assert tr.eta == 2.0 and tr.queries[-1] == 60


def test_inpo_step_and_loss_minimizer_agree():
    P, ref = _game(6, 3)
    g = np.random.default_rng(1)
    pi_t = g.dirichlet(np.ones(6))
    step = pref.inpo_step(pi_t, ref, P, 0.25, 1.5)
    base = pref.inpo_base(pi_t, ref, 0.25, 1.5)
    m = pref.minimize_loss(base, pref.population_counts(P, pi_t), 1 / 1.5, loss="ipo")
    np.testing.assert_allclose(m.pi, step, atol=1e-9)
    tr = pref.inpo(P, ref, 0.25, eta=1.5, n_iter=1, pi0=pi_t)
    np.testing.assert_allclose(tr.pi[1], step, atol=1e-12)


def test_sampled_inpo_is_deterministic():
    P, ref = _game(4, 2)
    a = pref.inpo(P, ref, 0.2, eta=2.0, n_iter=5, n_pairs=100, rng=4)
    b = pref.inpo(P, ref, 0.2, eta=2.0, n_iter=5, n_pairs=100, rng=4)
    np.testing.assert_array_equal(a.pi, b.pi)


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: pref.regularized_nash([[0.5, 0.8], [0.3, 0.5]], [0.5, 0.5], 0.1), "P \\+ P\\^T"),
        (lambda: pref.regularized_nash([[0.5, 0.8], [0.2, 0.5]], [0.5, 0.5], 0.0), "beta"),
        (lambda: pref.regularized_nash([[0.5, 0.8], [0.2, 0.5]], [1.0, 0.0], 0.1), "pi_ref"),
        (lambda: pref.regularized_nash([[0.5, 0.8], [0.2, 0.5]], [0.2, 0.3, 0.5], 0.1), "entries"),
        (lambda: pref.inpo([[0.5, 0.8], [0.2, 0.5]], [0.5, 0.5], 0.5, eta=2.0, n_iter=3), "eta \\* beta"),
        (lambda: pref.nash_mp([[0.5, 0.8], [0.2, 0.5]], [0.5, 0.5], 0.5, n_iter=3, eta=-1.0), "eta"),
    ],
)
def test_bad_input(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()
