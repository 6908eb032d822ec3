"""Offline learners PEVI, R2PVI and DRPVI: exact sups, estimates by hand, errors."""

import numpy as np
import pytest

import mdpkit as mk
from mdpkit.divergences import KL, ChiSquare, TotalVariation
from mdpkit.learners import DRPVI, PEVI, R2PVI, OfflineDataset
from mdpkit.learners import _offline_kernels as OK


def _weights_and_values(seed, d=3, K=40, H=3.0):
    rng = np.random.default_rng(seed)
    Phi = rng.dirichlet(np.ones(d), size=K)
    C = np.linalg.inv(Phi.T @ Phi + 0.1 * np.eye(d)) @ Phi.T
    y = rng.uniform(0, H, K)
    y[:5] = 0.0  # ties and a value at the lower end
    return np.ascontiguousarray(C), y


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("lam", [0.05, 0.5, 5.0])
def test_chi2_sup_is_exact_against_a_fine_grid(seed, lam):
    C, y = _weights_and_values(seed)
    out = np.empty(3)
    OK.chi2_sup_coords(C, y, np.argsort(y), lam, 0.0, 3.0, out)
    alphas = np.unique(np.concatenate([np.linspace(0, 3, 200_001), y]))
    Y = np.minimum(y[None, :], alphas[:, None])          # (n_alpha, K)
    z1, z2 = Y @ C.T, (Y**2) @ C.T                        # (n_alpha, d)
    grid = (z1 - (z2 - z1**2) / (4 * lam)).max(axis=0)
    assert np.all(out >= grid - 1e-12)                    # never below an attained value
    np.testing.assert_allclose(out, grid, atol=1e-7)      # and the grid is fine enough


@pytest.mark.parametrize("seed", range(4))
def test_tv_ball_sup_is_exact_at_breakpoints(seed):
    C, y = _weights_and_values(seed)
    rho = np.array([0.0, 0.3, 2.0])
    m = 0.0
    out = np.empty(3)
    OK.tv_ball_sup_coords(C, y, np.argsort(y), rho, m, 3.0, out)
    alphas = np.unique(np.concatenate([np.linspace(0, 3, 30_001), y]))
    vals = np.minimum(y[None, :], alphas[:, None]) @ C.T - rho[None, :] * (alphas[:, None] - m)
    np.testing.assert_allclose(out, vals.max(axis=0), atol=1e-13)


def test_kernels_match_py_func():
    C, y = _weights_and_values(0)
    order = np.argsort(y)
    a, b = np.empty(3), np.empty(3)
    OK.chi2_sup_coords(C, y, order, 0.3, 0.0, 3.0, a)
    OK.chi2_sup_coords.py_func(C, y, order, 0.3, 0.0, 3.0, b)
    np.testing.assert_allclose(a, b, rtol=1e-13)
    rho = np.full(3, 0.2)
    OK.tv_ball_sup_coords(C, y, order, rho, 0.0, 3.0, a)
    OK.tv_ball_sup_coords.py_func(C, y, order, rho, 0.0, 3.0, b)
    np.testing.assert_allclose(a, b, rtol=1e-13)


def _by_hand(data, theta, transform, bonus, bonus_scale=1.0, ridge=0.1):
    """Loop implementation of pessimistic backward induction (independent of the library)."""
    H, S, A, d = data.horizon, data.n_states, data.n_actions, data.dim
    V = np.zeros((H + 1, S))
    Q = np.zeros((H, S, A))
    for h in reversed(range(H)):
        Lam = ridge * np.eye(d)
        for k in range(data.n_trajectories):
            f = data.features[data.states[k, h], data.actions[k, h]]
            Lam += np.outer(f, f)
        Li = np.linalg.inv(Lam)
        y = np.array([V[h + 1, data.states[k, h + 1]] for k in range(data.n_trajectories)])
        Phi = np.array([data.features[data.states[k, h], data.actions[k, h]] for k in range(data.n_trajectories)])
        nu = np.zeros(d) if h == H - 1 else transform(Li, Phi, y, V[h + 1], H)
        for s in range(S):
            for a in range(A):
                f = data.features[s, a]
                q = f @ (theta[h] + nu) - bonus_scale * bonus(f, Li)
                Q[h, s, a] = min(max(q, 0.0), H - h)
        V[h] = Q[h].max(axis=1)
    return Q


@pytest.fixture(scope="module")
def data_and_lin():
    lin = mk.random_linear_mdp(5, 3, 3, 3, rng=7)
    return lin.collect(n_trajectories=60, rng=1), lin


