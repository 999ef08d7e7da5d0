"""MkDocs plugin for xsite: see plugin.py."""
