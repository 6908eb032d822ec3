"""Sphinx extension for the mdpkit docs: generated API pages, check table, gallery.

* API pages (``api/generated/<module>.rst``) are written at ``config-inited`` from the
  public ``__all__`` lists, so the reference always covers every public name; the
  autosummary extension then renders one page per object from its docstring.
* ``.. mdpkit-check-table::`` renders the theorem-check registry
  (:func:`mdpkit.checks.load_all`) as a table at build time.
* ``.. mdpkit-sims::`` lists the sims of ``sims/`` (docstring, grid size).
* ``.. mdpkit-gallery::`` lists the scripts ``paper_figures/fig*.py`` with their
  docstrings and their images, which the build draws in quick mode into
  ``<build>/figures`` (cached: a script is redrawn only when it changed; the environment
  variable ``MDPKIT_DOCS_FIGURES`` selects a subset).
* Statements (check registry, figure docstrings) are ASCII for the terminal; they are
  rendered as text + MathJax by ``mdpkit_math``.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import os
import re
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import Directive
from docutils.statemachine import StringList

ROOT = Path(__file__).resolve().parents[2]

#: Subpackages documented in the API reference, in reading order.
SUBPACKAGES = (
    "mdp", "solvers", "divergences", "learners", "bandits", "bon", "theory", "checks",
    "sweep", "plotting", "llm", "reward_hacking", "pg", "preference",
)


def public_modules() -> dict[str, list[str]]:
    """``{module: __all__}`` for mdpkit and its importable subpackages.

    ``mdpkit`` itself maps to the names it defines (not the re-exports, which are
    documented where they are defined). A subpackage that cannot be imported (an
    optional dependency is missing) is left out.
    """
    import mdpkit

    out: dict[str, list[str]] = {}
    lazy = getattr(mdpkit, "_LAZY_NAMES", {})
    own = [n for n in mdpkit.__all__ if n not in lazy and n not in SUBPACKAGES
           and not n.startswith("__")]
    out["mdpkit"] = own
    for sub in SUBPACKAGES:
        try:
            mod = importlib.import_module(f"mdpkit.{sub}")
        except ImportError:
            continue
        out[f"mdpkit.{sub}"] = list(getattr(mod, "__all__", []))
    return out


def _title(text: str) -> str:
    return f"{text}\n{'=' * len(text)}\n"


def _is_documentable(obj) -> bool:
    import inspect

    return inspect.isclass(obj) or inspect.isroutine(obj) or inspect.ismodule(obj) or callable(obj)


def _attr_doc(modname: str, name: str) -> list[str]:
    """The ``#:`` comment documenting ``name`` in ``modname`` or its private modules."""
    import pkgutil

    from sphinx.pycode import ModuleAnalyzer

    mod = importlib.import_module(modname)
    candidates = [modname]
    if hasattr(mod, "__path__"):
        candidates += [f"{modname}.{i.name}" for i in pkgutil.iter_modules(mod.__path__)]
    for cand in candidates:
        try:
            docs = ModuleAnalyzer.for_module(cand).find_attr_docs()
        except Exception:
            continue
        if ("", name) in docs:
            return [ln for ln in docs[("", name)] if ln.strip()]
    return []


def _data_directive(modname: str, name: str, value) -> list[str]:
    text = repr(value)
    lines = [f".. py:data:: {name}"]
    if len(text) <= 100 and "\n" not in text:
        lines.append(f"   :value: {text}")
    lines.append("")
    lines += [f"   {ln}" for ln in _attr_doc(modname, name)]
    lines.append("")
    return lines


_CITATION = re.compile(r"^\.\. \[([A-Za-z][\w.-]*)\]\s")


def module_citations() -> dict[str, tuple[str, str]]:
    """Citations defined in the docstrings of private modules (``_x.py``).

    Docstrings of public objects cite them (``[AUE02]_``), but private module
    docstrings are not rendered, so the definitions are collected on one bibliography
    page: ``{label: (text, module)}``, first definition wins.
    """
    import ast
    import pkgutil

    import mdpkit

    out: dict[str, tuple[str, str]] = {}
    for info in sorted(pkgutil.walk_packages(mdpkit.__path__, "mdpkit."), key=lambda i: i.name):
        if not info.name.rsplit(".", 1)[-1].startswith("_") or info.ispkg:
            continue
        spec = importlib.util.find_spec(info.name)
        if spec is None or not spec.origin or not spec.origin.endswith(".py"):
            continue
        try:
            doc = ast.get_docstring(ast.parse(Path(spec.origin).read_text())) or ""
        except SyntaxError:
            continue
        lines = doc.splitlines()
        for i, line in enumerate(lines):
            m = _CITATION.match(line)
            if not m or m.group(1) in out:
                continue
            text = [line[m.end():].strip()]
            for cont in lines[i + 1:]:
                if not cont.startswith((" ", "\t")) or not cont.strip():
                    break
                text.append(cont.strip())
            out[m.group(1)] = (" ".join(text), info.name)
    return dict(sorted(out.items()))


