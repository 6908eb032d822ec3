"""Figure 80: online DPO vs XPO, rounds to reach the KL-regularized gap eps vs pi_ref(y*) (sweep ``sims/pref_xpo_rounds.py``).

Median over seeds (censored runs count as n_rounds + 1; the shaded band is the
interquartile range) on log-log axes, with the 1/pi_ref(y*) line through online DPO's
point at the largest pi_ref(y*) (Xie et al. 2024, Sec. 3.2; CLAIMS C10 ii).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import cli, save, sweep_table  # noqa: E402


def main(out_dir: Path, quick: bool = False) -> list[Path]:
    from mdpkit import plotting

    df = sweep_table("pref_xpo_rounds", quick)
    with plotting.style():
        fig, ax = plotting.subplots(1, 1, figsize=(4.6, 3.4))
        for k, (alg, part) in enumerate(df.groupby("algorithm", sort=True)):
            g = part.groupby("p", sort=True)["rounds"]
            med, q1, q3 = g.median(), g.quantile(0.25), g.quantile(0.75)
            ax.loglog(med.index, med.values, "o-", color=f"C{k}", ms=4,
                      label="online DPO" if alg == "online_dpo" else r"XPO ($\alpha = 0.01$)")
            ax.fill_between(med.index, q1.values, q3.values, color=f"C{k}", alpha=0.2, lw=0)
            if alg == "online_dpo":
                ax.loglog(med.index, med.values[-1] * med.index[-1] / med.index, "k--", lw=0.8,
                          label=r"$\propto 1/\pi_{ref}(y^*)$")
        ax.set_xlabel(r"$\pi_{ref}(y^*)$")
        ax.set_ylabel(r"rounds to $J_\beta(\pi^*) - J_\beta(\pi_t) \leq \varepsilon$")
        ax.legend(fontsize=7)
        fig.tight_layout()
    return save(fig, out_dir, "fig80_pref_xpo_rounds")


if __name__ == "__main__":
    cli(main, __doc__)
