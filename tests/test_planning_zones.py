"""``[planning_zones]``: the space type of land inside planning zones / control lines comes
from the plan, on the 4 x 4 GeoTIFF (GRID4) and the two halves, with exact areas by hand;
shares both ways; the validate checks (CRS, geometry type, unknown zone values)."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import GRID4_RUN_CONFIG
from shapely.geometry import LineString, box

import landcarbon as lc
from landcarbon.accounting.planning import plan_zones, zone_mapping
from landcarbon.cli import main
from landcarbon.config.run import load_config
from landcarbon.exceptions import InputError

# GRID4 (10 m pixels, 0.01 ha; W = column 0 and the west half of column 1, E the rest):
#   40 40 10 10          red line (生态保护红线): columns 0-1, rows 0-1 (cropland)
#   40 40 10 80          basic farmland (永久基本农田): columns 0-1, rows 2-3 (built-up)
#   50 50 30 80          development boundary (城镇开发边界): row 0, columns 1-3; its
#   50  0 30 80          column-1 cell is red line (ecological first), so columns 2-3 (forest)
X0, Y0 = 500000, 3850000
ZONES = {"生态保护红线": box(X0, Y0 - 20, X0 + 20, Y0),
         "永久基本农田": box(X0, Y0 - 40, X0 + 20, Y0 - 20),
         "城镇开发边界": box(X0 + 10, Y0 - 10, X0 + 40, Y0)}
SECTION = '[planning_zones]\npath = "plan.gpkg"\nlayer = "zones"\nfield = "kind"\n'


def _write_zones(path: Path, zones: dict, crs: str | None = "EPSG:32649") -> Path:
    gpd.GeoDataFrame({"kind": list(zones)}, geometry=list(zones.values()), crs=crs).to_file(
        path, layer="zones")
    return path


@pytest.fixture
def project(tmp_path: Path, grid4_tif: Path, halves_gpkg: Path) -> Path:
    _write_zones(tmp_path / "plan.gpkg", ZONES)
    (tmp_path / "plain.toml").write_text(GRID4_RUN_CONFIG, encoding="utf-8")
    (tmp_path / "plan.toml").write_text(GRID4_RUN_CONFIG + SECTION, encoding="utf-8")
    return tmp_path


def test_planned_space_types_by_hand(project: Path) -> None:
    plain = lc.assess(load_config(project / "plain.toml"))
    a = lc.assess(load_config(project / "plan.toml"))
    ca = a.class_areas.set_index(["unit_id", "land_class", "space_type"])["area_ha"]
    # W: cropland 0.03 ha under the red line -> ecological; built-up 0.025 ha in basic
    # farmland -> agricultural
    assert ca[("W", "cropland", "ecological")] == pytest.approx(0.03)
    assert ca[("W", "construction", "agricultural")] == pytest.approx(0.025)
    # E: cropland 0.01 (red line), built-up 0.005 (farmland), forest 0.02 (boundary)
    assert ca[("E", "cropland", "ecological")] == pytest.approx(0.01)
    assert ca[("E", "construction", "agricultural")] == pytest.approx(0.005)
    assert ca[("E", "forest", "construction")] == pytest.approx(0.02)
    assert ca[("E", "forest", "ecological")] == pytest.approx(0.01)
    u = a.units.set_index("unit_id")
    assert u.loc["W", "share_ecological"] == pytest.approx(0.03 / 0.055)
    assert u.loc["W", "share_agricultural"] == pytest.approx(0.025 / 0.055)
    assert u.loc["W", "share_construction"] == pytest.approx(0.0, abs=1e-12)
    assert u.loc["W", "space_type"] == "ecological"
    # by land cover: W is cropland 0.03 / built-up 0.025
    assert u.loc["W", "share_agricultural_landcover"] == pytest.approx(0.03 / 0.055)
    assert u.loc["W", "share_construction_landcover"] == pytest.approx(0.025 / 0.055)
    assert u.loc["W", "space_type_landcover"] == plain.units.set_index("unit_id").loc[
        "W", "space_type"]
    assert u.loc["E", "share_construction"] == pytest.approx(0.02 / 0.095)
    assert u.loc["E", "share_ecological"] == pytest.approx(0.07 / 0.095)
    assert u.loc["E", "share_ecological_landcover"] == pytest.approx(0.08 / 0.095)
    assert u.loc["W", "share_planned"] == pytest.approx(1.0)
    assert u.loc["E", "share_planned"] == pytest.approx(0.035 / 0.095)
    # the land (and so every flux) is unchanged; only the space it counts in moves
    assert u["net_tc"].tolist() == pytest.approx(plain.units["net_tc"].tolist())
    assert u["covered_ha"].tolist() == pytest.approx(plain.units["covered_ha"].tolist())
    assert u.loc["E", "net_construction_tc"] == pytest.approx(-0.02 * 0.644)  # forest
    assert a.totals()["planning_zones"]["planned_ha"] == pytest.approx(
        {"ecological": 0.04, "agricultural": 0.03, "construction": 0.02})


@pytest.mark.parametrize("crs", ["EPSG:4326", "EPSG:4490"])
def test_zones_in_degrees_over_projected_units(tmp_path: Path, crs: str) -> None:
    """A 三区三线 layer in degrees over units in metres (the usual case): its edges, along the
    units' and the pixels' edges, come back a few millimetres off and made collapsed slivers
    that stopped the run (a GEOS error). Six 100 m units of 10 m pixels (EPSG:32650), the
    zones' edges on theirs: the areas and space types are those of the layer in the units'
    CRS (planned 50/50 shares stay a tie, broken agricultural first)."""
    import numpy as np
    from conftest import write_tif

    x0, y0 = 500000.0, 3850000.0
    codes = np.full((20, 30), 10, np.uint8)
    codes[:10, 10:20], codes[:10, 20:] = 50, 40
    write_tif(tmp_path / "lc.tif", codes, crs="EPSG:32650")
    gpd.GeoDataFrame({"code": [f"U{i}" for i in range(6)]}, geometry=[
        box(x0 + c * 100, y0 - (r + 1) * 100, x0 + (c + 1) * 100, y0 - r * 100)
        for r in range(2) for c in range(3)], crs="EPSG:32650").to_file(tmp_path / "u.gpkg")

    def band(a: float, c: float, b: float = 0, d: float = 100) -> object:
        return box(x0 + a, y0 - d, x0 + c, y0 - b)

    zones = gpd.GeoDataFrame({"kind": ["城镇开发边界", "生态保护红线", "永久基本农田",
                                       "城镇开发边界"]},
                             geometry=[band(0, 100), band(100, 150), band(125, 200),
                                       band(200, 300, 100, 200)], crs="EPSG:32650")
    zones.to_file(tmp_path / "plan.gpkg", layer="zones")
    text = (GRID4_RUN_CONFIG.replace("grid4.tif", "lc.tif").replace(
        'path = "halves.gpkg"\nlayer = "units"', 'path = "u.gpkg"').replace(
        'name_field = "name"\n', "") + SECTION)
    (tmp_path / "plan.toml").write_text(text, encoding="utf-8")
    ref = lc.assess(load_config(tmp_path / "plan.toml"))
    zones.to_crs(crs).to_file(tmp_path / "plan.gpkg", layer="zones")
    a = lc.assess(load_config(tmp_path / "plan.toml"))
    got = a.class_areas.set_index(["unit_id", "land_class", "space_type"])["area_ha"]
    want = ref.class_areas.set_index(["unit_id", "land_class", "space_type"])["area_ha"]
    both = got.index.union(want.index)  # slivers of mm along the edges: < 0.1 m2 each
    assert (got.reindex(both, fill_value=0.0) - want.reindex(both, fill_value=0.0)
            ).abs().max() < 1e-5
    assert a.units["space_type"].tolist() == ref.units["space_type"].tolist()
    assert ref.units.set_index("unit_id").loc["U1", "space_type"] == "agricultural"  # a tie


def test_plan_run_writes_both_shares(project: Path) -> None:
    out = project / "out"
    res = CliRunner().invoke(main, ["-q", "run", str(project / "plan.toml"), "-o", str(out)])
    assert res.exit_code == 0, res.output
    u = pd.read_csv(out / "units.csv", encoding="utf-8-sig")
    for col in ("share_ecological", "share_ecological_landcover", "share_planned",
                "space_type_landcover"):
        assert col in u, col
    manifest = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert manifest["totals"]["planning_zones"]["field"] == "kind"


def test_overlap_priority_and_custom_mapping(tmp_path: Path) -> None:
    zones = gpd.GeoDataFrame({"kind": ["城镇开发边界", "Ecological protection red line", "景区"]},
                             geometry=[box(0, 0, 2, 2), box(1, 0, 3, 2), box(5, 5, 6, 6)],
                             crs="EPSG:32649")
    with pytest.raises(InputError, match="'景区' \\(1 feature"):
        plan_zones(zones, "kind", zone_mapping())
    out = plan_zones(zones, "kind", zone_mapping({"景区": "ecological"}))
    areas = dict(zip(out["space_type"], out.area, strict=True))
    assert areas == pytest.approx({"ecological": 5.0, "construction": 2.0})  # overlap -> eco
    out = plan_zones(zones, "kind", zone_mapping({"景区": "ecological"}),
                     priority=["construction", "ecological", "agricultural"])
    assert dict(zip(out["space_type"], out.area, strict=True)) == pytest.approx(
        {"construction": 4.0, "ecological": 3.0})


def _validate(project: Path, zones_path: Path, extra: str = "", field: str = "kind"
              ) -> tuple[int, str]:
    """Exit code, and the codes and messages of the problems (``validate --json``)."""
    cfg = project / "check.toml"
    cfg.write_text(GRID4_RUN_CONFIG + SECTION.replace("plan.gpkg", zones_path.name).replace(
        '"kind"', f'"{field}"') + extra, encoding="utf-8")
    res = CliRunner().invoke(main, ["validate", "--json", str(cfg)])
    problems = json.loads(res.stdout)["problems"]
    return res.exit_code, " ".join(f"{p['code']} {p['where']} {p['message']}"
                                   for p in problems)


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_validate_reports_zone_problems(project: Path) -> None:
    code, output = _validate(project, project / "plan.gpkg")
    assert code == 0, output
    bad = {**ZONES, "风景区": box(X0, Y0 - 10, X0 + 10, Y0)}
    code, output = _validate(project, _write_zones(project / "bad.gpkg", bad))
    assert code == 1 and "zone_unknown" in output and "'风景区' (1 feature(s))" in output
    code, output = _validate(project, project / "bad.gpkg",
                             'mapping = { "风景区" = "ecological" }\n')
    assert code == 0, output
    lines = {**ZONES, "生态空间": LineString([(X0, Y0), (X0 + 40, Y0 - 40)])}
    code, output = _validate(project, _write_zones(project / "lines.gpkg", lines))
    assert code == 1 and "geometry_not_polygon" in output and "LineString 1" in output
    code, output = _validate(project, _write_zones(project / "nocrs.gpkg", ZONES, crs=None))
    assert code == 1 and "[planning_zones] nocrs.gpkg" in output and "no CRS" in output
    code, output = _validate(project, project / "plan.gpkg", field="zone")
    assert code == 1 and "field_missing" in output and "'zone'" in output
