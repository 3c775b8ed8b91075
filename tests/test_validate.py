"""Pre-flight report: every problem at once, as structured records, with counts and places."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from click.testing import CliRunner
from conftest import GRID4, GRID4_RUN_CONFIG, shared, write_tif
from shapely.geometry import Polygon, box

from landcarbon.cli import main
from landcarbon.pipeline.validate import validate_config

#: the GRID4 run config, with the units in units.gpkg (one layer)
CONFIG = "\n" + GRID4_RUN_CONFIG.replace('path = "halves.gpkg"\nlayer = "units"\n',
                                         'path = "units.gpkg"\n')
W = box(500000, 3849960, 500015, 3850000)
E = box(500015, 3849960, 500040, 3850000)
K = 0.9996  # UTM scale factor on the central meridian (x = 500000): geodesic = planar / K^2


def _project(d: Path, geoms: list[object] | None = None, ids: list[object] | None = None,
             crs: str = "EPSG:32649", config: str = CONFIG, raster: np.ndarray = GRID4,
             nodata: float | None = 0) -> Path:
    write_tif(d / "grid4.tif", raster, nodata=nodata)
    geoms = geoms if geoms is not None else [W, E]
    ids = ids if ids is not None else [f"U{i}" for i in range(len(geoms))]
    gdf = gpd.GeoDataFrame({"code": ids, "name": [f"n{i}" for i in range(len(geoms))]},
                           geometry=geoms, crs="EPSG:32649")
    gdf.to_crs(crs).to_file(d / "units.gpkg")
    (d / "run.toml").write_text(config, encoding="utf-8")
    return d / "run.toml"


def _by_code(report: object) -> dict[str, object]:
    return {p.code: p for p in report.problems}  # type: ignore[attr-defined]


def test_clean_project_has_no_problem_and_reconciles_areas(tmp_path: Path) -> None:
    report = validate_config(_project(tmp_path))
    codes = [p.code for p in report.problems]
    assert report.ok and "crs_mismatch" not in codes
    s = report.summary
    assert s["units"] == 2 and s["covered_ha"] == pytest.approx(0.15, abs=1e-9)
    assert s["unit_area_ha"] == pytest.approx(0.16 / K**2, rel=1e-4)
    # the nodata pixel (row 3, col 1) is split by the W/E border: 0.005 ha missing in each
    gap = _by_code(report)["area_mismatch"]
    assert gap.severity == "warning"
    units = gap.details["units"]
    assert units["U0"]["covered_ha"] == pytest.approx(0.055)
    assert units["U1"]["covered_ha"] == pytest.approx(0.095)


def test_overlapping_units_report_pairs_and_area(tmp_path: Path) -> None:
    wide_w = box(500000, 3849960, 500020, 3850000)  # 5 m x 40 m over E
    touching = box(500040, 3849960, 500050, 3850000)  # shares a border only: no overlap
    report = validate_config(_project(tmp_path, [wide_w, E, touching]))
    p = _by_code(report)["units_overlap"]
    assert p.severity == "error" and not report.ok
    assert [(r["unit_a"], r["unit_b"]) for r in p.details["pairs"]] == [("U0", "U1")]
    assert p.details["total_overlap_ha"] == pytest.approx(0.02 / K**2, rel=1e-4)
    assert p.details["pairs"][0]["share_of_smaller"] == pytest.approx(0.25, rel=1e-3)


def test_units_outside_and_partly_outside(tmp_path: Path) -> None:
    half = box(500030, 3849960, 500050, 3850000)
    far = box(0, 0, 10, 10)
    report = validate_config(_project(tmp_path, [W, half, far]))
    by = _by_code(report)
    assert by["unit_outside_raster"].severity == "error"
    assert by["unit_outside_raster"].details["unit_ids"] == ["U2"]
    part = by["unit_partly_outside"]
    assert part.severity == "warning"
    assert part.details["uncovered_share"] == {"U1": pytest.approx(0.5, abs=1e-3)}


def test_invalid_empty_and_sliver_geometries(tmp_path: Path) -> None:
    bowtie = Polygon([(500000, 3849960), (500040, 3850000), (500040, 3849960),
                      (500000, 3850000)])
    sliver = box(500000, 3849960, 500000.1, 3850000)
    report = validate_config(_project(tmp_path, [bowtie, sliver, None]))
    by = _by_code(report)
    inv = by["geometry_invalid"]
    assert inv.severity == "warning" and inv.details["unit_ids"] == ["U0"]
    assert "Self-intersection" in inv.details["reasons"][0]
    assert inv.details["repair"] == "shapely.make_valid"
    assert inv.details["area_after_ha"][0] == pytest.approx(0.08 / K**2, rel=1e-3)  # 2 x 400 m2
    assert by["geometry_sliver"].details["unit_ids"] == ["U1"]
    assert by["geometry_empty"].severity == "error"
    assert by["geometry_empty"].details["unit_ids"] == ["U2"]


def test_duplicate_and_missing_ids(tmp_path: Path) -> None:
    geoms = [W, E, box(500000, 3849960, 500001, 3849961), box(500001, 3849960, 500002,
                                                                3849961)]
    report = validate_config(_project(tmp_path, geoms, ids=["A", "A", None, "B"]))
    by = _by_code(report)
    assert by["unit_id_duplicate"].details["duplicates"] == {"A": 2}
    assert by["unit_id_missing"].details["rows"] == [3]
    assert not report.ok


@pytest.mark.parametrize("crs, mismatch", [
    ("+proj=utm +zone=49 +datum=WGS84 +units=m +no_defs", False),  # EPSG:32649 spelt out
    ("EPSG:4326", True),
])
def test_equivalent_crs_is_not_a_problem(tmp_path: Path, crs: str, mismatch: bool) -> None:
    report = validate_config(_project(tmp_path, crs=crs))
    assert ("crs_mismatch" in _by_code(report)) is mismatch
    assert report.ok  # a mismatch is only a warning: units are reprojected


def test_nodata_missing_and_nodata_is_a_class(tmp_path: Path) -> None:
    report = validate_config(_project(tmp_path, nodata=None))
    assert _by_code(report)["nodata_missing"].severity == "warning"
    (tmp_path / "b").mkdir()
    report = validate_config(_project(tmp_path / "b", nodata=10))
    p = _by_code(report)["nodata_is_class"]
    assert p.severity == "error" and "Tree cover" in p.message and p.details["nodata"] == 10


def test_unmapped_codes_with_pixel_counts(tmp_path: Path) -> None:
    raster = np.where(GRID4 == 30, 77, GRID4).astype(np.uint8)
    raster[0, 0] = 200
    report = validate_config(_project(tmp_path, raster=raster))
    p = _by_code(report)["unmapped_codes"]
    assert p.details["pixels"] == {"77": 2, "200": 1}
    assert "77 (2 px)" in p.message and "200 (1 px)" in p.message


def test_all_nodata_raster(tmp_path: Path) -> None:
    report = validate_config(_project(tmp_path, raster=np.zeros((4, 4), np.uint8)))
    assert _by_code(report)["no_data_pixels"].severity == "error"


@pytest.mark.parametrize("table, code, severity", [
    ("unit_id,raw_coal_t\nU0,10\n", "energy_rows_missing", "error"),
    ("unit_id,raw_coal_t\n", "energy_rows_missing", "error"),
    ("unit_id,raw_coal_t\nU0,10\nU1,1\nZZ,2\n", "statistics_unknown_ids", "error"),
    ("unit_id,raw_coal_t\nU0,abc\nU1,\n", "statistics_invalid", "error"),
    ("unit_id,raw_coal_t\nU0,1\nU0,1\n", "statistics_invalid", "error"),
])
def test_statistics_problems(tmp_path: Path, table: str, code: str, severity: str) -> None:
    config = CONFIG.replace('method = "intensity"\nintensity_tc_per_ha = 50.0',
                            'method = "energy"\nenergy_table = "energy.csv"')
    path = _project(tmp_path, config=config)
    (tmp_path / "energy.csv").write_text(table, encoding="utf-8")
    p = _by_code(validate_config(path))[code]
    assert p.severity == severity and "energy_table" in p.where


def test_coefficient_unit_not_recognised(tmp_path: Path) -> None:
    config = CONFIG + '[coefficients]\nset = "coef.csv"\n'
    path = _project(tmp_path, config=config)
    (tmp_path / "coef.csv").write_text("land_class,value,unit,source\nforest,-0.5,t C/acre/yr,x\n",
                                       encoding="utf-8")
    p = _by_code(validate_config(path))["coefficients_invalid"]
    assert "'t C/acre/yr' is not recognised" in p.message


def test_cli_json_lists_every_problem_at_once(tmp_path: Path) -> None:
    config = (CONFIG.replace('id_field = "code"', 'id_field = "kode"')
              .replace('legend = "esa_worldcover"', 'legend = "clcd"')
              .replace('method = "intensity"\nintensity_tc_per_ha = 50.0',
                       'method = "energy"\nenergy_table = "missing.csv"'))
    path = _project(tmp_path, [box(500000, 3849960, 500020, 3850000), E], config=config)
    result = CliRunner().invoke(main, ["validate", str(path), "--json"])
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    codes = {p["code"] for p in doc["problems"]}
    assert {"field_missing", "unmapped_codes", "file_missing", "units_overlap"} <= codes
    # listed in the order of the checks: the units' overlaps (checked beside the land cover)
    # before the land cover's codes
    order = [p["code"] for p in doc["problems"]]
    assert order.index("units_overlap") < order.index("unmapped_codes")
    assert doc["ok"] is False and doc["errors"] == sum(
        p["severity"] == "error" for p in doc["problems"])
    for p in doc["problems"]:
        assert set(p) == {"code", "severity", "where", "message", "fix", "details"}
    text = CliRunner().invoke(main, ["validate", str(path)])
    assert text.exit_code == 1 and "error(s)" in text.output and "Traceback" not in text.output


def test_cli_json_config_errors(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(CONFIG.replace("legend =", "legnd ="), encoding="utf-8")
    result = CliRunner().invoke(main, ["validate", str(path), "--json"])
    assert result.exit_code == 1
    problem, *others = json.loads(result.stdout)["problems"]
    assert problem["code"] == "config_invalid" and "did you mean 'legend'" in problem["message"]
    # the inputs this config names are not beside it: listed too, in the same report
    assert others and {p["code"] for p in others} == {"file_missing"}


def test_cli_warnings_do_not_fail(tmp_path: Path) -> None:
    path = _project(tmp_path, nodata=None)
    result = CliRunner().invoke(main, ["validate", str(path), "--no-scan"])
    assert result.exit_code == 0, result.output
    assert "0 error(s), 1 warning(s)" in result.output


def test_validate_writes_nothing(tmp_path: Path) -> None:
    path = _project(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    validate_config(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == before


@pytest.mark.realdata
def test_realdata_unnamed_utm_crs_equals_its_proj_string(tmp_path: Path) -> None:
    tif = shared("nlcd_zion", "nlcd2011.tif")
    with rasterio.open(tif) as src:
        b = src.bounds
    cx, cy = (b.left + b.right) / 2, (b.bottom + b.top) / 2
    units = gpd.GeoDataFrame({"code": ["a", "b"]}, geometry=[
        box(cx - 3000, cy - 3000, cx, cy), box(cx, cy - 3000, cx + 3000, cy)],
        crs="+proj=utm +zone=12 +ellps=GRS80 +towgs84=0,0,0,0,0,0,0 +units=m +no_defs")
    units.to_file(tmp_path / "u.gpkg")
    (tmp_path / "c.toml").write_text(
        f'[landcover]\npath = "{tif}"\nlegend = "nlcd"\n[units]\npath = "u.gpkg"\n'
        'id_field = "code"\n[thresholds]\npreset = "zhengzhou_example"\n', encoding="utf-8")
    report = validate_config(tmp_path / "c.toml")
    codes = {p.code for p in report.problems}
    assert "crs_mismatch" not in codes and "unmapped_codes" not in codes, report.problems
    assert report.summary["covered_ha"] == pytest.approx(report.summary["unit_area_ha"],
                                                         rel=0.02)


@pytest.mark.realdata
def test_realdata_float_nan_without_nodata(tmp_path: Path) -> None:
    tif = shared("newguinea_300m", "landcover2001s.tif")
    (tmp_path / "c.toml").write_text(
        f'[landcover]\npath = "{tif}"\nlegend = "esa_worldcover"\n[units]\npath = "u.gpkg"\n'
        '[thresholds]\npreset = "zhengzhou_example"\n', encoding="utf-8")
    with rasterio.open(tif) as src:
        gpd.GeoDataFrame(geometry=[box(*src.bounds)], crs=src.crs).to_file(tmp_path / "u.gpkg")
    by = _by_code(validate_config(tmp_path / "c.toml"))
    assert "NaN pixels are treated as nodata" in by["nodata_missing"].message
    assert by["unmapped_codes"].details["pixels"]  # motif classes 1..7 are not ESA codes


@pytest.mark.realdata
def test_realdata_two_years_on_different_grids(tmp_path: Path) -> None:
    a = shared("corine_lausanne", "ls100_06.tif")
    b = shared("corine_lausanne", "ls100_12.tif")
    (tmp_path / "c.toml").write_text(
        f'[landcover]\npath = ["{a}", "{b}"]\nlegend = "corine"\n[units]\npath = "u.gpkg"\n'
        '[thresholds]\npreset = "zhengzhou_example"\n', encoding="utf-8")
    gpd.read_file(shared("corine_lausanne", "gmb-lausanne.gpkg")).to_file(tmp_path / "u.gpkg")
    p = _by_code(validate_config(tmp_path / "c.toml"))["file_unreadable"]
    assert "pixel size" in p.message and "differs" in p.message


@pytest.mark.realdata
@pytest.mark.parametrize("resample, severity", [("error", "error"), ("nearest", "warning")])
def test_realdata_dates_on_different_grids(tmp_path: Path, resample: str, severity: str) -> None:
    a = shared("corine_lausanne", "ls100_06.tif")
    b = shared("corine_lausanne", "ls100_12.tif")
    gpd.read_file(shared("corine_lausanne", "gmb-lausanne.gpkg")).to_file(tmp_path / "u.gpkg")
    (tmp_path / "c.toml").write_text(
        f'[landcover]\npath = "{a}"\nlegend = "corine"\n[units]\npath = "u.gpkg"\n'
        '[thresholds]\npreset = "zhengzhou_example"\n'
        f'[change]\nresample = "{resample}"\n'
        f'[[change.dates]]\nyear = 2006\nlandcover = "{a}"\n'
        f'[[change.dates]]\nyear = 2012\nlandcover = "{b}"\n', encoding="utf-8")
    report = validate_config(tmp_path / "c.toml", scan_raster=False)
    p = _by_code(report)["grid_mismatch"]
    assert p.severity == severity and p.details["dates"] == ["2006", "2012"]
    assert "not on the same grid" in p.message and "pixel 100.005" in p.message


def test_statistics_table_problems(tmp_path: Path) -> None:
    config = CONFIG + '[statistics]\npath = "stats.csv"\n'
    path = _project(tmp_path, config=config)
    (tmp_path / "stats.csv").write_text(
        "unit_id,gdp_10k_cny,population\nU0,\"1,200\",-5\nU0,3,\nZZ,1,1\n", encoding="utf-8")
    problems = [p for p in validate_config(path).problems if p.code.startswith("statistics")]
    by = {(p.code, p.where.rsplit(": ", 1)[-1]): p for p in problems}
    gdp = by[("statistics_invalid", "column 'gdp_10k_cny'")]
    assert gdp.severity == "error" and gdp.details["values"] == {"U0": "1,200"}
    pop = by[("statistics_invalid", "column 'population'")]
    assert pop.severity == "error"
    assert "1 non-numeric, infinite, zero or negative and 1 empty" in pop.message
    assert by[("statistics_invalid", "unit_id")].details["duplicates"] == {"U0": 2}
    assert by[("statistics_unknown_ids", "unit_id")].details["unit_ids"] == ["ZZ"]
    assert by[("statistics_missing", "unit_id")].details["unit_ids"] == ["U1"]
    missing_col = CONFIG + '[statistics]\npath = "stats.csv"\ngdp_column = "gdp"\n'
    path.write_text(missing_col, encoding="utf-8")
    p = _by_code(validate_config(path))["field_missing"]
    assert "'gdp'" in p.message and "gdp_10k_cny" in p.fix


def test_parcel_mode_codes(tmp_path: Path) -> None:
    gpd.GeoDataFrame({"dlbm": ["0101", "9999", "9999", "0301"], "town": list("aabb")},
                     geometry=[box(i, 0, i + 1, 1) for i in range(4)],
                     crs="EPSG:32649").to_file(tmp_path / "parcels.gpkg")
    path = tmp_path / "c.toml"
    path.write_text('[parcels]\npath = "parcels.gpkg"\ncode_field = "dlbm"\nunit_field = "town"\n'
                    '[thresholds]\npreset = "zhengzhou_example"\n', encoding="utf-8")
    p = _by_code(validate_config(path))["unmapped_codes"]
    assert p.details["parcels"] == {"9999": 2} and "gbt21010" in p.message
    path.write_text(path.read_text().replace('code_field = "dlbm"', 'code_field = "DLBM_X"'))
    p = _by_code(validate_config(path))["field_missing"]
    assert "no field 'DLBM_X'" in p.message
    # field names are matched ignoring case (dlbm = DLBM)
    path.write_text(path.read_text().replace('code_field = "DLBM_X"', 'code_field = "DLBM"'))
    assert "field_missing" not in _by_code(validate_config(path))


def test_codes_outside_the_units_extent_do_not_matter(tmp_path: Path) -> None:
    """Like a run, the code scan covers the units' extent only."""
    raster = np.full((400, 400), 10, np.uint8)
    raster[300:, 300:] = 77  # unmapped, far from the units
    path = _project(tmp_path, raster=raster)
    assert "unmapped_codes" not in _by_code(validate_config(path))
    (tmp_path / "b").mkdir()
    path = _project(tmp_path / "b", [box(500000, 3846000, 504000, 3850000)], raster=raster)
    assert _by_code(validate_config(path))["unmapped_codes"].details["pixels"] == {
        "77": 10000}


