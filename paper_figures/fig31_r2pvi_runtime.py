"""Figure 31: fit time of R2PVI (TV, KL, chi2) and DRPVI against the number of trajectories K and the dimension d (CLAIMS B1, C7).

R2PVI's per-coordinate estimates are closed forms (TV, KL) or an exact breakpoint search
(chi2); DRPVI solves its TV-ball dual by an exact breakpoint search too. Left: the paper's
simulated linear MDP (d = 4, H = 3). Right: random d-rectangular MDPs (S = 50, A = 10,
H = 3, K = 2000). Each point is the best of a few repeated fits.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

import mdpkit as mk
from mdpkit import plotting
from mdpkit.divergences import KL, ChiSquare, TotalVariation
from mdpkit.learners import DRPVI, R2PVI

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import best_time, cli, save  # noqa: E402


def main(out_dir: Path, quick: bool = False) -> list[Path]:
    """Write the figure as PDF and PNG under ``out_dir``; return the paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    try:  # one BLAS thread: small matrix products only suffer from threading on shared machines
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    except ImportError:
        pass
    learners = {"R2PVI-TV": R2PVI(TotalVariation(), 0.1), "R2PVI-KL": R2PVI(KL(), 0.1),
                "R2PVI-$\\chi^2$": R2PVI(ChiSquare(), 0.1), "DRPVI": DRPVI(0.1)}
    Ks = [100, 1000, 10_000] if quick else [100, 300, 1000, 3000, 10_000, 30_000]
    ds = [2, 8, 32] if quick else [2, 4, 8, 16, 32, 64]
    rep = 2 if quick else 5
    lin = mk.r2pvi_linear_mdp()
    tK = {k: [] for k in learners}
    for K in Ks:
        data = lin.collect(n_trajectories=K, rng=0)
        for name, L in learners.items():
            L.fit(data, theta=lin.theta)  # compile / warm up
            tK[name].append(best_time(lambda L=L, data=data: L.fit(data, theta=lin.theta), rep, warm_up=False))
    td = {k: [] for k in learners}
    for d in ds:
        lr = mk.random_linear_mdp(50, 10, d, 3, rng=d)
        data = lr.collect(n_trajectories=2000, rng=0)
        for name, L in learners.items():
            td[name].append(best_time(lambda L=L, data=data, lr=lr: L.fit(data, theta=lr.theta), rep, warm_up=False))
    with plotting.style():
        fig, axes = plotting.subplots(1, 2, figsize=(9.0, 3.4))
        for name in learners:
            axes[0].loglog(Ks, np.array(tK[name]) * 1e3, marker="o", label=name)
            axes[1].loglog(ds, np.array(td[name]) * 1e3, marker="o", label=name)
        axes[0].set(xlabel="trajectories K", ylabel="fit time (ms)", title="paper instance, d = 4, H = 3")
        axes[1].set(xlabel="feature dimension d", ylabel="fit time (ms)", title="random d-rectangular, K = 2000")
        axes[0].legend()
        from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

        for ax, xs in ((axes[0], Ks), (axes[1], ds)):
            ax.set_xticks(xs, labels=[f"{x:g}" for x in xs])
            ax.xaxis.set_minor_formatter(NullFormatter())
            ax.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
            ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _: f"{y:g}"))
            ax.yaxis.set_minor_formatter(NullFormatter())
        return save(fig, out_dir, "fig31_r2pvi_runtime")


if __name__ == "__main__":
    cli(main, __doc__)
