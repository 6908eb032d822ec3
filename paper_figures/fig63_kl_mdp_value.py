"""KL-regularized MDP: value vs beta (sweep ``sims/kl_mdp_value.py``).

Left: the regularized optimal value mu0 . V*_beta for random MDPs and RiverSwim with a
uniform reference, normalized per instance as (V*_beta - V^{pi_ref}) / (V* - V^{pi_ref}):
it moves from 1 (the optimal value, beta -> 0) to 0 (the reference policy's value,
beta -> infinity) and stays in [0, 1]. Right: the gap max_s (V* - V*_beta) against the
bound beta log(A) / (1 - gamma), tight as beta -> 0 (means over random instances, 2
standard errors).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import cli, mean_se, save, sweep_table  # noqa: E402


def main(out_dir: Path, quick: bool = False) -> list[Path]:
    from mdpkit import plotting

    df = sweep_table("kl_mdp_value", quick)
    with plotting.style():
        fig, (ax_v, ax_g) = plotting.subplots(1, 2, figsize=(8.0, 3.2))
        for k, (name, part) in enumerate(df.groupby("mdp", sort=True)):
            c = f"C{k}"
            part = part.assign(norm=(part["value"] - part["value_ref"])
                               / (part["value_opt"] - part["value_ref"]))
            v, v_se = mean_se(part, ["beta"], "norm")
            ax_v.errorbar(v.index, v.values, yerr=2 * v_se.values, fmt="o-", ms=3, color=c,
                          capsize=2, label=name)
            g, g_se = mean_se(part, ["beta"], "gap")
            b = part.groupby("beta", sort=True)["bound"].first()
            ax_g.errorbar(g.index, g.values, yerr=2 * g_se.values, fmt="o-", ms=3, color=c,
                          capsize=2, label=f"{name}: gap")
            ax_g.plot(b.index, b.values, color=c, ls="--", lw=0.9, label=rf"{name}: $\beta\log A/(1-\gamma)$")
        ax_v.axhline(1.0, color="k", ls="--", lw=0.9, label=r"$V^*$")
        ax_v.axhline(0.0, color="k", ls=":", lw=0.9, label=r"$V^{\pi_{ref}}$")
        for ax in (ax_v, ax_g):
            ax.set_xscale("log")
            ax.set_xlabel(r"$\beta$")
            ax.legend(fontsize=7)
        ax_g.set_yscale("log")
        ax_v.set_ylabel(r"$(V^*_\beta - V^{\pi_{ref}}) / (V^* - V^{\pi_{ref}})$ at $\mu_0$")
        ax_g.set_ylabel(r"$\max_s\, V^* - V^*_\beta$")
        fig.tight_layout()
    return save(fig, out_dir, "fig63_kl_mdp_value")


if __name__ == "__main__":
    cli(main, __doc__)