def test_dates_covering_units_differently(tmp_path: Path) -> None:
    """A resampled later date covering x >= 500020 only: unit W (x 0-15) has no land at that
    date, unit E (x 15-40) loses 5 of its 25 m; an error naming both with their shares, which
    also stops `landcarbon change` before its pass."""
    from _battery import make_project
    from test_validate_codes import _date_half_covered

    make_project(tmp_path)
    _date_half_covered(tmp_path)
    p = _by_code(validate_config(tmp_path / "run.toml", scan_raster=False))[
        "date_coverage_differs"]
    assert p.severity == "error" and p.where.endswith("unit(s) W, E")
    shares = p.details["uncovered_share"]
    assert shares["2015"] == {"W": 0.0, "E": 0.0}
    assert shares["2023"]["W"] == 1.0 and shares["2023"]["E"] == pytest.approx(0.2, abs=1e-6)
    proc = subprocess.run([sys.executable, "-m", "landcarbon.cli", "change", "run.toml",
                           "-o", "out"], cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 1 and "do not cover 2 unit(s) alike" in proc.stderr
    assert not (tmp_path / "out").exists()


def test_coordinates_impossible_in_a_projected_or_local_crs(tmp_path: Path) -> None:
    """Gauss-Krueger eastings with their zone number (38...) labelled as the CRS without it
    (EPSG:4547), units in a local engineering CRS, and a raster in one: each a `crs_wrong`
    error naming the file (they crashed in GEOS or PROJ, or gave units no land at all)."""
    from _battery import HALVES, make_project, units
    from shapely import affinity

    from landcarbon.checks.units import crs_problems

    make_project(tmp_path)
    zoned = [affinity.translate(g, 38_000_000 - 500_000 + 114_000, 0) for g in HALVES]
    gdf = gpd.GeoDataFrame({"unit_id": ["W", "E"]}, geometry=zoned, crs="EPSG:4547")
    (p,) = crs_problems(gdf, "u.gpkg")
    assert p.code == "crs_wrong" and "not on the Earth" in p.message and "4513-4533" in p.fix
    assert crs_problems(gdf.set_crs("EPSG:4526", allow_override=True)) == []  # its real CRS
    assert crs_problems(gpd.GeoDataFrame(geometry=HALVES, crs="EPSG:32649")) == []
    local = 'LOCAL_CS["arbitrary",UNIT["metre",1]]'
    units(tmp_path / "halves.gpkg", crs=local)
    p = _by_code(validate_config(tmp_path / "run.toml", scan_raster=False))["crs_wrong"]
    assert "local (engineering) CRS" in p.message and p.where.startswith("[units]")
    units(tmp_path / "halves.gpkg")
    write_tif(tmp_path / "grid4.tif", GRID4, crs=local)
    p = _by_code(validate_config(tmp_path / "run.toml", scan_raster=False))["crs_wrong"]
    assert "local (engineering) CRS" in p.message and p.where.startswith("[landcover]")


def test_units_that_no_parcel_reaches(tmp_path: Path) -> None:
    """Parcel mode with a units file: unit E overlaps no parcel; an error naming it, which
    stops `landcarbon run` before anything is written (it gave E no land, at exit 0)."""
    from _battery import make_project
    from test_validate_codes import _units_without_parcels

    make_project(tmp_path)
    _units_without_parcels(tmp_path)
    p = _by_code(validate_config(tmp_path / "run.toml"))["unit_without_parcels"]
    assert p.severity == "error" and p.details["unit_ids"] == ["E"]
    assert "1 of 2 unit(s) overlap no parcel" in p.message
    proc = subprocess.run([sys.executable, "-m", "landcarbon.cli", "run", "run.toml",
                           "-o", "out"], cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 1 and "overlap no parcel" in proc.stderr
    assert not (tmp_path / "out").exists()


def test_statistics_row_without_unit_id(tmp_path: Path) -> None:
    """A statistics row with an empty unit id: an error naming its line (it crashed validate
    and every command with a TypeError); the other rows are still checked."""
    config = CONFIG + '[statistics]\npath = "stats.csv"\n'
    path = _project(tmp_path, config=config)
    (tmp_path / "stats.csv").write_text(
        "unit_id,gdp_10k_cny,population\nU0,5,2\n,3,1\nU1,x,1\n", encoding="utf-8")
    problems = [p for p in validate_config(path).problems if p.code == "statistics_invalid"]
    by = {p.where.rsplit(": ", 1)[-1]: p for p in problems}
    assert by["unit_id"].details["lines"] == [3] and "1 row(s) have no unit id" in (
        by["unit_id"].message)
    gdp = by["column 'gdp_10k_cny'"]
    assert gdp.details["values"] == {"U1": "x"} and gdp.details["rows"] == [4]


def test_knn_hot_spots_need_fewer_neighbours_than_units(tmp_path: Path) -> None:
    """k nearest neighbours with every other unit a neighbour gave every unit z = -inf and
    'not significant', at exit 0: an error naming k and the number of units."""
    from _battery import make_project

    make_project(tmp_path)
    with (tmp_path / "run.toml").open("a", encoding="utf-8") as f:
        f.write('[hotspots]\nweights = "knn"\nk = 1\n')
    p = _by_code(validate_config(tmp_path / "run.toml", scan_raster=False))["config_invalid"]
    assert p.where == "[hotspots] k" and p.details == {"k": 1, "units": 2}
    assert "k at most 1" in p.fix


def test_scenario_raster_and_masks_that_miss_the_units(tmp_path: Path) -> None:
    """A scenario raster covering x >= 500020 only (unit W had no land in the scenario: its
    land counted as removed) and a protection drawn in metres but labelled EPSG:4326 (it
    protected nothing): both errors, and `landcarbon scenario` stops before its pass."""
    from _battery import CHANGE, config, make_project, raster
    from rasterio.transform import from_origin

    make_project(tmp_path)
    raster(tmp_path, GRID4, name="later.tif")
    raster(tmp_path, GRID4, name="plan.tif", transform=from_origin(500020, 3850000, 10, 10))
    gpd.GeoDataFrame(geometry=[box(500000, 3849960, 500040, 3850000)],
                     crs="EPSG:4326").to_file(tmp_path / "mislabelled.gpkg")
    config(tmp_path, extra=CHANGE.replace("LATER", "later.tif").replace(
        "[change]", '[change]\nresample = "nearest"')
        + '[[change.scenarios]]\nname = "plan"\nlandcover = "plan.tif"\n'
        + 'protected = "mislabelled.gpkg"\n')
    report = validate_config(tmp_path / "run.toml", scan_raster=False)
    cover = _by_code(report)["date_coverage_differs"]
    assert cover.details["uncovered_share"]["scenario plan"]["W"] == 1.0
    assert cover.details["uncovered_share"]["baseline 2023"]["W"] == 0.0
    wrong = _by_code(report)["crs_wrong"]
    assert "mislabelled.gpkg" in wrong.where and "not degrees" in wrong.message
    proc = subprocess.run([sys.executable, "-m", "landcarbon.cli", "scenario", "run.toml",
                           "-o", "out"], cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 1 and "the inputs have 2 error(s)" in proc.stderr
    assert not (tmp_path / "out").exists()


def test_hot_spot_grid_too_fine_for_the_area(tmp_path: Path) -> None:
    """A hot-spot grid of more than 2 million cells is a validate error (it passed, then
    `landcarbon zone` failed after its run)."""
    from _battery import make_project

    make_project(tmp_path)
    with (tmp_path / "run.toml").open("a", encoding="utf-8") as f:
        f.write('[hotspots]\non = "grid"\ncell_size_m = 0.02\n')
    p = _by_code(validate_config(tmp_path / "run.toml", scan_raster=False))["config_invalid"]
    # 40 m x 40 m of units: 2,000 x 2,000 cells
    assert p.where == "[hotspots] cell_size_m" and "4,000,000 cells" in p.message


def test_scenario_raster_codes_are_scanned(tmp_path: Path) -> None:
    """validate's pixel scan covers the scenario rasters: a code the legend lacks is an
    error naming the scenario (it passed validate, then `scenario` failed after its pass
    with a message naming no file)."""
    from _battery import CHANGE, config, make_project, raster

    make_project(tmp_path)
    raster(tmp_path, GRID4, name="later.tif")
    odd = GRID4.copy()
    odd[1, 1] = 77
    raster(tmp_path, odd, name="plan.tif")
    config(tmp_path, extra=CHANGE.replace("LATER", "later.tif")
           + '[[change.scenarios]]\nname = "plan"\nlandcover = "plan.tif"\n')
    p = _by_code(validate_config(tmp_path / "run.toml"))["unmapped_codes"]
    assert p.where.startswith("[[change.scenarios]] plan: plan.tif")
    assert "scenario plan holds 1 class code(s)" in p.message and "77 (1 px)" in p.message
    assert "unmapped_codes" not in _by_code(validate_config(tmp_path / "run.toml",
                                                            scan_raster=False))


def test_numeric_parcel_codes_are_a_validate_warning(tmp_path: Path) -> None:
    """Codes saved as numbers (0101 -> 101): a warning in validate's report (it was only a
    log line, and validate --json counted no warning), once."""
    from _battery import HALVES, make_project
    from test_battery_files import _parcels

    make_project(tmp_path)
    _parcels(HALVES, [101, 301])(tmp_path)
    report = validate_config(tmp_path / "run.toml")
    (p,) = [p for p in report.problems if p.code == "parcel_values_invalid"]
    assert p.severity == "warning" and "leading zeros" in p.message and not report.errors


def test_scenario_raster_with_nodata_where_the_baseline_has_land(tmp_path: Path) -> None:
    """A scenario raster on the baseline's grid with nodata over one pixel of unit W (inside
    its footprint, so no header check sees it): `landcarbon scenario` refuses it after its
    pass, naming the unit and the area (the pixel's land was counted as removed, at exit 0)."""
    from _battery import CHANGE, config, make_project, raster

    make_project(tmp_path)
    raster(tmp_path, GRID4, name="later.tif")
    hole = GRID4.copy()
    hole[0, 0] = 0  # nodata where the baseline has tree cover (a whole pixel of unit W)
    raster(tmp_path, hole, name="plan.tif")
    config(tmp_path, extra=CHANGE.replace("LATER", "later.tif")
           + '[[change.scenarios]]\nname = "plan"\nlandcover = "plan.tif"\n')
    proc = subprocess.run([sys.executable, "-m", "landcarbon.cli", "scenario", "run.toml",
                           "-o", "out"], cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 1, proc.stderr
    assert "scenario plan covers 1 unit(s) differently" in proc.stderr
    assert "W (-0.0100 ha)" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()
    raster(tmp_path, GRID4, name="plan.tif")  # the same land: runs
    proc = subprocess.run([sys.executable, "-m", "landcarbon.cli", "scenario", "run.toml",
                           "-o", "out"], cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
