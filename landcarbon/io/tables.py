"""Reading tabular inputs (energy statistics and other per-unit tables) and writing tables."""

from __future__ import annotations

import hashlib
import os
import re
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from landcarbon._resources import csv_text
from landcarbon.exceptions import InputError
from landcarbon.io.outputs import remember_sha256
from landcarbon.io.paths import require_file

__all__ = ["OUTPUT_ENCODINGS", "encoding_message", "neutralise_cells", "read_output_csv",
           "read_table", "write_csv", "write_csv_parts"]

#: text cells a spreadsheet would run as a formula (CSV injection): leading = + - @ tab CR
_FORMULA_FIRST = "=+-@\t\r\n"
_FORMULA = re.compile(f"^[{re.escape(_FORMULA_FIRST)}]")
#: ... except plain numbers written as text (-5.2, +3, 1e-3): a spreadsheet reads a number
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def read_table(path: str | os.PathLike[str], *, id_column: str, what: str,
               encoding: str | None = None) -> pd.DataFrame:
    """Read a CSV with ``id_column`` as str: UTF-8 with or without BOM (Excel's "CSV
    UTF-8"), or GBK/GB18030 (Excel/WPS "CSV" on a Chinese Windows), detected, unless
    ``encoding`` names it (see :func:`landcarbon._resources.csv_text`).

    Only an empty cell is a missing value: text such as ``n/a``, ``#N/A``, ``NULL`` or ``-``
    stays text, so the checks of numeric columns report it (file, row, column) instead of
    reading it as missing or 0. Rows without any value (blank lines, ``,,,``) are left out;
    the others keep their position as index, so that index + 2 is their spreadsheet row (the
    header is row 1), which messages name.
    """
    p = require_file(path, what)
    try:
        text = csv_text(p, encoding, what=what)
        _check_header(what, path, text.getvalue())
        table = pd.read_csv(text, dtype={id_column: str}, keep_default_na=False,
                            na_values=[""], skip_blank_lines=False)
    except (UnicodeDecodeError, LookupError) as exc:
        raise InputError(encoding_message(what, path, encoding, exc)) from None
    except InputError:  # an Excel workbook, named
        raise
    except Exception as exc:
        raise InputError(f"{what} {path} cannot be read as CSV: {exc}. Every row must have "
                         "as many cells as the header (a comma inside a cell needs quotes: "
                         "save it from Excel or WPS as CSV).") from exc
    if not isinstance(table.index, pd.RangeIndex):  # pandas took the first column for an index
        raise InputError(_long_rows_message(what, path, text.getvalue()))
    if id_column not in table.columns:
        names = [str(c) for c in table.columns]
        other = next((sep for sep in (";", "\t", "|") if len(names) == 1
                      and sep in names[0]), None)
        hint = (f" The header is one cell holding {other!r}: the file is separated by "
                f"{'tabs' if other == chr(9) else repr(other)}, not commas. Save it as CSV "
                "(comma delimited)." if other else "")
        fix = hint or " Rename the id column or set id_column in the config."
        raise InputError(f"{what} {path} has no column {id_column!r}; columns: "
                         f"{', '.join(names)}.{fix}")
    table[id_column] = table[id_column].str.strip()  # ids as the units give them
    # rows without any value (blank lines, Excel's ",,," rows) are no data; the others keep
    # their index, so that index + 2 is their spreadsheet row wherever a message names one
    return table[table.notna().any(axis=1).to_numpy()]


def _check_header(what: str, path: object, text: str) -> None:
    """Refuse a header naming a column twice (pandas renames the copy ``name.1``, which
    then reads as an unknown column)."""
    import csv
    import io

    header = [c.strip() for c in next(csv.reader(io.StringIO(text)), [])]
    twice = sorted({c for c in header if c and header.count(c) > 1})
    if twice:
        raise InputError(f"{what} {path}: the header names column(s) {', '.join(twice)} more "
                         "than once. Give each column once (add up the values of repeated "
                         "columns first).")