def api_sources() -> dict[str, str]:
    """The reST text of every generated API page, keyed by file stem."""
    import mdpkit

    pages: dict[str, str] = {}
    mods = public_modules()
    lazy = getattr(mdpkit, "_LAZY_NAMES", {})
    for modname, names in mods.items():
        mod = importlib.import_module(modname)
        objs = [n for n in names if _is_documentable(getattr(mod, n))]
        data = [n for n in names if n not in objs]
        lines = [_title(f"``{modname}``"), f".. automodule:: {modname}\n", f".. currentmodule:: {modname}\n"]
        if objs:
            lines += [".. autosummary::", "   :toctree: .", "   :nosignatures:", ""]
            lines += [f"   {n}" for n in objs]
            lines.append("")
        if data:
            lines += ["Constants", "---------\n"]
            for n in data:
                lines += _data_directive(modname, n, getattr(mod, n))
        if modname == "mdpkit":
            lines += [
                "The package version is ``mdpkit.__version__``.\n",
                "Top-level shortcuts",
                "-------------------\n",
                "These names are re-exported from their subpackages and documented there.\n",
                ".. list-table::", "   :header-rows: 0", "",
            ]
            for n in sorted(lazy):
                target = f"mdpkit.{lazy[n]}.{n}"
                lines += [f"   * - :obj:`mdpkit.{n} <{target}>`", f"     - ``{target}``"]
            lines += ["", "Subpackages", "-----------\n"]
            lines += [f"* :doc:`{m}`" for m in mods if m != "mdpkit"]
            lines.append("")
        pages[modname] = "\n".join(lines)
    rendered = []
    for modname, names in mods.items():
        mod = importlib.import_module(modname)
        rendered.append(mod.__doc__ or "")
        rendered += [getattr(getattr(mod, n), "__doc__", None) or "" for n in names]
    text = "\n".join(rendered)
    # only citations that a rendered docstring uses (Sphinx warns about the others)
    cites = {k: v for k, v in module_citations().items() if f"[{k}]_" in text}
    if cites:
        ref = [_title("Bibliography"),
               "References cited by the docstrings of the API, as ``[LABEL]_``.\n"]
        for label, (text, _) in cites.items():
            ref.append(f".. [{label}] {text}")
        pages["references"] = "\n".join(ref) + "\n"
    order = list(pages)
    index = [_title("API reference"),
             "Generated from the docstrings of the public names (``__all__``) of each "
             "subpackage.\n", ".. toctree::", "   :maxdepth: 1", ""]
    index += [f"   {m}" for m in order]
    pages["index"] = "\n".join(index) + "\n"
    return pages


def write_api_pages(app, config=None) -> None:
    """Write ``api/generated/*.rst`` (at ``config-inited``, before sources are found)."""
    folder = Path(app.srcdir) / "api" / "generated"
    folder.mkdir(parents=True, exist_ok=True)
    pages = api_sources()
    keep = set(pages)
    for mod, names in public_modules().items():
        m = importlib.import_module(mod)
        keep |= {f"{mod}.{n}" for n in names if _is_documentable(getattr(m, n))}
    for old in folder.glob("*.rst"):  # stubs of names that are no longer public
        if old.stem not in keep:
            old.unlink()
    for stem, text in pages.items():
        path = folder / f"{stem}.rst"
        if not path.exists() or path.read_text() != text:  # keep mtimes for incremental builds
            path.write_text(text)


def rich_text(text: str) -> list[nodes.Node]:
    """Plain text with ASCII math and reST literals as docutils nodes (text, math, literal)."""
    from mdpkit_math import segments, to_latex

    out: list[nodes.Node] = []
    for kind, piece in segments(" ".join(text.split())):
        if kind == "math":
            tex = to_latex(piece)
            out.append(nodes.math(tex, tex))
        elif kind == "code":
            out.append(nodes.literal(piece, piece))
        else:
            out.append(nodes.Text(piece))
    return out


