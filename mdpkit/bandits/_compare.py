"""Run several algorithms on one environment and tabulate regret against the theory."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from .. import theory
from .._results import as_frame
from .._typing import FloatArray, RNGLike
from ._algorithms import (
    EXP3,
    KLUCB,
    MOSS,
    UCB1,
    Hedge,
    RegretMatching,
    SuccessiveElimination,
    ThompsonSampling,
)
from ._envs import AdversarialBandit, BernoulliBandit, BetaBandit, GaussianBandit
from ._simulate import BanditRun, _root, simulate


@dataclass(frozen=True)
class BanditComparison:
    """Output of :func:`compare`.

    Attributes
    ----------
    runs : dict of str to BanditRun
    rows : list of dict
        One row per algorithm: ``algorithm``, ``mean_regret``, ``se``, ``bound``,
        ``bound_kind``, ``regret_over_log_T``, ``pulls_per_s``.
    bounds : dict of str to (ndarray, ndarray, str)
        Theory overlays: checkpoints, bound values, and what the curve is.
    figure : Path or None
        The PNG written when ``out`` was given (a PDF sits next to it).
    """

    runs: dict[str, BanditRun]
    rows: list[dict[str, Any]]
    bounds: dict[str, tuple[np.ndarray, FloatArray, str]] = field(repr=False)
    figure: Path | None = None

    @property
    def table(self) -> str:
        """Plain-text table of :attr:`rows`."""
        head = ["algorithm", "mean regret", "± SE", "bound", "regret/ln T", "pulls/s"]
        body = []
        for r in self.rows:
            b = "" if r["bound"] is None else f"{r['bound']:.4g} ({r['bound_kind']})"
            se = "" if r["se"] is None else f"{r['se']:.3g}"
            body.append([r["algorithm"], f"{r['mean_regret']:.4g}", se, b,
                         f"{r['regret_over_log_T']:.4g}", f"{r['pulls_per_s']:.3g}"])
        w = [max(len(x[i]) for x in [head, *body]) for i in range(len(head))]
        return "\n".join("  ".join(c.ljust(k) for c, k in zip(line, w, strict=True)).rstrip()
                         for line in [head, *body])

    def __str__(self) -> str:
        return self.table

    def summary(self) -> str:
        """One line: the algorithms ranked by mean final regret."""
        ranked = sorted(self.rows, key=lambda r: r["mean_regret"])
        return "bandit comparison: " + ", ".join(f"{r['algorithm']} {r['mean_regret']:.4g}" for r in ranked)

    def to_frame(self) -> Any:
        """:attr:`rows` as a pandas DataFrame (one row per algorithm)."""
        return as_frame({k: [r[k] for r in self.rows] for k in self.rows[0]})


def _bound(algo: Any, env: Any, ck: np.ndarray, horizon: int) -> tuple[np.ndarray, FloatArray, str] | None:
    """Return the theory curve that applies to ``algo`` on ``env`` (None when no bound applies)."""
    unit_stoch = isinstance(env, (BernoulliBandit, BetaBandit))
    K = env.n_arms
    if isinstance(algo, UCB1) and algo.c == 2.0 and unit_stoch:
        return ck, np.array([theory.ucb1_regret_bound(env.gaps, int(t)) for t in ck]), "UCB1 bound"
    T = np.array([horizon])
    if isinstance(algo, SuccessiveElimination) and unit_stoch:
        return T, np.array([theory.successive_elimination_regret_bound(env.gaps, horizon)]), "SE bound"
    if isinstance(algo, MOSS) and unit_stoch:
        return T, np.array([theory.moss_regret_bound(K, horizon)]), "MOSS bound"
    if isinstance(algo, EXP3) and algo.gamma is None and not isinstance(env, GaussianBandit):
        return T, np.array([theory.exp3_regret_bound(K, horizon)]), "EXP3 bound"
    if isinstance(algo, Hedge) and algo.eta is None and not isinstance(env, GaussianBandit):
        return T, np.array([theory.hedge_regret_bound(K, horizon)]), "Hedge bound"
    if isinstance(algo, RegretMatching) and not isinstance(env, GaussianBandit):
        return ck, np.array([theory.regret_matching_regret_bound(K, int(t)) for t in ck]), "RM bound"
    lr_ok = (isinstance(algo, (KLUCB, ThompsonSampling)) and isinstance(env, BernoulliBandit)
             and env.means.max() < 1.0) or (isinstance(algo, KLUCB) and algo.kind == "gaussian"
                                            and isinstance(env, GaussianBandit)
                                            and np.all(env.sigma == env.sigma[0]))
    if lr_ok:
        c = theory.lai_robbins_constant(env)
        return ck, c * np.log(np.maximum(ck, 1)), "Lai-Robbins C ln t"
    return None


def compare(
    env: Any,
    algorithms: Sequence[Any],
    *,
    horizon: int,
    n_runs: int = 100,
    rng: RNGLike = None,
    checkpoints: str | int | npt.ArrayLike = "log",
    out: str | Path | None = None,
) -> BanditComparison:
    r"""Simulate every algorithm on ``env`` and compare mean regret with its theoretical bound.

    Overlays (where they apply): the UCB1 bound of Auer et al. (2002) as a curve; the
    Successive Elimination, MOSS, EXP3 and Hedge bounds at the horizon; the regret-matching
    bound :math:`\sqrt{Kt}`; the Lai-Robbins asymptote :math:`C\ln t` for KL-UCB and
    Thompson sampling (a lower reference, not an upper bound). Every algorithm uses the
    same per-run seeds.

    Parameters
    ----------
    env : bandit environment
    algorithms : sequence of algorithm objects
        Names (``algo.name``) must be distinct.
    horizon, n_runs : int
    rng : int, SeedSequence, Generator or None
    checkpoints : see :func:`simulate`
    out : str or Path, optional
        A file path (``.png``; a ``.pdf`` is written beside it) for a regret figure with
        mean ± 2 SE bands and the bound overlays.

    Returns
    -------
    BanditComparison

    Examples
    --------
    >>> import mdpkit as mk
    >>> env = mk.bandits.BernoulliBandit([0.6, 0.5, 0.4])
    >>> res = mk.bandits.compare(env, [mk.bandits.UCB1(), mk.bandits.ThompsonSampling()],
    ...                          horizon=2000, n_runs=20, rng=0)
    >>> [r["algorithm"] for r in res.rows]
    ['UCB1', 'ThompsonSampling']
    >>> bool(res.rows[0]["mean_regret"] < res.rows[0]["bound"])
    True
    """
    algos = list(algorithms)
    if not algos:
        raise ValueError("`algorithms` must contain at least one algorithm.")
    names = [getattr(a, "name", type(a).__name__) for a in algos]
    if len(set(names)) != len(names):
        raise ValueError(f"`algorithms` must have distinct names; got {names}.")
    root = _root(rng)
    runs: dict[str, BanditRun] = {}
    bounds: dict[str, tuple[np.ndarray, FloatArray, str]] = {}
    rows = []
    for name, algo in zip(names, algos, strict=True):
        run = simulate(env, algo, horizon=horizon, n_runs=n_runs, rng=root, checkpoints=checkpoints)
        runs[name] = run
        b = None if isinstance(env, AdversarialBandit) and not isinstance(algo, (EXP3, Hedge, RegretMatching)) \
            else _bound(algo, env, run.checkpoints, run.horizon)
        if b is not None:
            bounds[name] = b
        rows.append({
            "algorithm": name,
            "mean_regret": float(run.mean_regret[-1]),
            "se": float(run.regret_se[-1]) if run.n_runs > 1 else None,
            "bound": None if b is None else float(b[1][-1]),
            "bound_kind": None if b is None else b[2],
            "regret_over_log_T": float(run.mean_regret[-1] / math.log(max(run.horizon, 2))),
            "pulls_per_s": run.pulls_per_second,
        })
    fig_path = None
    if out is not None:
        fig_path = _draw(runs, bounds, Path(out))
    return BanditComparison(runs=runs, rows=rows, bounds=bounds, figure=fig_path)


def _draw(runs: dict[str, BanditRun], bounds: dict[str, Any], out: Path) -> Path:
    from .. import plotting

    fig, ax = plotting.subplots()
    for i, (name, run) in enumerate(runs.items()):
        color = f"C{i}"
        m = run.mean_regret
        ax.plot(run.checkpoints, m, color=color, label=name)
        if run.n_runs > 1:
            se = run.regret_se
            ax.fill_between(run.checkpoints, np.maximum(m - 2 * se, 1e-9), m + 2 * se, color=color,
                            alpha=0.2, lw=0)
        if name in bounds:
            x, y, kind = bounds[name]
            if x.size > 1:
                ax.plot(x, y, color=color, ls="--", lw=1.0, label=kind)
            else:
                ax.plot(x, y, color=color, marker="v", ls="none", label=f"{kind} at T")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("pulls t")
    ax.set_ylabel("mean regret (± 2 SE)")
    ax.legend(fontsize=7)
    out = out if out.suffix else out.with_suffix(".png")
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out.with_suffix(".png"), dpi=150)
    fig.savefig(out.with_suffix(".pdf"))
    import matplotlib.pyplot as plt

    plt.close(fig)
    return out.with_suffix(".png")
