"""The ``mdpkit`` command: ``check``, ``sweep``, ``figures``, ``llm``, ``bench``.

Each subcommand lives in ``mdpkit/commands/<name>.py`` with two functions,
``add_parser(subparsers)`` and ``run(args) -> int``; modules import their heavy
dependencies inside ``run`` so that ``mdpkit check --list`` starts fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

SUBCOMMANDS = ("check", "sweep", "figures", "llm", "bench")


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, object]]:
    """Build the ``mdpkit`` argument parser; also return the subcommand modules by name."""
    parser = argparse.ArgumentParser(
        prog="mdpkit",
        description="Theorem checks, sweeps and figures for regularized MDPs, bandits and best-of-N.",
    )
    from mdpkit import __version__

    parser.add_argument("--version", action="version", version=f"mdpkit {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    modules: dict[str, object] = {}
    for name in SUBCOMMANDS:
        try:
            mod = importlib.import_module(f"mdpkit.commands.{name}")
        except ModuleNotFoundError as e:
            if e.name != f"mdpkit.commands.{name}":
                raise
            continue
        mod.add_parser(sub)  # type: ignore[attr-defined]
        modules[name] = mod
    return parser, modules


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``mdpkit`` console script."""
    parser, modules = build_parser()
    args = parser.parse_args(argv)
    return int(modules[args.command].run(args) or 0)  # type: ignore[attr-defined]


if __name__ == "__main__":
    sys.exit(main())
