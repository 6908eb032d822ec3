"""Rewards on token sequences for the LLM bridge.

A reward is any callable ``reward(tokens) -> values`` taking a ``torch.LongTensor`` of
token ids with shape ``(B, L)`` (on the model's device) and returning ``B`` finite
numbers (a tensor, array or list). The factories below return :class:`Reward` objects
that are bound to a model first (to resolve token strings through its tokenizer or to
score with it); :func:`evaluate_reward` accepts both kinds and checks every output.

>>> from mdpkit.llm import build_tiny_lm
>>> lm = build_tiny_lm("llama", rng=0, vocab_size=5, device="cpu")
>>> evaluate_reward(keyword(1), lm, torch.tensor([[1, 1, 0], [2, 3, 0]])).tolist()
[2.0, 0.0]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from .._validation import check_int

RewardFn = Callable[[torch.Tensor], Any]


@dataclass(frozen=True)
class Reward:
    """A named reward that needs the model to be evaluated (see :meth:`bind`)."""

    name: str
    _bind: Callable[[Any], RewardFn]

    def bind(self, lm: Any) -> RewardFn:
        """Return the plain token-level callable for ``lm``."""
        return self._bind(lm)

    def __repr__(self) -> str:
        """Return ``Reward(name)``."""
        return f"Reward({self.name})"


def _token_id(lm: Any, token: str | int) -> int:
    if isinstance(token, str):
        if lm.tokenizer is None:
            raise ValueError(f"token {token!r} given as a string needs a model with a tokenizer.")
        i = lm.tokenizer.convert_tokens_to_ids(token)
        if i is None or i not in lm.alphabet:
            raise ValueError(f"token {token!r} is not in the model's alphabet {lm.symbols}.")
        return int(i)
    i = check_int("token", token, lo=0)
    if i not in lm.alphabet:
        raise ValueError(f"token id {i} is not in the model's alphabet {lm.alphabet}.")
    return i


def keyword(token: str | int) -> Reward:
    r"""Return the reward counting the occurrences of one token, :math:`r(y) = \sum_t 1[y_t = k]`.

    Integer valued, hence many ties: the regime where the best-of-N KL is strictly
    below :math:`\log N - (N-1)/N` (Beirami et al., 2024).

    Parameters
    ----------
    token : str or int
        A token string of the alphabet (e.g. ``"e"`` for the ``coarse8`` model) or an id.
    """

    def bind(lm: Any) -> RewardFn:
        k = _token_id(lm, token)
        return lambda tokens: (tokens == k).sum(dim=1).double()

    return Reward(f"keyword({token!r})", bind)


def token_values(values: Sequence[float]) -> Reward:
    r"""Additive reward :math:`r(y) = \sum_t w[y_t]`, ``w`` given in alphabet order.

    The linear reward of Yang et al. (2024), "Asymptotics of language model alignment".
    """
    w = np.asarray(values, dtype=np.float64)
    if w.ndim != 1 or not np.all(np.isfinite(w)):
        raise ValueError(f"`values` must be a finite 1-d sequence; got {values!r}.")

    def bind(lm: Any) -> RewardFn:
        if w.size != lm.vocab_size:
            raise ValueError(f"`values` must have one entry per alphabet token ({lm.vocab_size}); "
                             f"got {w.size}.")
        table = torch.zeros(lm.model_vocab_size, dtype=torch.float64, device=lm.device)
        table[list(lm.alphabet)] = torch.from_numpy(w).to(lm.device)
        return lambda tokens: table[tokens].sum(dim=1)

    return Reward(f"token_values({w.tolist()})", bind)


def loglik() -> Reward:
    r"""Return the model's own log-likelihood as a reward, :math:`r(y) = \log \pi_{\mathrm{ref}}(y)`.

    The reward used in the language-model experiments of Beirami et al. (2024);
    almost surely distinct across sequences.
    """

    def bind(lm: Any) -> RewardFn:
        return lambda tokens: lm.logprob(tokens)

    return Reward("loglik()", bind)


_MASK = np.uint64(0xFFFFFFFFFFFFFFFF)


def _splitmix64(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        z = x + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def distinct(seed: int = 0) -> Reward:
    r"""Return a fixed pseudo-random reward in ``[0, 1)``, distinct for distinct sequences.

    :math:`r(y)` is a 53-bit hash of the token ids (splitmix64), so there are no ties:
    the atomless regime where :math:`\mathrm{KL}(\pi_N \| \pi_{\mathrm{ref}})`
    approaches :math:`\log N - (N-1)/N` once no sequence carries much mass.
    """
    seed = check_int("seed", seed, lo=0)

    def bind(lm: Any) -> RewardFn:
        def fn(tokens: torch.Tensor) -> np.ndarray:
            t = tokens.cpu().numpy().astype(np.uint64)
            h = np.full(t.shape[0], np.uint64(seed), dtype=np.uint64)
            for j in range(t.shape[1]):
                h = _splitmix64(h ^ t[:, j])
            return (h >> np.uint64(11)).astype(np.float64) * 2.0**-53

        return fn

    return Reward(f"distinct(seed={seed})", bind)


def text(fn: Callable[[list[str]], Sequence[float]], name: str = "text") -> Reward:
    """Return a text-level reward ``fn(list_of_strings) -> list_of_floats`` (decoded sequences).

    The signature of TRL's former ``BestOfNSampler`` scorer; the sequences are decoded
    with the model's tokenizer (``batch_decode``).
    """
    if not callable(fn):
        raise TypeError(f"`fn` must be callable; got {type(fn).__name__}.")

    def bind(lm: Any) -> RewardFn:
        if lm.tokenizer is None:
            raise ValueError("a text reward needs a model with a tokenizer.")
        return lambda tokens: fn(lm.decode(tokens))

    return Reward(name, bind)


def parse(spec: str) -> Reward:
    """Parse a reward from a command-line spec.

    Specs: ``keyword:e``, ``loglik``, ``distinct:0``,
    ``values:0,1,0,2,...``.

    >>> parse("keyword:e")
    Reward(keyword('e'))
    """
    kind, _, arg = spec.partition(":")
    if kind == "keyword" and arg:
        return keyword(int(arg) if arg.isdigit() else arg)
    if kind == "loglik" and not arg:
        return loglik()
    if kind == "distinct":
        return distinct(int(arg) if arg else 0)
    if kind == "values" and arg:
        return token_values([float(x) for x in arg.split(",")])
    raise ValueError("`reward` spec must be 'keyword:TOKEN', 'loglik', 'distinct[:SEED]' or "
                     f"'values:w1,w2,...'; got {spec!r}.")


def as_reward_fn(reward: Any, lm: Any) -> RewardFn:
    """Bind a :class:`Reward` to ``lm``, or check that ``reward`` is callable."""
    if isinstance(reward, Reward):
        return reward.bind(lm)
    if not callable(reward):
        raise TypeError(f"`reward` must be callable on a (B, L) tensor of token ids or a "
                        f"mdpkit.llm.rewards.Reward; got {type(reward).__name__}.")
    return reward


def evaluate_reward(reward: Any, lm: Any, tokens: torch.Tensor, *,
                    batch_size: int | None = None) -> np.ndarray:
    """Evaluate ``reward`` on ``tokens`` (shape ``(B, L)``) in batches, checking outputs.

    Returns
    -------
    ndarray, shape (B,)
        float64 rewards.

    Raises
    ------
    ValueError
        If the reward returns the wrong number of values or a non-finite value (the
        message shows the offending sequence).
    """
    fn = as_reward_fn(reward, lm)
    B = tokens.shape[0]
    bs = batch_size or max(lm.batch_size(tokens.shape[1]), 1)
    out = np.empty(B, dtype=np.float64)
    for i in range(0, B, bs):
        chunk = tokens[i:i + bs]
        val = fn(chunk)
        if isinstance(val, torch.Tensor):
            val = val.detach().to("cpu", torch.float64).numpy()
        try:
            arr = np.asarray(val, dtype=np.float64)
        except (TypeError, ValueError) as e:
            raise ValueError(f"`reward` must return numbers; got {type(val).__name__}: {e}") from None
        if arr.shape != (chunk.shape[0],):
            raise ValueError(f"`reward` must return one value per sequence, shape "
                             f"({chunk.shape[0]},) for a batch of shape {tuple(chunk.shape)}; "
                             f"got shape {arr.shape}.")
        bad = ~np.isfinite(arr)
        if bad.any():
            j = int(np.argmax(bad))
            seq = chunk[j].tolist()
            raise ValueError(f"`reward` returned {float(arr[j])!r} for sequence {seq}; rewards must be "
                             "finite.")
        out[i:i + chunk.shape[0]] = arr
    return out
