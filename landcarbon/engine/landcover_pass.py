"""One pass over a land-cover raster: code counts, per-unit class areas and derived rasters.

A run needs three things from the raw codes: the pixel count of every code (to refuse codes
the legend does not map), the area of every (land class, space type) category inside every
unit, and rasters that are a function of the code alone (land class, space type, and the net
flux density when the construction intensity is a constant). :func:`landcover_pass` gets all
of them from each block read once: a look-up table puts every code in a *bucket* (one per
legend code, one for nodata, one for codes the legend does not know) while the compiled
zonal engine (:func:`landcarbon.engine.coverage.block_bucket_areas`) counts the buckets per unit,
and each derived raster is one gather of the block, handed to a *sink* as soon as it is made
(in pieces: a run of tiles holding one value is handed over as a zero-memory broadcast array,
so writers and reducers can skip it).

A sink is anything with ``sink[rows, cols] = block`` (the target protocol of
:func:`dask.array.store`: a window writer of an open GeoTIFF, a zarr array, a reducer). The
blocks are written from dask's worker threads, so sinks must be thread-safe.

Rasters this engine cannot take (float codes, units that overlap, rotated grids, exact
ellipsoidal cell areas of projected grids, codes spread over more than 4 M values) go through
the general path (:func:`~landcarbon.accounting.classification.classify`,
:func:`~landcarbon.accounting.classification.code_counts`,
:func:`~landcarbon.engine.zonal.class_areas`):
same results, more passes.
"""

from __future__ import annotations

import functools
import gc
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import geopandas as gpd
import numpy as np
import pandas as pd
import xarray as xr

from landcarbon.accounting.legends import NODATA_CATEGORY, Legend
from landcarbon.engine.areas import PixelAreaMethod, to_crs_densified
from landcarbon.engine.block_cells import units_token

__all__ = ["CodeBuckets", "RasterSink", "code_buckets", "combine_blocks", "compute_frozen",
           "landcover_pass", "smallest_cell_m2", "unknown_codes"]

#: Largest code range (max - min + 1) that gets a look-up table.
MAX_TABLE = 1 << 22


class RasterSink(Protocol):
    """Receives the blocks of a derived raster: ``sink[rows, cols] = block``."""

    def __setitem__(self, key: tuple[slice, slice], value: np.ndarray) -> None: ...


@dataclass(frozen=True)
class CodeBuckets:
    """Buckets of the raw codes of one legend: ``bucket = lut[code - lo]``.

    Buckets ``0..k-1`` are the legend's codes (and the excluded ones) in ``codes`` order,
    ``k`` is nodata, ``k + 1`` (``outside``) every code the legend does not know.
    """

    codes: np.ndarray
    lut: np.ndarray
    lo: int
    #: category value of each bucket (NODATA_CATEGORY for nodata, excluded and unknown codes)
    category: np.ndarray

    @property
    def nodata(self) -> int:
        return len(self.codes)

    @property
    def outside(self) -> int:
        return len(self.codes) + 1

    def code_table(self, category_values: np.ndarray) -> np.ndarray:
        """A per-code table (length ``len(lut) + 1``, last entry for codes off the table)
        of the values that ``category_values`` (indexed by category value) gives."""
        per_bucket = category_values[self.category]
        return np.append(per_bucket[self.lut], per_bucket[self.outside])


