"""mdpkit.bon (under construction)."""
