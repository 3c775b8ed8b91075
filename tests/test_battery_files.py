"""Bad-input battery, part 2: broken or wrong files (rasters, vector layers, shapefile parts,
GeoPackages, CRS labels, geometry types, an HTTP server without Range support). Real
``landcarbon`` subprocesses on real files; see ``_battery.py`` for what each case asserts."""

from __future__ import annotations

import contextlib
import http.server
import sqlite3
import threading
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from _battery import HALVES, config, raster, units
from affine import Affine
from conftest import GRID4
from rasterio.transform import from_origin
from shapely.geometry import LineString, Point, box

UNITS_PATH = 'path = "halves.gpkg"\nlayer = "units"'


def _units_file(name: str) -> Callable[[Path], object]:
    """Point the config at ``name`` (no layer)."""
    return lambda d: config(d, (UNITS_PATH, f'path = "{name}"'))


def _rgb(d: Path) -> None:
    with rasterio.open(d / "grid4.tif", "w", driver="GTiff", width=4, height=4, count=3,
                       dtype="uint8", crs="EPSG:32649", photometric="RGB",
                       transform=from_origin(500000, 3850000, 10, 10)) as dst:
        dst.write(np.stack([GRID4, GRID4, GRID4]))


def _scaled(d: Path) -> None:
    """GRID4 with scale 2 and offset 5 in its header (GDAL would read 2 x code + 5)."""
    raster(d, GRID4)
    with rasterio.open(d / "grid4.tif", "r+") as dst:
        dst.scales, dst.offsets = (2.0,), (5.0,)


def _zero_pixel(d: Path) -> None:
    raster(d, GRID4, transform=Affine(0.0, 0.0, 500000.0, 0.0, -10.0, 3850000.0))


def _vrt_missing_tile(d: Path) -> None:
    raster(d, GRID4, name="t1.tif")
    raster(d, GRID4, name="t2.tif", transform=from_origin(500040, 3850000, 10, 10))
    src = ('<SimpleSource><SourceFilename relativeToVRT="1">{n}</SourceFilename><SourceBand>1'
           '</SourceBand><SrcRect xOff="0" yOff="0" xSize="4" ySize="4"/><DstRect xOff="{x}" '
           'yOff="0" xSize="4" ySize="4"/></SimpleSource>')
    (d / "mosaic.vrt").write_text(
        '<VRTDataset rasterXSize="8" rasterYSize="4"><SRS>EPSG:32649</SRS><GeoTransform>'
        "500000, 10, 0, 3850000, 0, -10</GeoTransform><VRTRasterBand dataType=\"Byte\" "
        'band="1"><NoDataValue>0</NoDataValue>' + src.format(n="t1.tif", x=0)
        + src.format(n="t2.tif", x=4) + "</VRTRasterBand></VRTDataset>", encoding="utf-8")
    (d / "t2.tif").unlink()
    config(d, ('path = "grid4.tif"', 'path = "mosaic.vrt"'))


def _shapefile(d: Path, drop: str) -> None:
    units(d / "u.shp")
    for p in d.glob(f"u{drop}"):
        p.unlink()
    config(d, (UNITS_PATH, 'path = "u.shp"'))


def _sqlite_not_gpkg(d: Path) -> None:
    (d / "halves.gpkg").unlink()
    with sqlite3.connect(d / "halves.gpkg") as con:
        con.execute("create table townships (id text)")


def _two_layers(d: Path) -> None:
    units(d / "two.gpkg")
    units(d / "two.gpkg", ids=["X"], geoms=[box(500000, 3849960, 500010, 3849970)],
          layer="decoy")
    config(d, (UNITS_PATH, 'path = "two.gpkg"'))


def _geoms(geoms: list[object], crs: str = "EPSG:32649") -> Callable[[Path], object]:
    return lambda d: units(d / "halves.gpkg", geoms=geoms, crs=crs)


def _metres_as_degrees_units(d: Path) -> None:
    units(d / "halves.gpkg", crs="EPSG:4326")


def _parcels(geoms: list[object], codes: list[object], *, two_layers: bool = False
             ) -> Callable[[Path], object]:
    """A parcel-mode project (GB/T 21010 codes in field ``dlbm``)."""
    def breaker(d: Path) -> None:
        gdf = gpd.GeoDataFrame({"dlbm": codes}, geometry=geoms, crs="EPSG:32649")
        gdf.to_file(d / "parcels.gpkg", layer="parcels")
        if two_layers:
            gdf.to_file(d / "parcels.gpkg", layer="old_survey")
        (d / "run.toml").write_text(
            '[parcels]\npath = "parcels.gpkg"\ncode_field = "dlbm"\nunit_field = "dlbm"\n'
            '[thresholds]\npreset = "zhengzhou_example"\n[output]\nmap = false\n'
            "rasters = false\n", encoding="utf-8")
    return breaker


