"""Every problem code ``landcarbon validate`` can report comes from a real bad input, and the
codes come from the raise sites (``exc.code``), never from matching message text.

Each case breaks the battery's tiny project (``_battery.py``: grid4.tif, halves.gpkg,
run.toml), many with the breakers of the subprocess battery, and runs
:func:`~landcarbon.pipeline.validate.validate_config` on it (in process: the battery
already runs these inputs through the real commands).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import test_battery_config as bc
import test_battery_files as bf
import test_battery_tables as bt
from _battery import CHANGE, HALVES, config, energy, make_project, raster, units
from conftest import GRID4
from rasterio.transform import from_origin
from shapely.geometry import LineString, Polygon, box

import landcarbon
from landcarbon.checks import problems as problems_module
from landcarbon.pipeline.validate import validate_config

PACKAGE = Path(landcarbon.__file__).parent
OUTPUT = "[output]"
Breaker = Callable[[Path], object]


def _section(text: str) -> Breaker:
    return lambda d: config(d, (OUTPUT, text + "\n" + OUTPUT))


def _units_gdf(**kwargs: object) -> Breaker:
    return lambda d: units(d / "halves.gpkg", **kwargs)  # type: ignore[arg-type]


def _other_crs(d: Path) -> None:
    path = units(d / "halves.gpkg")
    gpd.read_file(path).to_crs("EPSG:3857").to_file(path, layer="units")


def _empty_layer(d: Path) -> None:
    (d / "halves.gpkg").unlink()
    gpd.GeoDataFrame({"code": [], "name": []}, geometry=[], crs="EPSG:32649").to_file(
        d / "halves.gpkg", layer="units")


def _gbk_shapefile(d: Path) -> None:
    """The units as a shapefile of GBK text without a .cpg (a Chinese Windows export)."""
    units(d / "towns.shp", ids=["西", "东"])
    (d / "towns.cpg").unlink(missing_ok=True)
    gdf = gpd.read_file(d / "towns.shp", encoding="UTF-8")
    gdf.to_file(d / "towns.shp", encoding="GBK")
    (d / "towns.cpg").unlink(missing_ok=True)
    config(d, ('path = "halves.gpkg"', 'path = "towns.shp"'), ('layer = "units"',
                                                              'layer = "towns"'))


def _later(d: Path) -> None:
    raster(d, GRID4, name="later.tif", transform=from_origin(500010, 3850000, 10, 10))
    config(d, extra=CHANGE.replace("LATER", "later.tif"))


def _date_half_covered(d: Path) -> None:
    # a later date on another grid (resampled), covering only x >= 500020: unit W not at
    # all, unit E 20 of its 25 m
    raster(d, GRID4, name="later.tif", transform=from_origin(500020, 3850000, 10, 10))
    config(d, extra=CHANGE.replace("LATER", "later.tif").replace(
        "[change]", '[change]\nresample = "nearest"'))


def _units_without_parcels(d: Path) -> None:
    # parcels on the west half's 14 m only: unit E (x 15-40) overlaps none
    gpd.GeoDataFrame({"dlbm": ["0101"]}, geometry=[box(500000, 3849960, 500014, 3850000)],
                     crs="EPSG:32649").to_file(d / "parcels.gpkg", layer="parcels")
    (d / "run.toml").write_text(
        '[parcels]\npath = "parcels.gpkg"\ncode_field = "dlbm"\n[units]\npath = "halves.gpkg"\n'
        'layer = "units"\nid_field = "code"\nname_field = "name"\n[thresholds]\n'
        'preset = "zhengzhou_example"\n[output]\nmap = false\nrasters = false\n',
        encoding="utf-8")


def _protected_far_away(d: Path) -> None:
    # protected polygons 100 km from the units: they would protect nothing
    raster(d, GRID4, name="later.tif")
    gpd.GeoDataFrame(geometry=[box(600000, 3950000, 600100, 3950100)],
                     crs="EPSG:32649").to_file(d / "far.gpkg")
    config(d, extra=CHANGE.replace("LATER", "later.tif")
           + '[[change.edits]]\nscenario = "green"\ntype = "reduce_construction"\n'
           'area_ha = 0.01\nprotected = "far.gpkg"\n')


def _planning(zones: dict[object, object]) -> Breaker:
    def breaker(d: Path) -> None:
        gpd.GeoDataFrame({"kind": list(zones)}, geometry=list(zones.values()),
                         crs="EPSG:32649").to_file(d / "plan.gpkg", layer="zones")
        config(d, (OUTPUT, '[planning_zones]\npath = "plan.gpkg"\nlayer = "zones"\n'
                   'field = "kind"\n' + OUTPUT))
    return breaker


def _stats_correction(d: Path) -> None:
    (d / "stats.csv").write_text("unit_id,gdp_10k_cny\nW,5\nE,5\n", encoding="utf-8")
    config(d, (OUTPUT, '[statistics]\npath = "stats.csv"\npopulation_column = ""\n'
               '[compensation]\ncorrection_column = "k"\n' + OUTPUT))


def _remote(url: str) -> Breaker:
    def breaker(d: Path) -> None:
        codes = (np.random.default_rng(0).integers(1, 9, (2000, 2000)) * 10).astype(np.uint8)
        raster(d, codes, name="big.tif")
        config(d, ('path = "grid4.tif"', f'path = "{url}/big.tif"'))
    return breaker


ECO = box(500000, 3849980, 500020, 3850000)
FAR = box(600000, 3849960, 600040, 3850000)
BEYOND = box(500015, 3849960, 500060, 3850000)
SLIVER = box(500000, 3849960, 500000.1, 3850000)
#: code -> (breaker, severity). ``http_no_range`` needs a server: see its own test.
CASES: dict[str, tuple[Breaker, str]] = {
    "config_invalid": (_section("[nonsense]\nx = 1"), "error"),
    "file_missing": (bc.CASES["missing_units"][0], "error"),
    "file_unreadable": (bf.CASES["gpkg_zero_bytes"][0], "error"),
    "raster_damaged": (lambda d: (d / "grid4.tif").write_bytes(b"II*\x00" + b"\x00" * 60),
                       "error"),
    "raster_bands": (bf.CASES["raster_rgb_three_bands"][0], "error"),
    "raster_scaled": (bf.CASES["raster_scale_offset"][0], "error"),
    "raster_geotransform": (bf.CASES["raster_zero_pixel_size"][0], "error"),
    "crs_missing": (bf.CASES["shapefile_without_prj"][0], "error"),
    "crs_wrong": (bf.CASES["raster_metres_labelled_4326"][0], "error"),
    "crs_mismatch": (_other_crs, "warning"),
    "grid_mismatch": (_later, "error"),
    "date_coverage_differs": (_date_half_covered, "error"),
    "unit_without_parcels": (_units_without_parcels, "error"),
    "polygons_outside_units": (_protected_far_away, "error"),
    "change_one_date": (lambda d: config(d, extra='[change]\n[[change.dates]]\nyear = 2015\n'
                                         'landcover = "grid4.tif"\n'), "warning"),
    "nodata_missing": (lambda d: raster(d, GRID4, nodata=None), "warning"),
    "nodata_is_class": (bf.CASES["raster_nodata_is_forest"][0], "error"),
    "nodata_invalid": (bc.CASES["nodata_outside_dtype"][0], "error"),
    "no_data_pixels": (lambda d: raster(d, np.zeros((4, 4), np.uint8)), "error"),
    "unmapped_codes": (lambda d: raster(d, np.where(GRID4 == 40, 99, GRID4).astype(np.uint8)),
                       "error"),
    "parcel_values_invalid": (bf.CASES["parcels_code_n_a"][0], "error"),
    "pool_codes_missing": (bt.CASES["pools_missing_code"][0], "error"),
    "unit_outside_raster": (_units_gdf(geoms=[HALVES[0], FAR]), "error"),
    "unit_partly_outside": (_units_gdf(geoms=[HALVES[0], BEYOND]), "warning"),
    "units_overlap": (bf.CASES["units_overlap"][0], "error"),
    "units_not_polygons": (bf.CASES["units_points"][0], "error"),
    "geometry_invalid": (_units_gdf(geoms=[Polygon(
        [(500000, 3849960), (500015, 3850000), (500015, 3849960), (500000, 3850000)]),
        HALVES[1]]), "warning"),
    "geometry_empty": (bf.CASES["units_empty_geometry"][0], "error"),
    "geometry_sliver": (_units_gdf(geoms=[SLIVER, HALVES[1]]), "warning"),
    "geometry_missing": (bf.CASES["units_csv_without_geometry"][0], "error"),
    "geometry_not_polygon": (_planning({"生态保护红线": ECO, "城镇开发边界": LineString(
        [(500000, 3850000), (500040, 3849960)])}), "error"),
    "layer_missing": (lambda d: config(d, ('layer = "units"', 'layer = "towns"')), "error"),
    "layer_ambiguous": (bf.CASES["gpkg_two_layers_no_layer"][0], "error"),
    "layer_empty": (_empty_layer, "error"),
    "text_encoding_guessed": (_gbk_shapefile, "warning"),
    "unit_id_duplicate": (_units_gdf(ids=["A", "A"]), "error"),
    # a unit id GBK cannot encode, with [output] csv_encoding = "gbk"
    "output_encoding": (lambda d: (units(d / "halves.gpkg", ids=["W", "𠮷野家"]),
                                   config(d, (OUTPUT, '[output]\ncsv_encoding = "gbk"'))),
                        "error"),
    "unit_id_missing": (_units_gdf(ids=[None, "E"]), "error"),
    "unit_id_unknown": (bc.CASES["edit_unknown_unit"][0], "error"),
    "field_missing": (bf.CASES["units_name_field_missing"][0], "error"),
    "statistics_invalid": (bt.CASES["stats_n_a"][0], "error"),
    "energy_rows_missing": (lambda d: energy(d, "unit_id,raw_coal_t\nW,1\n"), "error"),
    "statistics_missing": (lambda d: (bt._stats("5")(d), (d / "stats.csv").write_text(
        "unit_id,gdp_10k_cny,population\nW,5,10\n", encoding="utf-8")), "warning"),
    "statistics_unknown_ids": (lambda d: energy(d, "unit_id,raw_coal_t\nW,1\nE,1\nZZ,1\n"),
                               "error"),
    "coefficients_invalid": (bt.CASES["coef_n_a"][0], "error"),
    "legend_invalid": (bt.CASES["legend_code_text"][0], "error"),
    "land_class_unknown": (bt.CASES["edit_unknown_land_class"][0], "error"),
    "zone_unknown": (_planning({"生态保护红线": ECO, "风景区": box(500020, 3849980, 500040,
                                                               3850000)}), "error"),
    "zone_missing": (_planning({"生态保护红线": ECO, None: box(500020, 3849980, 500040,
                                                             3850000)}), "error"),
    "column_unknown": (_section('[zoning]\ngraded_columns = ["net_tc_per_ha", "nett"]'),
                       "error"),
    "area_mismatch": (lambda d: None, "warning"),  # GRID4's nodata pixel straddles the units
}


def documented_codes() -> list[str]:
    """The codes of the table in :mod:`landcarbon.checks.problems`' docstring."""
    doc = problems_module.__doc__ or ""
    return re.findall(r"^([a-z_]+) {2,}\S", doc, re.M)


