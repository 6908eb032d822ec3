"""Fixtures of the LLM-bridge tests: offline mode, one thread, one trained tiny model.

``HF_HUB_OFFLINE`` must be set before anything imports transformers (it is read at
import time), so it is set at the top of this conftest.
"""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

import importlib.util  # noqa: E402

import pytest  # noqa: E402

HAVE_LLM = all(importlib.util.find_spec(m) is not None for m in ("torch", "transformers"))
if not HAVE_LLM:  # the [llm] extra is optional: nothing here is collected without it
    collect_ignore_glob = ["test_*.py"]
else:
    import torch

    # tiny models are overhead-bound; parallel regions stall when the other core is busy
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def tiny():
    """The pydoc/coarse8 Llama, trained briefly once per session (about 1-2 s)."""
    from mdpkit import llm

    return llm.train_tiny_lm(steps=80, rng=0, device="cpu")


@pytest.fixture(scope="session")
def space4(tiny):
    """Exact law of the tiny model over all 8**4 sequences."""
    from mdpkit import llm

    return llm.SequenceSpace(tiny, 4)


def pytest_collection_modifyitems(config, items):
    if HAVE_LLM and torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
