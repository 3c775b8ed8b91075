"""Exact per-unit value areas of an integer raster, block by block (the fast zonal engine).

For each raster block (a dask chunk, or a window of a numpy array):

1. the units that intersect the block are burnt into a unit-id raster by cell centre
   (GDAL rasterize); every cell that no unit boundary passes through is covered entirely by
   the unit its centre falls in (units must not overlap), so ``bincount((unit, value),
   weights=cell area)`` over those cells is exact;
2. for the cells that unit boundaries cross, the exact polygon/cell intersection area is
   computed in numpy from the polygon's edges (Green's theorem on the edge pieces between
   grid lines: a piece inside cell ``(r, c)`` contributes ``-dx * (y_mid - r)`` to it and
   ``-dx`` to every cell of its column above it, in pixel coordinates with the rings oriented
   to a positive signed area), and the centre-based value of step 1 is replaced by it.

The result equals exactextract's coverage fractions times the cell areas (to rounding), but
the cost is one bincount per pixel plus work proportional to the boundary length, and memory
is bounded by the block size. Overlapping units are not supported here (callers fall back
to exactextract, see :func:`units_overlap`). The geometry of step 2 (edge pieces, boundary
cells and their coverage, and the cache sharing them between rasters on one grid) is in
:mod:`landcarbon.engine.block_cells`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from affine import Affine

from landcarbon.engine.block_cells import Pieces, block_cells, clipped_pieces, no_cells

__all__ = [
    "block_bucket_areas",
    "block_value_areas",
    "boundary_coverage",
    "bucket_of",
    "covers_type",
    "unit_index_raster",
    "units_overlap",
    "value_lut",
]

#: Size of the (rows x units x values) integer count table of one band of rows (2 MB of
#: int64: stays in cache); blocks whose single row needs more than 1/8 of it use a weighted
#: bincount over the covered cells instead.
BAND_BINS = 262_144


def units_overlap(geoms: np.ndarray, cell_area: float = 0.0) -> bool:
    """True if two polygons share an area of at least ``cell_area`` (CRS units squared).

    Shared edges and slivers smaller than one cell (digitising noise) are fine for the block
    engine: such an overlap cannot hold a whole cell, and cells that boundaries cross get
    each unit's exact coverage.
    """
    import shapely

    if len(geoms) < 2:
        return False
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    if left.size == 0:
        return False
    inner = shapely.relate_pattern(geoms[left], geoms[right], "T********")
    if not inner.any():
        return False
    shared = shapely.area(shapely.intersection(geoms[left[inner]], geoms[right[inner]]))
    return bool((shared >= cell_area).any())


def _group(owner: np.ndarray, row: np.ndarray, col: np.ndarray, partial: np.ndarray,
           full: np.ndarray, shape: tuple[int, int]
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Exact coverage of each (owner, cell) that holds pieces, for cells inside the grid."""
    h, w = shape
    # one int64 key per (owner, col, row) (rows and columns of pieces of clipped polygons
    # lie in 0..h and 0..w): one argsort instead of a 3-key lexsort
    lo_r, lo_c = min(int(row.min(initial=0)), 0), min(int(col.min(initial=0)), 0)
    span_r = int(row.max(initial=0)) - lo_r + 1
    span_c = int(col.max(initial=0)) - lo_c + 1
    order = np.argsort((owner * span_c + (col - lo_c)) * span_r + (row - lo_r))
    owner, row, col, partial, full = (a[order] for a in (owner, row, col, partial, full))
    new = np.ones(len(owner), dtype=bool)
    new[1:] = (owner[1:] != owner[:-1]) | (col[1:] != col[:-1]) | (row[1:] != row[:-1])
    starts = np.nonzero(new)[0]
    g_owner, g_row, g_col = owner[starts], row[starts], col[starts]
    g_partial = np.add.reduceat(partial, starts)
    g_full = np.add.reduceat(full, starts)
    seg_new = np.ones(len(starts), dtype=bool)
    seg_new[1:] = (g_owner[1:] != g_owner[:-1]) | (g_col[1:] != g_col[:-1])
    seg_id = np.cumsum(seg_new) - 1
    seg_end = np.append(np.nonzero(seg_new)[0][1:], len(starts))  # exclusive end per segment
    suffix = np.append(np.cumsum(g_full[::-1])[::-1], 0.0)  # suffix[i] = sum g_full[i:]
    above = suffix[np.arange(len(starts)) + 1] - suffix[seg_end[seg_id]]
    cov = np.clip(g_partial + above, 0.0, 1.0)
    inside = (g_row >= 0) & (g_row < h) & (g_col >= 0) & (g_col < w)
    return g_owner[inside], g_row[inside], g_col[inside], cov[inside]