def _problems(d: Path) -> dict[str, str]:
    report = validate_config(d / "run.toml")
    return {p.code: p.severity for p in report.problems}


@pytest.mark.parametrize("code", sorted(CASES))
def test_bad_input_gives_its_code(code: str, tmp_path: Path) -> None:
    make_project(tmp_path)
    breaker, severity = CASES[code]
    breaker(tmp_path)
    found = _problems(tmp_path)
    assert found.get(code) == severity, found


@pytest.fixture
def no_range_url(tmp_path: Path) -> Iterator[str]:
    with bf.serve_without_ranges(tmp_path) as url:
        yield url


def test_http_server_without_range_gives_its_code(tmp_path: Path, no_range_url: str) -> None:
    make_project(tmp_path)
    _remote(no_range_url)(tmp_path)
    assert _problems(tmp_path).get("http_no_range") == "error"


def test_every_documented_code_has_a_bad_input() -> None:
    assert sorted(documented_codes()) == sorted([*CASES, "http_no_range"])


def _literal_codes() -> set[str]:
    """Every problem code written in the package: ``Problem("code", ...)``, the default
    codes of the checks' ``checker.step("code", ...)`` and ``code="..."`` at raise sites
    (output errors aside)."""
    found: set[str] = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            checker_step = isinstance(node.func, ast.Attribute) and node.func.attr == "step"
            first = node.args[0] if node.args else None
            if ((getattr(node.func, "id", None) == "Problem" or checker_step)
                    and isinstance(first, ast.Constant)
                    and isinstance(first.value, str)):
                found.add(first.value)
            for kw in node.keywords:
                if (kw.arg == "code" and isinstance(kw.value, ast.Constant)
                        and isinstance(kw.value.value, str)):
                    found.add(kw.value.value)
    return {c for c in found if not c.startswith("output_")}


