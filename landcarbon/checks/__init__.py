"""Checks: problem records and the checks of input units and tables."""
