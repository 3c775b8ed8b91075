"""Every period's transitions of a change run in one pass over the dates' category rasters.

:func:`landcarbon.change.transitions.category_transitions` counts one period at a time: for
each period it builds the combined ``from * n + to`` raster, reads both dates, computes the
units' exact coverage of every block and, separately, the whole-area matrix. Here one task
per block reads the block of every date once and, for every period, counts

* per unit: the pair of categories of each cell (``from << 8 | to``, a ``uint16`` key that a
  full 65,536-entry table maps to ``from * n + to``) through the compiled zonal engine
  (:func:`landcarbon.engine.coverage.block_bucket_areas`), on the boundary cells and coverage
  fractions of the block kept in :data:`landcarbon.engine.block_cells.COVERAGE` (computed once
  per grid and units: by the dates' land-cover passes, or by the first period);
* whole area: the cells of each pair per row (compiled), weighed by the row's cell area.

The areas are the same numbers as :func:`category_transitions` gives (same buckets, same
per-block sums in the same order). Rasters the compiled engine does not take (numpy-backed,
projected grids measured cell by cell, rotated grids, overlapping units) are left to
:func:`category_transitions` (:func:`period_transitions` returns ``None``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import xarray as xr
from numba import njit
from pyproj import CRS

from landcarbon.accounting.classification import is_dask
from landcarbon.accounting.legends import NODATA_CATEGORY, Legend
from landcarbon.engine.areas import (
    PixelAreaMethod,
    cell_areas_m2,
    resolve_area_method,
    row_areas_m2,
    to_crs_densified,
)
from landcarbon.engine.kernels import flush_row_counters
from landcarbon.exceptions import InputError

__all__ = ["coverage_uses", "dates_and_periods", "pair_lut", "period_transitions"]

M2_PER_HA = 10_000.0
Period = tuple[int, int]


#: The category of each byte value of a category raster (itself; 255 is nodata).
IDENTITY = np.arange(256, dtype=np.uint8)


def pair_lut(n: int, first: np.ndarray = IDENTITY, second: np.ndarray = IDENTITY
             ) -> np.ndarray:
    """Bucket of every ``uint16`` key ``a << 8 | b`` of two byte rasters whose values have
    the categories ``first[a]`` and ``second[b]``: ``from * n + to`` when both are categories
    (``< n``), else ``n * n`` (nodata at either date)."""
    key = np.arange(1 << 16, dtype=np.int64)
    frm = first.astype(np.int64)[key >> 8]
    to = second.astype(np.int64)[key & 0xFF]
    ok = (frm < n) & (to < n)
    return np.where(ok, frm * n + to, n * n)


def _pair_key(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The ``uint16`` key ``a << 8 | b`` of two ``uint8`` blocks (a broadcast value when both
    are one: zero memory)."""
    if a.size and not any(a.strides) and not any(b.strides):
        return np.broadcast_to(np.uint16((int(a.flat[0]) << 8) | int(b.flat[0])), a.shape)
    key = np.asarray(a).astype(np.uint16)
    key <<= 8
    key |= np.asarray(b)
    return key


@njit(cache=True, nogil=True, inline="always")
def _pair(a: int, b: int, first: np.ndarray, second: np.ndarray, n: int
          ) -> Any:  # pragma: no cover  (compiled)
    """Bucket of the byte values ``a`` (first date) and ``b`` (second date)."""
    f = np.int64(first[a])
    t = np.int64(second[b])
    return f * n + t if f < n and t < n else n * n


@njit(cache=True, nogil=True)
def _pair_bytes_kernel(a: np.ndarray, b: np.ndarray, first: np.ndarray, second: np.ndarray,
                       n: int, out: np.ndarray, counts: np.ndarray
                       ) -> None:  # pragma: no cover  (compiled; tested through its caller)
    h, w = a.shape
    local = np.zeros((4, counts.shape[1]), np.int64)  # interleaved (see row_bucket_counts)
    for r in range(h):
        ra, rb, ro = a[r], b[r], out[r]
        c = 0
        while c + 4 <= w:
            v0 = _pair(ra[c], rb[c], first, second, n)
            v1 = _pair(ra[c + 1], rb[c + 1], first, second, n)
            v2 = _pair(ra[c + 2], rb[c + 2], first, second, n)
            v3 = _pair(ra[c + 3], rb[c + 3], first, second, n)
            ro[c], ro[c + 1], ro[c + 2], ro[c + 3] = v0, v1, v2, v3
            local[0, v0] += 1
            local[1, v1] += 1
            local[2, v2] += 1
            local[3, v3] += 1
            c += 4
        while c < w:
            v0 = _pair(ra[c], rb[c], first, second, n)
            ro[c] = v0
            local[0, v0] += 1
            c += 1
        flush_row_counters(local, counts, r)


