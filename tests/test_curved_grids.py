"""Exact areas on any grid: a unit lying wholly on valid pixels has ``covered_ha`` equal to
its geodesic ``area_ha`` (1e-6 relative) on geographic grids, projected grids measured on
the ellipsoid, and sinusoidal grids on a sphere (MODIS), whose cells are measured on WGS 84.

Expected areas are computed by hand from the closed-form area of a latitude-longitude box
on the WGS 84 ellipsoid (not by landcarbon's own functions).
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import rioxarray
import shapely
from pyproj import CRS, Transformer
from rasterio.transform import from_origin

import landcarbon as lc
from landcarbon.engine.areas import densify, geodesic_areas_m2, resolve_area_method
from landcarbon.engine.zonal import index_areas_ha
from tests.conftest import shared

#: The MODIS sinusoidal CRS: a sphere of radius 6,371,007.181 m.
MODIS_SINU = "+proj=sinu +lon_0=0 +x_0=0 +y_0=0 +R=6371007.181 +units=m +no_defs"


def box_area_m2(lon0: float, lat0: float, lon1: float, lat1: float) -> float:
    """Area of the box between two meridians and two parallels on WGS 84 (closed form:
    longitude span x the difference of the authalic zone function)."""
    a, f = 6378137.0, 1 / 298.257223563
    e2 = f * (2 - f)
    e = np.sqrt(e2)
    b2 = (a * (1 - f)) ** 2

    def q(phi_deg: float) -> float:
        s = np.sin(np.radians(phi_deg))
        return b2 * (s / (2 * (1 - e2 * s * s)) + np.arctanh(e * s) / (2 * e))

    return float(np.radians(lon1 - lon0) * (q(lat1) - q(lat0)))


BOXES = [(100.0, 30.0, 101.0, 31.0), (101.5, 31.2, 103.0, 32.9), (100.2, 32.0, 100.3, 32.05)]


def _units(boxes: list[tuple[float, float, float, float]]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"unit_id": [f"u{i}" for i in range(len(boxes))],
                             "unit_name": [f"u{i}" for i in range(len(boxes))]},
                            geometry=[shapely.box(*b) for b in boxes], crs=4326)


def _grid_over(units: gpd.GeoDataFrame, crs: str, pixel: float, path: Path,
               value: int = 80) -> Path:
    """A GeoTIFF of ``value`` (nodata 0) covering the units (densified, reprojected) with a
    margin of 3 pixels."""
    dense = densify(units.geometry.to_numpy(), CRS(4326), 200.0)
    tr = Transformer.from_crs(4326, crs, always_xy=True)
    xy = shapely.get_coordinates(dense)
    x, y = tr.transform(xy[:, 0], xy[:, 1])
    x0 = np.floor(x.min() / pixel - 3) * pixel
    y1 = np.ceil(y.max() / pixel + 3) * pixel
    width = int(np.ceil((x.max() - x0) / pixel)) + 3
    height = int(np.ceil((y1 - y.min()) / pixel)) + 3
    with rasterio.open(path, "w", driver="GTiff", width=width, height=height, count=1,
                       dtype="uint8", crs=crs, transform=from_origin(x0, y1, pixel, pixel),
                       nodata=0, tiled=True, blockxsize=256, blockysize=256) as dst:
        dst.write(np.full((height, width), value, np.uint8), 1)
    return path


def _expected(boxes: list[tuple[float, float, float, float]]) -> np.ndarray:
    return np.array([box_area_m2(*b) for b in boxes]) / 1e4


def test_box_areas_are_geodesic_areas_of_edges_straight_in_lat_lon() -> None:
    """area_ha of a lat/lon box (meridian and parallel edges) is the closed-form area, and
    a corner-only reading (geodesic parallels) would be ~6e-6 off on a 1-degree box at 30N."""
    units = _units(BOXES)
    got = geodesic_areas_m2(units.geometry, units.crs) / 1e4
    np.testing.assert_allclose(got, _expected(BOXES), rtol=1e-8)
    from landcarbon.engine.areas import _ring_areas_m2
    corners_only = _ring_areas_m2(units.geometry.to_numpy()[:1], CRS(4326))[0] / 1e4
    assert abs(corners_only / _expected(BOXES)[0] - 1) > 3e-6


def test_sphere_crs_cells_are_measured_on_wgs84() -> None:
    crs = CRS(MODIS_SINU)
    assert resolve_area_method(crs) == "ellipsoidal"
    assert resolve_area_method(crs, "nominal") == "nominal"
    assert resolve_area_method(CRS(32649)) == "nominal"


@pytest.mark.parametrize(("crs", "pixel", "pixel_area"), [
    (MODIS_SINU, 500.0, "auto"),         # sinusoidal on a sphere: measured on WGS 84
    ("EPSG:4326", 0.005, "auto"),        # geographic: exact ellipsoidal rows
    ("EPSG:32648", 500.0, "ellipsoidal"),  # UTM 48N on WGS 84, measured on the ellipsoid
    ("EPSG:3857", 700.0, "ellipsoidal"),   # Web Mercator (nominal areas 35 % off here)
    ("EPSG:4546", 500.0, "ellipsoidal"),   # CGCS2000 3-degree Gauss-Kruger CM 102E
])
@pytest.mark.parametrize("engine", ["blocks", "exactextract"])
def test_covered_area_equals_geodesic_area_on_any_grid(tmp_path: Path, crs: str, pixel: float,
                                                       pixel_area: str, engine: str) -> None:
    units = _units(BOXES)
    path = _grid_over(units, crs, pixel, tmp_path / "grid.tif")
    raster = rioxarray.open_rasterio(path).squeeze("band", drop=True)
    index = raster.copy(data=np.where(raster.values == 80, 0, 255).astype(np.uint8))
    index = index.rio.write_nodata(255)
    covered = index_areas_ha(index, units, 1, nodata=255, engine=engine,
                             pixel_area=pixel_area)[:, 0]
    np.testing.assert_allclose(covered, _expected(BOXES), rtol=1e-6)


def _assess(tmp_path: Path, raster: Path, units: gpd.GeoDataFrame,
            pixel_area: str = "auto") -> object:
    units.to_file(tmp_path / "units.gpkg", layer="units")
    (tmp_path / "run.toml").write_text(f"""[landcover]
