"""Figure 93: which chi-square coefficient certifies the gold reward (CLAIMS C13).

On random MDPs with a proxy of correlation r with the gold reward, the C13 lower bound
at the optimizer of J(pi, Rt) - lam sqrt(chi2) for lam* = sigma sqrt(1-r^2)/r (never
negative: the optimizer maximizes the bound) and for r lam* = sigma sqrt(1-r^2) (often
negative: no guarantee), against r.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

import mdpkit as mk
from mdpkit import plotting

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import cli, save  # noqa: E402


def main(out_dir: Path, quick: bool = False) -> list[Path]:
    rh = mk.reward_hacking
    rows = []
    for seed in range(10 if quick else 80):
        mdp = mk.random_mdp(n_states=6, n_actions=3, gamma=0.9, rng=seed)
        g = np.random.default_rng(1000 + seed)
        R = g.normal(size=(6, 3))
        Rt = g.uniform(0.1, 1.5) * R + g.normal(size=(6, 3))
        pr = mk.uniform_policy(mdp)
        st = rh.proxy_statistics(mdp, pr, R, Rt)
        if st.corr <= 0:
            continue
        lam = rh.chi2_regularization_coef(mdp, pr, R, Rt)
        lbs = [rh.chi2_occupancy_bound(mdp, rh.chi2_occupancy_planner(mdp, pr, Rt, c).pi, pr, R, Rt).lower_bound
               for c in (lam, lam * st.corr)]
        rows.append((st.corr, *lbs))
    a = np.array(rows)
    with plotting.style():
        fig, ax = plotting.subplots(figsize=(5.0, 3.3))
        ax.plot(a[:, 0], a[:, 1], "o", ms=4, label=r"$\lambda^\star = \sigma\sqrt{1-r^2}/r$")
        ax.plot(a[:, 0], a[:, 2], "x", ms=4, label=r"$r\lambda^\star = \sigma\sqrt{1-r^2}$")
        ax.axhline(0.0, color="k", lw=0.6)
        ax.set(xlabel="correlation r under $\\mu_{ref}$", ylabel="C13 lower bound at the optimizer")
        ax.legend(fontsize=7)
        fig.tight_layout()
    return save(fig, out_dir, "fig93_hacking_lambda_constant")


if __name__ == "__main__":
    cli(main, __doc__)
