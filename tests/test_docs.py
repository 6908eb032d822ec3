"""The documentation: API reference coverage and a full Sphinx build with -W."""

import importlib
import os
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


#: The test build draws one quick figure (the real build draws them all, cached).
TEST_FIGURE = "fig12"


def _test_figure() -> str:
    stems = sorted(p.stem for p in (ROOT / "paper_figures").glob("fig*.py"))
    assert stems, "no figure scripts in paper_figures/"
    return TEST_FIGURE if any(s.startswith(TEST_FIGURE + "_") for s in stems) else stems[0]


@pytest.fixture(scope="module")
def built_site(tmp_path_factory):
    """The CI command: python -m sphinx -W --keep-going -b html docs docs/_build/html.

    With ``MDPKIT_DOCS_FIGURES`` set to one script, so that the gallery draws one figure.
    """
    pytest.importorskip("sphinx")
    pytest.importorskip("numpydoc")
    pytest.importorskip("furo")
    tmp = tmp_path_factory.mktemp("docs")
    out = tmp / "html"
    env = {**os.environ, "MDPKIT_DOCS_FIGURES": _test_figure()}
    env.pop("MDPKIT_FIGURES_DIR", None)
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-E", "-q", "-b", "html",
         "-d", str(tmp / "doctrees"), str(DOCS), str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=900, env=env,
    )
    return proc, out


def test_sphinx_build_has_no_warnings(built_site):
    proc, out = built_site
    assert proc.returncode == 0, proc.stderr[-6000:]
    checks_page = (out / "checks.html").read_text()
    from mdpkit.checks import load_all

    for name in load_all():
        assert name in checks_page, name
    assert (out / "api" / "generated" / "mdpkit.sweep.run.html").is_file()
    theory = (out / "theory" / "mdp.html").read_text()
    assert "Standard MDPs" in theory and 'class="math' in theory and "mathjax" in theory


RAW_REST = re.compile(r"``|:(?:[a-z]+:)?(?:math|func|class|meth|mod|obj|doc|ref|attr|data|exc|"
                      r"term|numref|eq|cite):`|`[A-Za-z_][\w.]*`")
MACHINE_PATH = re.compile(r"(?<![\w.~-])/(?:work|tmp|root|home)/")


def _visible_html(html: str) -> str:
    """The page without scripts, styles and code blocks (where markup may be shown on purpose)."""
    return re.sub(r"<(script|style|pre)\b.*?</\1>", "", html, flags=re.S | re.I)


def test_site_scanner_catches_raw_markup_and_paths():
    bad = '<p>see ``x``, `y` and :func:`f` at /work/repo/figures</p><pre>``fine``</pre>'
    assert RAW_REST.findall(_visible_html(bad)) == ["``", "``", "`y`", ":func:`"]
    assert MACHINE_PATH.search(bad)
    assert not MACHINE_PATH.search('<a href="../tmp.html">x</a> docs/_build/tmp/x')


def test_built_pages_have_no_raw_rest_missing_images_or_machine_paths(built_site):
    proc, out = built_site
    assert proc.returncode == 0, proc.stderr[-6000:]
    problems = []
    pages = sorted(out.rglob("*.html"))
    assert len(pages) > 50
    for page in pages:
        html = page.read_text()
        rel = page.relative_to(out)
        for m in RAW_REST.finditer(_visible_html(html)):
            ctx = _visible_html(html)[max(m.start() - 60, 0):m.end() + 40]
            problems.append(f"{rel}: raw reST {m.group(0)!r} in ...{ctx}...")
        for m in MACHINE_PATH.finditer(html):
            problems.append(f"{rel}: machine path ...{html[max(m.start() - 60, 0):m.end() + 40]}...")
        for src in re.findall(r"<img\b[^>]*\bsrc=\"([^\"]+)\"", html):
            if re.match(r"(https?:|data:)", src):
                continue
            if not (page.parent / src.split("#")[0].split("?")[0]).is_file():
                problems.append(f"{rel}: <img src={src!r}> does not exist")
    assert not problems, "\n".join(problems[:40])


def test_gallery_shows_the_drawn_figure_and_checks_link_to_figures_and_theory(built_site):
    proc, out = built_site
    assert proc.returncode == 0, proc.stderr[-6000:]
    gallery = (out / "gallery.html").read_text()
    stem = next(p.stem for p in (ROOT / "paper_figures").glob(f"{_test_figure()}*.py"))
    section = gallery.split(f'id="{stem.replace("_", "-")}"', 1)[1].split("<section", 1)[0]
    assert "<img" in section and "_images/" in section, section[:2000]
    assert "Image not rendered" not in gallery
    checks = (out / "checks.html").read_text()
    ids = set(re.findall(r'\bid="([^"]+)"', gallery))
    fig_links = re.findall(r'href="gallery\.html#([^"]+)"', checks)
    assert fig_links and set(fig_links) <= ids, set(fig_links) - ids
    from mdpkit.checks import load_all

    rows = re.findall(r'<tr[^>]*id="check-([^"]+)".*?</tr>', checks, flags=re.S)
    assert len(rows) == len(load_all())
    no_theory = []
    for name in load_all():
        row = re.search(rf'<tr[^>]*id="check-{nodes_id(name)}".*?</tr>', checks, flags=re.S)
        links = re.findall(r'href="(theory/[^"#]+)', row.group(0))
        if not links or not all((out / link).is_file() for link in links):
            no_theory.append(name)
    assert not no_theory, f"check rows without a theory page: {no_theory}"
    # statements are rendered as MathJax, not ASCII
    assert checks.count('class="math') > len(load_all())
    assert "&lt;=" not in re.sub(r'<span class="math.*?</span>', "", checks, flags=re.S)


def nodes_id(name: str) -> str:
    from docutils import nodes

    return nodes.make_id(f"check-{name}")[len("check-"):]
