"""Sphinx extension for the mdpkit docs: generated API pages, check table, gallery.

* API pages (``api/generated/<module>.rst``) are written at ``config-inited`` from the
  public ``__all__`` lists, so the reference always covers every public name; the
  autosummary extension then renders one page per object from its docstring.
* ``.. mdpkit-check-table::`` renders the theorem-check registry
  (:func:`mdpkit.checks.load_all`) as a table at build time.
* ``.. mdpkit-sims::`` lists the sims of ``sims/`` (docstring, grid size).
* ``.. mdpkit-gallery::`` lists the scripts ``paper_figures/fig*.py`` with their
  docstrings and, when ``mdpkit figures`` has been run into ``mdpkit_figures_dir``, their
  images.
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
    "sweep", "plotting", "llm", "preference",
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


class CheckTable(Directive):
    """``.. mdpkit-check-table::``: the registry as a table (name, paper, statement)."""

    has_content = False

    def run(self):
        from mdpkit.checks import load_all

        reg = load_all()
        if not reg:
            return [nodes.paragraph(text="No checks are registered in this build.")]
        table = nodes.table(classes=["longtable"])
        group = nodes.tgroup(cols=4)
        table += group
        for w in (18, 25, 45, 12):
            group += nodes.colspec(colwidth=w)
        head = nodes.thead()
        group += head
        body = nodes.tbody()
        group += body

        def row(cells, literal_first=False):
            r = nodes.row()
            for i, c in enumerate(cells):
                entry = nodes.entry()
                para = nodes.paragraph()
                para += nodes.literal(text=c) if (literal_first and i == 0) else nodes.Text(c)
                entry += para
                r += entry
            return r

        head += row(["Check", "Paper", "Statement", "Run"])
        for name, chk in reg.items():
            flags = ["slow" if chk.slow else "default"]
            if chk.requires:
                flags.append("needs " + ", ".join(chk.requires))
            body += row([name, chk.paper, chk.statement, "; ".join(flags)], literal_first=True)
        intro = nodes.paragraph(
            text=f"{len(reg)} checks are registered. Run one with `mdpkit check NAME`, "
                 "all with `mdpkit check --all`.")
        return [intro, table]


def _docstring(path: Path) -> str:
    try:
        return ast.get_docstring(ast.parse(path.read_text())) or ""
    except SyntaxError:
        return ""


def _images(fig_dir: Path, stem: str) -> list[Path]:
    """PNGs of one script: from ``index.json`` written by ``mdpkit figures``, else by name."""
    import json

    if not fig_dir.is_dir():
        return []
    try:
        index = json.loads((fig_dir / "index.json").read_text())
    except (OSError, ValueError):
        index = {}
    if stem in index:
        files = [fig_dir / f if not Path(f).is_absolute() else Path(f) for f in index[stem]]
        return [f for f in files if f.suffix == ".png" and f.is_file()]
    return sorted(fig_dir.glob(f"{stem}*.png"))


class Gallery(Directive):
    """``.. mdpkit-gallery::``: one section per ``paper_figures/fig*.py``."""

    has_content = False

    def run(self):
        env = self.state.document.settings.env
        fig_dir = Path(env.config.mdpkit_figures_dir)
        scripts = sorted((ROOT / "paper_figures").glob("fig*.py"))
        if not scripts:
            return [nodes.paragraph(text="No figure scripts found in paper_figures/.")]
        docdir = Path(env.doc2path(env.docname)).parent
        out = []
        for s in scripts:
            sec = nodes.section(ids=[nodes.make_id(s.stem)])
            sec += nodes.title(text=s.stem)
            doc = _docstring(s)
            for para in [p for p in doc.split("\n\n") if p.strip()]:
                sec += nodes.paragraph(text=" ".join(para.split()))
            cmd = f"mdpkit figures --only {s.stem.split('_')[0]}    # or: python paper_figures/{s.name} --out figures"
            sec += nodes.literal_block(text=cmd, language="bash")
            pngs = _images(fig_dir, s.stem)
            for png in pngs:
                uri = os.path.relpath(png, docdir)
                sec += nodes.image(uri=uri, alt=s.stem, width="80%")
            if not pngs:
                sec += nodes.paragraph(
                    text=f"(Image not rendered in this build: run `mdpkit figures --out "
                         f"{fig_dir}` before building the docs.)")
            out.append(sec)
        return out


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


def setup(app):
    default = os.environ.get("MDPKIT_FIGURES_DIR", str(ROOT / "figures"))
    app.add_config_value("mdpkit_figures_dir", default, "env")
    app.connect("config-inited", write_api_pages)
    app.add_directive("mdpkit-check-table", CheckTable)
    app.add_directive("mdpkit-gallery", Gallery)
    app.add_directive("mdpkit-sims", SimList)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
