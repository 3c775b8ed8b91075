"""Per-unit area of each land-cover category with exact partial-pixel coverage.

Coverage fractions of the cells a unit polygon touches come from exactextract (exact
polygon/cell intersection areas, Baston 2022); each fraction is multiplied by the true cell
area (:mod:`landcarbon.areas`: ellipsoidal for geographic grids) and summed per category.
The category raster may be numpy- or dask-backed: exactextract reads one unit's window at a
time, so a dask-backed raster is computed window by window.
"""

from __future__ import annotations

from collections.abc import Callable

import geopandas as gpd
import numpy as np
import pandas as pd
import xarray as xr
from pyproj import CRS

from landcarbon.areas import PixelAreaMethod, cell_areas_m2
from landcarbon.classification import categories_of
from landcarbon.legends import NODATA_CATEGORY

__all__ = ["class_areas", "index_areas_ha"]

M2_PER_HA = 10_000.0


def class_areas(
    categories: xr.DataArray,
    units: gpd.GeoDataFrame,
    *,
    pixel_area: PixelAreaMethod = "auto",
    progress: Callable[[float, str], None] | bool = False,
    max_cells_in_memory: int = 30_000_000,
) -> pd.DataFrame:
    """Area of every category inside every unit.

    Parameters
    ----------
    categories : xarray.DataArray
        Category raster from :func:`landcarbon.classification.classify`.
    units : geopandas.GeoDataFrame
        Land units with a ``unit_id`` column, in any CRS (reprojected to the raster's CRS
        internally; the input is not modified).
    pixel_area : {"auto", "nominal", "ellipsoidal"}
        How cell areas are computed (see :mod:`landcarbon.areas`).
    progress : bool or callable
        Passed to exactextract.

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
                            max_cells_in_memory=max_cells_in_memory)
    wide = pd.DataFrame(matrix, index=units["unit_id"].to_numpy(), columns=range(n_cat))
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

    Returns
    -------
    numpy.ndarray
        float64 matrix of shape (len(units), n), ha.
    """
    from exactextract import exact_extract

    crs = CRS.from_user_input(index.rio.crs)
    transform = index.rio.transform()
    width = index.sizes["x"]
    height = index.sizes["y"]
    geoms = units[["geometry"]].to_crs(crs) if not CRS(units.crs).equals(crs) else units[
        ["geometry"]]
    geoms = geoms.reset_index(drop=True)
    if index.y.size > 1 and float(index.y[1]) > float(index.y[0]):
        raise ValueError("south-up rasters are not supported; flip the raster first")
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
