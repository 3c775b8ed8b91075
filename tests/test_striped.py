"""Striped GeoTIFFs (GDAL's default layout: blocks of whole rows) are read in chunks of whole
COG tile rows near the chunk size in pixels, not in chunks as tall as the chunk size and as
wide as the raster (memory grew with the width: ~1.2 GB for a 1 G px run), with the same
numbers as the same land cover in tiles."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from rasterio.transform import from_origin

from landcarbon.config.run import load_config
from landcarbon.io.raster import STRIP_ROWS, chunk_shape, open_landcover
from landcarbon.pipeline import run

H, W = 2048, 4096
CODES = np.array([10, 20, 30, 40, 50, 60, 80], np.uint8)


@pytest.mark.parametrize(("size", "block", "width", "expected"), [
    (2048, (1, 32768), 32768, (512, 32768)),   # 16.8 M px, not 2048 x 32768 = 67 M px
    (2048, (1, 16384), 16384, (512, 16384)),
    (2048, (1, 4096), 4096, (1024, 4096)),     # ~size^2, whole 512-row tile bands
    (2048, (1, 2048), 2048, (2048, 2048)),     # as wide as a chunk: as before
    (2048, (16, 32768), 32768, (512, 32768)),  # 16-row strips: a multiple of 16
    (2048, (1024, 32768), 32768, (1024, 32768)),  # never less than one strip
    (2, (1, 4), 4, (2, 4)),                    # tiny chunks (tests): never taller than asked
    (2048, (512, 512), 32768, (2048, 2048)),   # tiles: aligned on them, as before
    (2048, (256, 256), 1000, (2048, 2048)),
])
def test_chunk_shape(size: int, block: tuple[int, int], width: int,
                     expected: tuple[int, int]) -> None:
    assert chunk_shape(size, block, width) == expected
    rows, cols = chunk_shape(size, block, width)
    assert rows % block[0] == 0 and cols % block[1] == 0  # each block decoded once


def _land_cover() -> np.ndarray:
    """Fields of a few hundred pixels with noise, as farmland."""
    rng = np.random.default_rng(7)
    fields = rng.choice(CODES, (H // 64, W // 128))
    arr = np.repeat(np.repeat(fields, 64, axis=0), 128, axis=1)
    noise = rng.random((H, W)) < 0.03
    arr[noise] = rng.choice(CODES, int(noise.sum()))
    arr[:5, :7] = 0  # nodata
    return arr


def _write(path: Path, arr: np.ndarray, *, tiled: bool) -> Path:
    extra = {"tiled": True, "blockxsize": 512, "blockysize": 512} if tiled else {}
    with rasterio.open(path, "w", driver="GTiff", width=W, height=H, count=1, dtype="uint8",
                       crs="EPSG:32649", transform=from_origin(500000, 3850000, 10, 10),
                       nodata=0, compress="deflate", **extra) as dst:
        dst.write(arr, 1)
    return path


def _units(path: Path) -> Path:
    rng = np.random.default_rng(3)
    x0, y1 = 500000.0, 3850000.0
    x1, y0 = x0 + 10 * W, y1 - 10 * H
    pts = shapely.multipoints(np.column_stack([rng.uniform(x0, x1, 40),
                                               rng.uniform(y0, y1, 40)]))
    frame = shapely.box(x0, y0, x1, y1)
    cells = shapely.intersection(shapely.get_parts(shapely.voronoi_polygons(
        pts, extend_to=frame)), frame)
    gpd.GeoDataFrame({"uid": [f"t{i:02d}" for i in range(len(cells))],
                      "name": [f"镇{i}" for i in range(len(cells))]},
                     geometry=cells, crs="EPSG:32649").to_file(path, layer="units")
    return path


CONFIG = """title = "striped"
[landcover]
path = "{raster}"
legend = "esa_worldcover"
chunk_size = 1024
[units]
path = "units.gpkg"
id_field = "uid"
name_field = "name"
[construction]
method = "intensity"
intensity_tc_per_ha = 20.0
[thresholds]
preset = "strict_median"
[output]
map = false
"""


def test_striped_raster_runs_in_tile_bands_with_the_numbers_of_tiles(tmp_path: Path) -> None:
    arr = _land_cover()
    striped = _write(tmp_path / "striped.tif", arr, tiled=False)
    tiled = _write(tmp_path / "tiled.tif", arr, tiled=True)
    with rasterio.open(striped) as src:
        assert src.block_shapes[0][1] == W  # really striped (GDAL picks the rows a strip)
    codes = open_landcover(striped, chunks=1024)
    assert codes.data.chunks == ((STRIP_ROWS,) * (H // STRIP_ROWS), (W,))
    _units(tmp_path / "units.gpkg")
    out = {}
    for name, raster in (("striped", striped), ("tiled", tiled)):
        cfg = tmp_path / f"{name}.toml"
        cfg.write_text(CONFIG.format(raster=raster.name), encoding="utf-8")
        run(load_config(cfg), tmp_path / name, overwrite=True)
        out[name] = tmp_path / name
    a = pd.read_csv(out["striped"] / "class_areas.csv")
    b = pd.read_csv(out["tiled"] / "class_areas.csv")
    pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-12)
    # areas conserved: the units tile the raster; every valid pixel is 100 m2 (the CSV
    # rounds each row to 1e-6 ha)
    assert a["area_ha"].sum() == pytest.approx((arr != 0).sum() * 0.01, abs=len(a) * 5e-7)
    for raster in ("land_class.tif", "space_type.tif", "net_flux.tif"):
        with rasterio.open(out["striped"] / raster) as s, rasterio.open(
                out["tiled"] / raster) as t:
            assert np.array_equal(s.read(1), t.read(1), equal_nan=True)
            assert s.overviews(1) == t.overviews(1)