def _long_rows_message(what: str, path: object, text: str) -> str:
    """The message for a CSV whose rows have more cells than its header (which pandas reads
    by taking the first column for an index, shifting every column)."""
    import csv
    import io

    rows = csv.reader(io.StringIO(text))
    header = len(next(rows, []))
    long = [(i, len(r)) for i, r in enumerate(rows, start=2) if len(r) > header]
    listing = ", ".join(f"row {i} has {n}" for i, n in long[:10])
    first = text.splitlines()[0] if text else ""
    if header == 1 and any(sep in first for sep in (";", "\t")):
        sep = "tabs" if "\t" in first else "';'"
        split = ", ".join(str(i) for i, _ in long[:10])
        return (f"{what} {path}: the header is one cell holding {sep}: the file is separated "
                f"by {sep}, not commas, and the decimal commas of row(s) {split} split them "
                "into cells. Save it as CSV (comma delimited) with decimal points.")
    return (f"{what} {path}: {len(long)} row(s) have more cells than the header's {header} "
            f"(spreadsheet rows, header = row 1): {listing}. Remove the extra cells (a stray "
            "comma at the end of a row, or a comma inside a number such as 1,234: write "
            "1234), or quote a cell holding a comma.")


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
    """Text cells: object or string columns, and categoricals of them (neutralised alike)."""
    dtype = column.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        dtype = dtype.categories.dtype
    return (isinstance(dtype, np.dtype) and dtype.kind == "O") or isinstance(dtype, pd.StringDtype)


def _neutral_text(value: str) -> str:
    if "\r" in value:  # a lone CR ends a row in spreadsheets, yet the csv module (rows end
        # with LF) leaves such a cell unquoted: written as the line break it stands for
        value = value.replace("\r\n", "\n").replace("\r", "\n")
    return "'" + value if _FORMULA.match(value) and not _NUMBER.match(value) else value


def _neutral(value: object) -> object:
    return _neutral_text(value) if isinstance(value, str) else value


def _neutral_column(column: pd.Series) -> pd.Series | None:
    """``column`` with its formula-like cells neutralised, or None when none is: each
    distinct value is looked at once (ids and class names repeat over many rows)."""
    try:
        distinct = pd.unique(column)
    except TypeError:  # unhashable cells: look at every one
        return column.map(_neutral)
    changed = {v: n for v in distinct if (n := _neutral(v)) is not v}
    if not changed:
        return None
    return column.map(lambda v: changed.get(v, v) if isinstance(v, str) else v)


