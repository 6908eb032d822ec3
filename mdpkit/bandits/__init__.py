"""mdpkit.bandits (under construction)."""
