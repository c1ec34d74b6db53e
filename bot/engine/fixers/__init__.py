"""Deterministic fixers: one module per bandit rule family (see `registry`)."""
