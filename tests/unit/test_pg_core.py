"""mdpkit.pg core: models, exact dynamics, pass@k, entropy, KL estimators, bad input."""

import math

import numpy as np
import pytest

import mdpkit as mk
from mdpkit.pg import _exact_kernels as kr

pg = mk.pg


def _softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


# ------------------------------------------------------------------ closed forms
def test_pass_at_k_reference_values():
    # Chen et al. (2021): n=10, c=3: pass@1 = 3/10; pass@2 = 1 - C(7,2)/C(10,2) = 1 - 21/45
    assert pg.pass_at_k(10, 3, 1) == 0.3
    assert pg.pass_at_k(10, 3, 2) == 1 - 21 / 45
    assert pg.pass_at_k(10, 8, 3) == 1.0          # n - c < k: every k-subset has a success
    assert pg.pass_at_k(10, 0, 10) == 0.0
    np.testing.assert_array_equal(pg.pass_at_k(10, [0, 10], 1), [0.0, 1.0])


def test_pass_at_k_large_n_exact():
    # 1 - C(n-1, k)/C(n, k) = k/n exactly
    assert pg.pass_at_k(10_000, 1, 2_500) == 0.25
    assert pg.pass_at_k(10_000, 1, 3) == 3 / 10_000


def test_zero_advantage_probability_enumeration():
    p, G = 0.3, 5
    tot = sum(math.comb(G, j) * p**j * (1 - p) ** (G - j) for j in (0, G))
    assert pg.zero_advantage_probability(p, G) == pytest.approx(tot, rel=1e-14)


def test_entropy_and_prediction():
    assert pg.entropy([0.25] * 4) == pytest.approx(math.log(4))
    pi = np.array([0.6, 0.3, 0.1])
    dz = np.array([1.0, -0.5, 0.2]) * 1e-5
    z = np.log(pi)
    dh = pg.entropy(_softmax(z + dz)) - pg.entropy(pi)
    assert pg.entropy_change_prediction(pi, dz) == pytest.approx(dh, rel=1e-4)


def test_kl_moments_closed_forms():
    m = pg.kl_estimator_moments([0.5, 0.5], [0.25, 0.75])
    kl = 0.5 * math.log(2) + 0.5 * math.log(2 / 3)
    assert m.kl == pytest.approx(kl, rel=1e-14)
    # k3 is unbiased; k2 mean = (log^2 2 + log^2 (3/2)) / 4
    assert m.mean[2] == pytest.approx(kl, rel=1e-13)
    assert m.mean[1] == pytest.approx((math.log(2) ** 2 + math.log(1.5) ** 2) / 4, rel=1e-13)


# ------------------------------------------------------------------ exact dynamics
def test_npg_is_exponential_tilting():
    """NPG on a bandit: z_t = z_0 + eta t (q - <pi, q>) so pi_t ∝ pi_0 exp(eta t q)."""
    q = np.array([0.1, 0.4, 0.8, 0.3])
    z0 = np.array([0.3, -0.2, 0.0, 0.5])
    tr = pg.exact_dynamics(pg.k_armed(q, z0=z0), eta=0.3, n_steps=25, natural=True)
    pi = _softmax(z0 + 0.3 * 25 * q)
    np.testing.assert_allclose(_softmax(tr.z[0, 0]), pi, rtol=1e-12)
    assert tr.reward[0, -1] == pytest.approx(pi @ q, rel=1e-12)


def test_kl_regularized_fixed_point():
    """With beta > 0 the PG fixed point is pi ∝ pi_ref exp(q/beta)."""
    q = np.array([0.2, 0.9, 0.5])
    tr = pg.exact_dynamics(pg.k_armed(q, reward_type="graded"), eta=0.5, n_steps=3000, natural=True,
                           beta=0.25)
    np.testing.assert_allclose(_softmax(tr.z[0, 0]), _softmax(q / 0.25), atol=1e-10)


def test_noise_scales_the_update_by_one_minus_two_rho():
    q = np.array([0.0, 1.0, 0.5])
    t0 = pg.exact_dynamics(pg.k_armed(q), eta=0.1, n_steps=1)
    t1 = pg.exact_dynamics(pg.k_armed(q, noise=0.2), eta=0.1, n_steps=1)
    np.testing.assert_allclose(t1.z[0], 0.6 * t0.z[0], rtol=1e-13)


