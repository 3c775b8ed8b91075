"""`landcarbon change` / `landcarbon scenario` end to end on the 4 x 4 raster pair (two units
splitting the grid): files, hand-checked tables, area conservation, errors and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import GRID4, GRID4_RUN_CONFIG, write_tif
from rasterio.transform import from_origin
from test_change import CLASSES, EXPECTED, GRID4B
from test_stocks import POOLS_CSV

from landcarbon.cli import main
from landcarbon.config.run import load_config
from landcarbon.exceptions import ConfigError
from landcarbon.pipeline import assess_change, assess_scenarios

#: the GRID4 run config on the later date (thresholds 0.5 / 30 / 0), plus [change]; a
#: str.format template ({resample}, {later})
CONFIG = '\ntitle = "change test"\n' + GRID4_RUN_CONFIG.replace(
    "grid4.tif", "lc_2023.tif").replace("agricultural = 0.422\nconstruction = 8.0",
                                        "agricultural = 0.5\nconstruction = 30.0") + """[change]
resample = "{resample}"
[[change.dates]]
year = 2015
landcover = "lc_2015.tif"
[[change.dates]]
year = 2023
landcover = "{later}"
[change.stocks]
pools = "pools.csv"
price_per_tc = 43.0
discount_rate_pct = 7.0
[change.monitoring]
sink_loss_share = 0.05
conversion_min_ha = 0.004
[change.markov]
target_years = [2031, 2039]
multipliers = [{{ from_land_class = "cropland", to_land_class = "construction", factor = 0.5 }}]
[[change.scenarios]]
name = "back_to_2015"
landcover = "lc_2015.tif"
[[change.edits]]
scenario = "green"
type = "reduce_construction"
area_ha = 0.02
to_land_class = "forest"
[[change.edits]]
scenario = "green"
type = "restore_wetland"
distance_m = 10.0
"""


@pytest.fixture
def project(tmp_path: Path, halves_gpkg: Path) -> Path:
    write_tif(tmp_path / "lc_2015.tif", GRID4)
    write_tif(tmp_path / "lc_2023.tif", GRID4B)
    (tmp_path / "pools.csv").write_text(POOLS_CSV, encoding="utf-8")
    path = tmp_path / "change.toml"
    path.write_text(CONFIG.format(resample="error", later="lc_2023.tif"), encoding="utf-8")
    return path


def test_change_cli_outputs(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    res = CliRunner().invoke(main, ["change", str(project), "-o", str(out)])
    assert res.exit_code == 0, res.output
    for name in ("transfer_matrix.csv", "transitions_units.csv", "change_summary.csv",
                 "dynamic_degree.csv", "flux_effect.csv", "timeseries.csv", "timeseries.gpkg",
                 "alerts.csv", "alerts.gpkg", "stocks.csv", "stock_change.csv",
                 "carbon_stock_2015.tif", "carbon_stock_2023.tif", "markov.csv",
                 "markov_units.csv", "change.json", "units_2015.csv", "units_2023.csv",
                 "carbon_stock_change_2015_2023.tif"):
        assert (out / name).is_file(), name
    tm = pd.read_csv(out / "transfer_matrix.csv", encoding="utf-8-sig")
    lc = tm[tm["by"] == "land_class"].pivot(index="from", columns="to", values="area_ha")
    lc = lc.reindex(index=CLASSES, columns=CLASSES, fill_value=0.0).fillna(0.0)
    np.testing.assert_allclose(lc.to_numpy(), EXPECTED.to_numpy(), atol=1e-6)
    manifest = json.loads((out / "change.json").read_text(encoding="utf-8"))
    stocks = manifest["totals"]["stocks"][0]
    assert stocks["stock_from_tc"] == pytest.approx(6.83)
    assert stocks["stock_change_tc"] == pytest.approx(-0.06)
    dd = manifest["totals"]["comprehensive_dynamic_degree_pct_per_yr"]["2015-2023"]
    assert dd == pytest.approx(0.04 / 0.15 / 8 * 100)
    # flux effect with construction at the configured 50 t C/ha/yr
    fx = pd.read_csv(out / "flux_effect.csv", encoding="utf-8-sig")
    row = fx[(fx["from"] == "cropland") & (fx["to"] == "construction")].iloc[0]
    assert row["flux_change_tc"] == pytest.approx(0.01 * (50 - 0.422), abs=1e-6)
    alerts = pd.read_csv(out / "alerts.csv", encoding="utf-8-sig", dtype={"unit_id": str})
    conv = alerts[alerts["alert"] == "agricultural_to_construction"]
    # 0.005 ha of cropland became built-up in each unit (above the 0.004 ha minimum)
    assert sorted(conv["unit_id"]) == ["E", "W"]
    assert conv["value"].to_numpy() == pytest.approx([0.005, 0.005])


def test_change_result_per_unit_and_markov(project: Path) -> None:
    r = assess_change(load_config(project))
    s = r.summary
    west = s[(s["unit_id"] == "W") & (s["by"] == "land_class")].set_index("class")
    assert west.loc["cropland", "loss_ha"] == pytest.approx(0.005)
    assert west.loc["construction", "gain_ha"] == pytest.approx(0.005)
    st = r.stocks.set_index(["year", "unit_id"])["stock_tc"]
    assert st[2015, "W"] == pytest.approx(2.36) and st[2015, "E"] == pytest.approx(4.47)
    # Markov conserves each unit's area in every projected year
    per = r.markov.groupby(["unit_id", "year"])["area_ha"].sum().unstack()
    np.testing.assert_allclose(per.to_numpy(), per[[2023]].to_numpy().repeat(3, 1), rtol=1e-9)
    # W: cropland 0.03 -> construction 0.005 observed; p = 1/6 halved to 1/12 by the multiplier
    w = r.markov[(r.markov["unit_id"] == "W") & (r.markov["year"] == 2031)].set_index(
        "land_class")["area_ha"]
    assert w["cropland"] == pytest.approx(0.025 * (1 - 1 / 12))
    mu = r.markov_units.set_index(["year", "unit_id"])
    assert mu.loc[(2031, "W"), "covered_ha"] == pytest.approx(0.055)
    assert mu.loc[(2031, "W"), "area_construction_ha"] == pytest.approx(
        0.03 + 0.025 / 12)


def test_scenario_cli_and_area_conservation(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "scen"
    res = CliRunner().invoke(main, ["scenario", str(project), "-o", str(out)])
    assert res.exit_code == 0, res.output
    for name in ("scenario_deltas.csv", "risk_transitions.csv", "scenario_units.gpkg",
                 "scenario_green_land_class.tif", "scenario.json"):
        assert (out / name).is_file(), name
    r = assess_scenarios(load_config(project))
    d = r.deltas.set_index(["scenario", "unit_id"])
    # edits and scenario rasters move no area between units and lose none
    assert d["covered_ha_delta"].abs().max() == pytest.approx(0, abs=1e-12)
    # back to 2015: W has 0.005 ha less built-up (50 t C/ha/yr) and 0.005 ha more cropland
    assert d.loc[("back_to_2015", "W"), "net_tc_delta"] == pytest.approx(
        0.005 * (0.422 - 50))
    assert r.edits[0] == {"scenario": "green", "type": "reduce_construction",
                          "area_ha": pytest.approx(0.02)}
    green = d.xs("green")
    assert green["area_construction_ha_delta"].sum() == pytest.approx(-0.02)
    assert r.risk_transitions.groupby("scenario")["units"].sum().to_dict() == {
        "back_to_2015": 2, "green": 2}


def test_reduce_construction_says_when_whole_pixels_overshoot(project: Path) -> None:
    """0.015 ha asked of 0.01 ha pixels converts 2 pixels (0.02 ha, +33 %): said in a
    warning naming the scenario and both areas; 0.02 ha (whole pixels) says nothing."""
    from _trust import warnings_of

    with warnings_of("landcarbon") as said:
        assess_scenarios(load_config(project))
    assert not [m for m in said if "whole pixels" in m]
    project.write_text(project.read_text(encoding="utf-8").replace(
        "area_ha = 0.02", "area_ha = 0.015"), encoding="utf-8")
    with warnings_of("landcarbon") as said:
        r = assess_scenarios(load_config(project))
    assert r.edits[0]["area_ha"] == pytest.approx(0.02)
    assert [m for m in said if m.startswith("scenario green: reduce_construction converted "
                                            "0.02 ha for the 0.015 ha asked (+33.3 %)")], said


def test_misaligned_dates(project: Path, tmp_path: Path) -> None:
    write_tif(tmp_path / "lc_2023_shifted.tif", GRID4B,
              transform=from_origin(500010, 3850000, 10, 10))
    project.write_text(CONFIG.format(resample="error", later="lc_2023_shifted.tif"),
                       encoding="utf-8")
    res = CliRunner().invoke(main, ["change", str(project), "-o", str(tmp_path / "bad")])
    assert res.exit_code == 1
    assert "not on the same grid" in res.output and "2015" in res.output
    assert not (tmp_path / "bad").exists()  # nothing half-written
    fine = np.kron(GRID4B, np.ones((2, 2), np.uint8))
    write_tif(tmp_path / "lc_2023_fine.tif", fine, transform=from_origin(500000, 3850000, 5, 5))
    project.write_text(CONFIG.format(resample="nearest", later="lc_2023_fine.tif"),
                       encoding="utf-8")
    r = assess_change(load_config(project))
    lc = r.transfer[r.transfer["by"] == "land_class"].pivot(index="from", columns="to",
                                                            values="area_ha")
    assert lc.loc["cropland", "construction"] == pytest.approx(0.01)


def test_a_resampled_date_is_assessed_on_the_first_dates_grid(project: Path,
                                                              tmp_path: Path) -> None:
    """With resample = "nearest" the later date's areas, balance and risk are counted on the
    grid its transitions are counted on (they were counted on its own grid, so the time
    series and the transitions told two stories). The 2023 raster at 10/3 m holds GRID4B's
    class in the centre sub-pixel of each 10 m cell and bare land (60) around it: nearest
    neighbour onto the 10 m grid gives GRID4B exactly, so the 2023 date must equal the run
    on the aligned GRID4B raster, and the net change equal the transitions' flux effect."""
    fine = np.full((12, 12), 60, np.uint8)
    fine[1::3, 1::3] = GRID4B
    write_tif(tmp_path / "lc_2023_third.tif", fine,
              transform=from_origin(500000, 3850000, 10 / 3, 10 / 3))
    aligned = assess_change(load_config(project))
    project.write_text(CONFIG.format(resample="nearest", later="lc_2023_third.tif"),
                       encoding="utf-8")
    r = assess_change(load_config(project))
    for a, b in ((r.dates[2023], aligned.dates[2023]), (r.dates[2015], aligned.dates[2015])):
        pd.testing.assert_frame_equal(a.class_areas, b.class_areas)
        assert a.table_tc["net_tc"].tolist() == pytest.approx(b.table_tc["net_tc"].tolist())
        assert a.table_tc["risk_level"].tolist() == b.table_tc["risk_level"].tolist()
    assert "bare" not in set(r.dates[2023].class_areas["land_class"])
    pd.testing.assert_frame_equal(r.transfer, aligned.transfer)
    pd.testing.assert_frame_equal(r.timeseries_tc, aligned.timeseries_tc)


