"""Entropy mechanism under exact policy gradient: PG vs NPG, KL to the reference, entropy bonus.

A binary multi-prompt bandit (M prompts, K responses, 2 correct per prompt, initial success
probabilities Beta(1, 2); a new instance per seed) is trained with the exact expected
update of ``mk.pg.exact_dynamics``. Each cell records, after ``n_steps`` steps,

* ``reward``, ``entropy``, ``kl`` (to the initial policy), ``pass1``, ``pass16``;
* ``cov_share``: sum of the first-order predictions -Cov(log pi, dz) over the run divided
  by the total entropy change (close to 1 when Cui et al.'s Lemma 1 explains the drop);
* ``law_a``, ``law_b``, ``law_err``: the fit R = -a exp(H) + b on the first third of the
  run and its largest prediction error on the rest (an empirical law).

With beta > 0 or an entropy bonus the entropy stops collapsing and reward saturates lower.
"""

import numpy as np

import mdpkit as mk

GRID = {
    "natural": [False, True],
    "eta": [0.1, 0.3, 1.0],
    "beta": [0.0, 0.05],
    "entropy_bonus": [0.0, 0.02],
    "n_prompts": [200],
    "n_responses": [8],
    "n_steps": [400],
}
QUICK_GRID = {"natural": [False, True], "eta": [0.3], "beta": [0.0], "entropy_bonus": [0.0],
              "n_prompts": [20], "n_responses": [4], "n_steps": [60]}
N_SEEDS = 3
QUICK_N_SEEDS = 1


def run_cell(settings, seed):
    prob = mk.pg.beta_prompts(settings["n_prompts"], settings["n_responses"], 1.0, 2.0, n_correct=2,
                              rng=seed)
    tr = mk.pg.exact_dynamics(prob, eta=settings["eta"], natural=settings["natural"],
                              beta=settings["beta"], entropy_bonus=settings["entropy_bonus"],
                              n_steps=settings["n_steps"], k=[1, 16], checkpoints=31)
    H, R = tr.entropy[0], tr.reward[0]
    n = H.size // 3
    a, b = mk.pg.fit_entropy_law(H[:n], R[:n])
    total = float(tr.dH[0].sum())
    return {
        "reward": float(R[-1]),
        "reward0": float(R[0]),
        "entropy": float(H[-1]),
        "entropy0": float(H[0]),
        "kl": float(tr.kl[0, -1]),
        "pass1": float(tr.pass_at_k[0, -1, 0]),
        "pass16": float(tr.pass_at_k[0, -1, 1]),
        "cov_share": float(tr.dH_pred[0].sum() / total) if total != 0 else 1.0,
        "law_a": a,
        "law_b": b,
        "law_err": float(np.max(np.abs(b - a * np.exp(H[n:]) - R[n:]))),
    }
