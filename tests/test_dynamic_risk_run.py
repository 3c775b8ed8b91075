"""Dynamic carbon risk in a real `landcarbon change` run on the 4 x 4 raster pair (GRID4 ->
GRID4B, two units W and E), with and without ``[zoning]``: R2/R3 by hand, in the units tables
of the later date and in timeseries.csv, and GDP per date for intensity and Tapio."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import GRID4, GRID4_RUN_CONFIG, write_tif
from test_change import GRID4B

from landcarbon.cli import main

CONFIG = '\ntitle = "dynamic risk"\n' + GRID4_RUN_CONFIG.replace(
    "grid4.tif", "lc_2023.tif") + """{zoning}[change]
[[change.dates]]
year = 2015
landcover = "lc_2015.tif"
statistics = "stats_2015.csv"
[[change.dates]]
year = 2023
landcover = "lc_2023.tif"
statistics = "stats_2023.csv"
[change.monitoring]
sink_loss_share = 0.05
conversion_min_ha = 0.004
"""

# Emissions by hand (t C/yr; cropland +0.422 t C/ha, construction 50 t C/ha, 1 px = 0.01 ha;
# the unit border runs through the middle of column 1):
#   W 2015: cropland 0.03 ha, construction 0.025 ha -> 0.01266 + 1.25    = 1.26266
#   W 2023: cropland 0.025 ha, construction 0.03 ha -> 0.01055 + 1.5     = 1.51055
#   E 2015: cropland 0.01 ha, construction 0.005 ha -> 0.00422 + 0.25    = 0.25422
#   E 2023: cropland 0.005 ha, construction 0.02 ha -> 0.00211 + 1.0     = 1.00211
# Sequestration of E: forest 0.03 x 0.644 + grassland 0.02 x 0.021 + water 0.03 x 0.253
#   = 0.02733 (2015); forest 0.02, grassland 0.02, water 0.02, wetland 0.01 (as water)
#   = 0.01288 + 0.00042 + 0.00506 + 0.00253 = 0.02089 (2023); W holds no sink.
E = {("W", 2015): 1.26266, ("W", 2023): 1.51055, ("E", 2015): 0.25422, ("E", 2023): 1.00211}
REGION = (1.51055 + 1.00211) / (1.26266 + 0.25422) - 1


@pytest.fixture
def project(tmp_path: Path, halves_gpkg: Path) -> Path:
    write_tif(tmp_path / "lc_2015.tif", GRID4)
    write_tif(tmp_path / "lc_2023.tif", GRID4B)
    (tmp_path / "stats_2015.csv").write_text("unit_id,gdp_10k_cny\nW,100\nE,100\n",
                                             encoding="utf-8")
    (tmp_path / "stats_2023.csv").write_text("unit_id,gdp_10k_cny\nW,150\nE,120\n",
                                             encoding="utf-8")
    return tmp_path


def _run(project: Path, zoning: str) -> Path:
    cfg = project / "change.toml"
    cfg.write_text(CONFIG.format(zoning=zoning), encoding="utf-8")
    out = project / "out"
    res = CliRunner().invoke(main, ["-q", "change", str(cfg), "-o", str(out), "--overwrite"])
    assert res.exit_code == 0, res.output
    return out


@pytest.mark.parametrize("zoning", [
    "", '[zoning]\ngraded_columns = []\nratio_threshold = 5.0\n',
    '[zoning]\nrisk_flags = ["R1", "R4"]\n'])
def test_r2_r3_by_hand_in_the_change_outputs(project: Path, zoning: str) -> None:
    out = _run(project, zoning)
    u = pd.read_csv(out / "units_2023.csv", encoding="utf-8-sig").set_index("unit_id")
    growth = {k: 100 * (E[(k, 2023)] / E[(k, 2015)] - 1) for k in ("W", "E")}
    assert u.loc["W", "emission_growth_pct"] == pytest.approx(growth["W"], rel=1e-6)  # +19.6
    assert u.loc["E", "emission_growth_pct"] == pytest.approx(growth["E"], rel=1e-6)  # +294
    assert u["region_emission_growth_pct"].tolist() == pytest.approx([100 * REGION] * 2,
                                                                      rel=1e-6)
    assert u["flag_r2"].astype(bool).tolist() == [False, True]    # W +19.6 %, E +294 %
    # R3: W: half a pixel of cropland became construction (0.005 ha > 0.004 ha);
    # E: sink -23.6 % (> 5 %) and 0.015 ha converted
    assert u.loc["W", "converted_to_construction_ha"] == pytest.approx(0.005)
    assert u.loc["E", "converted_to_construction_ha"] == pytest.approx(0.015)
    assert u.loc["E", "sequestration_change_pct"] == pytest.approx(
        100 * (0.02089 / 0.02733 - 1), rel=1e-6)
    assert u["flag_r3"].astype(bool).tolist() == [True, True]
    assert u["dynamic_risk"].astype(bool).tolist() == [True, True]
    # intensity (t C per 10^4 CNY) against 2015 and Tapio: W e = 0.19632 / 0.5
    assert u.loc["W", "emission_intensity_change_pct"] == pytest.approx(
        100 * ((1.51055 / 150) / (1.26266 / 100) - 1), rel=1e-6)
    assert u.loc["W", "tapio_elasticity"] == pytest.approx(growth["W"] / 100 / 0.5, rel=1e-6)
    assert u.loc["W", "tapio_state"] == "weak_decoupling"
    assert u.loc["E", "tapio_state"] == "expansive_negative_decoupling"     # e = 14.7
    if "ratio_threshold" in zoning:  # the overlay carries the same R2 / R3 and counts them
        assert "R2" in u.loc["E", "risk_flags"] and "R3" in u.loc["W", "risk_flags"]
    if "risk_flags" in zoning:       # flags left out of the overlay are not counted in it
        assert not u["risk_flags"].fillna("").str.contains("R2|R3").any()
    t = pd.read_csv(out / "timeseries.csv", encoding="utf-8-sig")
    later = t[t["year"] == 2023]
    assert later["flag_r2"].notna().all() and later["flag_r3"].notna().all()
    assert t[t["year"] == 2015]["flag_r2"].isna().all()      # no earlier date
    u15 = pd.read_csv(out / "units_2015.csv", encoding="utf-8-sig")
    assert "dynamic_risk" not in u15


def test_change_map_and_report_show_units_entering_risk(project: Path) -> None:
    out = _run(project, "")
    report = (out / "report.html").read_text(encoding="utf-8")
    section = report[report.index('id="entering-risk"'):report.index('id="alerts"')]
    assert "2015-2023: 2 / 2" in section                 # both units enter risk
    assert "R2" in section and "+294.2 %" in section     # E's emission growth, with figures
    html = (out / "map.html").read_text(encoding="utf-8")
    assert "进入碳风险的单元" in html or "Units entering carbon risk" in html


def test_validate_checks_the_statistics_of_every_date(project: Path) -> None:
    cfg = project / "change.toml"
    cfg.write_text(CONFIG.format(zoning=""), encoding="utf-8")
    assert CliRunner().invoke(main, ["validate", str(cfg)]).exit_code == 0
    (project / "stats_2023.csv").write_text("unit_id,gdp_10k_cny\nW,150\nE,lots\n",
                                            encoding="utf-8")
    res = CliRunner().invoke(main, ["validate", str(cfg)])
    assert res.exit_code == 1
    assert "[change] dates 2023: statistics = 'stats_2023.csv'" in res.output
    assert "gdp_10k_cny" in res.output


def test_three_dates_compare_each_date_with_the_one_before(project: Path) -> None:
    (project / "stats_2030.csv").write_text("unit_id,gdp_10k_cny\nW,200\nE,150\n",
                                            encoding="utf-8")
    text = CONFIG.format(zoning="").replace("[change.monitoring]", """[[change.dates]]
