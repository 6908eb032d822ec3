"""Figure 21: reward-vs-KL frontiers of best-of-N, soft best-of-N and the tilted policy.

The tilted policy p e^{r/beta}/Z is the KL-optimal frontier (Yang et al., 2024);
best-of-N and soft best-of-N lie below it. The right panel shows the fraction of the
optimal reward gain that best-of-N achieves at its own KL.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

import mdpkit as mk
from mdpkit import plotting

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import cli, save  # noqa: E402


def main(out_dir: Path, quick: bool = False) -> list[Path]:
    """Write the figure as PDF and PNG under ``out_dir``; return the paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    k = 2_000 if quick else 20_000
    refs = {
        "Gaussian rewards": mk.bon.Discrete(rng.dirichlet(np.ones(k)), rng.normal(size=k)),
        "5 tied levels": mk.bon.Discrete(rng.dirichlet(np.ones(k)), rng.integers(0, 5, k).astype(float)),
    }
    with plotting.style():
        fig, axes = plotting.subplots(1, 2, figsize=(9.0, 3.4))
        for (name, ref), ls in zip(refs.items(), ("-", "--"), strict=True):
            kl_max = min(4.0, 0.999 * mk.bon.max_kl(ref))
            fr = mk.bon.frontier(ref, methods=["best_of_n", "tilted", "soft_best_of_n"],
                                 kl_max=kl_max, n_points=60 if quick else 200, soft_n=16)
            for method, color in (("tilted", "k"), ("best_of_n", "C0"), ("soft_best_of_n", "C1")):
                c = fr[method]
                axes[0].plot(c.kl, c.reward - fr.reference_reward, ls, color=color,
                             marker="o" if method == "best_of_n" else None, ms=2,
                             label=f"{method} ({name})")
            axes[1].plot(fr["best_of_n"].param, fr.gain_fraction, ls, color="C0", marker="o", ms=2,
                         label=name)
        axes[0].set(xlabel=r"KL$(\pi \| p)$", ylabel="reward gain", title="Reward-KL frontiers")
        axes[0].legend(fontsize=6)
        axes[1].set(xscale="log", xlabel="N", ylabel="BoN gain / tilted gain at equal KL",
                    title="Fraction of the optimal gain")
        axes[1].legend(fontsize=7)
        return save(fig, out_dir, "fig21_reward_kl_frontiers")


if __name__ == "__main__":
    cli(main, __doc__)
