"""The bytes of a CSV written row by row in compiled loops (numba): the fast route of
:func:`landcarbon.io.tables.write_csv` for large tables of numbers and text.

A table is a list of :class:`Column`: integers and floats are formatted where they are
written; a text column is its distinct cells, encoded once (ids and class names repeat over
many rows), and the number of each row's cell. :func:`csv_chunks` writes the rows a block at a
time into one reused buffer (a fresh buffer the size of the file costs more in page faults
than the formatting itself).

Floats are written exactly as Python's ``"%.6f" % x`` writes them (the decimal of the binary
value correctly rounded to 6 places): ``p = |x| * 1e6`` is rounded once, so it is within half
an ulp (at most ``p * 2**-53``) of the exact ``|x| * 10**6``; when ``p < 2**52`` and its
fraction is further than ``p * 2**-50`` from one half, the nearest integer of ``p`` is the
nearest integer of the exact value, which gives the digits. Python formats every other cell
(near a tie, ``|x| >= 2**52 / 1e6``, infinite). NaN is an empty cell.

Compiled on first use and cached on disk (``cache=True``).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import NamedTuple

import numpy as np
from numba import njit

__all__ = ["DECIMALS", "Column", "csv_chunks", "float_column", "int_column", "text_column"]

#: Decimal places of float cells (``"%.6f"``).
DECIMALS = 6
_SCALE = 10 ** DECIMALS
#: ``p`` at or above this is formatted by Python (its half ulp may reach 0.5).
_LIMIT = 2.0 ** 52
#: More than the half ulp of ``p`` relative to ``p`` (``2**-53``), with a margin of 8.
_MARGIN = 2.0 ** -50
_TEXT, _INT, _FLOAT = 0, 1, 2
#: Added to the digits of a negative float cell (more than any: below 2**52 + 1).
_NEGATIVE = 2 ** 60
_POWERS = np.array([10 ** k for k in range(19)], np.int64)
_PAIRS = np.frombuffer("".join(f"{k:02d}" for k in range(100)).encode(), np.uint8)
#: Bytes of the longest cell of each mode but text: "-" and 19 digits; "-", 10 integer
#: digits (below 2**52 / 1e6), "." and the decimals.
_WIDTH = {_INT: 20, _FLOAT: 12 + DECIMALS}


class Column(NamedTuple):
    """A column for :func:`csv_chunks`: ``mode`` (text, int or float); ``ints``: the cell
    number of each row (text; -1: an empty cell) or the integers; ``floats``: the floats;
    ``cells``: the encoded distinct cells of a text column, or the cells Python formats of
    a float column (in row order)."""

    mode: int
    ints: np.ndarray
    floats: np.ndarray
    cells: list[bytes]


def _readonly(values: np.ndarray, dtype: type) -> np.ndarray:
    out: np.ndarray = np.ascontiguousarray(values, dtype=dtype).view()
    out.flags.writeable = False  # one array type for numba, whatever pandas gave
    return out


def text_column(cells: list[bytes], codes: np.ndarray) -> Column:
    """The column whose row ``i`` is ``cells[codes[i]]`` (empty where ``codes[i]`` is -1)."""
    ints = _readonly(codes, np.int64)
    return Column(_TEXT, ints, ints.view(np.float64), cells)


def int_column(values: np.ndarray) -> Column:
    """The column of ``str(v)`` of each integer of ``values``."""
    if values.size and (values.max() > np.iinfo(np.int64).max if values.dtype == np.uint64
                        else values.min() == np.iinfo(np.int64).min):  # beyond int64 / -v
        return text_column([str(v).encode("ascii") for v in values.tolist()],
                           np.arange(values.size))
    ints = _readonly(values, np.int64)
    return Column(_INT, ints, ints.view(np.float64), [])


def float_column(values: np.ndarray) -> Column:
    """The column of ``"%.6f" % x`` of each float of ``values`` (NaN: an empty cell)."""
    floats = _readonly(values, np.float64)
    python = np.zeros(floats.size, np.bool_)
    _python_floats(floats, python)
    fmt = f"%.{DECIMALS}f".__mod__
    cells = [fmt(x).encode("ascii") for x in floats[python].tolist()]
    return Column(_FLOAT, floats.view(np.int64), floats, cells)


@njit(cache=True, nogil=True, inline="always")
def _digits(x: float) -> int:  # pragma: no cover  (compiled)
    """``round(|x| * 1e6)`` (an integer), or -1 when Python formats ``x`` (and NaN)."""
    p = abs(x) * _SCALE
    frac = p - math.floor(p) if p < _LIMIT else 0.5
    if abs(frac - 0.5) > p * _MARGIN:
        return math.floor(p) + (1 if frac > 0.5 else 0)
    return -1


@njit(cache=True, nogil=True)
def _python_floats(values: np.ndarray, out: np.ndarray) -> None:  # pragma: no cover
    for i in range(values.size):
        out[i] = values[i] == values[i] and _digits(values[i]) < 0


@njit(cache=True, nogil=True, inline="always")
def _ndigits(m: int) -> int:  # pragma: no cover  (compiled)
    k = 1
    while k < 19 and m >= _POWERS[k]:
        k += 1
    return k


@njit(cache=True, nogil=True, inline="always")
def _put(out: np.ndarray, pos: int, m: int, k: int) -> int:  # pragma: no cover  (compiled)
    """Write the last ``k`` decimal digits of ``m >= 0`` at ``pos``; return the position
    after them."""
    end = pos + k
    while k > 1:  # two digits at a time
        r = m % 100
        m //= 100
        out[pos + k - 1] = _PAIRS[2 * r + 1]
        out[pos + k - 2] = _PAIRS[2 * r]
        k -= 2
    if k == 1:
        out[pos] = 48 + m % 10
    return end


@njit(cache=True, nogil=True)
def _fill(out: np.ndarray, n: int, modes: np.ndarray, ints: np.ndarray, floats: np.ndarray,
          base: np.ndarray, pool: np.ndarray, offsets: np.ndarray, cursor: np.ndarray,
          at: np.ndarray, cell: np.ndarray) -> int:  # pragma: no cover  (compiled)
    """Write ``n`` rows into ``out``; return the bytes written. ``ints[j, :n]``: the values
    of column ``j`` (``floats``: the same bits as floats); its cells in ``pool``: from cell
    ``base[j]`` on; ``cursor``: the next Python-formatted cell of each float column.
    Scratch: ``at``, the position of each row; ``cell``, each float cell as its digits
    (+ ``_NEGATIVE``), -1 (empty) or ``-2 - c`` (cell ``c`` of ``pool``)."""
    ncol = modes.size
    at[:n + 1] = 0
    for j in range(ncol):  # the length of each row
        mode, values, x_values = modes[j], ints[j], floats[j]
        for i in range(n):
            size = 1  # , or \n
            if mode == _FLOAT:
                x = x_values[i]
                e = -1
                if x == x:
                    d = _digits(x)
                    if d >= 0:
                        e = d + _NEGATIVE * (math.copysign(1.0, x) < 0)  # also -0.0
                        size += (e >= _NEGATIVE) + _ndigits(d // _SCALE) + 1 + DECIMALS
                    else:
                        c = base[j] + cursor[j]
                        cursor[j] += 1
                        e = -2 - c
                        size += offsets[c + 1] - offsets[c]
                cell[j, i] = e
            elif mode == _INT:
                v = values[i]
                size += (v < 0) + _ndigits(abs(v))
            elif values[i] >= 0:
                c = base[j] + values[i]
                size += offsets[c + 1] - offsets[c]
            at[i + 1] += size
    for i in range(n):
        at[i + 1] += at[i]
    for j in range(ncol):  # each cell at its row's position
        mode, values, sep = modes[j], ints[j], 44 if j + 1 < ncol else 10
        for i in range(n):
            pos = at[i]
            c = -1
            if mode == _FLOAT:
                e = cell[j, i]
                if e >= _NEGATIVE:
                    out[pos] = 45
                    pos += 1
                    e -= _NEGATIVE
                if e >= 0:
                    q = e // _SCALE
                    pos = _put(out, pos, q, _ndigits(q))
                    out[pos] = 46
                    pos = _put(out, pos + 1, e - q * _SCALE, DECIMALS)
                else:
                    c = -2 - e
            elif mode == _INT:
                v = values[i]
                if v < 0:
                    out[pos] = 45
                    pos += 1
                pos = _put(out, pos, abs(v), _ndigits(abs(v)))
            elif values[i] >= 0:
                c = base[j] + values[i]
            if c >= 0:
                for q in range(offsets[c], offsets[c + 1]):
                    out[pos] = pool[q]
                    pos += 1
            out[pos] = sep
            at[i] = pos + 1
    return at[n]


def csv_chunks(header: bytes, columns: list[Column], rows: int = 1 << 14
               ) -> Iterator[bytes | memoryview]:
    """``header``, then the lines of ``columns`` (cells joined with commas, each line ending
    with ``\\n``), ``rows`` lines a chunk: write each chunk before taking the next (they
    share one buffer)."""
    yield header
    nrow = columns[0].ints.size
    cells = [cell for column in columns for cell in column.cells]
    offsets = np.zeros(len(cells) + 1, np.int64)
    np.cumsum([len(cell) for cell in cells], out=offsets[1:])
    base = np.cumsum([0] + [len(column.cells) for column in columns[:-1]])
    widest = sum(max([_WIDTH.get(column.mode, 0), *map(len, column.cells)]) + 1
                 for column in columns)
    rows = max(1, min(rows, nrow))
    out = np.empty(rows * widest, np.uint8)
    ints = np.empty((len(columns), rows), np.int64)
    args = (np.array([column.mode for column in columns]), ints, ints.view(np.float64),
            base.astype(np.int64), np.frombuffer(b"".join(cells), np.uint8), offsets,
            np.zeros(len(columns), np.int64), np.empty(rows + 1, np.int64),
            np.empty((len(columns), rows), np.int64))
    for start in range(0, nrow, rows):
        n = min(rows, nrow - start)
        for j, column in enumerate(columns):  # the rows of each column in one array
            ints[j, :n] = column.ints[start:start + n]
        yield out[:_fill(out, n, *args)].data
