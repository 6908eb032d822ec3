"""Bandit regret vs horizon and gap: UCB1 and Thompson sampling on two Bernoulli arms.

Arms have means (0.5, 0.5 - gap). Each cell simulates ``n_runs`` runs with the compiled
simulator and records the mean pseudo-regret at the horizon T with its standard error,
next to

* ``ucb1_bound``: Auer et al. (2002), Thm. 1, 8 ln T / gap + (1 + pi^2/3) gap;
* ``lai_robbins``: C ln T with C = gap / kl(0.5 - gap, 0.5), the asymptotic lower bound
  of Lai and Robbins (1985) for uniformly efficient policies.

Regret grows like ln T at a fixed gap and, at a fixed T, like 1/gap (until the
sqrt(T) regime of tiny gaps).
"""

import numpy as np

import mdpkit as mk

GRID = {
    "algorithm": ["UCB1", "ThompsonSampling"],
    "gap": [0.05, 0.1, 0.2],
    "horizon": [1000, 3162, 10000, 31623, 100000],
    "n_runs": [20],
}
QUICK_GRID = {"algorithm": ["UCB1", "ThompsonSampling"], "gap": [0.2], "horizon": [200, 2000], "n_runs": [10]}
N_SEEDS = 2

ALGORITHMS = {"UCB1": mk.bandits.UCB1, "ThompsonSampling": mk.bandits.ThompsonSampling}


def run_cell(settings, seed):
    gap, T = settings["gap"], settings["horizon"]
    means = [0.5, 0.5 - gap]
    env = mk.bandits.BernoulliBandit(means)
    run = mk.bandits.simulate(env, ALGORITHMS[settings["algorithm"]](), horizon=T,
                              n_runs=settings["n_runs"], rng=seed, checkpoints=[T])
    final = run.regret[:, -1]
    return {
        "regret": float(final.mean()),
        "regret_se": float(final.std(ddof=1) / np.sqrt(final.size)),
        "ucb1_bound": mk.theory.ucb1_regret_bound([0.0, gap], T),
        "lai_robbins": mk.theory.lai_robbins_constant(means, family="bernoulli") * np.log(T),
        "pulls_suboptimal": float(run.pulls[:, 1].mean()),
    }
