"""Preference losses: exact gradients (finite differences), minimizers vs closed forms, bad input."""

import itertools

import numpy as np
import pytest

import mdpkit as mk
from mdpkit import preference as pref
from mdpkit.preference._losses import loss_of_logits

CASES = [("dpo", "reverse_kl"), ("ipo", "reverse_kl"), ("hinge", "reverse_kl"), ("fdpo", "reverse_kl"),
         ("fdpo", "forward_kl"), ("fdpo", "js"), ("fdpo", "alpha")]


@pytest.fixture
def inst():
    g = np.random.default_rng(5)
    Y = 5
    ref = g.dirichlet(np.ones(Y))
    r = g.normal(size=Y)
    W = pref.population_counts(pref.bradley_terry_matrix(r), g.dirichlet(np.ones(Y)))
    return ref, r, W


@pytest.mark.parametrize("loss,div", CASES)
def test_gradient_matches_central_differences(inst, loss, div):
    ref, _, W = inst
    g = np.random.default_rng(1)
    theta = np.log(ref) + 0.3 * g.normal(size=ref.size)
    pi = np.exp(theta - np.logaddexp.reduce(theta))
    lv = pref.preference_loss(pi, ref, W, 0.7, loss=loss, divergence=div, alpha=0.3)
    h = 1e-6
    num = np.empty_like(theta)
    for k in range(theta.size):
        e = np.zeros_like(theta)
        e[k] = h
        num[k] = (loss_of_logits(theta + e, np.log(ref), W, 0.7, loss, div, 0.3).value
                  - loss_of_logits(theta - e, np.log(ref), W, 0.7, loss, div, 0.3).value) / (2 * h)
    # central differences have O(h^2) truncation and O(eps/h) rounding error: 1e-7 is both
    np.testing.assert_allclose(lv.grad, num, atol=1e-7)


def test_dpo_minimizer_is_tilted_policy(inst):
    ref, r, W = inst
    m = pref.minimize_loss(ref, W, 0.5)
    assert m.converged
    np.testing.assert_allclose(m.pi, pref.tilted_policy(ref, r, 0.5), atol=1e-8)


def test_tilted_policy_closed_form_and_contexts():
    ref = np.array([[0.2, 0.3, 0.5], [0.6, 0.2, 0.2]])
    r = np.array([[1.0, 0.0, -1.0], [0.0, 2.0, 1.0]])
    t = pref.tilted_policy(ref, r, 0.5)
    direct = ref * np.exp(r / 0.5)
    np.testing.assert_allclose(t, direct / direct.sum(1, keepdims=True), rtol=1e-13)
    # stable at extreme beta: tiny beta -> argmax, huge beta -> reference
    np.testing.assert_allclose(pref.tilted_policy(ref, r, 1e-8), [[1, 0, 0], [0, 1, 0]], atol=1e-300)
    np.testing.assert_allclose(pref.tilted_policy(ref, r, 1e8), ref, rtol=1e-7)


def test_ipo_laplacian_equals_azar_closed_form(inst):
    ref, r, _ = inst
    P = pref.bradley_terry_matrix(r)
    mu = np.random.default_rng(2).dirichlet(np.ones(r.size))
    W = pref.population_counts(P, mu)
    closed = ref * np.exp(P @ mu / 0.4)
    np.testing.assert_allclose(pref.ipo_minimizer(ref, W, 0.4), closed / closed.sum(), atol=1e-12)
    m = pref.minimize_loss(ref, W, 0.4, loss="ipo")
    np.testing.assert_allclose(m.pi, closed / closed.sum(), atol=1e-8)


@pytest.mark.parametrize("div", ["reverse_kl", "forward_kl", "js", "alpha"])
def test_fdpo_minimizer(inst, div):
    ref, r, W = inst
    m = pref.minimize_loss(ref, W, 0.8, loss="fdpo", divergence=div, alpha=0.3)
    target = pref.fdpo_minimizer(ref, r, 0.8, divergence=div, alpha=0.3)
    np.testing.assert_allclose(m.pi, target, atol=1e-7)


def test_hinge_lp_value_is_a_lower_bound_attained(inst):
    ref, _, W = inst
    m = pref.minimize_loss(ref, W, 1.0, loss="hinge")
    assert abs(pref.preference_loss(m.pi, ref, W, 1.0, loss="hinge").value - m.value) < 1e-9
    g = np.random.default_rng(0)
    for _ in range(50):  # no random policy does better than the LP optimum
        p = g.dirichlet(np.ones(ref.size))
        assert pref.preference_loss(p, ref, W, 1.0, loss="hinge").value >= m.value - 1e-12


