"""Uniform blocks (sea, nodata fill, one class) take the zero-memory fast path of the
raster steps: same counts, categories, flux, zonal areas and written rasters as the
per-pixel path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin
from shapely.geometry import box

import landcarbon as lc
from landcarbon.accounting.classification import (
    _uint8_histogram,
    code_counts,
    land_class_raster,
    uniform_value,
)
from landcarbon.accounting.flux import flux_density
from landcarbon.io.cogs import write_raster

# 16 x 16 pixel cells, read in 32 x 32 chunks (tiles of 16): top-left chunk all nodata
# (sea), top-right all cropland (40), bottom-left mixed, bottom-right all forest (10)
GRID = np.kron(np.array([[0, 0, 40, 40],
                         [0, 0, 40, 40],
                         [0, 50, 10, 10],
                         [80, 50, 10, 10]], dtype=np.uint8), np.ones((16, 16), np.uint8))


def _write_grid(tmp_path: Path) -> Path:
    """GRID as a tiled GeoTIFF (16-px blocks, UTM 49N, 10 m)."""
    path = tmp_path / "g.tif"
    with rasterio.open(path, "w", driver="GTiff", width=64, height=64, count=1, dtype="uint8",
                       crs="EPSG:32649", transform=from_origin(500000, 3850000, 10, 10),
                       nodata=0, tiled=True, blockxsize=16, blockysize=16) as dst:
        dst.write(GRID, 1)
    return path


def test_uniform_value_and_histogram() -> None:
    assert uniform_value(np.zeros((3, 3), np.uint8)) == 0
    assert uniform_value(np.array([[1, 2]], np.uint8)) is None
    assert uniform_value(np.full((2, 2), np.nan, np.float32)) is not None
    assert uniform_value(np.array([[np.nan, 1.0]])) is None
    assert uniform_value(np.broadcast_to(np.uint8(7), (4, 4))) == 7
    rng = np.random.default_rng(0)
    for shape in [(5, 7), (64, 64), (1, 1), (0, 3)]:
        a = rng.integers(0, 256, shape).astype(np.uint8)
        assert _uint8_histogram(a).tolist() == np.bincount(a.ravel(), minlength=256).tolist()


def test_uniform_blocks_equal_per_pixel_path(tmp_path: Path) -> None:
    path = _write_grid(tmp_path)
    legend = lc.load_legend("esa_worldcover")
    coeffs = lc.load_coefficients("lai2010")
    eager = lc.open_landcover(path, chunks=None)
    lazy = lc.open_landcover(path, chunks=32)
    assert lazy.data.chunks == ((32, 32), (32, 32))
    assert code_counts(lazy).to_dict() == code_counts(eager).to_dict() == {
        10: 1024, 40: 1024, 50: 512, 80: 256}
    c_eager, c_lazy = lc.classify(eager, legend), lc.classify(lazy, legend)
    np.testing.assert_array_equal(c_lazy.values, c_eager.values)
    assert (c_lazy.values[:32, :32] == 255).all()
    f_eager = flux_density(c_eager, coeffs, 50.0).values
    f_lazy = flux_density(c_lazy, coeffs, 50.0).values
    np.testing.assert_array_equal(f_lazy, f_eager)
    assert np.isnan(f_lazy[:32, :32]).all() and (f_lazy[:32, 32:] == np.float32(0.422)).all()
    # a uniform block's lookup is a zero-stride view (no per-pixel memory)
    block = flux_density(c_lazy, coeffs, 50.0).data.to_delayed()[0, 1].compute()
    assert block.strides == (0, 0) and block.shape == (32, 32)
    # zonal areas: one unit over the whole grid; 11 x 256 valid pixels of 100 m2
    units = lc.read_units(_whole_unit(tmp_path), id_field="uid")
    areas = lc.class_areas(c_lazy, units)
    assert areas["area_ha"].sum() == pytest.approx(28.16, abs=1e-9)
    assert areas.set_index("land_class")["area_ha"].to_dict() == pytest.approx(
        {"forest": 10.24, "cropland": 10.24, "construction": 5.12, "water": 2.56}, abs=1e-9)
    # written rasters: uniform blocks are written like any other
    write_raster(land_class_raster(c_lazy), tmp_path / "lc.tif", nodata=0)
    write_raster(flux_density(c_lazy, coeffs, 50.0), tmp_path / "f.tif", nodata=np.nan)
    with rasterio.open(tmp_path / "lc.tif") as src:
        np.testing.assert_array_equal(src.read(1), land_class_raster(c_eager).values)
    with rasterio.open(tmp_path / "f.tif") as src:
        np.testing.assert_array_equal(src.read(1), f_eager)


def _whole_unit(tmp_path: Path) -> Path:
    import geopandas as gpd

    path = tmp_path / "u.gpkg"
    gpd.GeoDataFrame({"uid": ["all"]}, geometry=[box(500000, 3849360, 500640, 3850000)],
                     crs="EPSG:32649").to_file(path, layer="units")
    return path


def test_zonal_blocks_engine_on_uniform_chunks_equals_exactextract(tmp_path: Path) -> None:
    import geopandas as gpd

    from landcarbon.engine.zonal import index_areas_ha

    path = tmp_path / "g.tif"
    with rasterio.open(path, "w", driver="GTiff", width=64, height=64, count=1, dtype="uint8",
                       crs="EPSG:4326", transform=from_origin(6.0, 1.0, 1e-4, 1e-4),
                       nodata=0, tiled=True, blockxsize=16, blockysize=16) as dst:
        dst.write(GRID, 1)
    cats = lc.classify(lc.open_landcover(path, chunks=32), lc.load_legend("esa_worldcover"))
    assert not any(cats.data.to_delayed()[0, 1].compute().strides)  # a uniform chunk
    # two units cut through the uniform chunks off the pixel grid, plus a slanted edge
    units = gpd.GeoDataFrame({"unit_id": ["a", "b"]}, geometry=[
        box(6.0, 0.99360, 6.004123, 1.0),
        gpd.GeoSeries.from_wkt(["POLYGON ((6.004123 0.9936, 6.0064 0.9936, 6.0064 1.0, "
                                "6.004123 1.0, 6.0050 0.9970, 6.004123 0.9936))"]).iloc[0]],
        crs="EPSG:4326")
    n = len(lc.load_legend("esa_worldcover").categories)
    blocks = index_areas_ha(cats, units, n, nodata=255, engine="blocks")
    exact = index_areas_ha(cats, units, n, nodata=255, engine="exactextract")
    assert blocks.sum() > 0
    np.testing.assert_allclose(blocks, exact, rtol=1e-9, atol=1e-12)


def test_counts_and_zonal_in_one_pass_equal_separate_passes(tmp_path: Path) -> None:
    import dask
    import rioxarray._io as rio_io

    path = _write_grid(tmp_path)
    codes = lc.open_landcover(path, chunks=32)
    cats = lc.classify(codes, lc.load_legend("esa_worldcover"))
    units = lc.read_units(_whole_unit(tmp_path), id_field="uid")
    lazy_counts = code_counts(codes, lazy=True)
    lazy_areas = lc.class_areas(cats, units, lazy=True)
    assert hasattr(lazy_counts, "compute") and hasattr(lazy_areas, "compute")
    reads = []
    original = rio_io.RasterioArrayWrapper._getitem

    def counting(self, key):  # a spy on the real reader: every chunk read is recorded
        reads.append(str(key))
        return original(self, key)

    rio_io.RasterioArrayWrapper._getitem = counting
    try:
        counts, areas = dask.compute(lazy_counts, lazy_areas, scheduler="synchronous")
    finally:
        rio_io.RasterioArrayWrapper._getitem = original
    assert len(reads) == len(set(reads)) == 4  # 2 x 2 chunks, each read once
    assert counts.to_dict() == code_counts(codes).to_dict()
    eager = lc.class_areas(cats, units)
    assert areas.equals(eager)
