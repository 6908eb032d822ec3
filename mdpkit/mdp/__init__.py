"""mdpkit.mdp (under construction)."""
