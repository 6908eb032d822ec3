"""Sphinx configuration of the mdpkit documentation.

Build (warnings are errors, as in CI)::

    python -m sphinx -W --keep-going -b html docs docs/_build/html
"""

import importlib.util
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # document the checkout, installed or not
sys.path.insert(0, str(HERE / "_ext"))
os.environ.setdefault("MPLBACKEND", "Agg")

import mdpkit  # noqa: E402

project = "mdpkit"
author = "mdpkit developers"
copyright = "2026, mdpkit developers"
version = release = mdpkit.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "mdpkit_docs",
]

exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]
# An entry of a References section that the text does not cite is not an error (numpydoc
# renames the labels of module docstrings); a cited label without an entry still is.
suppress_warnings = ["ref.citation"]
templates_path = []
# furo: a maintained theme with readable tables and MathJax (pip install "mdpkit[docs]").
if importlib.util.find_spec("furo") is None:
    raise RuntimeError(
        "The mdpkit docs use the furo theme, which is not installed: "
        "pip install furo (or pip install -e '.[docs]').")
html_theme = "furo"
html_static_path = ["_static"]
html_css_files = ["mdpkit.css"]
html_title = f"mdpkit {release}"

# The optional [llm] extra (torch, transformers) is mocked where it is not installed,
# so that the reference of mdpkit.llm builds everywhere.
autodoc_mock_imports = [m for m in ("torch", "transformers") if importlib.util.find_spec(m) is None]
autosummary_generate = True
autosummary_imported_members = True
autodoc_default_options = {"member-order": "bysource"}
autodoc_typehints = "none"  # numpydoc's Parameters sections carry the types
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

mathjax3_config = {"tex": {"macros": {"KL": r"\operatorname{KL}", "E": r"\mathbb{E}"}}}
