"""The stock totals of `landcarbon change` cover the whole land-cover rasters (as InVEST's),
not the bounding box of the units that a run reads; the units' own sum is beside them,
labelled."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pytest
from click.testing import CliRunner
from conftest import GRID4, GRID4_RUN_CONFIG, write_tif
from shapely.geometry import box
from test_change import GRID4B
from test_stocks import POOLS_CSV

from landcarbon.cli import main
from landcarbon.config.run import load_config
from landcarbon.exceptions import InputError
from landcarbon.pipeline import assess_change
from landcarbon.pipeline._change_stocks import UNITS_EXTENT, WHOLE_EXTENT

CONFIG = GRID4_RUN_CONFIG.replace("grid4.tif", "lc_2023.tif").replace(
    "halves.gpkg", "west.gpkg") + """[output]
map = false
[change]
[[change.dates]]
year = 2015
landcover = "lc_2015.tif"
[[change.dates]]
year = 2023
landcover = "lc_2023.tif"
[change.stocks]
pools = "pools.csv"
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """GRID4 -> GRID4B, one unit over the two western columns only (the run reads those)."""
    write_tif(tmp_path / "lc_2015.tif", GRID4)
    write_tif(tmp_path / "lc_2023.tif", GRID4B)
    (tmp_path / "pools.csv").write_text(POOLS_CSV, encoding="utf-8")
    gpd.GeoDataFrame({"code": ["W"], "name": ["西"]},
                     geometry=[box(500000, 3849960, 500020, 3850000)],
                     crs="EPSG:32649").to_file(tmp_path / "west.gpkg", layer="units")
    (tmp_path / "change.toml").write_text(CONFIG, encoding="utf-8")
    return tmp_path / "change.toml"


def test_stock_totals_are_whole_raster_and_units_are_labelled(project: Path) -> None:
    r = assess_change(load_config(project))
    t = r.stock_totals[0]
    # whole rasters (pools: forest 95, grassland 45, cropland 62, built-up 20, water 0,
    # wetland 111 Mg C/ha; 0.01 ha pixels): 2015 = 4x62 + 3x95 + 3x20 + 2x45 = 683 -> 6.83;
    # 2023 = 6.77 (as the InVEST arithmetic on the full rasters)
    assert t["extent"] == WHOLE_EXTENT
    assert t["stock_from_tc"] == pytest.approx(6.83)
    assert t["stock_to_tc"] == pytest.approx(6.77)
    assert t["stock_change_tc"] == pytest.approx(-0.06)
    # the unit (two western columns): 2015 = 4x62 + 3x20 = 308 -> 3.08; 2023 = 3x62 + 4x20
    # = 266 -> 2.66
    u = t["units"]
    assert u["extent"] == UNITS_EXTENT
    assert u["stock_from_tc"] == pytest.approx(3.08)
    assert u["stock_to_tc"] == pytest.approx(2.66)
    assert u["stock_change_tc"] == pytest.approx(-0.42)
    assert r.stocks.groupby("year")["stock_tc"].sum().tolist() == pytest.approx([3.08, 2.66])


def test_change_json_labels_both_extents(project: Path, tmp_path: Path) -> None:
    res = CliRunner().invoke(main, ["change", str(project), "-o", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    stocks = json.loads((tmp_path / "out" / "change.json").read_text())["totals"]["stocks"][0]
    assert stocks["extent"].startswith("whole raster")
    assert stocks["stock_from_tc"] == pytest.approx(6.83)
    assert stocks["units"]["extent"].startswith("sum of the units")
    assert stocks["units"]["stock_from_tc"] == pytest.approx(3.08)


def test_codes_outside_the_units_missing_from_the_pools_are_refused(project: Path) -> None:
    # water (80) lies only in the eastern columns: a pool table without it fails the whole-
    # raster totals, naming the code (InVEST fails on it too)
    pools = project.parent / "pools.csv"
    pools.write_text("\n".join(line for line in POOLS_CSV.splitlines()
                               if not line.startswith("80,")) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"raster of 2015 \(outside the units\).*80 \(3 px\)"):
        assess_change(load_config(project))


def test_a_pixel_nodata_at_one_date_is_no_change_of_the_units_stock(project: Path) -> None:
    """Pixel (0, 0) (cropland at both dates, 62 Mg C/ha, 0.01 ha) turns nodata in 2023: the
    unit's stock at 2023 loses it (2.66 - 0.62 = 2.04), but its change leaves it out, as the
    whole-area change does: -0.42 as before (it counted 2.04 - 3.08 = -1.04)."""
    later = GRID4B.copy()
    later[0, 0] = 0
    write_tif(project.parent / "lc_2023.tif", later)
    r = assess_change(load_config(project))
    t = r.stock_totals[0]
    assert t["stock_change_tc"] == pytest.approx(-0.06)
    u = r.stock_changes.set_index("unit_id").loc["W"]
    assert (u["stock_from_tc"], u["stock_to_tc"]) == pytest.approx((3.08, 2.04))
    assert u["stock_change_tc"] == pytest.approx(-0.42)
    assert t["units"]["stock_change_tc"] == pytest.approx(-0.42)
