"""Figure 81: Nash-MP last-iterate KL(pi*||pi_t) vs preference queries for several numbers of responses Y (sweep ``sims/pref_nash_mp.py``).

Left: median KL over seeds against the number N of queries (step eta = 2), with the rate
(1 + 2 beta)^{-N/2} of arXiv 2505.19731 v1 from the same start; the curves for different
Y lie on top of each other. Right: fitted slope of log KL per query against Y, and the
predicted -(1/2) log(1 + 2 beta) (the measured decay is faster than the bound).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import cli, mean_se, save, sweep_table  # noqa: E402


def main(out_dir: Path, quick: bool = False) -> list[Path]:
    import numpy as np

    from mdpkit import plotting

    df = sweep_table("pref_nash_mp", quick)
    cols = sorted((c for c in df.columns if c.startswith("kl_N")), key=lambda c: int(c[4:]))
    N = np.array([int(c[4:]) for c in cols])
    beta = float(df["beta"].max())
    with plotting.style():
        fig, (ax, ax_s) = plotting.subplots(1, 2, figsize=(8.0, 3.2))
        part = df[df["beta"] == beta]
        for k, (Y, rows) in enumerate(part.groupby("n_responses", sort=True)):
            med = rows[cols].median().to_numpy()
            ax.semilogy(N, np.maximum(med, 1e-18), "o-", ms=3, color=f"C{k}", label=f"|Y| = {Y}")
        kl0 = float(part["kl_N0"].median())
        ax.semilogy(N, kl0 * (1 + 2 * beta) ** (-N / 2), "k--", lw=0.9, label=r"$(1+2\beta)^{-N/2}$")
        ax.set_xlabel("preference queries N")
        ax.set_ylabel(rf"KL$(\pi^*\|\pi_t)$, $\beta = {beta:g}$")
        ax.legend(fontsize=7)
        for k, (b, rows) in enumerate(df.groupby("beta", sort=True)):
            s, se = mean_se(rows, ["n_responses"], "slope")
            ax_s.errorbar(s.index, s.values, yerr=2 * se.values, fmt="o-", ms=3, color=f"C{k}", capsize=2,
                          label=rf"measured, $\beta = {b:g}$")
            ax_s.axhline(rows["pred_slope"].iloc[0], color=f"C{k}", ls="--", lw=0.9,
                         label=rf"$-\frac{{1}}{{2}}\log(1+2\beta)$, $\beta = {b:g}$")
        ax_s.set_xscale("log")
        sizes = sorted(df["n_responses"].unique())
        ax_s.set_xticks(sizes, [str(v) for v in sizes])
        ax_s.minorticks_off()
        ax_s.set_xlabel("|Y|")
        ax_s.set_ylabel("slope of log KL per query")
        ax_s.legend(fontsize=7)
        fig.tight_layout()
    return save(fig, out_dir, "fig81_pref_nash_mp")


if __name__ == "__main__":
    cli(main, __doc__)
