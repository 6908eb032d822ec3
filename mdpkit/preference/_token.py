r"""Sequence-level DPO and token-level DPO (TDPO) on a token tree.

An autoregressive policy over sequences of length :math:`L` from a vocabulary of size
:math:`V` is a list of per-depth tables ``pi[t]`` of shape ``(V**t, V)``: the next-token law
after each prefix of length ``t`` in lexicographic order (the layout of
:class:`mdpkit.llm.SequenceSpace` and of the states of :func:`mdpkit.token_tree_mdp`).
Sequences are indexed in base ``V``, first token most significant.

The sequence-level losses use the score :math:`s(y) = \log \pi(y)/\pi_{ref}(y)` (DPO) or
TDPO's (Zeng et al. 2024, TDPO1):

.. math::

    s(y) = \log\frac{\pi(y)}{\pi_{ref}(y)} + D_{\mathrm{SeqKL}}(y;\pi_{ref}\|\pi), \qquad
    D_{\mathrm{SeqKL}}(y;\pi_{ref}\|\pi) = \sum_{t=1}^{L}
        \mathrm{KL}\big(\pi_{ref}(\cdot|y_{<t})\,\|\,\pi(\cdot|y_{<t})\big),

and :math:`-\log\sigma(\beta(s(y_w) - s(y_l)))`: TDPO1's margin
:math:`u - \delta` with :math:`\delta = \beta D_{\mathrm{SeqKL}}(y_l) - \beta D_{\mathrm{SeqKL}}(y_w)`.
Gradients with respect to the per-node logits follow the tree: with
:math:`G_y = \partial L/\partial s(y)` summed over the sub-tree below each node ``n``,
:math:`\partial L/\partial\theta_n = G_{(n,\cdot)} - \pi_n G_n + [\text{TDPO}]\,(\pi_n - \pi_{ref,n}) G_n`.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from .._results import ConvergenceWarning
from .._typing import FloatArray
from .._validation import as_float_array, check_choice, check_positive, check_simplex
from ._losses import LossValue, _phi
from ._minimizers import lbfgs_polished


def check_token_policy(name: str, pi: object, *, positive: bool = False) -> list[FloatArray]:
    """Validate a token policy: a sequence of arrays ``pi[t]`` of shape ``(V**t, V)``, rows on the simplex."""
    if not isinstance(pi, (list, tuple)) or len(pi) == 0:
        raise TypeError(f"`{name}` must be a non-empty list of arrays pi[t] of shape (V**t, V); "
                        f"got {type(pi).__name__}.")
    V = np.shape(pi[0])[-1] if np.ndim(pi[0]) else 0
    out = []
    for t, p in enumerate(pi):
        a = as_float_array(f"{name}[{t}]", p, shape=(V**t, V))
        check_simplex(f"{name}[{t}]", a, atol=1e-8)
        if positive and np.any(a <= 0):
            raise ValueError(f"`{name}[{t}]` must be strictly positive (the loss needs log {name}); "
                             f"min is {a.min()!r}.")
        out.append(a)
    return out


def sequence_log_probs(log_nodes: list[FloatArray]) -> FloatArray:
    """Log-probability of each of the ``V**L`` sequences from per-node log-laws (lexicographic)."""
    cum = np.zeros(1)
    for lp in log_nodes:
        cum = (cum[:, None] + lp).reshape(-1)
    return cum


def _subtree_sums(G: FloatArray, V: int, L: int) -> list[FloatArray]:
    """``out[t][n, a]`` = sum of G over sequences whose prefix of length t+1 is (n, a)."""
    return [G.reshape(V ** (t + 1), V ** (L - t - 1)).sum(1).reshape(V**t, V) for t in range(L)]


def _token_loss(theta: list[FloatArray], log_ref: list[FloatArray], W: FloatArray, beta: float,
                loss: str) -> tuple[float, list[FloatArray]]:
    V, L = theta[0].shape[-1], len(theta)
    logp = [th - np.logaddexp.reduce(th, axis=1, keepdims=True) for th in theta]
    p = [np.exp(lp) for lp in logp]
    s = sequence_log_probs(logp) - sequence_log_probs(log_ref)
    if loss == "tdpo":
        kl = [np.sum(np.exp(lr) * (lr - lp), axis=1) for lr, lp in zip(log_ref, logp, strict=True)]
        s = s + sequence_log_probs([_broadcast_kl(k, V) for k in kl])
    d = s[:, None] - s[None, :]
    val, dphi = _phi("dpo", d, beta)
    A = W * dphi
    G = A.sum(1) - A.sum(0)
    sub = _subtree_sums(G, V, L)
    grads = []
    for t in range(L):
        node = sub[t].sum(1, keepdims=True)
        g = sub[t] - p[t] * node
        if loss == "tdpo":
            g = g + (p[t] - np.exp(log_ref[t])) * node
        grads.append(g)
    return float(np.sum(W * val)), grads


def _broadcast_kl(k: FloatArray, V: int) -> FloatArray:
    """Write node KL ``k[n]`` on each of its ``V`` child edges.

    Node KL ``k[n]`` written on each of its ``V`` child edges, so that
    :func:`sequence_log_probs` sums it along a sequence into :math:`D_{SeqKL}`.
    """
    return np.repeat(k[:, None], V, axis=1)


def token_loss(
    pi: list[npt.ArrayLike], pi_ref: list[npt.ArrayLike], counts: npt.ArrayLike, beta: float, *, loss: str = "dpo"
) -> tuple[LossValue, list[FloatArray]]:
    r"""Sequence-level DPO or TDPO loss of a token policy, with the exact per-node logit gradient.

    Parameters
    ----------
    pi, pi_ref : list of array_like
        Token policies ``pi[t]`` of shape ``(V**t, V)`` for ``t = 0..L-1`` (strictly positive).
    counts : array_like, shape (V**L, V**L)
        Pair frequencies over sequences (chosen, rejected).
    beta : float
    loss : {"dpo", "tdpo"}

    Returns
    -------
    (LossValue, list of ndarray)
        The value (``LossValue.grad`` holds the gradient with respect to the sequence
        scores :math:`s(y)`) and the per-node logit gradients.

    Examples
    --------
    >>> ref = [np.full((1, 2), 0.5)]
    >>> lv, g = token_loss(ref, ref, [[0.0, 1.0], [0.0, 0.0]], beta=1.0)
    >>> round(lv.value, 12), g[0].round(12).tolist()
    (0.69314718056, [[-0.5, 0.5]])
    """
    check_choice("loss", loss, ("dpo", "tdpo"))
    p = check_token_policy("pi", pi, positive=True)
    ref = check_token_policy("pi_ref", pi_ref, positive=True)
    if len(p) != len(ref) or p[0].shape != ref[0].shape:
        raise ValueError(f"`pi` and `pi_ref` must have the same depth and vocabulary; got "
                         f"{len(p)}x{p[0].shape[-1]} and {len(ref)}x{ref[0].shape[-1]}.")
    N = p[0].shape[-1] ** len(p)
    W = as_float_array("counts", counts, shape=(N, N))
    b = check_positive("beta", beta)
    val, grads = _token_loss([np.log(a) for a in p], [np.log(a) for a in ref], W, b, loss)
    return LossValue(val, np.zeros(0)), grads


def minimize_token_loss(
    pi_ref: list[npt.ArrayLike], counts: npt.ArrayLike, beta: float, *, loss: str = "dpo",
    tol: float = 1e-10, max_iter: int = 20_000,
) -> tuple[list[FloatArray], float, bool]:
    r"""Minimize :func:`token_loss` over the token policy (L-BFGS from ``pi_ref``).

    Returns
    -------
    (pi, grad_norm, converged)
        The minimizing token policy, the max-norm of the logit gradient, and whether it is
        at most ``tol`` (a :class:`ConvergenceWarning` otherwise).

    Examples
    --------
    >>> from mdpkit.preference import bradley_terry_matrix, population_counts
    >>> ref = [np.full((1, 2), 0.5)]
    >>> W = population_counts(bradley_terry_matrix([0.0, 1.0]), [0.5, 0.5])
    >>> pi, gn, ok = minimize_token_loss(ref, W, beta=1.0)
    >>> round(float(pi[0][0, 1]), 6), ok                                  # e / (1 + e)
    (0.731059, True)
    """
    check_choice("loss", loss, ("dpo", "tdpo"))
    ref = check_token_policy("pi_ref", pi_ref, positive=True)
    V, L = ref[0].shape[-1], len(ref)
    W = as_float_array("counts", counts, shape=(V**L, V**L))
    b = check_positive("beta", beta)
    log_ref = [np.log(a) for a in ref]
    sizes = [V**t * V for t in range(L)]
    splits = np.cumsum(sizes)[:-1]

    def unpack(x):
        return [c.reshape(V**t, V) for t, c in enumerate(np.split(x, splits))]

    def fg(x):
        v, g = _token_loss(unpack(x), log_ref, W, b, loss)
        return v, np.concatenate([a.reshape(-1) for a in g])

    x0 = np.concatenate([a.reshape(-1) for a in log_ref])
    x, gn, _ = lbfgs_polished(fg, x0, tol, max_iter)
    ok = gn <= tol
    if not ok:
        warnings.warn(f"minimize_token_loss({loss!r}) stopped with gradient {gn:.3e} > tol={tol:g}.",
                      ConvergenceWarning, stacklevel=2)
    th = unpack(x)
    return [np.exp(t - np.logaddexp.reduce(t, axis=1, keepdims=True)) for t in th], gn, ok


def token_policy_to_mdp(pi: Sequence[npt.ArrayLike]) -> FloatArray:
    """Token policy as a policy ``(L, S, V)`` of :func:`mdpkit.token_tree_mdp` (uniform off-depth).

    >>> token_policy_to_mdp([np.array([[0.25, 0.75]])]).tolist()
    [[[0.25, 0.75], [0.5, 0.5], [0.5, 0.5]]]
    """
    p = check_token_policy("pi", pi)
    V, L = p[0].shape[-1], len(p)
    offsets = np.cumsum([0] + [V**h for h in range(L + 1)])
    out = np.full((L, int(offsets[-1]), V), 1.0 / V)
    for t in range(L):
        out[t, offsets[t]:offsets[t + 1]] = p[t]
    return out
