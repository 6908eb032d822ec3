"""Robust MDPs: value vs radius and vs perturbation (sweep ``sims/robust_value.py``).

Left: the robust optimal value mu0 . V_rob of (s,a)-rectangular KL, total-variation and
chi-square balls, relative to the nominal optimum, decreasing in the radius rho. Right:
on test models tilted toward low-value states with strength q, the advantage of the
robust-optimal policy over the nominal-optimal one (mu0 . V, robust minus nominal):
negative at q = 0, where the nominal policy is optimal, positive as the perturbation
grows. Means over random instances, 2 standard errors.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import cli, mean_se, save, sweep_table  # noqa: E402


def main(out_dir: Path, quick: bool = False) -> list[Path]:
    from mdpkit import plotting

    df = sweep_table("robust_value", quick)
    df = df.assign(
        relative=df["robust_value"] / df["nominal_value"],
        advantage=df["test_value_robust_policy"] - df["test_value_nominal_policy"],
    )
    rho_mid = sorted(df["rho"].unique())[len(df["rho"].unique()) // 2]
    with plotting.style():
        fig, (ax_r, ax_q) = plotting.subplots(1, 2, figsize=(8.0, 3.2))
        q0 = df[df["perturbation"] == df["perturbation"].min()]
        for k, (div, part) in enumerate(q0.groupby("div", sort=True)):
            m, se = mean_se(part, ["rho"], "relative")
            ax_r.errorbar(m.index, m.values, yerr=2 * se.values, fmt="o-", ms=3, capsize=2,
                          color=f"C{k}", label=div)
            sub = df[(df["div"] == div) & (df["rho"] == rho_mid)]
            m, se = mean_se(sub, ["perturbation"], "advantage")
            ax_q.errorbar(m.index, m.values, yerr=2 * se.values, fmt="o-", ms=3, capsize=2,
                          color=f"C{k}", label=rf"{div}, $\rho = {rho_mid:g}$")
        ax_r.axhline(1.0, color="k", ls="--", lw=0.9, label="nominal")
        ax_q.axhline(0.0, color="k", lw=0.8)
        ax_r.set_xticks(sorted(df["rho"].unique()))
        ax_r.set_xlabel(r"radius $\rho$")
        ax_r.set_ylabel(r"$\mu_0 V_{rob} \,/\, \mu_0 V^*$")
        ax_q.set_xlabel("perturbation $q$")
        ax_q.set_ylabel("robust minus nominal policy value")
        ax_r.legend(fontsize=7)
        ax_q.legend(fontsize=7)
        fig.tight_layout()
    return save(fig, out_dir, "fig64_robust_value")


if __name__ == "__main__":
    cli(main, __doc__)
