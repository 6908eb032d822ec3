r"""Preference problems: preference matrices, the tilted policy, preference datasets.

A preference model over a finite set of responses :math:`\mathcal Y` (one prompt, or one
per context ``x``) is a matrix :math:`P[y, y'] = \Pr(y \succ y')` with
:math:`P + P^\top = 1` (so :math:`P[y, y] = 1/2`) and entries in :math:`[0, 1]`. The
Bradley-Terry model of a reward :math:`r` is :math:`P[y, y'] = \sigma(r(y) - r(y'))`;
a general matrix may be intransitive (rock-paper-scissors).

A preference dataset is a list of (chosen, rejected) pairs. Its sufficient statistic for
every loss in :mod:`mdpkit.preference` is the *pair-count matrix*
``counts[w, l]`` = number (or probability) of pairs with chosen ``w`` and rejected ``l``;
the population version for pairs drawn from a pair law :math:`\mu_2(y, y')` and labelled by
:math:`P` is :math:`W[w, l] = (\mu_2(w, l) + \mu_2(l, w))\,P[w, l]` off the diagonal and
:math:`W[y, y] = \mu_2(y, y)` (:func:`population_counts`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.special import expit

from .._results import grid_frame
from .._typing import FloatArray, IntArray, RNGLike
from .._validation import (
    as_float_array,
    as_generator,
    check_int,
    check_positive,
    check_simplex,
    check_support,
)

#: tolerance on P + P^T = 1 and on the simplex rows of a policy
PREF_ATOL = 1e-10


def check_distribution(name: str, p: npt.ArrayLike, *, positive: bool = False, ndim=(1, 2)) -> FloatArray:
    """Return a policy over responses, ``(Y,)`` or ``(X, Y)``, rows on the simplex (``positive``: > 0)."""
    a = as_float_array(name, p, ndim=ndim)
    check_simplex(name, a, atol=1e-8)
    if positive:
        zero = a <= 0
        if np.any(zero):
            idx = tuple(int(i) for i in np.argwhere(zero)[0])
            raise ValueError(f"`{name}` must be strictly positive (log {name} enters the objective on every "
                             f"response); `{name}{list(idx)}` = {float(a[idx])!r}.")
        check_support("the loss", a, ref_name=name)  # masses so small that the ratio underflows
    return a


def _index_array(name: str, a: npt.ArrayLike, n: int, what: str) -> IntArray:
    """Return ``a`` as int64 after checking it is 1-d, integer, with entries in [0, n) (``what``: their name)."""
    arr = np.asarray(a)
    if arr.ndim != 1 or not (np.issubdtype(arr.dtype, np.integer) or arr.size == 0):
        raise TypeError(f"`{name}` must be a 1-d array of integers; got dtype {arr.dtype}, shape {arr.shape}.")
    bad = (arr < 0) | (arr >= n)
    if np.any(bad):
        i = int(np.argmax(bad))
        raise ValueError(f"`{name}` must hold {what} in [0, {n}); `{name}[{i}]` = {int(arr[i])}.")
    return arr.astype(np.int64)


def check_preference_matrix(P: npt.ArrayLike, name: str = "P") -> FloatArray:
    r"""Validate a preference matrix: square on the last two axes, entries in [0, 1], :math:`P + P^\top = 1`.

    Parameters
    ----------
    P : array_like, shape (Y, Y) or (X, Y, Y)
        :math:`P[y, y'] = \Pr(y \succ y')`, one matrix per context.

    Returns
    -------
    ndarray
        ``P`` as float64.

    Examples
    --------
    >>> check_preference_matrix([[0.5, 0.7], [0.3, 0.5]]).tolist()
    [[0.5, 0.7], [0.3, 0.5]]
    """
    a = as_float_array(name, P, ndim=(2, 3))
    if a.shape[-1] != a.shape[-2] or a.shape[-1] < 1:
        raise ValueError(f"`{name}` must be square on its last two axes (Y, Y); got shape {a.shape}.")
    bad = (a < 0) | (a > 1)
    if np.any(bad):
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"`{name}` must have entries in [0, 1]; `{name}{list(idx)}` = {a[idx]!r}.")
    dev = np.abs(a + np.swapaxes(a, -1, -2) - 1.0)
    if np.any(dev > PREF_ATOL):
        idx = tuple(int(i) for i in np.argwhere(dev > PREF_ATOL)[0])
        raise ValueError(
            f"`{name}` must satisfy P + P^T = 1 (atol={PREF_ATOL:g}); at {list(idx)} "
            f"P + P^T = {float(dev[idx] + 1.0):.12g}."
        )
    return a


def bradley_terry_matrix(reward: npt.ArrayLike) -> FloatArray:
    r"""Bradley-Terry preferences :math:`P[y, y'] = \sigma(r(y) - r(y'))`.

    Parameters
    ----------
    reward : array_like, shape (Y,) or (X, Y)

    Examples
    --------
    >>> bradley_terry_matrix([0.0, np.log(3.0)]).round(12).tolist()
    [[0.5, 0.25], [0.75, 0.5]]
    """
    r = as_float_array("reward", reward, ndim=(1, 2))
    return expit(r[..., :, None] - r[..., None, :])


def cyclic_preference(n_responses: int = 3, margin: float = 0.4) -> FloatArray:
    r"""Rock-paper-scissors-like intransitive preferences on ``n_responses`` (odd, >= 3).

    Response :math:`i` beats :math:`i+1, \dots, i+(n-1)/2` (mod ``n``) with probability
    :math:`1/2 + \text{margin}` and loses to the others: every response is beaten by
    another, so no reward explains :math:`P` and the uniform policy is the Nash
    equilibrium (the matrix is circulant).

    Examples
    --------
    >>> cyclic_preference(3, 0.4).round(12).tolist()
    [[0.5, 0.9, 0.1], [0.1, 0.5, 0.9], [0.9, 0.1, 0.5]]
    """
    n = check_int("n_responses", n_responses, lo=3)
    if n % 2 == 0:
        raise ValueError(f"`n_responses` must be odd (a tournament without ties); got {n}.")
    m = check_positive("margin", margin)
    if m > 0.5:
        raise ValueError(f"`margin` must be <= 0.5 (probabilities in [0, 1]); got {margin!r}.")
    P = np.full((n, n), 0.5)
    for i in range(n):
        for k in range(1, (n - 1) // 2 + 1):
            j = (i + k) % n
            P[i, j], P[j, i] = 0.5 + m, 0.5 - m
    return P


def tilted_policy(pi_ref: npt.ArrayLike, r: npt.ArrayLike, beta: float) -> FloatArray:
    r"""Return the KL-regularized optimum (DPO's population minimizer) :math:`\pi_{ref} e^{r/\beta} / Z`.

    Solves :math:`\max_\pi \mathbb E_\pi r - \beta\,\mathrm{KL}(\pi\|\pi_{ref})` per context
    (Korbak et al. 2022; Rafailov et al. 2023, Eq. 4). Under full coverage it is the unique
    minimizer of the population DPO loss with Bradley-Terry labels of ``r``. Computed by
    :func:`mdpkit.bon.tilted` on each row (log space, stable for ``beta`` from 1e-8 to 1e8).

    Parameters
    ----------
    pi_ref : array_like, shape (Y,) or (X, Y)
        Reference policy (rows on the simplex; zeros stay zero).
    r : array_like, same shape as ``pi_ref``
        Rewards.
    beta : float
        KL strength, ``beta > 0``.

    Examples
    --------
    >>> tilted_policy([0.5, 0.5], [0.0, np.log(3.0)], beta=1.0).round(12).tolist()
    [0.25, 0.75]
    """
    from mdpkit import bon

    ref = check_distribution("pi_ref", pi_ref)
    rr = as_float_array("r", r)
    if rr.shape != ref.shape:
        raise ValueError(f"`r` must have the shape of `pi_ref` {ref.shape}; got {rr.shape}.")
    b = check_positive("beta", beta)
    rows = [bon.tilted(bon.Discrete(p, q), beta=b).probs
            for p, q in zip(ref.reshape(-1, ref.shape[-1]), rr.reshape(-1, rr.shape[-1]), strict=True)]
    return np.asarray(rows, dtype=np.float64).reshape(ref.shape)


def kl_objective(pi: npt.ArrayLike, pi_ref: npt.ArrayLike, r: npt.ArrayLike, beta: float) -> float:
    r""":math:`J_\beta(\pi) = \mathbb E_\pi r - \beta\,\mathrm{KL}(\pi\|\pi_{ref})` (summed over contexts).

    Examples
    --------
    >>> round(kl_objective([0.25, 0.75], [0.5, 0.5], [0.0, np.log(3.0)], 1.0), 12)   # log 2
    0.69314718056
    """
    p = check_distribution("pi", pi)
    ref = check_distribution("pi_ref", pi_ref)
    rr = as_float_array("r", r)
    if not p.shape == ref.shape == rr.shape:
        raise ValueError(f"`pi`, `pi_ref` and `r` must have one shape; got {p.shape}, {ref.shape}, {rr.shape}.")
    b = check_positive("beta", beta)
    supp = p > 0
    if np.any(supp & (ref <= 0)):
        return -np.inf
    kl = np.sum(p[supp] * (np.log(p[supp]) - np.log(ref[supp])))
    return float(np.sum(p * rr) - b * kl)


def population_counts(P: npt.ArrayLike, mu: npt.ArrayLike, mu2: npt.ArrayLike | None = None) -> FloatArray:
    r"""Return the population pair law :math:`W[w, l] = \Pr(\text{chosen} = w, \text{rejected} = l)`.

    Pairs :math:`(y, y') \sim \mu_2` (default :math:`\mu \otimes \mu`), labelled by ``P``:
    :math:`W[w, l] = (\mu_2(w, l) + \mu_2(l, w)) P[w, l]` for :math:`w \ne l`,
    :math:`W[y, y] = \mu_2(y, y)`; ``W`` sums to 1.

    Parameters
    ----------
    P : array_like, shape (Y, Y)
    mu : array_like, shape (Y,)
        Sampling policy of each response of a pair (used when ``mu2`` is None).
    mu2 : array_like, shape (Y, Y), optional
        Joint law of the pair (e.g. online-vs-reference pairs :math:`\pi \otimes \pi_{ref}`).

    Examples
    --------
    >>> population_counts([[0.5, 0.75], [0.25, 0.5]], [0.5, 0.5]).tolist()
    [[0.25, 0.375], [0.125, 0.25]]
    """
    Pm = check_preference_matrix(P)
    if Pm.ndim != 2:
        raise ValueError(f"`P` must have shape (Y, Y) here; got {Pm.shape}.")
    Y = Pm.shape[0]
    if mu2 is None:
        m = check_distribution("mu", mu, ndim=1)
        if m.shape != (Y,):
            raise ValueError(f"`mu` must have shape ({Y},); got {m.shape}.")
        joint = np.outer(m, m)
    else:
        joint = as_float_array("mu2", mu2, shape=(Y, Y))
        check_simplex("mu2", joint.reshape(-1), atol=1e-8)
    W = (joint + joint.T) * Pm
    np.fill_diagonal(W, np.diag(joint))
    return W


@dataclass(frozen=True, slots=True, kw_only=True)
class PreferencePairs:
    r"""A preference dataset: ``chosen[i]`` was preferred to ``rejected[i]`` (context ``context[i]``).

    Attributes
    ----------
    chosen, rejected, context : ndarray of int, shape (n_pairs,)
    n_responses, n_contexts : int
    """

    chosen: IntArray
    rejected: IntArray
    context: IntArray
    n_responses: int
    n_contexts: int

    def __post_init__(self) -> None:
        Y = check_int("n_responses", self.n_responses, lo=1)
        X = check_int("n_contexts", self.n_contexts, lo=1)
        fields = {}
        for name, n, what in (("chosen", Y, "response indices (the support)"),
                              ("rejected", Y, "response indices (the support)"),
                              ("context", X, "context indices")):
            fields[name] = _index_array(name, getattr(self, name), n, what)
        sizes = {k: v.size for k, v in fields.items()}
        if len(set(sizes.values())) != 1:
            raise ValueError(f"`chosen`, `rejected` and `context` must have one length; got {sizes}.")
        for name, v in fields.items():
            object.__setattr__(self, name, v)
        object.__setattr__(self, "n_responses", Y)
        object.__setattr__(self, "n_contexts", X)

    @property
    def n_pairs(self) -> int:
        return int(self.chosen.shape[0])

    def summary(self) -> str:
        """Return one line: pairs, responses, contexts and the most often chosen response."""
        wins = np.bincount(self.chosen, minlength=self.n_responses)
        return (f"{self.n_pairs} pairs over {self.n_responses} responses and {self.n_contexts} contexts, "
                f"most chosen response {int(np.argmax(wins))} ({wins.max() / max(self.n_pairs, 1):.6g} of pairs)")

    def to_frame(self) -> Any:
        """Return one row per pair: ``pair``, ``context``, ``chosen``, ``rejected``."""
        return grid_frame({"pair": np.arange(self.n_pairs)}, context=self.context, chosen=self.chosen,
                          rejected=self.rejected)

    def counts(self, *, normalize: bool = True) -> FloatArray:
        """Pair-count matrix ``(Y, Y)`` (one context) or ``(X, Y, Y)``; frequencies if ``normalize``."""
        W = np.zeros((self.n_contexts, self.n_responses, self.n_responses))
        np.add.at(W, (self.context, self.chosen, self.rejected), 1.0)
        if normalize:
            W /= max(self.n_pairs, 1)
        return W[0] if self.n_contexts == 1 else W

    def check_support(self, pi_ref: npt.ArrayLike) -> None:
        """Raise if a response in the data has zero reference probability (its log-ratio is undefined)."""
        ref = np.asarray(pi_ref, dtype=np.float64)
        if ref.shape not in ((self.n_responses,), (self.n_contexts, self.n_responses)):
            raise ValueError(f"`pi_ref` must have shape ({self.n_responses},) or ({self.n_contexts}, "
                             f"{self.n_responses}) (the dataset's responses); got {ref.shape}.")
        ref = np.broadcast_to(ref, (self.n_contexts, self.n_responses))
        for name, y in (("chosen", self.chosen), ("rejected", self.rejected)):
            bad = ref[self.context, y] <= 0
            if np.any(bad):
                i = int(np.argmax(bad))
                raise ValueError(
                    f"dataset pair {i} has `{name}` response {int(y[i])} (context {int(self.context[i])}) "
                    "outside the support of `pi_ref` (pi_ref = 0 there)."
                )


def sample_pairs(
    P: npt.ArrayLike,
    pi: npt.ArrayLike,
    n_pairs: int,
    *,
    pi_second: npt.ArrayLike | None = None,
    context_probs: npt.ArrayLike | None = None,
    rng: RNGLike = None,
) -> PreferencePairs:
    r"""Sample labelled pairs: :math:`x \sim \rho`, :math:`y \sim \pi(\cdot|x)`, :math:`y' \sim \pi'(\cdot|x)`, label by ``P``.

    Offline data uses a behaviour policy ``pi``; online data uses the current policy
    (and, for XPO, ``pi_second = pi_ref``).

    Parameters
    ----------
    P : array_like, shape (Y, Y) or (X, Y, Y)
        Preference matrix (one per context).
    pi : array_like, shape (Y,) or (X, Y)
        Policy of the first response.
    n_pairs : int
    pi_second : array_like, optional
        Policy of the second response (default ``pi``).
    context_probs : array_like, shape (X,), optional
        Law of the contexts (default uniform).
    rng : int, Generator or SeedSequence, optional

    Examples
    --------
    >>> d = sample_pairs([[0.5, 1.0], [0.0, 0.5]], [0.5, 0.5], 1000, rng=0)
    >>> bool(np.all(d.counts()[1, 0] == 0))      # response 1 never beats response 0
    True
    """
    Pm = check_preference_matrix(P)
    X = 1 if Pm.ndim == 2 else Pm.shape[0]
    Y = Pm.shape[-1]
    Pm = Pm.reshape(X, Y, Y)
    pols = []
    for name, p in (("pi", pi), ("pi_second", pi if pi_second is None else pi_second)):
        a = check_distribution(name, p)
        if a.size != X * Y or a.shape[-1] != Y:
            raise ValueError(f"`{name}` must have shape ({Y},) or ({X}, {Y}); got {a.shape}.")
        pols.append(a.reshape(X, Y))
    n = check_int("n_pairs", n_pairs, lo=1)
    rho = np.full(X, 1.0 / X) if context_probs is None else check_distribution("context_probs", context_probs, ndim=1)
    if rho.shape != (X,):
        raise ValueError(f"`context_probs` must have shape ({X},); got {rho.shape}.")
    g = as_generator(rng)
    x = g.choice(X, size=n, p=rho)
    u = g.random((n, 3))
    c1, c2 = np.cumsum(pols[0], axis=1), np.cumsum(pols[1], axis=1)
    y1 = np.minimum((u[:, :1] * c1[x, -1:] >= c1[x]).sum(1), Y - 1)
    y2 = np.minimum((u[:, 1:2] * c2[x, -1:] >= c2[x]).sum(1), Y - 1)
    first = u[:, 2] < Pm[x, y1, y2]
    return PreferencePairs(chosen=np.where(first, y1, y2).astype(np.int64),
                           rejected=np.where(first, y2, y1).astype(np.int64),
                           context=x.astype(np.int64), n_responses=Y, n_contexts=X)
