"""Online DPO / XPO learners and their Numba kernels."""

import numpy as np
import pytest

from mdpkit import preference as pref
from mdpkit.preference import _online_kernels as K


def _args(method, from_ref, alpha):
    g = np.random.default_rng(0)
    ref = np.array([0.1, 0.3, 0.6])
    r = np.array([1.0, 0.0, 0.2])
    u = g.random((2, 50, 3))
    ck = np.array([0, 10, 50])
    outs = (np.empty((2, 3)), np.empty(2, dtype=np.int64), np.empty((2, 3)))
    if method == "sgd":
        args = (np.log(ref), r, 0.5, alpha, 0.7, from_ref, u, ck, 0.05, 0.3)
    else:
        args = (np.log(ref), r, 0.5, alpha, 1.0, 2.0, 3, from_ref, u, ck, 0.05, 0.3)
    return args, outs


@pytest.mark.parametrize("method,from_ref,alpha", [("sgd", False, 0.0), ("sgd", True, 0.1),
                                                   ("argmin", False, 0.0), ("argmin", True, 0.1)])
def test_kernels_match_py_func(method, from_ref, alpha):
    kern = K.online_sgd if method == "sgd" else K.online_argmin
    args, out1 = _args(method, from_ref, alpha)
    _, out2 = _args(method, from_ref, alpha)
    kern(*args, *out1)
    kern.py_func(*args, *out2)
    for a, b in zip(out1, out2, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_gap_at_round_zero_is_the_reference_gap():
    ref = np.array([0.2, 0.8])
    r = np.array([1.0, 0.0])
    run = pref.online_dpo(ref, r, 0.5, n_rounds=10, n_runs=3, rng=0)
    star = ref * np.exp(r / 0.5)
    star /= star.sum()
    gap0 = pref.kl_objective(star, ref, r, 0.5) - pref.kl_objective(ref, ref, r, 0.5)
    np.testing.assert_allclose(run.gap[:, 0], gap0, rtol=1e-12)


@pytest.mark.parametrize("method", ["sgd", "argmin"])
def test_online_dpo_converges_and_is_deterministic(method):
    ref = np.array([0.3, 0.3, 0.4])
    r = np.array([1.0, 0.0, 0.5])
    # constant-step SGD settles in a noise ball of size O(eta): small eta, more rounds
    kw = dict(n_rounds=20000, n_runs=4, eta=0.02, method=method, rng=3)
    a = pref.online_dpo(ref, r, 1.0, **kw)
    b = pref.online_dpo(ref, r, 1.0, **kw)
    np.testing.assert_array_equal(a.gap, b.gap)
    assert np.all(a.gap[:, -1] < 0.15 * a.gap[:, 0])


def test_xpo_explores_an_unlikely_best_response():
    ref = np.array([1e-3, 0.333, 0.333, 0.333])
    ref /= ref.sum()
    r = np.array([1.0, 0.0, 0.0, 0.0])
    kw = dict(n_rounds=300, n_runs=8, method="argmin", rng=0)
    x = pref.xpo(ref, r, 0.1, alpha=0.01, **kw)
    d = pref.online_dpo(ref, r, 0.1, **kw)
    # after 300 rounds online DPO has sampled y* in only ~1 - (1 - 1e-3)^600 = 45% of runs
    assert x.pi[:, 0].min() > 0.5
    assert np.median(d.pi[:, 0]) < 0.1


@pytest.mark.parametrize(
    "kw,match",
    [(dict(beta=0.0), "beta"), (dict(n_rounds=0), "n_rounds"), (dict(method="adam"), "method"),
     (dict(pi_ref=[1.0, 0.0]), "pi_ref"), (dict(eta=-1.0), "eta")],
)
def test_bad_input(kw, match):
    args = dict(pi_ref=[0.5, 0.5], reward=[0.0, 1.0], beta=1.0, n_rounds=10)
    args.update(kw)
    with pytest.raises((ValueError, TypeError), match=match):
        pref.online_dpo(**args)


def test_xpo_rejects_negative_alpha():
    with pytest.raises(ValueError, match="alpha"):
        pref.xpo([0.5, 0.5], [0.0, 1.0], 1.0, alpha=-0.1, n_rounds=10)


def test_hypo_sampled_kl_gradient_is_unbiased():
    from mdpkit.preference._offline import _kl_grad

    theta = np.log(np.array([0.5, 0.3, 0.2]))
    log_ref = np.log(np.array([0.2, 0.3, 0.5]))
    exact = _kl_grad(theta, log_ref, None, None)[1]
    g = np.random.default_rng(0)
    est = np.array([_kl_grad(theta, log_ref, g, 8)[1] for _ in range(20000)])
    se = est.std(0) / np.sqrt(len(est))
    assert np.all(np.abs(est.mean(0) - exact) <= 4 * se)


@pytest.mark.parametrize("n", [1, 5, 64, 100])
def test_fenwick_draw_matches_cumulative_search(n):
    g = np.random.default_rng(n)
    theta = g.normal(size=n)
    w, tree = np.empty(n), np.empty(n + 1)
    total = K._fenwick_build(theta, theta.max(), w, tree)
    K._fenwick_add(tree, n // 2, 0.3)
    w[n // 2] += 0.3
    total += 0.3
    cum = np.cumsum(w)
    for x in g.random(200) * total:
        expect = min(int(np.searchsorted(cum, x, side="right")), n - 1)
        assert K._fenwick_draw(tree, x) == expect
        assert K._fenwick_draw.py_func(tree, x) == expect


def _xpo_sgd_reference(log_ref, r, beta, alpha, eta, u):
    """XPO's streaming SGD on the logits, written directly (one run)."""
    theta = log_ref.copy()
    cref = np.cumsum(np.exp(log_ref))
    for t in range(u.shape[0]):
        pi = np.exp(theta - theta.max())
        pi /= pi.sum()
        y1 = min(int(np.searchsorted(np.cumsum(pi), u[t, 0], side="right")), pi.size - 1)
        y2 = min(int(np.searchsorted(cref, u[t, 1] * cref[-1], side="right")), pi.size - 1)
        w, l = (y1, y2) if u[t, 2] < 1 / (1 + np.exp(r[y2] - r[y1])) else (y2, y1)
        grad = alpha * (np.eye(pi.size)[y2] - pi)
        if w != l:
            h = beta * ((theta[w] - log_ref[w]) - (theta[l] - log_ref[l]))
            s = -beta / (1 + np.exp(h))
            grad[w] += s
            grad[l] -= s
        theta = theta - eta * grad
    pi = np.exp(theta - theta.max())
    return pi / pi.sum()


def test_xpo_weight_update_equals_the_logit_sgd_step():
    g = np.random.default_rng(8)
    ref = g.dirichlet(np.ones(6))
    r = g.normal(size=6)
    u = g.random((1, 300, 3))
    pi_out, gap, rounds = np.empty((1, 6)), np.empty((1, 1)), np.empty(1, dtype=np.int64)
    K.online_sgd(np.log(ref), r, 0.3, 0.05, 0.5, True, u, np.array([300]), 0.0, 0.0, gap, rounds, pi_out)
    np.testing.assert_allclose(pi_out[0], _xpo_sgd_reference(np.log(ref), r, 0.3, 0.05, 0.5, u[0]), rtol=1e-10)


@pytest.mark.parametrize("Y,alpha,eta", [(70, 1e-4, 0.5), (70, 1e-3, 0.5), (33, 0.2, 0.5), (40, 1e-3, 60.0)])
def test_xpo_blocked_weights_equal_the_logit_sgd_step(Y, alpha, eta):
    # (70, 1e-4 or 1e-3, 0.5): Taylor exponential of degree 3 or 4, two full blocks of 32 and a partial one;
    # (33, 0.2, 0.5): np.exp path; (40, 1e-3, 60): huge DPO steps, the weights are rescaled
    g = np.random.default_rng(Y)
    ref = g.dirichlet(np.ones(Y))
    r = 3.0 * g.normal(size=Y)
    u = g.random((1, 400, 3))
    pi_out, gap, rounds = np.empty((1, Y)), np.empty((1, 1)), np.empty(1, dtype=np.int64)
    K.online_sgd(np.log(ref), r, 1.0, alpha, eta, True, u, np.array([400]), 0.0, 0.0, gap, rounds, pi_out)
    want = _xpo_sgd_reference(np.log(ref), r, 1.0, alpha, eta, u[0])
    # round-off of the reference: a logit moves by at most eta (alpha + beta) a round, so |theta| <= L below;
    # each of the T rounds adds <= 2 roundings of half an ulp of L to a logit, and pi = softmax doubles
    # a logit error: |d pi / pi| <= 2 T L eps. The weights' own error (a few ulp a round, Taylor
    # remainder < 1e-17 a round, exact power-of-2 rescaling) is far below that
    L = np.abs(np.log(ref)).max() + eta * (alpha + 1.0) * u.shape[1]
    np.testing.assert_allclose(pi_out[0], want, rtol=2 * u.shape[1] * L * np.finfo(float).eps, atol=1e-300)


@pytest.mark.parametrize("eta", [700.0, 5e4])
def test_xpo_large_steps_are_finite_and_equal_the_logit_sgd_step(eta):
    # eta beta > 700 overflowed the weights (NaN policy, gap frozen); such runs go on the logits
    ref, r, T = np.array([0.5, 0.3, 0.2]), np.array([0.0, 1.0, 0.5]), 50
    u = np.random.default_rng(0).random((1, T, 3))
    pi_out, gap, rounds = np.empty((1, 3)), np.empty((1, 2)), np.empty(1, dtype=np.int64)
    K.online_sgd(np.log(ref), r, 1.0, 0.1, eta, True, u, np.array([0, T]), 0.0, 0.0, gap, rounds, pi_out)
    assert np.all(np.isfinite(gap)) and np.all(np.isfinite(pi_out))
    outs = np.empty((1, 3)), np.empty((1, 2)), np.empty(1, dtype=np.int64)
    K.online_sgd.py_func(np.log(ref), r, 1.0, 0.1, eta, True, u, np.array([0, T]), 0.0, 0.0, outs[1], outs[2], outs[0])
    for a, b in zip((pi_out, gap, rounds), outs, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-300)  # the compiled logit run equals its py_func
    L = np.abs(np.log(ref)).max() + eta * 1.1 * T  # the bound of the test above
    with np.errstate(over="ignore"):  # exp(h) = inf gives the exact 1 / (1 + inf) = 0
        want = _xpo_sgd_reference(np.log(ref), r, 1.0, 0.1, eta, u[0])
    np.testing.assert_allclose(pi_out[0], want, rtol=2 * T * L * np.finfo(float).eps, atol=1e-300)
    run = pref.xpo(ref, r, 1.0, alpha=0.1, n_rounds=T, eta=eta, rng=0)
    assert np.all(np.isfinite(run.pi)) and np.all(np.isfinite(run.gap))


def test_online_dpo_large_steps_stay_finite():
    # online DPO updates the logits themselves (no weights to overflow); checked, not a regression
    run = pref.online_dpo([0.5, 0.3, 0.2], [0.0, 1.0, 0.5], 1.0, n_rounds=50, eta=800.0, rng=0)
    assert np.all(np.isfinite(run.pi)) and np.all(np.isfinite(run.gap))
    assert run.pi.sum() == pytest.approx(1.0, abs=1e-15)


def test_gap_weights_does_not_hide_a_nan_weight():
    g = K._gap_weights(np.array([np.nan, 1.0]), 1.0, np.log([0.5, 0.5]), np.zeros(2), 1.0, 0.0)
    assert np.isnan(g)
    assert K._gap_weights(np.array([0.0, 1.0]), 1.0, np.log([0.5, 0.5]), np.zeros(2), 1.0, 0.0) == np.log(2.0)


@pytest.mark.parametrize("w", [[0.5, 0.5, 0.0], [1.0] * 32 + [0.0] * 8])
def test_block_draw_round_off_returns_the_last_positive_weight(w):
    # x at the total (u * S rounds up to S): the draw must never be a zero-weight response
    w = np.array(w)
    nb = (w.size + K._BLOCK - 1) // K._BLOCK
    bsum, bcum = np.empty(nb), np.empty(nb)
    total = K._block_totals(w, bsum, bcum, np.empty(8))
    last = int(np.flatnonzero(w)[-1])
    for x in (total, np.nextafter(total, np.inf)):
        assert K._block_draw(w, bsum, bcum, x) == last
        assert K._block_draw.py_func(w, bsum, bcum, x) == last


@pytest.mark.parametrize("n", [5, 32, 100])
def test_block_draw_matches_cumulative_search(n):
    g = np.random.default_rng(n)
    w = g.random(n) * np.where(g.random(n) < 0.3, 0.0, 1.0) + 1e-3
    nb = (n + K._BLOCK - 1) // K._BLOCK
    bsum, bcum = np.empty(nb), np.empty(nb)
    total = K._block_totals(w, bsum, bcum, np.empty(8))
    b2, c2 = np.empty(nb), np.empty(nb)
    assert total == K._block_totals.py_func(w, b2, c2, np.empty(8)) == pytest.approx(w.sum(), rel=1e-14)
    np.testing.assert_array_equal(bcum, c2)
    cum = np.cumsum(w)
    for x in g.random(300) * total:
        expect = min(int(np.searchsorted(cum, x, side="right")), n - 1)
        got = K._block_draw(w, bsum, bcum, x)
        assert got == K._block_draw.py_func(w, bsum, bcum, x)
        # cum and the block sums add the same n positive terms in different orders; each partial sum is
        # within (n - 1) u total of the exact one (recursive summation, u = eps / 2), so a boundary
        # moves by at most (n - 1) eps total
        assert got == expect or abs(cum[min(got, expect)] - x) <= (n - 1) * np.finfo(float).eps * total


@pytest.mark.parametrize("from_ref,alpha", [(False, 0.0), (True, 0.01)])
def test_parallel_runs_equal_serial_runs(from_ref, alpha):
    args, out1 = _args("sgd", from_ref, alpha)
    _, out2 = _args("sgd", from_ref, alpha)
    K.online_sgd(*args, *out1)
    K.online_sgd_par(*args, *out2)
    for a, b in zip(out1, out2, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("kw", [dict(beta=-1.0), dict(pi_ref=[1.0, 0.0]), dict(reward=[0.0, np.nan]),
                                dict(checkpoints=[20])])
def test_bad_input_is_rejected_before_any_kernel_runs(monkeypatch, kw):
    def boom(*a):
        raise AssertionError("a kernel ran on bad input")

    for name in ("online_sgd", "online_sgd_par", "online_argmin"):
        monkeypatch.setattr(K, name, boom)
    args = dict(pi_ref=[0.5, 0.5], reward=[0.0, 1.0], beta=1.0, alpha=0.1, n_rounds=10)
    args.update(kw)
    with pytest.raises(ValueError, match=next(iter(kw))):
        pref.xpo(**args)
