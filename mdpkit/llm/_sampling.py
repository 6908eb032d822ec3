"""Unbiased samplers: ancestral (KV-cached), best-of-N, worst-of-N and exactly tilted.

The bridge's own sampler draws every token from the full softmax over the alphabet
(no top-k, no top-p, temperature 1) with ``torch.multinomial`` and a seeded
``torch.Generator`` on the model's device, batched with a KV cache. The Hugging Face
``generate`` path (:func:`generate_samples`) passes ``top_k=0, top_p=1.0,
temperature=1.0``: transformers applies ``top_k=50`` by default even with
``do_sample=True``, which would silently truncate the law.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from transformers import LogitsProcessor, LogitsProcessorList

from .._results import grid_frame
from .._validation import check_choice, check_int
from ._device import seed_of, torch_generator
from ._model import CausalLM
from .rewards import evaluate_reward

_TIES = ("first", "random")


class AlphabetLogitsProcessor(LogitsProcessor):
    """Set every logit outside the alphabet to ``-inf`` (per-step renormalisation)."""

    def __init__(self, lm: CausalLM) -> None:
        mask = torch.ones(lm.model_vocab_size, dtype=torch.bool, device=lm.device)
        mask[list(lm.alphabet)] = False
        self._mask = mask

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        return scores.masked_fill(self._mask.to(scores.device), -torch.inf)


class SoftQLogitsProcessor(LogitsProcessor):
    r"""Token-level exact tilt: adds :math:`(Q^* - V^*)/\beta` to the model's logits.

    At step :math:`t` after prefix :math:`y_{<t}` the alphabet logits become
    :math:`\ell(a) + \log \pi^*(a \mid y_{<t}) - \log \pi_{\mathrm{ref}}(a \mid y_{<t})`,
    so the softmax is exactly :math:`\pi^*(a \mid y_{<t})` and the sequence law is the
    tilted law :math:`\pi_{\mathrm{ref}}(y) e^{r(y)/\beta}/Z`. The model stays in the
    loop: only the exact correction, bounded by :math:`\log(1/\pi_{\mathrm{ref}})`, comes
    from the table. Works with :func:`sample` and with ``model.generate``.

    Parameters
    ----------
    space : SequenceSpace
    soft_q : SoftQ
        From :meth:`SequenceSpace.soft_q`.
    """

    def __init__(self, space: Any, soft_q: Any) -> None:
        lm = space.lm
        self.lm = lm
        self.length = space.length
        self.beta = soft_q.beta
        self._prompt_len = len(lm.prompt)
        self._tables = [torch.from_numpy(t).to(lm.device, torch.float32)
                        for t in soft_q.log_ratio]
        mask = torch.ones(lm.model_vocab_size, dtype=torch.bool, device=lm.device)
        mask[list(lm.alphabet)] = False
        self._mask = mask

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        gen = input_ids[:, self._prompt_len:]
        t = gen.shape[1]
        if t >= self.length:
            raise ValueError(f"SoftQLogitsProcessor was built for length {self.length}; asked "
                             f"for token {t + 1}.")
        V = self.lm.vocab_size
        idx = torch.zeros(gen.shape[0], dtype=torch.long, device=gen.device)
        for k in range(t):
            idx = idx * V + self.lm.positions(gen[:, k])
        out = scores.masked_fill(self._mask, -torch.inf)
        alpha = self.lm._alphabet_t
        out[:, alpha] = scores[:, alpha] + self._tables[t][idx].to(scores.dtype)
        return out


def _check_processor(p: Any) -> Any:
    if p is not None and not callable(p):
        raise TypeError(f"`logits_processor` must be callable (input_ids, scores) -> scores; got "
                        f"{type(p).__name__}.")
    return p


@torch.inference_mode()
def sample(lm: CausalLM, n: int, length: int, *, rng: Any = None,
           logits_processor: Any = None, batch_size: int | None = None) -> torch.Tensor:
    r"""Draw ``n`` i.i.d. sequences of ``length`` tokens by ancestral sampling.

    Each token is drawn from the full softmax over the alphabet,
    :math:`y_t \sim \pi_{\mathrm{ref}}(\cdot \mid x, y_{<t})` (no truncation, temperature
    1), using the model's KV cache and a ``torch.Generator`` on the model's device.

    Parameters
    ----------
    lm : CausalLM
    n, length : int
        Number of sequences and their length.
    rng : int, numpy Generator, torch.Generator or None
        Seed; the same seed gives the same sequences on the same device.
    logits_processor : callable, optional
        ``(input_ids, scores) -> scores`` applied to the full-vocabulary logits at each
        step (e.g. :class:`SoftQLogitsProcessor`); ``input_ids`` include the prompt.
    batch_size : int, optional
        Sequences per batch (default: fills the device).

    Returns
    -------
    torch.LongTensor, shape (n, length)
        Token ids, on the model's device.

    Notes
    -----
    The softmax is taken in float32 on the device, so the sampled law differs from
    the float64 law of :class:`SequenceSpace` by float32 rounding (relative ``~1e-7``),
    far below any Monte-Carlo error; nothing is truncated or clipped.

    Examples
    --------
    >>> from mdpkit.llm import build_tiny_lm
    >>> lm = build_tiny_lm("llama", rng=0, vocab_size=5, device="cpu")
    >>> a = sample(lm, 4, 3, rng=0)
    >>> bool(a.equal(sample(lm, 4, 3, rng=0))), tuple(a.shape)
    (True, (4, 3))
    """
    n = check_int("n", n, lo=0)
    length = check_int("length", length, lo=1)
    _check_processor(logits_processor)
    gen = torch_generator(rng, lm.device)
    bs = batch_size or lm.batch_size(length)
    out = torch.empty((n, length), dtype=torch.long, device=lm.device)
    alpha = lm._alphabet_t
    for start in range(0, n, bs):
        b = min(bs, n - start)
        ids = lm._prompt_t.expand(b, -1)
        res = lm.model(input_ids=ids, use_cache=True)
        toks = out[start:start + b]
        for t in range(length):
            logits = res.logits[:, -1, :]
            if logits_processor is not None:
                full = torch.cat([ids, toks[:, :t]], dim=1) if t else ids
                logits = logits_processor(full, logits.float())
            probs = torch.softmax(logits.index_select(-1, alpha).float(), dim=-1)
            toks[:, t] = alpha[torch.multinomial(probs, 1, generator=gen)[:, 0]]
            if t + 1 < length:
                # transformers >= 5.25: the cache travels as `cache` (`past_key_values` is
                # deprecated and removed in 5.40)
                res = lm.model(input_ids=toks[:, t:t + 1], cache=res.cache, use_cache=True)
        del res
    return out


def generate_samples(lm: CausalLM, n: int, length: int, *, rng: Any = None,
                     logits_processor: Any = None, batch_size: int | None = None) -> torch.Tensor:
    """Draw ``n`` sequences with Hugging Face ``generate``, untruncated.

    Calls ``generate(do_sample=True, top_k=0, top_p=1.0, temperature=1.0,
    min_new_tokens=max_new_tokens=length, eos_token_id=None)`` with an
    :class:`AlphabetLogitsProcessor` (plus ``logits_processor`` if given) and an
    attention mask. ``generate`` draws from the global torch RNG, so it runs inside
    ``torch.random.fork_rng`` seeded from ``rng``: the caller's RNG state is untouched.

    Returns
    -------
    torch.LongTensor, shape (n, length)
        Token ids, on the model's device.
    """
    n = check_int("n", n, lo=0)
    length = check_int("length", length, lo=1)
    _check_processor(logits_processor)
    seed = seed_of(rng)
    procs = LogitsProcessorList([AlphabetLogitsProcessor(lm)])
    if logits_processor is not None:
        procs.append(logits_processor)
    bs = batch_size or lm.batch_size(length)
    out = torch.empty((n, length), dtype=torch.long, device=lm.device)
    P = len(lm.prompt)
    devices = [lm.device.index or 0] if lm.device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices), torch.inference_mode():
        torch.manual_seed(seed)
        for start in range(0, n, bs):
            b = min(bs, n - start)
            ids = lm._prompt_t.expand(b, -1).contiguous()
            res = lm.model.generate(
                input_ids=ids, attention_mask=torch.ones_like(ids), do_sample=True, top_k=0,
                top_p=1.0, temperature=1.0, max_new_tokens=length, min_new_tokens=length,
                eos_token_id=None, pad_token_id=lm.prompt[0], logits_processor=procs,
            )
            out[start:start + b] = res[:, P:]
    return out


@dataclass(frozen=True)
class BestOfNPool:
    """``n_samples`` rows of ``n_max`` i.i.d. reference draws with their rewards.

    Best-of-N for any ``N <= n_max`` picks within the first ``N`` columns of each row,
    so one pool serves every ``N`` (the estimates for different ``N`` are then
    correlated; each is unbiased).

    Attributes
    ----------
    lm : CausalLM
    tokens : torch.LongTensor, shape (n_samples, n_max, L)
    rewards : ndarray, shape (n_samples, n_max)
    """

    lm: CausalLM
    tokens: torch.Tensor
    rewards: np.ndarray

    def summary(self) -> str:
        """Return one line: pool size, mean reward and the mean best-of-``n_max`` reward."""
        n_samples, n_max = self.rewards.shape
        return (f"{n_samples} x {n_max} reference draws, mean reward {np.mean(self.rewards):.6g}, "
                f"best-of-{n_max} mean {np.mean(np.max(self.rewards, axis=1)):.6g}")

    def to_frame(self) -> Any:
        """Return one row per draw: ``sample`` (row), ``draw`` (column) and ``reward``."""
        n_samples, n_max = self.rewards.shape
        return grid_frame({"sample": np.arange(n_samples), "draw": np.arange(n_max)}, reward=self.rewards)

    @property
    def n_max(self) -> int:
        return int(self.rewards.shape[1])

    def select(self, n: int, *, worst: bool = False, ties: str = "random",
               rng: Any = None) -> tuple[torch.Tensor, np.ndarray]:
        r"""Best (or worst) of the first ``n`` draws of each row.

        Ties follow :mod:`mdpkit.bon`: ``"random"`` picks uniformly among the tied
        draws (the law splits a reward level in proportion to
        :math:`\pi_{\mathrm{ref}}`); ``"first"`` picks the tied sequence that comes
        first in the lexicographic order of alphabet positions (the lowest atom index
        of :class:`SequenceSpace`).

        Returns
        -------
        tokens : torch.LongTensor, shape (n_samples, L)
        rewards : ndarray, shape (n_samples,)
        """
        n = check_int("n", n, lo=1, hi=self.n_max)
        check_choice("ties", ties, _TIES)
        r = self.rewards[:, :n]
        target = r.min(axis=1) if worst else r.max(axis=1)
        hit = r == target[:, None]
        if ties == "first":
            pos = self.lm.positions(self.tokens[:, :n]).cpu().numpy()
            for t in range(pos.shape[2]):   # keep the lexicographically smallest
                p_t = np.where(hit, pos[:, :, t], np.iinfo(np.int64).max)
                hit &= p_t == p_t.min(axis=1, keepdims=True)
            col = hit.argmax(axis=1)
        else:
            keys = np.where(hit, np.random.default_rng(seed_of(rng)).random(hit.shape), -1.0)
            col = keys.argmax(axis=1)
        rows = np.arange(r.shape[0])
        col_t = torch.from_numpy(col).to(self.tokens.device)
        rows_t = torch.from_numpy(rows).to(self.tokens.device)
        return self.tokens[rows_t, col_t], r[rows, col]


def best_of_n_pool(lm: CausalLM, reward: Any, n_max: int, n_samples: int, length: int, *,
                   rng: Any = None, batch_size: int | None = None) -> BestOfNPool:
    """Draw a :class:`BestOfNPool` of ``n_samples x n_max`` sequences and score them."""
    n_max = check_int("n_max", n_max, lo=1)
    n_samples = check_int("n_samples", n_samples, lo=1)
    toks = sample(lm, n_samples * n_max, length, rng=rng, batch_size=batch_size)
    r = evaluate_reward(reward, lm, toks)
    return BestOfNPool(lm, toks.reshape(n_samples, n_max, length), r.reshape(n_samples, n_max))


def best_of_n_sample(lm: CausalLM, reward: Any, n: int, n_samples: int, length: int, *,
                     ties: str = "random", rng: Any = None,
                     batch_size: int | None = None) -> tuple[torch.Tensor, np.ndarray]:
    r"""Best-of-N sampling: for each output, draw ``n`` sequences and keep the best.

    The output law is :math:`\pi_N(y) = \pi_{\mathrm{ref}}(y)\,
    [F(r(y))^N - F^-(r(y))^N] / \pi_{\mathrm{ref}}(r = r(y))` with :math:`F`
    (:math:`F^-`) the (strict) CDF of the reward under the model (Beirami et al., 2024).

    Returns
    -------
    tokens : torch.LongTensor, shape (n_samples, length)
    rewards : ndarray, shape (n_samples,)

    Examples
    --------
    >>> from mdpkit.llm import build_tiny_lm, rewards
    >>> lm = build_tiny_lm("llama", rng=0, vocab_size=5, device="cpu")
    >>> toks, r = best_of_n_sample(lm, rewards.keyword(0), 4, 100, 3, rng=0)
    >>> tuple(toks.shape), r.shape
    ((100, 3), (100,))
    """
    ties = check_choice("ties", ties, _TIES)
    g = torch_generator(rng, lm.device)
    pool = best_of_n_pool(lm, reward, n, n_samples, length, rng=g, batch_size=batch_size)
    return pool.select(n, ties=ties, rng=g)


def worst_of_n_sample(lm: CausalLM, reward: Any, n: int, n_samples: int, length: int, *,
                      ties: str = "random", rng: Any = None,
                      batch_size: int | None = None) -> tuple[torch.Tensor, np.ndarray]:
    """Worst-of-N sampling: keep the lowest-reward of ``n`` draws (see best_of_n_sample)."""
    ties = check_choice("ties", ties, _TIES)
    g = torch_generator(rng, lm.device)
    pool = best_of_n_pool(lm, reward, n, n_samples, length, rng=g, batch_size=batch_size)
    return pool.select(n, worst=True, ties=ties, rng=g)