def code_buckets(legend: Legend, exclude_codes: Iterable[int], dtype: np.dtype,
                 nodata: float | None) -> CodeBuckets | None:
    """The buckets of ``legend`` for a raster of ``dtype``, or None if the engine cannot take
    it (not one of the compiled integer types, or codes spread too widely)."""
    from landcarbon.engine.kernels import CODE_TYPES

    dtype = np.dtype(dtype)
    if dtype.name not in CODE_TYPES:  # floats, uint64: the general path
        return None
    info = np.iinfo(dtype)
    of_code = legend.category_of_code(tuple(int(c) for c in exclude_codes))
    known = np.union1d(of_code.index.to_numpy(np.int64),
                       np.asarray([int(c) for c in exclude_codes], np.int64))
    known = known[(known >= info.min) & (known <= info.max)]
    nd = None
    if nodata is not None and float(nodata).is_integer() and info.min <= nodata <= info.max:
        nd = int(nodata)
    ends = [*known[:1], *known[-1:], *([nd] if nd is not None else [])]
    lo, hi = (int(info.min), int(info.max)) if dtype.itemsize == 1 else (
        (min(ends), max(ends)) if ends else (0, 0))
    if hi - lo + 1 > MAX_TABLE:
        return None
    k = len(known)
    lut = np.full(hi - lo + 1, k + 1, np.int64)
    lut[known - lo] = np.arange(k)
    if nd is not None:
        lut[nd - lo] = k
    category = np.append(of_code.reindex(known).fillna(NODATA_CATEGORY).to_numpy(np.int64),
                         [NODATA_CATEGORY, NODATA_CATEGORY])
    return CodeBuckets(known, lut, lo, category)


def landcover_pass(
    codes: xr.DataArray,
    units: gpd.GeoDataFrame,
    legend: Legend,
    exclude_codes: Iterable[int] = (),
    *,
    pixel_area: PixelAreaMethod = "auto",
    rasters: Mapping[str, tuple[np.ndarray, RasterSink]] | None = None,
    units_overlap: bool | None = None,
    lazy: bool = False,
) -> Any:
    """Code counts and per-unit class areas of ``codes``, and derived rasters, in one pass.

    Parameters
    ----------
    codes : xarray.DataArray
        Raw land-cover codes (numpy or dask), with CRS and nodata.
    units : geopandas.GeoDataFrame
        Land units with ``unit_id`` (any CRS; not modified).
    legend : Legend
    exclude_codes : iterable of int
        Codes left out of the accounting (as in
        :func:`~landcarbon.accounting.classification.classify`).
    pixel_area : {"auto", "nominal", "ellipsoidal"}
    rasters : mapping, optional
        ``name -> (values, sink)``: a raster whose pixel is ``values[category]`` (``values``
        indexed by category value 0..255, e.g.
        :func:`landcarbon.accounting.flux.category_flux_table`;
        its dtype is the raster's) is computed block by block and written to ``sink``.
    units_overlap : bool, optional
        Whether units overlap (by a cell or more), if the caller knows it (e.g. from
        :func:`landcarbon.checks.units.overlaps`: False when it finds no pair); None checks.
    lazy : bool
        With a dask-backed raster, return a ``dask.delayed`` (counts, areas) pair that feeds
        the sinks when computed (to compute with other work in one ``dask.compute``).

    Returns
    -------
    (pandas.Series, pandas.DataFrame)
        Pixels per raw code (nodata excluded; as
        :func:`~landcarbon.accounting.classification.code_counts`)
        and the long table ``unit_id, land_class, space_type, area_ha`` (as
        :func:`~landcarbon.engine.zonal.class_areas`). Check the counts with
        :func:`~landcarbon.accounting.classification.check_codes`: unknown codes count as nodata in
        the
        areas and rasters.
    """
    from pyproj import CRS

    from landcarbon.engine.areas import resolve_area_method
    from landcarbon.engine.zonal import block_plan

    rasters = dict(rasters or {})
    crs = CRS.from_user_input(codes.rio.crs)
    buckets = code_buckets(legend, exclude_codes, codes.dtype, codes.rio.nodata)
    geoms = units[["geometry"]]
    geoms = to_crs_densified(geoms, crs).geometry.to_numpy()
    tr = codes.rio.transform()
    if (buckets is None or tr.b != 0 or tr.d != 0
            or resolve_area_method(crs, pixel_area) == "ellipsoidal"
            or (units_overlap if units_overlap is not None else _overlap(geoms, tr))):
        return _general_pass(codes, units, legend, exclude_codes, pixel_area, rasters, lazy)
    if codes.y.size > 1 and float(codes.y[1]) > float(codes.y[0]):
        raise ValueError("south-up rasters are not supported; flip the raster first")
    outputs = [(buckets.code_table(np.asarray(values)), np.asarray(values)[buckets.category],
                sink) for values, sink in rasters.values()]
    plan = block_plan(codes, geoms, crs, pixel_area, with_data=False)
    ids = units["unit_id"].to_numpy()
    cats = legend.categories.reset_index(drop=True)
    combine = functools.partial(combine_blocks, units=[b.units for b in plan], n_units=len(geoms),
                                buckets=buckets, ids=ids, cats=cats)
    # the blocks' boundary cells and coverage are kept for other rasters on this grid and
    # these units (the dates of a change run, scenarios, draws): computed once
    token = units_token(geoms)
    if type(codes.data).__module__.startswith("dask"):
        result = _pass_graph(codes.data, plan, geoms, buckets, outputs, combine,
                             inline_reads=not lazy, token=token)
        return result if lazy else compute_frozen(result)
    return combine([_block_pass(np.asarray(b.data), geoms[b.units], b.transform, b.window,
                                b.cell_area, buckets, outputs,
                                cache_key=(token, b.units.tobytes())) for b in plan])


