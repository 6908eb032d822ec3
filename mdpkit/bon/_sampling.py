"""Monte-Carlo samplers and estimators (with standard errors) for the exact laws.

The samplers simulate the *procedure* (N i.i.d. reference draws, then a selection
rule), not the exact law, so agreement within a few standard errors is an
independent check of :func:`mdpkit.bon.best_of_n`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._results import as_frame
from .._typing import FloatArray, IntArray, RNGLike
from .._validation import as_generator, check_choice, check_int, check_memory
from ._laws import TIES, Continuous, Discrete, OrderStatistic, _check_ref, _check_same

_BLOCK = 1 << 22  # draws per vectorised block


@dataclass(frozen=True, slots=True)
class Estimate:
    """A Monte-Carlo mean with its standard error ``std(ddof=1)/sqrt(n)``."""

    mean: float
    se: float
    n_samples: int

    def agrees(self, value: float, *, z: float = 3.0, slack: float = 0.0) -> bool:
        """Whether ``|mean - value| <= z * se + slack``."""
        return abs(self.mean - value) <= z * self.se + slack

    def summary(self) -> str:
        """One line: mean +- standard error (samples)."""
        return f"{self.mean:.6g} +- {self.se:.2g} ({self.n_samples} samples)"

    def to_frame(self) -> Any:
        """One row: ``mean``, ``se``, ``n_samples`` (a pandas DataFrame)."""
        return as_frame({"mean": [self.mean], "se": [self.se], "n_samples": [self.n_samples]})


def _estimate(x: FloatArray) -> Estimate:
    n = x.shape[0]
    return Estimate(float(x.mean()), float(x.std(ddof=1) / math.sqrt(n)) if n > 1 else math.inf, n)


def _size(size: int) -> int:
    m = check_int("size", size, lo=1)
    check_memory(f"`size` = {m} samples", m)
    return m


def sample(law: Discrete | Continuous | OrderStatistic, size: int, *, rng: RNGLike = None) -> np.ndarray:
    """Draw ``size`` i.i.d. samples of a law.

    Draw ``size`` i.i.d. samples: atom indices (int64) for a :class:`Discrete` law,
    reward values for a continuous one (inverse-CDF sampling).

    >>> ref = Discrete([0.0, 1.0], [0.0, 1.0])
    >>> sample(ref, 3, rng=0).tolist()
    [1, 1, 1]
    """
    m = _size(size)
    g = as_generator(rng)
    if isinstance(law, Discrete):
        c = np.cumsum(law.probs)
        return np.searchsorted(c, g.random(m) * c[-1], side="right").clip(0, law.n_atoms - 1)
    if isinstance(law, Continuous):
        return law.dist.ppf(g.random(m))
    if isinstance(law, OrderStatistic):
        return law.ppf(g.random(m))
    raise TypeError(f"`law` must be a Discrete, Continuous or OrderStatistic law; got "
                    f"{type(law).__name__}.")


def sample_best_of_n(ref: Discrete | Continuous, n: int, size: int, *, rng: RNGLike = None,
                     ties: str = "random", kind: str = "max") -> np.ndarray:
    """Simulate best-of-N (``kind="max"``) or worst-of-N (``"min"``) ``size`` times.

    Draws ``size x n`` reference samples and applies the selection rule with the tie
    convention of :func:`mdpkit.bon.best_of_n`. Returns atom indices (Discrete) or
    rewards (Continuous).

    >>> ref = Discrete([0.5, 0.5], [0.0, 1.0])
    >>> float(np.mean(sample_best_of_n(ref, 2, 20_000, rng=1) == 1))   # exact 3/4
    0.74955
    """
    _check_ref(ref)
    n = check_int("n", n, lo=1)
    m = _size(size)
    check_memory(f"`size` x `n` = {m} x {n} reference draws", m * n,
                 hint="Use best_of_n(ref, n) for the exact law of any n.")
    check_choice("ties", ties, TIES)
    check_choice("kind", kind, ("max", "min"))
    g = as_generator(rng)
    rows = max(1, _BLOCK // n)
    out = []
    if isinstance(ref, Continuous):
        for a in range(0, m, rows):
            x = ref.dist.ppf(g.random((min(rows, m - a), n)))
            out.append(x.max(axis=1) if kind == "max" else x.min(axis=1))
        return np.concatenate(out)
    atoms = ref._atoms
    c = np.cumsum(ref.probs)
    if ties == "first":
        order = atoms.order if kind == "max" else atoms.worst_order
        rank = np.empty(ref.n_atoms, dtype=np.int64)
        rank[order] = np.arange(ref.n_atoms)
    sign = 1.0 if kind == "max" else -1.0
    for a in range(0, m, rows):
        k = min(rows, m - a)
        y = np.searchsorted(c, g.random((k, n)) * c[-1], side="right").clip(0, ref.n_atoms - 1)
        if ties == "first":
            j = np.argmax(rank[y], axis=1)
        else:  # uniform among tied draws: break ties by an independent uniform key
            j = np.argmax(sign * atoms.level_of_atom[y] + g.random((k, n)) * 0.5, axis=1)
        out.append(y[np.arange(k), j])
    return np.concatenate(out)


@dataclass(frozen=True, slots=True)
class MonteCarloBoN:
    """Monte-Carlo estimates for a simulated best-of-N procedure.

    Attributes
    ----------
    expected_reward, win_rate : Estimate
        ``win_rate`` against one fresh reference draw per trial, ties scored 1/2.
    level_freqs : ndarray, shape (n_levels,)
        Empirical frequency of each reward level (increasing rewards).
    samples : ndarray
        Selected atom indices.
    """

    expected_reward: Estimate
    win_rate: Estimate
    level_freqs: FloatArray
    samples: IntArray

    def summary(self) -> str:
        """One line: the two estimates with their standard errors."""
        e, w = self.expected_reward, self.win_rate
        return (f"Monte-Carlo best-of-N ({e.n_samples} trials): reward {e.mean:.4g} +- {e.se:.2g}, "
                f"win rate {w.mean:.4g} +- {w.se:.2g}")

    def to_frame(self) -> Any:
        """One row per reward level with its empirical frequency (a pandas DataFrame)."""
        return as_frame({"level": np.arange(self.level_freqs.size), "frequency": self.level_freqs})


def monte_carlo_best_of_n(ref: Discrete, n: int, size: int, *, rng: RNGLike = None,
                          ties: str = "random", kind: str = "max") -> MonteCarloBoN:
    """Simulate best-/worst-of-N and estimate reward, win rate and level frequencies.

    >>> ref = Discrete([0.5, 0.5], [0.0, 1.0])
    >>> mc = monte_carlo_best_of_n(ref, 2, 40_000, rng=0)
    >>> mc.win_rate.agrees(0.625), mc.expected_reward.agrees(0.75)
    (True, True)
    """
    if not isinstance(ref, Discrete):
        raise TypeError(f"`ref` must be a `mk.bon.Discrete`; got {type(ref).__name__}.")
    g = as_generator(rng)
    y = sample_best_of_n(ref, n, size, rng=g, ties=ties, kind=kind)
    y_ref = sample(ref, y.shape[0], rng=g)
    r = ref.rewards
    score = (r[y] > r[y_ref]) + 0.5 * (r[y] == r[y_ref])
    lev = ref._atoms.level_of_atom[y]
    freqs = np.bincount(lev, minlength=ref.n_levels) / y.shape[0]
    return MonteCarloBoN(_estimate(r[y]), _estimate(score.astype(float)), freqs, y)


def mc_kl(law: Discrete, ref: Discrete, samples: IntArray) -> Estimate:
    r"""Estimate a KL divergence from samples of ``law``.

    Estimate :math:`\mathrm{KL}(\text{law}\|\text{ref}) = \mathbb E_{\text{law}}
    [\log \text{law}(Y) - \log \text{ref}(Y)]` from samples ``Y`` of ``law``.

    With ``samples`` from :func:`sample_best_of_n` this checks that the exact law is
    the law of the simulated procedure (the LLM bridge's "KL MC" column).

    >>> ref = Discrete([0.5, 0.5], [0.0, 1.0])
    >>> from mdpkit.bon import best_of_n, kl
    >>> est = mc_kl(best_of_n(ref, 2), ref, sample_best_of_n(ref, 2, 20_000, rng=0))
    >>> est.agrees(kl(best_of_n(ref, 2), ref))
    True
    """
    _check_same(law, ref, "law", "ref")
    idx = np.asarray(samples)
    if idx.dtype.kind not in "iu" or idx.ndim != 1 or idx.size < 2:
        raise ValueError("`samples` must be a 1-D integer array of at least 2 atom indices.")
    if idx.min() < 0 or idx.max() >= law.n_atoms:
        raise ValueError(f"`samples` must be atom indices in [0, {law.n_atoms - 1}].")
    return _estimate(law.log_probs[idx] - ref.log_probs[idx])
