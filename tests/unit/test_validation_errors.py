"""Every bad input raises a clear ValueError/TypeError naming the argument (before kernels)."""

import numpy as np
import pytest
import scipy.sparse as sp

import mdpkit as mk
from mdpkit.divergences import KL, Alpha, ChiSquare


def _good():
    P = np.array([[[0.5, 0.5], [1.0, 0.0]], [[0.0, 1.0], [0.3, 0.7]]])
    r = np.array([[1.0, 0.0], [0.0, 2.0]])
    return P, r


def test_rows_not_stochastic_points_at_row():
    P, r = _good()
    P[1, 0] = [0.2, 0.7]
    with pytest.raises(ValueError, match=r"P\[1, 0, :\]` must sum to 1"):
        mk.TabularMDP(P, r, gamma=0.9)


def test_negative_probability():
    P, r = _good()
    P[0, 0] = [1.5, -0.5]
    with pytest.raises(ValueError, match=r"non-negative.*P\[0, 0, 1\]"):
        mk.TabularMDP(P, r, gamma=0.9)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nonfinite_reward(bad):
    P, r = _good()
    r[1, 1] = bad
    with pytest.raises(ValueError, match=r"`r` must be finite.*; `r\[1, 1\]`"):
        mk.TabularMDP(P, r, gamma=0.9)


def test_nonfinite_transition():
    P, r = _good()
    P[0, 1, 0] = np.nan
    with pytest.raises(ValueError, match=r"`P` must be finite"):
        mk.TabularMDP(P, r, gamma=0.9)


def test_wrong_shapes():
    P, r = _good()
    with pytest.raises(ValueError, match=r"`P` must have shape \(2, 2, 2\)"):
        mk.TabularMDP(P[:, :, :1], r, gamma=0.9)
    with pytest.raises(ValueError, match=r"`r` must have 2 or 3 or 4 dimensions"):
        mk.TabularMDP(P, r[0], gamma=0.9)
    with pytest.raises(ValueError, match=r"sparse `P` must have shape \(S\*A, S\)"):
        mk.TabularMDP(sp.csr_matrix(np.eye(2)), r, gamma=0.9)
    with pytest.raises(ValueError, match=r"`r` must have shape \(H, S, A\) with H = horizon = 3"):
        mk.TabularMDP(P, np.zeros((4, 2, 2)), horizon=3)  # (2, 2, 2) would be r[s, a, s_next]


def test_sparse_row_not_stochastic():
    P, r = _good()
    M = sp.csr_matrix(P.reshape(4, 2))
    M = M.multiply(0.5).tocsr()
    with pytest.raises(ValueError, match=r"P\[0, 0, :\]` must sum to 1"):
        mk.TabularMDP(M, r, gamma=0.9)


@pytest.mark.parametrize("gamma", [-0.1, 1.0, 1.5])
def test_gamma_out_of_range(gamma):
    P, r = _good()
    with pytest.raises(ValueError, match=r"`gamma` must satisfy 0 <= gamma < 1"):
        mk.TabularMDP(P, r, gamma=gamma)


def test_gamma_wrong_type():
    P, r = _good()
    with pytest.raises(TypeError, match=r"`gamma` must be a real number"):
        mk.TabularMDP(P, r, gamma="0.9")


def test_horizon_or_gamma_required():
    P, r = _good()
    assert mk.TabularMDP(P, r, gamma=0.9, horizon=3).gamma == 0.9  # discounted finite horizon
    with pytest.raises(ValueError, match="one of `gamma`"):
        mk.TabularMDP(P, r)


@pytest.mark.parametrize("horizon", [0, -2])
def test_bad_horizon(horizon):
    P, r = _good()
    with pytest.raises(ValueError, match=r"`horizon` must be >= 1"):
        mk.TabularMDP(P, r, horizon=horizon)


def test_mu0_off_simplex():
    P, r = _good()
    with pytest.raises(ValueError, match=r"`mu0\[:\]` must sum to 1"):
        mk.TabularMDP(P, r, gamma=0.5, mu0=[0.5, 0.6])


@pytest.mark.parametrize("beta", [0.0, -1.0, np.nan, np.inf])
def test_beta_must_be_positive(beta):
    mdp = mk.puterman_example()
    with pytest.raises(ValueError, match=r"`beta` must be"):
        mk.solve_kl_regularized(mdp, mk.uniform_policy(mdp), beta)


def test_pi_ref_with_zero_where_support_needed():
    mdp = mk.puterman_example()
    with pytest.raises(ValueError, match=r"`pi_ref` must be strictly positive.*pi_ref\[1, 0\]"):
        mk.solve_kl_regularized(mdp, [[0.5, 0.5], [0.0, 1.0]], 0.1)


def test_pi_ref_wrong_shape_and_not_stochastic():
    mdp = mk.puterman_example()
    with pytest.raises(ValueError, match=r"`pi_ref` must have shape \(S, A\) = \(2, 2\)"):
        mk.solve_kl_regularized(mdp, [[0.5, 0.5]], 0.1)
    with pytest.raises(ValueError, match=r"`pi_ref\[1, :\]` must sum to 1"):
        mk.solve_kl_regularized(mdp, [[0.5, 0.5], [0.5, 0.6]], 0.1)


def test_unknown_method_is_exact_message():
    mdp = mk.puterman_example()
    with pytest.raises(ValueError, match=r"`method` must be one of \['backward_induction', 'gauss_seidel', 'linear_programming', 'modified_policy_iteration', 'policy_iteration', 'value_iteration'\]; got 'vi'"):
        mk.solve(mdp, method="vi")