def test_every_code_in_the_package_is_documented() -> None:
    assert _literal_codes() - set(documented_codes()) == set()


#: The modules that turn errors into problem codes.
CODE_MAPPERS = ("pipeline/validate.py", "pipeline/_validate_change.py",
                "pipeline/_validate_zoning.py", "pipeline/_planning.py", "checks/problems.py")


@pytest.mark.parametrize("module", CODE_MAPPERS)
def test_codes_never_come_from_message_text(module: str) -> None:
    """No ``"..." in str(exc)`` / ``in text`` / ``in message``: codes come from ``exc.code``."""
    tree = ast.parse((PACKAGE / module).read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare) and any(isinstance(op, ast.In | ast.NotIn)
                                                 for op in node.ops):
            for right in node.comparators:
                text = ast.unparse(right)
                assert not re.search(r"\bstr\(|\b(text|message|msg)\b|\.args\b", text), (
                    f"{module}: substring test on a message: {ast.unparse(node)}")


def test_the_comparison_check_catches_substring_matching() -> None:
    node = ast.parse('"no CRS" in str(exc)').body[0].value  # type: ignore[attr-defined]
    assert re.search(r"\bstr\(", ast.unparse(node.comparators[0]))


def test_validate_and_assess_share_the_resolve_step() -> None:
    """validate and assess load legend and coefficients through ``pipeline.resolve`` only."""
    for module in ("pipeline/validate.py", "pipeline/_assess.py"):
        text = (PACKAGE / module).read_text(encoding="utf-8")
        assert "load_legend(" not in text and "load_coefficients(" not in text, module
        assert "resolve.legend(" in text and "resolve.coefficient_set(" in text, module


