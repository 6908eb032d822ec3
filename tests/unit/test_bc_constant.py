"""The BC constant N^E E[KL_traj] -> sum (k-1)/2 + kappa (A-k) (CLAIMS C9 i)."""

import numpy as np
import pytest

import mdpkit as mk


def test_bc_kl_limit_counts_reachable_states_only():
    pi_e = np.zeros((2, 3, 4))
    pi_e[..., 0] = 1.0
    d = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.0]])
    assert mk.theory.bc_kl_limit(pi_e, d, kappa=0.5) == pytest.approx(3 * 0.5 * 3)


def test_bc_kl_limit_matches_one_state_exact_expectation():
    # one stage, one state visited every episode: E KL = sum_n-multinomial ...; check N E KL -> limit
    from scipy.stats import multinomial

    p = np.array([0.5, 0.3, 0.2, 0.0])
    N = 400
    n0, n1 = np.meshgrid(np.arange(N + 1), np.arange(N + 1), indexing="ij")
    keep = n0 + n1 <= N
    n = np.stack([n0[keep], n1[keep], N - n0[keep] - n1[keep], 0 * n0[keep]], axis=1)
    q = (n[:, :3] + 1.0) / (N + 4.0)
    kl = float(multinomial.pmf(n, N, p) @ np.sum(p[:3] * np.log(p[:3] / q), axis=1))
    lim = mk.theory.bc_kl_limit(p[None, None, :], [[1.0]])
    assert lim == 2.0   # (3-1)/2 + 1 * (4-3)
    assert N * kl == pytest.approx(lim, rel=0.02)


def test_bc_kl_limit_rejects_bad_policies():
    with pytest.raises(ValueError, match="`pi_e`"):
        mk.theory.bc_kl_limit(np.ones((1, 1, 2)), [[1.0]])
    with pytest.raises(ValueError, match="`kappa`"):
        mk.theory.bc_kl_limit(np.full((1, 1, 2), 0.5), [[1.0]], kappa=0.0)