def test_method_horizon_mismatch():
    mdp = mk.random_mdp(n_states=3, n_actions=2, horizon=2, rng=0)
    with pytest.raises(ValueError, match="backward_induction"):
        mk.solve(mdp, method="value_iteration")
    with pytest.raises(ValueError, match="needs a finite-horizon MDP"):
        mk.solve(mk.puterman_example(), method="backward_induction")


def test_policy_regularizer_needs_a_divergence():
    with pytest.raises(TypeError, match="`div` must be an mdpkit.divergences.FDivergence"):
        mk.PolicyRegularizer("kl", [[1.0]], 1.0)
    with pytest.raises(ValueError, match="`beta` must be > 0"):
        mk.PolicyRegularizer(KL(), [[1.0]], 0.0)


def test_solver_options():
    mdp = mk.puterman_example()
    with pytest.raises(ValueError, match="`tol` must be > 0"):
        mk.solve(mdp, tol=0.0)
    with pytest.raises(ValueError, match="`max_iter` must be >= 1"):
        mk.solve(mdp, max_iter=0)
    with pytest.raises(ValueError, match=r"`V0` must have shape \(2\)"):
        mk.solve(mdp, V0=[0.0])
    with pytest.raises(TypeError, match="`mdp` must be a TabularMDP"):
        mk.solve("mdp")


def test_divergence_inputs():
    with pytest.raises(ValueError, match="`alpha` must differ from 0 and 1"):
        Alpha(1.0)
    with pytest.raises(ValueError, match=r"`p` must be strictly positive"):
        ChiSquare().regularized_max([0.0, 1.0], [1.0, 0.0], beta=1.0)
    with pytest.raises(ValueError, match=r"`q\[:\]` must sum to 1"):
        KL().value([0.5, 0.6], [0.5, 0.5])
    with pytest.raises(ValueError, match="same shape"):
        KL().value([1.0], [0.5, 0.5])


def test_policy_validation_in_evaluate_and_simulate():
    mdp = mk.puterman_example()
    with pytest.raises(ValueError, match=r"action indices must lie in \[0, 1\]"):
        mdp.evaluate(np.array([0, 2]))
    with pytest.raises(ValueError, match="`n_steps` is required"):
        mdp.simulate(mk.uniform_policy(mdp), 3, rng=0)
    with pytest.raises(ValueError, match="`n_episodes` must be >= 1"):
        mdp.simulate(mk.uniform_policy(mdp), 0, rng=0, n_steps=2)
    with pytest.raises(ValueError, match="`rng` must be a non-negative integer"):
        mdp.simulate(mk.uniform_policy(mdp), 2, rng=-1, n_steps=2)
    with pytest.raises(TypeError, match="`rng` must be None"):
        mdp.simulate(mk.uniform_policy(mdp), 2, rng="seed", n_steps=2)


def test_generators_validate():
    with pytest.raises(ValueError, match="`n_states` must be >= 1"):
        mk.random_mdp(n_states=0, n_actions=2, gamma=0.9)
    with pytest.raises(ValueError, match="`n_successors` must be <= 3"):
        mk.random_mdp(n_states=3, n_actions=2, gamma=0.9, n_successors=4)
    with pytest.raises(ValueError, match="one of `gamma` and `horizon`"):
        mk.chain_mdp(5)
    with pytest.raises(ValueError, match="`slip` must be <= 1"):
        mk.gridworld(3, gamma=0.9, slip=2.0)


def test_solve_result_status_codes():
    """SciPy-style status codes with one message table."""
    import warnings

    from mdpkit import ConvergenceWarning
    from mdpkit._results import SOLVE_STATUS

    mdp = mk.random_mdp(n_states=4, n_actions=2, gamma=0.99, rng=0)
    ok = mk.solve(mdp)
    assert ok.status == 0 and ok.converged and ok.message == SOLVE_STATUS[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        short = mk.solve(mdp, method="value_iteration", max_iter=2)
    assert short.status == 1 and not short.converged and short.message == SOLVE_STATUS[1]
    fh = mk.solve(mk.random_mdp(n_states=3, n_actions=2, horizon=2, rng=0))
    assert fh.status == 0 and fh.message.startswith("converged")
    with pytest.raises(ValueError, match="`status` must be one of"):
        mk.SolveResult(V=ok.V, Q=ok.Q, pi=ok.pi, converged=True, n_iter=1, residual=0.0, method="x", status=7)


def test_as_probability_vector_is_the_one_probs_rule_of_bon_and_reward_hacking():
    # Discrete and JointLaw share this helper (they had two copies); same message, same renormalization
    from mdpkit._validation import as_probability_vector

    p = as_probability_vector("probs", np.array([0.5, 0.5 + 5e-10]))
    assert p.sum() == pytest.approx(1.0, abs=2e-16)
    for bad, msg in [([1.5, -0.5], r"`probs` must have non-negative entries; `probs\[1\]` = .*-0.5"),
                     ([0.5, 0.6], r"`probs\[:\]` must sum to 1 \(atol=1e-09\); it sums to 1.1")]:
        for make in (lambda q: as_probability_vector("probs", np.array(q)),
                     lambda q: mk.bon.Discrete(q, [0.0, 1.0]),
                     lambda q: mk.reward_hacking.JointLaw(q, [0.0, 1.0], [0.0, 1.0])):
            with pytest.raises(ValueError, match=msg):
                make(bad)
    np.testing.assert_array_equal(mk.bon.Discrete([0.5, 0.5 + 5e-10], [0.0, 1.0]).probs, p)
