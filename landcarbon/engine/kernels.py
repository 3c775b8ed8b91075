"""Compiled per-block loops (numba): the per-pixel work of the zonal block engine.

One pass over a raster block does what numpy needed about eight full-size temporaries for
(code lookup, unit-index raster, rounding, key arithmetic, bincount): every pixel is read once
and counted into a small (unit x bucket) table. Functions here take and fill numpy arrays only;
:mod:`landcarbon.engine.coverage` prepares their inputs and interprets their outputs.

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

    stat = Path(__file__).stat()
    key = hashlib.blake2b(f"{stat.st_size}:{stat.st_mtime_ns}:{numba.__version__}:"
                          f"{sys.version_info[:2]}".encode(), digest_size=8).hexdigest()
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
    "boundary_areas",
    "boundary_cells",
    "edge_pieces",
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


@njit("int64(float64, float64)", cache=True, nogil=True, inline="always")
def _crossings(a0: float, a1: float) -> int:  # pragma: no cover  (compiled)
    """Number of integers strictly between ``a0`` and ``a1``."""
    if a0 == a1:
        return 0
    lo = np.floor(min(a0, a1)) + 1.0
    hi = np.ceil(max(a0, a1)) - 1.0
    return max(int(hi - lo + 1.0), 0)


_PIECES = ("Tuple((int64[::1], int64[::1], int64[::1], float64[::1], float64[::1]))"
           "(float64[:, ::1], int64[::1])")


@njit(_PIECES, cache=True, nogil=True)
def edge_pieces(edges: np.ndarray, owner: np.ndarray
                ) -> tuple[np.ndarray, ...]:  # pragma: no cover  (compiled)
    """Split edges ``(x0, y0, x1, y1)`` (pixel coordinates) at every integer x and y they
    cross; per piece: owner, row, col, partial contribution to its own cell
    (``-dx * (y_mid - row)``) and full contribution (``-dx``) to the cells above it.

    Pieces come in edge order and, along each edge, in order; the crossing parameters
    ``t = (grid - a0) / d`` and the piece ends are computed as numpy did, so the pieces are
    the same numbers.
    """
    n = edges.shape[0]
    total = 0
    for e in range(n):
        total += (_crossings(edges[e, 0], edges[e, 2]) + _crossings(edges[e, 1], edges[e, 3])
                  + 1)
    p_owner = np.empty(total, np.int64)
    p_row = np.empty(total, np.int64)
    p_col = np.empty(total, np.int64)
    p_partial = np.empty(total, np.float64)
    p_full = np.empty(total, np.float64)
    k = 0
    for e in range(n):
        x0, y0, x1, y1 = edges[e, 0], edges[e, 1], edges[e, 2], edges[e, 3]
        dx = x1 - x0
        dy = y1 - y0
        nx = _crossings(x0, x1)
        ny = _crossings(y0, y1)
        lox = np.floor(min(x0, x1)) + 1.0
        loy = np.floor(min(y0, y1)) + 1.0
        ix = 0
        iy = 0
        ta = 0.0
        while True:
            tx = 2.0
            if ix < nx:
                gx = lox + (ix if dx > 0 else nx - 1 - ix)
                tx = (gx - x0) / dx
            ty = 2.0
            if iy < ny:
                gy = loy + (iy if dy > 0 else ny - 1 - iy)
                ty = (gy - y0) / dy
            if ix >= nx and iy >= ny:
                tb = 1.0
            elif tx <= ty:
                tb = tx
                ix += 1
            else:
                tb = ty
                iy += 1
            if tb > ta:
                xa = x0 + ta * dx
                ya = y0 + ta * dy
                xb = x0 + tb * dx
                yb = y0 + tb * dy
                xm = 0.5 * (xa + xb)
                ym = 0.5 * (ya + yb)
                row = np.floor(ym)
                pdx = xb - xa
                p_owner[k] = owner[e]
                p_row[k] = int(row)
                p_col[k] = int(np.floor(xm))
                p_partial[k] = -pdx * (ym - row)
                p_full[k] = -pdx
                k += 1
                ta = tb
            if tb >= 1.0:
                break
    return p_owner[:k], p_row[:k], p_col[:k], p_partial[:k], p_full[:k]


#: Bits of the key sorted per pass of :func:`_radix_argsort` (a 2,048-entry count table
#: stays in the L1 cache).
_RADIX_BITS = 11


@njit("int64[::1](int64[::1])", cache=True, nogil=True)
def _radix_argsort(key: np.ndarray) -> np.ndarray:  # pragma: no cover  (compiled)
    """Stable ``argsort`` of ``key`` (least significant digit first, :data:`_RADIX_BITS` bits
    per pass, as many passes as the keys' range needs). Boundary pieces have a few million
    distinct keys at most: two or three linear passes instead of a comparison sort, 5-10x
    faster on the tens of thousands of pieces of a block."""
    n = key.size
    order = np.arange(n)
    if n < 2:
        return order
    lo = key.min()
    span = key.max() - lo
    radix = 1 << _RADIX_BITS
    mask = radix - 1
    tmp = np.empty(n, np.int64)
    count = np.empty(radix + 1, np.int64)
    shift = 0
    while (span >> shift) > 0:
        count[:] = 0
        for q in range(n):
            count[((key[order[q]] - lo) >> shift & mask) + 1] += 1
        for d in range(radix):
            count[d + 1] += count[d]
        for q in range(n):
            k = order[q]
            d = (key[k] - lo) >> shift & mask
            tmp[count[d]] = k
            count[d] += 1
        order, tmp = tmp, order
        shift += _RADIX_BITS
    return order


@njit(cache=True, nogil=True)
def boundary_cells(p_owner: np.ndarray, p_row: np.ndarray, p_col: np.ndarray,
                   p_partial: np.ndarray, p_full: np.ndarray, h: int, w: int
                   ) -> tuple[np.ndarray, ...]:  # pragma: no cover  (compiled)
    """Exact coverage of the cells that boundary pieces cross (pieces of :func:`edge_pieces`,
    rows in 0..h, columns in 0..w), and what the scanline of :func:`sweep_block` needs.

    Per (owner, cell) group, in each (owner, column) the pieces below a cell add their full
    contribution to it: ``coverage = clip(partial + sum of the full terms of the groups
    further down the column, 0, 1)``.

    Returns
    -------
    cell_start, cell_row, cell_col
        The crossed cells inside the grid, row-major: those of row ``r`` are
        ``cell_start[r]:cell_start[r + 1]``.
    e_cell, e_owner, e_cov
        One entry per (owner, crossed cell): its cell, owner and exact coverage (0-1).
    corr, known
        Per cell: ``sum((owner + 1) * partial)`` (what the scanline level misses inside the
        cell) and ``sum((owner + 1) * coverage)``.
    lv_row, lv_col, lv_val
        The pieces' full contributions ``(owner + 1) * -dx`` per (owner, row, column) with
        0 < row <= h and column < w, rows descending (the scanline's input).
    """
    n = p_owner.size
    span_r = h + 1
    span_c = w + 1
    key = np.empty(n, np.int64)
    for k in range(n):
        key[k] = (p_owner[k] * span_c + p_col[k]) * span_r + p_row[k]
    order = _radix_argsort(key)
    g_owner = np.empty(n, np.int64)
    g_row = np.empty(n, np.int64)
    g_col = np.empty(n, np.int64)
    g_partial = np.zeros(n)
    g_full = np.zeros(n)
    ng = -1
    last = -1
    for q in range(n):
        k = order[q]
        if ng < 0 or key[k] != last:
            ng += 1
            last = key[k]
            g_owner[ng] = p_owner[k]
            g_row[ng] = p_row[k]
            g_col[ng] = p_col[k]
        g_partial[ng] += p_partial[k]
        g_full[ng] += p_full[k]
    ng += 1
    cov = np.empty(ng)
    i = ng - 1
    while i >= 0:  # each (owner, column) segment, from its bottom row up
        j = i
        while j > 0 and g_owner[j - 1] == g_owner[i] and g_col[j - 1] == g_col[i]:
            j -= 1
        running = 0.0
        for t in range(i, j - 1, -1):
            cov[t] = min(max(g_partial[t] + running, 0.0), 1.0)
            running += g_full[t]
        i = j - 1
    # groups inside the grid, row-major (stable: owners ascending within a cell)
    ne = 0
    n_lv = 0
    for t in range(ng):
        if 0 <= g_row[t] < h and 0 <= g_col[t] < w:
            ne += 1
        if 0 < g_row[t] <= h and 0 <= g_col[t] < w:
            n_lv += 1
    cell_key = np.empty(ne, np.int64)
    inside = np.empty(ne, np.int64)
    q = 0
    for t in range(ng):
        if 0 <= g_row[t] < h and 0 <= g_col[t] < w:
            cell_key[q] = g_row[t] * span_c + g_col[t]
            inside[q] = t
            q += 1
    e_group = inside[_radix_argsort(cell_key)]
    e_cell = np.empty(ne, np.int64)
    e_owner = np.empty(ne, np.int64)
    e_cov = np.empty(ne)
    cell_row = np.empty(ne, np.int64)
    cell_col = np.empty(ne, np.int64)
    corr = np.zeros(ne)
    known = np.zeros(ne)
    cell_start = np.zeros(h + 1, np.int64)
    nc = -1
    for q in range(ne):
        t = e_group[q]
        if nc < 0 or g_row[t] != cell_row[nc] or g_col[t] != cell_col[nc]:
            nc += 1
            cell_row[nc] = g_row[t]
            cell_col[nc] = g_col[t]
            cell_start[g_row[t] + 1] = nc + 1
        e_cell[q] = nc
        e_owner[q] = g_owner[t]
        e_cov[q] = cov[t]
        corr[nc] += (g_owner[t] + 1.0) * g_partial[t]
        known[nc] += (g_owner[t] + 1.0) * cov[t]
    nc += 1
    for r in range(1, h + 1):  # rows without crossed cells start where the last one ended
        cell_start[r] = max(cell_start[r], cell_start[r - 1])
    # the scanline's pieces, rows descending (counting sort)
    lv_count = np.zeros(h + 2, np.int64)
    for t in range(ng):
        if 0 < g_row[t] <= h and 0 <= g_col[t] < w:
            lv_count[h - g_row[t] + 1] += 1
    lv_fill = np.cumsum(lv_count)[:h + 1].copy()
    lv_row = np.empty(n_lv, np.int64)
    lv_col = np.empty(n_lv, np.int64)
    lv_val = np.empty(n_lv)
    for t in range(ng):
        if 0 < g_row[t] <= h and 0 <= g_col[t] < w:
            q = lv_fill[h - g_row[t]]
            lv_fill[h - g_row[t]] += 1
            lv_row[q] = g_row[t]
            lv_col[q] = g_col[t]
            lv_val[q] = (g_owner[t] + 1.0) * g_full[t]
    return (cell_start, cell_row[:nc], cell_col[:nc], e_cell, e_owner, e_cov, corr[:nc],
            known[:nc], lv_row, lv_col, lv_val)


@njit(cache=True, nogil=True)
def boundary_areas(cell_row: np.ndarray, scan: np.ndarray, corr: np.ndarray,
                   known: np.ndarray, cell_bucket: np.ndarray, e_cell: np.ndarray,
                   e_owner: np.ndarray, e_cov: np.ndarray, row_area: np.ndarray,
                   areas: np.ndarray) -> None:  # pragma: no cover  (compiled)
    """Add the areas of the crossed cells to ``areas`` (units x buckets): each unit's exact
    coverage, and the unit covering a cell fully when a boundary only runs along the cell's
    edge (the scanline level there, less what the crossing units account for)."""
    g = areas.shape[0]
    for q in range(e_cell.size):
        c = e_cell[q]
        areas[e_owner[q], cell_bucket[c]] += e_cov[q] * row_area[cell_row[c]]
    for c in range(cell_row.size):
        rest = np.rint(scan[c] + corr[c] - known[c])
        if 0 < rest <= g:
            areas[int(rest) - 1, cell_bucket[c]] += row_area[cell_row[c]]


if _MARKER is not None and not _MARKER.exists():  # compiled and cached without error
    try:
        _MARKER.parent.mkdir(parents=True, exist_ok=True)
        _MARKER.write_text("numba cache of landcarbon.engine.kernels is warm\n",
                           encoding="utf-8")
    except OSError:
        pass
