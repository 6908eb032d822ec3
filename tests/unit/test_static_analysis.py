"""Static analysis of the package: ``ruff check mdpkit`` and ``mypy`` are clean.

Both tools read their configuration from pyproject.toml (ruff: the E/F/W/B/I/UP/NPY rules
plus pydocstyle ``D`` with the numpy convention for ``mdpkit/``; mypy: ``files =
["mdpkit"]``, every module). They run in subprocesses of the current interpreter, so the
versions are the ones of the ``dev`` extra. A missing tool skips with the reason.

A cold mypy run over the whole package took about 5 minutes on the loaded 2-core
development machine (8 s with a warm ``.mypy_cache``), so the mypy test is marked
``slow``; ruff takes under a second and runs by default.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _run_tool(module: str, *args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not installed (it is in the `dev` extra: pip install -e '.[dev]')")
    return subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)


def test_ruff_clean() -> None:
    proc = _run_tool("ruff", "check", "mdpkit", "--output-format", "concise", timeout=300)
    assert proc.returncode == 0, f"ruff check mdpkit found problems:\n{proc.stdout}{proc.stderr}"


@pytest.mark.slow
def test_mypy_clean() -> None:
    proc = _run_tool("mypy", timeout=1800)
    assert proc.returncode == 0, f"mypy (files from pyproject.toml) found problems:\n{proc.stdout}{proc.stderr}"


def _mypy_files() -> list[str]:
    import tomllib

    with open(ROOT / "pyproject.toml", "rb") as fh:
        return list(tomllib.load(fh)["tool"]["mypy"]["files"])


def test_mypy_covers_every_module() -> None:
    """mypy's ``files`` is the whole package, not a list of modules (checked without running mypy)."""
    assert _mypy_files() == ["mdpkit"]
