"""Theorem checks: each compares the package's answer with an independent route.

Run them from the command line (``mdpkit check --all``) or from Python:

>>> from mdpkit import checks
>>> "vi_pi_mpi_lp_agree" in checks.load_all()
True
"""

from ._registry import (
    Check,
    CheckContext,
    CheckResult,
    Comparison,
    get,
    load_all,
    register,
    run_check,
)
from ._report import format_table, write_report

__all__ = [
    "Check",
    "CheckContext",
    "CheckResult",
    "Comparison",
    "format_table",
    "get",
    "load_all",
    "register",
    "run_check",
    "write_report",
]
