"""``python -m landcarbon.cli``."""

from landcarbon.cli import entry

entry()
