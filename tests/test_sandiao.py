"""Third-survey (三调) parcels: DLBM / DLMC / TBMJ recognised, CGCS2000 Gauss-Krüger zones and
EPSG:4490, the survey's TBMJ reconciled with landcarbon's ellipsoidal areas.

The layer is synthetic (tests/_sandiao.py): 200 m x 100 m parcels; those of villages A and B
lie on the central meridian of zone 38 (ellipsoidal area 20,000.00 m2 each), those of village
C 40 km west of it (19,999.22 m2 each); TBMJ of row 3 (0301) is 150 m2 too large and of row 6
(0201K) 40 m2 too small.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from _sandiao import CRS, VILLAGES, X0, XC, Y0, dltb, true_tbmj, write_dltb
from _trust import cli, refused
from shapely.geometry import box

import landcarbon as lc
from landcarbon.engine.parcels import (
    parcel_fields,
    parcel_pieces,
    pieces_class_areas,
    survey_reconciliation,
)

A, B, C = (VILLAGES[v][0] for v in "ABC")

CONFIG = """title = "三调 test"
[parcels]
path = "dltb.gpkg"
layer = "DLTB"
unit_field = "ZLDWDM"
{extra}
[construction]
method = "intensity"
intensity_tc_per_ha = 10.0

[thresholds]
agricultural = 0.422
construction = 8.0
ecological = 0.0