def test_token_tree_dpo_and_tdpo():
    g = np.random.default_rng(3)
    V, L = 2, 3
    ref = [g.dirichlet(np.ones(V), size=V**t) for t in range(L)]
    r = g.normal(size=V**L)
    logref = pref.sequence_log_probs([np.log(a) for a in ref])
    W = pref.population_counts(pref.bradley_terry_matrix(r), np.exp(logref))
    pi, gn, ok = pref.minimize_token_loss(ref, W, 0.5)
    assert ok
    seq = np.exp(pref.sequence_log_probs([np.log(a) for a in pi]))
    np.testing.assert_allclose(seq, pref.tilted_policy(np.exp(logref), r, 0.5), atol=1e-8)
    # TDPO: the minimizer makes the TDPO implied reward beta (log-ratio + SeqKL) equal r + const
    pt, gn, ok = pref.minimize_token_loss(ref, W, 0.5, loss="tdpo")
    assert ok
    lp = [np.log(a) for a in pt]
    seqkl = np.zeros(V**L)
    for idx, y in enumerate(itertools.product(range(V), repeat=L)):
        n = 0
        for t, a in enumerate(y):
            seqkl[idx] += np.sum(ref[t][n] * (np.log(ref[t][n]) - lp[t][n]))
            n = n * V + a
    implied = 0.5 * (pref.sequence_log_probs(lp) - logref + seqkl) - r
    # L-BFGS stops at gradient 1e-9; divided by the smallest pair weight (~1e-3) that is 1e-6
    assert np.ptp(implied) < 1e-6


def test_token_gradient_central_differences():
    g = np.random.default_rng(4)
    V, L = 3, 2
    ref = [g.dirichlet(np.ones(V), size=V**t) for t in range(L)]
    pi = [g.dirichlet(np.ones(V), size=V**t) for t in range(L)]
    W = g.random((V**L, V**L))
    W /= W.sum()
    for loss in ("dpo", "tdpo"):
        _, grads = pref.token_loss(pi, ref, W, 0.9, loss=loss)
        h = 1e-6
        for t in range(L):
            for n, a in itertools.product(range(V**t), range(V)):
                th = [np.log(p) for p in pi]
                vals = []
                for sgn in (1, -1):
                    tt = [x.copy() for x in th]
                    tt[t][n, a] += sgn * h
                    q = [np.exp(x - np.logaddexp.reduce(x, axis=1, keepdims=True)) for x in tt]
                    vals.append(pref.token_loss(q, ref, W, 0.9, loss=loss)[0].value)
                assert abs(grads[t][n, a] - (vals[0] - vals[1]) / (2 * h)) < 1e-7


