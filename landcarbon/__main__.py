"""``python -m landcarbon`` = the ``landcarbon`` command."""

from landcarbon.cli import main

if __name__ == "__main__":
    main(prog_name="landcarbon")
