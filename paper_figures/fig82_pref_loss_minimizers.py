"""Figure 82: population minimizers of DPO-family losses vs the tilted policy (sweep ``sims/pref_loss_minimizers.py``).

Left: KL(pi_loss || pi_ref e^{r/beta}/Z) against beta (mean over random instances): DPO's
minimizer is the tilted policy (KL at rounding level), IPO and the f-DPO variants reach
other policies (their own closed forms). Right: the largest distance between each
numerical minimizer and its predicted closed form.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import cli, save, sweep_table  # noqa: E402


def main(out_dir: Path, quick: bool = False) -> list[Path]:
    import numpy as np

    from mdpkit import plotting

    df = sweep_table("pref_loss_minimizers", quick)
    with plotting.style():
        fig, (ax, ax_e) = plotting.subplots(1, 2, figsize=(8.0, 3.2))
        for k, (loss, part) in enumerate(df.groupby("loss", sort=True)):
            kl = part.groupby("beta", sort=True)["kl_to_tilted"].mean()
            ax.loglog(kl.index, np.maximum(kl.to_numpy(), 1e-17), "o-", ms=3, color=f"C{k}", label=loss)
            err = part.groupby("beta", sort=True)["err_to_predicted"].max()
            ax_e.loglog(err.index, np.maximum(err.to_numpy(), 1e-17), "o-", ms=3, color=f"C{k}", label=loss)
        ax.set_xlabel(r"$\beta$")
        ax.set_ylabel(r"KL$(\pi_{loss}\,\|\,\pi_{tilted})$")
        ax_e.set_xlabel(r"$\beta$")
        ax_e.set_ylabel("max |minimizer - closed form|")
        ax.legend(fontsize=7)
        fig.tight_layout()
    return save(fig, out_dir, "fig82_pref_loss_minimizers")


if __name__ == "__main__":
    cli(main, __doc__)
