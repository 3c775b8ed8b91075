"""Per-unit area of each land-cover category with exact partial-pixel coverage.

Coverage fractions of the cells a unit polygon touches come from exactextract (exact
polygon/cell intersection areas, Baston 2022); each fraction is multiplied by the true cell
area (:mod:`landcarbon.engine.areas`: ellipsoidal for geographic grids) and summed per category.
The category raster may be numpy- or dask-backed: exactextract reads one unit's window at a
time, so a dask-backed raster is computed window by window.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import xarray as xr
from affine import Affine
from pyproj import CRS

from landcarbon.accounting.classification import categories_of
from landcarbon.accounting.legends import NODATA_CATEGORY
from landcarbon.engine.areas import PixelAreaMethod, cell_areas_m2, to_crs_densified

__all__ = ["RasterBlock", "block_plan", "class_areas", "index_areas_ha"]

M2_PER_HA = 10_000.0


def class_areas(
    categories: xr.DataArray,
    units: gpd.GeoDataFrame,
    *,
    pixel_area: PixelAreaMethod = "auto",
    progress: Callable[[float, str], None] | bool = False,
    max_cells_in_memory: int = 30_000_000,
    lazy: bool = False,
) -> pd.DataFrame:
    """Area of every category inside every unit.

    Parameters
    ----------
    categories : xarray.DataArray
        Category raster from :func:`landcarbon.accounting.classification.classify`.
    units : geopandas.GeoDataFrame
        Land units with a ``unit_id`` column, in any CRS (reprojected to the raster's CRS
        internally; the input is not modified).
    pixel_area : {"auto", "nominal", "ellipsoidal"}
        How cell areas are computed (see :mod:`landcarbon.engine.areas`).
    progress : bool or callable
        Passed to exactextract.
    lazy : bool
        Return a ``dask.delayed`` table when the raster is dask-backed and the block engine
        applies (to compute in one ``dask.compute`` with other passes over the same chunks,
        e.g. :func:`landcarbon.accounting.classification.code_counts`); otherwise the table.

    Returns
    -------
    pandas.DataFrame
        Long table ``unit_id, land_class, space_type, area_ha`` (one row per unit and category
        with a non-zero area). Units outside the raster have no rows.
    """
    cats = categories_of(categories)
    n_cat = len(cats)
    matrix = index_areas_ha(categories, units, n_cat, nodata=NODATA_CATEGORY,
                            pixel_area=pixel_area, progress=progress,
                            max_cells_in_memory=max_cells_in_memory, lazy=lazy)
    ids = units["unit_id"].to_numpy()
    if not isinstance(matrix, np.ndarray):
        import dask

        return dask.delayed(long_table)(matrix, ids, cats)
    return long_table(matrix, ids, cats)


def long_table(matrix: np.ndarray, ids: np.ndarray, cats: pd.DataFrame) -> pd.DataFrame:
    n_cat = len(cats)
    wide = pd.DataFrame(matrix, index=ids, columns=range(n_cat))
    long = wide.stack().rename("area_ha").reset_index()
    long.columns = ["unit_id", "category", "area_ha"]
    long = long[long["area_ha"] > 0]
    long = long.join(cats, on="category").drop(columns="category")
    return long[["unit_id", "land_class", "space_type", "area_ha"]].reset_index(drop=True)


def index_areas_ha(
    index: xr.DataArray,
    units: gpd.GeoDataFrame,
    n: int,
    *,
    nodata: int,
    pixel_area: PixelAreaMethod = "auto",
    progress: Callable[[float, str], None] | bool = False,
    max_cells_in_memory: int = 30_000_000,
    engine: Literal["auto", "blocks", "exactextract"] = "auto",
    lazy: bool = False,
) -> np.ndarray:
    """Area (ha) of each value ``0..n-1`` of an integer raster inside each unit.

    The generic engine of :func:`class_areas`: exact coverage fractions (exactextract) times
    true cell areas, summed per value. Also used for combined rasters (e.g. a transition
    ``from * n + to`` raster) and code-index rasters.

    Parameters
    ----------
    index : xarray.DataArray
        Integer raster (numpy or dask) of values in ``0..n-1``; ``nodata`` cells are skipped.
    units : geopandas.GeoDataFrame
        Land units (any CRS).
    n : int
        Number of values.
    nodata : int
        Value of cells left out.
    engine : {"auto", "blocks", "exactextract"}
        ``blocks`` (:mod:`landcarbon.engine.coverage`: unit ids burnt per raster block, exact
        coverage computed only where unit boundaries cross cells; memory bounded by the block
        size, dask blocks computed in parallel, blocks without units never read);
        ``exactextract`` (per-unit windows; needed when units overlap); ``auto`` picks
        ``blocks`` unless units overlap or the grid is rotated. Both give the same areas.
    lazy : bool
        With the ``blocks`` engine on a dask-backed raster, return a ``dask.delayed`` matrix.

    Returns
    -------
    numpy.ndarray
        float64 matrix of shape (len(units), n), ha.
    """
    crs = CRS.from_user_input(index.rio.crs)
    geoms = to_crs_densified(units[["geometry"]], crs)
    geoms = geoms.reset_index(drop=True)
    if index.y.size > 1 and float(index.y[1]) > float(index.y[0]):
        raise ValueError("south-up rasters are not supported; flip the raster first")
    if engine == "auto":
        from landcarbon.engine.coverage import units_overlap

        tr = index.rio.transform()
        rotated = tr.b != 0 or tr.d != 0
        engine = ("exactextract" if rotated or units_overlap(geoms.geometry.to_numpy(),
                                                             abs(tr.a * tr.e)) else "blocks")
    if engine == "blocks":
        return _block_index_areas(index, geoms.geometry.to_numpy(), n, nodata, crs, pixel_area,
                                  lazy=lazy)
    if engine != "exactextract":
        raise ValueError(f"engine must be auto, blocks or exactextract, got {engine!r}")
    return _exactextract_index_areas(index, geoms, n, nodata, crs, pixel_area, progress,
                                     max_cells_in_memory)


def _exactextract_index_areas(index: xr.DataArray, geoms: gpd.GeoDataFrame, n: int,
                              nodata: int, crs: CRS, pixel_area: PixelAreaMethod,
                              progress: Callable[[float, str], None] | bool,
                              max_cells_in_memory: int) -> np.ndarray:
    """exactextract's cell coverage fractions (any units, overlapping ones included)."""
    from exactextract import exact_extract

    transform = index.rio.transform()
    width = index.sizes["x"]
    height = index.sizes["y"]
    raw = exact_extract(
        index, geoms, ["cell_id", "values", "coverage"], output="pandas",
        max_cells_in_memory=max_cells_in_memory, progress=progress,
    )
    records: list[np.ndarray] = []
    for cell_id, values, coverage in zip(raw["cell_id"], raw["values"], raw["coverage"],
                                         strict=True):
        values = np.asarray(values)
        keep = values != nodata
        cell_id = np.asarray(cell_id, dtype=np.int64)[keep]
        if cell_id.size == 0:
            records.append(np.zeros(n))
            continue
        rows, cols = np.divmod(cell_id, width)
        area = cell_areas_m2(rows, cols, transform, crs, pixel_area, height)
        weights = np.asarray(coverage, dtype=np.float64)[keep] * area
        records.append(np.bincount(values[keep].astype(np.int64), weights=weights,
                                   minlength=n)[:n] / M2_PER_HA)
    return np.vstack(records) if records else np.zeros((0, n))