def _paragraph(text: str) -> nodes.paragraph:
    para = nodes.paragraph()
    para += rich_text(text)
    return para


def figure_checks() -> dict[str, list[str]]:
    """``{check name: [figure script stems]}``: the checks a ``fig*.py`` script names."""
    from mdpkit.checks import load_all

    names = list(load_all())
    out: dict[str, list[str]] = {}
    for script in sorted((ROOT / "paper_figures").glob("fig*.py")):
        text = script.read_text()
        for name in names:
            if re.search(rf"[\"'`]{re.escape(name)}[\"'`]", text):
                out.setdefault(name, []).append(script.stem)
    return out


#: Theory page of the checks of a ``mdpkit.checks`` module that no theory page names.
THEORY_OF_MODULE = {
    "bandits": "bandits", "bon": "best_of_n", "classic": "classic", "demo_reg": "demonstration",
    "drrpo": "robust", "llm": "best_of_n", "pg": "pg", "r2pvi_paper": "robust",
    "regularized_mdp": "kl_regularized", "reward_hacking": "reward_hacking", "robust": "robust",
    "preference": "preference",
}


def theory_pages(srcdir: Path) -> dict[str, str]:
    """``{check name: theory docname}``: the page naming the check, else its module's page."""
    from mdpkit.checks import load_all

    pages = {p.stem: p.read_text() for p in sorted((srcdir / "theory").glob("*.rst"))
             if p.stem != "index"}
    out: dict[str, str] = {}
    for name, chk in load_all().items():
        hits = [stem for stem, text in pages.items() if re.search(rf"\b{re.escape(name)}\b", text)]
        module = chk.module.rsplit(".", 1)[-1]
        stem = hits[0] if hits else THEORY_OF_MODULE.get(module, module)
        if stem in pages:
            out[name] = f"theory/{stem}"
    return out


def _link(env, fromdoc: str, todoc: str, anchor: str, label: str) -> nodes.reference:
    uri = _BUILDER[0].get_relative_uri(fromdoc, todoc) + (f"#{anchor}" if anchor else "")
    ref = nodes.reference("", "", internal=True, refuri=uri)
    ref += nodes.Text(label)
    return ref


def _row(cells: list[list[nodes.Node]]) -> nodes.row:
    row = nodes.row()
    for cell in cells:
        entry = nodes.entry()
        for node in cell:
            if isinstance(node, nodes.Text):
                para = nodes.paragraph()
                para += node
                node = para
            entry += node
        row += entry
    return row


def _check_row(env, name: str, chk, figs: list[str], theory: str | None) -> nodes.row:
    first = nodes.paragraph()
    first += nodes.literal(name, name)
    links = nodes.paragraph(classes=["mdpkit-check-links"])
    for stem in figs:
        links += _link(env, env.docname, "gallery", nodes.make_id(stem), stem.split("_")[0])
        links += nodes.Text(" ")
    if theory:
        links += _link(env, env.docname, theory, "", "theory")
    flags = ["slow" if chk.slow else "default"]
    if chk.requires:
        flags.append("needs " + ", ".join(chk.requires))
    row = _row([[first, links], [_paragraph(chk.paper)], [_paragraph(chk.statement)],
                [nodes.Text("; ".join(flags))]])
    row["ids"] = [nodes.make_id(f"check-{name}")]
    return row


class CheckTable(Directive):
    """``.. mdpkit-check-table::``: the registry as a table, linked to figures and theory."""

    has_content = False

    def run(self):
        from mdpkit.checks import load_all

        reg = load_all()
        if not reg:
            return [nodes.paragraph(text="No checks are registered in this build.")]
        env = self.state.document.settings.env
        figs, theory = figure_checks(), theory_pages(Path(env.srcdir))
        table = nodes.table(classes=["longtable", "mdpkit-checks"])
        group = nodes.tgroup(cols=4)
        table += group
        for w in (20, 22, 48, 10):
            group += nodes.colspec(colwidth=w)
        head, body = nodes.thead(), nodes.tbody()
        group += head
        group += body
        head += _row([[nodes.Text(h)] for h in ("Check", "Paper", "Statement", "Run")])
        for name, chk in reg.items():
            body += _check_row(env, name, chk, figs.get(name, []), theory.get(name))
        intro = nodes.paragraph()
        intro += nodes.Text(f"{len(reg)} checks are registered. Run one with ")
        intro += nodes.literal("mdpkit check NAME", "mdpkit check NAME")
        intro += nodes.Text(", all with ")
        intro += nodes.literal("mdpkit check --all", "mdpkit check --all")
        intro += nodes.Text(". Each row links to the figures that draw it and to its theory page.")
        return [intro, table]


