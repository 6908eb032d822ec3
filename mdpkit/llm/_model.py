r"""The :class:`CausalLM` wrapper, local loading and tiny models built from a config.

A :class:`CausalLM` is a Hugging Face causal language model seen as a law over
sequences: every sequence starts after a fixed ``prompt`` (the BOS token by default)
and each generated position is drawn from the model's next-token softmax restricted to
an ``alphabet`` of token ids (renormalized at every step, exactly as
``generate(suppress_tokens=...)`` does). The enumeration, the samplers and the scorer
all use this one definition, so exact and Monte-Carlo values refer to the same law

.. math::

    \pi_{\mathrm{ref}}(y_{1:L}) = \prod_{t=1}^{L}
    \frac{\exp \ell_\theta(y_t \mid x, y_{<t})}
         {\sum_{a \in \mathcal A} \exp \ell_\theta(a \mid x, y_{<t})},

with logits :math:`\ell_\theta`, prompt :math:`x` and alphabet :math:`\mathcal A`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .._validation import check_int
from ._device import as_dtype, default_batch_size, exact_matmul, pick_device, seed_of

META_FILE = "mdpkit_llm.json"


@contextmanager
def _quiet_progress():
    """Hide transformers' weight-loading/saving progress bars (restored afterwards)."""
    from transformers.utils import logging as hf_logging

    was = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was:
            hf_logging.enable_progress_bar()


def _dtype_kwarg(dt: torch.dtype) -> dict[str, torch.dtype]:
    """``from_pretrained`` takes ``dtype=`` from transformers 4.56, ``torch_dtype=`` before."""
    import transformers

    major, minor = (int(x) for x in transformers.__version__.split(".")[:2])
    return {"dtype": dt} if (major, minor) >= (4, 56) else {"torch_dtype": dt}
_TINY_FAMILIES = ("gpt2", "llama")