CASES: dict[str, tuple[Callable[[Path], object], tuple[str, ...], str]] = {
    # --- parcel mode
    "parcels_points": (_parcels([Point(500010, 3849980), Point(500030, 3849980)],
                                ["0101", "0301"]), ("parcels must be polygons",), "run"),
    "parcels_two_layers": (_parcels(HALVES, ["0101", "0301"], two_layers=True),
                           ("2 layers", "'old_survey'"), "run"),
    "parcels_code_empty": (_parcels(HALVES, [None, "0301"]),
                           ("empty 'dlbm'", "row 1", "parcels.gpkg"), "run"),
    "parcels_code_n_a": (_parcels(HALVES, ["n/a", "0301"]), ("'N/A'",), "validate"),
    # --- land-cover rasters
    "raster_path_is_a_folder": (lambda d: (d / "tiles").mkdir() or config(
        d, ('path = "grid4.tif"', 'path = "tiles"')), ("is a folder", "'folder/*.tif'"), "run"),
    "pools_path_is_a_folder": (lambda d: (d / "pools.csv").mkdir() or config(
        d, ('path = "grid4.tif"', 'path = "grid4.tif"'), extra='[change.stocks]\npools = '
        '"pools.csv"\n[[change.dates]]\nyear = 2020\nlandcover = "grid4.tif"\n'
        '[[change.dates]]\nyear = 2021\nlandcover = "grid4.tif"\n'),
        ("pool table", "is a folder"), "validate"),
    "raster_rgb_three_bands": (_rgb, ("3 bands", "one band of class codes"), "run"),
    "raster_scale_offset": (_scaled, ("scale of 2 and an offset of 5", "gdal_translate "
                                      "-unscale"), "run"),
    "raster_zero_pixel_size": (_zero_pixel, ("no georeferencing", "zero pixel size"), "run"),
    "raster_rotated": (lambda d: raster(d, GRID4, transform=Affine(10, 2, 500000, 2, -10,
                                                                    3850000)),
                       ("is rotated", "rotation terms 2 and 2", "gdalwarp"), "run"),
    "raster_south_up": (lambda d: raster(d, GRID4, transform=Affine(10, 0, 500000, 0, 10,
                                                                     3849960)),
                        ("is south-up", "positive pixel height 10", "gdalwarp"), "run"),
    "raster_metres_labelled_4326": (lambda d: raster(d, GRID4, crs="EPSG:4326"),
                                    ("EPSG:4326", "not degrees"), "run"),
    "raster_vrt_missing_tile": (_vrt_missing_tile, ("t2.tif", "do not exist"), "run"),
    "raster_float_with_inf": (lambda d: raster(d, np.where(GRID4 == 30, np.inf,
                                                           GRID4).astype("float32")),
                              ("inf", "does not map"), "run"),
    "raster_float_with_inf_validate": (lambda d: raster(d, np.where(
        GRID4 == 30, -np.inf, GRID4).astype("float32")), ("-inf",), "validate"),
    "raster_png_without_georeference": (
        lambda d: (raster(d, GRID4, name="lc.png", crs=None, nodata=None,
                          transform=Affine.identity()),
                   config(d, ('path = "grid4.tif"', 'path = "lc.png"'))),
        ("lc.png", "no georeferencing"), "run"),
    "raster_nodata_is_forest": (lambda d: raster(d, GRID4, nodata=10),
                                ("nodata value 10", "Tree cover"), "run"),
    "raster_config_nodata_is_class": (lambda d: config(
        d, ('legend = "esa_worldcover"', 'legend = "esa_worldcover"\nnodata = 40')),
        ("nodata value 40", "Cropland"), "run"),
    "raster_nodata_is_class_zone": (lambda d: raster(d, GRID4, nodata=10),
                                    ("nodata value 10",), "zone"),
    "raster_is_a_folder": (lambda d: ((d / "grid4.tif").unlink(), (d / "grid4.tif").mkdir()),
                           ("grid4.tif",), "run"),
    # --- vector files
    "shapefile_without_dbf": (partial(_shapefile, drop=".dbf"), ("u.dbf", "missing"), "run"),
    "shapefile_without_shx": (partial(_shapefile, drop=".shx"), ("u.shx", "missing"), "run"),
    "shapefile_without_prj": (partial(_shapefile, drop=".prj"), ("no CRS", ".prj"), "run"),
    "gpkg_zero_bytes": (lambda d: (d / "halves.gpkg").write_bytes(b""),
                        ("halves.gpkg", "not a readable vector file"), "run"),
    "gpkg_plain_sqlite": (_sqlite_not_gpkg, ("halves.gpkg", "GeoPackage"), "run"),
    "geojson_garbage": (lambda d: ((d / "u.geojson").write_text('{"type": "Feature'),
                                   _units_file("u.geojson")(d)), ("u.geojson",), "run"),
    "units_csv_without_geometry": (lambda d: ((d / "u.csv").write_text("code,name\nW,w\n"),
                                              _units_file("u.csv")(d)),
                                   ("u.csv", "no geometry"), "run"),
    "gpkg_two_layers_no_layer": (_two_layers, ("2 layers", "'units'", "'decoy'", "layer ="),
                                 "run"),
    "gpkg_two_layers_validate": (_two_layers, ("2 layers", "'decoy'"), "validate"),
    # --- geometry types and geometries
    "units_points": (_geoms([Point(500010, 3849980), Point(500030, 3849980)]),
                     ("must be polygons", "2 Point(s)"), "run"),
    "units_lines": (_geoms([LineString([(500000, 3849960), (500040, 3850000)])]),
                    ("must be polygons", "LineString"), "run"),
    "units_mixed_point": (_geoms([HALVES[0], Point(500030, 3849980)]),
                          ("must be polygons", "1 Point(s)", "rows 2"), "run"),
    "units_points_validate": (_geoms([Point(500010, 3849980), Point(500030, 3849980)]),
                              ("must be polygons",), "validate"),
    "units_points_sweep": (_geoms([Point(500010, 3849980), Point(500030, 3849980)]),
                           ("must be polygons",), "sweep"),
    "units_empty_geometry": (_geoms([HALVES[0], None]), ("empty or missing geometry",),
                             "run"),
    "units_overlap": (_geoms([box(500000, 3849960, 500020, 3850000), HALVES[1]]),
                      ("overlap", "allow_overlaps = true"), "run"),
    "units_overlap_zone": (_geoms([box(500000, 3849960, 500020, 3850000), HALVES[1]]),
                           ("overlap",), "zone"),
    "units_metres_labelled_4326": (_metres_as_degrees_units, ("not degrees",), "run"),
    "units_duplicate_ids_sweep": (lambda d: units(d / "halves.gpkg", ids=["A", "A"]),
                                  ("more than once",), "sweep"),
    "units_name_field_missing": (lambda d: config(d, ('name_field = "name"',
                                                      'name_field = "nom"')),
                                 ("name_field", "'nom'"), "run"),
    "units_numeric_duplicate_ids": (lambda d: units(d / "halves.gpkg", ids=[7, 7]),
                                    ("more than once", "7 (2x)"), "run"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_file(name: str, fails: Callable[..., str]) -> None:
    breaker, keywords, command = CASES[name]
    fails(breaker, *keywords, command=command)


class _NoRangeHandler(http.server.SimpleHTTPRequestHandler):
    """Serves files and ignores Range headers (always 200 with the whole file)."""

    def log_message(self, *args: object) -> None:
        pass


@contextlib.contextmanager
def serve_without_ranges(directory: Path) -> Iterator[str]:
    """A local HTTP server of ``directory`` that ignores Range headers; yields its URL."""
    handler = partial(_NoRangeHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def no_range_server(battery_project: Path) -> Iterator[str]:
    with serve_without_ranges(battery_project) as url:
        yield url


def test_http_server_without_range_requests(no_range_server: str,
                                            fails: Callable[..., str]) -> None:
    def breaker(d: Path) -> None:
        # 4 MB: GDAL reads a small file whole when the server ignores ranges; not this one
        codes = (np.random.default_rng(0).integers(1, 9, (2000, 2000)) * 10).astype(np.uint8)
        with rasterio.open(d / "big.tif", "w", driver="GTiff", width=2000, height=2000,
                           count=1, dtype="uint8", crs="EPSG:32649", nodata=0, tiled=True,
                           transform=from_origin(500000, 3850000, 10, 10)) as dst:
            dst.write(codes, 1)
        config(d, ('path = "grid4.tif"', f'path = "{no_range_server}/big.tif"'))

    fails(breaker, "does not support range requests", "big.tif")


def test_a_geopackage_with_one_spatial_layer_and_attribute_tables_reads_that_layer(
        tmp_path: Path) -> None:
    """An attribute table (no geometry) beside the units layer made the file ambiguous
    ("layer 'notes' (None)"): the one layer with geometry is read; two spatial layers still
    need ``layer``."""
    import pandas as pd
    import pyogrio

    from landcarbon.exceptions import InputError
    from landcarbon.io.vector import read_vector

    path = units(tmp_path / "u.gpkg")
    pyogrio.write_dataframe(pd.DataFrame({"note": ["surveyed 2023"]}), path, layer="notes")
    gdf = read_vector(path)
    assert gdf["code"].tolist() == ["W", "E"]
    units(path, ids=["X"], geoms=[box(500000, 3849960, 500010, 3849970)], layer="decoy")
    with pytest.raises(InputError, match="has 3 layers"):
        read_vector(path)