year = 2030
landcover = "lc_2015.tif"
statistics = "stats_2030.csv"
[change.monitoring]""")
    (project / "change.toml").write_text(text, encoding="utf-8")
    out = project / "out3"
    res = CliRunner().invoke(main, ["-q", "change", str(project / "change.toml"), "-o",
                                    str(out)])
    assert res.exit_code == 0, res.output
    u = pd.read_csv(out / "units_2030.csv", encoding="utf-8-sig").set_index("unit_id")
    assert u["change_from_year"].tolist() == [2023, 2023]
    # back to the 2015 land: W's emission falls to its 2015 value, no sink lost in W
    assert u.loc["W", "emission_growth_pct"] == pytest.approx(
        100 * (E[("W", 2015)] / E[("W", 2023)] - 1), rel=1e-6)
    assert u["flag_r2"].notna().all() and u["flag_r3"].notna().all()
    # intensity against the first date: W 1.26266 / 200 vs 1.26266 / 100 = -50 %
    assert u.loc["W", "emission_intensity_change_pct"] == pytest.approx(-50.0)
    t = pd.read_csv(out / "timeseries.csv", encoding="utf-8-sig")
    assert t.groupby("year")["flag_r2"].count().to_dict() == {2015: 0, 2023: 2, 2030: 2}
    # the last date against the first: the same land and emissions as in 2015, GDP doubled
    # in W: nothing enters risk; the period is counted in change.json
    assert u["dynamic_risk_vs_base"].astype(bool).tolist() == [False, False]
    totals = json.loads((out / "change.json").read_text(encoding="utf-8"))["totals"]
    assert set(totals["dynamic_risk"]) == {"2015-2023", "2023-2030", "2015-2030"}
    assert totals["dynamic_risk"]["2015-2030"]["units_entering_risk"] == 0


def test_change_run_in_wan_t_and_mu_keeps_its_flags(project: Path) -> None:
    """The display units rename and scale the written columns of a change run only: the
    R2/R3 flags and levels are those of the canonical run."""
    out = _run(project, "")
    plain = pd.read_csv(out / "units_2023.csv", encoding="utf-8-sig").set_index("unit_id")
    cfg = project / "change.toml"
    cfg.write_text(CONFIG.format(zoning="") + '[output]\nmass_scale = "wan_t"\n'
                   'area_unit = "mu"\n', encoding="utf-8")
    res = CliRunner().invoke(main, ["-q", "change", str(cfg), "-o", str(project / "mu")])
    assert res.exit_code == 0, res.output
    u = pd.read_csv(project / "mu" / "units_2023.csv", encoding="utf-8-sig"
                    ).set_index("unit_id")
    for col in ("flag_r2", "flag_r3", "dynamic_risk", "risk_level", "tapio_state"):
        assert u[col].tolist() == plain[col].tolist(), col
    # W: 0.005 ha = 0.075 亩 converted; 1.51055 t C = 0.000151055 万吨 (6 decimals in CSV)
    assert u.loc["W", "converted_to_construction_mu"] == pytest.approx(0.075, abs=1e-6)
    assert u.loc["W", "emission_wan_tc"] == pytest.approx(1.51055e-4, abs=1e-6)
    assert "0.1 亩生态/农业空间转为建设用地" in u.loc["W", "dynamic_risk_reason_zh"]
    t = pd.read_csv(project / "mu" / "timeseries.csv", encoding="utf-8-sig")
    assert "net_wan_tc" in t and "covered_mu" in t and "net_tc" not in t
    manifest = json.loads((project / "mu" / "change.json").read_text(encoding="utf-8"))
    assert manifest["display"]["area_unit"] == "mu"
    # the change report follows the display units too: areas in 亩, totals in 万吨
    page = (project / "mu" / "report.html").read_text(encoding="utf-8")
    text = re.sub(r"(<[^>]+>)+", "|", page)
    covered = t.groupby("year")["covered_mu"].sum()
    assert f"|2023|{covered[2023]:,.1f}|" in text
    # (this config's pages are in English: mu and 10^4 t; in Chinese 亩 and 万吨)
    assert "Covered area (mu)" in text and "(ha)" not in text
    assert "Transfer matrix (mu)" in text
    assert "Net emission (10^4 t C/yr)" in text and "(t C/yr)" not in text
    # conversion alerts speak 亩 too; their value and limit stay in ha (value_unit)
    al = pd.read_csv(project / "mu" / "alerts.csv", encoding="utf-8-sig")
    pal = pd.read_csv(out / "alerts.csv", encoding="utf-8-sig")
    conv = al[al["alert"].str.endswith("_to_construction")]
    assert len(conv) and conv["message_zh"].str.contains("亩").all()
    assert not conv["message_zh"].str.contains("公顷").any()
    assert conv["message_en"].str.contains(" mu of ").all()
    assert (conv["value_unit"] == "ha").all()
    assert conv["value"].tolist() == pal[pal["alert"].str.endswith("_to_construction")][
        "value"].tolist()
    assert pal[pal["alert"].str.endswith("_to_construction")]["message_zh"].str.contains(
        "公顷").all()
    # the sink-loss message of E in 万吨 (0.02733 -> 0.02089 t C/yr, -23.6 %: 3 significant
    # digits where 4 decimals of 万吨 would print 0); its value is the plain run's share
    loss, plain_loss = (t.set_index(["unit_id", "alert"]).loc[("E", "sink_loss")]
                        for t in (al, pal))
    assert (loss["message_en"], loss["message_zh"]) == (
        "sequestration fell 23.6% from 0.00000273 to 0.00000209 10^4 t C/yr (2015-2023; "
        "alert above 5%)", "碳汇量下降 23.6%：0.00000273 → 0.00000209 万吨 C/年（2015-2023 年，"
        "预警线 5%）")
    assert (plain_loss["message_en"], plain_loss["message_zh"]) == (
        "sequestration fell 23.6% from 0.0273 to 0.0209 t C/yr (2015-2023; alert above 5%)",
        "碳汇量下降 23.6%：0.0273 → 0.0209 吨 C/年（2015-2023 年，预警线 5%）")
    # (alerts.csv: 6 decimals)
    assert loss["value"] == plain_loss["value"] == pytest.approx(
        (0.02733 - 0.02089) / 0.02733, abs=1e-6)
    assert loss["value_unit"] == "share"
    plain = re.sub(r"(<[^>]+>)+", "|", (out / "report.html").read_text(encoding="utf-8"))
    assert "Transfer matrix (ha)" in plain and "(mu)" not in plain
    assert "Net emission (t C/yr)" in plain
