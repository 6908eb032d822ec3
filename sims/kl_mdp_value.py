"""KL-regularized MDP: regularized optimal value vs the strength beta.

For a random MDP (a new instance per seed) and RiverSwim, with a uniform reference
policy, each cell solves the soft Bellman equation and records, at the initial law mu0,

* ``value`` = mu0 . V*_beta, between ``value_ref`` = mu0 . V^{pi_ref} and
  ``value_opt`` = mu0 . V* for every beta;
* ``gap`` = max_s (V* - V*_beta)(s) with the bound ``bound`` = beta log(A) / (1 - gamma)
  (the KL to a uniform reference is at most log A), so gap/bound <= 1 and the gap is
  linear in beta as beta -> 0, while V*_beta -> V^{pi_ref} as beta -> infinity;
* the solver's certificate ``residual`` and ``n_iter``.
"""

import numpy as np

import mdpkit as mk

BETAS = [float(b) for b in np.round(np.logspace(-3, 2, 11), 6)]
GRID = (
    [{"mdp": "random", "n_states": 30, "n_actions": 4, "gamma": 0.9, "beta": b} for b in BETAS]
    + [{"mdp": "river_swim", "n_states": 6, "n_actions": 2, "gamma": 0.9, "beta": b} for b in BETAS]
)
QUICK_GRID = [
    {"mdp": "random", "n_states": 8, "n_actions": 3, "gamma": 0.9, "beta": b} for b in (0.01, 1.0, 100.0)
]
N_SEEDS = 4
QUICK_N_SEEDS = 2


def build(settings, seed):
    if settings["mdp"] == "random":
        return mk.random_mdp(settings["n_states"], settings["n_actions"], gamma=settings["gamma"], rng=seed)
    if settings["mdp"] == "river_swim":
        return mk.river_swim(settings["n_states"], gamma=settings["gamma"])
    raise ValueError(f"unknown mdp {settings['mdp']!r}")


def run_cell(settings, seed):
    mdp = build(settings, seed)
    pi_ref = mk.uniform_policy(mdp)
    beta = settings["beta"]
    soft = mk.solve_kl_regularized(mdp, pi_ref, beta)
    opt = mk.solve(mdp)
    v_ref = mk.policy_evaluation(mdp, pi_ref)
    mu0 = mdp.mu0
    return {
        "value": float(mu0 @ soft.V),
        "value_opt": float(mu0 @ opt.V),
        "value_ref": float(mu0 @ v_ref),
        "gap": float(np.max(opt.V - soft.V)),
        "bound": beta * np.log(mdp.n_actions) / (1.0 - mdp.gamma),
        "residual": soft.residual,
        "n_iter": soft.n_iter,
        "converged": soft.converged,
    }