def _pass_graph(array: Any, plan: list[Any], geoms: np.ndarray, buckets: CodeBuckets,
                outputs: list[Any], combine: Callable[[list[Any]], Any], *,
                inline_reads: bool = True, token: str | None = None) -> Any:
    """One task per chunk of ``array`` and one that combines them, as a ``Delayed``. Built as
    a plain graph layer: ``dask.delayed`` on each chunk merged the raster's graph into every
    task's (0.6 s for 324 chunks).

    With ``inline_reads``, a chunk read by a task that takes no argument (the reads of
    :func:`landcarbon.io.tiles.repeated_tile_array`, after any aliases of a crop) is read
    inside its pass task: half the tasks to schedule, and the chunk is counted by the thread
    that decoded it. Otherwise (and for other reads) the pass stands on the raster's own
    chunk keys, shared with other graphs over the same raster computed together."""
    from dask.base import tokenize
    from dask.delayed import Delayed
    from dask.highlevelgraph import HighLevelGraph

    name = "landcover-pass-" + tokenize(array.name, len(plan), buckets.lut, id(outputs))
    ys = np.cumsum((0, *array.chunks[0]))
    xs = np.cumsum((0, *array.chunks[1]))
    source = array.__dask_graph__()
    layer: dict[Any, Any] = {}
    keys = []
    inlined = 0
    for b in plan:
        i = int(np.searchsorted(ys, b.window[0].start))
        j = int(np.searchsorted(xs, b.window[1].start))
        task = functools.partial(_block_pass, geoms=geoms[b.units], transform=b.transform,
                                 window=b.window, row_area=b.cell_area, buckets=buckets,
                                 outputs=outputs,
                                 cache_key=None if token is None else (token, b.units.tobytes()))
        chunk: Any = (array.name, i, j)
        if inline_reads:
            read = source.get(chunk)
            while type(read).__name__ == "Alias":  # a crop's alias (dask's task spec)
                read = source.get(getattr(read, "target", None))
            if type(read) is tuple and len(read) == 1 and callable(read[0]):
                chunk = read
                inlined += 1
        layer[(name, i, j)] = (task, chunk)
        keys.append((name, i, j))
    layer[name] = (combine, keys)
    graph = HighLevelGraph.from_collections(
        name, layer, dependencies=[] if inlined == len(plan) else [array])
    return Delayed(name, graph)


def smallest_cell_m2(raster: xr.DataArray) -> float:
    """Area (m2) of the smallest cell of ``raster``'s grid (ellipsoidal for geographic
    grids): units overlapping by less than this share no whole cell, and the block engine
    gives each its exact coverage of the cells they share."""
    from pyproj import CRS

    from landcarbon.engine.areas import cell_areas_m2, resolve_area_method, row_areas_m2

    crs = CRS.from_user_input(raster.rio.crs)
    tr = raster.rio.transform()
    if resolve_area_method(crs) == "geographic" and tr.b == 0 and tr.d == 0:
        return float(row_areas_m2(tr, raster.sizes["y"], crs).min())
    zero = np.zeros(1, np.int64)
    return float(cell_areas_m2(zero, zero, tr, crs, "nominal")[0])


