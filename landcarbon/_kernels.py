"""Compiled per-block loops (numba): the per-pixel work of the zonal block engine.

One pass over a raster block does what numpy needed about eight full-size temporaries for
(code lookup, unit-index raster, rounding, key arithmetic, bincount): every pixel is read once
and counted into a small (unit x bucket) table. Functions here take and fill numpy arrays only;
:mod:`landcarbon.coverage` prepares their inputs and interprets their outputs.

Compiled for the integer types of land-cover rasters when this module is first imported, and
cached on disk (``numba`` ``cache=True``: later imports load the machine code, about 0.5 s for
numba and LLVM, a fixed cost per process). They release the GIL (``nogil=True``), so dask's
threads run them in parallel.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["sweep_block", "tile_buckets"]

#: Value types compiled ahead (others compile on first use).
CODE_TYPES = ("uint8", "int8", "uint16", "int16", "uint32", "int32", "int64")
_SWEEP = [f"void({t}[:, ::1], int64[::1], int64, int64, int64[:, ::1], int64, int64[::1], "
          "int64[::1], float64[::1], int64[::1], int64[::1], float64[::1], int64[:, ::1], "
          "float64[:, ::1], int64[::1], float64[::1], int64[::1])" for t in CODE_TYPES]
_TILES = [f"void({t}[:, ::1], int64[::1], int64, int64, int64, int64[:, ::1])"
          for t in CODE_TYPES]


@njit(cache=True, nogil=True, inline="always")
def _bucket(code: int, lut: np.ndarray, lo: int, outside: int) -> int:  # pragma: no cover
    i = np.int64(code) - lo
    if i < 0 or i >= lut.size:
        return outside
    return lut[i]


@njit(_TILES, cache=True, nogil=True)
def tile_buckets(codes: np.ndarray, lut: np.ndarray, lo: int, outside: int, size: int,
                 out: np.ndarray) -> None:  # pragma: no cover  (compiled)
    """``out[i, j]``: the bucket of tile ``(i, j)`` (``size`` x ``size`` pixels) of ``codes``
    if the tile holds one value, else -1. A mixed tile is left at its first differing row;
    a uniform one costs one comparison per pixel, without branches (vectorised)."""
    h, w = codes.shape
    for i in range(out.shape[0]):
        r0 = i * size
        r1 = min(h, r0 + size)
        for j in range(out.shape[1]):
            c0 = j * size
            c1 = min(w, c0 + size)
            first = codes[r0, c0]
            same = True
            for r in range(r0, r1):
                diff = 0
                for c in range(c0, c1):
                    diff |= codes[r, c] ^ first
                if diff:
                    same = False
                    break
            out[i, j] = _bucket(first, lut, lo, outside) if same else -1


@njit(_SWEEP, cache=True, nogil=True)
def sweep_block(codes: np.ndarray, lut: np.ndarray, lo: int, outside: int,
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
    tiles, size : (ceil(h / size), ceil(w / size)) int64 array, int
        The bucket of each ``size`` x ``size`` tile that holds one value, -1 for the others
        (:func:`tile_buckets`): pixels of one-value tiles are counted without being read.
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
    n_pieces = piece_row.size
    for r in range(h - 1, -1, -1):
        while p < n_pieces and piece_row[p] > r:
            level[piece_col[p]] += piece_val[p]
            p += 1
        area = row_area[r]
        a = 0
        q = cell_start[r]
        q_end = cell_start[r + 1]
        while True:
            b = cell_col[q] if q < q_end else w
            if b > a:
                unit = int(level[a] + 0.5)
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
            k = _bucket(codes[r, b], lut, lo, outside)
            cell_bucket[q] = k
            scan_out[q] = level[b]
            hist[k] += 1
            a = b + 1
            q += 1
