"""mdpkit.sweep (under construction)."""
