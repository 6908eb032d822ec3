"""Reward hacking: exact gold reward of best-of-N and of the proxy-tilted policy.

For a proxy model (``model``: Gaussian or Student-t additive noise of std ``sigma``, or a
proxy right on the bulk and wrong in a tail of mass 1e-3), each cell computes the exact
gold-reward curve of ``method`` against d = sqrt(KL) (``mdpkit.reward_hacking``) and records

* the overoptimization peak (``peak_kl``, ``peak_gold``; ``interior`` = 1 if the gold
  reward turns down inside the range) and the gold at the largest KL (``end_gold``);
* Gao et al.'s fit d(alpha - beta d) (best-of-N) or d(alpha - beta log d) (tilt):
  ``alpha``, ``decay`` (Gao's beta), ``r2``;
* a Monte-Carlo estimate of the gold reward at the peak (N = 64 if the peak is beyond
  N = 1024) (``mc_gold`` with ``mc_se``;
  a simulated best-of-N or self-normalized importance sampling), against ``peak_gold``.
"""

import numpy as np

import mdpkit as mk

GRID = {
    "model": ["gaussian", "student_t", "tail"],
    "method": ["best_of_n", "tilted"],
    "sigma": [0.5, 1.0, 2.0],
    "mc_size": [20_000],
}
QUICK_GRID = {"model": ["student_t", "tail"], "method": ["best_of_n", "tilted"], "sigma": [1.0],
              "mc_size": [1000]}
N_SEEDS = 2
QUICK_N_SEEDS = 1


def build(model: str, sigma: float):
    rh = mk.reward_hacking
    if model == "gaussian":
        return rh.additive_noise(sigma, n_grid=64)
    if model == "student_t":
        return rh.additive_noise(sigma, noise="student_t", df=3.0, n_grid=64)
    return rh.tail_proxy(tail_mass=1e-3, tail_proxy=4.0 + sigma * np.linspace(0, 2, 5), tail_gold=-3.0,
                         n_grid=64)


def run_cell(settings, seed):
    rh = mk.reward_hacking
    law = build(settings["model"], settings["sigma"])
    if settings["method"] == "best_of_n":
        curve = rh.gold_reward_curve(law, "best_of_n", n_max=10**5, n_points=60)
    else:
        curve = rh.gold_reward_curve(law, "tilted", kl_max=min(5.0, 0.9 * float(-np.log(law.probs.min()))),
                                     n_points=60)
    # the tilt's peak is refined by a scalar search between grid points (exact stationary point)
    pk = curve.peak(law) if settings["method"] == "tilted" else curve.peak()
    fit = curve.fit()
    # Monte-Carlo at the peak when it is cheap to simulate (N <= 1024), else at N = 64
    if settings["method"] == "best_of_n":
        param = int(pk.param) if pk.param <= 1024 else 64
    else:
        param = pk.param if np.isfinite(pk.param) else float(curve.param[1])
    mc = rh.monte_carlo_gold(law, settings["method"], param, settings["mc_size"], rng=seed)
    exact_at_mc = rh.gold_reward_curve(law, settings["method"], **(
        {"n": [param]} if settings["method"] == "best_of_n" else {"beta": [param]})).gold[0]
    return {
        "peak_kl": pk.kl, "peak_gold": pk.gold, "interior": int(pk.interior),
        "end_kl": float(curve.kl[-1]), "end_gold": float(curve.gold[-1]), "gold_ref": curve.gold_ref,
        "alpha": fit.alpha, "decay": fit.decay, "r2": fit.r2,
        "mc_gold": mc.mean, "mc_se": mc.se, "exact_gold_at_mc": float(exact_at_mc),
    }
