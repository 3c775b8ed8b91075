"""Every period's transitions of one block in a single compiled sweep.

:func:`landcarbon.change.transition_pass` counts the category pairs of each period per unit.
Done period by period, each period builds its raster of pair buckets (one pass over the
pixels), finds its tiles of one value (a second) and sweeps it per unit (a third): nine
passes for the three periods of a 3-date change run. :func:`block_pair_areas` walks the
block once: along each row, between two boundary-crossed cells (one unit), it counts the
pair bucket of every period at each pixel, and counts every period's pairs per row for the
whole-area matrix on the way.

The numbers are those of the period-by-period path to the last bit: the same integer count
per (row segment, bucket), added to the same float sums in the same order
(:func:`landcarbon.engine.kernels.sweep_block`), and the same exact coverage of the cells
that unit boundaries cross (:func:`landcarbon.engine.boundary_kernels.boundary_areas`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numba import njit

from landcarbon.engine.kernels import run_unit, scan_rise

__all__ = ["block_pair_areas"]


@njit(cache=True, nogil=True)
def _sweep_pairs(codes: np.ndarray, cats: np.ndarray, first: np.ndarray, second: np.ndarray,
                 n: int, piece_row: np.ndarray, piece_col: np.ndarray, piece_val: np.ndarray,
                 cell_start: np.ndarray, cell_col: np.ndarray, row_area: np.ndarray,
                 table_a: np.ndarray, rows: np.ndarray, scan_out: np.ndarray,
                 cell_bucket: np.ndarray) -> None:  # pragma: no cover  (compiled)
    """Per period ``k`` (dates ``first[k]`` -> ``second[k]`` of ``codes``, whose values
    have the categories ``cats[date, value]``, ``n`` for none): the area per (unit number,
    pair bucket) of the cells no boundary crosses (``table_a[k]``), the cells of each bucket per row
    (``rows[k]``) and the bucket of each crossed cell (``cell_bucket[k]``); ``scan_out`` the
    scanline level at each crossed cell. Traversal, segments and sums as in
    :func:`landcarbon.engine.kernels.sweep_block`."""
    _, h, w = codes.shape
    periods = first.size
    m = n * n + 1
    n1 = n + 1
    # bucket of categories (f, t), each in 0..n (n: none): f * n + t, or n * n
    pair = np.full(n1 * n1, n * n, np.int64)
    for f in range(n):
        for t in range(n):
            pair[f * n1 + t] = f * n + t
    units = table_a.shape[1]
    level = np.zeros(w)
    counts = np.zeros((periods, m), np.int64)
    p = 0
    for r in range(h - 1, -1, -1):
        p = scan_rise(level, piece_row, piece_col, piece_val, p, r)
        area = row_area[r]
        end = cell_start[r + 1]
        a = 0  # the runs between the row's crossed cells (and the row's ends), left to right
        for q in range(cell_start[r], end + 1):
            b = cell_col[q] if q < end else w
            if b > a:
                unit = run_unit(level, a, units)
                for k in range(periods):
                    ra = codes[first[k], r]
                    rb = codes[second[k], r]
                    ta = cats[first[k]]
                    tb = cats[second[k]]
                    local = counts[k]
                    for c in range(a, b):  # (n + 1)^2 pair table: no branch on nodata
                        local[pair[ta[ra[c]] * n1 + tb[rb[c]]]] += 1
                    for v in range(m):
                        cnt = local[v]
                        if cnt:
                            table_a[k, unit, v] += cnt * area
                            rows[k, r, v] += cnt
                            local[v] = 0
            if q < end:  # the crossed cell itself: its bucket, for its exact coverage
                for k in range(periods):
                    v = pair[cats[first[k], codes[first[k], r, b]] * n1
                             + cats[second[k], codes[second[k], r, b]]]
                    cell_bucket[k, q] = v
                    rows[k, r, v] += 1
                scan_out[q] = level[b]
            a = b + 1


def block_pair_areas(blocks: Sequence[np.ndarray], tables: Sequence[np.ndarray],
                     pairs: Sequence[tuple[int, int]], n: int, geoms: np.ndarray,
                     transform: Any, row_area: np.ndarray, cache_key: Any = None
                     ) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per-unit areas and per-row cells of every period's category pairs in one block.

    Parameters
    ----------
    blocks : sequence of numpy.ndarray
        The block of every date (``uint8``, same shape; broadcast blocks allowed).
    tables : sequence of numpy.ndarray
        Per date, the category (``< n``) of each byte value (256 entries; ``>= n``: none).
    pairs : sequence of (int, int)
        Positions in ``blocks`` of each period's first and second date.
    n : int
        Number of categories (``n * n + 1 <= 256``).
    geoms, transform, row_area, cache_key
        As :func:`landcarbon.engine.coverage.block_bucket_areas` (``geoms``: at least one).

    Returns
    -------
    list of (numpy.ndarray, numpy.ndarray)
        Per period: areas (units of ``row_area``, ``(len(geoms), n * n)``, bucket ``from *
        n + to``) and the cells of each bucket per row (``(rows, n * n + 1)``, int64, the
        last column: nodata at either date), inside units or not.
    """
    from landcarbon.engine.block_cells import block_cells, no_cells
    from landcarbon.engine.boundary_kernels import boundary_areas

    h, w = blocks[0].shape
    codes = np.empty((len(blocks), h, w), np.uint8)
    for d, block in enumerate(blocks):
        codes[d] = block
    cats = np.minimum(np.stack([np.asarray(t, np.int64) for t in tables]), n)  # n: none
    cells = block_cells(geoms, transform, (h, w), cache_key) or no_cells((h, w))
    (cell_start, cell_row, cell_col, e_cell, e_owner, e_cov, corr, known, lv_row, lv_col,
     lv_val) = cells
    g, nn = len(geoms), n * n
    table_a = np.zeros((len(pairs), g + 1, nn + 1))
    rows = np.zeros((len(pairs), h, nn + 1), np.int64)
    scan = np.zeros(len(cell_row))
    cell_bucket = np.zeros((len(pairs), len(cell_row)), np.int64)
    first = np.array([i for i, _ in pairs], np.int64)
    second = np.array([j for _, j in pairs], np.int64)
    row_area = np.ascontiguousarray(row_area, dtype=np.float64)
    _sweep_pairs(codes, cats, first, second, n, lv_row, lv_col, lv_val, cell_start, cell_col,
                 row_area, table_a, rows, scan, cell_bucket)
    out = []
    for k in range(len(pairs)):
        areas = np.zeros((g, nn + 1))
        areas += table_a[k, 1:]
        boundary_areas(cell_row, scan, corr, known, cell_bucket[k], e_cell, e_owner, e_cov,
                       row_area, areas)
        out.append((areas[:, :nn], rows[k]))
    return out
