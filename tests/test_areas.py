"""Cell and polygon areas against pyproj's geodesic areas."""

from __future__ import annotations

import numpy as np
import pytest
from affine import Affine
from pyproj import CRS, Geod, Transformer
from shapely.geometry import box

from landcarbon.engine.areas import cell_areas_m2, geodesic_areas_m2, row_areas_m2

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


@pytest.mark.parametrize("epsg,x0,y0,size", [
    (4326, 113.6, 34.7, 0.004),          # Zhengzhou, degrees (~400 m)
    (32649, 760000.0, 3845000.0, 400.0),  # UTM 49N, far from the central meridian
    (4526, 38500000.0, 3800000.0, 60.0),  # CGCS2000 3-degree GK zone 38 (parcels)
    (3857, 12650000.0, 4120000.0, 500.0),  # Web Mercator: areal scale ~1.5 there
    (2263, 990000.0, 200000.0, 400.0),    # NY State Plane, US survey feet (NAD83, GRS 80)
])
def test_small_polygons_take_the_local_area_element(epsg: int, x0: float, y0: float,
                                                    size: float) -> None:
    """Polygons under 2 km across (triangles, squares with a hole, two-part polygons) get
    the planar area x the local area element at the centroid: the ellipsoidal area of the
    polygon whose edges are straight in its CRS (as surveys draw them). The reference is the
    exact geodesic ring area of the polygon densified to 1/50 of its size (geodesic and
    map-straight edges then nearly coincide; finer, the geodesic sums of metre-long edges
    lose digits): equal to 3e-7. Without densifying, the two readings of a triangle's edges
    differ by up to 1e-5 (an edge's bow over 400 m)."""
    import geopandas as gpd
    import shapely

    from landcarbon.engine.areas import _local_area_polygons, _ring_areas_m2

    rng = np.random.default_rng(epsg)
    geoms = []
    for _ in range(60):
        x, y = x0 + rng.uniform(0, 20 * size), y0 + rng.uniform(0, 20 * size)
        s = size * rng.uniform(0.2, 1.0)
        geoms.append(shapely.Polygon([(x, y), (x + s, y + 0.3 * s), (x + 0.4 * s, y + s)]))
        geoms.append(box(x, y, x + s, y + s).difference(
            box(x + 0.25 * s, y + 0.25 * s, x + 0.5 * s, y + 0.5 * s)))
        geoms.append(shapely.MultiPolygon([box(x, y, x + 0.3 * s, y + 0.3 * s),
                                           box(x + 0.6 * s, y, x + s, y + 0.2 * s)]))
    series = gpd.GeoSeries(geoms, crs=epsg)
    from pyproj import CRS

    assert _local_area_polygons(series.to_numpy(), CRS.from_epsg(epsg)).all()
    fast = geodesic_areas_m2(series, series.crs)
    dense = _ring_areas_m2(shapely.segmentize(series.to_numpy(), size / 50), series.crs)
    assert (dense > 0).all()
    np.testing.assert_allclose(fast, dense, rtol=3e-7, atol=1e-3)  # m2: the geodesic sums'
    # own precision on parcels of 100 m2 (their terms are areas of the ellipsoid's size)
    np.testing.assert_allclose(fast, _ring_areas_m2(series.to_numpy(), series.crs), rtol=1e-5)


def test_large_polygons_and_other_ellipsoids_take_the_exact_ring_areas() -> None:
    """Polygons over 2 km across, and polygons in a CRS on another ellipsoid (NAD27, Clarke
    1866), get exactly the geodesic ring areas of the polygon densified in its CRS (edges
    straight in their CRS, vertices at most 1 km apart); empty geometries 0."""
    import geopandas as gpd
    import shapely

    from landcarbon.engine.areas import _ring_areas_m2, densify

    big = gpd.GeoSeries([box(500000, 3850000, 502500, 3851000),
                         box(500000, 3850000, 500100, 3850100), shapely.Polygon()], crs=32649)
    areas = geodesic_areas_m2(big, big.crs)
    assert areas[0] == _ring_areas_m2(densify(big.to_numpy()[:1], big.crs), big.crs)[0]
    assert shapely.get_num_coordinates(densify(big.to_numpy()[:1], big.crs))[0] == 5 + 2 + 2
    assert areas[1] == pytest.approx(1e4, rel=2e-3) and areas[2] == 0.0
    nad27 = gpd.GeoSeries([box(-100.0, 40.0, -99.999, 40.001)], crs=4267)
    assert geodesic_areas_m2(nad27, nad27.crs)[0] == _ring_areas_m2(nad27.to_numpy(),
                                                                   nad27.crs)[0]
