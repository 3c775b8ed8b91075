"""Reading tabular inputs (energy statistics and other per-unit tables) and writing tables."""

from __future__ import annotations

import os
import re

import pandas as pd

from landcarbon._resources import csv_text
from landcarbon.exceptions import InputError
from landcarbon.io.paths import require_file

__all__ = ["encoding_message", "neutralise_cells", "read_output_csv", "read_table", "write_csv"]

#: text cells a spreadsheet would run as a formula (CSV injection): leading = + - @ tab CR
_FORMULA = re.compile(r"^[=+\-@\t\r]")
#: ... except plain numbers written as text (-5.2, +3, 1e-3): a spreadsheet reads a number
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def read_table(path: str | os.PathLike[str], *, id_column: str, what: str,
               encoding: str | None = None) -> pd.DataFrame:
    """Read a CSV with ``id_column`` as str: UTF-8 with or without BOM (Excel's "CSV
    UTF-8"), or GBK/GB18030 (Excel/WPS "CSV" on a Chinese Windows), detected, unless
    ``encoding`` names it (see :func:`landcarbon._resources.csv_text`).

    Only an empty cell is a missing value: text such as ``n/a``, ``#N/A``, ``NULL`` or ``-``
    stays text, so the checks of numeric columns report it (file, row, column) instead of
    reading it as missing or 0. The row numbers of messages are spreadsheet rows (the header
    is row 1, the first data row is row 2).
    """
    p = require_file(path, what)
    with open(p, "rb") as fh:
        head = fh.read(8)
    if head.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
        raise InputError(f"{what} {path} is an Excel workbook, not a CSV file. In Excel: File "
                         "> Save As > CSV UTF-8 (comma delimited), and give that file.",
                         code="file_unreadable")
    try:
        table = pd.read_csv(csv_text(p, encoding), dtype={id_column: str},
                            keep_default_na=False, na_values=[""])
    except (UnicodeDecodeError, LookupError) as exc:
        raise InputError(encoding_message(what, path, encoding, exc)) from None
    except Exception as exc:
        raise InputError(f"{what} {path} cannot be read as CSV: {exc}.") from exc
    if id_column not in table.columns:
        raise InputError(f"{what} {path} has no column {id_column!r}; columns: "
                         f"{', '.join(map(str, table.columns))}. Rename the id column or set "
                         "id_column in the config.")
    return table


def encoding_message(what: str, path: object, encoding: str | None,
                     exc: UnicodeDecodeError | LookupError) -> str:
    """The message for a table whose bytes do not decode (``exc``) or whose ``encoding`` is
    unknown (a LookupError)."""
    if not isinstance(exc, UnicodeDecodeError):
        return (f"{what} {path}: unknown encoding {encoding!r}. Use utf-8, gbk or gb18030, "
                "or leave it out to detect the encoding.")
    declared = f" as {encoding}" if encoding else " as UTF-8 or GBK/GB18030"
    return (f"{what} {path} cannot be decoded{declared} (byte {exc.start}: "
            f"{exc.reason}). Save it as CSV UTF-8 (Excel: File > Save As > CSV UTF-8), or "
            "give its encoding.")


def _is_text(column: pd.Series) -> bool:
    return column.dtype == object or isinstance(column.dtype, pd.StringDtype)


def _neutral(value: object) -> object:
    if isinstance(value, str) and _FORMULA.match(value) and not _NUMBER.match(value):
        return "'" + value
    return value


def neutralise_cells(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with every text cell (and column name) that starts with ``=``, ``+``,
    ``-``, ``@``, a tab or a carriage return prefixed with a single quote, so that Excel,
    LibreOffice or WPS show it as text instead of running it as a formula. Numbers (also
    ``-5.2`` written as text) are left as they are."""
    out = table.copy()
    for col in out.columns:
        if _is_text(out[col]):
            out[col] = out[col].map(_neutral)
    return out.rename(columns=lambda c: _neutral(c) if isinstance(c, str) else c)


def write_csv(table: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """Write a CSV in UTF-8 with BOM (opens correctly in Excel with Chinese text); text
    cells that a spreadsheet would run as a formula are neutralised
    (:func:`neutralise_cells`)."""
    neutralise_cells(table).to_csv(path, index=False, encoding="utf-8-sig",
                                   float_format="%.6f", lineterminator="\n")


def _restore(value: object) -> object:
    if isinstance(value, str) and value.startswith("'") and _FORMULA.match(value[1:]):
        return value[1:]
    return value


def read_output_csv(path: str | os.PathLike[str], **kwargs: object) -> pd.DataFrame:
    """Read a CSV that :func:`write_csv` wrote, undoing its formula neutralisation."""
    table = pd.read_csv(path, encoding="utf-8-sig", **kwargs)  # type: ignore[arg-type]
    for col in table.columns:
        if _is_text(table[col]):
            table[col] = table[col].map(_restore)
    return table.rename(columns=lambda c: _restore(c) if isinstance(c, str) else c)