def test_units_without_ids_beside_an_energy_table(tmp_path: Path) -> None:
    """Units whose id is NULL or empty are one ``unit_id_missing`` error naming their rows;
    the energy table is checked against the ids there are (an empty id is neither known nor
    missing), with no error of the checker itself (it compared text with NaN)."""
    make_project(tmp_path)
    units(tmp_path / "halves.gpkg", ids=[None, ""])
    energy(tmp_path, "unit_id,raw_coal_t\nW,1\n")
    report = validate_config(tmp_path / "run.toml")
    by_code = {p.code: p for p in report.problems}
    assert by_code["unit_id_missing"].severity == "error"
    assert by_code["unit_id_missing"].details["rows"] == [1, 2]
    assert by_code["statistics_unknown_ids"].details["unit_ids"] == ["W"]
    assert "statistics_missing" not in by_code  # no unit with an id lacks a row
    assert not [p for p in report.problems if "unexpected" in p.message]


def test_codes_of_every_change_date_are_checked(tmp_path: Path) -> None:
    """validate (with its scan) lists codes the legend does not map in a date's raster other
    than [landcover] (``landcarbon change`` refused them only after its pass), once."""
    make_project(tmp_path)
    raster(tmp_path, np.where(GRID4 == 40, 77, GRID4).astype(np.uint8), name="later.tif")
    config(tmp_path, extra=CHANGE.replace("LATER", "later.tif"))
    report = validate_config(tmp_path / "run.toml")
    found = [p for p in report.problems if p.code == "unmapped_codes"]
    assert len(found) == 1 and found[0].severity == "error", report.problems
    assert "dates 2023: later.tif" in found[0].where and "77" in found[0].message
    assert "raster of 2023" in found[0].message
    assert validate_config(tmp_path / "run.toml", scan_raster=False).ok  # headers only


def test_config_errors_and_missing_files_listed_together(tmp_path: Path) -> None:
    """A config that does not validate still has its missing input files listed (one
    validate shows both), read from its TOML alone."""
    make_project(tmp_path)
    config(tmp_path, ('path = "halves.gpkg"', 'path = "nothere.gpkg"'),
           ('legend = "esa_worldcover"', 'legnd = "esa_worldcover"'))
    report = validate_config(tmp_path / "run.toml")
    codes = [(p.code, p.where) for p in report.problems]
    assert ("config_invalid", f"{tmp_path / 'run.toml'}: landcover.legnd") in codes, codes
    assert ("file_missing", "[units] path = 'nothere.gpkg'") in codes
    assert not [w for c, w in codes if c == "file_missing" and "grid4" in w]  # it exists