def test_change_config_errors(project: Path, tmp_path: Path) -> None:
    text = CONFIG.format(resample="error", later="lc_2023.tif")
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace("year = 2023", "year = 2010"), encoding="utf-8")
    with pytest.raises(ConfigError, match="increasing year order"):
        load_config(bad)
    bad.write_text(text.replace("target_years = [2031, 2039]", "target_years = [2020]"),
                   encoding="utf-8")
    with pytest.raises(ConfigError, match=r"target_years \[2020\] are not after 2023"):
        load_config(bad)
    bad.write_text(text.replace('type = "restore_wetland"', 'type = "restore_wetland"\n'
                                'distanc_m = 5'), encoding="utf-8")
    with pytest.raises(ConfigError, match="did you mean 'distance_m'"):
        load_config(bad)
    one = text[:text.index("[[change.dates]]\nyear = 2023")] + text[text.index(
        "[change.stocks]"):text.index("[change.markov]")]
    bad.write_text(one, encoding="utf-8")
    res = CliRunner().invoke(main, ["change", str(bad), "-o", str(tmp_path / "one")])
    assert res.exit_code == 1 and "at least two [[change.dates]]" in res.output
    res = CliRunner().invoke(main, ["scenario", str(bad), "-o", str(tmp_path / "none")])
    assert res.exit_code == 1 and "at least one [[change.scenarios]]" in res.output
    res = CliRunner().invoke(main, ["change", str(project), "-o", str(tmp_path / "o")])
    assert res.exit_code == 0
    again = CliRunner().invoke(main, ["change", str(project), "-o", str(tmp_path / "o")])
    assert again.exit_code == 1 and "--overwrite" in again.output


