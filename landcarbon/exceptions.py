"""Errors raised by landcarbon.

Every message is one paragraph that says **what** is wrong, **where** (file, field, unit id,
class code) and **how to fix it**. The CLI prints the message and exits with code 1 without a
traceback (``--debug`` shows it).

Every error carries a stable ``code`` (the problem codes of :mod:`landcarbon.problems`, e.g.
``file_missing``, ``units_not_polygons``), so callers test ``exc.code`` instead of matching
text. A class gives its default code; ``code=`` overrides it for one error.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "ConfigError",
    "InputError",
    "InputProblemsError",
    "LandcarbonError",
    "OutputBusyError",
    "OutputExistsError",
    "OutputWriteError",
    "UnmappedCodesError",
    "UnsafeOutputError",
]


class LandcarbonError(Exception):
    """Base class of every error landcarbon raises on purpose.

    ``code`` is a stable problem code (see :mod:`landcarbon.problems`).
    """

    code: str = "error"

    def __init__(self, *args: object, code: str | None = None) -> None:
        super().__init__(*args)
        if code is not None:
            self.code = code


class ConfigError(LandcarbonError):
    """The run configuration is invalid (unknown keys, wrong types, missing settings).

    ``problems`` lists every problem found, one line each.
    """

    code = "config_invalid"

    def __init__(self, message: str, problems: list[str] | None = None, *,
                 code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.problems: list[str] = list(problems or [])


class InputError(LandcarbonError):
    """An input file or table is missing, unreadable or inconsistent."""

    code = "input_invalid"


class InputProblemsError(InputError):
    """The pre-flight check (the checks of ``landcarbon validate``) found errors: the
    command stops before computing anything.

    ``problems`` holds the :class:`~landcarbon.problems.Problem` records (errors and
    warnings); ``code`` is the code of the first error.
    """

    def __init__(self, message: str, problems: Sequence[object]) -> None:
        first = next((p for p in problems if getattr(p, "severity", "") == "error"), None)
        super().__init__(message, code=getattr(first, "code", "input_invalid"))
        self.problems = list(problems)


class UnmappedCodesError(InputError):
    """The land-cover raster holds class codes that the legend does not map.

    ``counts`` maps each unmapped code to its pixel count.
    """

    code = "unmapped_codes"

    def __init__(self, message: str, counts: dict[int, int]) -> None:
        super().__init__(message)
        self.counts = dict(counts)


class OutputExistsError(LandcarbonError):
    """The output location exists and ``overwrite`` was not requested."""

    code = "output_exists"


class UnsafeOutputError(OutputExistsError):
    """The output location holds something landcarbon did not write (or an input of the run):
    it is never replaced or deleted, even with ``overwrite``."""

    code = "output_unsafe"


class OutputBusyError(OutputExistsError):
    """Another landcarbon process is writing the same output (it holds the lock file)."""

    code = "output_busy"


class OutputWriteError(LandcarbonError):
    """The output cannot be written: read-only folder, full disk, file-size limit, a path too
    long for the file system. Nothing half-written is left."""

    code = "output_not_writable"
