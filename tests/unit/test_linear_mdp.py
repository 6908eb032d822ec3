"""LinearMDP, the R2PVI instance and OfflineDataset: construction, conversions, errors."""

import numpy as np
import pytest

import mdpkit as mk
from mdpkit.learners import OfflineDataset


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


def test_linear_mdp_errors(rng):
    phi = rng.dirichlet(np.ones(2), size=(3, 2))
    mu = rng.dirichlet(np.ones(3), size=(2, 2))
    th = np.zeros((2, 2))
    with pytest.raises(ValueError, match=r"`phi\[0, 0, :\]` must sum to 1"):
        mk.LinearMDP(phi * 1.1, mu, th)
    bad = phi.copy()
    bad[0, 0] = [1.5, -0.5]
    with pytest.raises(ValueError, match="`phi` must have non-negative"):
        mk.LinearMDP(bad, mu, th)
    with pytest.raises(ValueError, match=r"`mu` must have shape \(H, d, S\)"):
        mk.LinearMDP(phi, mu[:, :, :2], th)
    with pytest.raises(ValueError, match=r"`mu\[0, 1, :\]` must sum to 1"):
        m2 = mu.copy()
        m2[0, 1] *= 0.5
        mk.LinearMDP(phi, m2, th)
    with pytest.raises(ValueError, match=r"`theta` must have shape \(2, 2\)"):
        mk.LinearMDP(phi, mu, np.zeros((3, 2)))
    with pytest.raises(ValueError, match="`theta` must be finite"):
        mk.LinearMDP(phi, mu, np.full((2, 2), np.nan))
    with pytest.raises(ValueError, match=r"`mu0\[:\]` must sum to 1"):
        mk.LinearMDP(phi, mu, th, mu0=[0.5, 0.5, 0.5])
    with pytest.raises(ValueError, match="`delta` and `xi_norm`"):
        mk.r2pvi_linear_mdp(delta=0.1, xi_norm=0.2)
    with pytest.raises(ValueError, match="`perturbation` must be <= 1"):
        mk.r2pvi_linear_mdp(perturbation=1.5)
    lin = mk.LinearMDP(phi, mu, th)
    with pytest.raises(ValueError, match="`behavior` must be 'uniform'"):
        lin.collect("greedy", 3)
    with pytest.raises(ValueError, match="`n_trajectories` must be >= 1"):
        lin.collect("uniform", 0)


def test_dataset_errors():
    phi = np.full((2, 2, 2), 0.5)
    with pytest.raises(ValueError, match=r"`states` must have shape \(K, H \+ 1\)"):
        OfflineDataset(phi, [[0, 1]], [[0, 1]], [[0.0, 1.0]])
    with pytest.raises(ValueError, match=r"`rewards` must have shape \(K, H\)"):
        OfflineDataset(phi, [[0, 1, 1]], [[0, 1]], [[0.0]])
    with pytest.raises(ValueError, match=r"`actions` action indices must lie in \[0, 1\]"):
        OfflineDataset(phi, [[0, 1, 1]], [[0, 2]], [[0.0, 1.0]])
    with pytest.raises(TypeError, match="`states` must be an integer array"):
        OfflineDataset(phi, [[0.0, 1.0, 1.0]], [[0, 1]], [[0.0, 1.0]])
    with pytest.raises(ValueError, match="`rewards` must be finite"):
        OfflineDataset(phi, [[0, 1, 1]], [[0, 1]], [[0.0, np.inf]])
