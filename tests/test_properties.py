"""Property-based tests (hypothesis) of the accounting invariants.

* the class areas of a unit sum to its covered area, and a partition of the raster into units
  conserves the classified area exactly (zonal, real GeoTIFF-like rasters in memory);
* emission >= 0, sequestration >= 0, net = emission - sequestration, for any areas,
  coefficients (sources and sinks) and construction emissions, in t C and t CO2;
* unit conversions round-trip.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
import rioxarray  # noqa: F401  (registers .rio)
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from rasterio.transform import from_origin
from shapely.geometry import box

from landcarbon.accounting.balance import to_output_unit, unit_balance
from landcarbon.accounting.classification import classify
from landcarbon.accounting.coefficients import load_coefficients
from landcarbon.accounting.conversions import C_TO_CO2, DENSITY_UNITS, density_factor, output_factor
from landcarbon.accounting.legends import land_classes, load_legend

ESA = [0, 10, 20, 30, 40, 50, 60, 80, 90]  # 0 = nodata
LEGEND = load_legend("esa_worldcover")
LAND_CLASSES = list(land_classes().index)
PROFILE = settings(max_examples=25, deadline=None,
                   suppress_health_check=[HealthCheck.too_slow])


def _codes(array: np.ndarray) -> xr.DataArray:
    h, w = array.shape
    transform = from_origin(500000, 3850000, 10, 10)
    da = xr.DataArray(array, dims=("y", "x"),
                      coords={"y": 3850000 - 5 - 10 * np.arange(h),
                              "x": 500000 + 5 + 10 * np.arange(w)}, name="code")
    return (da.rio.write_crs("EPSG:32649").rio.write_transform(transform)
            .rio.write_nodata(0))


@st.composite
def raster_and_cuts(draw: st.DrawFn) -> tuple[np.ndarray, list[float]]:
    h = draw(st.integers(2, 7))
    w = draw(st.integers(2, 7))
    array = draw(arrays(np.uint8, (h, w), elements=st.sampled_from(ESA)))
    # cut points in metres (any position, also through pixels) splitting x into units
    cuts = sorted(draw(st.lists(st.floats(1, 10 * w - 1), min_size=0, max_size=3,
                                unique=True)))
    return array, cuts


@PROFILE
@given(raster_and_cuts())
def test_class_areas_sum_to_covered_and_partition_conserves_area(
        case: tuple[np.ndarray, list[float]]) -> None:
    import geopandas as gpd

    from landcarbon.engine.zonal import class_areas

    array, cuts = case
    h, w = array.shape
    edges = [0.0, *cuts, 10.0 * w]
    units = gpd.GeoDataFrame(
        {"unit_id": [f"u{i}" for i in range(len(edges) - 1)]},
        geometry=[box(500000 + a, 3850000 - 10 * h, 500000 + b, 3850000)
                  for a, b in itertools.pairwise(edges)], crs="EPSG:32649")
    cats = classify(_codes(array), LEGEND)
    areas = class_areas(cats, units)
    coefficients = load_coefficients("lai2010")
    balance = unit_balance(areas, coefficients, unit_ids=units["unit_id"])
    by_class = balance[[c for c in balance.columns if c.startswith("area_")]].sum(axis=1)
    np.testing.assert_allclose(by_class, balance["covered_ha"], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(
        areas.groupby("unit_id")["area_ha"].sum().reindex(balance.index, fill_value=0),
        balance["covered_ha"], rtol=1e-12, atol=1e-12)
    # a partition of the raster conserves the classified area: 0.01 ha per valid pixel
    assert balance["covered_ha"].sum() == pytest.approx(0.01 * np.count_nonzero(array),
                                                        rel=1e-9, abs=1e-12)
    shares = balance[["share_agricultural", "share_construction", "share_ecological"]].sum(axis=1)
    np.testing.assert_allclose(shares[balance["covered_ha"] > 0], 1.0, rtol=1e-12)


@st.composite
def class_area_tables(draw: st.DrawFn) -> pd.DataFrame:
    n_units = draw(st.integers(1, 5))
    rows = draw(st.lists(st.tuples(
        st.integers(0, n_units - 1),
        st.sampled_from(LAND_CLASSES),
        st.floats(0, 1e6, allow_nan=False, allow_infinity=False)), min_size=0, max_size=25))
    table = pd.DataFrame(rows, columns=["unit", "land_class", "area_ha"])
    space = {"construction": "construction", "rural_settlement": "construction",
             "cropland": "agricultural", "orchard": "agricultural"}
    return pd.DataFrame({
        "unit_id": [f"u{i}" for i in table["unit"]],
        "land_class": table["land_class"].astype(object),
        "space_type": [space.get(lc, "ecological") for lc in table["land_class"]],
        "area_ha": table["area_ha"].astype(float)})


coefficient_values = st.floats(-20, 20, allow_nan=False, allow_infinity=False)


@PROFILE
@given(class_area_tables(),
       st.dictionaries(st.sampled_from([lc for lc in LAND_CLASSES
                                        if lc not in ("construction", "rural_settlement")]),
                       coefficient_values, max_size=6),
       st.one_of(st.none(), st.floats(0, 500, allow_nan=False)),
       st.sampled_from(["source", "neutral"]))
def test_emission_sequestration_net_signs(areas: pd.DataFrame, overrides: dict[str, float],
                                         intensity: float | None, cropland: str) -> None:
    coefficients = load_coefficients("lai2010", overrides=overrides, cropland_mode=cropland)
    balance = unit_balance(areas, coefficients, construction_intensity_tc_per_ha=intensity,
                           unit_ids=["u0"])
    for table, s in ((balance, "tc"), (to_output_unit(balance, "t CO2"), "tco2")):
        assert (table[f"emission_{s}"] >= 0).all()
        assert (table[f"sequestration_{s}"] >= 0).all()
        np.testing.assert_allclose(table[f"net_{s}"],
                                   table[f"emission_{s}"] - table[f"sequestration_{s}"],
                                   rtol=1e-12, atol=1e-9)
    converted = to_output_unit(balance, "t CO2")
    np.testing.assert_allclose(converted["net_tco2"], balance["net_tc"] * C_TO_CO2, rtol=1e-12,
                               atol=1e-9)
    # the flux is the sum of area x coefficient, split by sign
    density = coefficients.tc_per_ha.fillna(0.0)
    direct = (areas["area_ha"] * areas["land_class"].map(density).fillna(0.0)).groupby(
        areas["unit_id"]).sum()
    construction = balance["construction_emission_tc"]
    expected = direct.reindex(balance.index, fill_value=0.0) + construction
    np.testing.assert_allclose(balance["net_tc"], expected, rtol=1e-9, atol=1e-6)


@given(st.sampled_from(sorted(DENSITY_UNITS)),
       st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False))
def test_density_units_round_trip(unit: str, value: float) -> None:
    factor = density_factor(unit)
    assert factor > 0
    back = (value * factor) / factor
    assert back == pytest.approx(value, rel=1e-12, abs=1e-12)
    # spelling variants of the same unit convert identically
    assert density_factor(unit.upper().replace("/", " / ")) == factor
    # via t C/ha/yr into any other unit and back
    for other in DENSITY_UNITS:
        there = value * factor / density_factor(other)
        assert there * density_factor(other) / factor == pytest.approx(value, rel=1e-12,
                                                                       abs=1e-9)


@given(st.floats(0, 1e9, allow_nan=False))
def test_output_unit_round_trip(tc: float) -> None:
    assert tc * output_factor("t CO2") / C_TO_CO2 == pytest.approx(tc, rel=1e-15)
    assert tc * output_factor("t C") == tc


def _assert_overlaps_are_intersections(geoms: list[object]) -> None:
    """:func:`overlaps` of ``geoms`` (units in UTM 49N) reports exactly the pairs whose
    intersection has an area, with that area (geodesic = planar / k0^2 near the central
    meridian)."""
    import geopandas as gpd

    from landcarbon.checks.units import overlaps

    units = gpd.GeoDataFrame({"unit_id": [f"u{i}" for i in range(len(geoms))]},
                             geometry=geoms, crs="EPSG:32649")
    table = overlaps(units)
    expected = {(f"u{i}", f"u{j}"): geoms[i].intersection(geoms[j]).area / 1e4
                for i in range(len(geoms)) for j in range(i + 1, len(geoms))
                if geoms[i].intersection(geoms[j]).area > 0}
    got = {(a, b): v for a, b, v in zip(table["unit_a"], table["unit_b"], table["overlap_ha"],
                                        strict=True)}
    assert set(got) == set(expected)
    for pair, planar in expected.items():
        assert got[pair] == pytest.approx(planar / 0.9996**2, rel=1e-4)


@PROFILE
@given(st.lists(st.tuples(st.integers(0, 50), st.integers(0, 50), st.integers(1, 30),
                          st.integers(1, 30)), min_size=1, max_size=6))
def test_overlaps_are_the_pairwise_intersections(rects: list[tuple[int, int, int, int]]
                                                 ) -> None:


    geoms = [box(500000 + x, 3850000 + y, 500000 + x + w, 3850000 + y + h)
             for x, y, w, h in rects]
    _assert_overlaps_are_intersections(geoms)


@PROFILE
@given(st.lists(st.lists(st.tuples(st.integers(0, 40), st.integers(0, 40)), min_size=3,
                         max_size=6), min_size=2, max_size=6),
       st.booleans())
def test_overlaps_of_any_polygons_are_their_intersections(
        shapes: list[list[tuple[int, int]]], neighbours: bool) -> None:
    """Triangles and quads in any position (crossing like a hexagram, one inside another,
    twice the same, sharing an edge), optionally beside a clean coverage of squares: the
    pairs reported are exactly those whose intersection has an area."""
    import shapely


    geoms = []
    for pts in shapes:
        hull = shapely.convex_hull(shapely.multipoints(
            [(500000 + x, 3850000 + y) for x, y in pts]))
        if hull.geom_type == "Polygon" and hull.area > 0:
            geoms.append(hull)
    if neighbours:  # a clean coverage of squares east of the shapes (no overlap among them)
        geoms += [box(500100 + 10 * i, 3850000, 500110 + 10 * i, 3850010) for i in range(4)]
    _assert_overlaps_are_intersections(geoms)


@PROFILE
@given(st.lists(st.tuples(st.integers(0, 20), st.integers(0, 20)), min_size=4, max_size=8))
def test_repaired_geometries_are_valid(points: list[tuple[int, int]]) -> None:
    import geopandas as gpd
    import shapely
    from shapely.geometry import Polygon

    from landcarbon.checks.units import repair_geometries

    ring = Polygon([(500000 + x, 3850000 + y) for x, y in points])
    units = gpd.GeoDataFrame({"unit_id": ["a", "b"]}, geometry=[ring, box(500000, 3850000,
                                                                         500010, 3850010)],
                             crs="EPSG:32649")
    fixed, problems = repair_geometries(units)
    geoms = fixed.geometry.array
    assert shapely.is_valid(geoms[~shapely.is_empty(geoms)]).all()
    assert fixed.geometry.iloc[1].equals(units.geometry.iloc[1])  # valid ones untouched
    assert (not ring.is_valid) == any(p.code == "geometry_invalid" for p in problems)