def _pair_bytes(a: np.ndarray, b: np.ndarray, first: np.ndarray, second: np.ndarray, n: int
                ) -> tuple[np.ndarray, np.ndarray]:
    """The bucket ``from * n + to`` (``n * n``: nodata at either date) of every cell of two
    ``uint8`` blocks whose values have the categories ``first[a]`` and ``second[b]``, as
    ``uint8`` (for ``n * n < 256``: the bucket raster itself, counted through a 256-entry
    table; a ``uint16`` key needs a 65,536-entry one, read at random), and the cells of each
    bucket in each row (``(rows, n * n + 1)``, counted while the buckets are made)."""
    counts = np.zeros((a.shape[0], n * n + 1), np.int64)
    if a.size and not any(a.strides) and not any(b.strides):
        f, t = int(first[int(a.flat[0])]), int(second[int(b.flat[0])])
        v = f * n + t if f < n and t < n else n * n
        counts[:, v] = a.shape[1]
        return np.broadcast_to(np.uint8(v), a.shape), counts
    out = np.empty(a.shape, np.uint8)
    _pair_bytes_kernel(np.ascontiguousarray(a), np.ascontiguousarray(b), first, second, n,
                       out, counts)
    return out, counts


#: Largest number of categories whose pairs (and nodata) fit a byte: ``n * n + 1 <= 256``.
BYTE_PAIRS = 15


def _block(blocks: tuple[np.ndarray, ...], pairs: Sequence[tuple[int, int]],
           tables: Sequence[np.ndarray], luts: Sequence[np.ndarray | None], geoms: np.ndarray,
           transform: Any, row_area: np.ndarray, whole_area: np.ndarray | None,
           nominal_m2: float | None, n: int, cache_key: Any
           ) -> list[tuple[np.ndarray | None, np.ndarray]]:
    """Per-unit areas (m2, ``(len(geoms), n * n)``, None without units) and the whole-area
    matrix (ha, ``(n, n)``) of every pair of dates (positions in ``blocks``, whose values
    have the categories ``tables[position]``) in one block: the byte buckets of
    :func:`_pair_bytes` for up to :data:`BYTE_PAIRS` categories, else the ``uint16`` keys of
    :func:`_pair_key` and their :func:`pair_lut` (``luts``)."""
    from landcarbon.engine.coverage import block_bucket_areas
    from landcarbon.engine.kernels import row_bucket_counts

    nn = n * n
    if len(geoms) and all(t is None for t in luts):  # every period in one sweep
        from landcarbon.change.pair_sweep import block_pair_areas

        swept = block_pair_areas(blocks, tables, pairs, n, geoms, transform, row_area,
                                 cache_key)
        return [(areas, _whole(counts, whole_area, nominal_m2, n)) for areas, counts in swept]
    byte_lut = np.minimum(np.arange(256, dtype=np.int64), nn)  # buckets 0..nn: the values
    out: list[tuple[np.ndarray | None, np.ndarray]] = []
    for (i, j), pair_table in zip(pairs, luts, strict=True):
        counts = None
        if pair_table is None:
            key, counts = _pair_bytes(blocks[i], blocks[j], tables[i], tables[j], n)
            lut = byte_lut
        else:
            key = _pair_key(blocks[i], blocks[j])
            lut = pair_table
        units = None
        if len(geoms):
            areas, _, _ = block_bucket_areas(key, geoms, transform, lut, 0, nn, row_area,
                                             ignore=nn, cache_key=cache_key)
            units = areas[:, :nn]
        if counts is None:
            counts = np.zeros((key.shape[0], nn + 1), np.int64)
            if key.size and not any(key.strides):
                counts[:, lut[int(key.flat[0])]] = key.shape[1]
            else:
                row_bucket_counts(np.ascontiguousarray(key), lut, counts)
        out.append((units, _whole(counts, whole_area, nominal_m2, n)))
    return out


