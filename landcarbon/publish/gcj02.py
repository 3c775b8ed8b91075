"""WGS-84 -> GCJ-02 ("Mars coordinates"), the datum of Chinese web basemaps (AutoNavi/Gaode,
Tencent). Data drawn on such a basemap must be shifted by this transform, otherwise it appears
offset by a few hundred metres.

The transform is the published algorithm (Krasovsky 1940 ellipsoid, a = 6378245 m,
e^2 = 0.00669342162296594323) as reproduced in the open-source ``eviltransform`` /
``coordtransform`` projects; it is applied only inside mainland China (outside, coordinates are
returned unchanged, as the basemaps do). Vectorised with numpy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = ["geometry_to_gcj02", "outside_china", "wgs84_to_gcj02"]

_A = 6378245.0
_EE = 0.00669342162296594323


def outside_china(lon: ArrayLike, lat: ArrayLike) -> np.ndarray:
    """True where the point is outside the rough mainland-China box the offset applies to."""
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    return (lon < 72.004) | (lon > 137.8347) | (lat < 0.8293) | (lat > 55.8271)


def _d_lat(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    r += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    r += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    r += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    return r


def _d_lon(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    r += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    r += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    r += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    return r


def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Convert WGS-84 longitude / latitude (degrees) to GCJ-02.

    Parameters
    ----------
    lon, lat : array_like
        WGS-84 coordinates in degrees (scalars or arrays of one shape).

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        GCJ-02 longitude and latitude; points outside China are returned unchanged.
    """
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    d_lat = _d_lat(lon - 105.0, lat - 35.0)
    d_lon = _d_lon(lon - 105.0, lat - 35.0)
    rad = lat / 180.0 * np.pi
    magic = 1 - _EE * np.sin(rad) ** 2
    sqrt_magic = np.sqrt(magic)
    d_lat = (d_lat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrt_magic) * np.pi)
    d_lon = (d_lon * 180.0) / (_A / sqrt_magic * np.cos(rad) * np.pi)
    out = outside_china(lon, lat)
    return np.where(out, lon, lon + d_lon), np.where(out, lat, lat + d_lat)


def geometry_to_gcj02(geoms: gpd.GeoSeries) -> gpd.GeoSeries:
    """Shift geometries in EPSG:4326 (WGS-84 lon/lat) to GCJ-02.

    Parameters
    ----------
    geoms : geopandas.GeoSeries
        Geometries in WGS-84 longitude / latitude.

    Returns
    -------
    geopandas.GeoSeries
        Shifted copies, same index (the CRS label stays EPSG:4326: GCJ-02 has no EPSG code).
    """
    import geopandas as gpd
    import shapely

    def shift(xy: np.ndarray) -> np.ndarray:
        x, y = wgs84_to_gcj02(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    return gpd.GeoSeries(shapely.transform(geoms.values, shift), index=geoms.index,
                         crs=geoms.crs)
