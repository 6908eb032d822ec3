"""``mdpkit sweep SIM``: run a sim's grid locally or on Dask, results as Parquet."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path


def _cluster(text: str) -> int:
    m = re.fullmatch(r"local:(\d+)", text)
    if not m or int(m.group(1)) < 1:
        raise argparse.ArgumentTypeError(f"--cluster must look like local:N with N >= 1; got {text!r}")
    return int(m.group(1))


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add the ``sweep`` subcommand and its options to the subparsers ``sub``."""
    p = sub.add_parser(
        "sweep", help="run a sim's grid (local pool or Dask), results as resumable Parquet",
        description="Run every cell of a sim (a file in sims/ or a path) and store the "
                    "rows as Parquet under OUT/<sim>; rerunning resumes.",
    )
    p.add_argument("sim", help="sim file (sims/bandit_regret.py) or sim name (bandit_regret)")
    p.add_argument("--quick", action="store_true", help="use the sim's QUICK_GRID")
    p.add_argument("--out", type=Path, default=Path("results"),
                   help="results root; the sweep goes to OUT/<sim> (OUT/<sim>_quick with "
                        "--quick); default ./results")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--cluster", type=_cluster, metavar="local:N",
                   help="start a Dask LocalCluster with N single-threaded worker processes")
    g.add_argument("--scheduler", metavar="ADDRESS",
                   help="connect to a running Dask scheduler, e.g. tcp://host:8786")
    g.add_argument("--serial", action="store_true", help="run in this process (debugging)")
    p.add_argument("--workers", type=int, default=None,
                   help="local pool size (default: all cores)")
    p.add_argument("--seed", type=int, default=None, help="root seed (default: the sim's ROOT_SEED)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--retry-failed", action="store_true",
                   help="rerun the cells recorded as failed (OUT/<sim>/failures.json)")


def run(args: argparse.Namespace) -> int:
    """Run ``mdpkit sweep`` with the parsed ``args``; return the process exit code."""
    from mdpkit.sweep import CellError, ResultsError, load_sim
    from mdpkit.sweep import run as run_sweep

    try:
        sim = load_sim(args.sim, quick=args.quick, root_seed=args.seed)
        out = args.out / (f"{sim.name}_quick" if args.quick else sim.name)
        kw: dict = {"executor": "local", "n_workers": args.workers}
        if args.cluster is not None:
            kw = {"executor": "dask", "n_workers": args.cluster}
        elif args.scheduler is not None:
            kw = {"executor": "dask", "scheduler": args.scheduler}
        elif args.serial:
            kw = {"executor": "serial"}
        df = run_sweep(sim, out=out, progress=not args.no_progress, retry_failed=args.retry_failed, **kw)
    except CellError as e:  # the other cells ran and are stored; a summary of the failed ones
        print(f"mdpkit sweep: error: {e}", file=sys.stderr)
        return 1
    except (ValueError, TypeError, ResultsError, ConnectionError) as e:
        print(f"mdpkit sweep: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # an unwritable or full --out
        print(f"mdpkit sweep: error: cannot write the results under {str(args.out)!r} "
              f"({e.strerror or e}: {e.filename or args.out}); choose a writable --out.", file=sys.stderr)
        return 2
    except KeyboardInterrupt as e:
        print(f"mdpkit sweep: {e or 'interrupted'}", file=sys.stderr)
        return 130
    info = df.attrs["sweep"]
    print(f"{sim.name}: {len(df)} rows ({len(sim.cells)} settings x {sim.n_seeds} seeds) in {out}; "
          f"{info['n_computed']} computed now, {info['n_stored_before']} read back")
    return 0
