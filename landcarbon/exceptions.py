"""Errors raised by landcarbon.

Every message is one paragraph that says **what** is wrong, **where** (file, field, unit id,
class code) and **how to fix it**. The CLI prints the message and exits with code 1 without a
traceback (``--debug`` shows it).
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "InputError",
    "LandcarbonError",
    "OutputExistsError",
    "UnmappedCodesError",
]


class LandcarbonError(Exception):
    """Base class of every error landcarbon raises on purpose."""


class ConfigError(LandcarbonError):
    """The run configuration is invalid (unknown keys, wrong types, missing settings).

    ``problems`` lists every problem found, one line each.
    """

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems: list[str] = list(problems or [])


class InputError(LandcarbonError):
    """An input file or table is missing, unreadable or inconsistent."""


class UnmappedCodesError(InputError):
    """The land-cover raster holds class codes that the legend does not map.

    ``counts`` maps each unmapped code to its pixel count.
    """

    def __init__(self, message: str, counts: dict[int, int]) -> None:
        super().__init__(message)
        self.counts = dict(counts)


class OutputExistsError(LandcarbonError):
    """The output location exists and ``overwrite`` was not requested."""
