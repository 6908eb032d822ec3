"""LinearMDP, the R2PVI instance and OfflineDataset: construction, conversions, errors."""

import numpy as np
import pytest

import mdpkit as mk
from mdpkit.mdp import OfflineDataset


def _small(rng, S=4, A=3, d=2, H=3):
    phi = rng.dirichlet(np.ones(d), size=(S, A))
    mu = rng.dirichlet(np.ones(S), size=(H, d))
    theta = rng.uniform(size=(H, d))
    return mk.LinearMDP(phi, mu, theta)


def test_to_tabular_matches_factor_mixture(rng):
    lin = _small(rng)
    tab = lin.to_tabular()
    assert tab.horizon == lin.horizon == 3
    for h in range(3):
        P = np.einsum("sai,it->sat", lin.phi, lin.mu[h])
        np.testing.assert_allclose(tab.P[h], P, atol=1e-15)
        np.testing.assert_allclose(tab.r[h], lin.phi @ lin.theta[h], atol=1e-15)
    assert lin.to_tabular() is tab


def test_r2pvi_instance_structure():
    lin = mk.r2pvi_linear_mdp()
    assert (lin.n_states, lin.n_actions, lin.dim, lin.horizon) == (5, 16, 4, 3)
    # xi = 0.05 * 1; action a = (1,1,1,1) (last index) gives delta + xi^T a = 0.5
    np.testing.assert_allclose(lin.phi[0, 15], [0.5, 0, 0, 0.5])
    np.testing.assert_allclose(lin.mu0, [1, 0, 0, 0, 0])
    # the good state is absorbing with reward 1 after the first step, the fail state with 0
    tab = lin.to_tabular()
    assert tab.P[1, 4, 0, 4] == 1.0 and tab.P[1, 3, 0, 3] == 1.0
    np.testing.assert_allclose(tab.r[1, 4], 1.0)
    np.testing.assert_allclose(tab.r[1, 3], 0.0)
    # perturbation q = 1: factor 4 leads to the fail state at the first step
    pert = mk.r2pvi_linear_mdp(perturbation=1.0)
    np.testing.assert_allclose(pert.mu[0, 3], [0, 0, 0, 1, 0])
    np.testing.assert_allclose(pert.mu[0, 0], [0, 1, 0, 0, 0])
    assert mk.solve(pert.to_tabular()).V[0, 0] < mk.solve(tab).V[0, 0]


def test_collect_dataset_shapes_and_determinism():
    lin = mk.r2pvi_linear_mdp()
    a = lin.collect(n_trajectories=30, rng=3)
    b = lin.collect("uniform", 30, rng=3)
    np.testing.assert_array_equal(a.states, b.states)
    assert a.states.shape == (30, 4) and a.actions.shape == (30, 3)
    assert np.all(a.states[:, 0] == 0)
    np.testing.assert_allclose(a.rewards, np.einsum("khi,hi->kh", a.phi_taken, lin.theta))
    # a deterministic behaviour policy
    pi = np.zeros((5, 16))
    pi[:, 15] = 1.0
    c = lin.collect(pi, 5, rng=0)
    assert np.all(c.actions == 15)
    assert a.subset(10).n_trajectories == 10


_R = np.random.default_rng(0)
_PHI = _R.dirichlet(np.ones(2), size=(3, 2))
_MU = _R.dirichlet(np.ones(3), size=(2, 2))
_TH = np.zeros((2, 2))
_BAD_PHI = _PHI.copy()
_BAD_PHI[0, 0] = [1.5, -0.5]
_BAD_MU = _MU.copy()
_BAD_MU[0, 1] *= 0.5
_LIN = mk.LinearMDP(_PHI, _MU, _TH)
_F = np.full((2, 2, 2), 0.5)
ERRORS = [
    (lambda: mk.LinearMDP(_PHI * 1.1, _MU, _TH), ValueError, r"`phi\[0, 0, :\]` must sum to 1"),
    (lambda: mk.LinearMDP(_BAD_PHI, _MU, _TH), ValueError, "`phi` must have non-negative"),
    (lambda: mk.LinearMDP(_PHI[..., 0], _MU, _TH), ValueError, "`phi` must have 3 dimensions"),
    (lambda: mk.LinearMDP(_PHI, _MU[:, :, :2], _TH), ValueError, r"`mu` must have shape \(H, d, S\)"),
    (lambda: mk.LinearMDP(_PHI, _BAD_MU, _TH), ValueError, r"`mu\[0, 1, :\]` must sum to 1"),
    (lambda: mk.LinearMDP(_PHI, _MU, np.zeros((3, 2))), ValueError, r"`theta` must have shape \(2, 2\)"),
    (lambda: mk.LinearMDP(_PHI, _MU, np.full((2, 2), np.nan)), ValueError, "`theta` must be finite"),
    (lambda: mk.LinearMDP(_PHI, _MU, _TH, mu0=[0.5, 0.5, 0.5]), ValueError, r"`mu0\[:\]` must sum to 1"),
    (lambda: mk.r2pvi_linear_mdp(delta=0.1, xi_norm=0.2), ValueError, "`delta` and `xi_norm`"),
    (lambda: mk.r2pvi_linear_mdp(perturbation=1.5), ValueError, "`perturbation` must be <= 1"),
    (lambda: mk.random_linear_mdp(3, 2, 0, 2), ValueError, "`dim` must be >= 1"),
    (lambda: _LIN.collect("greedy", 3), ValueError, "`behavior` must be 'uniform'"),
    (lambda: _LIN.collect("uniform", 0), ValueError, "`n_trajectories` must be >= 1"),
    (lambda: _LIN.collect(np.ones((3, 2)), 2), ValueError, r"`behavior\[0, 0, :\]` must sum to 1"),
    (lambda: OfflineDataset(_F, [[0, 1]], [[0, 1]], [[0.0, 1.0]]), ValueError,
     r"`states` must have shape \(K, H \+ 1\)"),
    (lambda: OfflineDataset(_F, [[0, 1, 1]], [[0, 1]], [[0.0]]), ValueError, r"`rewards` must have shape \(K, H\)"),
    (lambda: OfflineDataset(_F, [[0, 1, 1]], [[0, 2]], [[0.0, 1.0]]), ValueError,
     r"`actions` action indices must lie in \[0, 1\]"),
    (lambda: OfflineDataset(_F, [[0, 1, 5]], [[0, 1]], [[0.0, 1.0]]), ValueError,
     r"`states` state indices must lie in \[0, 1\]"),
    (lambda: OfflineDataset(_F, [[0.0, 1.0, 1.0]], [[0, 1]], [[0.0, 1.0]]), TypeError,
     "`states` must be an integer array"),
    (lambda: OfflineDataset(_F, [[0, 1, 1]], [[0, 1]], [[0.0, np.inf]]), ValueError, "`rewards` must be finite"),
    (lambda: OfflineDataset(_F[..., 0], [[0, 1, 1]], [[0, 1]], [[0.0, 1.0]]), ValueError,
     "`features` must have 3 dimensions"),
]


@pytest.mark.parametrize(("call", "exc", "match"), ERRORS, ids=[e[2][:40] for e in ERRORS])
def test_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