def test_pevi_and_r2pvi_tv_kl_match_hand_loops(data_and_lin):
    data, lin = data_and_lin
    th = lin.theta
    d_rect = lambda f, Li: f @ np.sqrt(np.diag(Li))  # noqa: E731
    pevi = PEVI().fit(data, theta=th)
    ref = _by_hand(data, th, lambda Li, Phi, y, V, H: Li @ Phi.T @ y, lambda f, Li: np.sqrt(f @ Li @ f))
    np.testing.assert_allclose(pevi.Q_, ref, atol=1e-12)
    lam = 0.3
    tv = R2PVI(TotalVariation(), lam).fit(data, theta=th)
    ref = _by_hand(data, th, lambda Li, Phi, y, V, H: Li @ Phi.T @ np.minimum(y, V.min() + lam), d_rect)
    np.testing.assert_allclose(tv.Q_, ref, atol=1e-12)

    def kl_nu(Li, Phi, y, V, H):
        z = Li @ Phi.T @ np.exp(-y / lam)
        return -lam * np.log(np.maximum(z, np.exp(-H / lam)))

    kl = R2PVI(KL(), lam).fit(data, theta=th)
    np.testing.assert_allclose(kl.Q_, _by_hand(data, th, kl_nu, d_rect), atol=1e-12)
    # rewards estimated by ridge when theta is not given
    est = PEVI().fit(data)
    assert np.abs(est.w_ - pevi.w_).max() < 0.5


def test_r2pvi_chi2_uses_the_sup_not_the_inf(data_and_lin):
    data, lin = data_and_lin
    chi = R2PVI(ChiSquare(), 0.3, bonus_scale=0.0).fit(data, theta=lin.theta)
    # the sup over alpha includes alpha = 0, where the objective is 0: nu >= 0 coordinatewise
    assert np.all(chi.w_ - lin.theta >= -1e-12)
    assert chi.V_[0].max() > 0


def test_drpvi_radius_zero_contains_the_plain_regression(data_and_lin):
    data, lin = data_and_lin
    # rho = 0: max_alpha z(alpha) includes alpha = H (the plain regression, y <= H); the
    # ridge weights can be negative, so the sup may exceed it slightly
    dr = DRPVI(0.0, bonus_scale=0.0).fit(data, theta=lin.theta)
    pe = PEVI(bonus_scale=0.0).fit(data, theta=lin.theta)
    assert np.all(dr.w_[-2] >= pe.w_[-2] - 1e-12)
    np.testing.assert_allclose(dr.Q_, pe.Q_, atol=1e-3)
    big = DRPVI([0.5, 0.5, 0.5], bonus_scale=0.0).fit(data, theta=lin.theta)
    assert np.all(big.V_ <= dr.V_ + 1e-12)


def test_q_values_and_policy(data_and_lin):
    data, lin = data_and_lin
    r = R2PVI(KL(), 1.0).fit(data, theta=lin.theta)
    np.testing.assert_allclose(r.q_values(lin.phi, 1), r.Q_[1], atol=1e-13)
    assert r.pi_.shape == (3, 5, 3) and np.all(r.pi_.sum(-1) == 1)
    assert "R2PVI(div=KL(), lam=1.0, bonus_scale=1.0" in repr(r)


_LIN = mk.random_linear_mdp(5, 3, 3, 3, rng=7)
_DATA = _LIN.collect(n_trajectories=20, rng=1)
_OFF = OfflineDataset(_DATA.features * 2.0, _DATA.states, _DATA.actions, _DATA.rewards)
ERRORS = [
    (lambda: R2PVI(KL(), 0), ValueError, "`lam` must be > 0; got 0"),
    (lambda: R2PVI(KL(), -0.1), ValueError, "`lam` must be > 0"),
    (lambda: R2PVI(mk.divergences.Hellinger(), 0.1), NotImplementedError, "Hellinger"),
    (lambda: PEVI(bonus_scale=-1), ValueError, "`bonus_scale` must be >= 0"),
    (lambda: PEVI(ridge=0.0), ValueError, "`ridge` must be > 0"),
    (lambda: DRPVI(-0.1), ValueError, "`rho` must be >= 0"),
    (lambda: DRPVI([0.1, -0.1, 0.0]), ValueError, "`rho` must be >= 0"),
    (lambda: DRPVI([0.1, 0.1]).fit(_DATA), ValueError, r"`rho` must be a scalar or have shape \(d,\) = \(3,\)"),
    (lambda: PEVI().fit({"phi": 1}), TypeError, "`data` must be an OfflineDataset"),
    (lambda: PEVI().fit(_DATA, theta=np.zeros((2, 3))), ValueError, r"`theta` must have shape \(3, 3\)"),
    (lambda: PEVI().q_values(_LIN.phi, 0), ValueError, "not fitted"),
    (lambda: PEVI().fit(_DATA).q_values(np.zeros((2, 2)), 0), ValueError, "`phi` must have last dimension d = 3"),
    (lambda: PEVI().fit(_DATA).q_values(_LIN.phi, 3), ValueError, "`stage` must be <= 2"),
    (lambda: R2PVI(TotalVariation(), 0.1).fit(_OFF), ValueError, r"`data.features\[0, 0, :\]` must sum to 1"),
    (lambda: DRPVI(0.1).fit(_OFF), ValueError, r"`data.features\[0, 0, :\]` must sum to 1"),
]


@pytest.mark.parametrize(("call", "exc", "match"), ERRORS, ids=[e[2][:40] for e in ERRORS])
def test_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_pevi_accepts_general_features():
    assert PEVI().fit(_OFF).Q_.shape == (3, 5, 3)  # PEVI does not need d-rectangular features
