"""Figure 91: reward-model ensembles with shared errors (sweep ``sims/hacking_ensembles.py``).

Left: gold reward of the tilt at KL = 2 against the shared share of each member's error
variance, per aggregate (Student-t errors); the gap to the oracle grows with the shared
variance for every aggregate (Eisenstein et al., 2024). Right: the mean ensemble's
first-order slope d(gold)/d(sqrt KL) against its closed form
sqrt(2)/sqrt(1 + s + (1 - s)/3) (line).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import cli, save, sweep_table  # noqa: E402


def main(out_dir: Path, quick: bool = False) -> list[Path]:
    from mdpkit import plotting

    df = sweep_table("hacking_ensembles", quick)
    kl = df["kl"].max()
    noise = "student_t" if "student_t" in set(df["noise"]) else df["noise"].iloc[0]
    part = df[(df["kl"] == kl) & (df["noise"] == noise)]
    with plotting.style():
        fig, (ax, ax2) = plotting.subplots(1, 2, figsize=(8.5, 3.2))
        for k, (agg, g) in enumerate(part.groupby("aggregate", sort=True)):
            g = g.sort_values("share")
            ax.plot(g["share"], g["gold"], "o-", ms=3, color=f"C{k}", label=agg)
        ax.set(xlabel="shared error variance", ylabel=f"gold at KL = {kl:g}", title=f"{noise} errors")
        ax.legend(fontsize=7)
        m = df[df["aggregate"] == "mean"].groupby("share", sort=True)[["slope", "slope_pred"]].first()
        ax2.plot(m.index, m["slope_pred"], "k-", label="closed form")
        ax2.plot(m.index, m["slope"], "o", color="C0", label="exact curve")
        ax2.set(xlabel="shared error variance", ylabel=r"$d\,$gold$/d\sqrt{KL}$ at 0",
                title="mean ensemble, first order")
        ax2.legend(fontsize=7)
        fig.tight_layout()
    return save(fig, out_dir, "fig91_hacking_ensembles")


if __name__ == "__main__":
    cli(main, __doc__)