def test_rebalance_reproduces_the_baseline_energy_method(project: Path, tmp_path: Path) -> None:
    """Scenarios and projections are assessed by `rebalance`; given the baseline's own class
    areas it must give back the baseline units table (energy method: per-unit intensity)."""
    from landcarbon.pipeline import assess, rebalance
    from landcarbon.pipeline._change import date_config

    (tmp_path / "energy.csv").write_text("unit_id,raw_coal_t\nW,10\nE,30\n", encoding="utf-8")
    text = project.read_text(encoding="utf-8").replace(
        'method = "intensity"\nintensity_tc_per_ha = 50.0',
        'method = "energy"\nenergy_table = "energy.csv"')
    project.write_text(text, encoding="utf-8")
    base = assess(date_config(load_config(project), 2023))
    again = rebalance(base, base.class_areas)
    cols = ["emission_tc", "sequestration_tc", "net_tc", "net_tc_per_ha",
            "construction_emission_tc"]
    pd.testing.assert_frame_equal(pd.DataFrame(again[cols]), pd.DataFrame(base.units[cols]))
    assert list(again["risk_level"]) == list(base.units["risk_level"])
    # twice the built-up land in W at the same per-ha intensity: twice its energy emission
    doubled = base.class_areas.copy()
    w_con = (doubled["unit_id"] == "W") & (doubled["land_class"] == "construction")
    doubled.loc[w_con, "area_ha"] *= 2
    moved = rebalance(base, doubled).set_index("unit_id")
    assert moved.loc["W", "construction_emission_tc"] == pytest.approx(
        2 * base.units.set_index("unit_id").loc["W", "construction_emission_tc"])


