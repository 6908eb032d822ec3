"""Figure 95: mitigations on a proxy wrong in its tail: PAR shaping and chi-square.

Exact gold reward against sqrt(KL) for the tilt on the raw proxy, the tilt on PAR's
centred sigmoid sigmoid(r - E r), and the chi-square-regularized policy
(max E r - beta chi2), all on the same reference. Best-of-N is unchanged by PAR
(it only ranks).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

import mdpkit as mk
from mdpkit import plotting
from mdpkit.divergences import ChiSquare

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import cli, save  # noqa: E402


def main(out_dir: Path, quick: bool = False) -> list[Path]:
    rh = mk.reward_hacking
    law = rh.tail_proxy(tail_mass=1e-3, tail_proxy=np.linspace(4, 6, 5), tail_gold=-3.0,
                        n_grid=32 if quick else 128)
    n = 40 if quick else 150
    curves = {
        "KL tilt, raw proxy": rh.gold_reward_curve(law, "tilted", kl_max=4.0, n_points=n),
        "KL tilt, PAR sigmoid": rh.gold_reward_curve(law, "tilted", transform=rh.par_shaping(),
                                                     kl_max=4.0, n_points=n),
        r"$\chi^2$-regularized": rh.gold_reward_curve(law, "regularized", div=ChiSquare(),
                                                      beta=np.geomspace(20, 0.005, n)),
    }
    with plotting.style():
        fig, ax = plotting.subplots(figsize=(5.0, 3.4))
        for k, (name, c) in enumerate(curves.items()):
            ax.plot(c.d, c.gold - c.gold_ref, "-", color=f"C{k}", label=name)
        ax.axhline(0.0, color="k", lw=0.6)
        ax.set(xlabel=r"$\sqrt{KL}$", ylabel="gold gain", title="tail-wrong proxy")
        ax.legend(fontsize=7)
        fig.tight_layout()
    return save(fig, out_dir, "fig95_hacking_mitigations")


if __name__ == "__main__":
    cli(main, __doc__)
