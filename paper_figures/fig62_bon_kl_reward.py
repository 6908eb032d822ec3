"""Best-of-N: exact KL to the reference and reward vs N (sweep ``sims/bon_kl_reward.py``).

Left: KL(pi_N || pi_ref) for references with 4, 64 and 4096 reward atoms, against the
bound log N - (N-1)/N of Beirami et al. (2024), which is attained only by atomless
rewards: the many-atom reference follows it, the few-atom ones saturate at
log(1/p_top) (dotted). Right: the exact expected
reward of best-of-N, with Monte-Carlo estimates (mean over seeds, 2 standard errors).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import cli, mean_se, save, sweep_table  # noqa: E402


def main(out_dir: Path, quick: bool = False) -> list[Path]:
    import numpy as np

    from mdpkit import plotting

    df = sweep_table("bon_kl_reward", quick)
    with plotting.style():
        fig, (ax_kl, ax_r) = plotting.subplots(1, 2, figsize=(8.0, 3.2))
        ns = np.sort(df["n"].unique())
        ax_kl.plot(ns, np.log(ns) - (ns - 1) / ns, "k--", lw=1.0, zorder=5,
                   label=r"bound $\log N - (N-1)/N$")
        for k, (levels, part) in enumerate(df.groupby("n_levels", sort=True)):
            color = f"C{k}"
            exact = part.groupby("n", sort=True)[["kl", "reward", "kl_saturation"]].first()
            ax_kl.plot(exact.index, exact["kl"], "o-", color=color, ms=3, label=f"{levels} atoms")
            ax_kl.axhline(exact["kl_saturation"].iloc[0], color=color, lw=0.8, ls=":")
            ax_r.plot(exact.index, exact["reward"], "-", color=color, label=f"{levels} atoms, exact")
            m, se = mean_se(part, ["n"], "mc_reward")
            ax_r.errorbar(m.index, m.values, yerr=2 * se.values, fmt="o", color=color, ms=3,
                          capsize=2, label="Monte-Carlo (2 SE)" if k == 0 else None)
        for ax in (ax_kl, ax_r):
            ax.set_xscale("log", base=2)
            ax.set_xlabel("N")
        ax_kl.set_ylabel(r"KL$(\pi_N \,\|\, \pi_{ref})$")
        ax_r.set_ylabel("expected reward")
        ax_kl.legend(fontsize=7)
        ax_r.legend(fontsize=7)
        fig.tight_layout()
    return save(fig, out_dir, "fig62_bon_kl_reward")


if __name__ == "__main__":
    cli(main, __doc__)
