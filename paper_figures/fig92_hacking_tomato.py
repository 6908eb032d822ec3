"""Figure 92: chi-square occupancy vs action-KL regularization on the tomato gridworld.

From the sweep ``sims/hacking_tomato.py``: exact gold gain (left) and proxy gain (right)
over the reference policy against the regularization coefficient (chi-square: times the
reference's proxy std, ORPO's scaling; action-KL: beta). The chi-square-occupancy
optimizer never loses gold reward; action-KL with a small beta walks to the sprinkler
and hacks. The star marks the derived coefficient sigma sqrt(1-r^2)/r.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import cli, save, sweep_table  # noqa: E402


def main(out_dir: Path, quick: bool = False) -> list[Path]:
    from mdpkit import plotting

    df = sweep_table("hacking_tomato", quick)
    with plotting.style():
        fig, axes = plotting.subplots(1, 2, figsize=(8.5, 3.2))
        for k, (reg, g) in enumerate(df.groupby("regularizer", sort=True)):
            g = g[g["coef"] > 0].sort_values("coef")
            for ax, col in zip(axes, ("gold_gain", "proxy_gain"), strict=True):
                ax.plot(g["coef"], g[col], "o-", ms=3, color=f"C{k}", label=reg)
        star = df[(df["regularizer"] == "chi2_om") & (df["coef"] == 0)]
        for ax, col in zip(axes, ("gold_gain", "proxy_gain"), strict=True):
            if len(star):
                ax.axhline(float(star[col].iloc[0]), color="C0", ls=":", lw=0.9,
                           label=r"$\chi^2$ at $\sigma\sqrt{1-r^2}/r$")
            ax.axhline(0.0, color="k", lw=0.6)
            ax.set(xscale="log", xlabel="coefficient", ylabel=col.replace("_", " "))
            ax.legend(fontsize=7)
        fig.tight_layout()
    return save(fig, out_dir, "fig92_hacking_tomato")


if __name__ == "__main__":
    cli(main, __doc__)
