"""The documentation: API reference coverage and a full Sphinx build with -W."""

import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

import mdpkit

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
sys.path.insert(0, str(DOCS / "_ext"))
mdpkit_docs = pytest.importorskip("mdpkit_docs", reason="docs/_ext missing")


def documented_names(source: str) -> set[str]:
    """Names rendered by autosummary entries and py:data directives of one page."""
    names = set(re.findall(r"^\.\. py:data:: (\w+)", source, flags=re.M))
    for block in re.findall(r"^\.\. autosummary::\n((?:   .*\n|\n)+)", source, flags=re.M):
        names |= {ln.strip() for ln in block.splitlines() if ln.strip() and not ln.strip().startswith(":")}
    return names


def test_every_public_name_is_in_the_api_reference():
    pages = mdpkit_docs.api_sources()
    top = pages["mdpkit"]
    lazy = mdpkit._LAZY_NAMES
    missing = []
    for name in mdpkit.__all__:
        if name in lazy:  # a shortcut: listed on the top page, documented in its subpackage
            home = f"mdpkit.{lazy[name]}"
            ok = f":obj:`mdpkit.{name} <{home}.{name}>`" in top and name in documented_names(pages.get(home, ""))
        elif name in mdpkit_docs.SUBPACKAGES:
            try:
                importlib.import_module(f"mdpkit.{name}")
            except ImportError:  # an optional extra that is not installed (mdpkit.llm)
                continue
            ok = f"mdpkit.{name}" in pages and f":doc:`mdpkit.{name}`" in top
        elif name == "__version__":
            ok = "mdpkit.__version__" in top
        else:
            ok = name in documented_names(top)
        if not ok:
            missing.append(name)
    for mod in pages:
        if not mod.startswith("mdpkit."):
            continue
        public = getattr(importlib.import_module(mod), "__all__", [])
        missing += [f"{mod}.{n}" for n in public if n not in documented_names(pages[mod])]
    assert not missing, f"public names missing from the API reference: {missing}"


def test_documented_names_parser():
    src = ".. autosummary::\n   :toctree: .\n\n   run\n   Sim\n\nText\n\n.. py:data:: LIMIT\n"
    assert documented_names(src) == {"run", "Sim", "LIMIT"}


def test_sphinx_build_has_no_warnings(tmp_path):
    """The CI command: python -m sphinx -W --keep-going -b html docs docs/_build/html."""
    pytest.importorskip("sphinx")
    pytest.importorskip("numpydoc")
    out = tmp_path / "html"
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-E", "-q", "-b", "html",
         "-d", str(tmp_path / "doctrees"), str(DOCS), str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-6000:]
    checks_page = (out / "checks.html").read_text()
    from mdpkit.checks import load_all

    for name in load_all():
        assert name in checks_page, name
    assert (out / "api" / "generated" / "mdpkit.sweep.run.html").is_file()
    theory = (out / "theory" / "mdp.html").read_text()
    assert "Standard MDPs" in theory and 'class="math' in theory and "mathjax" in theory
