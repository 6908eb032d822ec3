"""Figure 94: STARC distance against the regret of optimizing the wrong reward.

Random MDPs; R2 = R1 + noise of growing scale. The regret under R1 of an R2-optimal
policy, divided by 2||c(R1)||/(1-gamma), lies below the STARC distance d(R1, R2)
(the identity line), the bound derived in mdpkit.reward_hacking._starc.
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
    rng = np.random.default_rng(0)
    pts = []
    for _ in range(40 if quick else 400):
        mdp = mk.random_mdp(n_states=5, n_actions=3, gamma=0.9, rng=int(rng.integers(2**31)))
        R1 = rng.normal(size=(5, 3, 5))
        out = rh.starc_regret_bound(mdp, R1, R1 + rng.uniform(0, 2) * rng.normal(size=(5, 3, 5)))
        pts.append((out.distance, out.regret / out.bound * out.distance if out.bound > 0 else 0.0))
    a = np.array(pts)
    with plotting.style():
        fig, ax = plotting.subplots(figsize=(4.5, 3.5))
        ax.plot(a[:, 0], a[:, 1], "o", ms=3)
        x = np.linspace(0, a[:, 0].max(), 10)
        ax.plot(x, x, "k--", lw=0.9, label="bound")
        ax.set(xlabel=r"STARC $d(R_1, R_2)$", ylabel=r"regret $\cdot (1-\gamma) / 2\|c(R_1)\|$")
        ax.legend(fontsize=7)
        fig.tight_layout()
    return save(fig, out_dir, "fig94_hacking_starc")


if __name__ == "__main__":
    cli(main, __doc__)
