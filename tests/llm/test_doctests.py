"""The LLM bridge's doctests.

pytest's ``--doctest-modules`` run ignores ``mdpkit/llm`` (it would import torch and
transformers in every run); they run here instead, with the other LLM tests (one torch
thread, offline), and only where the ``[llm]`` extra is installed. Every example is seeded
and takes at most a few seconds.
"""

import doctest
import importlib
import pkgutil

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

import mdpkit.llm  # noqa: E402

MODULES = sorted("mdpkit.llm." + m.name for m in pkgutil.iter_modules(mdpkit.llm.__path__))


@pytest.mark.parametrize("name", MODULES)
def test_llm_doctests_run_and_pass(name):
    res = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    if name == "mdpkit.llm._dpo":   # dpo_finetune's example used to be skipped: it must run
        assert res.attempted >= 5
    assert res.failed == 0
