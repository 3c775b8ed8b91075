"""The ``landcarbon`` command line (click). Thin: parse, call the pipeline or the publishing
layer, map errors to exit codes (see :mod:`landcarbon.cli._base`).

Each command group lives in its own private module, imported here so that it registers its
commands on :data:`main`. A new command = a new module + one name in ``_COMMAND_MODULES``.
"""

from __future__ import annotations

import importlib

from landcarbon.cli._base import entry, main

__all__ = ["entry", "main"]

_COMMAND_MODULES = ("_core", "_zoning", "_publish", "_change", "_batch", "_stocks")

for _name in _COMMAND_MODULES:
    importlib.import_module(f"landcarbon.cli.{_name}")