def neutralise_cells(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with every text cell (and column name) that starts with ``=``, ``+``,
    ``-``, ``@``, a tab or a line break prefixed with a single quote, so that Excel,
    LibreOffice or WPS show it as text instead of running it as a formula. Numbers (also
    ``-5.2`` written as text) are left as they are. Carriage returns become line feeds
    (quoted in the file like any line break: a lone CR would end the row)."""
    out = table.copy()
    for i in range(out.shape[1]):
        column = out.iloc[:, i]
        if _is_text(column):
            neutral = _neutral_column(column)
            if neutral is not None:
                out.isetitem(i, neutral)
    return out.rename(columns=lambda c: _neutral(c) if isinstance(c, str) else c)


#: How :func:`write_csv` writes floating-point cells (NaN: an empty cell).
FLOAT_FORMAT = "%.6f"
#: Characters that make the csv module quote a cell (``QUOTE_MINIMAL``, ``doublequote``).
_QUOTED = re.compile(r'[,"]')
_LINE_BREAK = re.compile(r"[\r\n]")


def _quoted(cell: str) -> str:
    return '"' + cell.replace('"', '""') + '"'


def _column_cells(column: pd.Series) -> list[str] | None:
    """The cells pandas' ``to_csv(float_format=FLOAT_FORMAT, na_rep="")`` writes for
    ``column`` (numpy integers, booleans and floats, or text; quoted as the csv module quotes
    them), or None for any other column or text holding a line break."""
    dtype = column.dtype
    values = column.to_numpy()
    if isinstance(dtype, np.dtype) and dtype.kind == "f":
        cells = list(map(FLOAT_FORMAT.__mod__, values.tolist()))
        for i in np.flatnonzero(np.isnan(values)).tolist():
            cells[i] = ""
        return cells
    if isinstance(dtype, np.dtype) and dtype.kind in "iub":
        return list(map(str, values.tolist()))
    if not _is_text(column):
        return None
    missing = pd.isna(values)
    if missing.any():
        values = values.copy()
        values[missing] = ""
    cells = values.tolist()
    distinct = set(cells)
    if any(isinstance(v, bool | np.bool_) for v in distinct):  # flags with gaps
        cells = [v if isinstance(v, str) else str(v) for v in cells]
        distinct = set(cells)
    if not all(isinstance(v, str) and not _LINE_BREAK.search(v) for v in distinct):
        return None
    quoted = {v: _quoted(v) for v in distinct if _QUOTED.search(v)}
    return [quoted.get(v, v) for v in cells] if quoted else cells


def _csv_text(table: pd.DataFrame) -> str:
    """``table`` as pandas' ``to_csv(index=False, float_format=FLOAT_FORMAT,
    lineterminator="\\n")`` writes it (the same text): columns of numbers and plain text are
    joined directly (pandas formats each float cell through a Python call of its own and
    writes each row through the csv module: seconds for the tables of a change run), others
    are left to pandas."""
    names = [str(c) for c in table.columns]
    columns = [_column_cells(table.iloc[:, i]) for i in range(table.shape[1])]
    if (table.shape[1] < 2 or not all(isinstance(c, str) for c in table.columns)
            or any(_QUOTED.search(n) or _LINE_BREAK.search(n) for n in names)
            or any(c is None for c in columns)):
        return table.to_csv(index=False, float_format=FLOAT_FORMAT, lineterminator="\n")
    rows = map(",".join, zip(*columns, strict=True))
    return "\n".join([",".join(names), *rows]) + "\n"


#: Encodings of output CSVs (``[output] csv_encoding``).
OUTPUT_ENCODINGS = ("utf-8-sig", "gbk", "gb18030")
#: Tables of at least this many cells take the compiled route (:func:`_compiled_csv`),
#: smaller ones the joins of :func:`_csv_text`; at least ``[1]`` cells while numba is not
#: loaded yet (loading it and its cached loops: about 0.4 s, once per process).
_COMPILED_CELLS = (20_000, 2_000_000)


def _text_pool(column: pd.Series, encoding: str) -> tuple[list[bytes], np.ndarray] | None:
    """The encoded distinct cells of text ``column`` (neutralised, quoted; or flags with
    gaps: True / False) and the cell number of each row (-1: missing, an empty cell), or
    None when a value is not text, holds a line break or does not encode."""
    if isinstance(column.dtype, pd.CategoricalDtype):  # already coded (missing: -1)
        codes, values = column.cat.codes.to_numpy(), column.cat.categories.tolist()
    else:
        codes, distinct = pd.factorize(column.to_numpy())  # missing values: code -1
        values = distinct.tolist()
    if (values and all(isinstance(v, bool | np.bool_) for v in values)  # 1 == True: all?
            and pd.api.types.infer_dtype(column, skipna=True) == "boolean"):
        return [str(v).encode(encoding) for v in values], codes
    if not all(isinstance(v, str) for v in values):
        return None
    joined = "\0".join(values)  # one search of every cell (tens of thousands of reasons)
    if "\n" in joined or "\r" in joined:
        return None
    cells = [_neutral_text(v) if v[:1] in _FORMULA_FIRST and v else v for v in values]
    try:
        encoded = [(_quoted(c) if "," in c or '"' in c else c).encode(encoding)
                   for c in cells]
    except UnicodeEncodeError:
        return None
    return encoded, codes


def _compiled_csv(table: pd.DataFrame, encoding: str) -> Iterator[bytes | memoryview] | None:
    """The bytes ``_csv_text(neutralise_cells(table)).encode(encoding)`` in chunks (see
    :func:`landcarbon.io._csv_fast.csv_chunks`), or None for a table of fewer than two
    columns, with a column name that is not text or would be quoted, a column that is
    neither numpy numbers nor text (or text with a line break), or text ``encoding`` cannot
    encode (left to the general route, which names that cell)."""
    from landcarbon.io import _csv_fast  # numba, loaded for large tables only

    base = "utf-8" if encoding == "utf-8-sig" else encoding
    names = [_neutral_text(c) if isinstance(c, str) else None for c in table.columns]
    if len(names) < 2 or not all(n is not None and not _QUOTED.search(n)
                                 and not _LINE_BREAK.search(n) for n in names):
        return None
    columns = []
    for i in range(table.shape[1]):
        column = table.iloc[:, i]
        kind = column.dtype.kind if isinstance(column.dtype, np.dtype) else ""
        if kind == "f":
            columns.append(_csv_fast.float_column(column.to_numpy()))
        elif kind == "b":
            columns.append(_csv_fast.text_column([b"False", b"True"], column.to_numpy()))
        elif kind in ("i", "u"):
            columns.append(_csv_fast.int_column(column.to_numpy()))
        elif _is_text(column) and (text := _text_pool(column, base)) is not None:
            columns.append(_csv_fast.text_column(*text))
        else:
            return None
    try:
        header = ("\ufeff" * (encoding == "utf-8-sig") + ",".join(map(str, names))
                  + "\n").encode(base)
    except UnicodeEncodeError:
        return None
    return _csv_fast.csv_chunks(header, columns)


def write_csv(table: pd.DataFrame, path: str | os.PathLike[str], *,
              encoding: str = "utf-8-sig") -> None:
    """Write a CSV for spreadsheets; text cells that a spreadsheet would run as a formula are
    neutralised (:func:`neutralise_cells`).

    ``encoding``: ``utf-8-sig`` (UTF-8 with BOM: opens correctly in Excel and current WPS
    with Chinese text), ``gbk`` (old WPS / Excel installs; a text GBK cannot encode is an
    error, nothing is written) or ``gb18030`` (the same bytes as GBK for every character GBK
    has; never fails).

    Raises
    ------
    InputError
        ``gbk`` and a cell (or column name) GBK cannot encode: the file, column, row and
        value are named (code ``output_encoding``).
    """
    write_csv_parts([table], path, encoding=encoding)


def write_csv_parts(parts: Iterable[pd.DataFrame], path: str | os.PathLike[str], *,
                    encoding: str = "utf-8-sig") -> None:
    """:func:`write_csv` of the tables ``parts`` (same columns) one after the other: the
    bytes of their concatenation, one header, without putting them together in memory (a
    large table made part by part: a generator of parts is taken one part at a time)."""
    if encoding not in OUTPUT_ENCODINGS:
        raise ValueError(f"encoding must be one of {', '.join(OUTPUT_ENCODINGS)}")
    least = _COMPILED_CELLS["numba" not in sys.modules]

    def chunks_of(table: pd.DataFrame) -> Iterator[bytes | memoryview]:
        return iter(_csv_chunks(table, encoding, compiled=table.size >= least,
                                name=Path(path).name))

    tables = iter(parts)
    first = next(tables, None)
    if first is None:
        raise ValueError("write_csv_parts: no table")
    chunks = chunks_of(first)  # a cell the encoding cannot take: raised before any write
    digest = hashlib.sha256()  # of the bytes as they are written: the manifests' SHA-256

    def write(fh: Any, chunk: bytes | memoryview) -> None:
        fh.write(chunk)
        digest.update(chunk)

    try:
        with open(path, "wb") as fh:
            for chunk in chunks:
                write(fh, chunk)
            for table in tables:
                later = chunks_of(table)
                head = bytes(next(later, b""))  # the header (and byte-order mark) once
                write(fh, head[head.index(b"\n") + 1:] if b"\n" in head else b"")
                for chunk in later:
                    write(fh, chunk)
    except BaseException:
        Path(path).unlink(missing_ok=True)  # no half-written table
        raise
    remember_sha256(path, digest.hexdigest())


def _csv_chunks(table: pd.DataFrame, encoding: str, *, compiled: bool, name: str = ""
                ) -> Iterable[bytes | memoryview]:
    """The bytes :func:`write_csv` writes for ``table`` (``name``: the file's, for the
    message), in chunks to write each before taking the next: by the compiled route if
    ``compiled`` and it takes the table (the same bytes), else by :func:`_csv_text`."""
    chunks = _compiled_csv(table, encoding) if compiled else None
    if chunks is not None:
        return chunks
    try:
        return [_csv_text(neutralise_cells(table)).encode(encoding)]
    except UnicodeEncodeError as exc:
        raise InputError(_unencodable(table, name, encoding, exc),
                         code="output_encoding") from None


def _unencodable(table: pd.DataFrame, name: str, encoding: str, exc: UnicodeEncodeError
                 ) -> str:
    """The message naming the first cell (or column name) of ``table`` that ``encoding``
    cannot encode."""

    def fits(text: str) -> bool:
        try:
            text.encode(encoding)
        except UnicodeEncodeError:
            return False
        return True

    bad = exc.object[exc.start:exc.end]
    where = f"the text {bad!r}"
    found = next((f"the column name {str(c)!r}" for c in table.columns if not fits(str(c))),
                 None)
    for col in table.columns:
        if found is not None:
            break
        if _is_text(table[col]):
            found = next((f"column {str(col)!r}, row {i + 2} (the header is row 1): {v!r}"
                          for i, v in enumerate(table[col])
                          if isinstance(v, str) and not fits(v)), None)
    where = found or where
    return (f"Cannot write {name} in {encoding.upper()}: {where} has the character "
            f"{bad!r}, which {encoding.upper()} cannot encode. Set [output] csv_encoding = "
            "\"gb18030\" (GBK's bytes for every GBK character, encodes all others) or "
            "\"utf-8-sig\" (the default), or change that text in the input.")


def _restore(value: object) -> object:
    if isinstance(value, str) and value.startswith("'") and _FORMULA.match(value[1:]):
        return value[1:]
    return value


def read_output_csv(path: str | os.PathLike[str], **kwargs: object) -> pd.DataFrame:
    """Read a CSV that :func:`write_csv` wrote (in any of its encodings), undoing its formula
    neutralisation."""
    # any of the encodings of write_csv (detected: BOM / UTF-8, else GB18030 = GBK + more)
    table = pd.read_csv(csv_text(Path(path)), **kwargs)
    for col in table.columns:
        if _is_text(table[col]):
            table[col] = table[col].map(_restore)
    return table.rename(columns=lambda c: _restore(c) if isinstance(c, str) else c)
