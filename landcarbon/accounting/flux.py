"""Per-pixel carbon flux density rasters.

``flux_density`` gives every pixel its land class's direct coefficient (t C/ha/yr) and
construction-type land its construction intensity (a constant, or the intensity of the unit
the pixel falls in for the energy method). Densities do not depend on pixel size; multiply by
the pixel area (:mod:`landcarbon.engine.areas`) for t C/yr per pixel.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import xarray as xr
from pyproj import CRS

from landcarbon.accounting.classification import (
    categories_of,
    is_dask,
    uniform_block,
    uniform_value,
)
from landcarbon.accounting.coefficients import CoefficientSet
from landcarbon.accounting.conversions import raster_density_units
from landcarbon.accounting.legends import NODATA_CATEGORY
from landcarbon.engine.areas import to_crs_densified

__all__ = ["category_flux_table", "flux_density", "unit_values_raster"]


def unit_values_raster(units: gpd.GeoDataFrame, values: pd.Series, like: xr.DataArray,
                       *, fill: float = np.nan) -> xr.DataArray:
    """Burn a per-unit value into the grid of ``like``: each pixel whose centre is inside
    a unit gets that unit's value, a pixel that units only touch the value of one of them.

    Parameters
    ----------
    units : geopandas.GeoDataFrame
        With ``unit_id``; any CRS.
    values : pandas.Series
        Indexed by unit_id; units missing from it get ``fill``.
    like : xarray.DataArray
        Target grid (numpy or dask; chunks are kept).

    Returns
    -------
    xarray.DataArray
        float32 on the grid of ``like``; ``fill`` where no unit with a value reaches.
    """
    from rasterio.features import rasterize
    from rasterio.windows import Window
    from rasterio.windows import transform as window_transform

    crs = CRS.from_user_input(like.rio.crs)
    geoms = to_crs_densified(units, crs)
    vals = values.reindex(geoms["unit_id"]).to_numpy(dtype=np.float64)
    keep = np.isfinite(vals)
    geoms, vals = geoms[keep].reset_index(drop=True), vals[keep]
    transform = like.rio.transform()
    sindex = geoms.sindex

    def burn(shape: tuple[int, ...], row0: int, col0: int) -> np.ndarray:
        wt = window_transform(Window(col0, row0, shape[1], shape[0]), transform)
        x0, y0 = wt * (0, 0)
        x1, y1 = wt * (shape[1], shape[0])
        idx = sindex.query(__import__("shapely").box(min(x0, x1), min(y0, y1), max(x0, x1),
                                                        max(y0, y1)))
        if len(idx) == 0:
            return np.full(shape, fill, dtype=np.float32)
        shapes = [(geoms.geometry.iloc[i], float(vals[i])) for i in idx]
        # every pixel a unit touches, then each pixel whose centre is inside a unit over it:
        # boundary pixels (counted in part by the units' exact coverage) get a value too
        out = rasterize(shapes, out_shape=shape, transform=wt, fill=fill, dtype="float32",
                        all_touched=True)
        return rasterize(shapes, out=out, transform=wt)

    if is_dask(like):
        import dask.array as dsk

        def block(b: np.ndarray, block_info: dict | None = None) -> np.ndarray:
            assert block_info is not None  # dask passes it to every block
            (r0, _), (c0, _) = block_info[0]["array-location"]
            return burn(b.shape, r0, c0)

        data = dsk.map_blocks(block, like.data, dtype=np.float32)
    else:
        data = burn(like.shape, 0, 0)
    out = like.copy(data=data)
    out.name = "unit_value"
    out.attrs = {}
    return out


def category_flux_table(categories: pd.DataFrame, coefficients: CoefficientSet,
                        construction_intensity: float | None = None
                        ) -> tuple[np.ndarray, np.ndarray]:
    """Net flux density (t C/ha/yr) of each category value, as a 256-entry lookup table.

    Parameters
    ----------
    categories : pandas.DataFrame
        The (land_class, space_type) table of a category raster (index = category value).
    coefficients : CoefficientSet
    construction_intensity : float, optional
        Density of the land classes without a direct coefficient (construction-type land);
        None leaves them NaN.

    Returns
    -------
    table : numpy.ndarray
        float32 (256,): NaN for nodata (:data:`~landcarbon.accounting.legends.NODATA_CATEGORY`) and
        for
        construction-type land without an intensity.
    indirect : numpy.ndarray
        bool (256,): the categories whose density is the construction intensity.
    """
    table = np.full(256, np.nan, dtype=np.float32)
    indirect = np.zeros(256, dtype=bool)
    density = coefficients.tc_per_ha
    for i, lc in enumerate(categories["land_class"]):
        value = density.get(lc, 0.0)
        if np.isnan(value):
            indirect[i] = True
        else:
            table[i] = value
    table[NODATA_CATEGORY] = np.nan
    if construction_intensity is not None:
        table[indirect] = np.float32(construction_intensity)
    return table, indirect


def flux_density(
    categories: xr.DataArray,
    coefficients: CoefficientSet,
    construction_intensity: float | xr.DataArray | None = None,
) -> xr.DataArray:
    """Net carbon flux density of each pixel in t C/ha/yr (positive = source).

    Parameters
    ----------
    categories : xarray.DataArray
        Category raster from :func:`landcarbon.accounting.classification.classify`.
    coefficients : CoefficientSet
        Direct coefficients.
    construction_intensity : float or xarray.DataArray, optional
        t C/ha/yr of construction-type land (land classes without a direct coefficient):
        a constant or a raster on the same grid (e.g. from :func:`unit_values_raster`).
        ``None`` leaves those pixels NaN (unknown).

    Returns
    -------
    xarray.DataArray
        float32, NaN where there is no data; attrs ``units = "t C ha-1 yr-1"``.
    """
    constant = (None if isinstance(construction_intensity, xr.DataArray)
                else construction_intensity)
    # a constant intensity is one more entry of the lookup table: one pass per pixel
    table, indirect = category_flux_table(categories_of(categories), coefficients, constant)
    if constant is not None:
        construction_intensity = None

    def lookup(block: np.ndarray) -> np.ndarray:
        value = uniform_value(block)
        if value is not None:
            # one category in the whole block (sea, nodata): a zero-memory block, no gather
            return uniform_block(table[int(value)], block.shape, np.float32)
        return table[block]

    if is_dask(categories):
        direct = categories.data.map_blocks(lookup, dtype=np.float32)
    else:
        direct = np.array(lookup(np.asarray(categories.data)))
    out = categories.copy(data=direct)
    if construction_intensity is not None:
        is_con = categories.copy(data=(categories.data.map_blocks(lambda b: indirect[b],
                                                                  dtype=bool)
                                       if is_dask(categories)
                                       else indirect[np.asarray(categories.data)]))
        intensity = (construction_intensity if isinstance(construction_intensity, xr.DataArray)
                     else np.float32(construction_intensity))
        out = xr.where(is_con, intensity, out).astype(np.float32)
        out = out.rio.write_crs(categories.rio.crs).rio.write_transform(
            categories.rio.transform())
    out.name = "net_flux_density"
    out.attrs = {"units": raster_density_units("t C"), "long_name": "net carbon flux density "
                 "(positive = source, negative = sink)", "coefficient_set": coefficients.name,
                 "cropland_mode": coefficients.cropland_mode}
    out.encoding = {}
    return out.rio.write_nodata(np.nan)
