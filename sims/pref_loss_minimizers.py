"""Population minimizers of DPO-family losses vs the tilted policy, as beta varies.

Random instances: 8 responses, pi_ref ~ Dirichlet(1), Bradley-Terry rewards r ~ N(0, 1),
pairs from mu ~ Dirichlet(1). For each loss the cell minimizes the population loss
(``mk.preference.minimize_loss``) and records KL(pi_loss || pi_tilted) with
pi_tilted = pi_ref e^{r/beta}/Z, and the distance to the loss's own predicted minimizer
(closed forms: tilted for DPO, Azar et al.'s pi_ref e^{P(y > mu)/beta}/Z for IPO, the
f-regularized optimum for f-DPO).
"""

import numpy as np

import mdpkit as mk

LOSSES = ["dpo", "ipo", "fdpo_forward_kl", "fdpo_js", "fdpo_alpha"]
GRID = {"loss": LOSSES, "beta": [float(b) for b in np.round(np.logspace(-1, 1, 9), 6)]}
QUICK_GRID = {"loss": ["dpo", "ipo", "fdpo_js"], "beta": [0.3, 3.0]}
N_SEEDS = 10
QUICK_N_SEEDS = 2


def run_cell(settings, seed):
    pref = mk.preference
    g = np.random.default_rng(seed)
    Y, beta = 8, settings["beta"]
    ref = g.dirichlet(np.ones(Y))
    r = g.normal(size=Y)
    mu = g.dirichlet(np.ones(Y))
    P = pref.bradley_terry_matrix(r)
    W = pref.population_counts(P, mu)
    loss = settings["loss"]
    if loss.startswith("fdpo_"):
        div = loss[5:]
        m = pref.minimize_loss(ref, W, beta, loss="fdpo", divergence=div, alpha=0.5)
        pred = pref.fdpo_minimizer(ref, r, beta, divergence=div, alpha=0.5)
    else:
        m = pref.minimize_loss(ref, W, beta, loss=loss)
        pred = pref.tilted_policy(ref, r, beta) if loss == "dpo" else pref.ipo_minimizer(ref, W, beta)
    tilt = pref.tilted_policy(ref, r, beta)
    return {
        "kl_to_tilted": float(np.sum(m.pi * np.log(m.pi / tilt))),
        "err_to_predicted": float(np.abs(m.pi - pred).max()),
        "grad_norm": m.grad_norm,
    }