def _overlap(geoms: np.ndarray, tr: Any) -> bool:
    from landcarbon.engine.coverage import units_overlap

    return units_overlap(geoms, abs(tr.a * tr.e))


def _block_pass(block: np.ndarray, geoms: np.ndarray, transform: Any,
                window: tuple[slice, slice], row_area: np.ndarray, buckets: CodeBuckets,
                outputs: list[tuple[np.ndarray, np.ndarray, RasterSink]],
                cache_key: Any = None) -> tuple[np.ndarray, np.ndarray, pd.Series | None]:
    """Areas, cells and unknown codes of one block; its derived rasters go to their sinks
    (``cache_key``: see :func:`~landcarbon.engine.coverage.block_bucket_areas`)."""
    from landcarbon.engine.coverage import TILE, block_bucket_areas, covers_type

    areas, hist, tiles = block_bucket_areas(block, geoms, transform, buckets.lut, buckets.lo,
                                            buckets.outside, row_area, ignore=buckets.nodata,
                                            cache_key=cache_key)
    unknown = unknown_codes(block, hist, buckets)
    if not outputs:
        return areas, hist, unknown
    from landcarbon.accounting.classification import uniform_block
    from landcarbon.engine.kernels import gather_rect

    # tiles of one bucket go out as zero-memory blocks; along each band of tile rows, runs of
    # equal one-bucket tiles are written as one piece (a block of one bucket: one piece), each
    # mixed tile as a contiguous piece of its own (a COG writer compresses it as it is,
    # instead of copying it out of a wider piece)
    h, w = block.shape
    one = int(tiles.flat[0]) if tiles.size else -1
    if one >= 0 and (tiles == one).all():
        for per_code, per_bucket, sink in outputs:
            sink[window] = uniform_block(per_bucket[one], (h, w), per_code.dtype)
        return areas, hist, unknown
    # only pieces of mixed tiles read the codes (a broadcast block holds none: not copied)
    codes = np.ascontiguousarray(block) if (tiles < 0).any() else block
    full = covers_type(buckets.lut.size, buckets.lo, codes.dtype)
    n_cols = tiles.shape[1]
    for bi in range(tiles.shape[0]):
        r0, r1 = bi * TILE, min(h, (bi + 1) * TILE)
        j = 0
        while j < n_cols:
            one = tiles[bi, j]
            k = j + 1
            while k < n_cols and one >= 0 and tiles[bi, k] == one:
                k += 1
            c0, c1 = j * TILE, min(w, k * TILE)
            key = (slice(window[0].start + r0, window[0].start + r1),
                   slice(window[1].start + c0, window[1].start + c1))
            if one >= 0:
                for per_code, per_bucket, sink in outputs:
                    sink[key] = uniform_block(per_bucket[one], (r1 - r0, c1 - c0),
                                              per_code.dtype)
            else:
                for per_code, _, sink in outputs:
                    piece = np.empty((r1 - r0, c1 - c0), per_code.dtype)
                    if per_code.dtype in (np.uint8, np.float32):  # compiled types
                        gather_rect(codes, per_code, buckets.lo, full, r0, r1, c0, c1, piece)
                    else:
                        index = codes[r0:r1, c0:c1].astype(np.int64) - buckets.lo
                        index[(index < 0) | (index >= per_code.size - 1)] = per_code.size - 1
                        np.take(per_code, index, out=piece)
                    sink[key] = piece
            j = k
    return areas, hist, unknown



