"""Formatting results for people: terminal tables (and, in ``plots``, figures)."""