def _whole(counts: np.ndarray, whole_area: np.ndarray | None, nominal_m2: float | None,
           n: int) -> np.ndarray:
    """The whole-area matrix (ha, ``(n, n)``) of a block's cells per row and pair bucket
    (``counts``), weighed by each row's cell area (or the nominal cell area)."""
    nn = n * n
    if nominal_m2 is not None:
        whole = counts[:, :nn].sum(axis=0).astype(np.float64) * nominal_m2 / M2_PER_HA
    else:
        assert whole_area is not None
        whole = whole_area @ counts[:, :nn].astype(np.float64) / M2_PER_HA
    return whole.reshape(n, n)


def _sum_blocks(parts: list[list[tuple[np.ndarray | None, np.ndarray]]],
                block_units: list[np.ndarray], n_units: int, n: int, periods: list[Period]
                ) -> dict[Period, tuple[np.ndarray, np.ndarray]]:
    """Per period: the units' transition cube (ha, ``(units, n, n)``) and the whole-area
    matrix, summed over blocks in block order."""
    result = {}
    for k, period in enumerate(periods):
        cube = np.zeros((n_units, n * n))
        for units, part in zip(block_units, parts, strict=True):
            if units.size:
                cube[units] += part[k][0]
        whole = sum(part[k][1] for part in parts)
        result[period] = ((cube / M2_PER_HA).reshape(n_units, n, n), np.asarray(whole))
    return result


def _tables(sums: dict[Period, tuple[np.ndarray, np.ndarray]], cats: pd.DataFrame,
            unit_ids: np.ndarray) -> dict[str, dict[Period, pd.DataFrame]]:
    from landcarbon.change.transitions import _unit_table, _whole_table

    frm, to = cats.add_prefix("from_"), cats.add_prefix("to_")
    return {"transitions": {p: _unit_table(cube, frm, to, unit_ids)
                            for p, (cube, _) in sums.items()},
            "whole": {p: _whole_table(whole, frm, to) for p, (_, whole) in sums.items()}}


def coverage_uses(cats: Mapping[int, xr.DataArray], periods: list[Period]) -> int:
    """How many times :func:`period_transitions` reads each block's coverage from
    :data:`~landcarbon.engine.block_cells.COVERAGE`: once for legends of up to
    :data:`BYTE_PAIRS` categories (one sweep for every period), else once per period."""
    from landcarbon.change.transitions import _categories

    n = len(_categories(cats[min(cats)]))
    return 1 if n <= BYTE_PAIRS else len(periods)


@dataclass(frozen=True)
class _Grid:
    """The blocks of aligned rasters that the one-pass engine takes: the units (in the
    rasters' CRS) touching each block, and each block's cell areas and chunk position."""

    geoms: np.ndarray
    plan: list[Any]
    token: str
    transform: Any
    crs: CRS
    #: area (m2) of every cell of a nominal grid, None for geographic cell areas
    nominal: float | None
    ys: np.ndarray
    xs: np.ndarray

    def chunk(self, b: Any) -> tuple[int, int]:
        """The chunk position of block ``b``."""
        return (int(np.searchsorted(self.ys, b.window[0].start)),
                int(np.searchsorted(self.xs, b.window[1].start)))

    def whole_area(self, b: Any) -> np.ndarray | None:
        """Each row's cell area (m2) of block ``b`` (None on a nominal grid)."""
        from affine import Affine

        if self.nominal is not None:
            return None
        rows = b.window[0].stop - b.window[0].start
        return row_areas_m2(self.transform * Affine.translation(0, b.window[0].start), rows,
                            self.crs)


