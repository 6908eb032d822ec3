"""``mdpkit check NAME... | --all | --list``: run theorem checks and write a report."""

from __future__ import annotations

import argparse
from pathlib import Path

from . import writable_out


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add the ``check`` subcommand and its options to the subparsers ``sub``."""
    p = sub.add_parser("check", help="run theorem checks (measured vs predicted, PASS/FAIL)")
    p.add_argument("names", nargs="*", help="checks to run (see --list)")
    p.add_argument("--all", action="store_true", help="run every registered check")
    p.add_argument("--list", action="store_true", help="list registered checks and exit")
    p.add_argument("--quick", action="store_true", help="reduced instances (seconds)")
    p.add_argument("--skip-slow", action="store_true", help="with --all, leave out checks marked slow")
    p.add_argument("--seed", type=int, default=0, help="root seed (default 0)")
    p.add_argument("--out", type=Path, default=Path("report"),
                   help="report folder: report.md + figures (default ./report)")
    p.add_argument("--no-figures", action="store_true", help="do not draw figures")


def run(args: argparse.Namespace) -> int:
    """Run ``mdpkit check`` with the parsed ``args``; return the process exit code."""
    from mdpkit.checks import format_table, load_all, run_check, write_report

    reg = load_all()
    if args.list:
        w = max((len(n) for n in reg), default=0)
        for name, chk in reg.items():
            flags = ("slow " if chk.slow else "") + (f"needs {','.join(chk.requires)}" if chk.requires else "")
            print(f"{name.ljust(w)}  {chk.paper}" + (f"  [{flags.strip()}]" if flags else ""))
        return 0
    if args.all == bool(args.names):
        print("mdpkit check: give check names, or --all, or --list")
        return 2
    names = list(reg) if args.all else args.names
    if args.all and args.skip_slow:
        names = [n for n in names if not reg[n].slow]
    unknown = [n for n in names if n not in reg]
    if unknown:
        print(f"mdpkit check: unknown check(s) {unknown}; known: {sorted(reg)}")
        return 2
    if not writable_out(args.out, "check"):  # before any work
        return 2
    fig_dir = None if args.no_figures else args.out / "figures"
    results = []
    for n in names:
        res = run_check(n, quick=args.quick, seed=args.seed, out_dir=fig_dir)
        print(f"{res.status:5s} {n} ({res.seconds:.1f}s)", flush=True)
        results.append(res)
    print()
    print(format_table(results))
    path = write_report(results, args.out)
    print(f"\nreport: {path}")
    return 0 if all(r.passed for r in results) else 1
