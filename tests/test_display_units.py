"""Display units for Chinese planners: 万吨 (10^4 t) and 公顷 / 亩 in the written tables, the
reasons and the report, applied only at the edges (exact values, names, the round trip, and
risk levels that do not depend on the display)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from conftest import GRID4_RUN_CONFIG
from hypothesis import given, settings
from hypothesis import strategies as st

from landcarbon.accounting.conversions import C_TO_CO2
from landcarbon.accounting.display_units import (
    DisplayUnits,
    display_name,
    from_display,
    to_display,
)
from landcarbon.accounting.risk import RiskBands, assess_risk
from landcarbon.accounting.thresholds import explicit_limits
from landcarbon.config.reference import reference_table
from landcarbon.config.run import config_from_dict
from landcarbon.exceptions import ConfigError
from landcarbon.pipeline._thresholds import risk_table

WAN_MU = DisplayUnits("t C", "wan_t", "mu")
WAN_MU_CO2 = DisplayUnits("t CO2", "wan_t", "mu")


def test_exact_values_15_ha_is_225_mu_and_12345_t_is_1_2345_wan() -> None:
    table = pd.DataFrame({"area_ha": [15.0], "net_tco2": [12_345.0],
                          "net_tco2_per_ha": [15.0], "share_agricultural": [0.5]})
    shown = to_display(table, WAN_MU_CO2)
    assert list(shown.columns) == ["area_mu", "net_wan_tco2", "net_tco2_per_mu",
                                   "share_agricultural"]
    assert shown.loc[0, "area_mu"] == 225.0
    assert shown.loc[0, "net_wan_tco2"] == 1.2345
    assert shown.loc[0, "net_tco2_per_mu"] == 1.0  # 15 t per ha = 1 t per 亩
    assert shown.loc[0, "share_agricultural"] == 0.5
    back = from_display(shown)
    assert list(back.columns) == list(table.columns)
    assert back.loc[0, "area_ha"] == 15.0 and back.loc[0, "net_tco2"] == 12_345.0
    assert back.loc[0, "net_tco2_per_ha"] == 15.0


@pytest.mark.parametrize(("column", "expected"), [
    ("net_tc", ("net_wan_tc", 1.0, 1e4)),
    ("emission_tco2", ("emission_wan_tco2", 1.0, 1e4)),
    ("net_tc_p95", ("net_wan_tc_p95", 1.0, 1e4)),
    ("net_tc_2023", ("net_wan_tc_2023", 1.0, 1e4)),
    ("net_tc_per_ha", ("net_tc_per_mu", 1.0, 15.0)),
    ("threshold_tco2_per_ha", ("threshold_tco2_per_mu", 1.0, 15.0)),
    ("net_agricultural_tc_per_ha", ("net_agricultural_tc_per_mu", 1.0, 15.0)),
    ("net_tc_per_ha_p5", ("net_tc_per_mu_p5", 1.0, 15.0)),
    ("covered_ha", ("covered_mu", 15.0, 1.0)),
    ("converted_to_construction_ha", ("converted_to_construction_mu", 15.0, 1.0)),
    ("price_per_tc", None),                        # a price, not a mass
    ("emission_tc_per_capita", None),              # an intensity
    ("emission_intensity_tc_per_10k_cny", None),
    ("net_tc_per_ha_class", None),                 # a class label
    ("risk_level", None),
])
def test_column_names_carry_the_unit(column: str, expected: tuple | None) -> None:
    assert display_name(column, WAN_MU) == expected


def test_canonical_display_changes_nothing() -> None:
    table = pd.DataFrame({"net_tc": [1.0], "area_ha": [2.0], "net_tc_per_ha": [0.5]})
    assert to_display(table, DisplayUnits()).equals(table)


def test_labels_in_english_and_chinese() -> None:
    assert WAN_MU_CO2.total_label("zh") == "万吨 CO₂/年"
    assert WAN_MU_CO2.total_label("en") == "10^4 t CO2/yr"
    assert WAN_MU.density_label("zh") == "吨 C/亩/年"
    assert WAN_MU.density_label("en") == "t C/mu/yr"
    assert DisplayUnits().density_label("zh") == "吨 C/公顷/年"
    assert DisplayUnits().area_label("zh") == "公顷" and WAN_MU.area_label("zh") == "亩"
    record = WAN_MU_CO2.record()
    assert record["columns"] == {"total": "<name>_wan_tco2", "density": "<name>_tco2_per_mu",
                                 "area": "<name>_mu"}
    assert DisplayUnits.from_record(record) == WAN_MU_CO2
    assert DisplayUnits.from_record(None, "t CO2") == DisplayUnits("t CO2")


def test_mass_text_in_t_and_wan_t() -> None:
    """1 decimal in t, 4 in 万吨 (12,345 t = 1.2345 万吨), and at least 3 significant digits
    (0.2399 t is not "0.2")."""
    t = DisplayUnits("t C", "t")
    assert [t.mass_text(x) for x in (1234.56, 0.0, 0.02733, -0.02089, 0.2399, 5.678)] == [
        "1,234.6", "0.0", "0.0273", "-0.0209", "0.240", "5.68"]
    assert [WAN_MU.mass_text(x) for x in (12345.0, 100.0, 0.0, 0.02733)] == [
        "1.2345", "0.0100", "0.0000", "0.00000273"]
    assert DisplayUnits("t C", "auto").mass_text(12345.0) == "12,345.0"  # auto: t
    assert WAN_MU_CO2.total_text(12345.0, "zh") == "1.2345 万吨 CO₂/年"
    assert t.total_text(0.02733, "en") == "0.0273 t C/yr"


def test_config_options_are_validated_and_documented() -> None:
    base = {"landcover": {"path": "x.tif"}, "units": {"path": "u.gpkg"}}
    cfg = config_from_dict({**base, "output": {"mass_scale": "wan_t", "area_unit": "mu"}})
    assert (cfg.output.mass_scale, cfg.output.area_unit) == ("wan_t", "mu")
    with pytest.raises(ConfigError, match="area_unit"):
        config_from_dict({**base, "output": {"area_unit": "acre"}})
    with pytest.raises(ConfigError, match="mass_scale"):
        config_from_dict({**base, "output": {"mass_scale": "kt"}})
    ref = reference_table()
    assert "`output.mass_scale`" in ref and "`output.area_unit`" in ref
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    assert "`output.mass_scale`" in readme and "`output.area_unit`" in readme


def _reason_table(sfx: str, factor: float) -> pd.DataFrame:
    """A construction unit 15 t C/ha over a 30 t C/ha limit on 15 ha, an agricultural unit
    0.2 t C/ha under a 0.4 limit on 1,500 ha."""
    return pd.DataFrame({
        "space_type": ["construction", "agricultural"],
        f"net_{sfx}_per_ha": [45.0 * factor, 0.2 * factor],
        f"emission_{sfx}": [700.0 * factor, 300.0 * factor],
        f"construction_emission_{sfx}": [630.0 * factor, 0.0],
        "area_cropland_ha": [0.0, 1500.0], "covered_ha": [15.0, 1500.0]})


def test_reasons_follow_the_display_units_in_english_and_chinese() -> None:
    ts = explicit_limits({"agricultural": 0.4, "construction": 30.0, "ecological": 0.0})
    risk = risk_table(_reason_table("tc", 1.0), ts, RiskBands(), "t C", 0.2, display=WAN_MU)
    en, zh = list(risk["risk_reason_en"]), list(risk["risk_reason_zh"])
    # 45 / 15 = 3.00 t C/亩, limit 30 / 15 = 2.00; 15 t C/ha over = 1.00 per 亩, +50 %;
    # 15 t C/ha x 15 ha = 225 t = 0.0225 万吨; emission 630 / 700 construction, 70 other land
    assert en[0] == ("construction space unit: net 3.00 t C/mu/yr > limit 2.00 (exceeding); "
                     "1.00 t C/mu/yr above its limit (+50%): 0.0225 10^4 t C/yr over it in "
                     "all; emission from construction energy 90%, other land 10%")
    assert zh[0] == ("建设空间单元：净排放 3.00 吨 C/亩/年，高于阈值 2.00（超过阈值）；"
                     "高于阈值 1.00 吨 C/亩/年 (+50%)，全单元超出 0.0225 万吨 C/年；"
                     "排放来源：建设用地能源消费 90%、其他地类 10%")
    # 0.2 - 0.4 = 0.2 t C/ha under = 0.0133 per 亩 (-50 %); 0.2 x 1,500 ha = 300 t = 0.03 万吨;
    # cropland 1,500 ha x 0.2 = 300 t C: all of the emission
    assert "0.01 t C/mu/yr below its limit (-50%): 0.0300 10^4 t C/yr under it in all" in en[1]
    assert en[1].endswith("emission from cropland 100%")
    assert "低于阈值 0.01 吨 C/亩/年 (-50%)，全单元余量 0.0300 万吨 C/年" in zh[1]
    assert zh[1].endswith("排放来源：耕地 100%")


def test_reasons_in_t_co2_per_mu() -> None:
    ts = explicit_limits({"agricultural": 0.4, "construction": 30.0, "ecological": 0.0})
    risk = risk_table(_reason_table("tco2", C_TO_CO2), ts, RiskBands(), "t CO2", 0.2,
                      display=WAN_MU_CO2)
    # 15 t C/ha = 55 t CO2/ha = 3.67 t CO2/亩; 55 x 15 ha = 825 t CO2 = 0.0825 万吨
    assert ("3.67 t CO2/mu/yr above its limit (+50%): 0.0825 10^4 t CO2/yr over it in all"
            in risk["risk_reason_en"].iloc[0])
    assert ("高于阈值 3.67 吨 CO₂/亩/年 (+50%)，全单元超出 0.0825 万吨 CO₂/年"
            in risk["risk_reason_zh"].iloc[0])
    assert risk["threshold_tco2_per_ha"].iloc[0] == pytest.approx(110.0)  # columns per ha


@settings(max_examples=60, deadline=None)
@given(net=st.lists(st.floats(-50, 200, allow_nan=False), min_size=1, max_size=12),
       scale=st.sampled_from(["t", "wan_t"]), area=st.sampled_from(["ha", "mu"]))
def test_risk_levels_do_not_depend_on_the_display(net: list[float], scale: str,
                                                  area: str) -> None:
    spaces = ["agricultural", "construction", "ecological"]
    table = pd.DataFrame({"space_type": [spaces[i % 3] for i in range(len(net))],
                          "net_tc_per_ha": net, "area_ha": np.arange(len(net)) + 1.0,
                          "net_tc": np.array(net) * 3.0})
    limits = {"agricultural": 8.0, "construction": 40.0, "ecological": 0.0}
    plain = assess_risk(table, limits)
    shown = DisplayUnits("t C", scale, area)  # type: ignore[arg-type]
    displayed = assess_risk(table, limits, display=shown)
    assert list(plain["risk_level"]) == list(displayed["risk_level"])
    assert np.array_equal(plain["threshold_tc_per_ha"], displayed["threshold_tc_per_ha"])
    back = from_display(to_display(table, shown))
    assert list(back.columns) == list(table.columns)
    assert np.allclose(back["net_tc"], table["net_tc"], rtol=1e-12, atol=1e-12)
    assert np.allclose(back["area_ha"], table["area_ha"], rtol=1e-12)


def _cli_run(config: Path, out: Path) -> pd.DataFrame:
    done = subprocess.run([sys.executable, "-m", "landcarbon.cli", "run", str(config), "-o",
                           str(out)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return pd.read_csv(out / "units.csv", encoding="utf-8-sig", dtype={"unit_id": str}
                       ).set_index("unit_id")


def test_a_run_in_wan_t_co2_and_mu_keeps_its_levels_and_limits(
        tmp_path: Path, grid4_tif: Path, halves_gpkg: Path) -> None:
    plain_cfg = tmp_path / "plain.toml"
    plain_cfg.write_text('language = "zh"\n' + GRID4_RUN_CONFIG
                         + '[output]\nmap_tiles = ""\n', encoding="utf-8")
    shown_cfg = tmp_path / "shown.toml"
    shown_cfg.write_text('language = "zh"\n' + GRID4_RUN_CONFIG.replace(
        "[construction]", '[coefficients]\noutput_unit = "t CO2"\n[construction]')
        + '[output]\nmap_tiles = ""\nmass_scale = "wan_t"\narea_unit = "mu"\n',
        encoding="utf-8")
    a = _cli_run(plain_cfg, tmp_path / "plain")
    b = _cli_run(shown_cfg, tmp_path / "shown")
    assert list(a["risk_level"]) == list(b["risk_level"])
    assert "net_wan_tco2" in b and "net_tco2_per_mu" in b and "covered_mu" in b
    assert not any(c.endswith("_ha") for c in b.columns)
    assert b.loc["W", "covered_mu"] == pytest.approx(a.loc["W", "covered_ha"] * 15, rel=1e-6)
    # units.csv has 6 decimals (0.01 t in 万吨); units.gpkg keeps every digit
    assert b["net_wan_tco2"].to_numpy() == pytest.approx(
        a["net_tc"].to_numpy() * C_TO_CO2 / 1e4, abs=5e-7)
    gpkg = gpd.read_file(tmp_path / "shown" / "units.gpkg", layer="units")
    plain = gpd.read_file(tmp_path / "plain" / "units.gpkg", layer="units")
    assert gpkg["net_wan_tco2"].to_numpy() == pytest.approx(
        plain["net_tc"].to_numpy() * C_TO_CO2 / 1e4, rel=1e-12)
    assert gpkg["covered_mu"].to_numpy() == pytest.approx(
        plain["covered_ha"].to_numpy() * 15, rel=1e-12)
    # the limits: 0.422 t C/ha (W, agricultural) = 0.422 x 44/12 / 15 t CO2/亩
    assert gpkg["threshold_tco2_per_mu"].to_numpy() == pytest.approx(
        plain["threshold_tc_per_ha"].to_numpy() * C_TO_CO2 / 15, rel=1e-12)
    assert gpkg["threshold_tco2_per_mu"].iloc[0] == pytest.approx(0.422 * 44 / 12 / 15)
    assert b.loc["W", "risk_reason_zh"].count("吨 CO₂/亩/年") >= 2
    manifest = json.loads((tmp_path / "shown" / "run.json").read_text(encoding="utf-8"))
    assert manifest["settings"]["display"]["columns"]["total"] == "<name>_wan_tco2"
    assert manifest["settings"]["thresholds_tc_per_ha"]["construction"] == 8.0  # compute: t C
    report = (tmp_path / "shown" / "report.html").read_text(encoding="utf-8")
    assert "万吨 CO₂/年" in report and "吨 CO₂/亩/年" in report and "(亩)" in report
    ca = pd.read_csv(tmp_path / "shown" / "class_areas.csv", encoding="utf-8-sig")
    assert "area_mu" in ca and "area_ha" not in ca


def test_dynamic_risk_reason_gives_the_converted_land_in_mu() -> None:
    from test_dynamic_risk import AFTER, BEFORE, CONVERTED

    from landcarbon.change.dynamic_risk import dynamic_risk

    d = dynamic_risk(BEFORE, AFTER, year_from=2015, year_to=2023, converted_ha=CONVERTED,
                     conversion_min_ha=5.0, display=WAN_MU)
    # C: 6 ha = 90 亩 converted (the flag is decided in ha: 6 > 5 ha)
    assert "R3: 90.0 mu of ecological/agricultural space became construction land" in \
        d.loc["C", "dynamic_risk_reason_en"]
    assert "90.0 亩生态/农业空间转为建设用地" in d.loc["C", "dynamic_risk_reason_zh"]
    assert d.loc["C", "converted_to_construction_ha"] == 6.0  # the column stays in ha
    plain = dynamic_risk(BEFORE, AFTER, year_from=2015, year_to=2023, converted_ha=CONVERTED,
                         conversion_min_ha=5.0)
    assert "6.0 公顷生态/农业空间转为建设用地" in plain.loc["C", "dynamic_risk_reason_zh"]
    assert plain["flag_r3"].tolist() == d["flag_r3"].tolist()


def test_map_popups_follow_the_display_units() -> None:
    from landcarbon.publish._html import popup_record, popup_tables

    row = {"unit_id": "W", "unit_name": "西", "space_type": "agricultural",
           "covered_ha": 15.0, "emission_tc": 12_345.0, "construction_emission_tc": 0.0,
           "sequestration_tc": 0.0, "net_tc": 12_345.0, "net_tc_per_ha": 15.0,
           "threshold_tc_per_ha": 7.5, "risk_level": "severe", "area_cropland_ha": 15.0}
    zh = popup_record(row, "zh", "tc", "t C", WAN_MU)
    # 15 ha = 225 亩; 12,345 t = 1.23 万吨 (2 decimals); 15 t/ha = 1.00 t/亩; limit 0.50
    assert zh[4:12] == ["225.0 亩", "1.23 万吨 C/年", "其他地类直接排放 100%", "0.00 万吨 C/年",
                        "1.23 万吨 C/年", "1.00 吨 C/亩/年", "0.50 吨 C/亩/年",
                        "高于阈值 0.50 吨 C/亩/年"]
    assert zh[-1] == [[0, "225.0"]]
    assert popup_tables("zh", WAN_MU)["land_head"][1] == "面积 (亩)"
    en = popup_record(row, "en", "tc", "t C")  # no display: t and ha as before
    assert en[4] == "15.0 ha" and en[5] == "12,345.0 t C/yr" and en[9] == "15.00 t C/ha/yr"


def test_columns_in_wan_t_keep_three_figures_of_small_totals() -> None:
    """mass_scale = "wan_t" on a small study area showed every total as 0.00 万吨: the
    column gets the decimals that give its largest value 3 significant figures (2 at
    least, 6 at most); a column reaching 0.1 万吨 keeps 2."""
    from landcarbon.publish._units import display_scope, total_column, total_scale

    with display_scope("wan_t"):
        label, f = total_column([5.16, -0.9, 2.5], "t C", "zh")
        assert label == "万吨 C/年" and f(5.16) == "0.000516" and f(-0.9) == "-0.000090"
        assert total_column([480.0], "t C", "zh")[1](480.0) == "0.0480"
        assert total_column([131_300.0], "t C", "zh")[1](131_300.0) == "13.13"
        assert total_scale([5.16], "t C", "zh") == ("万吨 C/年", 1e4, 6)