#: Window size (pixels per side) in which numpy-backed rasters are processed.
NUMPY_BLOCK = 2048


def _block_index_areas(index: xr.DataArray, geoms: np.ndarray, n: int, nodata: int, crs: CRS,
                       pixel_area: PixelAreaMethod, *, lazy: bool = False) -> Any:
    """The ``blocks`` engine: per-block partial tables (only the units touching each block),
    summed. Dask blocks become one task each (any dask scheduler, distributed included)."""
    from landcarbon.engine.block_cells import units_token
    from landcarbon.engine.coverage import block_value_areas

    tasks = [b for b in block_plan(index, geoms, crs, pixel_area) if b.units.size]
    out = np.zeros((len(geoms), n))
    # the blocks' coverage is shared with other rasters on this grid and these units (see
    # landcarbon.engine.block_cells.COVERAGE): the same keys as the land-cover pass
    token = units_token(geoms)
    if type(index.data).__module__.startswith("dask"):
        import dask

        parts = [dask.delayed(block_value_areas)(b.data, geoms[b.units], b.transform, n, nodata,
                                                 b.cell_area, (token, b.units.tobytes()))
                 for b in tasks]
        total = dask.delayed(_add_parts)(out, [b.units for b in tasks], parts)
        return total if lazy else total.compute()
    for b in tasks:
        out[b.units] += block_value_areas(b.data, geoms[b.units], b.transform, n, nodata,
                                          b.cell_area, (token, b.units.tobytes()))
    return out / M2_PER_HA