[output]
map = false
"""


def _config(d: Path, extra: str = "") -> Path:
    path = d / "run.toml"
    path.write_text(CONFIG.format(extra=extra), encoding="utf-8")
    return path


def _areas(gdf: gpd.GeoDataFrame, **kwargs: object) -> pd.DataFrame:
    legend = lc.load_legend("gbt21010")
    pieces = parcel_pieces(gdf, legend, parcel_fields(gdf), **kwargs)  # type: ignore[arg-type]
    return pieces


def test_generated_layer_is_hand_checkable(tmp_path: Path) -> None:
    # on the central meridian the Gauss-Krüger scale factor is 1: 200 m x 100 m = 2 ha;
    # 40 km west it is 1 + 2.0e-5, so the ellipsoid holds 2 x 2.0e-5 x 20,000 = 0.78 m2 less
    assert true_tbmj() == [20000.0] * 8 + [19999.22] * 2
    back = gpd.read_file(write_dltb(tmp_path / "dltb.gpkg"), layer="DLTB")
    assert back["DLBM"].tolist()[:6] == ["0101", "0103", "0301", "0702", "1101", "0201K"]
    assert back["TBMJ"].tolist()[2] == 20150.0 and back["TBMJ"].tolist()[5] == 19960.0
    assert back.crs.to_epsg() == 4526


def test_fields_are_found_by_their_survey_names_in_any_case() -> None:
    gdf = dltb()
    f = parcel_fields(gdf)
    assert (f.code, f.name, f.area) == ("DLBM", "DLMC", "TBMJ")
    f = parcel_fields(gdf.rename(columns={"DLBM": "dlbm", "DLMC": "Dlmc", "TBMJ": "tbmj"}))
    assert (f.code, f.name, f.area) == ("dlbm", "Dlmc", "tbmj")
    f = parcel_fields(gdf.rename(columns={"DLBM": "地类编码", "TBMJ": "图斑面积"}))
    assert (f.code, f.name, f.area) == ("地类编码", "DLMC", "图斑面积")
    assert parcel_fields(gdf, area_field="").area is None  # comparison turned off
    with pytest.raises(lc.InputError, match=r"no land-use code field.*DLBM") as info:
        parcel_fields(gdf.drop(columns="DLBM"))
    assert info.value.code == "field_missing"


def test_classes_and_areas_of_the_survey_codes() -> None:
    areas = pieces_class_areas(_areas(dltb(), unit_field="ZLDWDM"))
    got = {(r.unit_id, r.land_class, r.space_type): r.area_ha for r in areas.itertuples()}
    expected = {
        (A, "cropland", "agricultural"): 4.0,  # 0101 水田 + 0103 旱地
        (A, "forest", "ecological"): 2.0,  # 0301 乔木林地
        (A, "rural_settlement", "construction"): 2.0,  # 0702 农村宅基地
        (B, "water", "ecological"): 2.0,  # 1101 河流水面
        (B, "orchard", "agricultural"): 2.0,  # 0201K: 0201 果园
        (B, "construction", "construction"): 2.0,  # 05H1: 05 商服用地
        (B, "rural_road", "agricultural"): 2.0,  # 1006 农村道路
        (C, "grassland", "ecological"): 1.999922,  # 0404 其他草地
        (C, "water", "agricultural"): 1.999922,  # 1104A: 1104 坑塘水面
    }
    assert got == pytest.approx(expected, abs=1e-6)


def test_tbmj_reconciliation_per_unit() -> None:
    table, summary = survey_reconciliation(_areas(dltb(), unit_field="ZLDWDM"), 0.001)
    # A: 8.0000 ha measured, TBMJ 8.0150 ha (row 3 +150 m2); B: TBMJ 7.9960 (row 6 -40 m2)
    assert table.loc[A, "tbmj_ha"] == pytest.approx(8.0150, abs=1e-9)
    assert table.loc[A, "tbmj_diff_ha"] == pytest.approx(-0.0150, abs=1e-6)
    assert table.loc[A, "tbmj_diff_rel"] == pytest.approx(-0.0150 / 8.0150, abs=1e-7)
    assert table.loc[B, "tbmj_diff_ha"] == pytest.approx(0.0040, abs=1e-6)
    assert table.loc[B, "tbmj_diff_rel"] == pytest.approx(0.0040 / 7.9960, abs=1e-7)
    assert table.loc[C, "tbmj_ha"] == pytest.approx(3.999844, abs=1e-9)
    assert abs(table.loc[C, "tbmj_diff_ha"]) < 1e-6  # TBMJ rounding (0.005 m2) only
    # A is over the 0.1 % tolerance (0.19 %), B is not (0.05 %); both edited parcels are
    assert [u["unit_id"] for u in summary["units_over_tolerance"]] == [A]
    assert summary["parcels_over_tolerance"] == 2
    worst = summary["largest_parcel_differences"]
    assert [(p["row"], p["code"], p["diff_m2"]) for p in worst] == [(3, "0301", -150.0),
                                                                   (6, "0201K", 40.0)]
    assert summary["tbmj_ha"] == pytest.approx(8.0150 + 7.9960 + 3.999844, abs=1e-9)
    assert summary["diff_ha"] == pytest.approx(-0.0110, abs=1e-6)


def test_units_layer_splits_tbmj_in_proportion_to_area() -> None:
    # the cut at 100 m west of the meridian halves parcels 2 (0103) and 6 (0201K)
    cut = X0 + 300.0
    units = gpd.GeoDataFrame({"unit_id": ["W", "E"]}, geometry=[
        box(XC - 1000, Y0 - 1000, cut, Y0 + 1000), box(cut, Y0 - 1000, X0 + 2000, Y0 + 1000)],
        crs=CRS)
    table, summary = survey_reconciliation(_areas(dltb(), units=units), 0.001)
    # W: rows 1, 5, 9, 10 and halves of 2 and 6: TBMJ 20000 + 10000 + 20000 + 9980 +
    # 2 x 19999.22 m2; measured 60000 + 2 x 19999.22 -> +20 m2
    assert table.loc["W", "tbmj_ha"] == pytest.approx(9.997844, abs=1e-7)
    assert table.loc["W", "tbmj_diff_ha"] == pytest.approx(0.0020, abs=1e-6)
    # E: halves of 2 and 6, rows 3, 4, 7, 8: TBMJ 100130 m2, measured 100000 -> -130 m2
    assert table.loc["E", "tbmj_ha"] == pytest.approx(10.0130, abs=1e-7)
    assert table.loc["E", "tbmj_diff_ha"] == pytest.approx(-0.0130, abs=1e-6)
    assert summary["tbmj_ha"] == pytest.approx(8.0150 + 7.9960 + 3.999844, abs=1e-9)


@pytest.mark.parametrize("crs", ["EPSG:4490", "EPSG:4547"])
def test_cgcs2000_geographic_and_zone_without_prefix_give_the_same_areas(crs: str) -> None:
    """EPSG:4490 (lat/lon) and EPSG:4547 (CM 114E, no zone prefix) hold the same parcels:
    same classes, areas and TBMJ differences (to 1e-4 m2 per parcel)."""
    ref = _areas(dltb(), unit_field="ZLDWDM")
    other = _areas(dltb(crs), unit_field="ZLDWDM")
    assert other["area_ha"].to_numpy() == pytest.approx(ref["area_ha"].to_numpy(), abs=1e-8)
    assert other[["code", "land_class", "space_type"]].equals(
        ref[["code", "land_class", "space_type"]])
    if crs == "EPSG:4547":  # the same numbers without the 38 000 000 m prefix
        assert dltb(crs).total_bounds[0] == pytest.approx(X0 - 38_000_000 - 40_000 + 400)


def test_numeric_dlbm_is_zero_padded() -> None:
    """Codes saved as numbers read as 2- or 4-digit codes (the warning that their zeros were
    lost is validate's and the gate's: test_validate)."""
    gdf = dltb()
    gdf["DLBM"] = [101, 103, 301, 702, 1101, 201, 5, 1006, 404, 1104]
    pieces = _areas(gdf, unit_field="ZLDWDM")
    assert pieces["code"].tolist() == ["0101", "0103", "0301", "0702", "1101", "0201", "05",
                                       "1006", "0404", "1104"]
    assert pieces_class_areas(pieces).equals(pieces_class_areas(_areas(dltb(),
                                                                       unit_field="ZLDWDM")))


def test_unknown_code_is_named_with_its_row() -> None:
    gdf = dltb()
    gdf.loc[4, ["DLBM", "DLMC"]] = ["0199", "某地类"]
    with pytest.raises(lc.UnmappedCodesError, match=r"0199 某地类 \(1 parcels, row 5\)"):
        _areas(gdf, unit_field="ZLDWDM")


@pytest.mark.parametrize(("value", "shown"), [("约2万", "'约2万'"), ("20,000.5", "'20,000.5'"),
                                              (None, "(empty)"), ("-5", "'-5'")])
def test_bad_tbmj_is_named_with_row_and_column(value: str | None, shown: str) -> None:
    gdf = dltb()
    gdf["TBMJ"] = gdf["TBMJ"].map(lambda v: f"{v:.2f}").astype(object)
    gdf.loc[3, "TBMJ"] = value
    with pytest.raises(lc.InputError, match=r"column .TBMJ.*row 4: " + re.escape(shown)) as e:
        _areas(gdf, unit_field="ZLDWDM")
    assert e.value.code == "parcel_values_invalid"


def test_run_reports_the_tbmj_differences(tmp_path: Path) -> None:
    """A whole run from a config that names no field: units.csv and run.json carry the
    comparison; the unit over the tolerance is named on stderr."""
    write_dltb(tmp_path / "dltb.gpkg")
    res = cli("run", _config(tmp_path), "-o", tmp_path / "out")
    assert res.returncode == 0, res.stderr
    assert A in res.stderr and "-0.0150 ha" in res.stderr and "row 3 0301" in res.stderr
    units = pd.read_csv(tmp_path / "out" / "units.csv", dtype={"unit_id": str},
                        encoding="utf-8-sig").set_index("unit_id")
    cols = list(units.columns)
    assert cols[cols.index("covered_ha") + 1:][:3] == ["tbmj_ha", "tbmj_diff_ha",
                                                       "tbmj_diff_rel"]
    assert units.loc[A, "covered_ha"] == pytest.approx(8.0, abs=1e-6)
    assert units.loc[A, "tbmj_diff_ha"] == pytest.approx(-0.0150, abs=1e-6)
    assert units.loc[B, "tbmj_diff_rel"] == pytest.approx(0.0040 / 7.9960, abs=1e-6)
    survey = json.loads((tmp_path / "out" / "run.json").read_text())["totals"]["survey_areas"]
    assert survey["field"] == "TBMJ" and survey["tolerance_rel"] == 0.001
    assert survey["largest_parcel_differences"][0]["code"] == "0301"  # leading zero kept
    assert [u["unit_id"] for u in survey["units_over_tolerance"]] == [A]


def test_validate_warns_of_the_tbmj_differences_as_the_run_does(tmp_path: Path) -> None:
    """validate (with its scan) lists the same unit and parcel as the run's log, as one
    ``area_mismatch`` warning; ``--no-scan`` reads no parcel pieces."""
    write_dltb(tmp_path / "dltb.gpkg")
    res = cli("validate", _config(tmp_path), "--json")
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    (p,) = [p for p in doc["problems"] if p["code"] == "area_mismatch"]
    assert p["severity"] == "warning" and "'TBMJ'" in p["where"]
    assert "1 unit(s)" in p["message"] and A in p["message"]
    assert "-0.0150 ha" in p["message"] and "row 3 0301" in p["message"]
    assert B not in p["message"].split("largest")[0]  # within the tolerance
    assert doc["summary"]["survey_areas"]["diff_ha"] == pytest.approx(-0.0150 + 0.0040,
                                                                      abs=1e-6)
    res = cli("validate", _config(tmp_path, "area_tolerance = 0.01"), "--json")
    assert not [p for p in json.loads(res.stdout)["problems"] if p["code"] == "area_mismatch"]
    res = cli("validate", _config(tmp_path), "--no-scan", "--json")
    assert "survey_areas" not in json.loads(res.stdout)["summary"]


def test_run_refuses_an_unknown_code_naming_code_and_row(tmp_path: Path) -> None:
    gdf = dltb()
    gdf.loc[6, "DLBM"] = "0599"
    gdf.to_file(tmp_path / "dltb.gpkg", layer="DLTB")
    res = cli("run", _config(tmp_path), "-o", tmp_path / "out")
    refused(res, "0599", "row 7", "dltb.gpkg")
    assert not (tmp_path / "out").exists()


def test_validate_json_names_the_fields_and_a_bad_tbmj(tmp_path: Path) -> None:
    gdf = dltb()
    gdf["TBMJ"] = gdf["TBMJ"].map(lambda v: f"{v:.2f}").astype(object)  # a text column
    gdf.loc[3, "TBMJ"] = "约2万"
    gdf.to_file(tmp_path / "dltb.gpkg", layer="DLTB")
    res = cli("validate", _config(tmp_path), "--json")
    assert res.returncode == 1
    doc = json.loads(res.stdout)
    assert doc["summary"]["parcel_fields"] == {"code": "DLBM", "name": "DLMC", "area": "TBMJ"}
    (p,) = doc["problems"]
    assert p["code"] == "parcel_values_invalid" and "'TBMJ'" in p["where"]
    assert "row 4: '约2万'" in p["message"]


def test_run_on_a_cgcs2000_geographic_layer(tmp_path: Path) -> None:
    """The same parcels in EPSG:4490: the same units table as in the Gauss-Krüger zone."""
    write_dltb(tmp_path / "dltb.gpkg", crs="EPSG:4490")
    res = cli("run", _config(tmp_path), "-o", tmp_path / "out")
    assert res.returncode == 0, res.stderr
    units = pd.read_csv(tmp_path / "out" / "units.csv", dtype={"unit_id": str},
                        encoding="utf-8-sig").set_index("unit_id")
    assert units.loc[[A, B, C], "covered_ha"].tolist() == pytest.approx(
        [8.0, 8.0, 3.999844], abs=1e-6)
    assert units.loc[A, "tbmj_diff_ha"] == pytest.approx(-0.0150, abs=1e-6)
    assert units.loc[C, "area_ha"] == pytest.approx(3.999844, abs=1e-5)  # dissolved village


@pytest.mark.parametrize("language, unit_row", [("zh", "-0.0150"), ("en", "-0.0150")])
def test_report_shows_the_tbmj_check(tmp_path: Path, language: str, unit_row: str) -> None:
    """The published report carries the survey check of run.json: the sentence with both
    totals and the tolerance, the unit beyond it and the largest parcel differences."""
    write_dltb(tmp_path / "dltb.gpkg")
    res = cli("run", _config(tmp_path), "-o", tmp_path / "out")
    assert res.returncode == 0, res.stderr
    pub = cli("map", tmp_path / "out", "--offline", "--language", language)
    assert pub.returncode == 0, pub.stderr
    survey = json.loads((tmp_path / "out" / "run.json").read_text())["totals"]["survey_areas"]
    page = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    text = re.sub(r"(<[^>]+>)+", "|", page[page.index('id="survey-check"'):])
    area = f"{survey['area_ha']:,.4f}"
    assert area in text and f"{survey['tbmj_ha']:,.4f}" in text and "0.1 %" in text
    assert f"|{A}|" in text and f"|{unit_row}|" in text       # the unit over the tolerance
    assert "|3|0301|" in text                                 # row 3, leading zero kept
    word = "图斑面积与三调图斑面积" if language == "zh" else "Parcel areas against the survey"
    assert word in page


def test_report_without_a_survey_field_has_no_tbmj_check(tmp_path: Path) -> None:
    write_dltb(tmp_path / "dltb.gpkg")
    res = cli("run", _config(tmp_path, 'area_field = ""'), "-o", tmp_path / "out")
    assert res.returncode == 0, res.stderr
    assert cli("map", tmp_path / "out", "--offline").returncode == 0
    assert 'id="survey-check"' not in (tmp_path / "out" / "report.html").read_text("utf-8")


def test_parcels_without_a_unit_id_stop_every_command(tmp_path: Path) -> None:
    """A parcel with no ZLDWDM (NULL, or blank) would belong to no unit and its land would
    be left out: one unit_id_missing error naming rows 2 and 5; nothing written."""
    ids = list(dltb()["ZLDWDM"])
    ids[1], ids[4] = None, "  "
    write_dltb(tmp_path / "dltb.gpkg", ZLDWDM=ids)
    cfg = _config(tmp_path)
    report = lc.validate_config(cfg)
    found = [p for p in report.problems if p.code == "unit_id_missing"]
    assert len(found) == 1 and found[0].severity == "error"
    assert found[0].details["rows"] == [2, 5] and "ZLDWDM" in found[0].where
    res = cli("run", cfg, "-o", tmp_path / "out")
    refused(res, "ZLDWDM", "rows 2, 5")
    assert not (tmp_path / "out").exists()


def test_overlapping_parcels_are_an_error(tmp_path: Path) -> None:
    """A parcel drawn over its neighbour (1.5 x its width) would count the overlap twice:
    units_overlap names the pair of rows, whatever TBMJ says."""
    gdf = dltb()
    geoms = list(gdf.geometry)
    x0, y0, x1, y1 = geoms[0].bounds
    geoms[0] = box(x0, y0, x0 + 1.5 * (x1 - x0), y1)
    write_dltb(tmp_path / "dltb.gpkg", geometry=geoms)
    report = lc.validate_config(_config(tmp_path))
    found = [p for p in report.problems if p.code == "units_overlap"]
    assert len(found) == 1 and found[0].severity == "error", report.problems
    assert "row 1/row 2" in found[0].where and "pair(s) of parcels" in found[0].message


def test_bad_survey_areas_are_shown_as_written() -> None:
    """TBMJ values that are not positive numbers are listed as a user wrote them (-5, empty,
    text), never as numpy reprs."""
    from landcarbon.engine.parcels import survey_areas_m2
    from landcarbon.exceptions import InputError

    gdf = dltb()
    gdf["TBMJ"] = [-5.0, float("nan"), *gdf["TBMJ"].iloc[2:]]
    with pytest.raises(InputError, match=r"rows 1, 2: -5, \(empty\)\)") as err:
        survey_areas_m2(gdf, "TBMJ")
    assert "np." not in str(err.value)


def test_text_and_unmapped_parcel_codes_are_listed_together(tmp_path: Path) -> None:
    """A DLBM that is not a code ('ABC') and one the legend lacks (9999) are named in one
    error, not one after the other fix."""
    codes = list(dltb()["DLBM"])
    codes[0], codes[3] = "ABC", "9999"
    write_dltb(tmp_path / "dltb.gpkg", DLBM=codes)
    report = lc.validate_config(_config(tmp_path))
    errors = [p for p in report.problems if p.severity == "error"]
    assert len(errors) == 1 and errors[0].code == "parcel_values_invalid", errors
    assert "'ABC' (1 parcels); row 1" in errors[0].message
    assert "does not map: 9999." in errors[0].message