def unknown_codes(block: np.ndarray, hist: np.ndarray, buckets: CodeBuckets
                  ) -> pd.Series | None:
    """The pixels of each code of ``block`` that the legend does not know (the error path of
    a block whose cells per bucket, ``hist``, hold some in bucket ``outside``), or None."""
    from landcarbon.engine.coverage import bucket_of

    if not hist[buckets.outside]:
        return None
    values, counts = np.unique(block, return_counts=True)
    off = np.array([bucket_of(v, buckets.lut, buckets.lo, buckets.outside) == buckets.outside
                    for v in values], bool)
    return pd.Series(counts[off], index=values[off].astype(np.int64))


def compute_frozen(result: Any) -> Any:
    """``result.compute()`` with the objects that exist before it frozen out of Python's
    garbage collector (``gc.freeze``, undone after): the collections that the pass's own
    allocations trigger then scan what the pass made, not the ~200,000 objects of the
    libraries loaded before (0.27 s of full collections in a 268 Mpx pass with COGs).
    Nothing stays frozen: the objects go back to the oldest generation."""
    gc.freeze()
    try:
        return result.compute()
    finally:
        gc.unfreeze()


def combine_blocks(parts: list[tuple[np.ndarray, np.ndarray, pd.Series | None]], *,
                   units: list[np.ndarray], n_units: int, buckets: CodeBuckets,
                   ids: np.ndarray, cats: pd.DataFrame) -> tuple[pd.Series, pd.DataFrame]:
    """The code counts and per-unit class areas of :func:`landcover_pass` from each block's
    bucket areas, cells per bucket and unknown codes (``parts``; ``units``: the unit numbers
    of each block's rows), summed in block order."""
    from landcarbon.engine.zonal import M2_PER_HA, long_table

    k = len(buckets.codes)
    total = np.zeros((n_units, buckets.outside + 1))
    hist = np.zeros(buckets.outside + 1, np.int64)
    unknown = []
    for (areas, h, extra), idx in zip(parts, units, strict=True):
        total[idx] += areas
        hist += h
        if extra is not None:
            unknown.append(extra)
    present = np.flatnonzero(hist[:k])
    counts = pd.Series(hist[present], index=buckets.codes[present], dtype=np.int64)
    if unknown:
        counts = pd.concat([counts, pd.concat(unknown).groupby(level=0).sum()]).sort_index()
    counts.index.name = "code"
    matrix = np.zeros((n_units, len(cats)))
    for b in range(k):
        if buckets.category[b] != NODATA_CATEGORY:
            matrix[:, buckets.category[b]] += total[:, b]
    return counts.rename("pixels"), long_table(matrix / M2_PER_HA, ids, cats)


def _general_pass(codes: xr.DataArray, units: gpd.GeoDataFrame, legend: Legend,
                  exclude_codes: Iterable[int], pixel_area: PixelAreaMethod,
                  rasters: dict[str, tuple[np.ndarray, RasterSink]], lazy: bool) -> Any:
    """The same results through classify + code_counts + class_areas (+ one store each)."""
    from landcarbon.accounting.classification import classify, code_counts
    from landcarbon.engine.zonal import class_areas

    categories = classify(codes, legend, exclude_codes)
    is_dask = type(codes.data).__module__.startswith("dask")
    counts = code_counts(codes, lazy=lazy)
    areas = class_areas(categories, units, pixel_area=pixel_area, lazy=lazy)
    stores = []
    for values, sink in rasters.values():
        table = np.asarray(values)
        if is_dask:
            import dask.array as dsk

            data = categories.data.map_blocks(lambda b, t=table: t[b], dtype=table.dtype)
            # dask stores into any object with __setitem__; its annotation says arrays only
            stores.append(dsk.store(data, sink, lock=False,  # type: ignore[arg-type]
                                    compute=False))
        else:
            sink[(slice(0, codes.sizes["y"]), slice(0, codes.sizes["x"]))] = table[
                np.asarray(categories.data)]
    if is_dask:
        import dask

        result = dask.delayed(lambda c, a, *_: (c, a))(counts, areas, *stores)
        return result if lazy else result.compute()
    return counts, areas
