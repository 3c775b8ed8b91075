"""Compiled kernels of the cells that unit boundaries cross (numba): the units' edges split
into pieces at every grid line (:func:`edge_pieces`), the exact coverage of each crossed cell
by each unit and the scanline's input (:func:`boundary_cells`), and the areas of the crossed
cells (:func:`boundary_areas`). :mod:`landcarbon.engine.block_cells` prepares their inputs.
Cached on disk like :mod:`landcarbon.engine.kernels`, imported first so that a first run
says it is compiling before these signatures compile.
"""

from __future__ import annotations

import numpy as np
from numba import njit

import landcarbon.engine.kernels  # noqa: F401  (the first-run message before compiling)

__all__ = ["boundary_areas", "boundary_cells", "edge_pieces"]


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
