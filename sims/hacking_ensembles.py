"""Reward-model ensembles with shared errors: gold reward of the tilt at a fixed KL.

Each member's error is shared (variance ``share``) plus independent (variance
``1 - share``), Gaussian or Student-t (df 3); gold is standard normal; 3 members. Each
cell tilts the aggregated proxy (``aggregate``: one member, mean, min, mean - var,
BRME 0.5; "oracle" tilts the gold reward itself) to KL = ``kl`` and records the exact
gold reward, plus the closed-form first-order prediction for the mean ensemble,
``slope_pred`` = sqrt(2) / sqrt(1 + share + (1 - share)/3) of d(gold)/d(sqrt KL) at 0
(Eisenstein et al. 2024: ensembles remove only the independent part). The sims are exact;
the seed is unused.
"""

import math

import mdpkit as mk

GRID = {
    "share": [0.0, 0.25, 0.5, 0.75],
    "aggregate": ["oracle", "single", "mean", "min", "uncertainty_weighted", "brme"],
    "noise": ["gaussian", "student_t"],
    "kl": [0.5, 1.0, 2.0],
}
QUICK_GRID = {"share": [0.0, 0.5], "aggregate": ["single", "mean"], "noise": ["student_t"], "kl": [1.0]}
N_SEEDS = 1
QUICK_N_SEEDS = 1


def transform(name: str):
    rh = mk.reward_hacking
    return {
        "oracle": lambda law: law.gold,
        "single": lambda law: law.members[0],
        "mean": rh.mean_ensemble(),
        "min": rh.min_ensemble(),
        "uncertainty_weighted": rh.uncertainty_weighted_ensemble(0.5),
        "brme": rh.brme_ensemble(0.5),
    }[name]


def run_cell(settings, seed):
    rh = mk.reward_hacking
    s = settings["share"]
    df = 3.0 if settings["noise"] == "student_t" else None
    ens = rh.ensemble_proxy(3, sigma_shared=math.sqrt(s), sigma_independent=math.sqrt(1 - s),
                            noise=settings["noise"], df=df, n_gold=12, n_shared=12, n_independent=6)
    tr = transform(settings["aggregate"])
    c = rh.gold_reward_curve(ens, "tilted", transform=tr, kl_max=settings["kl"], n_points=2)
    first = rh.gold_reward_curve(ens, "tilted", transform=tr, beta=[1e5])
    return {
        "gold": float(c.gold[-1]), "gold_ref": c.gold_ref, "proxy": float(c.proxy[-1]),
        "slope": float((first.gold[0] - first.gold_ref) / first.d[0]),
        "slope_pred": math.sqrt(2) / math.sqrt(1 + s + (1 - s) / 3),
    }
