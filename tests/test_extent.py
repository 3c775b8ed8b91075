"""Cropping a raster to the units' extent (lazy, snapped to whole chunks)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
from conftest import write_tif
from rasterio.transform import from_origin
from shapely.geometry import box

from landcarbon.engine.extent import crop_to_units
from landcarbon.io.raster import open_landcover


def test_crop_to_units(tmp_path: Path) -> None:
    data = np.arange(64 * 96, dtype=np.int32).reshape(64, 96)
    tif = write_tif(tmp_path / "r.tif", data, transform=from_origin(0, 640, 10, 10), nodata=-1)
    units = gpd.GeoDataFrame(geometry=[box(205, 300, 395, 455)], crs="EPSG:32649")
    # numpy: rows 18..34 (y 455..300 -> 18.5..34), cols 20..40 (x 205..395 -> 20.5..39.5)
    cut = crop_to_units(open_landcover(tif), units)
    assert cut.shape == (16, 20)
    assert int(cut[0, 0]) == 18 * 96 + 20
    assert cut.rio.transform().c == 200 and cut.rio.transform().f == 460
    # dask: chunks aligned on the file's strips (21 rows of 96 columns) -> rows 0..42
    lazy = open_landcover(tif, chunks=16)
    assert lazy.chunks[0][0] == 21 and lazy.chunks[1] == (96,)
    cut = crop_to_units(lazy, units)
    assert cut.chunks == ((21, 21), (96,))
    np.testing.assert_array_equal(cut.values, data[0:42])
    # units in another CRS, covering everything or nothing: unchanged
    everything = gpd.GeoDataFrame(geometry=[box(-10, -10, 2000, 2000)], crs="EPSG:32649")
    assert crop_to_units(lazy, everything) is lazy
    far = gpd.GeoDataFrame(geometry=[box(5000, 5000, 6000, 6000)], crs="EPSG:32649")
    assert crop_to_units(lazy, far) is lazy
    ll = units.to_crs(4326)
    assert crop_to_units(open_landcover(tif), ll).shape[0] >= 16


def test_crop_and_window_share_one_rounding_rule(tmp_path: Path) -> None:
    from landcarbon.io.windows import window_of_bounds

    data = np.arange(64 * 96, dtype=np.int32).reshape(64, 96)
    tif = write_tif(tmp_path / "r.tif", data, transform=from_origin(0, 640, 10, 10), nodata=-1)
    # bounds on pixel edges (x 200..400, y 300..460) up to float noise (1e-11 px): exactly
    # rows 18..34 and cols 20..40, no extra row or column from the noise
    bounds = (200.0 - 1e-10, 300.0 - 1e-10, 400.0 + 1e-10, 460.0 + 1e-10)
    units = gpd.GeoDataFrame(geometry=[box(*bounds)], crs="EPSG:32649")
    cut = crop_to_units(open_landcover(tif), units)
    assert cut.shape == (16, 20)
    assert int(cut[0, 0]) == 18 * 96 + 20
    assert window_of_bounds(str(tif), bounds) == (20, 18, 20, 16)
    # a bound a thousandth of a pixel inside the next pixel takes it, in both
    wider = (200.0, 300.0, 400.01, 460.0)
    assert crop_to_units(open_landcover(tif), gpd.GeoDataFrame(
        geometry=[box(*wider)], crs="EPSG:32649")).shape == (16, 21)
    assert window_of_bounds(str(tif), wider) == (20, 18, 21, 16)
    assert window_of_bounds(str(tif), (5000.0, 5000.0, 6000.0, 6000.0)) is None
