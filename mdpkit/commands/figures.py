"""``mdpkit figures``: regenerate every paper figure (``paper_figures/fig*.py``)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from . import writable_out


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add the ``figures`` subcommand and its options to the subparsers ``sub``."""
    p = sub.add_parser(
        "figures", help="regenerate every figure in paper_figures/ (PDF + PNG)",
        description="Run main(out_dir, quick) of every paper_figures/fig*.py script.",
    )
    p.add_argument("--quick", action="store_true", help="reduced instances (CI)")
    p.add_argument("--out", type=Path, default=Path("figures"),
                   help="output folder (default ./figures)")
    p.add_argument("--dir", type=Path, default=Path("paper_figures"),
                   help="folder of figure scripts (default ./paper_figures)")
    p.add_argument("--only", nargs="*", default=None, metavar="NAME",
                   help="only these scripts (file stems or their NN prefix, e.g. fig61)")


def discover(folder: Path, only: list[str] | None = None) -> list[Path]:
    """Return the figure scripts ``fig*.py`` of ``folder``, sorted, optionally filtered."""
    scripts = sorted(folder.glob("fig*.py"))
    if only:
        scripts = [s for s in scripts if any(s.stem == o or s.stem.startswith(o + "_") for o in only)]
    return scripts


def run_script(path: Path, out_dir: Path, quick: bool) -> list[Path]:
    """Import one figure script from its file and call its ``main(out_dir, quick)``."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"_mdpkit_fig_{path.stem}", path)
    mod = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    folder = str(path.parent.resolve())
    added = folder not in sys.path
    if added:  # scripts may import their shared helpers (paper_figures/_common.py)
        sys.path.insert(0, folder)
    try:
        spec.loader.exec_module(mod)  # type: ignore[union-attr]
        main = getattr(mod, "main", None)
        if not callable(main):
            raise TypeError(f"{path} must define main(out_dir, quick=False)")
        return [Path(p) for p in main(out_dir, quick=quick)]
    finally:
        if added:
            sys.path.remove(folder)


INDEX = "index.json"


def _relative(path: Path, out: Path) -> str:
    try:
        return path.resolve().relative_to(out.resolve()).as_posix()
    except ValueError:
        return str(path.resolve())


def _write_index(out: Path, new: dict[str, list[str]]) -> None:
    """Record which files each script wrote (``OUT/index.json``; read by the docs gallery)."""
    import json

    path = out / INDEX
    try:
        index = json.loads(path.read_text()) if path.exists() else {}
    except (OSError, ValueError):
        index = {}
    index.update(new)
    tmp = path.with_name(f".{INDEX}.tmp")
    tmp.write_text(json.dumps(dict(sorted(index.items())), indent=2) + "\n")
    tmp.replace(path)


def run(args: argparse.Namespace) -> int:
    """Run ``mdpkit figures`` with the parsed ``args``; return the process exit code."""
    if not args.dir.is_dir():
        print(f"mdpkit figures: error: no figure folder {str(args.dir)!r}; run from a checkout "
              "of the repository or pass --dir.", file=sys.stderr)
        return 2
    scripts = discover(args.dir, args.only)
    if not scripts:
        print(f"mdpkit figures: error: no fig*.py scripts in {str(args.dir)!r}"
              + (f" matching {args.only}" if args.only else ""), file=sys.stderr)
        return 2
    import traceback

    if not writable_out(args.out, "figures"):  # before any work
        return 2
    failed = []
    index: dict[str, list[str]] = {}
    for s in scripts:
        t0 = time.perf_counter()
        try:
            paths = run_script(s, args.out, args.quick)
        except (Exception, SystemExit):  # scripts may call sys.exit(); keep going
            failed.append(s.stem)
            print(f"FAIL  {s.stem} ({time.perf_counter() - t0:.1f}s)\n{traceback.format_exc()}",
                  flush=True)
            continue
        missing = [p for p in paths if not p.is_file()]
        if not paths or missing:
            failed.append(s.stem)
            print(f"FAIL  {s.stem}: main() returned no files or missing ones {missing}", flush=True)
            continue
        names = ", ".join(p.name for p in paths)
        print(f"ok    {s.stem} ({time.perf_counter() - t0:.1f}s): {names}", flush=True)
        index[s.stem] = [_relative(p, args.out) for p in paths]
    _write_index(args.out, index)
    print(f"\n{len(scripts) - len(failed)}/{len(scripts)} figure scripts succeeded; output in {args.out}")
    if failed:
        print(f"mdpkit figures: {len(failed)} script(s) failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0
