"""Parcel mode: polygons carrying GB/T 21010 / 三调 codes, no raster; geodesic areas."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from click.testing import CliRunner
from pyproj import Geod
from shapely.geometry import box

import landcarbon as lc
from landcarbon.cli import main
from landcarbon.engine.areas import to_crs_densified
from landcarbon.engine.parcels import class_areas_from_parcels, parcel_codes

GEOD = Geod(ellps="WGS84")
# four 0.01 x 0.01 degree parcels in a row near Zhengzhou (113.60 E, 34.75 N)
X0, Y0, D = 113.60, 34.75, 0.01
CODES = ["0101", "0301", "05H1", "0702"]  # cropland, forest, commercial (三调 letter code), village


def _parcels() -> gpd.GeoDataFrame:
    geoms = [box(X0 + i * D, Y0, X0 + (i + 1) * D, Y0 + D) for i in range(4)]
    return gpd.GeoDataFrame({"dlbm": CODES, "town": ["A", "A", "B", "B"]}, geometry=geoms,
                            crs="EPSG:4326")


def _ha(i: int, frac: float = 1.0) -> float:
    """Geodesic area (ha) of parcel i, or of its western ``frac`` share."""
    x = X0 + i * D
    lons = [x, x + frac * D, x + frac * D, x]
    lats = [Y0, Y0, Y0 + D, Y0 + D]
    return abs(GEOD.polygon_area_perimeter(lons, lats)[0]) / 10_000.0


def _by(areas: pd.DataFrame, unit: str) -> dict[tuple[str, str], float]:
    sub = areas[areas["unit_id"] == unit]
    return {(r.land_class, r.space_type): r.area_ha for r in sub.itertuples()}


def test_letter_codes_are_read_as_their_numeric_class() -> None:
    gdf = gpd.GeoDataFrame({"c": ["0101", "05H1", "08H2", "0201K", "1104A", " 0702 "]},
                           geometry=[box(0, 0, 1, 1)] * 6, crs="EPSG:4326")
    assert parcel_codes(gdf, "c").tolist() == [101, 5, 8, 201, 1104, 702]


def test_codes_with_leading_zeros_must_be_land_survey_codes() -> None:
    """A text code with a leading zero is a GB/T 21010 code of 2 or 4 digits: ``0010``
    (read as 10, transport), ``001`` (1, cropland) and ``010A`` (10) are errors naming the
    values and rows, not other classes."""
    from landcarbon.exceptions import InputError

    ok = gpd.GeoDataFrame({"c": ["01", "0101", "0100", "10", "1001", "0", "111"]},
                          geometry=[box(0, 0, 1, 1)] * 7, crs=4326)
    assert parcel_codes(ok, "c").tolist() == [1, 101, 100, 10, 1001, 0, 111]
    bad = gpd.GeoDataFrame({"c": ["0101", "0010", "001", "010A", "00"]},
                           geometry=[box(0, 0, 1, 1)] * 5, crs=4326)
    with pytest.raises(InputError) as err:
        parcel_codes(bad, "c")
    message = str(err.value)
    assert "4 parcel(s)" in message and "rows 2, 3, 4, 5" in message
    for value in ("'0010'", "'001'", "'010A'", "'00'"):
        assert value in message
    assert err.value.code == "parcel_values_invalid"


def test_aggregate_by_attribute_with_geodesic_areas() -> None:
    legend = lc.load_legend("gbt21010")
    areas = class_areas_from_parcels(_parcels(), legend, "dlbm", unit_field="town")
    assert _by(areas, "A") == pytest.approx({("cropland", "agricultural"): _ha(0),
                                             ("forest", "ecological"): _ha(1)}, rel=1e-8)
    # (1e-8: parcels under 2 km get the local area element, whose edges are straight in
    # lon/lat; the reference reads them as geodesics: 1.2e-9 apart on these 1 km squares)
    assert _by(areas, "B") == pytest.approx({("construction", "construction"): _ha(2),
                                             ("rural_settlement", "construction"): _ha(3)},
                                            rel=1e-8)
    # a 0.01 degree square at 34.75 N is about 1.11 km x 0.914 km = ~101 ha, not 1e-4 "deg2"
    assert 100.0 < _ha(0) < 103.0


def test_rural_settlement_switch_moves_villages_to_agricultural_space() -> None:
    legend = lc.load_legend("gbt21010", rural_settlement="agricultural")
    areas = class_areas_from_parcels(_parcels(), legend, "dlbm", unit_field="town")
    assert _by(areas, "B")[("rural_settlement", "agricultural")] == pytest.approx(_ha(3))


def test_aggregate_to_unit_polygons_splits_parcels_and_conserves_area() -> None:
    # west unit covers parcel 0 and the western 30 % of parcel 1; east unit the rest
    cut = X0 + 1.3 * D
    units = gpd.GeoDataFrame({"unit_id": ["W", "E"]},
                             geometry=[box(X0, Y0, cut, Y0 + D), box(cut, Y0, X0 + 4 * D, Y0 + D)],
                             crs="EPSG:4326")
    # another CRS on purpose, reprojected with its edges kept on the meridians (a polygon's
    # edges are straight in its own CRS: corner-by-corner reprojection would bend them)
    units = to_crs_densified(units, "EPSG:32649")
    areas = class_areas_from_parcels(_parcels(), lc.load_legend("gbt21010"), "dlbm",
                                        units=units)
    west = _by(areas, "W")
    assert west[("forest", "ecological")] == pytest.approx(_ha(1, 0.3), rel=1e-6)
    assert areas["area_ha"].sum() == pytest.approx(sum(_ha(i) for i in range(4)), rel=1e-6)


def test_unknown_codes_are_listed_with_counts() -> None:
    gdf = _parcels()
    gdf.loc[[0, 1], "dlbm"] = "9999"
    with pytest.raises(lc.UnmappedCodesError, match=r"9999 \(2 parcels, rows 1, 2\)") as info:
        class_areas_from_parcels(gdf, lc.load_legend("gbt21010"), "dlbm", unit_field="town")
    assert info.value.counts == {9999: 2}


def test_missing_code_field_names_the_fields() -> None:
    with pytest.raises(lc.InputError, match=r"no field 'DLBM'.*dlbm, town"):
        class_areas_from_parcels(_parcels(), lc.load_legend("gbt21010"), "DLBM")


def test_parcel_mode_run_from_config(tmp_path: Path) -> None:
    _parcels().to_file(tmp_path / "parcels.gpkg", layer="dltb")
    (tmp_path / "run.toml").write_text("""
