"""mdpkit.learners (under construction)."""