def _docstring(path: Path) -> str:
    try:
        return ast.get_docstring(ast.parse(path.read_text())) or ""
    except SyntaxError:
        return ""


#: Selects the figures drawn by the docs build: unset or ``all`` (every script), ``none``,
#: or comma-separated stems / ``figNN`` prefixes (the test suite draws one).
FIGURES_ENV = "MDPKIT_DOCS_FIGURES"
_BUILDER: list = []  # the builder of this build (set at builder-inited), for links
_FIGURES: dict[str, list[Path]] = {}  # script stem -> PNGs drawn for this build
_SKIPPED: list[str] = []  # scripts not selected by FIGURES_ENV


def _selected(stems: list[str]) -> list[str]:
    value = os.environ.get(FIGURES_ENV, "all").strip()
    if value.lower() in ("", "all"):
        return stems
    if value.lower() == "none":
        return []
    wanted = [v.strip() for v in value.split(",") if v.strip()]
    return [s for s in stems if any(s == w or s.startswith(w + "_") for w in wanted)]


def _digest(script: Path) -> str:
    import hashlib

    h = hashlib.sha256(script.read_bytes())
    common = script.parent / "_common.py"
    if common.is_file():
        h.update(common.read_bytes())
    return h.hexdigest()


def figures_dir(app) -> Path:
    """Where the docs build draws the gallery: ``<build>/figures``, next to the HTML.

    ``mdpkit_figures_dir`` in ``conf.py`` (or ``MDPKIT_FIGURES_DIR``) overrides it.
    """
    configured = app.config.mdpkit_figures_dir
    if configured:
        return Path(configured)
    outdir = Path(app.outdir).resolve()
    if outdir.parent in (Path(app.srcdir).resolve(), ROOT.resolve()):
        return outdir / "_figures"  # never beside the sources (``-b html docs docs/html``)
    return outdir.parent / "figures"


def _draw(out: Path, stems: list[str]) -> tuple[set[str], str]:
    """Run ``mdpkit figures --quick`` on ``stems``: (failed stems, output tail)."""
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "mdpkit", "figures", "--quick", "--out", str(out),
         "--dir", str(ROOT / "paper_figures"), "--only", *stems],
        cwd=ROOT, capture_output=True, text=True, env={**os.environ, "MPLBACKEND": "Agg"},
    )
    failed = set(re.findall(r"^FAIL\s+(\S+?):?\s", proc.stdout, flags=re.M))
    return failed, "\n".join((proc.stdout + proc.stderr).splitlines()[-20:])


def build_figures(app) -> None:
    """Draw the selected figure scripts in quick mode (at ``builder-inited``), cached.

    A script is redrawn when its text (or ``paper_figures/_common.py``) changed since it
    was drawn into the cache; a script that fails is a build warning (an error with -W).
    """
    import json

    from sphinx.util import logging

    logger = logging.getLogger(__name__)
    _BUILDER[:] = [app.builder]
    scripts = {p.stem: p for p in sorted((ROOT / "paper_figures").glob("fig*.py"))}
    chosen = _selected(list(scripts))
    _SKIPPED[:] = [s for s in scripts if s not in chosen]
    out = figures_dir(app)
    out.mkdir(parents=True, exist_ok=True)
    state_path = out / "docs_cache.json"
    try:
        state = json.loads(state_path.read_text())
    except (OSError, ValueError):
        state = {}
    stale = [s for s in chosen if state.get(s) != _digest(scripts[s]) or not _images(out, s)]
    if stale:
        logger.info(f"mdpkit: drawing {len(stale)} figure(s) in quick mode for the gallery")
        failed, tail = _draw(out, stale)
        for s in stale:
            if s in failed or not _images(out, s):
                state.pop(s, None)
                logger.warning(f"figure script paper_figures/{s}.py failed in quick mode "
                               f"(mdpkit figures --quick --only {s}):\n{tail}")
            else:
                state[s] = _digest(scripts[s])
        state_path.write_text(json.dumps(state, indent=2, sort_keys=True) + "\n")
    _FIGURES.clear()
    _FIGURES.update({s: _images(out, s) for s in chosen})


