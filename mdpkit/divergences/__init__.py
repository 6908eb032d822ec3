"""mdpkit.divergences (under construction)."""
