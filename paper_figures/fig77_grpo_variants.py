"""GRPO-family estimators: final reward and entropy, with filtering and Clip-Cov / KL-Cov (sweep ``sims/grpo_variants.py``).

Left: mean final success probability per estimator (bars: G = 4 and 16; unfiltered,
no covariance control), 2 standard errors. Right: mean final entropy per estimator under
no control, Clip-Cov and KL-Cov (G = 16 where present): both controls keep more entropy.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import cli, save, sweep_table  # noqa: E402


def main(out_dir: Path, quick: bool = False) -> list[Path]:
    import numpy as np

    from mdpkit import plotting

    df = sweep_table("grpo_variants", quick)
    ests = sorted(df["estimator"].unique())
    x = np.arange(len(ests))
    with plotting.style():
        fig, (ax1, ax2) = plotting.subplots(1, 2, figsize=(8.5, 3.2))
        base = df[(~df["filter_groups"].astype(bool)) & (df["cov"] == "none")]
        Gs = sorted(base["G"].unique())
        w = 0.8 / len(Gs)
        for k, G in enumerate(Gs):
            g = base[base["G"] == G].groupby("estimator")
            m, se = g["reward"].mean(), g["reward_se"].apply(lambda s: (s**2).sum() ** 0.5) / g.size()
            ax1.bar(x + k * w, m.reindex(ests).values, w, yerr=2 * se.reindex(ests).values,
                    capsize=2, label=f"G={G}")
        ax1.set_xticks(x + w * (len(Gs) - 1) / 2, ests, rotation=30, fontsize=7)
        ax1.set_ylabel("final mean success probability")
        ax1.legend(fontsize=7)
        G = max(Gs)
        covs = sorted(df["cov"].unique())
        w = 0.8 / len(covs)
        for k, cov in enumerate(covs):
            part = df[(df["G"] == G) & (df["cov"] == cov) & (~df["filter_groups"].astype(bool))]
            m = part.groupby("estimator")["entropy"].mean().reindex(ests)
            ax2.bar(x + k * w, m.values, w, label=cov)
        ax2.set_xticks(x + w * (len(covs) - 1) / 2, ests, rotation=30, fontsize=7)
        ax2.set_ylabel(f"final mean entropy (G={G})")
        ax2.legend(fontsize=7, title="covariance control", title_fontsize=7)
        fig.tight_layout()
    return save(fig, out_dir, "fig77_grpo_variants")


if __name__ == "__main__":
    cli(main, __doc__)
