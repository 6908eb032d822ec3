"""Demonstration-regularized RL, regularization bias (Tiapkin et al. 2024, Sec. 4; CLAIMS B2 item 3).

Statement: for every finite-horizon MDP, expert pi_E, reference pi_BC (full support) and beta > 0,
with pi_beta = argmax_pi V^pi - beta KL_traj(pi || pi_BC),

    V^{pi_E} - V^{pi_beta} <= beta * KL_traj(pi_E || pi_BC),

and the regularized optimum equals V^{pi_beta} - beta KL_traj(pi_beta || pi_BC). KL_traj is the
KL between the trajectory laws; here it is also computed by brute-force enumeration.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mdpkit as mk
from mdpkit.checks.demo_reg import (
    enumerate_trajectories,
    enumerated_kl,
    forward_value,
    gap_inequality_terms,
)

pytestmark = pytest.mark.theorem


@st.composite
def instances(draw):
    S = draw(st.integers(1, 3))
    A = draw(st.integers(1, 3))
    H = draw(st.integers(1, 3))
    seed = draw(st.integers(0, 2**31 - 1))
    g = np.random.default_rng(seed)
    mdp = mk.random_mdp(n_states=S, n_actions=A, horizon=H, rng=seed, stationary=False,
                        concentration=draw(st.sampled_from([0.2, 1.0])))
    pi_e = g.dirichlet(np.full(A, draw(st.sampled_from([0.1, 1.0]))), size=(H, S))
    pi_bc = g.dirichlet(np.ones(A), size=(H, S)) * 0.98 + 0.02 / A
    beta = draw(st.floats(1e-3, 1e3))
    return mdp, pi_e, pi_bc, beta


@settings(deadline=None)
@given(inst=instances())
def test_gap_inequality(inst):
    mdp, pi_e, pi_bc, beta = inst
    gap, bound, res = gap_inequality_terms(mdp, pi_e, pi_bc, beta)
    assert gap <= bound + 1e-10 * (1 + abs(bound))


@settings(deadline=None)
@given(inst=instances())
def test_trajectory_kl_and_soft_value_by_enumeration(inst):
    mdp, pi_e, pi_bc, beta = inst
    kl_enum = enumerated_kl(mdp, pi_e, pi_bc)
    assert mk.learners.trajectory_kl(mdp, pi_e, pi_bc) == pytest.approx(kl_enum, rel=1e-9, abs=1e-12)
    res = mk.solve_kl_regularized(mdp, pi_bc, beta)
    p, ret, _ = enumerate_trajectories(mdp, res.pi)
    soft = float(p @ ret) - beta * enumerated_kl(mdp, res.pi, pi_bc)
    assert float(mdp.mu0 @ res.V[0]) == pytest.approx(soft, rel=1e-9, abs=1e-9)
    # optimality against the expert, in the regularized objective
    assert soft >= forward_value(mdp, pi_e) - beta * kl_enum - 1e-9 * (1 + abs(soft))
