"""Robust MDPs: robust value vs radius, and nominal vs robust policies under perturbation.

For a random MDP with sparse transitions (a new instance per seed) and an
(s,a)-rectangular uncertainty ball of radius ``rho`` in the divergence ``div`` (KL,
total variation or chi-square), each cell records at the initial law mu0

* ``robust_value`` = mu0 . V_rob, the robust optimal value, at most the nominal optimum
  ``nominal_value`` = mu0 . V* and decreasing in the radius;
* the value of the nominal-optimal and of the robust-optimal policy on a perturbed test
  model that tilts every transition toward low-value states,
  ``P_q[s, a, t] ∝ P[s, a, t] * exp(-q * tilt * (V*[t] - min V*) / span V*)``, with
  ``q = perturbation`` in [0, 1]. At q = 0 the nominal policy is best; as q grows the
  robust policy, which hedges against such shifts, loses less (the
  robustness-vs-perturbation figure of Tang, Liu and Xu, 2025).
"""

import numpy as np

import mdpkit as mk
from mdpkit.divergences import KL, ChiSquare, TotalVariation

DIVERGENCES = {"kl": KL, "tv": TotalVariation, "chi2": ChiSquare}
GRID = {
    "n_states": [20],
    "n_actions": [3],
    "gamma": [0.9],
    "div": ["kl", "tv", "chi2"],
    "rho": [0.05, 0.2, 0.5],
    "tilt": [5.0],
    "perturbation": [round(0.1 * k, 1) for k in range(11)],
}
QUICK_GRID = {"n_states": [8], "n_actions": [2], "gamma": [0.9], "div": ["kl", "tv"],
              "rho": [0.2], "tilt": [5.0], "perturbation": [0.0, 1.0]}
N_SEEDS = 20
QUICK_N_SEEDS = 2


def run_cell(settings, seed):
    mdp = mk.random_mdp(settings["n_states"], settings["n_actions"], gamma=settings["gamma"],
                        rng=seed, n_successors=4, concentration=0.5)
    div = DIVERGENCES[settings["div"]]()
    nominal = mk.solve(mdp)
    robust = mk.solve_robust(mdp, div=div, rho=settings["rho"])
    V = nominal.V
    span = max(float(V.max() - V.min()), 1e-12)
    P = mdp.P * np.exp(-settings["perturbation"] * settings["tilt"] * (V - V.min()) / span)
    test = mk.TabularMDP(P / P.sum(axis=-1, keepdims=True), mdp.r, gamma=mdp.gamma, mu0=mdp.mu0)
    mu0 = mdp.mu0
    return {
        "nominal_value": float(mu0 @ V),
        "robust_value": float(mu0 @ robust.V),
        "test_value_nominal_policy": float(mu0 @ mk.policy_evaluation(test, nominal.pi)),
        "test_value_robust_policy": float(mu0 @ mk.policy_evaluation(test, robust.pi)),
        "residual": robust.residual,
        "converged": robust.converged,
    }