path = "{raster.name}"
legend = "esa_worldcover"
pixel_area = "{pixel_area}"
[units]
path = "units.gpkg"
layer = "units"
id_field = "unit_id"
name_field = "unit_name"
[construction]
method = "intensity"
intensity_tc_per_ha = 50.0
[thresholds]
agricultural = 0.422
construction = 8.0
ecological = 0.0
""", encoding="utf-8")
    return lc.assess(lc.load_config(tmp_path / "run.toml"))


def test_a_run_on_a_sinusoidal_sphere_grid_conserves_unit_areas(tmp_path: Path) -> None:
    units = _units(BOXES)
    raster = _grid_over(units, MODIS_SINU, 463.3127165, tmp_path / "sinu.tif")
    table = _assess(tmp_path, raster, units).units.set_index("unit_id")
    np.testing.assert_allclose(table["area_ha"], _expected(BOXES), rtol=1e-8)
    np.testing.assert_allclose(table["covered_ha"], table["area_ha"], rtol=1e-6)


@pytest.mark.realdata
def test_modis_tile_all_water_units_cover_their_area(tmp_path: Path) -> None:
    """The MODIS MCD12Q1 tile h00v08 (sinusoidal sphere, 463 m): 1-degree units on water
    only. Before: covered/area = 1.0041-1.0044 (cells measured on the sphere, units
    reprojected corner by corner)."""
    tif = shared("edge_cases", "MCD12Q1.A2001001.h00v08.006.2018142182903_LC_Type1.tif")
    boxes = [(lon, lat, lon + 1, lat + 1) for lon in (-178.0, -176.0)
             for lat in (0.5, 4.0, 8.5)] + [(-172.0, 0.5, -171.0, 1.5), (-172.0, 4.0, -171.0, 5.0)]
    units = _units(boxes)
    raster = rioxarray.open_rasterio(tif).squeeze("band", drop=True)
    assert set(np.unique(raster.values)) <= {1, 10, 11, 12, 15, 17, 255}
    index = raster.copy(data=np.where(raster.values == 255, 255, 0).astype(np.uint8))
    for engine in ("blocks", "exactextract"):
        covered = index_areas_ha(index, units, 1, nodata=255, engine=engine)[:, 0]
        np.testing.assert_allclose(covered, _expected(boxes), rtol=1e-6)
