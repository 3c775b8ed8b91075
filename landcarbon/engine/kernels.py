"""Compiled per-block loops (numba): the per-pixel work of the zonal block engine.

One pass over a raster block does what numpy needed about eight full-size temporaries for
(code lookup, unit-index raster, rounding, key arithmetic, bincount): every pixel is read once
and counted into a small (unit x bucket) table. Functions here take and fill numpy arrays only;
:mod:`landcarbon.engine.coverage` prepares their inputs and interprets their outputs. The
exact coverage of the cells that unit boundaries cross is computed by
:mod:`landcarbon.engine.boundary_kernels`.

Compiled for the integer type of a land-cover raster when first used, and cached on disk
(``numba`` ``cache=True``: later runs load the machine code, about 0.5 s for numba and LLVM, a
fixed cost per process); the first run logs that it is compiling. They release the GIL
(``nogil=True``), so dask's threads run them in parallel.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)


def _first_compile_marker() -> Path | None:
    """A file whose presence says these kernels were compiled (and cached) by this version
    of this module with this numba and Python (in :func:`~landcarbon._resources.user_cache_dir`);
    None if there is no cache folder."""
    import hashlib

    import numba

    from landcarbon._resources import user_cache_dir

    here = Path(__file__)
    stats = [f.stat() for f in (here, here.with_name("boundary_kernels.py"))]
    key = hashlib.blake2b(f"{[(st.st_size, st.st_mtime_ns) for st in stats]}:"
                          f"{numba.__version__}:{sys.version_info[:2]}".encode(),
                          digest_size=8).hexdigest()
    folder = user_cache_dir()
    return None if folder is None else folder / f"kernels-{key}.compiled"


try:
    _MARKER = _first_compile_marker()
except (OSError, RuntimeError):
    _MARKER = None
if _MARKER is not None and not _MARKER.exists():
    log.info("first run: compiling landcarbon's pixel kernels for this machine (numba, once, "
             "about 10-30 s); later runs load them from the cache in half a second")

from numba import njit  # noqa: E402  (after the first-run message)

__all__ = [
    "gather_rect",
    "row_bucket_counts",
    "run_unit",
    "scan_rise",
    "sweep_block",
    "tiles_of_one_value",
]

#: Value types the block engine takes (rasters of other types take the general path). The
#: kernels that take the codes are compiled for the type of the raster at its first use and
#: cached on disk per type: a first run compiles what it needs (byte codes: WorldCover,
#: CLCD), not the seven types' worth (54 s instead of 12 s on a loaded 2-core machine).
CODE_TYPES = ("uint8", "int8", "uint16", "int16", "uint32", "int32", "int64")


@njit(cache=True, nogil=True)
def tiles_of_one_value(values: np.ndarray, rows: int, cols: int,
                       out: np.ndarray) -> None:  # pragma: no cover  (compiled)
    """``out[i, j] = 1`` if every element of tile ``(i, j)`` (``rows`` x ``cols`` elements
    of ``values``) equals the tile's first element, else 0. A mixed tile is left at its first
    differing row; a one-value row is compared without branches (vectorised). On a uint64
    view of a block, eight bytes are compared per operation."""
    h, w = values.shape
    for i in range(out.shape[0]):
        r0 = i * rows
        r1 = min(h, r0 + rows)
        for j in range(out.shape[1]):
            c0 = j * cols
            c1 = min(w, c0 + cols)
            first = values[r0, c0]
            same = 1
            for r in range(r0, r1):
                diff = values[r0, c0] ^ first  # zero of the values' type
                for c in range(c0, c1):
                    diff |= values[r, c] ^ first
                if diff != 0:
                    same = 0
                    break
            out[i, j] = same


@njit(cache=True, nogil=True)
def gather_rect(codes: np.ndarray, table: np.ndarray, lo: int, full: bool, r0: int,
                r1: int, c0: int, c1: int, out: np.ndarray
                ) -> None:  # pragma: no cover  (compiled)
    """``out = table[codes[r0:r1, c0:c1] - lo]``; codes off the table take its last entry.
    ``full``: the table covers every value of the codes' type from ``lo = 0`` (byte codes),
    so no offset and no range check (2x faster: 0.4 ns a pixel)."""
    if full:
        for r in range(r0, r1):
            row = codes[r]
            dst = out[r - r0]
            for c in range(c0, c1):
                dst[c - c0] = table[row[c]]
        return
    n = table.size - 1
    for r in range(r0, r1):
        for c in range(c0, c1):
            i = np.int64(codes[r, c]) - lo
            out[r - r0, c - c0] = table[i] if 0 <= i < n else table[n]


@njit(cache=True, nogil=True)
def row_bucket_counts(codes: np.ndarray, lut: np.ndarray, out: np.ndarray
                      ) -> None:  # pragma: no cover  (compiled; tested through its callers)
    """Add the cells of each bucket in each row to ``out`` (rows x buckets, int64):
    ``out[r, lut[codes[r, c]]] += 1``; ``lut`` covers every value of the codes' type."""
    h, w = codes.shape
    m = out.shape[1]
    counts = np.zeros((4, m), np.int64)
    for r in range(h):
        c = 0
        # four interleaved counters (see sweep_block)
        while c + 4 <= w:
            counts[0, lut[codes[r, c]]] += 1
            counts[1, lut[codes[r, c + 1]]] += 1
            counts[2, lut[codes[r, c + 2]]] += 1
            counts[3, lut[codes[r, c + 3]]] += 1
            c += 4
        while c < w:
            counts[0, lut[codes[r, c]]] += 1
            c += 1
        flush_row_counters(counts, out, r)