def _grid(rasters: Sequence[xr.DataArray], units: gpd.GeoDataFrame,
          pixel_area: PixelAreaMethod, units_overlap: bool | None) -> _Grid | None:
    """The :class:`_Grid` of ``rasters`` (dask-backed ``uint8``, same chunks), or None when
    they need the general path (numpy-backed, other types or chunks, rotated or south-up
    grids, projected grids measured cell by cell, units overlapping by a cell or more)."""
    from landcarbon.engine.block_cells import units_token
    from landcarbon.engine.zonal import block_plan

    first = rasters[0]
    chunks = first.data.chunks if is_dask(first) else None
    crs = CRS.from_user_input(first.rio.crs)
    tr = first.rio.transform()
    method = resolve_area_method(crs, pixel_area)
    if (chunks is None or tr.b != 0 or tr.d != 0 or method not in ("geographic", "nominal")
            or not all(is_dask(r) and r.data.chunks == chunks and r.dtype == np.uint8
                       for r in rasters)
            or (first.y.size > 1 and float(first.y[1]) > float(first.y[0]))):
        return None
    geoms = to_crs_densified(units[["geometry"]], crs).reset_index(drop=True)
    geoms = geoms.geometry.to_numpy()
    if units_overlap is None:
        from landcarbon.engine.coverage import units_overlap as overlap

        units_overlap = overlap(geoms, abs(tr.a * tr.e))
    if units_overlap:
        return None
    nominal = None
    if method == "nominal":
        nominal = float(cell_areas_m2(np.zeros(1, int), np.zeros(1, int), tr, crs,
                                      "nominal", first.sizes["y"])[0])
    plan = block_plan(first, geoms, crs, pixel_area, with_data=False)
    return _Grid(geoms, plan, units_token(geoms), tr, crs, nominal,
                 np.cumsum((0, *chunks[0])), np.cumsum((0, *chunks[1])))


def period_transitions(cats: Mapping[int, xr.DataArray], periods: list[Period],
                       units: gpd.GeoDataFrame, *,
                       codes: Mapping[int, tuple[xr.DataArray, np.ndarray]] | None = None,
                       pixel_area: PixelAreaMethod = "auto",
                       units_overlap: bool | None = None) -> Any:
    """The per-unit and whole-area transition tables of every period in one pass.

    Parameters
    ----------
    cats : mapping of year to xarray.DataArray
        Aligned, dask-backed category rasters of one legend (same chunks).
    periods : list of (year_from, year_to)
    units : geopandas.GeoDataFrame
        With ``unit_id``.
    codes : mapping of year to (xarray.DataArray, numpy.ndarray), optional
        The byte rasters the categories were made from and the category of each byte
        (:func:`landcarbon.accounting.classification.byte_category_table`): read instead of
        the categories (no classification step), when every year has one on the same chunks.
    pixel_area : {"auto", "nominal", "ellipsoidal"}
    units_overlap : bool, optional
        Whether the units overlap by a cell or more (checked here when None).

    Returns
    -------
    dask.delayed.Delayed or None
        A delayed dict ``{"transitions": {period: table}, "whole": {period: table}}`` with
        the tables of :func:`landcarbon.change.transitions.category_transitions` (with and
        without units); ``None`` when these rasters need the general path.
    """
    import dask

    from landcarbon.change.transitions import _categories

    years = sorted({y for p in periods for y in p})
    table = _categories(cats[years[0]])
    for y in years[1:]:
        if not table.equals(_categories(cats[y])):
            raise InputError("The two dates were classified with different legends (their "
                             "category tables differ). Use the same legend and "
                             "rural_settlement setting for every date.")
    n = len(table)
    if n >= NODATA_CATEGORY:
        return None
    first = cats[years[0]]

    def fits(da: xr.DataArray) -> bool:
        return (is_dask(da) and is_dask(first) and da.data.chunks == first.data.chunks
                and da.dtype == np.uint8)

    rasters = {y: (cats[y], IDENTITY) for y in years}
    if codes is not None and all(y in codes and fits(codes[y][0]) for y in years):
        rasters = {y: codes[y] for y in years}
    grid = _grid([rasters[y][0] for y in years], units, pixel_area, units_overlap)
    if grid is None:
        return None
    position = {y: k for k, y in enumerate(years)}
    pairs = [(position[a], position[b]) for a, b in periods]
    tables = [np.ascontiguousarray(rasters[y][1], dtype=np.uint8) for y in years]
    luts = [None if n <= BYTE_PAIRS else pair_lut(n, tables[i], tables[j]) for i, j in pairs]
    delayed = [rasters[y][0].data.to_delayed(optimize_graph=False) for y in years]
    parts = []
    for b in grid.plan:
        i, j = grid.chunk(b)
        parts.append(dask.delayed(_block)(
            tuple(d[i, j] for d in delayed), pairs, tables, luts, grid.geoms[b.units],
            b.transform, b.cell_area, grid.whole_area(b), grid.nominal, n,
            (grid.token, b.units.tobytes())))
    sums = dask.delayed(_sum_blocks)(parts, [b.units for b in grid.plan], len(grid.geoms), n,
                                     periods)
    return dask.delayed(_tables)(sums, table, units["unit_id"].to_numpy())