@dataclass
class RasterBlock:
    """One block of a raster and the units touching it (see :func:`block_plan`)."""

    #: the block's values: a ``dask.delayed`` chunk (keys of the raster's unoptimised graph,
    #: shared with other passes computed together; ``None`` if planned ``with_data=False``)
    #: or a numpy window
    data: Any
    #: rows and columns of the block in the raster
    window: tuple[slice, slice]
    #: affine transform of the block
    transform: Any
    #: sorted indices of the units whose geometry intersects the block
    units: np.ndarray
    #: area of a cell of each row (m2), or a function (rows, cols) -> m2
    cell_area: Any


def block_plan(index: xr.DataArray, geoms: np.ndarray, crs: CRS,
               pixel_area: PixelAreaMethod, *, with_data: bool = True) -> list[RasterBlock]:
    """Every block of ``index`` (its dask chunks, or :data:`NUMPY_BLOCK` windows) with the
    units that touch it and its cell areas.

    ``with_data=False`` leaves :attr:`RasterBlock.data` at ``None`` for dask rasters (callers
    that build their graph on the chunk keys themselves: 324 ``Delayed`` chunks cost 20 ms).
    """
    import shapely
    from rasterio.windows import Window
    from rasterio.windows import transform as window_transform

    from landcarbon.engine.areas import resolve_area_method, row_areas_m2

    transform = index.rio.transform()
    height, width = index.sizes["y"], index.sizes["x"]
    method = resolve_area_method(crs, pixel_area)
    row_area: np.ndarray | None = None
    if method == "geographic":
        row_area = row_areas_m2(transform, height, crs)
    elif method == "nominal":
        row_area = np.full(height, cell_areas_m2(np.zeros(1, np.int64), np.zeros(1, np.int64),
                                                 transform, crs, "nominal")[0])
    ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    live = np.array(geoms, dtype=object)  # a copy: missing or empty geometries -> None
    live[~ok] = None
    tree = shapely.STRtree(live)
    is_dask = type(index.data).__module__.startswith("dask")
    if is_dask:
        ys = np.cumsum((0, *index.data.chunks[0]))
        xs = np.cumsum((0, *index.data.chunks[1]))
    else:
        ys = np.append(np.arange(0, height, NUMPY_BLOCK), height)
        xs = np.append(np.arange(0, width, NUMPY_BLOCK), width)
    # unoptimised graph: chunk keys shared with other passes computed together (lazy=True)
    chunks = index.data.to_delayed(optimize_graph=False) if is_dask and with_data else None
    # the units touching each block: one vectorised tree query for every block's footprint
    r0s, c0s = np.meshgrid(ys[:-1], xs[:-1], indexing="ij")
    r1s, c1s = np.meshgrid(ys[1:], xs[1:], indexing="ij")
    corners = [transform * (c, r) for c, r in ((c0s, r0s), (c1s, r0s), (c0s, r1s), (c1s, r1s))]
    bx = np.stack([xy[0].ravel() for xy in corners])
    by = np.stack([xy[1].ravel() for xy in corners])
    boxes = shapely.box(bx.min(0), by.min(0), bx.max(0), by.max(0))
    block_of, unit = tree.query(boxes, predicate="intersects")
    order = np.lexsort((unit, block_of))
    block_of, unit = block_of[order], unit[order]
    bounds = np.searchsorted(block_of, np.arange(boxes.size + 1))
    plan = []
    for i in range(len(ys) - 1):
        for j in range(len(xs) - 1):
            k = i * (len(xs) - 1) + j
            r0, r1, c0, c1 = int(ys[i]), int(ys[i + 1]), int(xs[j]), int(xs[j + 1])
            wt = window_transform(Window(c0, r0, c1 - c0, r1 - r0), transform)
            if row_area is not None:
                area: Any = row_area[r0:r1]
            else:
                area = functools.partial(_projected_areas, r0=r0, c0=c0, transform=transform,
                                         crs=crs)
            window = (slice(r0, r1), slice(c0, c1))
            data = (chunks[i, j] if chunks is not None
                    else None if is_dask else index.data[window])
            plan.append(RasterBlock(data, window, wt, unit[bounds[k]:bounds[k + 1]], area))
    return plan


def _add_parts(out: np.ndarray, cands: list[np.ndarray], parts: list[np.ndarray]
               ) -> np.ndarray:
    out = out.copy()
    for c, part in zip(cands, parts, strict=True):
        out[c] += part
    return out / M2_PER_HA


def _projected_areas(rows: np.ndarray, cols: np.ndarray, *, r0: int, c0: int,
                     transform: Affine, crs: CRS) -> np.ndarray:
    return cell_areas_m2(rows + r0, cols + c0, transform, crs, "ellipsoidal")
