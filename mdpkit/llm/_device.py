"""Device selection, dtypes, seeded torch generators and batch sizes.

The bridge runs on a CUDA device when one is present and on the CPU otherwise. Exact
computations use float32 network arithmetic with TF32 disabled and float64 after the
``log_softmax``; sampling uses a ``torch.Generator`` that lives on the model's device,
so ``torch.multinomial`` never leaves the GPU.
"""

from __future__ import annotations

import numbers
from contextlib import contextmanager

import numpy as np
import torch

from .._validation import check_choice

_DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16,
           "float64": torch.float64}


def pick_device(device: str | torch.device | None = "auto") -> torch.device:
    """Resolve ``device``: ``"auto"`` is CUDA when available, else the CPU.

    Parameters
    ----------
    device : {"auto", "cpu", "cuda", "cuda:K"} or torch.device or None
        ``None`` means ``"auto"``.

    Examples
    --------
    >>> pick_device("cpu")
    device(type='cpu')
    """
    if device is None or (isinstance(device, str) and device == "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if isinstance(device, torch.device):
        dev = device
    elif isinstance(device, str):
        try:
            dev = torch.device(device)
        except RuntimeError:
            raise ValueError(
                f"`device` must be 'auto', 'cpu', 'cuda' or 'cuda:K'; got {device!r}."
            ) from None
    else:
        raise TypeError(f"`device` must be a str or torch.device; got {type(device).__name__}.")
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"`device` is {device!r} but CUDA is not available on this machine; "
                         "use device='auto' or 'cpu'.")
    if dev.type not in ("cpu", "cuda"):
        raise ValueError(f"`device` must be a CPU or CUDA device; got {device!r}.")
    return dev


def as_dtype(dtype: str | torch.dtype | None) -> torch.dtype:
    """Resolve ``dtype`` (``None`` is float32) to a floating torch dtype.

    >>> as_dtype("bfloat16")
    torch.bfloat16
    """
    if dtype is None:
        return torch.float32
    if isinstance(dtype, torch.dtype):
        if dtype not in _DTYPES.values():
            raise ValueError(f"`dtype` must be one of {sorted(_DTYPES)}; got {dtype}.")
        return dtype
    return _DTYPES[check_choice("dtype", dtype, _DTYPES)]


def torch_generator(rng: int | np.random.Generator | np.random.SeedSequence | torch.Generator | None,
                    device: torch.device) -> torch.Generator:
    """Return a ``torch.Generator`` on ``device`` seeded from ``rng``.

    Parameters
    ----------
    rng : int, numpy Generator, numpy SeedSequence, torch.Generator or None
        An int seeds the generator directly (same seed, same samples on the same
        device); a numpy Generator or SeedSequence supplies a 63-bit seed; a torch Generator is used
        as is and must live on ``device``; ``None`` draws a fresh seed.

    Examples
    --------
    >>> g1 = torch_generator(0, torch.device("cpu"))
    >>> g2 = torch_generator(0, torch.device("cpu"))
    >>> bool(torch.rand(3, generator=g1).equal(torch.rand(3, generator=g2)))
    True
    """
    if isinstance(rng, torch.Generator):
        if rng.device.type != device.type:
            raise ValueError(f"`rng` is a torch.Generator on {rng.device}, but the model is on "
                             f"{device}; create it with torch.Generator(device={str(device)!r}).")
        return rng
    if rng is None:
        seed = int(np.random.default_rng().integers(2**63 - 1))
    elif isinstance(rng, np.random.Generator):
        seed = int(rng.integers(2**63 - 1))
    elif isinstance(rng, np.random.SeedSequence):
        seed = int(rng.generate_state(1, np.uint64)[0] >> np.uint64(1))
    elif isinstance(rng, numbers.Integral) and not isinstance(rng, bool):
        if int(rng) < 0:
            raise ValueError(f"`rng` must be a non-negative integer seed; got {rng!r}.")
        seed = int(rng)
    else:
        raise TypeError("`rng` must be None, a non-negative int, a numpy Generator, a numpy "
                        f"SeedSequence or a torch.Generator; got {type(rng).__name__}.")
    return torch.Generator(device=device).manual_seed(seed)


def seed_of(rng: int | np.random.Generator | np.random.SeedSequence | torch.Generator | None) -> int:
    """Return an integer seed derived from ``rng`` (for APIs that use the global torch RNG)."""
    if isinstance(rng, torch.Generator):
        return int(torch.randint(0, 2**62, (1,), generator=rng, device=rng.device).item())
    return int(torch_generator(rng, torch.device("cpu")).initial_seed())


@contextmanager
def num_threads(n: int | None):
    """Temporarily set torch's intra-op thread count (``None``: leave it alone).

    Tiny models are dominated by per-operator overhead; measured on a loaded 2-core
    machine, 2 threads sampled 7-18x *slower* than 1 thread because every parallel
    region waits for the busy core, so the command line uses 1 thread by default.
    """
    if n is None:
        yield
        return
    old = torch.get_num_threads()
    torch.set_num_threads(max(1, int(n)))
    try:
        yield
    finally:
        torch.set_num_threads(old)


@contextmanager
def exact_matmul():
    """Disable TF32 (and reduced-precision reductions) for exact log-probabilities."""
    old = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = old


def default_batch_size(device: torch.device, *, hidden_size: int, n_layers: int,
                       seq_len: int, vocab_size: int) -> int:
    """Rows per forward pass that fill ``device`` without running out of memory.

    On CUDA the budget is a quarter of the free memory divided by the activation,
    KV-cache and logit bytes of one row (float32, with a factor 8 for the MLP and
    attention temporaries); the result is a power of two in ``[1024, 2**18]``. On the
    CPU, 8192 rows (measured on 2 cores with the tiny model: 2048 rows were 1.4x slower,
    32768 rows no faster, and the activations stay small).

    >>> default_batch_size(torch.device("cpu"), hidden_size=64, n_layers=2, seq_len=6,
    ...                    vocab_size=9)
    8192
    """
    if device.type != "cuda":
        return 8192
    free, _total = torch.cuda.mem_get_info(device)
    per_row = 4 * seq_len * (8 * hidden_size * max(n_layers, 1) + 2 * vocab_size)
    rows = int(free // 4 // max(per_row, 1))
    rows = max(1024, min(rows, 2**18))
    return 1 << (rows.bit_length() - 1)