@njit(cache=True, nogil=True, inline="always")
def flush_row_counters(counts: np.ndarray, out: np.ndarray, r: int
                       ) -> None:  # pragma: no cover  (compiled)
    """Add the four interleaved counters of each bucket (``counts``: 4 x buckets) to row
    ``r`` of ``out`` and zero them."""
    for k in range(counts.shape[1]):
        n = counts[0, k] + counts[1, k] + counts[2, k] + counts[3, k]
        if n:
            out[r, k] += n
            counts[0, k] = 0
            counts[1, k] = 0
            counts[2, k] = 0
            counts[3, k] = 0


@njit(cache=True, nogil=True, inline="always")
def _bucket(code: int, lut: np.ndarray, lo: int, outside: int) -> int:  # pragma: no cover
    i = np.int64(code) - lo
    if i < 0 or i >= lut.size:
        return outside
    return lut[i]


@njit(cache=True, nogil=True, inline="always")
def scan_rise(level: np.ndarray, piece_row: np.ndarray, piece_col: np.ndarray,
              piece_val: np.ndarray, p: int, r: int) -> int:  # pragma: no cover  (compiled)
    """Raise the scanline ``level`` to row ``r`` (blocks are swept bottom row first): add the
    boundary pieces from ``p`` on that lie below it (rows descending, see
    :func:`sweep_block`); returns the first piece not added."""
    n = piece_row.size
    while p < n and piece_row[p] > r:
        level[piece_col[p]] += piece_val[p]
        p += 1
    return p


@njit(cache=True, nogil=True, inline="always")
def run_unit(level: np.ndarray, a: int, units: int) -> int:  # pragma: no cover  (compiled)
    """The unit number of the run of cells starting at column ``a`` (the scanline level
    rounds to it); 0 (outside every unit) for a level no unit has (overlapping units: callers
    check overlaps and recount with exactextract)."""
    unit = int(level[a] + 0.5)
    return unit if 0 <= unit < units else 0


