r"""Closed forms of the RLVR papers: entropy, pass@k, zero-advantage probability.

References
----------
.. [1] M. Chen et al., "Evaluating large language models trained on code" (2021),
   Sec. 2.1, the unbiased pass@k estimator.
.. [2] G. Cui et al., "The entropy mechanism of reinforcement learning for reasoning
   language models" (arXiv 2505.22617), Lemma 1 (softmax entropy change).
.. [3] MMR1 (variance-aware sampling), CLAIMS row 21: probability that a GRPO group has
   zero advantage.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import numpy.typing as npt

from .._typing import FloatArray
from .._validation import as_float_array, check_int, check_simplex


def entropy(pi: npt.ArrayLike) -> FloatArray | float:
    r"""Shannon entropy :math:`H(\pi) = -\sum_a \pi_a \log \pi_a` along the last axis (nats).

    ``0 log 0 = 0``; every vector along the last axis must lie on the simplex.

    Examples
    --------
    >>> round(entropy([0.5, 0.5]), 6)
    0.693147
    >>> entropy([[1.0, 0.0], [0.25, 0.75]]).round(4).tolist()
    [0.0, 0.5623]
    """
    p = as_float_array("pi", pi, ndim=(1, 2, 3))
    check_simplex("pi", p, atol=1e-8)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -np.where(p > 0, p * np.log(p), 0.0).sum(axis=-1)
    h = h + 0.0  # -0.0 -> 0.0
    return float(h) if h.ndim == 0 else h


def entropy_change_prediction(pi: npt.ArrayLike, dz: npt.ArrayLike) -> FloatArray | float:
    r"""First-order entropy change of a softmax policy, :math:`-\mathrm{Cov}_{a\sim\pi}(\log\pi_a, \Delta z_a)`.

    Lemma 1 of Cui et al. (2025, arXiv 2505.22617): for :math:`\pi = \mathrm{softmax}(z)` and a logit change
    :math:`\Delta z`, :math:`H(\mathrm{softmax}(z+\Delta z)) - H(\pi) = -\mathrm{Cov}_\pi(\log\pi,
    \Delta z) + O(\|\Delta z\|^2)`. Vanilla PG has :math:`\Delta z = \eta\,\pi\odot A`,
    natural PG :math:`\Delta z = \eta A`. Works row-wise along the last axis.

    Examples
    --------
    >>> pi = np.array([0.7, 0.2, 0.1])
    >>> round(entropy_change_prediction(pi, 1e-3 * np.array([1.0, 0.0, 0.0])), 8)
    -0.0003116
    """
    p = as_float_array("pi", pi, ndim=(1, 2, 3))
    check_simplex("pi", p, atol=1e-8)
    d = as_float_array("dz", dz)
    if d.shape != p.shape:
        raise ValueError(f"`dz` must have the shape of `pi`, {p.shape}; got {d.shape}.")
    with np.errstate(divide="ignore", invalid="ignore"):
        lp = np.where(p > 0, np.log(p), 0.0)
    cov = (p * lp * d).sum(-1) - (p * lp).sum(-1) * (p * d).sum(-1)
    return float(-cov) if cov.ndim == 0 else -cov


def _int_array(name: str, x: npt.ArrayLike) -> np.ndarray:
    a = np.asarray(x)
    if a.dtype.kind not in "iu":
        if a.dtype.kind == "f" and np.all(np.isfinite(a)) and np.all(a == np.round(a)):
            a = a.astype(np.int64)
        else:
            raise TypeError(f"`{name}` must hold integers; got {a!r}.")
    return a.astype(np.int64)


def pass_at_k(n: npt.ArrayLike, c: npt.ArrayLike, k: npt.ArrayLike) -> FloatArray | float:
    r"""Unbiased pass@k estimator of Chen et al. (2021, Sec. 2.1): :math:`1 - \binom{n-c}{k}/\binom{n}{k}`.

    From ``n`` samples of which ``c`` are correct, estimates :math:`1-(1-p)^k`; it is the
    probability that a uniformly random ``k``-subset of the ``n`` samples holds a correct
    one. Computed with exact integer arithmetic (Python big integers) and one correctly
    rounded division, so it is exact to the last bit for any ``n`` (1e4 and beyond),
    where the float product :math:`\prod_i (1 - k/i)` loses digits. Arguments broadcast.

    Parameters
    ----------
    n, c, k : int or array_like of int
        ``n >= 1`` samples, ``0 <= c <= n`` correct, ``1 <= k <= n``.

    Examples
    --------
    >>> pass_at_k(10, 3, 1)
    0.3
    >>> round(pass_at_k(10_000, 1, 5_000), 12)
    0.5
    """
    nn, cc, kk = np.broadcast_arrays(_int_array("n", n), _int_array("c", c), _int_array("k", k))
    if np.any(nn < 1):
        raise ValueError(f"`n` must be >= 1; got {nn.min()}.")
    if np.any(cc < 0) or np.any(cc > nn):
        raise ValueError(f"`c` must satisfy 0 <= c <= n; got c in [{cc.min()}, {cc.max()}] "
                         f"with n in [{nn.min()}, {nn.max()}].")
    if np.any(kk < 1) or np.any(kk > nn):
        i = int(np.argmax((kk < 1) | (kk > nn)))
        raise ValueError(f"`k` must satisfy 1 <= k <= n; got k = {kk.flat[i]} with n = {nn.flat[i]}.")
    out = np.empty(nn.shape)
    for i, (ni, ci, ki) in enumerate(zip(nn.flat, cc.flat, kk.flat, strict=True)):
        ni, ci, ki = int(ni), int(ci), int(ki)
        if ni - ci < ki:
            out.flat[i] = 1.0
        else:
            total = math.comb(ni, ki)
            out.flat[i] = (total - math.comb(ni - ci, ki)) / total  # exact ints, one rounding
    return float(out) if out.ndim == 0 else out


def pass_at_k_exact(p: npt.ArrayLike, k: int) -> FloatArray | float:
    r"""pass@k of a policy with success probability ``p``: :math:`1 - (1-p)^k`.

    Computed as ``-expm1(k log1p(-p))`` (accurate for tiny ``p``).

    Examples
    --------
    >>> round(pass_at_k_exact(0.1, 10), 6)
    0.651322
    """
    q = as_float_array("p", p)
    if np.any((q < 0) | (q > 1)):
        raise ValueError(f"`p` must lie in [0, 1]; got range [{q.min()}, {q.max()}].")
    kk = check_int("k", k, lo=1)
    with np.errstate(divide="ignore"):
        v = -np.expm1(kk * np.log1p(-q))
    return float(v[0]) if np.ndim(p) == 0 else v


def zero_advantage_probability(p: npt.ArrayLike, G: int) -> FloatArray | float:
    r"""Probability that a group of ``G`` binary rewards is all-equal: :math:`p^G + (1-p)^G`.

    A GRPO (or RLOO, Dr. GRPO) group then has zero advantage for every sample and gives
    no gradient (MMR1, CLAIMS row 21 and C12 ii).

    Parameters
    ----------
    p : float or array_like
        Success probability of the prompt, in ``[0, 1]``.
    G : int
        Group size ``>= 2``.

    Examples
    --------
    >>> zero_advantage_probability(0.5, 4)
    0.125
    """
    q = as_float_array("p", p)
    if np.any((q < 0) | (q > 1)):
        raise ValueError(f"`p` must lie in [0, 1]; got range [{q.min()}, {q.max()}].")
    if isinstance(G, bool) or not isinstance(G, (numbers.Integral, np.integer)):
        raise TypeError(f"`G` must be an integer group size; got {G!r}.")
    g = check_int("G", G, lo=2)
    v = q**g + (1.0 - q) ** g
    return float(v[0]) if np.ndim(p) == 0 else v


def fit_entropy_law(H: npt.ArrayLike, R: npt.ArrayLike) -> tuple[float, float]:
    r"""Least-squares fit of Cui et al.'s empirical law :math:`R = -a\,e^{H} + b`.

    Linear in :math:`(a, b)` given :math:`x = e^H`; the predicted ceiling at
    :math:`H = 0` is :math:`b - a`. The law is empirical (observed on LLM training
    runs), not a theorem.

    Returns
    -------
    a, b : float

    Examples
    --------
    >>> H = np.linspace(0.1, 2.0, 20)
    >>> a, b = fit_entropy_law(H, 0.9 - 0.05 * np.exp(H))
    >>> round(a, 6), round(b, 6)
    (0.05, 0.9)
    """
    h = as_float_array("H", H, ndim=1)
    r = as_float_array("R", R, shape=(h.size,))
    if h.size < 2 or np.ptp(h) == 0:
        raise ValueError("`H` must hold at least two distinct entropies to fit two coefficients.")
    X = np.stack([-np.exp(h), np.ones_like(h)], axis=1)
    (a, b), *_ = np.linalg.lstsq(X, r, rcond=None)
    return float(a), float(b)
