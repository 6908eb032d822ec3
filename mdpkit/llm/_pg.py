r"""The entropy mechanism on a real language model: one exact policy-gradient step.

Over the enumerable space of all :math:`V^L` continuations (:class:`SequenceSpace`), the
expected reward :math:`J = \sum_y \pi(y) R(y)` and its gradient are exact. After one
step of size :math:`\eta`, every prefix (token position) :math:`s` has new next-token
logits :math:`z_s + \Delta z_s`, and Cui et al.'s Lemma 1 predicts its entropy change,
:math:`\Delta H_s \approx -\mathrm{Cov}_{a\sim\pi_s}(\log\pi_s(a), \Delta z_s(a))`.

Two parametrizations:

* ``"logits"``: the LM's next-token logits at every prefix are the parameters (a
  tabular softmax policy on the token tree started at the LM); PG moves them by
  :math:`\eta\, d(s)\pi_s A_s` and NPG by :math:`\eta A_s`, with the exact
  :math:`Q(s, a) = \mathbb E[R \mid s a]` and prefix probability :math:`d(s)`;
* ``"weights"``: one gradient-ascent step on the network's weights (in float64); the
  logit change :math:`\Delta z_s` is whatever the network does at each prefix, and the
  identity still holds to first order.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from .._results import as_frame
from .._validation import check_choice, check_int, check_positive
from ._device import exact_matmul
from ._model import CausalLM
from ._space import SequenceSpace
from .rewards import Reward


@dataclass(frozen=True)
class LMEntropyStep:
    r"""Per-prefix entropy change of one exact policy-gradient step on a language model.

    Attributes
    ----------
    eta : float
    parametrization : str
    dH, dH_pred : tuple of ndarray
        ``dH[t]``, shape ``(V**t,)``: measured entropy change of the next-token law after
        every prefix of length ``t``, and :math:`-\mathrm{Cov}(\log\pi, \Delta z)`.
    prefix_prob : tuple of ndarray
        :math:`d(s)`, the probability of each prefix before the step.
    reward_before, reward_after : float
        Exact :math:`J` before and after the step.
    seconds : float
        Wall time of the gradient step (forward, backward, re-enumeration).
    device : str
    """

    eta: float
    parametrization: str
    dH: tuple[np.ndarray, ...]
    dH_pred: tuple[np.ndarray, ...]
    prefix_prob: tuple[np.ndarray, ...]
    reward_before: float
    reward_after: float
    seconds: float
    device: str

    def summary(self) -> str:
        """Return one line: parametrization, step size, reward before and after, residual, prefixes."""
        n = sum(np.size(h) for h in self.dH)
        return (f"{self.parametrization} step (eta = {self.eta:.6g}) on {self.device}: reward "
                f"{self.reward_before:.6g} -> {self.reward_after:.6g}, residual {self.residual():.3g} "
                f"over {n} prefixes")

    def to_frame(self) -> Any:
        """Return one row per prefix: ``length`` t, ``prefix`` index, ``prefix_prob``, ``dH``, ``dH_pred``."""
        lengths = [np.full(np.size(h), t) for t, h in enumerate(self.dH)]
        return as_frame({"length": np.concatenate(lengths),
                         "prefix": np.concatenate([np.arange(np.size(h)) for h in self.dH]),
                         **{k: np.concatenate(getattr(self, k)) for k in ("prefix_prob", "dH", "dH_pred")}})

    def residual(self) -> float:
        r"""Prefix-probability-weighted :math:`\sum_s d(s)|\Delta H_s + \mathrm{Cov}_s|`."""
        return float(sum((d * np.abs(h - p)).sum() for d, h, p in
                         zip(self.prefix_prob, self.dH, self.dH_pred, strict=True)))


def _entropy(lp: np.ndarray) -> np.ndarray:
    return -(np.exp(lp) * lp).sum(-1)


def _tree_values(node_logp: tuple[np.ndarray, ...], R: np.ndarray, V: int):
    """Q_t(s, a) = E[R | s a] and prefix probabilities d_t(s), by recursion on the tree."""
    L = len(node_logp)
    Q: list[np.ndarray] = [np.empty(0)] * L
    nxt = R.reshape(V ** (L - 1), V)
    for t in range(L - 1, -1, -1):
        Q[t] = nxt
        if t:
            nxt = (np.exp(node_logp[t]) * Q[t]).sum(-1).reshape(V ** (t - 1), V)
    d = [np.ones(1)]
    for t in range(L - 1):
        d.append((d[-1][:, None] * np.exp(node_logp[t])).reshape(-1))
    return Q, d


def _logits_step(node_logp, R, V, eta, natural):
    Q, d = _tree_values(node_logp, R, V)
    new = []
    for t, lp in enumerate(node_logp):
        pi = np.exp(lp)
        A = Q[t] - (pi * Q[t]).sum(-1, keepdims=True)
        dz = eta * A if natural else eta * d[t][:, None] * pi * A
        z = lp + dz
        new.append(z - np.logaddexp.reduce(z, axis=-1, keepdims=True))
    return new


def _weights_step(lm: CausalLM, space: SequenceSpace, R: np.ndarray, eta: float) -> SequenceSpace:
    model = copy.deepcopy(lm.model).double()
    lm64 = CausalLM(model, tokenizer=lm.tokenizer, prompt=lm.prompt, alphabet=lm.alphabet)
    toks = space.tokens
    ids = torch.cat([lm64._prompt_t.expand(toks.shape[0], -1), toks], dim=1)
    P = len(lm64.prompt)
    r = torch.as_tensor(R, dtype=torch.float64, device=lm64.device)
    with exact_matmul(), torch.enable_grad():
        model.train(False)
        logits = model(input_ids=ids, use_cache=False).logits[:, P - 1:-1, :]
        lp = torch.log_softmax(logits.index_select(-1, lm64._alphabet_t), dim=-1)
        seq_lp = lp.gather(-1, lm64.positions(toks)[..., None])[..., 0].sum(1)
        J = (torch.exp(seq_lp) * r).sum()
        params = [p for p in model.parameters() if p.requires_grad]
        grads = torch.autograd.grad(J, params)
    with torch.no_grad():
        for p, g in zip(params, grads, strict=True):
            p.add_(eta * g)
    return SequenceSpace(lm64, space.length)


def lm_entropy_step(lm: CausalLM, reward: Reward | Callable[..., Any] | np.ndarray, length: int, eta: float, *,
                    parametrization: str = "weights", natural: bool = False) -> LMEntropyStep:
    r"""One exact policy-gradient step on a language model and its per-token entropy change.

    Parameters
    ----------
    lm : CausalLM
    reward : callable or ndarray, shape (V**length,)
        A reward of :mod:`mdpkit.llm.rewards` or the rewards of every sequence.
    length : int
        Sequence length :math:`L` (the space has :math:`V^L` sequences).
    eta : float
        Step size :math:`\eta > 0`.
    parametrization : {"weights", "logits"}
        See the module docstring.
    natural : bool
        Natural PG (``"logits"`` only).

    Examples
    --------
    >>> from mdpkit import llm
    >>> lm = llm.build_tiny_lm("llama", vocab_size=5, rng=0, device="cpu")
    >>> st = lm_entropy_step(lm, np.arange(16.0), 2, 1e-3, parametrization="logits")
    >>> bool(st.residual() < 1e-5), bool(st.reward_after > st.reward_before)
    (True, True)
    """
    if not isinstance(lm, CausalLM):
        raise TypeError(f"`lm` must be a mdpkit.llm.CausalLM; got {type(lm).__name__}.")
    L = check_int("length", length, lo=1)
    eta = check_positive("eta", eta)
    parametrization = check_choice("parametrization", parametrization, ("weights", "logits"))
    if natural and parametrization == "weights":
        raise ValueError("`natural=True` needs parametrization='logits' (the network's Fisher "
                         "matrix is not formed).")
    space = SequenceSpace(lm, L)
    R = reward if isinstance(reward, np.ndarray) else space.rewards(reward)
    R = np.asarray(R, dtype=np.float64)
    if R.shape != (space.size,) or not np.all(np.isfinite(R)):
        raise ValueError(f"`reward` must give finite values of shape ({space.size},); got {R.shape}.")
    t0 = time.perf_counter()
    if parametrization == "logits":
        new = _logits_step(space.node_logp, R, space.vocab_size, eta, bool(natural))
    else:
        new = list(_weights_step(lm, space, R, eta).node_logp)
    dt = time.perf_counter() - t0
    _, d = _tree_values(space.node_logp, R, space.vocab_size)
    dH, pred = [], []
    for lp0, lp1 in zip(space.node_logp, new, strict=True):
        pi, dz = np.exp(lp0), lp1 - lp0
        pred.append(-((pi * lp0 * dz).sum(-1) - (pi * lp0).sum(-1) * (pi * dz).sum(-1)))
        dH.append(_entropy(lp1) - _entropy(lp0))
    cum = np.zeros(1)
    for lp1 in new:
        cum = (cum[:, None] + lp1).reshape(-1)
    return LMEntropyStep(eta=eta, parametrization=parametrization, dH=tuple(dH), dH_pred=tuple(pred),
                         prefix_prob=tuple(d), reward_before=float(np.exp(space.logp) @ R),
                         reward_after=float(np.exp(cum) @ R), seconds=dt, device=str(lm.device))