def _images(fig_dir: Path, stem: str) -> list[Path]:
    """PNGs of one script, from the ``index.json`` that ``mdpkit figures`` writes."""
    import json

    try:
        index = json.loads((fig_dir / "index.json").read_text())
    except (OSError, ValueError):
        return []
    files = [fig_dir / f for f in index.get(stem, [])]
    return [f for f in files if f.suffix == ".png" and f.is_file()]


def _figure_section(env, script: Path, docdir: Path, check: str | None) -> nodes.section:
    sec = nodes.section(ids=[nodes.make_id(script.stem)])
    sec += nodes.title(text=script.stem)
    for para in [p for p in _docstring(script).split("\n\n") if p.strip()]:
        sec += _paragraph(para)
    for png in _FIGURES.get(script.stem, []):
        sec += nodes.image(uri=os.path.relpath(png, docdir), alt=script.stem, width="85%")
    if script.stem in _SKIPPED:
        sec += nodes.paragraph(text=f"(Not drawn in this build: {FIGURES_ENV} selects a "
                                    "subset of the figures.)")
    if check:
        para = nodes.paragraph()
        para += nodes.Text("Theorem check: ")
        para += _link(env, env.docname, "checks", nodes.make_id(f"check-{check}"), check)
        sec += para
    cmd = (f"mdpkit figures --quick --only {script.stem.split('_')[0]}\n"
           f"python paper_figures/{script.name} --out figures   # full size")
    sec += nodes.literal_block(cmd, cmd, language="bash")
    return sec


class Gallery(Directive):
    """``.. mdpkit-gallery::``: one section per ``paper_figures/fig*.py``, with its images."""

    has_content = False

    def run(self):
        env = self.state.document.settings.env
        scripts = sorted((ROOT / "paper_figures").glob("fig*.py"))
        if not scripts:
            return [nodes.paragraph(text="No figure scripts found in paper_figures/.")]
        docdir = Path(env.doc2path(env.docname)).parent
        checks = {stem: name for name, stems in figure_checks().items() for stem in stems}
        return [_figure_section(env, s, docdir, checks.get(s.stem)) for s in scripts]


class SimList(Directive):
    """``.. mdpkit-sims::``: the sims of ``sims/`` with their docstrings and sizes."""

    has_content = False

    def run(self):
        from mdpkit.sweep import load_sim

        files = sorted(p for p in (ROOT / "sims").glob("*.py") if not p.name.startswith("_"))
        if not files:
            return [nodes.paragraph(text="No sims found in sims/.")]
        out = []
        for f in files:
            sec = nodes.section(ids=[nodes.make_id("sim-" + f.stem)])
            sec += nodes.title(text=f"sims/{f.name}")
            # sim docstrings are reST (they are part of the documented product)
            self.state.nested_parse(StringList(_docstring(f).splitlines(), source=str(f)),
                                    self.content_offset, sec)
            size = nodes.paragraph()
            try:
                full, quick = load_sim(f), load_sim(f, quick=True)
                size += nodes.Text(f"{len(full.cells)} settings x {full.n_seeds} seeds = "
                                   f"{full.n_tasks} cells; with ")
                size += nodes.literal(text="--quick")
                size += nodes.Text(f": {quick.n_tasks} cells.")
            except Exception as e:  # a sim whose API is missing in this build
                size += nodes.Text(f"(could not be loaded in this build: {type(e).__name__})")
            sec += size
            sec += nodes.literal_block(text=f"mdpkit sweep sims/{f.name} --quick", language="bash")
            out.append(sec)
        return out


def _generated_pages(app, env, added, changed, removed) -> list[str]:
    """The check table and the gallery are re-read by every build (registry, figures)."""
    return [d for d in ("checks", "gallery") if d in env.found_docs]


def setup(app):
    app.add_config_value("mdpkit_figures_dir", os.environ.get("MDPKIT_FIGURES_DIR", ""), "env")
    app.connect("config-inited", write_api_pages)
    app.connect("builder-inited", build_figures)
    app.connect("env-get-outdated", _generated_pages)
    app.add_directive("mdpkit-check-table", CheckTable)
    app.add_directive("mdpkit-gallery", Gallery)
    app.add_directive("mdpkit-sims", SimList)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
