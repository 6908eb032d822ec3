"""Entropy collapse under exact PG and NPG, with and without KL and entropy regularization (sweep ``sims/pg_entropy.py``).

Left: final mean entropy vs final mean reward of every cell (PG circles, NPG squares;
colour: step size). Regularization (beta > 0 or an entropy bonus, open markers) keeps
entropy away from 0 at a lower reward. Right: the share of the total entropy change that
the first-order term -Cov(log pi, dz) of Cui et al.'s Lemma 1 accounts for, per step size:
close to 1 for small steps. Means over seeds.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import cli, mean_se, save, sweep_table  # noqa: E402


def main(out_dir: Path, quick: bool = False) -> list[Path]:
    from mdpkit import plotting

    df = sweep_table("pg_entropy", quick)
    etas = sorted(df["eta"].unique())
    with plotting.style():
        fig, (ax1, ax2) = plotting.subplots(1, 2, figsize=(8.0, 3.2))
        by = ["natural", "eta", "beta", "entropy_bonus"]
        m_r, _ = mean_se(df, by, "reward")
        m_h, _ = mean_se(df, by, "entropy")
        for key in m_r.index:
            natural, eta, beta, bonus = key
            reg = beta > 0 or bonus > 0
            ax1.plot(m_r[key], m_h[key], "s" if natural else "o", color=f"C{etas.index(eta)}",
                     mfc="none" if reg else None, ms=5)
        for k, eta in enumerate(etas):
            ax1.plot([], [], "o", color=f"C{k}", label=f"eta={eta:g}")
        ax1.set_xlabel("final mean reward")
        ax1.set_ylabel("final mean entropy")
        ax1.legend(fontsize=7, title="filled: unregularized", title_fontsize=7)
        for natural, part in df.groupby("natural", sort=True):
            m, se = mean_se(part[(part["beta"] == 0) & (part["entropy_bonus"] == 0)], ["eta"], "cov_share")
            ax2.errorbar(m.index, m.values, yerr=2 * se.values, fmt="s-" if natural else "o-",
                         capsize=2, label="NPG" if natural else "PG")
        ax2.axhline(1.0, color="k", lw=0.8, ls=":")
        ax2.set_xscale("log")
        ax2.set_xlabel(r"step size $\eta$")
        ax2.set_ylabel(r"$\sum_t -\mathrm{Cov}_t \;/\; \sum_t \Delta H_t$")
        ax2.legend(fontsize=7)
        fig.tight_layout()
    return save(fig, out_dir, "fig76_pg_entropy_sweep")


if __name__ == "__main__":
    cli(main, __doc__)