def test_configs_serial_equals_parallel(monkeypatch):
    prob = pg.beta_prompts(30, 5, 1.0, 2.0, rng=1)
    kw = dict(eta=[0.1, 0.5, 1.0], natural=[True, False, True], beta=[0.0, 0.1, 0.0], n_steps=40,
              k=[1, 8])
    a = pg.exact_dynamics(prob, **kw)
    from mdpkit.pg import _exact

    monkeypatch.setattr(_exact, "PARALLEL_MIN_WORK", 0)
    b = pg.exact_dynamics(prob, **kw)
    np.testing.assert_array_equal(a.z, b.z)
    np.testing.assert_array_equal(a.pass_at_k, b.pass_at_k)


def test_kernel_matches_py_func():
    prob = pg.beta_prompts(4, 3, 1.0, 1.0, rng=0)
    S, K, M = 4, 3, 4
    args = (prob.reward, prob.observed_reward.copy(), prob.row, prob.z0, np.log(prob.policy()),
            0.3, 0.1, 0.05, False, 5, np.array([0, 5]), np.array([1, 4]))

    def outs():
        return (np.zeros(2), np.zeros(2), np.zeros(2), np.zeros((2, 2)), np.zeros((2, M)),
                np.zeros((2, S)), np.zeros(5), np.zeros(5), np.zeros((S, K)))

    o1, o2 = outs(), outs()
    kr.run_exact(*args, *o1)
    kr.run_exact.py_func(*args, *o2)
    for x, y in zip(o1, o2, strict=True):
        np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-14)


def test_token_tree_mdp_dynamics():
    mdp = mk.token_tree_mdp(2, 2, [0.0, 1.0, 0.0, 0.0])
    tr = pg.exact_dynamics_mdp(mdp, np.zeros((7, 2)), eta=2.0, n_steps=40)
    assert tr.value[0] == pytest.approx(0.25)
    assert np.all(np.diff(tr.value) > 0)     # PG ascent with a small enough step
    assert tr.dH.shape == (40, 2, 7)


