"""Comparison pages: runs side by side (a built-in plugin)."""
