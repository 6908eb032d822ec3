"""A real small LM trained in seconds on text that ships with Python.

Corpus: CPython's ``pydoc_data.topics`` (the help texts behind ``help("if")``, about
465k characters), present in every CPython install. Vocabulary ``"coarse8"``: each
character is mapped, case-insensitively, to one of 8 classes named by a representative
symbol, so that ``V**L`` stays small enough for exact enumeration:

=========  ===================================
symbol     characters
=========  ===================================
``" "``    whitespace
``"e"``    e
``"a"``    other vowels a, i, o, u, y
``"n"``    liquids and nasals n, m, l, r
``"s"``    sibilants s, z, c, x
``"t"``    stops t, d, p, b, k, g, q
``"f"``    other consonants f, v, w, h, j
``"."``    everything else (digits, punctuation)
=========  ===================================

The tokenizer is a real ``tokenizers`` object (normalizer + per-character split +
word-level vocabulary + ``<bos>``) wrapped as a ``PreTrainedTokenizerFast``, so it saves
and reloads with ``AutoTokenizer``.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch

from .._validation import as_generator, check_choice, check_int, check_positive
from ._device import pick_device, seed_of
from ._model import CausalLM, build_tiny_lm

COARSE8 = (" ", "e", "a", "n", "s", "t", "f", ".")
_CLASSES = {"a": "aiouy", "n": "nmlr", "s": "szcx", "t": "tdpbkgq", "f": "fvwhj"}
BOS_TOKEN = "<bos>"
_CORPORA = ("pydoc",)
_VOCABS = ("coarse8",)


def coarse8_tokenizer() -> Any:
    """Return the saveable character-class tokenizer of the ``"coarse8"`` vocabulary.

    Token ids ``0..7`` are :data:`COARSE8`, id 8 is ``<bos>``.

    Examples
    --------
    >>> tok = coarse8_tokenizer()
    >>> tok("Hi 2")["input_ids"]
    [6, 2, 0, 7]
    >>> tok.decode([6, 1, 3, 3, 2])
    'fenna'
    """
    from tokenizers import (
        Regex,
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
    )
    from transformers import PreTrainedTokenizerFast

    vocab = {s: i for i, s in enumerate(COARSE8)}
    vocab[BOS_TOKEN] = len(COARSE8)
    tok = Tokenizer(models.WordLevel(vocab, unk_token="."))
    steps = [normalizers.Lowercase(), normalizers.Replace(Regex(r"\s"), " ")]
    steps += [normalizers.Replace(Regex(f"[{chars}]"), sym) for sym, chars in _CLASSES.items()]
    steps.append(normalizers.Replace(Regex(r"[^ eanstf]"), "."))
    tok.normalizer = normalizers.Sequence(steps)
    tok.pre_tokenizer = pre_tokenizers.Split(Regex("."), behavior="isolated")
    tok.decoder = decoders.Fuse()
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token=BOS_TOKEN)


def coarse8_ids(text: str) -> np.ndarray:
    """Token ids of ``text`` under the ``"coarse8"`` map (fast NumPy path, no BOS).

    Gives the same ids as :func:`coarse8_tokenizer` (tested), 100x faster.

    >>> coarse8_ids("Hi 2").tolist()
    [6, 2, 0, 7]
    """
    table = np.full(0x110000, 7, dtype=np.int8)
    for ch in " \t\n\r\v\f\x1c\x1d\x1e\x1f\x85\xa0\u2028\u2029":
        table[ord(ch)] = 0
    table[[ord("e"), ord("E")]] = 1
    for sym, chars in _CLASSES.items():
        k = COARSE8.index(sym)
        for c in chars:
            table[[ord(c), ord(c.upper())]] = k
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    return table[codes].astype(np.int64)


def pydoc_corpus() -> str:
    """Return the concatenated ``pydoc_data.topics`` help texts (sorted by topic)."""
    from pydoc_data.topics import topics

    return "\n".join(topics[k] for k in sorted(topics))


def train_tiny_lm(corpus: str = "pydoc", vocab: str = "coarse8", *, steps: int = 400,
                  arch: str = "llama", hidden_size: int = 32, n_layers: int = 2,
                  n_heads: int = 2, context: int = 16, batch_size: int = 64, lr: float = 3e-3,
                  rng: Any = None, device: str | torch.device | None = "auto",
                  verbose: bool = False) -> CausalLM:
    """Train a tiny causal LM on CPython's help texts; seconds on a CPU.

    Each training row is ``<bos>`` followed by a window of ``context`` characters
    starting at a uniformly random corpus position, so the trained model's law after
    ``<bos>`` is the law of text windows. Training minimises the next-token
    cross-entropy with AdamW (cosine-decayed learning rate).

    Parameters
    ----------
    corpus : {"pydoc"}
        CPython's ``pydoc_data.topics``.
    vocab : {"coarse8"}
        The 8-class character vocabulary (module docstring).
    steps : int
        Optimiser steps (400 takes about 5 s on 2 CPU cores).
    arch : {"llama", "gpt2"}
        Model family (:func:`build_tiny_lm`).
    hidden_size, n_layers, n_heads : int
        Model size (the default Llama has about 26k parameters).
    context, batch_size : int
        Window length and windows per step.
    lr : float
        Peak learning rate.
    rng : int, numpy Generator, SeedSequence or None
        Seed of the initialisation and of the window positions (``None``: a fresh seed).
    device : str or torch.device
        ``"auto"``: CUDA when available.
    verbose : bool
        Print the loss every 100 steps.

    Returns
    -------
    CausalLM
        With the ``coarse8`` tokenizer, prompt ``(<bos>,)`` and alphabet ids ``0..7``;
        ``lm.train_info`` holds the final loss, the unigram entropy of the corpus (the
        loss a context-free model would reach) and the training time.

    Examples
    --------
    >>> lm = train_tiny_lm(steps=3, hidden_size=8, n_heads=1, rng=0, device="cpu")
    >>> lm.symbols
    [' ', 'e', 'a', 'n', 's', 't', 'f', '.']
    >>> lm.train_info["corpus_chars"] > 400_000
    True
    """
    check_choice("corpus", corpus, _CORPORA)
    check_choice("vocab", vocab, _VOCABS)
    steps = check_int("steps", steps, lo=1)
    context = check_int("context", context, lo=1)
    batch_size = check_int("batch_size", batch_size, lo=1)
    lr = check_positive("lr", lr)
    seed = seed_of(rng)
    dev = pick_device(device)
    ids = coarse8_ids(pydoc_corpus())
    counts = np.bincount(ids, minlength=len(COARSE8))
    freq = counts / counts.sum()
    unigram_entropy = float(-(freq[freq > 0] * np.log(freq[freq > 0])).sum())
    tok = coarse8_tokenizer()
    lm = build_tiny_lm(arch, vocab_size=len(COARSE8) + 1, hidden_size=hidden_size,
                       n_layers=n_layers, n_heads=n_heads, max_len=max(context + 1, 32),
                       rng=seed, device=dev, tokenizer=tok)
    t0 = time.perf_counter()
    loss = _train(lm.model, ids, steps=steps, context=context, batch_size=batch_size, lr=lr,
                  gen=as_generator(seed), verbose=verbose)
    lm.train_info = {"loss": loss, "unigram_entropy": unigram_entropy,
                     "steps": steps, "seconds": time.perf_counter() - t0,
                     "corpus_chars": int(ids.size), "params": lm.n_params}
    return lm


def _train(model: Any, ids: np.ndarray, *, steps: int, context: int, batch_size: int, lr: float,
           gen: np.random.Generator, verbose: bool) -> float:
    """Train the tiny model with AdamW; return the mean loss of the last 20 steps.

    AdamW with a cosine schedule on ``<bos>`` + random ``context``-character windows of
    ``ids``; leaves the model in eval mode and returns the mean loss of the last 20 steps.
    """
    dev = next(model.parameters()).device
    data = torch.from_numpy(ids).to(dev)
    bos = torch.full((batch_size, 1), len(COARSE8), dtype=torch.long, device=dev)
    offs = torch.arange(context, device=dev)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: 0.1 + 0.9 * 0.5 * (1 + np.cos(np.pi * min(s, steps) / steps)))
    model.train()
    recent: list[float] = []
    for step in range(steps):
        starts = torch.from_numpy(gen.integers(0, ids.size - context, batch_size)).to(dev)
        x = torch.cat([bos, data[starts[:, None] + offs]], dim=1)
        loss_t = model(input_ids=x, labels=x, use_cache=False).loss
        opt.zero_grad(set_to_none=True)
        loss_t.backward()
        opt.step()
        sched.step()
        if step >= steps - 20:
            recent.append(float(loss_t.detach()))
        if verbose and (step + 1) % 100 == 0:
            print(f"step {step + 1}: loss {float(loss_t):.4f}", flush=True)
    model.eval()
    return float(np.mean(recent))
