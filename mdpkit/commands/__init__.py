"""Subcommands of the ``mdpkit`` console script (see :mod:`mdpkit.cli`)."""