def test_threshold_year_freezes_percentile_limits(project: Path) -> None:
    text = project.read_text(encoding="utf-8").replace(
        "ecological = 0.0", 'ecological = "p50"')
    project.write_text(text, encoding="utf-8")
    moving = assess_change(load_config(project))
    w15, w23 = (moving.dates[y].units.set_index("unit_id").loc["E"] for y in (2015, 2023))
    assert w15["space_type"] == w23["space_type"] == "ecological"
    # p50 over the one ecological unit = its own density: never above its own limit
    assert w23["threshold_tc_per_ha"] == pytest.approx(w23["net_tc_per_ha"])
    assert w23["risk_level"] not in ("exceeding", "severe")
    project.write_text(text.replace('resample = "error"',
                                    'resample = "error"\nthreshold_year = 2015'),
                       encoding="utf-8")
    frozen = assess_change(load_config(project))
    f23 = frozen.dates[2023].units.set_index("unit_id").loc["E"]
    assert frozen.dates[2023].thresholds == frozen.dates[2015].thresholds
    assert f23["threshold_tc_per_ha"] == pytest.approx(w15["net_tc_per_ha"])
    assert f23["net_tc_per_ha"] > w15["net_tc_per_ha"]  # more built-up land in 2023
    assert f23["risk_level"] in ("exceeding", "severe")
    a = frozen.alerts
    assert ((a["unit_id"] == "E") & (a["alert"] == "threshold_crossed")).any()


def test_threshold_year_without_units_of_a_space_type_is_refused(project: Path,
                                                                  tmp_path: Path) -> None:
    """Limits frozen at 2015, all forest (no agricultural or construction unit: their p50 is
    of no value), while W is built-up or cropland in 2023: W had no threshold and the risk
    level no_data, silently. Refused, naming the type, a unit and the fixes."""
    write_tif(tmp_path / "lc_2015.tif", np.full((4, 4), 10, np.uint8))
    text = project.read_text(encoding="utf-8").replace(
        "agricultural = 0.5\nconstruction = 30.0",
        'agricultural = "p50"\nconstruction = "p50"').replace(
        'resample = "error"', 'resample = "error"\nthreshold_year = 2015')
    assert 'construction = "p50"' in text
    project.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"threshold_year = 2015.*W\b.*a number") as e:
        assess_change(load_config(project))
    assert "construction" in str(e.value) or "agricultural" in str(e.value)
    res = CliRunner().invoke(main, ["change", str(project), "-o", str(tmp_path / "out")])
    assert res.exit_code == 1 and "threshold_year = 2015" in res.output
    assert not (tmp_path / "out").exists()


