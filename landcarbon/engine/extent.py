"""The study extent of a raster: the part of the grid that the land units cover.

Pixels outside the units' bounding box belong to no unit; dropping them before any pass over
the raster makes the cost of a run follow the study area, not the size of the input tile (a
few counties inside a 3 x 3 degree WorldCover tile read a fraction of it). The crop is lazy
(an ``isel`` of the dask array) and snapped outwards to whole chunks, so chunks stay aligned
with the file's internal blocks and every block is still decoded once.
"""

from __future__ import annotations

import geopandas as gpd
import xarray as xr
from pyproj import CRS

from landcarbon.engine.areas import to_crs_densified
from landcarbon.engine.grid import bounds_window

__all__ = ["crop_to_units"]


def crop_to_units(da: xr.DataArray, units: gpd.GeoDataFrame) -> xr.DataArray:
    """``da`` cut to the bounding box of ``units`` (any CRS), snapped outwards to whole
    pixels by the rule of :func:`landcarbon.engine.grid.bounds_window` (the one that
    :func:`~landcarbon.io.windows.window_of_bounds` applies too: a bound within 1e-9 pixel of
    a pixel edge counts as on it), and to whole chunks for dask-backed arrays. Unchanged if
    the units cover it all or lie outside it (or the grid is rotated)."""
    crs = CRS.from_user_input(da.rio.crs)
    geoms = units.geometry
    if units.crs is not None and not CRS(units.crs).equals(crs):
        geoms = to_crs_densified(geoms, crs)
    geoms = geoms[~(geoms.is_empty | geoms.isna())]
    if geoms.empty:
        return da
    tr = da.rio.transform()
    if tr.b != 0 or tr.d != 0:
        return da
    height, width = da.sizes["y"], da.sizes["x"]
    window = bounds_window(tr, width, height, tuple(geoms.total_bounds))
    if window is None:
        return da
    r0, r1, c0, c1 = window
    chunks = getattr(da.data, "chunks", None)
    if chunks is not None:
        by, bx = chunks[0][0], chunks[1][0]
        r0, c0 = r0 // by * by, c0 // bx * bx
        r1, c1 = min(height, -(-r1 // by) * by), min(width, -(-c1 // bx) * bx)
    if (r0, r1, c0, c1) == (0, height, 0, width):
        return da
    return da.isel(y=slice(r0, r1), x=slice(c0, c1))
