"""Bandit regret vs horizon and gap (sweep ``sims/bandit_regret.py``).

Left: mean pseudo-regret of UCB1 (solid) and Thompson sampling (dashed) on two Bernoulli
arms vs the horizon T, for three gaps, with the Lai-Robbins rate C ln T (dotted), an
asymptotic (liminf) lower bound, so finite-T regret may lie below it. Right:
regret at the largest horizon vs the gap, against the UCB1 bound of Auer et al. (2002),
8 ln T / gap + (1 + pi^2/3) gap: both scale like 1/gap. Error bars: 2 standard errors
over all runs of all seeds.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import cli, save, sweep_table  # noqa: E402


def _mean_se(part, by):
    # each row is the mean of n_runs runs: pool them (equal sizes) for the mean and SE
    g = part.groupby(by, sort=True)
    mean = g["regret"].mean()
    se = (g["regret_se"].apply(lambda s: (s**2).sum() ** 0.5) / g.size()).fillna(0.0)
    return mean, se


def main(out_dir: Path, quick: bool = False) -> list[Path]:
    from mdpkit import plotting

    df = sweep_table("bandit_regret", quick)
    styles = {"UCB1": "-", "ThompsonSampling": "--"}
    with plotting.style():
        fig, (ax_t, ax_g) = plotting.subplots(1, 2, figsize=(8.0, 3.2))
        for k, (gap, part) in enumerate(df.groupby("gap", sort=True)):
            c = f"C{k}"
            for alg, sub in part.groupby("algorithm", sort=True):
                m, se = _mean_se(sub, ["horizon"])
                ax_t.errorbar(m.index, m.values, yerr=2 * se.values, fmt="o" + styles[alg], ms=3,
                              color=c, capsize=2, label=f"{alg}, gap {gap:g}")
            lr = part.groupby("horizon", sort=True)["lai_robbins"].first()
            ax_t.plot(lr.index, lr.values, ":", color=c, lw=1.0)
        ax_t.plot([], [], "k:", lw=1.0, label=r"Lai–Robbins $C \ln T$")
        t_max = df["horizon"].max()
        last = df[df["horizon"] == t_max]
        for alg, sub in last.groupby("algorithm", sort=True):
            m, se = _mean_se(sub, ["gap"])
            ax_g.errorbar(m.index, m.values, yerr=2 * se.values, fmt="o" + styles[alg], ms=3,
                          color="k", capsize=2, label=f"{alg} ({'solid' if styles[alg] == '-' else 'dashed'})")
        b = last.groupby("gap", sort=True)["ucb1_bound"].first()
        ax_g.plot(b.index, b.values, color="C3", lw=1.0, label="UCB1 bound (Auer et al.)")
        ax_t.set_xscale("log")
        ax_t.set_xlabel("horizon $T$")
        ax_t.set_ylabel("regret")
        ax_t.legend(fontsize=6, ncol=1)
        ax_g.set_xscale("log")
        ax_g.set_yscale("log")
        ax_g.set_xlabel("gap")
        ax_g.set_ylabel(f"regret at $T = {t_max}$")
        ax_g.legend(fontsize=7)
        fig.tight_layout()
    return save(fig, out_dir, "fig61_bandit_regret")


if __name__ == "__main__":
    cli(main, __doc__)