class CausalLM:
    r"""A causal LM as a law over fixed-length sequences (prompt + alphabet).

    Parameters
    ----------
    model : transformers.PreTrainedModel
        A causal LM (``AutoModelForCausalLM``); it is put in eval mode.
    tokenizer : transformers tokenizer, optional
        Used to resolve string alphabets/prompts and to decode text for text rewards.
    prompt : sequence of int or str, optional
        Token ids every sequence is conditioned on. Default: the BOS token. A string is
        tokenized and preceded by the BOS token (when the model has one).
    alphabet : sequence of int or str, optional
        Token ids (or single-token strings) allowed at generated positions. Default: every
        token id except the special ones (BOS, EOS, PAD, the tokenizer's specials).
    device : str or torch.device, optional
        Where to move the model; ``None`` keeps it where it is.

    Attributes
    ----------
    vocab_size : int
        Size :math:`V = |\mathcal A|` of the alphabet (not of the model's vocabulary).

    Examples
    --------
    >>> lm = build_tiny_lm("llama", vocab_size=5, rng=0, device="cpu")
    >>> lm.vocab_size, lm.prompt
    (4, (4,))
    >>> p = np.exp(lm.logprob(torch.tensor([[0], [1], [2], [3]])))
    >>> round(float(p.sum()), 12)
    1.0
    """

    def __init__(self, model: Any, *, tokenizer: Any = None, prompt: Sequence[int] | str | None = None,
                 alphabet: Sequence[int] | Sequence[str] | None = None,
                 device: str | torch.device | None = None) -> None:
        from transformers import PreTrainedModel

        if not isinstance(model, PreTrainedModel):
            raise TypeError("`model` must be a transformers PreTrainedModel (a causal LM); got "
                            f"{type(model).__name__}.")
        if device is not None:
            model = model.to(pick_device(device))  # type: ignore[arg-type]  # transformers wraps .to; its stub misreads the bound call
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.device = next(model.parameters()).device
        n_vocab = int(model.get_output_embeddings().weight.shape[0])
        self.model_vocab_size = n_vocab
        self.prompt = self._resolve_prompt(prompt)
        self.alphabet = self._resolve_alphabet(alphabet)
        self._alphabet_t = torch.tensor(self.alphabet, dtype=torch.long, device=self.device)
        pos = torch.full((n_vocab,), -1, dtype=torch.long)
        pos[list(self.alphabet)] = torch.arange(len(self.alphabet))
        self._pos_of_id = pos.to(self.device)
        self._prompt_t = torch.tensor(self.prompt, dtype=torch.long, device=self.device)
        #: Training summary set by :func:`train_tiny_lm` (``None`` otherwise).
        self.train_info: dict[str, float] | None = None

    # --- construction helpers ---------------------------------------------------------
    def _special_ids(self) -> set[int]:
        cfg = self.model.config
        ids = {getattr(cfg, k, None) for k in ("bos_token_id", "eos_token_id", "pad_token_id")}
        if self.tokenizer is not None:
            ids |= set(self.tokenizer.all_special_ids)
        out: set[int] = set()
        for i in ids:
            if isinstance(i, (list, tuple)):
                out |= {int(j) for j in i}
            elif i is not None:
                out.add(int(i))
        return out

    def _bos(self) -> int | None:
        bos = getattr(self.model.config, "bos_token_id", None)
        if bos is None and self.tokenizer is not None:
            bos = self.tokenizer.bos_token_id
        return None if bos is None else int(bos)

    def _resolve_prompt(self, prompt: Sequence[int] | str | None) -> tuple[int, ...]:
        if prompt is None:
            bos = self._bos()
            if bos is None:
                raise ValueError("`prompt` is required: the model has no BOS token to start "
                                 "sequences from; pass prompt=[token ids] or a string.")
            return (bos,)
        if isinstance(prompt, str):
            if self.tokenizer is None:
                raise ValueError("`prompt` given as a string needs a tokenizer; pass token ids.")
            bos = self._bos()
            ids = ([] if bos is None else [bos]) + list(
                self.tokenizer(prompt, add_special_tokens=False)["input_ids"])
        else:
            ids = [check_int("prompt[i]", i, lo=0, hi=self.model_vocab_size - 1) for i in prompt]
        if len(ids) == 0:
            raise ValueError("`prompt` must contain at least one token.")
        return tuple(int(i) for i in ids)

    def _resolve_alphabet(self, alphabet: Sequence[int] | Sequence[str] | None) -> tuple[int, ...]:
        if alphabet is None:
            special = self._special_ids()
            ids = [i for i in range(self.model_vocab_size) if i not in special]
        else:
            ids = []
            for a in alphabet:
                if isinstance(a, str):
                    if self.tokenizer is None:
                        raise ValueError("`alphabet` given as strings needs a tokenizer.")
                    i = self.tokenizer.convert_tokens_to_ids(a)
                    if i is None or (i == self.tokenizer.unk_token_id and a != self.tokenizer.unk_token):
                        raise ValueError(f"`alphabet` entry {a!r} is not a single token of the "
                                         "tokenizer's vocabulary.")
                    ids.append(int(i))
                else:
                    ids.append(check_int("alphabet[i]", a, lo=0, hi=self.model_vocab_size - 1))
        if len(ids) < 2:
            raise ValueError(f"`alphabet` must have at least 2 tokens; got {ids}.")
        if len(set(ids)) != len(ids):
            raise ValueError(f"`alphabet` must not repeat tokens; got {ids}.")
        return tuple(ids)

    # --- properties --------------------------------------------------------------------
    @property
    def vocab_size(self) -> int:
        """Alphabet size V."""
        return len(self.alphabet)

    @property
    def n_params(self) -> int:
        """Number of model parameters."""
        return int(sum(p.numel() for p in self.model.parameters()))

    @property
    def symbols(self) -> list[str]:
        """Printable names of the alphabet tokens (token strings, or ids as strings)."""
        if self.tokenizer is None:
            return [str(i) for i in self.alphabet]
        return [str(s) for s in self.tokenizer.convert_ids_to_tokens(list(self.alphabet))]

    def __repr__(self) -> str:
        return (f"CausalLM({type(self.model).__name__}, params={self.n_params}, "
                f"V={self.vocab_size}, prompt={self.prompt}, device={self.device})")

    def batch_size(self, seq_len: int) -> int:
        """Default rows per forward pass for sequences of ``seq_len`` tokens."""
        cfg = self.model.config
        hidden = int(getattr(cfg, "hidden_size", getattr(cfg, "n_embd", 64)))
        layers = int(getattr(cfg, "num_hidden_layers", getattr(cfg, "n_layer", 1)))
        return default_batch_size(self.device, hidden_size=hidden, n_layers=layers,
                                  seq_len=seq_len + len(self.prompt),
                                  vocab_size=self.model_vocab_size)

    # --- conversions -------------------------------------------------------------------
    def as_tokens(self, tokens: Any, name: str = "tokens") -> torch.Tensor:
        """Validate a batch of alphabet token ids, shape ``(B, L)``, on the device."""
        t = torch.as_tensor(tokens, device=self.device)
        if t.dtype not in (torch.int64, torch.int32, torch.int16, torch.uint8):
            raise TypeError(f"`{name}` must hold integer token ids; got dtype {t.dtype}.")
        if t.ndim != 2 or t.shape[1] == 0:
            raise ValueError(f"`{name}` must have shape (B, L) with L >= 1; got {tuple(t.shape)}.")
        t = t.long()
        if t.numel():
            bad = (t < 0) | (t >= self.model_vocab_size)
            if bool(bad.any()) or bool((self._pos_of_id[t.clamp(0, self.model_vocab_size - 1)] < 0).any()):
                raise ValueError(f"`{name}` must contain only alphabet token ids {self.alphabet}.")
        return t

    def positions(self, tokens: torch.Tensor) -> torch.Tensor:
        """Alphabet positions ``0..V-1`` of alphabet token ids (no validation)."""
        return self._pos_of_id[tokens]

    def token_ids(self, positions: torch.Tensor) -> torch.Tensor:
        """Token ids of alphabet positions (no validation)."""
        return self._alphabet_t[positions]

    def decode(self, tokens: Any) -> list[str]:
        """Decode token ids to strings with the tokenizer (one string per row)."""
        if self.tokenizer is None:
            raise ValueError("decoding needs a tokenizer; this CausalLM has none.")
        t = torch.as_tensor(tokens).cpu().tolist()
        return list(self.tokenizer.batch_decode(t, skip_special_tokens=False))

    # --- the model's law ---------------------------------------------------------------
    @torch.inference_mode()
    def alphabet_logits(self, tokens: torch.Tensor) -> torch.Tensor:
        """Next-token logits over the alphabet after the prompt and every prefix.

        Returns a float tensor of shape ``(B, L + 1, V)``: entry ``[b, t]`` scores the
        token following ``prompt + tokens[b, :t]``. No validation (internal hot path).
        """
        b = tokens.shape[0]
        ids = torch.cat([self._prompt_t.expand(b, -1), tokens], dim=1)
        logits = self.model(input_ids=ids, use_cache=False).logits
        return logits[:, len(self.prompt) - 1:, :].index_select(-1, self._alphabet_t)

    def logprob(self, tokens: Any, *, batch_size: int | None = None) -> np.ndarray:
        r"""Exact log-probability of each sequence under the restricted law, float64.

        Parameters
        ----------
        tokens : array_like of int, shape (B, L)
            Alphabet token ids.
        batch_size : int, optional
            Rows per forward pass (default: :meth:`batch_size`).

        Returns
        -------
        ndarray, shape (B,)
            :math:`\log \pi_{\mathrm{ref}}(y)`, computed in float64 after the softmax.
        """
        t = self.as_tokens(tokens)
        bs = batch_size or self.batch_size(t.shape[1])
        out = np.empty(t.shape[0], dtype=np.float64)
        with exact_matmul():
            for i in range(0, t.shape[0], bs):
                chunk = t[i:i + bs]
                lp = torch.log_softmax(self.alphabet_logits(chunk)[:, :-1].double(), dim=-1)
                pos = self.positions(chunk)
                out[i:i + bs] = lp.gather(-1, pos[..., None])[..., 0].sum(1).cpu().numpy()
        return out

    # --- persistence -------------------------------------------------------------------
    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write model, tokenizer and the prompt/alphabet to a directory.

        The directory loads back with :func:`load_causal_lm` (and the model alone with
        ``AutoModelForCausalLM.from_pretrained``).
        """
        p = Path(path)
        p.mkdir(parents=True, exist_ok=True)
        with _quiet_progress():
            self.model.save_pretrained(p)
        if self.tokenizer is not None:
            self.tokenizer.save_pretrained(p)
        (p / META_FILE).write_text(json.dumps(
            {"prompt": list(self.prompt), "alphabet": list(self.alphabet)}, indent=1))
        return p


def load_causal_lm(path: str | os.PathLike[str], *, device: str | torch.device | None = "auto",
                   dtype: str | torch.dtype | None = None,
                   prompt: Sequence[int] | str | None = None,
                   alphabet: Sequence[int] | Sequence[str] | None = None) -> CausalLM:
    """Load a causal LM from a local Hugging Face model directory; never downloads.

    The path is checked here (so a typo or a hub id fails at once with a readable
    message) and transformers is called with ``local_files_only=True``, which refuses
    any hub access. A tokenizer saved in the directory is loaded too, and so are the
    prompt and alphabet written by :meth:`CausalLM.save`.

    Parameters
    ----------
    path : str or PathLike
        Directory written by ``save_pretrained`` (``config.json`` plus weights).
    device : {"auto", "cpu", "cuda"} or torch.device
        ``"auto"``: CUDA when available, else CPU.
    dtype : {"float32", "bfloat16", "float16", "float64"} or torch.dtype, optional
        Weight dtype; float32 by default (log-probabilities are float64 in any case).
    prompt, alphabet : optional
        Override the saved or default prompt and alphabet (see :class:`CausalLM`).

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist (hub ids are not looked up).
    NotADirectoryError
        ``path`` is a file.
    ValueError
        ``path`` is not a causal-LM directory (no ``config.json``, no weights, or a
        model type without a causal-LM head).

    Examples
    --------
    >>> import tempfile
    >>> lm = build_tiny_lm("gpt2", vocab_size=6, rng=0, device="cpu")
    >>> with tempfile.TemporaryDirectory() as d:
    ...     back = load_causal_lm(lm.save(d), device="cpu")
    >>> back.alphabet == lm.alphabet
    True
    """
    p = Path(os.fspath(path)).expanduser()
    if not p.exists():
        text = os.fspath(path)
        parts = text.split("/")
        hub_like = len(parts) == 2 and all(parts) and not text.startswith((".", "~"))  # org/name
        hint = (" It looks like a hub id; mdpkit never downloads: fetch the model elsewhere "
                "and pass its local directory.") if hub_like else ""
        raise FileNotFoundError(f"`path` must be a local model directory; {str(p)!r} does not "
                                f"exist.{hint}")
    if not p.is_dir():
        raise NotADirectoryError(f"`path` must be a model directory; {str(p)!r} is a file.")
    if not (p / "config.json").is_file():
        raise ValueError(f"`path` {str(p)!r} is not a Hugging Face model directory: it has no "
                         "config.json (write one with model.save_pretrained(path)).")
    dev = pick_device(device)
    dt = as_dtype(dtype)
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        with _quiet_progress():
            model = AutoModelForCausalLM.from_pretrained(p, local_files_only=True,
                                                         **_dtype_kwarg(dt))
    except (OSError, ValueError, KeyError) as e:
        raise ValueError(f"`path` {str(p)!r} could not be loaded as a causal LM: {e}") from e
    tokenizer = None
    if any((p / f).is_file() for f in ("tokenizer.json", "tokenizer_config.json", "vocab.json")):
        tokenizer = AutoTokenizer.from_pretrained(p, local_files_only=True)
    meta_path = p / META_FILE
    if meta_path.is_file():
        meta = json.loads(meta_path.read_text())
        prompt = meta.get("prompt") if prompt is None else prompt
        alphabet = meta.get("alphabet") if alphabet is None else alphabet
    return CausalLM(model, tokenizer=tokenizer, prompt=prompt, alphabet=alphabet, device=dev)


def tiny_config(family: str = "llama", *, vocab_size: int = 9, hidden_size: int = 32,
                n_layers: int = 2, n_heads: int = 2, max_len: int = 64) -> Any:
    """Return a small transformers config of the Llama or GPT-2 family.

    The last token id (``vocab_size - 1``) is BOS; there is no EOS or PAD token.

    >>> tiny_config("gpt2", vocab_size=9).model_type
    'gpt2'
    """
    from transformers import GPT2Config, LlamaConfig

    from .._validation import check_choice

    check_choice("family", family, _TINY_FAMILIES)
    vocab_size = check_int("vocab_size", vocab_size, lo=3)
    hidden_size = check_int("hidden_size", hidden_size, lo=2)
    n_layers = check_int("n_layers", n_layers, lo=1)
    n_heads = check_int("n_heads", n_heads, lo=1)
    if hidden_size % n_heads:
        raise ValueError(f"`hidden_size` must be divisible by `n_heads`; got {hidden_size} and "
                         f"{n_heads}.")
    max_len = check_int("max_len", max_len, lo=2)
    bos = vocab_size - 1
    if family == "llama":
        return LlamaConfig(vocab_size=vocab_size, hidden_size=hidden_size,
                           intermediate_size=2 * hidden_size, num_hidden_layers=n_layers,
                           num_attention_heads=n_heads, num_key_value_heads=n_heads,
                           max_position_embeddings=max_len, bos_token_id=bos,
                           eos_token_id=None, pad_token_id=None, tie_word_embeddings=True)
    return GPT2Config(vocab_size=vocab_size, n_embd=hidden_size, n_layer=n_layers,
                      n_head=n_heads, n_positions=max_len, bos_token_id=bos, eos_token_id=None,
                      pad_token_id=None, resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0)


def build_tiny_lm(config: Any = "llama", *, vocab_size: int = 9, hidden_size: int = 32,
                  n_layers: int = 2, n_heads: int = 2, max_len: int = 64,
                  rng: Any = None, device: str | torch.device | None = "auto",
                  tokenizer: Any = None, prompt: Sequence[int] | None = None,
                  alphabet: Sequence[int] | None = None) -> CausalLM:
    """Build a randomly initialised causal LM from a transformers config (no download).

    Parameters
    ----------
    config : {"llama", "gpt2"} or transformers.PretrainedConfig
        A family name (then :func:`tiny_config` builds the config from the size
        arguments) or a config of any causal-LM family.
    vocab_size, hidden_size, n_layers, n_heads, max_len : int
        Sizes used when ``config`` is a family name.
    rng : int, numpy Generator, SeedSequence or None
        Seed of the weight initialisation (the global torch RNG is left untouched);
        ``None`` draws fresh weights.
    device : str or torch.device
        ``"auto"``: CUDA when available.
    tokenizer, prompt, alphabet : optional
        See :class:`CausalLM`.

    Examples
    --------
    >>> lm = build_tiny_lm("llama", vocab_size=9, rng=0, device="cpu")
    >>> type(lm.model).__name__, lm.vocab_size
    ('LlamaForCausalLM', 8)
    """
    from transformers import AutoModelForCausalLM, PretrainedConfig

    if isinstance(config, str):
        cfg = tiny_config(config, vocab_size=vocab_size, hidden_size=hidden_size,
                          n_layers=n_layers, n_heads=n_heads, max_len=max_len)
    elif isinstance(config, PretrainedConfig):
        cfg = config
    else:
        raise TypeError("`config` must be 'llama', 'gpt2' or a transformers PretrainedConfig; "
                        f"got {type(config).__name__}.")
    seed = seed_of(rng)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        try:
            model = AutoModelForCausalLM.from_config(cfg)
        except ValueError as e:
            raise ValueError(f"`config` does not describe a causal LM: {e}") from e
    return CausalLM(model, tokenizer=tokenizer, prompt=prompt, alphabet=alphabet,
                    device=pick_device(device))
