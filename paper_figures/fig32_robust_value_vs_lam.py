"""Figure 32: the d-rectangular robust regularized value of the R2PVI instance against lam, from the worst case (lam -> 0) to the nominal value (lam -> inf) (CLAIMS B1).

Exact backward induction with the known factors (`mdpkit.solvers.solve_linear_robust`)
for TV, KL and chi-square; the dotted line is the nominal optimum (the lam -> inf limit).
As lam -> 0 every factor moves to the worst next state: for TV over all states (the
fail state, value 0), for KL and chi-square over the support of each factor.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

import mdpkit as mk
from mdpkit import plotting
from mdpkit.divergences import KL, ChiSquare, TotalVariation
from mdpkit.solvers import solve_linear_robust

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import cli, save  # noqa: E402


def main(out_dir: Path, quick: bool = False) -> list[Path]:
    """Write the figure as PDF and PNG under ``out_dir``; return the paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    lin = mk.r2pvi_linear_mdp()
    lams = np.logspace(-3, 2, 15 if quick else 60)
    nominal = float(mk.solve(lin.to_tabular()).V[0, 0])
    with plotting.style():
        fig, ax = plotting.subplots()
        for name, div in (("TV", TotalVariation()), ("KL", KL()), ("$\\chi^2$", ChiSquare())):
            vals = [float(solve_linear_robust(lin, div=div, lam=lam).V[0, 0]) for lam in lams]
            ax.semilogx(lams, vals, label=name)
        ax.axhline(nominal, color="k", ls=":", lw=1, label="nominal")
        ax.set(xlabel=r"$\lambda$", ylabel=r"$V^{*,\lambda}_1(x_1)$", title="robust regularized value, R2PVI MDP")
        ax.legend()
        return save(fig, out_dir, "fig32_robust_value_vs_lam")


if __name__ == "__main__":
    cli(main, __doc__)
