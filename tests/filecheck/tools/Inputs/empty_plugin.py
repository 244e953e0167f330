"""A plugin that adds nothing (canopy-opt must say so)."""
