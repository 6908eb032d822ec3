"""mdpkit.solvers (under construction)."""
