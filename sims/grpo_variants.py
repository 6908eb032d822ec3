"""GRPO-family estimators on a binary multi-prompt bandit: reward, entropy, zero-advantage groups.

A multi-prompt bandit (M prompts, K responses, 2 correct, initial success Beta(1, 2); a new
instance per seed) is trained by sampled policy gradient with group size G and each
advantage estimator of ``mk.pg.ESTIMATORS``, with or without difficulty filtering, Clip-Cov
(``cov="clip"``) or KL-Cov (``cov="kl"``; both with 4 PPO epochs and clipping 0.2). Each
cell runs ``n_runs`` seeded runs and records the mean over runs (and standard error) of the
final success probability and entropy, pass@16, the fraction of all-equal (zero-advantage)
groups, whose expectation is mean_m p_m^G + (1 - p_m)^G, and the fraction of steps whose
update had positive covariance Cov(log pi, dz) (entropy decreasing to first order).
"""

import numpy as np

import mdpkit as mk

GRID = {
    "estimator": list(mk.pg.ESTIMATORS),
    "G": [4, 16],
    "filter_groups": [False, True],
    "cov": ["none", "clip", "kl"],
    "n_prompts": [100],
    "n_steps": [200],
    "n_runs": [8],
}
QUICK_GRID = {"estimator": ["grpo", "rloo"], "G": [4], "filter_groups": [False], "cov": ["none"],
              "n_prompts": [10], "n_steps": [20], "n_runs": [2]}
N_SEEDS = 2
QUICK_N_SEEDS = 1


def _cov_options(cov):
    if cov == "clip":
        return {"clip_cov": mk.pg.ClipCov(0.05, 0.5, 5.0), "n_inner": 4, "clip": 0.2}
    if cov == "kl":
        return {"kl_cov": mk.pg.KLCov(0.05, 1.0), "n_inner": 4, "clip": 0.2}
    return {}


def run_cell(settings, seed):
    prob = mk.pg.beta_prompts(settings["n_prompts"], 8, 1.0, 2.0, n_correct=2, rng=seed)
    run = mk.pg.sample_dynamics(prob, eta=0.2, n_steps=settings["n_steps"], G=settings["G"],
                                estimator=settings["estimator"], n_runs=settings["n_runs"],
                                rng=seed, filter_groups=settings["filter_groups"], k=[1, 16],
                                **_cov_options(settings["cov"]))
    p0 = prob.success()
    n = settings["n_runs"]
    return {
        "reward": float(run.reward[:, -1].mean()),
        "reward_se": float(run.reward[:, -1].std(ddof=1) / np.sqrt(n)) if n > 1 else 0.0,
        "entropy": float(run.entropy[:, -1].mean()),
        "entropy_se": float(run.entropy[:, -1].std(ddof=1) / np.sqrt(n)) if n > 1 else 0.0,
        "pass16": float(run.pass_at_k[:, -1, 1].mean()),
        "zero_fraction_step0": float(run.zero_fraction[:, 0].mean()),
        "zero_fraction_step0_exact": float(np.mean(p0 ** settings["G"] + (1 - p0) ** settings["G"])),
        "positive_cov_fraction": float(run.positive_cov_fraction.mean()),
    }
