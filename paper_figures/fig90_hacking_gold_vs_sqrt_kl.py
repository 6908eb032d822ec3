"""Figure 90: gold vs proxy reward against sqrt(KL), best-of-N and the tilted policy.

Exact curves (mdpkit.reward_hacking.gold_reward_curve) for heavy-tailed additive noise
(Student-t, df 3) and for a proxy wrong only in a tail of mass 1e-3, with Gao et al.'s
fitted forms d(alpha - beta d) (best-of-N) and d(alpha - beta log d) (tilt), and the
overoptimization peak (star).
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
    rh = mk.reward_hacking
    n_grid = 32 if quick else 128
    laws = {
        "Student-t noise": rh.additive_noise(1.0, noise="student_t", df=3.0, n_grid=n_grid),
        "tail-wrong proxy": rh.tail_proxy(tail_mass=1e-3, tail_proxy=np.linspace(4, 6, 5),
                                          tail_gold=-3.0, n_grid=n_grid),
    }
    with plotting.style():
        fig, axes = plotting.subplots(2, 2, figsize=(8.5, 6.0))
        for row, (name, law) in enumerate(laws.items()):
            curves = {
                "best-of-N": rh.gold_reward_curve(law, "best_of_n", n_max=10**5, n_points=60),
                "tilted": rh.gold_reward_curve(law, "tilted", kl_max=5.0, n_points=60),
            }
            for col, (method, c) in enumerate(curves.items()):
                ax = axes[row][col]
                f, pk = c.fit(), c.peak()
                ax.plot(c.d, c.proxy - c.proxy_ref, "-", color="C1", label="proxy")
                ax.plot(c.d, c.gold - c.gold_ref, "o", ms=2.5, color="C0", label="gold (exact)")
                ax.plot(c.d, f.predict(c.d), "k--", lw=0.9, label=f"Gao fit, $R^2$={f.r2:.3f}")
                ax.plot(pk.d, pk.gold - c.gold_ref, "*", color="C3", ms=10, label="peak")
                ax.set(xlabel=r"$d = \sqrt{KL}$", ylabel="gain over reference", title=f"{name}, {method}")
                ax.legend(fontsize=6)
        fig.tight_layout()
    return save(fig, out_dir, "fig90_hacking_gold_vs_sqrt_kl")


if __name__ == "__main__":
    cli(main, __doc__)
