"""Best-of-N: exact KL to the reference, reward and win rate vs N, with Monte-Carlo.

For a discrete reference with ``n_levels`` reward atoms (probabilities from a flat
Dirichlet, rewards sorted standard normals; the instance is fixed by ``instance``), each
cell computes the exact best-of-N law and compares

* ``kl`` = KL(pi_N || pi_ref) with the bound ``kl_bound`` = log N - (N-1)/N
  (Beirami et al. 2024; equality iff the reward law is atomless, so the gap shrinks as
  ``n_levels`` grows and KL saturates at log(1/p_top) as N grows);
* the exact reward and win rate (ties 1/2, bound N/(N+1)) with a Monte-Carlo estimate
  and its standard error from ``mc_size`` simulated best-of-N draws (the seed).
"""

import numpy as np

import mdpkit as mk

GRID = {
    "n_levels": [4, 64, 4096],
    "n": [2**k for k in range(11)],
    "instance": [0],
    "mc_size": [2000],
}
QUICK_GRID = {"n_levels": [8], "n": [1, 4, 16], "instance": [0], "mc_size": [500]}
N_SEEDS = 3
QUICK_N_SEEDS = 2


def reference(n_levels: int, instance: int) -> "mk.bon.Discrete":
    rng = np.random.default_rng([instance, n_levels])
    return mk.bon.Discrete(rng.dirichlet(np.ones(n_levels)), np.sort(rng.standard_normal(n_levels)))


def run_cell(settings, seed):
    ref = reference(settings["n_levels"], settings["instance"])
    n = settings["n"]
    law = mk.bon.best_of_n(ref, n)
    mc = mk.bon.monte_carlo_best_of_n(ref, n, settings["mc_size"], rng=seed)
    return {
        "kl": mk.bon.kl(law, ref),
        "kl_bound": mk.bon.kl_bound(n),
        "kl_saturation": float(-np.log(ref.probs[np.argmax(ref.rewards)])),
        "reward": mk.bon.expected_reward(law),
        "win_rate": mk.bon.win_rate(law, ref),
        "win_rate_bound": mk.bon.win_rate_bound(n),
        "mc_reward": mc.expected_reward.mean,
        "mc_reward_se": mc.expected_reward.se,
        "mc_win_rate": mc.win_rate.mean,
        "mc_win_rate_se": mc.win_rate.se,
    }