@njit(cache=True, nogil=True)
def sweep_block(codes: np.ndarray, lut: np.ndarray, lo: int, outside: int, full: bool,
                tiles: np.ndarray, size: int, piece_row: np.ndarray, piece_col: np.ndarray,
                piece_val: np.ndarray, cell_start: np.ndarray, cell_col: np.ndarray,
                row_area: np.ndarray, table_n: np.ndarray, table_a: np.ndarray,
                hist: np.ndarray, scan_out: np.ndarray, cell_bucket: np.ndarray
                ) -> None:  # pragma: no cover  (compiled; tested through coverage)
    """Count the pixels of one block per (unit, bucket), bottom row first.

    Parameters
    ----------
    codes : 2-D integer array (h, w)
        Raw values; ``lut[code - lo]`` is a value's bucket, values outside the table go to
        bucket ``outside``.
    full : bool
        True if ``lut`` covers every value of an unsigned type from ``lo = 0`` (no range
        check).
    tiles, size : (ceil(h / size), ceil(w / size)) int64 array, int
        The bucket of each ``size`` x ``size`` tile that holds one value, -1 for the others
        (:func:`tiles_of_one_value`): pixels of one-value tiles are counted without being read
        (``codes`` may be uninitialised there).
    piece_row, piece_col, piece_val : 1-D arrays
        Boundary pieces sorted by row, descending: piece ``p`` adds ``piece_val[p]`` (unit
        number times ``-dx``) to the scanline level of column ``piece_col[p]`` in every row
        above ``piece_row[p]``. Between two boundary-crossed cells of a row the level is
        constant and rounds to the unit number (0: outside every unit).
    cell_start, cell_col : 1-D int64 arrays
        The boundary-crossed cells, row-major: those of row ``r`` are
        ``cell_col[cell_start[r]:cell_start[r + 1]]`` (sorted columns).
    row_area : 1-D float64 (h)
        Area of a cell of each row.
    table_n, table_a : (units + 1, buckets) int64 / float64, filled in place
        Cells and area per (unit number, bucket) of the cells no boundary crosses.
    hist : (buckets,) int64, filled in place
        Cells per bucket, every cell of the block.
    scan_out, cell_bucket : filled in place, one entry per crossed cell
        The scanline level at the cell (for the exact coverage step) and its bucket.
    """
    h, w = codes.shape
    m = table_n.shape[1]
    level = np.zeros(w)
    counts = np.zeros((4, m), np.int64)
    p = 0
    for r in range(h - 1, -1, -1):
        p = scan_rise(level, piece_row, piece_col, piece_val, p, r)
        area = row_area[r]
        a = 0
        q = cell_start[r]
        q_end = cell_start[r + 1]
        while True:
            b = cell_col[q] if q < q_end else w
            if b > a:
                unit = run_unit(level, a, table_n.shape[0])
                c = a
                while c < b:
                    t = c // size
                    e = min(b, (t + 1) * size)
                    one = tiles[r // size, t]
                    if one >= 0:
                        counts[0, one] += e - c
                        c = e
                        continue
                    # four interleaved counters: consecutive equal codes do not wait on the
                    # previous increment of the same counter
                    if full:  # the table covers every value of the type: no range check
                        while c + 4 <= e:
                            counts[0, lut[codes[r, c]]] += 1
                            counts[1, lut[codes[r, c + 1]]] += 1
                            counts[2, lut[codes[r, c + 2]]] += 1
                            counts[3, lut[codes[r, c + 3]]] += 1
                            c += 4
                    while c + 4 <= e:
                        counts[0, _bucket(codes[r, c], lut, lo, outside)] += 1
                        counts[1, _bucket(codes[r, c + 1], lut, lo, outside)] += 1
                        counts[2, _bucket(codes[r, c + 2], lut, lo, outside)] += 1
                        counts[3, _bucket(codes[r, c + 3], lut, lo, outside)] += 1
                        c += 4
                    while c < e:
                        counts[0, _bucket(codes[r, c], lut, lo, outside)] += 1
                        c += 1
                for k in range(m):
                    n = counts[0, k] + counts[1, k] + counts[2, k] + counts[3, k]
                    if n:
                        table_n[unit, k] += n
                        table_a[unit, k] += n * area
                        hist[k] += n
                        counts[0, k] = 0
                        counts[1, k] = 0
                        counts[2, k] = 0
                        counts[3, k] = 0
            if q >= q_end:
                break
            k = tiles[r // size, b // size]
            if k < 0:
                k = _bucket(codes[r, b], lut, lo, outside)
            cell_bucket[q] = k
            scan_out[q] = level[b]
            hist[k] += 1
            a = b + 1
            q += 1


if _MARKER is not None and not _MARKER.exists():  # compiled and cached without error
    try:
        _MARKER.parent.mkdir(parents=True, exist_ok=True)
        _MARKER.write_text("numba cache of landcarbon.engine.kernels is warm\n",
                           encoding="utf-8")
    except OSError:
        pass