def test_sampled_counts_converge_to_population():
    P = pref.bradley_terry_matrix([0.0, 1.0, -0.5])
    mu = np.array([0.2, 0.3, 0.5])
    d = pref.sample_pairs(P, mu, 20000, rng=0)
    W = pref.population_counts(P, mu)
    se = np.sqrt(W * (1 - W) / d.n_pairs)
    assert np.all(np.abs(d.counts() - W) <= 4 * se + 1e-12)
    d2 = pref.sample_pairs(np.stack([P, P.T]), np.stack([mu, mu]), 100, rng=1)
    assert d2.counts().shape == (2, 3, 3) and d2.n_contexts == 2


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: pref.tilted_policy([0.5, 0.5], [0.0, 1.0], 0.0), "beta"),
        (lambda: pref.tilted_policy([0.5, 0.5], [0.0, 1.0], -1.0), "beta"),
        (lambda: pref.check_preference_matrix([[0.5, 0.7], [0.7, 0.5]]), "P \\+ P\\^T = 1"),
        (lambda: pref.check_preference_matrix([[0.5, 1.2], [-0.2, 0.5]]), "\\[0, 1\\]"),
        (lambda: pref.preference_loss([0.5, 0.5], [1.0, 0.0], np.eye(2), 1.0), "pi_ref"),
        (lambda: pref.preference_loss([0.5, 0.5], [0.5, 0.5], np.eye(2), 1.0, loss="kto"), "loss"),
        (lambda: pref.minimize_loss([0.5, 0.5], -np.eye(2), 1.0), "counts"),
        (lambda: pref.fdpo_minimizer([0.5, 0.5], [0, 1], 1.0, divergence="alpha", alpha=1.5), "alpha"),
        (lambda: pref.cyclic_preference(4), "odd"),
    ],
)
def test_bad_input(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()


def test_dataset_outside_support_is_rejected():
    d = pref.sample_pairs([[0.5, 0.5], [0.5, 0.5]], [0.5, 0.5], 50, rng=0)
    with pytest.raises(ValueError, match="outside the support"):
        d.check_support([1.0, 0.0])


def test_lazy_export():
    assert mk.preference.tilted_policy is pref.tilted_policy


def test_losses_with_contexts_are_sums_over_contexts():
    g = np.random.default_rng(9)
    ref = g.dirichlet(np.ones(4), size=3)
    pi = g.dirichlet(np.ones(4), size=3)
    W = g.random((3, 4, 4))
    for loss in ("dpo", "ipo", "fdpo"):
        joint = pref.preference_loss(pi, ref, W, 0.6, loss=loss, divergence="js")
        parts = [pref.preference_loss(pi[x], ref[x], W[x], 0.6, loss=loss, divergence="js") for x in range(3)]
        assert abs(joint.value - sum(p.value for p in parts)) < 1e-12
        np.testing.assert_allclose(joint.grad, np.stack([p.grad for p in parts]), atol=1e-14)
    # per-context minimizer: the tilted policy row by row
    r = g.normal(size=(3, 4))
    Wp = np.stack([pref.population_counts(pref.bradley_terry_matrix(r[x]), ref[x]) for x in range(3)])
    m = pref.minimize_loss(ref, Wp, 0.6)
    np.testing.assert_allclose(m.pi, pref.tilted_policy(ref, r, 0.6), atol=1e-9)


def _pairs(chosen=(0, 1), rejected=(1, 0), context=(0, 0), n_responses=2, n_contexts=1):
    return pref.PreferencePairs(chosen=np.asarray(chosen), rejected=np.asarray(rejected),
                                context=np.asarray(context), n_responses=n_responses, n_contexts=n_contexts)


@pytest.mark.parametrize(
    "call,match",
    [
        # responses outside the support [0, n_responses): IndexError or, for -1, silent wrap before
        (lambda: _pairs(chosen=(0, 5)), r"`chosen` must hold response indices .* \[0, 2\); `chosen\[1\]` = 5"),
        (lambda: _pairs(rejected=(-1, 0)), r"`rejected` must hold response indices .* `rejected\[0\]` = -1"),
        (lambda: _pairs(context=(0, 3)), r"`context` must hold context indices in \[0, 1\); `context\[1\]` = 3"),
        (lambda: _pairs(chosen=(0.0, 1.0)), r"`chosen` must be a 1-d array of integers; got dtype float64"),
        (lambda: _pairs(chosen=(0, 1, 1)), r"one length; got \{'chosen': 3, 'rejected': 2"),
        (lambda: _pairs(n_responses=0), r"`n_responses` must be >= 1; got 0"),
        (lambda: pref.offline_dpo(_pairs(), [0.3, 0.3, 0.4], 1.0), r"`pi_ref` must have shape \(2,\) or \(1, 2\)"),
        (lambda: pref.offline_dpo(_pairs(), [1.0, 0.0], 1.0), r"pair 1 has `chosen` response 1 .* outside the support"),
        # pi_ref zeros where a loss needs support: the argument, the requirement and the value
        (lambda: pref.minimize_loss([0.5, 0.0, 0.5], np.zeros((3, 3)), 1.0),
         r"`pi_ref` must be strictly positive .*; `pi_ref\[1\]` = 0.0"),
        (lambda: pref.hypo(np.zeros((2, 2)), [0.0, 1.0], 1.0, beta_kl=1.0), r"`pi_ref\[0\]` = 0.0"),
        (lambda: pref.inpo_base([0.5, 0.5], [1.0, 0.0], 1.0, 0.5), r"`pi_ref\[1\]` = 0.0"),
        (lambda: pref.inpo_base([0.5, 0.5], [0.5, 0.5], 0.0, 0.5), r"`beta` must be > 0; got 0.0"),
        (lambda: pref.inpo_base([0.5, 0.5], [0.5, 0.5], 1.0, 1.0), r"`eta \* beta` must be < 1"),
        (lambda: pref.ipo_minimizer([0.5, 0.5], np.zeros((2, 2)), -1.0), r"`beta` must be > 0; got -1.0"),
        (lambda: pref.population_counts([[0.5, 0.7], [0.4, 0.5]], [0.5, 0.5]), r"P \+ P\^T = 1 .* = 1.1"),
        (lambda: pref.sample_pairs([[0.6, 0.5], [0.5, 0.4]], [0.5, 0.5], 3), r"at \[0, 0\] P \+ P\^T = 1.2"),
        (lambda: pref.sample_pairs([[0.5, np.nan], [np.nan, 0.5]], [0.5, 0.5], 3), r"`P` must be finite"),
    ],
)
def test_bad_datasets_and_supports(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()


def test_sampled_pairs_pass_the_dataset_checks():
    d = pref.sample_pairs(np.stack([np.full((3, 3), 0.5)] * 2), np.full((2, 3), 1 / 3), 40, rng=0)
    assert d.chosen.dtype == np.int64 and d.n_pairs == 40 and d.counts().shape == (2, 3, 3)
