"""``python -m landcarbon.cli``."""

from landcarbon.cli import main

main()
