"""Cell and polygon areas against pyproj's geodesic areas."""

from __future__ import annotations

import numpy as np
import pytest
from affine import Affine
from pyproj import CRS, Geod, Transformer
from shapely.geometry import box

from landcarbon.areas import cell_areas_m2, geodesic_areas_m2, row_areas_m2

GEOD = Geod(ellps="WGS84")


def _geod_cell_area(lon0: float, lat0: float, dlon: float, dlat: float, n: int = 2000) -> float:
    """Geodesic area of a lat/lon cell whose east-west edges follow the parallels (densified)."""
    lons = np.concatenate([np.linspace(lon0, lon0 + dlon, n), np.full(2, lon0 + dlon),
                           np.linspace(lon0 + dlon, lon0, n), np.full(2, lon0)])
    lats = np.concatenate([np.full(n, lat0), [lat0, lat0 - dlat],
                           np.full(n, lat0 - dlat), [lat0 - dlat, lat0]])
    return abs(GEOD.polygon_area_perimeter(lons, lats)[0])


@pytest.mark.parametrize("lat_top", [0.5, 34.8, 60.0, 89.0, -10.0])
def test_geographic_rows_match_geodesic_area(lat_top: float) -> None:
    res = 0.25
    transform = Affine(res, 0, 113.0, 0, -res, lat_top)
    areas = row_areas_m2(transform, 3, CRS.from_epsg(4326))
    for row in range(3):
        expected = _geod_cell_area(113.0, lat_top - row * res, res, res)
        assert areas[row] == pytest.approx(expected, rel=1e-6)


def test_worldcover_pixel_is_not_square_degrees() -> None:
    res = 1 / 12000  # ESA WorldCover 10 m grid
    transform = Affine(res, 0, 113.5, 0, -res, 34.8)
    area = cell_areas_m2(np.array([0]), np.array([0]), transform, CRS.from_epsg(4326))[0]
    expected = _geod_cell_area(113.5, 34.8, res, res, n=3)
    assert area == pytest.approx(expected, rel=1e-6)
    assert 70 < area < 80  # about 9.26 m x 8.5 m... not 1 deg2 and not 100 m2


def test_projected_nominal_area_and_feet() -> None:
    tr = Affine(30, 0, 0, 0, -30, 0)
    assert cell_areas_m2(np.array([0, 5]), np.array([1, 2]), tr, CRS.from_epsg(32649)).tolist() \
        == [900.0, 900.0]
    # US survey feet CRS: 10 ft cells -> (10 * 0.3048006096)^2 m2
    ft = CRS.from_epsg(2229)
    a = cell_areas_m2(np.array([0]), np.array([0]), Affine(10, 0, 6e6, 0, -10, 2e6), ft)[0]
    assert a == pytest.approx((10 * 1200 / 3937) ** 2, rel=1e-9)


def test_web_mercator_ellipsoidal_correction() -> None:
    crs = CRS.from_epsg(3857)
    to_merc = Transformer.from_crs(4326, 3857, always_xy=True)
    x0, y0 = to_merc.transform(10.0, 60.0)
    tr = Affine(100, 0, x0, 0, -100, y0)
    nominal = cell_areas_m2(np.array([0]), np.array([0]), tr, crs, "nominal")[0]
    true = cell_areas_m2(np.array([0]), np.array([0]), tr, crs, "ellipsoidal")[0]
    to_geo = Transformer.from_crs(3857, 4326, always_xy=True)
    xs = [x0, x0 + 100, x0 + 100, x0]
    ys = [y0, y0, y0 - 100, y0 - 100]
    lon, lat = to_geo.transform(xs, ys)
    geodesic = abs(GEOD.polygon_area_perimeter(lon, lat)[0])
    assert nominal == pytest.approx(10_000)
    assert true == pytest.approx(geodesic, rel=1e-3)
    assert true < 0.3 * nominal  # Mercator inflates areas ~4x at 60 N


def test_geodesic_polygon_areas_any_crs() -> None:
    import geopandas as gpd

    utm = gpd.GeoSeries([box(500000, 3850000, 501000, 3851000)], crs=32649)
    area = geodesic_areas_m2(utm, utm.crs)[0]
    assert area == pytest.approx(1e6, rel=2e-3)  # UTM scale factor ~0.9996 at the meridian
    lonlat = utm.to_crs(4326)
    assert geodesic_areas_m2(lonlat, lonlat.crs)[0] == pytest.approx(area, rel=1e-6)