def test_scenario_raster_on_the_baseline_grid_with_units_covering_part(project: Path) -> None:
    """The baseline is cut to the units' bounding box; a scenario raster on the same grid is
    cut the same way (it was refused as "not on the same grid" when the units did not cover
    the whole raster). The west unit's figures do not depend on the east unit being there."""
    import geopandas as gpd

    both = assess_scenarios(load_config(project)).deltas
    halves = gpd.read_file(project.parent / "halves.gpkg", layer="units")
    halves[halves["code"] == "W"].to_file(project.parent / "halves.gpkg", layer="units")
    west = assess_scenarios(load_config(project)).deltas
    assert set(west["unit_id"]) == {"W"}
    # the raster scenario (the "green" edits share an area among all units, so they do
    # depend on the east unit)
    west = west[west["scenario"] == "back_to_2015"].reset_index(drop=True)
    expected = both[(both["unit_id"] == "W") & (both["scenario"] == "back_to_2015")]
    expected = expected.reset_index(drop=True)
    # class columns of classes only the east unit holds are absent (empty for W in `both`)
    extra = [c for c in expected.columns if c not in west.columns]
    assert extra and expected[extra].fillna(0.0).eq(0.0).all().all()
    common = [c for c in expected.columns if c in west.columns]
    assert len(common) == len(west.columns)
    # (an area column present for another scenario only is NaN in one table, 0 in the other)
    pd.testing.assert_frame_equal(west[common].fillna(0.0), expected[common].fillna(0.0),
                                  check_exact=False, rtol=1e-12)
    back = west.set_index("scenario").loc["back_to_2015"]
    # hand-checked: column 0 and half of column 1 of the 2015 grid in the west unit
    assert back["covered_ha_scenario"] == pytest.approx(0.055, abs=1e-12)
    assert back["area_cropland_ha_scenario"] == pytest.approx(0.03, abs=1e-12)
    assert back["area_construction_ha_scenario"] == pytest.approx(0.025, abs=1e-12)


def test_change_and_scenario_files_are_reproducible(project: Path, tmp_path: Path) -> None:
    """Two runs write the same bytes into every table and GeoPackage (GDAL's last-change
    date is pinned for every layer landcarbon writes; the manifest differs by its timings)."""
    for command in ("change", "scenario"):
        folders = [tmp_path / f"{command}_{i}" for i in (1, 2)]
        for out in folders:
            res = CliRunner().invoke(main, [command, str(project), "-o", str(out)])
            assert res.exit_code == 0, res.output
        files = sorted(p.name for p in folders[0].iterdir()
                       if p.suffix in (".csv", ".gpkg", ".tif"))
        assert any(name.endswith(".gpkg") for name in files)
        for name in files:
            assert (folders[0] / name).read_bytes() == (folders[1] / name).read_bytes(), name


def test_change_step_timings_when_verbose(project: Path, tmp_path: Path) -> None:
    res = CliRunner().invoke(main, ["-v", "change", str(project), "-o", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    for name in ("check inputs", "2015 read", "2023 balance_and_risk", "assess dates",
                 "transitions", "dynamic risk, alerts", "stocks", "markov", "write outputs"):
        assert f"step {name}" in res.output, name
    manifest = json.loads((tmp_path / "o" / "change.json").read_text(encoding="utf-8"))
    assert {"check inputs", "assess dates", "transitions", "stocks",
            "markov"} <= set(manifest["timings_s"])
    quiet = CliRunner().invoke(main, ["change", str(project), "-o", str(tmp_path / "q")])
    assert quiet.exit_code == 0 and "step " not in quiet.output


def test_scenario_step_timings_when_verbose(project: Path, tmp_path: Path) -> None:
    res = CliRunner().invoke(main, ["-v", "scenario", str(project), "-o", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    for name in ("check inputs", "baseline", "scenario back_to_2015",
                 "scenario green (edits)", "write outputs"):
        assert f"step {name}" in res.output, name
