"""Reference laws over reward atoms and the exact best-of-N / worst-of-N laws.

Conventions (used everywhere in :mod:`mdpkit.bon`):

* A discrete reference is a law ``p`` over atoms ``y = 0..K-1`` with rewards ``r[y]``.
  Equal rewards form one *level*.
* Best-of-N draws ``Y_1..Y_N ~ p`` i.i.d. and returns one with the largest reward.
  ``ties="random"``: a uniformly random one among the tied maximisers (what ``argmax``
  over exchangeable draws does); the within-level law is then ``p`` restricted to
  the level. ``ties="first"``: the fixed total order "higher reward, then lower atom
  index" decides, so the lowest-index tied atom wins.
* Worst-of-N is the same with the smallest reward; under ``ties="first"`` the lowest
  atom index still wins a tie.
* Win rate of ``Y ~ law`` against ``Y' ~ ref`` (independent):
  ``P(r(Y) > r(Y')) + 1/2 P(r(Y) = r(Y'))``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, overload

import numpy as np
import numpy.typing as npt
from scipy import integrate, stats

from .._results import as_frame
from .._typing import FloatArray, IntArray
from .._validation import (
    SIMPLEX_ATOL,
    as_float_array,
    as_probability_vector,
    check_choice,
    check_int,
    check_magnitude,
    check_scalar,
)
from . import _bon_kernels as _k

TIES = ("first", "random")
_SIMPLEX_ATOL = SIMPLEX_ATOL  # the package's one simplex rule (mdpkit._validation)
REWARD_BOUND = 1e300


class _Atoms:
    """Sorted structure of the reward atoms, shared by every law over them."""

    __slots__ = ("rewards", "order", "level_starts", "_level_of_atom", "level_sorted",
                 "level_rewards", "_worst_order")

    def __init__(self, rewards: FloatArray):
        # ascending reward; inside a tie descending index, so the lowest index ranks top
        order, new, r_sorted = _reward_order(rewards)
        K = rewards.shape[0]
        self.level_sorted = np.empty(K, dtype=np.int64)
        starts, level_r = np.empty(K, dtype=np.int64), np.empty(K)
        n_levels = _k.level_structure(new, r_sorted, self.level_sorted, starts, level_r)
        self.rewards = rewards
        self.order = order
        self.level_starts = starts[:n_levels].copy() if n_levels < K else starts
        self.level_rewards = level_r[:n_levels].copy() if n_levels < K else level_r
        self._level_of_atom: IntArray | None = None
        self._worst_order: IntArray | None = None
        for a in (self.order, self.level_starts, self.level_sorted, self.level_rewards):
            a.setflags(write=False)

    @property
    def level_of_atom(self) -> IntArray:
        """Level index of every atom (computed on first use)."""
        if self._level_of_atom is None:
            lev = np.empty(self.order.shape[0], dtype=np.int64)
            lev[self.order] = self.level_sorted
            self._level_of_atom = _readonly(lev)
        return self._level_of_atom

    @property
    def worst_order(self) -> IntArray:
        """Return the atoms ranked for worst-of-N under ``ties="first"``.

        Atoms ranked for worst-of-N under ``ties="first"``: reward descending, then
        index descending (so the lowest-index tied atom is the top of its tie).
        """
        if self._worst_order is None:
            idx = np.arange(self.rewards.shape[0])
            self._worst_order = np.lexsort((-idx, -self.rewards))
        return self._worst_order


def _reward_order(r: FloatArray) -> tuple[IntArray, npt.NDArray[np.bool_], FloatArray]:
    """Rank the atoms: (order, new_level, r_sorted).

    Atoms by ascending reward then descending index, the first atom of each distinct
    reward in that order, and the sorted rewards.

    Two SIMD sorts (of 64-bit words packing a reward-key prefix above the reversed index,
    ``_bon_kernels.packed_reward_keys``, and of the rewards) and one O(K) pass that
    settles the atoms whose prefixes tie (``order_from_packed``): several times faster
    than a stable argsort, and no random reads.
    """
    K = r.shape[0]
    bits = max(int(K - 1).bit_length(), 1)
    packed = np.empty(K, dtype=np.uint64)
    _k.packed_reward_keys(r, bits, packed)
    packed.sort()
    r_sorted = np.sort(r)
    order = np.empty(K, dtype=np.int64)
    new = np.empty(K, dtype=np.bool_)
    _k.order_from_packed(packed, r, r_sorted, bits, order, new)
    return order, new, r_sorted


class Discrete:
    r"""A reference law over reward atoms, :math:`p(y)` with rewards :math:`r(y)`.

    Immutable and validated. Laws returned by :func:`best_of_n`, :func:`tilted`, ...
    are ``Discrete`` objects over the same atoms in the same order, so
    ``kl(law, ref)`` is an atomwise KL. The log-probabilities are kept exactly, so a
    mass far below ``1e-308`` still has a finite ``log_probs`` entry.

    Parameters
    ----------
    probs : array_like, shape (K,)
        Non-negative, summing to 1 within ``1e-9``; divided by their sum.
    rewards : array_like, shape (K,)
        Finite rewards; equal values form one level.

    Attributes
    ----------
    probs, log_probs, rewards : ndarray, shape (K,)
        Read-only arrays.
    n_atoms, n_levels : int
    level_rewards, level_probs, level_log_probs : ndarray, shape (n_levels,)
        Distinct rewards in increasing order and their masses.

    Examples
    --------
    >>> ref = Discrete([0.5, 0.25, 0.25], [0.0, 1.0, 1.0])
    >>> ref.n_atoms, ref.n_levels, ref.level_probs.tolist()
    (3, 2, [0.5, 0.5])
    """

    __slots__ = ("_probs", "_log_probs", "_atoms", "_linear_ok", "_levels", "_sorted")
    # set once in _init through object.__setattr__ (the law is immutable)
    _probs: FloatArray
    _log_probs: FloatArray
    _atoms: _Atoms
    _linear_ok: bool
    _levels: tuple[FloatArray, FloatArray] | None
    _sorted: tuple[FloatArray, FloatArray] | None

    def __init__(self, probs: npt.ArrayLike, rewards: npt.ArrayLike):
        p = as_float_array("probs", probs, ndim=1)
        r = as_float_array("rewards", rewards, ndim=1)
        check_magnitude("rewards", r, REWARD_BOUND, "reward gaps and tilts must stay finite in float64")
        _check_pair(p, r, "probs")
        p = as_probability_vector("probs", p)
        with np.errstate(divide="ignore"):
            lp = np.log(p)
        self._init(p, lp, _Atoms(_readonly(r.copy())), True)  # log p is -inf exactly where p = 0

    @classmethod
    def from_log_probs(cls, log_probs: npt.ArrayLike, rewards: npt.ArrayLike) -> Discrete:
        """Build from log-probabilities (``-inf`` allowed), e.g. exact sequence log-likelihoods.

        >>> Discrete.from_log_probs([-1000.0, 0.0], [1.0, 0.0]).log_probs.tolist()
        [-1000.0, 0.0]
        """
        lp = as_float_array("log_probs", log_probs, ndim=1, finite=False)
        r = as_float_array("rewards", rewards, ndim=1)
        check_magnitude("rewards", r, REWARD_BOUND, "reward gaps and tilts must stay finite in float64")
        _check_pair(lp, r, "log_probs")
        if np.any(np.isnan(lp)) or np.any(lp == np.inf):
            i = int(np.argmax(np.isnan(lp) | (lp == np.inf)))
            raise ValueError(f"`log_probs` must be finite or -inf; `log_probs[{i}]` = {lp[i]!r}.")
        from scipy.special import logsumexp

        lse = float(logsumexp(lp))
        if not abs(lse) <= _SIMPLEX_ATOL:
            raise ValueError(
                f"`log_probs` must log-sum-exp to 0 (atol={_SIMPLEX_ATOL:g}); got {lse:.12g}."
            )
        lp = lp - lse
        obj = cls.__new__(cls)
        obj._init(np.exp(lp), lp, _Atoms(_readonly(r.copy())))
        return obj

    @classmethod
    def _new(cls, log_probs: FloatArray, atoms: _Atoms) -> Discrete:
        obj = cls.__new__(cls)
        p = np.empty_like(log_probs)
        ok = _k.exp_into(log_probs, p)
        _check_mass(float(p.sum()))
        obj._init(p, log_probs, atoms, ok)
        return obj

    @classmethod
    def _new_sorted(cls, lq_sorted: FloatArray, atoms: _Atoms) -> Discrete:
        """Build a computed law from its log-probabilities in the atoms' sorted order.

        The atom-order arrays are made on first use (a scatter): best-of-N laws and their
        KL to the reference are computed in sorted order without one.
        """
        obj = cls.__new__(cls)
        p = np.exp(lq_sorted)
        _check_mass(float(p.sum()))
        object.__setattr__(obj, "_probs", None)
        object.__setattr__(obj, "_log_probs", None)
        object.__setattr__(obj, "_atoms", atoms)
        object.__setattr__(obj, "_linear_ok", not _k.underflowed(lq_sorted, p))
        object.__setattr__(obj, "_levels", None)
        object.__setattr__(obj, "_sorted", (_readonly(p), _readonly(lq_sorted)))
        return obj

    def _atom_arrays(self) -> tuple[FloatArray, FloatArray]:
        """Return probs and log_probs in atom order (scattered from the sorted ones once)."""
        if self._probs is None:
            ps, lps = self._sorted
            p, lp = np.empty_like(ps), np.empty_like(lps)
            _k.scatter(ps, self._atoms.order, p)
            _k.scatter(lps, self._atoms.order, lp)
            object.__setattr__(self, "_probs", _readonly(p))
            object.__setattr__(self, "_log_probs", _readonly(lp))
        return self._probs, self._log_probs

    def _init(self, p: FloatArray, lp: FloatArray, atoms: _Atoms, linear_ok: bool | None = None) -> None:
        object.__setattr__(self, "_probs", _readonly(p))
        object.__setattr__(self, "_log_probs", _readonly(lp))
        object.__setattr__(self, "_atoms", atoms)
        # linear-space cumulative sums are exact enough unless a mass underflowed
        if linear_ok is None:
            linear_ok = not bool(np.any((p == 0) & (lp > -np.inf)))
        object.__setattr__(self, "_linear_ok", bool(linear_ok))
        object.__setattr__(self, "_levels", None)
        object.__setattr__(self, "_sorted", None)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"`Discrete` is immutable; cannot set {name!r}.")

    probs = property(lambda self: self._atom_arrays()[0], doc="Probabilities, shape (K,).")
    log_probs = property(lambda self: self._atom_arrays()[1], doc="Log-probabilities, shape (K,).")
    rewards = property(lambda self: self._atoms.rewards, doc="Rewards, shape (K,).")
    n_atoms = property(lambda self: int(self._atoms.rewards.shape[0]), doc="Number of atoms K.")
    n_levels = property(lambda self: int(self._atoms.level_starts.shape[0]),
                        doc="Number of distinct rewards.")
    level_rewards = property(lambda self: self._atoms.level_rewards,
                             doc="Distinct rewards, increasing.")

    def _sorted_arrays(self) -> tuple[FloatArray, FloatArray]:
        """Return probs and log_probs in ascending reward order (cached: one gather per law)."""
        s = self._sorted
        if s is None:
            o = self._atoms.order
            s = (self._probs[o], self._log_probs[o])
            object.__setattr__(self, "_sorted", s)
        return s

    def _level_arrays(self) -> tuple[FloatArray, FloatArray]:
        if self._levels is None:
            a = self._atoms
            ps, lps = self._sorted_arrays()
            if self._linear_ok:
                lpr = np.add.reduceat(ps, a.level_starts)
                with np.errstate(divide="ignore"):
                    llp = np.log(lpr)
            else:
                llp = np.empty(a.level_starts.shape[0])
                _k.segment_logsumexp(lps, a.level_starts, llp)
                lpr = np.exp(llp)
            object.__setattr__(self, "_levels", (_readonly(lpr), _readonly(llp)))
        assert self._levels is not None  # set just above (mypy cannot see object.__setattr__)
        return self._levels

    @property
    def level_probs(self) -> FloatArray:
        """Mass of each level, shape (n_levels,)."""
        return self._level_arrays()[0]

    @property
    def level_log_probs(self) -> FloatArray:
        """Log-mass of each level, shape (n_levels,)."""
        return self._level_arrays()[1]

    def same_atoms(self, other: Discrete) -> bool:
        """Whether ``other`` lives on the same atoms (same rewards in the same order)."""
        return other._atoms is self._atoms or (
            other.n_atoms == self.n_atoms
            and bool(np.array_equal(other._atoms.rewards, self._atoms.rewards))
        )

    def __repr__(self) -> str:
        return (f"Discrete(n_atoms={self.n_atoms}, n_levels={self.n_levels}, "
                f"expected_reward={expected_reward(self):.6g})")

    def summary(self) -> str:
        """One line: atoms, levels, expected reward and the reward range."""
        r = self._atoms.rewards
        return (f"Discrete law: {self.n_atoms} atoms, {self.n_levels} reward levels, "
                f"E r = {expected_reward(self):.6g}, rewards in [{r.min():.4g}, {r.max():.4g}]")

    def to_frame(self) -> Any:
        """One row per atom: ``reward``, ``prob``, ``log_prob`` (a pandas DataFrame)."""
        return as_frame({"reward": self._atoms.rewards, "prob": self.probs, "log_prob": self.log_probs})


def _check_mass(total: float) -> None:
    """Every computed law is re-checked: a NaN or a mass defect is a bug, never a result."""
    if not abs(total - 1.0) <= _SIMPLEX_ATOL:
        raise FloatingPointError(
            f"internal error: a computed law sums to {total!r} instead of 1 (atol={_SIMPLEX_ATOL:g}); "
            "please report this input to mdpkit."
        )


def _readonly(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


def _check_pair(p: FloatArray, r: FloatArray, pname: str) -> None:
    if p.shape[0] == 0:
        raise ValueError(f"`{pname}` must not be empty.")
    if p.shape != r.shape:
        raise ValueError(f"`{pname}` and `rewards` must have the same shape; got {p.shape} and {r.shape}.")


@dataclass(frozen=True, eq=False)
class Continuous:
    r"""A reference whose reward is a continuous (atomless) random variable.

    Parameters
    ----------
    dist : frozen ``scipy.stats`` continuous distribution
        The law of the reward under the reference policy, e.g. ``stats.norm()``.

    Examples
    --------
    >>> from scipy import stats
    >>> ref = Continuous(stats.norm())
    >>> round(expected_reward(best_of_n(ref, 2)), 10)   # E max of 2 normals = 1/sqrt(pi)
    0.5641895835
    """

    dist: Any

    def __post_init__(self) -> None:
        d = self.dist
        if not isinstance(getattr(d, "dist", None), stats.rv_continuous):
            raise TypeError(
                "`dist` must be a frozen scipy.stats continuous distribution such as "
                f"`scipy.stats.norm()`; got {type(d).__name__}."
            )

    def cdf(self, x: npt.ArrayLike) -> FloatArray:
        """Return the reference CDF F(x), which is also the calibrated reward of InfAlign."""
        return self.dist.cdf(x)

    def mean(self) -> float:
        return float(self.dist.mean())

    def summary(self) -> str:
        """One line: the scipy distribution and its mean."""
        return f"Continuous reference: {self.dist.dist.name}{tuple(self.dist.args)}, E r = {self.mean():.6g}"

    def to_frame(self, n_points: int = 11) -> Any:
        """Return a quantile table as a pandas DataFrame.

        At levels ``u`` evenly spaced in ``[0.01, 0.99]``: columns ``level``, ``reward``
        (``F^{-1}(u)``) and ``pdf``.
        """
        u = np.linspace(0.01, 0.99, check_int("n_points", n_points, lo=2))
        x = self.dist.ppf(u)
        return as_frame({"level": u, "reward": x, "pdf": self.dist.pdf(x)})


@dataclass(frozen=True, eq=False)
class OrderStatistic:
    r"""Law of the best or worst of N draws of a :class:`Continuous` reference.

    ``kind="max"``: the best of N draws; ``kind="min"``: the worst.

    In calibrated coordinates :math:`u = F(x)` its CDF is :math:`u^N` (max) or
    :math:`1 - (1-u)^N` (min), whatever the reference.

    Attributes
    ----------
    base : Continuous
    log_n : float
        :math:`\log N` (N may exceed the float range).
    kind : {"max", "min"}
    """

    base: Continuous
    log_n: float
    kind: str

    @property
    def n(self) -> float:
        return math.exp(self.log_n)

    def _n_times(self, x: FloatArray) -> FloatArray:
        """``N * x`` for ``x <= 0`` without forming N."""
        x = np.asarray(x, dtype=float)
        with np.errstate(divide="ignore"):
            return np.where(x == 0, 0.0, -np.exp(self.log_n + np.log(-x)))

    def logcdf(self, x: npt.ArrayLike) -> FloatArray:
        """Return log P(reward <= x)."""
        d = self.base.dist
        if self.kind == "max":
            return self._n_times(d.logcdf(x))
        return np.log(-np.expm1(self._n_times(d.logsf(x))))

    def cdf(self, x: npt.ArrayLike) -> FloatArray:
        return np.exp(self.logcdf(x))

    def logpdf(self, x: npt.ArrayLike) -> FloatArray:
        d = self.base.dist
        tail = d.logcdf(x) if self.kind == "max" else d.logsf(x)
        # (N - 1) * tail, computed as N * tail - tail
        return self.log_n + self._n_times(tail) - tail + d.logpdf(x)

    def pdf(self, x: npt.ArrayLike) -> FloatArray:
        return np.exp(self.logpdf(x))

    def ppf(self, q: npt.ArrayLike) -> FloatArray:
        """Quantile function, through ``isf`` for the max so that huge N keeps precision."""
        d = self.base.dist
        q = np.asarray(q, dtype=float)
        inv_n = math.exp(-self.log_n)
        with np.errstate(divide="ignore"):
            if self.kind == "max":
                return d.isf(-np.expm1(np.log(q) * inv_n))
            return d.ppf(-np.expm1(np.log1p(-q) * inv_n))

    def mean(self) -> float:
        r"""E reward :math:`= \int_0^1 Q(w)\,dw` with the quantile function Q (scipy quad)."""
        d = self.base.dist
        inv_n = math.exp(-self.log_n)
        if self.kind == "max":
            def f(w: float) -> float:
                return float(d.isf(-math.expm1(math.log(w) * inv_n)))
        else:
            def f(w: float) -> float:
                return float(d.ppf(-math.expm1(math.log(w) * inv_n)))
        val, _ = integrate.quad(f, 0.0, 1.0, limit=400, epsabs=1e-12, epsrel=1e-11)
        return float(val)

    def summary(self) -> str:
        """One line: best or worst of how many draws of which reference, and the mean."""
        return (f"{'Best' if self.kind == 'max' else 'Worst'}-of-{self.n:.6g} of "
                f"{self.base.dist.dist.name}{tuple(self.base.dist.args)}: E r = {self.mean():.6g}")

    def to_frame(self, n_points: int = 11) -> Any:
        """Return a quantile table as a pandas DataFrame.

        At levels ``u`` evenly spaced in ``[0.01, 0.99]``: columns ``level``, ``reward``
        (:meth:`ppf`) and ``pdf``.
        """
        u = np.linspace(0.01, 0.99, check_int("n_points", n_points, lo=2))
        x = self.ppf(u)
        return as_frame({"level": u, "reward": x, "pdf": self.pdf(x)})


# --------------------------------------------------------------------------- helpers
def _check_ref(ref: Any, name: str = "ref") -> None:
    if not isinstance(ref, (Discrete, Continuous)):
        raise TypeError(f"`{name}` must be a `mk.bon.Discrete` or `mk.bon.Continuous`; got "
                        f"{type(ref).__name__}.")


def _log_n(n: Any, log_n: Any) -> float:
    """Validate ``n`` or ``log_n`` and return log N.

    Validate ``n`` (int >= 1, or an integer-valued float) or ``log_n`` (>= 0);
    return log N.
    """
    return _n_pair(n, log_n)[1]


def _n_pair(n: Any, log_n: Any) -> tuple[float, float]:
    """(N as float, or inf beyond 2**53 / the float range; log N)."""
    if (n is None) == (log_n is None):
        raise ValueError("give exactly one of `n` and `log_n`.")
    if n is not None:
        if isinstance(n, (float, np.floating)) and np.isfinite(n) and float(n).is_integer():
            n = int(n)
        n_int = check_int("n", n, lo=1)
        return (float(n_int) if n_int < 1e300 else math.inf), math.log(n_int)
    ln = check_scalar("log_n", log_n, lo=0.0)
    return (math.exp(ln) if ln < 690.0 else math.inf), ln


def _max_law_from_probs(p: FloatArray, log_p: FloatArray, n_float: float, log_n: float,
                        out: FloatArray) -> None:
    """``_bon_kernels.max_law_from_probs`` with its logarithms vectorised by NumPy.

    Numba calls the scalar libm ``log``/``log1p``/``expm1`` (no SIMD); NumPy's are
    vectorised, and they are the whole cost on 1e6 units. Same formulas: tails and CDF
    by ``max_law_tails``, ``log F`` and, where ``N x >= 0.01``, ``log(1 - (1 - x)^N)``
    here, the series for every unit by ``max_law_series`` (branch-free, vectorised) and
    the other units by ``max_law_fix``.
    """
    if not math.isfinite(n_float):  # every product with N goes through log N
        _k.max_law_from_probs(p, log_p, n_float, log_n, out)
        return
    G = np.empty_like(p)
    i0, n_big, _ = _k.max_law_tails(p, n_float, G)
    log_F = np.empty_like(p)
    tail = np.empty(0)  # few units with N x >= 0.01: the kernel takes their logs itself
    with np.errstate(divide="ignore", invalid="ignore"):
        np.log(G[:i0], out=log_F[:i0])
        np.log1p(G[i0:], out=log_F[i0:])
        if n_big > p.shape[0] // 8:
            # x = p / F, then log(1 - (1 - x)^N) = log(-expm1(N log1p(-x))), in place
            # (where N log1p(-x) < -37, -expm1 rounds to 1 and the log to 0 exactly)
            tail = np.empty_like(p)
            np.divide(p[:i0], G[:i0], out=tail[:i0])
            np.divide(p[i0:], 1.0 + G[i0:], out=tail[i0:])
            np.minimum(tail, 1.0, out=tail)
            np.negative(tail, out=tail)
            np.log1p(tail, out=tail)
            tail *= n_float
            np.expm1(tail, out=tail)
            np.negative(tail, out=tail)
            np.log(tail, out=tail)
    if n_big < p.shape[0]:
        _k.max_law_series(p, log_p, G, i0, log_F, _k.series_coefficients(n_float), n_float,
                          log_n, out)
    _k.max_law_fix(p, log_p, G, i0, log_F, tail, n_float, log_n, out)


def _order_stat(ref: Discrete, n_float: float, log_n: float, ties: str, kind: str) -> Discrete:
    a = ref._atoms
    if n_float == 1.0:  # one draw: the reference itself, exactly
        return ref
    if ties == "random" and kind == "max" and a.level_starts.shape[0] == ref.n_atoms:
        ties = "first"  # no tied rewards: the two conventions give the same law
    if ties == "random":
        lpr, llp = ref._level_arrays()
        step = 1 if kind == "max" else -1  # worst-of-N ranks the levels downwards
        u_p, u_lp = np.ascontiguousarray(lpr[::step]), np.ascontiguousarray(llp[::step])
        out = np.empty(u_p.shape[0])
        if ref._linear_ok:
            _max_law_from_probs(u_p, u_lp, n_float, log_n, out)
        else:
            _k.max_law_from_log_probs(u_lp, log_n, out)
        out = np.ascontiguousarray(out[::step])
        lq = np.empty(ref.n_atoms)
        _k.spread_levels(out, a.level_sorted, ref._sorted_arrays()[1], llp, lq)
        return Discrete._new_sorted(lq, a)
    elif kind == "max":
        ps, lps = ref._sorted_arrays()
        out = np.empty(ps.shape[0])
        if ref._linear_ok:
            _max_law_from_probs(ps, lps, n_float, log_n, out)
        else:
            _k.max_law_from_log_probs(lps, log_n, out)
        return Discrete._new_sorted(out, a)
    else:
        order = a.worst_order
        lp_u = ref.log_probs[order]
        out = np.empty(order.shape[0])
        if ref._linear_ok:
            _max_law_from_probs(ref.probs[order], lp_u, n_float, log_n, out)
        else:
            _k.max_law_from_log_probs(lp_u, log_n, out)
        lq = np.empty_like(out)
        _k.scatter(out, order, lq)
    return Discrete._new(lq, a)


# --------------------------------------------------------------------------- public
@overload
def best_of_n(ref: Discrete, n: int | None = ..., ties: str = ..., *,
              log_n: float | None = ...) -> Discrete: ...
@overload
def best_of_n(ref: Continuous, n: int | None = ..., ties: str = ..., *,
              log_n: float | None = ...) -> OrderStatistic: ...
def best_of_n(ref: Discrete | Continuous, n: int | None = None, ties: str = "random", *,
              log_n: float | None = None) -> Discrete | OrderStatistic:
    r"""Exact law of best-of-N sampling from ``ref``.

    For a total order with inclusive CDF :math:`F` and strict CDF :math:`F^-`,

    .. math:: \pi_N(y) = F(y)^N - F^-(y)^N,

    and with uniform tie-breaking the level mass is split proportionally to ``p``
    (Beirami et al., 2024; CLAIMS B3; LLM_BRIDGE section 3):

    .. math:: \pi_N(y) = \frac{p(y)}{p(\ell(y))}\,\big(F(\ell)^N - F(\ell^-)^N\big).

    Computed in log space as :math:`N \log F + \log(-\mathrm{expm1}(N\,
    \mathrm{log1p}(-p/F)))` with :math:`\log F` from reverse cumulative sums, so
    ``N`` up to ``1e100`` (or ``log_n`` beyond the float range) and ``1e6`` atoms are
    exact to rounding.

    Parameters
    ----------
    ref : Discrete or Continuous
    n : int
        Number of draws N >= 1 (integer-valued floats such as ``1e100`` accepted).
    ties : {"random", "first"}
        Tie convention, see the module docstring.
    log_n : float, keyword-only
        :math:`\log N` instead of ``n``; a non-integer :math:`e^{\log N}` gives the law
        with CDF :math:`F^N`.

    Returns
    -------
    Discrete over the atoms of ``ref``, or :class:`OrderStatistic` for a continuous
    reference.

    Examples
    --------
    >>> ref = Discrete([0.25, 0.25, 0.5], [0.0, 1.0, 2.0])
    >>> best_of_n(ref, 2).probs.round(15).tolist()   # F^2 - F_-^2 = (1/16, 3/16, 3/4)
    [0.0625, 0.1875, 0.75]
    """
    _check_ref(ref)
    check_choice("ties", ties, TIES)
    n_float, ln = _n_pair(n, log_n)
    if isinstance(ref, Continuous):
        return OrderStatistic(ref, ln, "max")
    return _order_stat(ref, n_float, ln, ties, "max")


@overload
def worst_of_n(ref: Discrete, n: int | None = ..., ties: str = ..., *,
               log_n: float | None = ...) -> Discrete: ...
@overload
def worst_of_n(ref: Continuous, n: int | None = ..., ties: str = ..., *,
               log_n: float | None = ...) -> OrderStatistic: ...
def worst_of_n(ref: Discrete | Continuous, n: int | None = None, ties: str = "random", *,
               log_n: float | None = None) -> Discrete | OrderStatistic:
    r"""Return the exact law of worst-of-N sampling.

    The law is :math:`\pi(y) = S^-(y)^N - S(y)^N` with
    :math:`S^-(y) = P(Y \succeq y)`, :math:`S(y) = P(Y \succ y)`.

    Same parameters as :func:`best_of_n` (InfAlign's "BoN jailbreaking" / worst-of-N).

    Examples
    --------
    >>> ref = Discrete([0.25, 0.25, 0.5], [0.0, 1.0, 2.0])
    >>> worst_of_n(ref, 2).probs.round(15).tolist()  # S_-^2 - S^2 = (7/16, 5/16, 1/4)
    [0.4375, 0.3125, 0.25]
    """
    _check_ref(ref)
    check_choice("ties", ties, TIES)
    n_float, ln = _n_pair(n, log_n)
    if isinstance(ref, Continuous):
        return OrderStatistic(ref, ln, "min")
    return _order_stat(ref, n_float, ln, ties, "min")


def _check_same(p: Discrete, q: Discrete, pn: str, qn: str) -> None:
    if not p.same_atoms(q):
        raise ValueError(f"`{pn}` and `{qn}` must be laws over the same atoms (same rewards "
                         "in the same order).")


def kl(p: Discrete | OrderStatistic | Continuous, q: Discrete | OrderStatistic | Continuous) -> float:
    r"""Kullback-Leibler divergence :math:`\mathrm{KL}(p\,\|\,q) = \sum_y p(y)\log\frac{p(y)}{q(y)}`.

    Discrete laws must live on the same atoms; ``inf`` when ``p`` charges an atom
    that ``q`` does not. For a continuous reference, best- and worst-of-N satisfy
    :math:`\mathrm{KL} = \log N - (N-1)/N` exactly (Beirami et al., 2024, the KL bound's equality case), and
    two order statistics of the same reference are compared by quadrature in
    calibrated space.

    Examples
    --------
    >>> ref = Discrete([0.5, 0.5], [0.0, 1.0])
    >>> round(kl(best_of_n(ref, 2), ref), 12)   # (1/4)log(1/2) + (3/4)log(3/2)
    0.130812035941
    """
    if isinstance(p, Discrete) and isinstance(q, Discrete):
        _check_same(p, q, "p", "q")
        if p._probs is None or q._probs is None:
            # a computed law: stay in sorted order (a function of the rewards alone)
            (ps, lps), (_, lqs) = p._sorted_arrays(), q._sorted_arrays()
            return float(max(_k.kl_from_logs(ps, lps, lqs), 0.0))
        return float(max(_k.kl_from_logs(p.probs, p.log_probs, q.log_probs), 0.0))
    cp, cq = _as_order_stat(p, "p"), _as_order_stat(q, "q")
    if cp.base is not cq.base:
        raise ValueError("`p` and `q` must be built on the same `Continuous` reference.")
    if cq.log_n == 0.0:  # against the reference itself: closed form
        return cp.log_n + math.expm1(-cp.log_n)  # log N - (N - 1)/N
    gp, gq = _u_density(cp), _u_density(cq)
    val, _ = integrate.quad(lambda u: math.exp(gp(u)) * (gp(u) - gq(u)), 0.0, 1.0,
                            limit=400, epsabs=1e-13)
    return float(val)


def _as_order_stat(x: Any, name: str) -> OrderStatistic:
    if isinstance(x, OrderStatistic):
        return x
    if isinstance(x, Continuous):
        return OrderStatistic(x, 0.0, "max")
    raise TypeError(f"`{name}` must be a Discrete, Continuous or OrderStatistic law; got "
                    f"{type(x).__name__}.")


def _u_density(o: OrderStatistic):
    """Return the log density of the order statistic in calibrated coordinates u = F(x)."""
    ln, nm1 = o.log_n, math.exp(o.log_n) - 1.0
    if o.kind == "max":
        return lambda u: ln + nm1 * math.log(u) if u > 0 else (0.0 if nm1 == 0 else -math.inf)
    return lambda u: ln + nm1 * math.log1p(-u) if u < 1 else (0.0 if nm1 == 0 else -math.inf)


def _u_cdf(o: OrderStatistic):
    n = math.exp(o.log_n)
    if o.kind == "max":
        return lambda u: u**n
    return lambda u: -math.expm1(n * math.log1p(-u)) if u < 1 else 1.0


def kl_bound(n: int) -> float:
    r"""Upper bound :math:`\log N - (N-1)/N` on :math:`\mathrm{KL}(\pi_N\|p)`.

    Beirami et al. (2024), the best-of-N KL bound; equality iff the reward law is atomless.

    >>> round(kl_bound(16), 5)
    1.83509
    """
    ln = _log_n(n, None)
    return ln + math.expm1(-ln)


def kl_estimate_beirami(n: int, eps: float) -> float:
    r"""Beirami et al.'s top-mass KL estimate for best-of-N (their Eq. 25).

    .. math::

        d_N(\varepsilon) = (1-\varepsilon)^N\Big[\log N + (N-1)\log(1-\varepsilon)
        - \tfrac{N-1}{N}\Big] + \big(1 - (1-\varepsilon)^N\big)
        \log\frac{1 - (1-\varepsilon)^N}{\varepsilon}

    It is the exact :math:`\mathrm{KL}(\pi_N\|p)` of a reference made of one top atom of
    mass :math:`\varepsilon` plus an atomless continuum below it: the continuum carries
    :math:`N F^{N-1}` times the reference density, the atom :math:`(1-(1-\varepsilon)^N)/\varepsilon`.
    Any reference whose top reward level has mass :math:`\varepsilon` is a coarsening of that
    one (best-of-N commutes with merging levels), so by data processing
    :math:`\mathrm{KL}(\pi_N\|p) \le d_N(\varepsilon) \le \log N - (N-1)/N`
    (the right end is :math:`\varepsilon \to 0`); as :math:`N\to\infty`,
    :math:`d_N(\varepsilon) \to \log(1/\varepsilon)`.

    Parameters
    ----------
    n : int
        Number of draws N >= 1 (up to 1e300 and beyond: only log N and
        :math:`(1-\varepsilon)^N` enter).
    eps : float
        Mass of the top reward level, in (0, 1].

    Returns
    -------
    float

    Examples
    --------
    >>> round(kl_estimate_beirami(16, 1e-12), 5)     # eps -> 0: log 16 - 15/16
    1.83509
    >>> round(kl_estimate_beirami(2, 0.5), 6)         # (1/4)(log 2 - log 2 - 1/2) + (3/4) log(3/2)
    0.179099
    """
    n_float, ln = _n_pair(n, None)
    e = check_scalar("eps", eps, lo=0.0, hi=1.0, lo_inclusive=False)
    log_keep = math.log1p(-e) if e < 1.0 else -math.inf          # log(1 - eps)
    log_miss = n_float * log_keep if e < 1.0 else -math.inf      # log (1 - eps)^N
    miss = math.exp(log_miss) if math.isfinite(log_miss) else 0.0
    hit = -math.expm1(log_miss) if math.isfinite(log_miss) else 1.0
    lower = 0.0
    if miss > 0.0:  # (1 - eps)^N underflows to 0 for large N: the continuum term vanishes
        lower = miss * (ln + (n_float - 1.0) * log_keep + math.expm1(-ln))
    return lower + hit * (math.log(hit) - math.log(e))


def win_rate_bound(n: int) -> float:
    r"""Return the upper bound :math:`N/(N+1)` on best-of-N's win rate against one draw.

    The win rate is against one reference sample (ties counted 1/2); the bound is an
    equality for atomless rewards.

    >>> win_rate_bound(16)
    0.9411764705882353
    """
    ln = _log_n(n, None)
    return 1.0 / (1.0 + math.exp(-ln))


def win_rate(law: Discrete | OrderStatistic | Continuous, ref: Discrete | OrderStatistic | Continuous) -> float:
    r"""Return the win rate of ``law`` against ``ref``.

    The win rate is :math:`P(r(Y) > r(Y')) + \tfrac12 P(r(Y) = r(Y'))`, ``Y ~ law``,
    ``Y' ~ ref`` independent.

    ``ref`` may be any law on the same atoms, e.g. ``best_of_n(ref0, N)`` for the
    inference-time win rate of InfAlign. For continuous order statistics of one
    reference it is a calibrated-space integral (``N/(N+M)`` for max-of-N vs max-of-M).

    Examples
    --------
    >>> ref = Discrete([0.5, 0.5], [0.0, 1.0])
    >>> win_rate(best_of_n(ref, 2), ref)        # 1/4 * 1/4 + 3/4 * 3/4
    0.625
    """
    if isinstance(law, Discrete) and isinstance(ref, Discrete):
        _check_same(law, ref, "law", "ref")
        a = law.level_probs
        b = ref.level_probs
        below = np.concatenate(([0.0], np.cumsum(b)[:-1]))
        above = np.concatenate((np.cumsum(b[::-1])[::-1][1:], [0.0]))
        # average of the two one-sided forms keeps both tails precise
        w1 = float(np.dot(a, below + 0.5 * b))
        w2 = 1.0 - float(np.dot(a, above + 0.5 * b))
        return w1 if w1 < 0.5 else w2
    x, y = _as_order_stat(law, "law"), _as_order_stat(ref, "ref")
    if x.base is not y.base:
        raise ValueError("`law` and `ref` must be built on the same `Continuous` reference.")
    if x.kind == "max" and y.kind == "max":
        return 1.0 / (1.0 + math.exp(y.log_n - x.log_n))
    if x.kind == "min" and y.kind == "min":
        return 1.0 / (1.0 + math.exp(x.log_n - y.log_n))
    gx, Gy = _u_density(x), _u_cdf(y)
    val, _ = integrate.quad(lambda u: math.exp(gx(u)) * Gy(u), 0.0, 1.0, limit=400,
                            epsabs=1e-13)
    return float(val)


def expected_reward(law: Discrete | OrderStatistic | Continuous) -> float:
    r"""Return the expected reward :math:`\sum_y \pi(y) r(y)` (quadrature for continuous laws).

    >>> expected_reward(Discrete([0.25, 0.75], [0.0, 2.0]))
    1.5
    """
    if isinstance(law, Discrete):
        return float(np.dot(law.probs, law.rewards))
    if isinstance(law, (OrderStatistic, Continuous)):
        return float(law.mean())
    raise TypeError(f"`law` must be a Discrete, Continuous or OrderStatistic law; got "
                    f"{type(law).__name__}.")