def test_beta_prompts_initial_success_is_beta_distributed():
    prob = pg.beta_prompts(4000, 6, 2.0, 5.0, n_correct=2, rng=3)
    p = prob.success()
    se = math.sqrt(2 * 5 / (7**2 * 8) / 4000)
    assert abs(p.mean() - 2 / 7) < 4 * se


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: pg.exact_dynamics(pg.k_armed([0.1, 0.5]), eta=0.0, n_steps=3), "`eta` must be > 0"),
        (lambda: pg.exact_dynamics(pg.k_armed([0.1, 0.5]), eta=-1.0, n_steps=3), "`eta`"),
        (lambda: pg.exact_dynamics(pg.k_armed([0.1, 0.5]), eta=0.1, n_steps=3, beta=-1), "`beta`"),
        (lambda: pg.k_armed([0.1, 1.5]), r"binary .* \[0, 1\]"),
        (lambda: pg.k_armed([0.1, 0.5], noise=0.5), "`noise`"),
        (lambda: pg.k_armed([0.1, 2.0], reward_type="graded", noise=0.1), "flips binary"),
        (lambda: pg.k_armed([0.1, 0.2], reward_type="ordinal"), "`reward_type`"),
        (lambda: pg.pass_at_k(5, 2, 6), "1 <= k <= n"),
        (lambda: pg.pass_at_k(5, 6, 1), "0 <= c <= n"),
        (lambda: pg.pass_at_k(5, 2, 1.5), "integers"),
        (lambda: pg.zero_advantage_probability(0.5, 1), "`G` must be >= 2"),
        (lambda: pg.zero_advantage_probability(1.5, 4), r"`p` must lie in \[0, 1\]"),
        (lambda: pg.kl_estimator_moments([0.5, 0.5], [1.0, 0.0]), "positive where"),
        (lambda: pg.exact_dynamics_mdp(mk.random_mdp(3, 2, gamma=0.9, rng=0), np.zeros((3, 2)),
                                       eta=0.0, n_steps=2), "`eta`"),
    ],
)
def test_bad_input(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()


def test_vectorizable_exp_is_within_one_ulp_and_matches_py_func():
    rng = np.random.default_rng(0)
    x = -np.abs(rng.normal(size=2000)) * rng.choice([1.0, 10.0, 100.0, 600.0], size=2000)
    x[:3] = [0.0, -0.5 * math.log(2), -700.0]
    outs = [np.empty_like(x) for _ in range(2)]
    for f, o in zip((kr.exp_nonpositive, kr.exp_nonpositive.py_func), outs, strict=True):
        f(x, o, np.empty_like(x), np.empty(x.size, dtype=np.int64))
    ref = np.exp(np.maximum(x, -700.0))   # documented floor: exp(-700) ~ 1e-304
    assert np.max(np.abs(outs[0] - ref) / ref) <= 2.3e-16
    # the compiled kernel may fuse multiply-adds (fastmath 'contract'): 1-ulp differences
    np.testing.assert_allclose(outs[0], outs[1], rtol=4.5e-16, atol=0)


def _numpy_exact(prob, log_ref, eta, beta, tau, natural, n_steps):
    """The module-docstring update written directly: per-prompt advantages averaged per row."""
    z = prob.z0.copy()
    q = prob.observed_reward
    dh, pred = [], []

    def ent_rows(z):
        lp = z - np.log(np.exp(z - z.max(1, keepdims=True)).sum(1, keepdims=True)) - z.max(1, keepdims=True)
        return np.exp(lp), lp, -(np.exp(lp) * lp).sum(1)

    for _ in range(n_steps):
        pi, lp, H = ent_rows(z)
        grad = np.zeros_like(z)
        cnt = np.zeros(z.shape[0])
        for m in range(prob.n_prompts):
            s = prob.row[m]
            g = q[m] - beta * (lp[s] - log_ref[s]) - tau * lp[s]
            A = g - pi[s] @ g
            grad[s] += A if natural else pi[s] * A
            cnt[s] += 1
        dz = eta * grad / np.maximum(cnt, 1)[:, None]
        c = (pi * lp * dz).sum(1) - (pi * lp).sum(1) * (pi * dz).sum(1)
        pred.append(-c[prob.row].mean())
        z = z + dz
        dh.append(ent_rows(z)[2][prob.row].mean() - H[prob.row].mean())
    return z, np.array(dh), np.array(pred)


@pytest.mark.parametrize("natural", [True, False])
@pytest.mark.parametrize("shared", [False, True])
def test_fused_exact_kernel_matches_plain_numpy(natural, shared):
    rng = np.random.default_rng(5)
    q = rng.random((6, 5))
    prob = pg.multi_prompt(q, z0=rng.normal(size=(1 if shared else 6, 5)), shared=shared)
    ref = rng.dirichlet(np.ones(5), size=prob.n_rows)
    tr = pg.exact_dynamics(prob, eta=0.7, n_steps=30, natural=natural, beta=0.2, entropy_bonus=0.05,
                           pi_ref=ref)
    z, dh, pred = _numpy_exact(prob, np.log(ref), 0.7, 0.2, 0.05, natural, 30)
    np.testing.assert_allclose(tr.z[0], z, rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(tr.dH[0], dh, rtol=1e-9, atol=1e-13)
    np.testing.assert_allclose(tr.dH_pred[0], pred, rtol=1e-9, atol=1e-13)


def test_fused_row_step_recovers_from_a_bad_shift():
    z = np.array([0.0, -3.0, 900.0, 2.0])
    out = []
    for shift in (900.0, 0.0, 5000.0):   # good, overflowing and underflowing shifts
        zz = z.copy()
        e, t, b, sums = np.empty(4), np.empty(4), np.empty(4, dtype=np.int64), np.empty(8)
        out.append(kr.fused_row_step(zz, shift, np.array([1.0, 0.0, 0.0, 1.0]), 0.1, 0.5, True,
                                     True, e, t, b, sums)[:2] + (zz[0],))
    np.testing.assert_allclose(out[1], out[0], rtol=1e-12)
    np.testing.assert_allclose(out[2], out[0], rtol=1e-12)
    assert np.all(np.isfinite(out))


def _ulps(got, ref):
    """|got - ref| in units of the last place of ref (np.spacing: one ulp at ref's binade)."""
    return np.abs(got - ref) / np.spacing(ref)


def test_scalar_exp_matches_numpy_within_two_ulp():
    x = -np.abs(np.random.default_rng(1).normal(size=3000)) * np.repeat([1.0, 30.0, 650.0], 1000)
    x[:3] = [0.0, -700.0, -800.0]
    # positive arguments up to ln2 / 2 are inside the reduced range (documented x <= 0 is safe)
    x = np.concatenate([x, np.linspace(1e-9, 0.34, 200)])
    got = np.array([kr.exp_neg_scalar(v) for v in x])
    ref = np.exp(np.maximum(x, -700.0))   # documented floor exp(-700)
    assert np.max(_ulps(got, ref)) <= 2.0
    py = np.array([kr.exp_neg_scalar.py_func(v) for v in x[::20]])
    assert np.max(_ulps(got[::20], py)) <= 2.0


def test_shifted_exp_within_two_ulp_for_positive_and_negative_arguments():
    rng = np.random.default_rng(2)
    x = rng.uniform(-700.0, 700.0, size=3000)
    x[:4] = [700.0, -700.0, 0.5 * math.log(2), 1e-300]
    out = np.empty_like(x)
    kr.exp_shifted(x + 3.0, 3.0, out, np.empty_like(x), np.empty(x.size, dtype=np.int64))
    assert np.max(_ulps(out, np.exp((x + 3.0) - 3.0))) <= 2.0


def _maxshift_dh_pred(z, q, eta, n_steps):
    """Plain PG on one row, written directly in NumPy with the row maximum as the shift."""
    pred = []
    for _ in range(n_steps):
        lp = z - z.max() - np.log(np.exp(z - z.max()).sum())
        pi = np.exp(lp)
        dz = eta * pi * (q - pi @ q)
        pred.append(-((pi * lp * dz).sum() - (pi * lp).sum() * (pi * dz).sum()))
        z = z + dz
    return np.array(pred)


@pytest.mark.parametrize("eta", [1500.0, 1600.0, 1800.0])
def test_exact_dynamics_large_step_is_finite_and_matches_numpy(eta):
    # a stale shift (previous log-sum-exp, off by ~eta / 4 nats) used to be accepted and made
    # s2 = sum e^2 and eta / s0^2 over/underflow: dH_pred[1] was 0 * inf = NaN
    tr = mk.pg.exact_dynamics(mk.pg.k_armed([0.0, 1.0]), eta=eta, n_steps=3, checkpoints=[0, 3])
    assert np.all(np.isfinite(tr.dH_pred)) and np.all(np.isfinite(tr.dH))
    # the -700 floor changes these values by at most ~1e-300 (documented)
    np.testing.assert_allclose(tr.dH_pred[0], _maxshift_dh_pred(np.zeros(2), np.array([0.0, 1.0]),
                                                                eta, 3), rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("natural", [False, True])
@pytest.mark.parametrize("offset", [-455.0, -400.0, -360.0, -10.0, 10.0, 360.0, 400.0, 455.0])
def test_fused_row_step_with_a_stale_shift_equals_max_shift(natural, offset):
    rng = np.random.default_rng(3)
    z = rng.normal(size=6) * 3.0
    w = rng.random(6)
    lse = z.max() + np.log(np.exp(z - z.max()).sum())
    res = []
    for shift in (z.max(), lse + offset):
        zz = z.copy()
        e, t, b, sums = np.empty(6), np.empty(6), np.empty(6, dtype=np.int64), np.empty(8)
        res.append(kr.fused_row_step(zz, shift, w, 0.1, 0.5, natural, True, e, t, b, sums) + (zz,))
    assert np.all(np.isfinite(res[1][:3])) and np.all(np.isfinite(res[1][3]))
    # inside the accepted window (|offset| < 13.8 nats) the shift error costs ~|offset| * 2.2e-16
    # absolute per sum; H, Cov and lse here are O(1) so rtol/atol 1e-13 bounds it with margin
    for a, b in zip(res[1], res[0], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("natural", [False, True])
def test_row_sums_use_the_clamped_argument(natural):
    # e = exp(-700) for z - shift = -1e300; e * (z - shift) would add -1e-4 to E[x] (and to H)
    z = np.array([0.0, -1e300])
    e, t, b, sums = np.empty(2), np.empty(2), np.empty(2, dtype=np.int64), np.empty(8)
    h, cov, lse = kr.fused_row_step(z, 0.0, np.array([1.0, 0.0]), 0.1, 0.5, natural, False,
                                    e, t, b, sums)
    assert 0.0 <= h < 1e-299 and abs(cov) < 1e-299 and lse == 0.0
