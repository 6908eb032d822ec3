"""Online DPO vs XPO: rounds to reach the KL-regularized gap eps vs pi_ref(y*) (CLAIMS C10 ii).

A bandit with 4 responses: y* has reward 1 and reference mass p, the others reward 0 and
mass (1 - p)/3; beta = 0.1 and eps = 0.3 (J_beta(pi*) - J_beta(pi_ref)). Each cell runs
one learner (Xie et al. Alg. 1 on all past data, ``method="argmin"``) and records the
first round with J_beta(pi*) - J_beta(pi_t) <= eps (``n_rounds + 1`` when censored).
Online DPO needs about 1/p rounds (it must sample y* first); XPO's optimism term finds it
in a few rounds.
"""

import math

import numpy as np

import mdpkit as mk

GRID = {"algorithm": ["online_dpo", "xpo"], "p": [1e-1, 3e-2, 1e-2, 3e-3, 1e-3], "n_rounds": [60000]}
QUICK_GRID = {"algorithm": ["online_dpo", "xpo"], "p": [1e-1, 3e-2], "n_rounds": [8000]}
N_SEEDS = 50
QUICK_N_SEEDS = 9

BETA, ALPHA, EPS_FRAC, N_RESPONSES = 0.1, 0.01, 0.3, 4


def run_cell(settings, seed):
    p, T = settings["p"], settings["n_rounds"]
    ref = np.full(N_RESPONSES, (1 - p) / (N_RESPONSES - 1))
    ref[0] = p
    r = np.zeros(N_RESPONSES)
    r[0] = 1.0
    gap0 = BETA * math.log(p * math.exp(1 / BETA) + 1 - p) - p
    kw = dict(n_rounds=T, n_runs=1, method="argmin", eps=EPS_FRAC * gap0, rng=seed)
    if settings["algorithm"] == "xpo":
        run = mk.preference.xpo(ref, r, BETA, alpha=ALPHA, **kw)
    else:
        run = mk.preference.online_dpo(ref, r, BETA, **kw)
    rounds = int(run.rounds_to_eps[0])
    return {"rounds": rounds, "censored": rounds > T, "final_gap": float(run.gap[0, -1]), "gap0": gap0}