def _dates_block(blocks: tuple[np.ndarray, ...], buckets: Sequence[Any], n: int,
                 pairs: Sequence[tuple[int, int]], geoms: np.ndarray, transform: Any,
                 row_area: np.ndarray, whole_area: np.ndarray | None,
                 nominal_m2: float | None, cache_key: Any
                 ) -> tuple[list[tuple[np.ndarray, np.ndarray, pd.Series | None]],
                            list[tuple[np.ndarray, np.ndarray]]]:
    """One block of :func:`dates_and_periods`: per date, the bucket areas, cells per bucket
    and unknown codes (as a land-cover pass gives them); per period, the units' pair areas
    and the whole-area matrix."""
    from landcarbon.change.pair_sweep import block_sweep
    from landcarbon.engine.landcover_pass import unknown_codes

    dates, swept = block_sweep(blocks, [b.lut for b in buckets], buckets[0].category, n,
                               pairs, geoms, transform, row_area, cache_key)
    return ([(areas, hist, unknown_codes(block, hist, b))
             for (areas, hist), block, b in zip(dates, blocks, buckets, strict=True)],
            [(areas, _whole(rows, whole_area, nominal_m2, n)) for areas, rows in swept])


def dates_and_periods(codes: Mapping[int, xr.DataArray], legend: Legend,
                      exclude_codes: Sequence[int], periods: list[Period],
                      units: gpd.GeoDataFrame, *, pixel_area: PixelAreaMethod = "auto",
                      units_overlap: bool | None = None) -> Any:
    """Every date's land-cover pass and every period's transitions in one sweep of each block
    (:func:`landcarbon.change.pair_sweep.block_sweep`).

    Parameters
    ----------
    codes : mapping of year to xarray.DataArray
        Each date's raw land-cover codes (``uint8``, dask-backed, one grid, same chunks).
    legend : Legend
    exclude_codes : sequence of int
    periods : list of (year_from, year_to)
    units : geopandas.GeoDataFrame
        With ``unit_id``.
    pixel_area, units_overlap
        As :func:`period_transitions`.

    Returns
    -------
    dask.delayed.Delayed or None
        A delayed pair: ``{year: (code counts, class areas)}`` as
        :func:`landcarbon.engine.landcover_pass.landcover_pass` computes them (no rasters),
        and the tables of :func:`period_transitions`; None when these rasters need the
        general path (other types or grids, overlapping units, more than 254 codes).
    """
    import dask

    from landcarbon.engine.landcover_pass import code_buckets, combine_blocks

    years = sorted(codes)
    found = [code_buckets(legend, exclude_codes, codes[y].dtype, codes[y].rio.nodata)
             for y in years]
    buckets = [b for b in found if b is not None]
    cats = legend.categories.reset_index(drop=True)
    n = len(cats)
    if (n >= NODATA_CATEGORY or len(buckets) < len(found) or any(
            b.outside > 255 or not np.array_equal(b.category, buckets[0].category)
            for b in buckets)):
        return None
    grid = _grid([codes[y] for y in years], units, pixel_area, units_overlap)
    if grid is None:
        return None
    position = {y: k for k, y in enumerate(years)}
    pairs = [(position[a], position[b]) for a, b in periods]
    delayed = [codes[y].data.to_delayed(optimize_graph=False) for y in years]
    parts = []
    for b in grid.plan:
        i, j = grid.chunk(b)
        parts.append(dask.delayed(_dates_block)(
            tuple(d[i, j] for d in delayed), buckets, n, pairs, grid.geoms[b.units],
            b.transform, b.cell_area, grid.whole_area(b), grid.nominal,
            (grid.token, b.units.tobytes())))
    units_of = [b.units for b in grid.plan]
    ids = units["unit_id"].to_numpy()

    def finish(parts: list[Any]) -> tuple[dict[int, Any], dict[str, Any]]:
        dates = {y: combine_blocks([p[0][k] for p in parts], units=units_of,
                                   n_units=len(grid.geoms), buckets=buckets[k], ids=ids,
                                   cats=cats) for k, y in enumerate(years)}
        sums = _sum_blocks([p[1] for p in parts], units_of, len(grid.geoms), n, periods)
        return dates, _tables(sums, cats, ids)

    return dask.delayed(finish)(parts)
