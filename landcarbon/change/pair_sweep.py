"""Every date's buckets and every period's transitions of one block in a single compiled sweep.

A change run needs, per block, each date's land-cover buckets per unit (what a single-date
pass counts: :func:`landcarbon.engine.coverage.block_bucket_areas`) and each period's
category pairs per unit and per row (:mod:`landcarbon.change.transition_pass`). Done one
raster at a time that is a walk of the block per date and per period, each paying the
block's segments between unit boundaries again. :func:`block_sweep` walks the block once:

* per row and period, the columns whose codes differ between the period's two dates (a few
  percent of farmland pixels change between dates);
* between two boundary-crossed cells (one unit), the first date's buckets counted pixel by
  pixel with four interleaved counters (consecutive equal buckets do not wait on one
  counter); each period's pairs from its changed pixels and, for the others, from its first
  date's counts (``pairs(x, x) = count(x) - changed pixels from x``); each later date's
  counts from its period's changed pixels (``count'(x) = count(x) - out(x) + in(x)``): all
  integers, and the pixels that do not change are read once.

The numbers are those of the raster-by-raster path to the last bit: the same integer count
per (row segment, bucket), added to the same float sums in the same order
(:func:`landcarbon.engine.kernels.sweep_block`; a bucket without cells adds ``0 * area``,
which leaves a sum of areas unchanged), and the same exact coverage of the cells that unit
boundaries cross (:func:`landcarbon.engine.boundary_kernels.boundary_areas`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numba import njit

from landcarbon.engine.kernels import run_unit, scan_rise

__all__ = ["block_pair_areas", "block_sweep"]


@njit(cache=True, nogil=True)
def _changed_columns(codes: np.ndarray, r: int, first: np.ndarray, second: np.ndarray,
                     out: np.ndarray, count: np.ndarray) -> None:  # pragma: no cover
    """Per period ``k``: the columns of row ``r`` whose codes differ between dates
    ``first[k]`` and ``second[k]`` (``out[k, :count[k]]``, ascending; listed without
    branches, which is faster than comparing eight codes at a time and listing those of the
    words that differ)."""
    for k in range(first.size):
        ra = codes[first[k], r]
        rb = codes[second[k], r]
        dst = out[k]
        j = 0
        for c in range(ra.size):
            dst[j] = c
            j += ra[c] != rb[c]
        count[k] = j


@njit(cache=True, nogil=True)
def _count_row(codes: np.ndarray, lut: np.ndarray, a: int, b: int, counts: np.ndarray,
               out: np.ndarray) -> None:  # pragma: no cover  (compiled)
    """The cells of each bucket (``lut[code]``) in ``codes[a:b]`` (``out``), counted with
    four interleaved counters (``counts``, 4 x buckets, left at zero)."""
    c = a
    while c + 4 <= b:
        counts[0, lut[codes[c]]] += 1
        counts[1, lut[codes[c + 1]]] += 1
        counts[2, lut[codes[c + 2]]] += 1
        counts[3, lut[codes[c + 3]]] += 1
        c += 4
    while c < b:
        counts[0, lut[codes[c]]] += 1
        c += 1
    for x in range(out.size):  # no branch
        out[x] = counts[0, x] + counts[1, x] + counts[2, x] + counts[3, x]
        counts[0, x] = 0
        counts[1, x] = 0
        counts[2, x] = 0
        counts[3, x] = 0


@njit(cache=True, nogil=True)
def _sweep(codes: np.ndarray, luts: np.ndarray, category: np.ndarray, n: int,
           first: np.ndarray, second: np.ndarray, source: np.ndarray,
           piece_row: np.ndarray, piece_col: np.ndarray, piece_val: np.ndarray,
           cell_start: np.ndarray, cell_col: np.ndarray, row_area: np.ndarray,
           date_a: np.ndarray, hist: np.ndarray, pair_a: np.ndarray, rows: np.ndarray,
           scan_out: np.ndarray, date_cell: np.ndarray, pair_cell: np.ndarray
           ) -> None:  # pragma: no cover  (compiled)
    """The sweep of :func:`block_sweep` (traversal, segments and sums as in
    :func:`landcarbon.engine.kernels.sweep_block`). ``source[d]``: the period whose second
    date is ``d`` and whose changed cells give ``d``'s counts from its first date's, or -1:
    ``d`` is counted cell by cell. Fills ``date_a`` / ``pair_a`` (area per date or period,
    unit number and bucket or pair, of the cells no boundary crosses), ``hist`` (cells per
    date and bucket), ``rows`` (cells per period, row and pair), and per crossed cell
    ``scan_out`` (scanline level), ``date_cell`` and ``pair_cell`` (bucket, pair)."""
    dates, h, w = codes.shape
    periods = first.size
    mb = date_a.shape[2]
    units = date_a.shape[1]
    n1 = n + 1
    # pair of buckets (x, y) -> category pair: from * n + to, or n * n (none at either date)
    pair = np.empty(mb * mb, np.int64)
    for x in range(mb):
        for y in range(mb):
            f, t = category[x], category[y]
            pair[x * mb + y] = f * n + t if f < n and t < n else n * n
    level = np.zeros(w)
    changed = np.empty((periods, w + 1), np.int64)
    n_changed = np.zeros(periods, np.int64)
    at = np.zeros(periods, np.int64)  # next changed column of each period
    counts = np.zeros((4, mb), np.int64)
    seg = np.zeros((dates, mb), np.int64)  # the segment's cells per date and bucket
    moved = np.zeros(mb, np.int64)  # changed cells per first-date bucket
    diagonal = np.array([pair[x * mb + x] for x in range(mb)], np.int64)
    pair_n = np.zeros(n1 * n1, np.int64)
    touched = np.empty(w + 1, np.int64)  # pair of each changed cell
    p = 0
    for r in range(h - 1, -1, -1):
        p = scan_rise(level, piece_row, piece_col, piece_val, p, r)
        area = row_area[r]
        _changed_columns(codes, r, first, second, changed, n_changed)
        at[:] = 0
        end = cell_start[r + 1]
        a = 0
        for q in range(cell_start[r], end + 1):
            b = cell_col[q] if q < end else w
            if b > a:
                unit = run_unit(level, a, units)
                for d in range(dates):
                    if source[d] < 0:
                        _count_row(codes[d, r], luts[d], a, b, counts, seg[d])
                for k in range(periods):
                    f = first[k]
                    s = second[k]
                    ra = codes[f, r]
                    rb = codes[s, r]
                    lf = luts[f]
                    ls = luts[s]
                    derive = source[s] == k
                    if derive:
                        seg[s, :] = seg[f, :]
                    cols = changed[k]
                    i0 = at[k]
                    i = i0
                    while i < n_changed[k] and cols[i] < b:  # the segment's changed cells
                        c = cols[i]
                        x = int(lf[ra[c]])
                        y = int(ls[rb[c]])
                        moved[x] += 1
                        if derive:
                            seg[s, x] -= 1
                            seg[s, y] += 1
                        v = pair[x * mb + y]
                        pair_n[v] += 1
                        touched[i - i0] = v
                        i += 1
                    at[k] = i
                    sf = seg[f]
                    for x in range(mb):  # and the unchanged ones: (x, x)
                        pair_n[diagonal[x]] += sf[x] - moved[x]
                        moved[x] = 0
                    # each pair's count added once (its later entries add 0: no branch)
                    table = pair_a[k, unit]
                    per_row = rows[k, r]
                    for j in range(i - i0):
                        v = touched[j]
                        nv = pair_n[v]
                        pair_n[v] = 0
                        table[v] += nv * area
                        per_row[v] += nv
                    for x in range(mb):
                        v = diagonal[x]
                        nv = pair_n[v]
                        pair_n[v] = 0
                        table[v] += nv * area
                        per_row[v] += nv
                for d in range(dates):  # no branch: a bucket without cells adds 0
                    table = date_a[d, unit]
                    cells = hist[d]
                    sd = seg[d]
                    for x in range(mb):
                        table[x] += sd[x] * area
                        cells[x] += sd[x]
            if q < end:  # the crossed cell itself: its buckets, for its exact coverage
                for d in range(dates):
                    x = luts[d, codes[d, r, b]]
                    date_cell[d, q] = x
                    hist[d, x] += 1
                for k in range(periods):
                    v = pair[np.int64(luts[first[k], codes[first[k], r, b]]) * mb
                             + luts[second[k], codes[second[k], r, b]]]
                    pair_cell[k, q] = v
                    rows[k, r, v] += 1
                    if at[k] < n_changed[k] and changed[k, at[k]] == b:
                        at[k] += 1
                scan_out[q] = level[b]
            a = b + 1


def block_sweep(blocks: Sequence[np.ndarray], luts: Sequence[np.ndarray],
                category: np.ndarray, n: int, pairs: Sequence[tuple[int, int]],
                geoms: np.ndarray, transform: Any, row_area: np.ndarray, cache_key: Any = None
                ) -> tuple[list[tuple[np.ndarray, np.ndarray]],
                           list[tuple[np.ndarray, np.ndarray]]]:
    """Each date's bucket areas and each period's category-pair areas of one block.

    Parameters
    ----------
    blocks : sequence of numpy.ndarray
        The block of every date (``uint8`` codes, same shape; broadcast blocks allowed).
    luts : sequence of numpy.ndarray
        Per date, the bucket of each byte value (256 entries, ``< len(category) <= 256``).
    category : numpy.ndarray
        The category of each bucket (``< n``; ``>= n``: none, e.g. nodata or unknown codes).
    n : int
        Number of categories.
    pairs : sequence of (int, int)
        Positions in ``blocks`` of each period's first and second date.
    geoms, transform, row_area, cache_key
        As :func:`landcarbon.engine.coverage.block_bucket_areas`.

    Returns
    -------
    dates : list of (numpy.ndarray, numpy.ndarray)
        Per date: areas (units of ``row_area``, ``(len(geoms), len(category))``) and cells of
        each bucket in the whole block (int64), as
        :func:`~landcarbon.engine.coverage.block_bucket_areas` gives them (its early returns
        aside, which leave out buckets a caller ignores).
    periods : list of (numpy.ndarray, numpy.ndarray)
        Per period: areas (``(len(geoms), n * n)``, pair ``from * n + to``) and the cells of
        each pair per row (``(rows, n * n + 1)``, int64, the last column: none at either
        date), inside units or not.
    """
    from landcarbon.engine.block_cells import block_cells, no_cells
    from landcarbon.engine.boundary_kernels import boundary_areas

    h, w = blocks[0].shape
    lut = np.ascontiguousarray(np.stack([np.asarray(t) for t in luts]), dtype=np.uint8)
    # the sweep finds changed cells by their codes: dates whose codes mean other buckets
    # are swept as buckets
    same = bool((lut == lut[:1]).all())
    codes = np.empty((len(blocks), h, w), np.uint8)
    for d, block in enumerate(blocks):
        codes[d] = block if same else lut[d][block]
    if not same:
        lut[:] = np.arange(256, dtype=np.uint8)
    source = np.full(len(blocks), -1, np.int64)  # see _sweep: counted, or derived
    seen: set[int] = set()
    for k, (i, j) in enumerate(pairs):
        seen.add(i)
        if j not in seen:
            source[j] = k
            seen.add(j)
    category = np.minimum(np.asarray(category, np.int64), n)  # n: none
    mb = len(category)
    cells = block_cells(geoms, transform, (h, w), cache_key) or no_cells((h, w))
    (cell_start, cell_row, cell_col, e_cell, e_owner, e_cov, corr, known, lv_row, lv_col,
     lv_val) = cells
    g, nn = len(geoms), n * n
    date_a = np.zeros((len(blocks), g + 1, mb))
    hist = np.zeros((len(blocks), mb), np.int64)
    pair_a = np.zeros((len(pairs), g + 1, nn + 1))
    rows = np.zeros((len(pairs), h, nn + 1), np.int64)
    scan = np.zeros(len(cell_row))
    date_cell = np.zeros((len(blocks), len(cell_row)), np.int64)
    pair_cell = np.zeros((len(pairs), len(cell_row)), np.int64)
    first = np.array([i for i, _ in pairs], np.int64)
    second = np.array([j for _, j in pairs], np.int64)
    row_area = np.ascontiguousarray(row_area, dtype=np.float64)
    _sweep(codes, lut, category, n, first, second, source, lv_row,
           lv_col, lv_val, cell_start, cell_col, row_area, date_a, hist, pair_a, rows, scan,
           date_cell, pair_cell)

    def exact(table: np.ndarray, cell_bucket: np.ndarray) -> np.ndarray:
        areas = np.zeros((g, table.shape[1]))
        areas += table[1:]
        boundary_areas(cell_row, scan, corr, known, cell_bucket, e_cell, e_owner, e_cov,
                       row_area, areas)
        return areas

    dates = [(exact(date_a[d], date_cell[d]), hist[d]) for d in range(len(blocks))]
    periods = [(exact(pair_a[k], pair_cell[k])[:, :nn], rows[k]) for k in range(len(pairs))]
    return dates, periods


def block_pair_areas(blocks: Sequence[np.ndarray], tables: Sequence[np.ndarray],
                     pairs: Sequence[tuple[int, int]], n: int, geoms: np.ndarray,
                     transform: Any, row_area: np.ndarray, cache_key: Any = None
                     ) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per-unit areas and per-row cells of every period's category pairs in one block:
    :func:`block_sweep` with each date's categories as its buckets.

    Parameters
    ----------
    blocks : sequence of numpy.ndarray
        The block of every date (``uint8``, same shape; broadcast blocks allowed).
    tables : sequence of numpy.ndarray
        Per date, the category (``< n``) of each byte value (256 entries; ``>= n``: none).
    pairs, n, geoms, transform, row_area, cache_key
        As :func:`block_sweep` (``n <= 255``).

    Returns
    -------
    list of (numpy.ndarray, numpy.ndarray)
        The periods of :func:`block_sweep`.
    """
    luts = [np.minimum(np.asarray(t, np.int64), n) for t in tables]
    return block_sweep(blocks, luts, np.arange(n + 1), n, pairs, geoms, transform, row_area,
                       cache_key)[1]