def boundary_coverage(geoms: np.ndarray, shape: tuple[int, int]
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Exact coverage fraction of every cell crossed by the boundary of each polygon.

    Parameters
    ----------
    geoms : numpy.ndarray of shapely geometries
        (Multi)polygons in pixel coordinates (x = column, y = row) of a grid of ``shape``.
    shape : (height, width)

    Returns
    -------
    owner, row, col, coverage : numpy.ndarray
        One entry per (polygon, cell) pair whose cell the polygon's boundary crosses (cells
        inside the grid only); ``owner`` indexes ``geoms``. Every other cell is covered 0 or 1.
    """
    pieces = clipped_pieces(geoms, shape)
    if pieces is None:
        return (np.zeros(0, np.int64),) * 3 + (np.zeros(0),)
    return _group(*pieces, shape)


def unit_index_raster(pieces: Pieces, shape: tuple[int, int]) -> np.ndarray:
    """``k + 1`` (float64, exact to rounding) in every cell that no boundary crosses and that
    polygon ``k`` covers, 0 in cells outside every polygon: a scanline fill of
    non-overlapping polygons as a reverse cumulative sum of their edge pieces' ``-dx`` down
    each column. In cells that boundaries cross, the value misses the pieces inside the cell
    (their ``partial`` terms, times ``k + 1``)."""
    owner, row, col, _partial, full = pieces
    h, w = shape
    ok = (col >= 0) & (col < w) & (row > 0) & (row <= h)
    flat = (row[ok] - 1) * w + col[ok]
    rows = np.bincount(flat, weights=(owner[ok] + 1.0) * full[ok], minlength=h * w)
    rows = rows.reshape(h, w)
    # level[r] = sum of the pieces in rows > r: a running sum from the bottom, one row at a
    # time (numpy's cumsum along axis 0 is ~10x slower on C-ordered blocks)
    for r in range(h - 2, -1, -1):
        np.add(rows[r], rows[r + 1], out=rows[r])
    return rows


def bucket_of(value: object, lut: np.ndarray, lo: int, outside: int) -> int:
    """The bucket of one raw value: ``lut[value - lo]``, ``outside`` off the table (or not an
    integer)."""
    v = float(value)  # type: ignore[arg-type]
    if not v.is_integer():
        return outside
    i = int(v) - lo
    return int(lut[i]) if 0 <= i < lut.size else outside


#: Side (pixels) of the tiles of a block checked for holding one value: their pixels are
#: counted (and looked up) without being read one by one. On the 36000 x 36000 WorldCover
#: tile, 27 % of the pixels of the blocks holding more than one value are in 512-pixel tiles
#: that do too (16 % in 256-pixel ones); 512 is also the block size of written GeoTIFFs.
TILE = 512


def block_bucket_areas(
    block: np.ndarray,
    geoms: np.ndarray,
    transform: Affine,
    lut: np.ndarray,
    lo: int,
    outside: int,
    row_area: np.ndarray,
    ignore: int = -1,
    cache_key: Any = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Area of each bucket inside each unit, and the cells of each bucket, of one block.

    The compiled engine (:func:`landcarbon.engine.kernels.sweep_block`): the raw values of
    ``block`` are put in buckets by a look-up table while they are counted, so a land-cover
    block is classified, histogrammed and summed per unit in one pass over its pixels, and
    the pixels of :data:`TILE`-sized tiles that hold one value are not read one by one.

    Parameters
    ----------
    block : numpy.ndarray
        2-D integer values (e.g. raw land-cover codes).
    geoms : numpy.ndarray of shapely geometries
        Non-overlapping (multi)polygons in the raster's CRS (those touching the block).
    transform : affine.Affine
        Transform of the block.
    lut, lo, outside : numpy.ndarray, int, int
        Bucket of value ``v`` is ``lut[v - lo]``; values off the table go to ``outside``.
        There are ``max(lut.max(), outside) + 1`` buckets.
    row_area : numpy.ndarray
        Area of a cell of each row of the block (length ``block.shape[0]``).
    ignore : int
        A bucket whose areas are not wanted (nodata): a block holding only that bucket is
        counted without looking at the units (its areas are returned as 0).
    cache_key : hashable, optional
        Names the geometry of this block (units, transform, shape; e.g. from
        :func:`landcarbon.engine.block_cells.units_token`): its boundary cells and their
        coverage fractions are taken from (or kept in)
        :data:`landcarbon.engine.block_cells.COVERAGE`, so that other rasters on the same
        grid (the dates of a change run, scenarios, Monte Carlo draws) do not compute them
        again.

    Returns
    -------
    areas : numpy.ndarray
        float64, shape ``(len(geoms), buckets)``, units of ``row_area``.
    cells : numpy.ndarray
        int64, shape ``(buckets,)``: cells of each bucket in the whole block (inside units
        or not).
    tiles : numpy.ndarray
        int64, the bucket of each :data:`TILE` x :data:`TILE` tile holding one bucket's
        values (one value, or a block of one bucket), -1 for the others.
    """
    from landcarbon.engine.boundary_kernels import boundary_areas
    from landcarbon.engine.kernels import sweep_block

    if block.dtype.kind not in "ui":
        raise TypeError(f"block_bucket_areas needs integer values, got {block.dtype}")
    h, w = block.shape
    lut = np.ascontiguousarray(lut, dtype=np.int64)
    m = int(max(lut.max(initial=0), outside)) + 1
    g = len(geoms)
    areas = np.zeros((g, m))
    hist = np.zeros(m, np.int64)
    tiles = np.empty((-(-h // TILE), -(-w // TILE)), np.int64)
    if block.size and not any(block.strides):  # a broadcast value (zero memory)
        tiles.fill(bucket_of(block.flat[0], lut, lo, outside))
        # never read: every tile holds one value (np.empty touches no memory)
        codes = np.empty((h, w), block.dtype)
    else:
        codes = np.ascontiguousarray(block)
        if codes.size:  # a block of one value ends with every tile of one value
            _tile_buckets(codes, lut, int(lo), int(outside), tiles)
    uniform = int(tiles.flat[0]) if tiles.size and (tiles == tiles.flat[0]).all() else -1
    if uniform >= 0 and (uniform == ignore or g == 0):
        hist[uniform] = block.size
        return areas, hist, tiles

    cells = block_cells(geoms, transform, (h, w), cache_key)
    if cells is None:
        if uniform >= 0:
            hist[uniform] = block.size
            return areas, hist, tiles
        cells = no_cells((h, w))
    (cell_start, cell_row, cell_col, e_cell, e_owner, e_cov, corr, known, lv_row, lv_col,
     lv_val) = cells
    table_n = np.zeros((g + 1, m), np.int64)
    table_a = np.zeros((g + 1, m))
    scan = np.zeros(len(cell_row))
    cell_bucket = np.zeros(len(cell_row), np.int64)
    full = covers_type(lut.size, lo, codes.dtype)
    row_area = np.ascontiguousarray(row_area, dtype=np.float64)
    sweep_block(codes, lut, int(lo), int(outside), bool(full), tiles, TILE, lv_row, lv_col, lv_val,
                cell_start, cell_col, row_area, table_n, table_a, hist, scan, cell_bucket)
    if g == 0:
        return areas, hist, tiles
    areas += table_a[1:]
    # cells crossed by a boundary: exact coverage of each unit crossing them, plus the unit
    # covering a cell fully when a boundary only runs along the cell's edge
    boundary_areas(cell_row, scan, corr, known, cell_bucket, e_cell, e_owner, e_cov, row_area,
                   areas)
    return areas, hist, tiles


def covers_type(size: int, lo: int, dtype: np.dtype) -> bool:
    """True if a look-up table of ``size`` entries from value ``lo`` covers every value of
    the integer ``dtype`` (byte codes: lo 0, 256 entries): the compiled loops then index it
    with no offset and no range check."""
    info = np.iinfo(dtype)
    return lo == 0 == info.min and size == int(info.max) + 1


def _tile_buckets(codes: np.ndarray, lut: np.ndarray, lo: int, outside: int,
                  tiles: np.ndarray, *, words: bool = True) -> None:
    """Fill ``tiles`` (see :func:`block_bucket_areas`): compared 8 bytes at a time when rows
    and tiles are whole words (and ``words``), else value by value."""
    from landcarbon.engine.kernels import tiles_of_one_value

    item = codes.itemsize
    by_word = words and not ((codes.shape[1] * item) % 8 or (TILE * item) % 8)
    same = np.zeros(tiles.shape, np.int64)
    if by_word:
        tiles_of_one_value(codes.view(np.uint64), TILE, TILE * item // 8, same)
    else:
        tiles_of_one_value(codes, TILE, TILE, same)
    tiles.fill(-1)
    for i, j in zip(*np.nonzero(same), strict=True):
        first = codes[i * TILE, j * TILE]
        if by_word:
            # one word repeated over the tile: one value if that word is the value repeated
            pattern = np.full(8 // item, first, codes.dtype).view(np.uint64)[0]
            if pattern != codes.view(np.uint64)[i * TILE, j * TILE * item // 8]:
                continue
        tiles[i, j] = bucket_of(first, lut, lo, outside)


def value_lut(n: int, nodata: int) -> tuple[np.ndarray, int]:
    """Look-up table of an index raster of values ``0..n-1``: bucket = value; ``nodata`` and
    values off ``0..n-1`` go to bucket ``n`` (returned as the ``outside`` bucket)."""
    lut = np.arange(n, dtype=np.int64)
    if 0 <= nodata < n:
        lut[nodata] = n
    return lut, n


def block_value_areas(
    block: np.ndarray,
    geoms: np.ndarray,
    transform: Affine,
    n: int,
    nodata: int,
    cell_area: Callable[[np.ndarray, np.ndarray], np.ndarray] | np.ndarray,
    cache_key: Any = None,
) -> np.ndarray:
    """Area of each value ``0..n-1`` of ``block`` inside each of ``geoms`` (units of the cell
    areas; shape ``(len(geoms), n)``).

    Parameters
    ----------
    block : numpy.ndarray
        2-D integer values; ``nodata`` and values ``>= n`` are skipped.
    geoms : numpy.ndarray of shapely geometries
        Non-overlapping (multi)polygons in the raster's CRS (only those touching the block).
    transform : affine.Affine
        Transform of the block (its top-left cell at row 0, column 0).
    cell_area : numpy.ndarray or callable
        Either the area of each row of the block (1-D, length ``block.shape[0]``: grids whose
        cell area depends on the row only) or a function ``(rows, cols) -> areas``.
    cache_key : hashable, optional
        See :func:`block_bucket_areas` (used with row areas and integer values).
    """
    import shapely

    if isinstance(cell_area, np.ndarray) and block.dtype.kind in "ui":
        lut, outside = value_lut(n, nodata)
        areas, _, _ = block_bucket_areas(block, geoms, transform, lut, 0, outside, cell_area,
                                         ignore=outside, cache_key=cache_key)
        return areas[:, :n]
    h, w = block.shape
    g = len(geoms)
    out = np.zeros((g, n))
    if g == 0 or (block.size and block.min() >= n):  # nothing to count (e.g. sea only)
        return out
    valid = block < n
    if 0 <= nodata < n:  # a nodata >= n is already left out by "< n"
        valid &= block != nodata
    if np.issubdtype(block.dtype, np.signedinteger):
        valid &= block >= 0
    if g == 0 or not valid.any():
        return out
    # only the bounding box of the cells with data needs the per-pixel work (coasts, edges)
    rows = np.flatnonzero(valid.any(axis=1))
    cols = np.flatnonzero(valid.any(axis=0))
    r0, r1, c0, c1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    if (r1 - r0) * (c1 - c0) < 0.8 * h * w:
        if isinstance(cell_area, np.ndarray):
            sub_area: Any = cell_area[r0:r1]
        else:
            def sub_area(rr: np.ndarray, cc: np.ndarray) -> np.ndarray:
                return cell_area(rr + r0, cc + c0)
        sub = block[r0:r1, c0:c1]
        return block_value_areas(sub, geoms, transform * Affine.translation(c0, r0), n,
                                 nodata, sub_area)
    inv = ~transform
    pix = shapely.transform(geoms, lambda xy: np.column_stack(inv * (xy[:, 0], xy[:, 1])))
    pieces = clipped_pieces(pix, (h, w))
    if pieces is None:
        return out
    level = unit_index_raster(pieces, (h, w))
    owner, row, col, cov = _group(*pieces, (h, w))
    # cells crossed by a boundary: exact coverage of each unit crossing them ...
    p_owner, p_row, p_col, p_partial, _ = pieces
    inside = (p_row >= 0) & (p_row < h) & (p_col >= 0) & (p_col < w)
    cells, where = np.unique(row * w + col, return_inverse=True)
    pos = np.searchsorted(cells, p_row[inside] * w + p_col[inside])
    # (k + 1) * coverage summed over the units crossing each cell, both ways
    scan = level.ravel()[cells] + np.bincount(
        pos, weights=(p_owner[inside] + 1.0) * p_partial[inside], minlength=len(cells))
    known = np.bincount(where, weights=(owner + 1.0) * cov, minlength=len(cells))
    # ... plus, when a boundary only runs along the cell's edge, the unit covering it fully
    mr, mc = np.divmod(cells, w)
    rest = np.rint(scan - known).astype(np.int64)
    full_cover = rest > 0
    b_owner = np.concatenate([owner, rest[full_cover] - 1])
    b_row = np.concatenate([row, mr[full_cover]])
    b_col = np.concatenate([col, mc[full_cover]])
    b_cov = np.concatenate([cov, np.ones(int(full_cover.sum()))])
    keep = valid[b_row, b_col]
    b_owner, b_row, b_col, b_cov = b_owner[keep], b_row[keep], b_col[keep], b_cov[keep]
    weights = b_cov * (cell_area[b_row] if isinstance(cell_area, np.ndarray)
                       else cell_area(b_row, b_col))
    key = b_owner * n + block[b_row, b_col]
    out += np.bincount(key, weights=weights, minlength=g * n).reshape(g, n)
    # every other cell: covered entirely by the unit its index says (0 = none)
    level += 0.5  # round half up: the index is >= 0 up to rounding noise
    uid = level.astype(np.int32)
    uid.ravel()[cells] = 0
    # a zero-stride block (a lookup of a one-value chunk, e.g. open water) holds one valid
    # value everywhere: count cells per unit only (1 value bin instead of n)
    one = int(block.flat[0]) if block.size > 1 and not any(block.strides) else None
    if one is None:
        np.multiply(uid, valid, out=uid)
        key = np.multiply(uid, n, dtype=np.intp)
        # bins 0..n-1 collect the cells outside every unit (and nodata: value capped below n)
        key += np.clip(block, 0, n - 1)
    else:
        key = uid.astype(np.intp)
    vn = n if one is None else 1
    nb = (g + 1) * vn
    band = min(h, BAND_BINS // nb)
    if isinstance(cell_area, np.ndarray) and band >= 8:
        # integer counts per (row, unit, value), then one product with the row areas; rows
        # go in bands whose count table stays in cache (one table for the whole block was
        # 2x slower: a bincount into up to 64 MB of bins)
        key += (nb * (np.arange(h) % band))[:, None]
        total = np.zeros(nb)
        for r0 in range(0, h, band):
            counts = np.bincount(key[r0:r0 + band].ravel(), minlength=nb * band)
            rows_here = min(band, h - r0)
            total += cell_area[r0:r0 + rows_here] @ counts.reshape(band, nb)[:rows_here]
        part: np.ndarray = total.reshape(g + 1, vn)[1:]
    else:
        rr, cc = np.nonzero(uid)
        uid_areas = (cell_area[rr] if isinstance(cell_area, np.ndarray)
                     else cell_area(rr, cc))
        part = np.bincount(key[rr, cc] - vn, weights=uid_areas,
                           minlength=g * vn).reshape(g, vn)
    if one is None:
        out += part
    else:
        out[:, one] += part[:, 0]
    return out
