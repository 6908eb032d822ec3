"""Subcommands of the ``mdpkit`` console script (see :mod:`mdpkit.cli`)."""

from __future__ import annotations

import sys
from pathlib import Path


def writable_out(out: Path, command: str) -> bool:
    """Create ``out`` and probe that it is writable; otherwise print one error line to stderr."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".mdpkit-write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as e:
        print(f"mdpkit {command}: error: cannot write to --out {str(out)!r} ({e.strerror or e}); "
              "choose a writable folder.", file=sys.stderr)
        return False
    return True