[parcels]
path = "parcels.gpkg"
layer = "dltb"
code_field = "dlbm"
legend = "gbt21010"
unit_field = "town"

[construction]
method = "intensity"
intensity_tc_per_ha = 10.0

[thresholds]
agricultural = 0.422
construction = 8.0
ecological = 0.0

[output]
map_tiles = ""
""", encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["run", str(tmp_path / "run.toml"), "-o", str(out)])
    assert result.exit_code == 0, result.output
    units = pd.read_csv(out / "units.csv", dtype={"unit_id": str}).set_index("unit_id")
    # unit B: construction 10 t C/ha on both construction parcels, no sink
    expected_b = 10.0 * (_ha(2) + _ha(3))
    assert units.loc["B", "emission_tc"] == pytest.approx(expected_b, rel=1e-6)
    assert units.loc["B", "space_type"] == "construction"
    # unit A: cropland +0.422 t C/ha, forest -0.644 t C/ha
    assert units.loc["A", "net_tc"] == pytest.approx(0.422 * _ha(0) - 0.644 * _ha(1), rel=1e-6)
    assert not (out / "net_flux.tif").exists()  # parcel mode has no rasters


def test_validate_names_parcels_that_no_unit_overlaps(tmp_path: Path) -> None:
    """With [units] covering parcels 0-2, parcel 3 (row 4) lies outside every unit: its land
    is in no unit nor in the totals. A warning names its row (it was dropped silently)."""
    from landcarbon.pipeline.validate import validate_config

    _parcels().to_file(tmp_path / "parcels.gpkg", layer="dltb")
    gpd.GeoDataFrame({"code": ["A", "B"]}, geometry=[
        box(X0, Y0, X0 + 2 * D, Y0 + D), box(X0 + 2 * D, Y0, X0 + 3 * D, Y0 + D)],
        crs="EPSG:4326").to_file(tmp_path / "units.gpkg", layer="units")
    (tmp_path / "run.toml").write_text(
        '[parcels]\npath = "parcels.gpkg"\nlayer = "dltb"\ncode_field = "dlbm"\n'
        '[units]\npath = "units.gpkg"\nid_field = "code"\n'
        '[thresholds]\npreset = "zhengzhou_example"\n', encoding="utf-8")
    report = validate_config(tmp_path / "run.toml")
    (p,) = [p for p in report.problems if p.code == "polygons_outside_units"]
    assert p.severity == "warning" and "1 parcel(s) overlap no unit (rows 4)" in p.message
    assert report.ok
