"""``mdpkit bench [NAME...] [--quick]``: run the benchmark scripts of a source checkout.

Benchmarks live in ``benchmarks/bench_<name>.py`` next to the package (they are not
installed); each prints ratios against baselines measured in the same process and
saves JSON under ``benchmarks/results/``.
"""

from __future__ import annotations

import argparse
import runpy
import sys
from pathlib import Path


def _bench_dir() -> Path | None:
    import mdpkit

    for base in (Path.cwd(), Path(mdpkit.__file__).resolve().parent.parent):
        d = base / "benchmarks"
        if d.is_dir() and any(d.glob("bench_*.py")):
            return d
    return None


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add the ``bench`` subcommand and its options to the subparsers ``sub``."""
    p = sub.add_parser("bench", help="run benchmarks (ratios against baselines in the same run)")
    p.add_argument("names", nargs="*", help="benchmarks to run, e.g. solvers bandits (default: all)")
    p.add_argument("--quick", action="store_true", help="pass --quick to each benchmark")
    p.add_argument("--list", action="store_true", help="list available benchmarks")


def run(args: argparse.Namespace) -> int:
    """Run ``mdpkit bench`` with the parsed ``args``; return the process exit code."""
    d = _bench_dir()
    if d is None:
        print("mdpkit bench: no benchmarks/ folder found (benchmarks ship with the source checkout).")
        return 2
    avail = {p.stem.removeprefix("bench_"): p for p in sorted(d.glob("bench_*.py"))}
    if args.list:
        print("\n".join(avail))
        return 0
    names = args.names or list(avail)
    unknown = [n for n in names if n not in avail]
    if unknown:
        print(f"mdpkit bench: unknown benchmark(s) {unknown}; available: {sorted(avail)}")
        return 2
    for n in names:
        print(f"== benchmarks/bench_{n}.py", flush=True)
        argv = sys.argv
        sys.argv = [str(avail[n])] + (["--quick"] if args.quick else [])
        try:
            runpy.run_path(str(avail[n]), run_name="__main__")
        except SystemExit as e:
            if e.code not in (0, None):
                return int(e.code) if isinstance(e.code, int) else 1
        finally:
            sys.argv = argv
    return 0
