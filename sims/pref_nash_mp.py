"""Nash-MP last-iterate KL(pi*||pi_t) vs preference queries for several numbers of responses (arXiv 2505.19731 v1).

Each seed draws a random intransitive preference matrix P = 1/2 + (B - B^T)/2 (B uniform)
and a Dirichlet(1) reference; pi* is the exact regularized Nash equilibrium. Nash-MP runs
with step eta = 2 (two queries per iteration); the cell records KL at a few query counts,
the fitted slope of log KL per query and the predicted rate -(1/2) log(1 + 2 beta).
"""

import math

import numpy as np

import mdpkit as mk

GRID = {"n_responses": [3, 10, 30, 100, 300], "beta": [0.1, 0.5]}
QUICK_GRID = {"n_responses": [3, 30], "beta": [0.2]}
N_SEEDS = 5
QUICK_N_SEEDS = 2

N_ITER = 40
RECORD = (0, 10, 20, 40, 60, 80)


def run_cell(settings, seed):
    Y, beta = settings["n_responses"], settings["beta"]
    g = np.random.default_rng(seed)
    B = g.random((Y, Y))
    P = 0.5 + (B - B.T) / 2
    ref = g.dirichlet(np.ones(Y))
    star = mk.preference.regularized_nash(P, ref, beta).pi
    tr = mk.preference.nash_mp(P, ref, beta, n_iter=N_ITER, eta=2.0)
    kl = tr.kl_to(star)
    ok = (kl > 1e-13) & (tr.queries > 0)
    out = {f"kl_N{n}": float(max(kl[n // 2], 0.0)) for n in RECORD}
    out["slope"] = float(np.polyfit(tr.queries[ok], np.log(kl[ok]), 1)[0])
    out["pred_slope"] = -0.5 * math.log1p(2 * beta)
    return out
