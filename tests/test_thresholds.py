"""Threshold methods: hand-computed limits of every method, the pathway in given years, the
monotonicity of risk in emissions (hypothesis), and the demo's absolute default."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pytest import approx

from landcarbon.accounting.risk import RiskBands, assess_risk
from landcarbon.accounting.thresholds import (
    PathwayTargets,
    carrying_capacity_limits,
    explicit_limits,
    pathway_limits,
    pathway_multiplier,
    percentile_limits,
)
from landcarbon.config.run import config_from_dict
from landcarbon.exceptions import ConfigError

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data" / "sample_tiles"

TARGETS = PathwayTargets(base_year=2020, peak_year=2030, neutrality_year=2060,
                         intensity_reduction_pct=18.0, intensity_target_year=2025,
                         gdp_growth_pct=6.0)
#: yearly emission factor: 1.06 x 0.82^(1/5)
G = 1.06 * 0.82 ** 0.2


def test_explicit_limits_keep_the_numbers_and_say_so() -> None:
    ts = explicit_limits({"agricultural": 0.844, "construction": 40, "ecological": 0})
    assert ts.limits == {"agricultural": 0.844, "construction": 40.0, "ecological": 0.0}
    assert ts.method == "explicit" and not ts.relative
    assert ts.rules["construction"] == "explicit limit 40 t C/ha/yr"
    with pytest.raises(ConfigError, match="ecological"):
        explicit_limits({"agricultural": 1, "construction": 2})


def test_pathway_multiplier_by_year() -> None:
    # before and at the base year: the base density itself
    assert pathway_multiplier(2015, TARGETS) == 1.0
    assert pathway_multiplier(2020, TARGETS) == 1.0
    # 2023: three years of 6 % growth and of the 5-year root of 0.82
    assert pathway_multiplier(2023, TARGETS) == approx(G ** 3)
    assert pathway_multiplier(2023, TARGETS) == approx(1.0573, abs=1e-4)
    # 2025, the intensity target year: GDP x 1.06^5 x 0.82
    assert pathway_multiplier(2025, TARGETS) == approx(1.06 ** 5 * 0.82)
    # 2030, the peak
    peak = G ** 10
    assert pathway_multiplier(2030, TARGETS) == approx(peak)
    # 2045 is half-way from the peak to neutrality: half of the peak value
    assert pathway_multiplier(2045, TARGETS) == approx(peak / 2)
    # from neutrality on: the residual share (0 here)
    assert pathway_multiplier(2060, TARGETS) == 0.0
    assert pathway_multiplier(2070, TARGETS) == 0.0


def test_pathway_limits_of_2030_are_judged_in_2030() -> None:
    base = {"agricultural": 8.0, "construction": 47.0, "ecological": -0.3}
    ts = pathway_limits(base, 2030, TARGETS, source="test")
    assert ts.method == "pathway" and ts.year == 2030 and ts.base_year == 2020
    assert ts.limits["construction"] == approx(47.0 * G ** 10)
    assert ts.limits["agricultural"] == approx(8.0 * G ** 10)
    # a sink is never scaled: it must not weaken
    assert ts.limits["ecological"] == -0.3
    later = pathway_limits(base, 2050, TARGETS)
    assert later.limits["construction"] == approx(47.0 * G ** 10 / 3)  # 2/3 of the way down
    assert later.limits["construction"] < ts.limits["construction"]
    assert "x 1.0" in pathway_limits(base, 2021, TARGETS).rules["construction"]


def test_pathway_residual_share_at_neutrality() -> None:
    t = PathwayTargets(2020, 2030, 2060, 18.0, 2025, 6.0, neutral_share=0.1)
    assert pathway_multiplier(2060, t) == approx(0.1)
    peak = G ** 10
    assert pathway_multiplier(2040, t) == approx(peak + (0.1 - peak) / 3)


@pytest.mark.parametrize("kwargs, match", [
    ({"peak_year": 2019}, "peak_year"),
    ({"neutrality_year": 2030}, "neutrality_year"),
    ({"intensity_target_year": 2020}, "intensity_target_year"),
    ({"intensity_reduction_pct": 120}, "intensity_reduction_pct"),
])
def test_pathway_targets_refuse_impossible_years(kwargs: dict, match: str) -> None:
    args = {"base_year": 2020, "peak_year": 2030, "neutrality_year": 2060,
            "intensity_reduction_pct": 18.0, "intensity_target_year": 2025,
            "gdp_growth_pct": 6.0} | kwargs
    with pytest.raises(ConfigError, match=match):
        PathwayTargets(**args)


def test_carrying_capacity_by_area() -> None:
    # sink 1,000 t C/yr shared by area: agricultural 300 ha, construction 100 ha
    ts = carrying_capacity_limits(1000.0, {"agricultural": 300.0, "construction": 100.0,
                                           "ecological": 50.0},
                                  {"agricultural": 300.0, "construction": 100.0}, key="area")
    assert ts.limits["ecological"] == 0.0
    # 1000 x 0.75 / 300 = 2.5 and 1000 x 0.25 / 100 = 2.5: by area, one density for both
    assert ts.limits["agricultural"] == approx(2.5)
    assert ts.limits["construction"] == approx(2.5)
    # region-wide, the emitting spaces at their limits emit exactly the sink
    assert 300 * ts.limits["agricultural"] + 100 * ts.limits["construction"] == approx(1000)


def test_carrying_capacity_by_shares() -> None:
    ts = carrying_capacity_limits(1200.0, {"agricultural": 400.0, "construction": 100.0},
                                  {"agricultural": 1.0, "construction": 3.0})
    assert ts.limits["agricultural"] == approx(1200 * 0.25 / 400)   # 0.75
    assert ts.limits["construction"] == approx(1200 * 0.75 / 100)   # 9.0
    with pytest.raises(ConfigError, match="nothing to the space"):
        carrying_capacity_limits(10.0, {"agricultural": 1.0, "construction": 0.0},
                                 {"agricultural": 0.0, "construction": 1.0})


def test_carrying_capacity_region_without_a_space() -> None:
    """A region without agricultural land (an island, a city): construction takes the whole
    sink; agricultural land appearing later must be net-neutral."""
    ts = carrying_capacity_limits(10.0, {"agricultural": 0.0, "construction": 4.0},
                                  {"agricultural": 1.0, "construction": 1.0})
    assert ts.limits == {"ecological": 0.0, "agricultural": 0.0, "construction": 2.5}
    assert "no agricultural land" in ts.rules["agricultural"]
    # nothing emitting at all: both limits 0
    ts = carrying_capacity_limits(10.0, {"ecological": 9.0}, {"agricultural": 1.0,
                                                              "construction": 1.0})
    assert ts.limits == {"ecological": 0.0, "agricultural": 0.0, "construction": 0.0}
    # key = emission with no emission anywhere: shared by area instead, said in the rule
    ts = carrying_capacity_limits(12.0, {"agricultural": 2.0, "construction": 1.0},
                                  {"agricultural": 0.0, "construction": 0.0}, key="emission")
    assert ts.limits["agricultural"] == approx(4.0) and ts.limits["construction"] == approx(4.0)
    assert "by area instead" in ts.rules["construction"]


def _units(net: list[float], space: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"net_tc_per_ha": net, "space_type": space,
                         **{f"net_{s}_tc_per_ha": net for s in
                            ("agricultural", "construction", "ecological")}})


def test_percentile_limits_are_relative_and_labelled() -> None:
    table = _units([1.0, 2.0, 3.0, 5.0, 10.0, 20.0, -1.0],
                   ["agricultural"] * 4 + ["construction"] * 2 + ["ecological"])
    ts = percentile_limits({"agricultural": "p50", "construction": 30.0, "ecological": 0.0},
                           table, base_year=2020)
    assert ts.limits["agricultural"] == approx(2.5)  # median of 1, 2, 3, 5
    assert ts.limits["construction"] == 30.0
    assert ts.relative and ts.method == "percentile" and ts.base_year == 2020
    assert ts.rules["agricultural"].startswith("relative: P50")
    assert "at 2020" in ts.rules["agricultural"]
    assert ts.record()["relative"] is True


LEVELS_AT_OR_ABOVE_EXCEEDING = ("exceeding", "severe")


@settings(max_examples=60, deadline=None)
@given(
    net=st.lists(st.floats(-5, 80, allow_nan=False), min_size=1, max_size=30),
    space_idx=st.lists(st.integers(0, 2), min_size=30, max_size=30),
    raise_by=st.lists(st.floats(0, 50, allow_nan=False), min_size=30, max_size=30),
    limits=st.tuples(st.floats(-1, 20), st.floats(0, 80), st.floats(-1, 1)),
)
def test_raising_emissions_never_lowers_units_at_exceeding_or_above(net, space_idx, raise_by,
                                                                    limits) -> None:
    """Absolute limits: adding emissions to every unit never reduces the number of units
    at ``exceeding`` or ``severe`` (each unit's level can only go up)."""
    spaces = ("agricultural", "construction", "ecological")
    n = len(net)
    space = [spaces[i] for i in space_idx[:n]]
    ts = explicit_limits(dict(zip(spaces, limits, strict=True)))
    before = _units(net, space)
    after = _units([x + d for x, d in zip(net, raise_by[:n], strict=True)], space)
    bands = RiskBands()

    def count(t: pd.DataFrame) -> int:
        levels = assess_risk(t, ts.limits, bands)["risk_level"]
        return int(levels.isin(LEVELS_AT_OR_ABOVE_EXCEEDING).sum())

    assert count(after) >= count(before)


def test_config_infers_the_method() -> None:
    base = tomllib.loads((SAMPLE / "demo.toml").read_text(encoding="utf-8"))
    base.pop("thresholds")
    cfg = config_from_dict(base, SAMPLE)
    assert cfg.thresholds.resolved_method() == "carrying_capacity"  # nothing set
    cfg = config_from_dict(base | {"thresholds": {"agricultural": 1, "construction": 2,
                                                  "ecological": 0}}, SAMPLE)
    assert cfg.thresholds.resolved_method() == "explicit"
    with pytest.raises(ConfigError, match=r"thresholds\.pathway"):
        config_from_dict(base | {"thresholds": {"method": "pathway"}}, SAMPLE)
    with pytest.raises(ConfigError, match=r"base_tc_per_ha lacks ecological"):
        config_from_dict(base | {"thresholds": {"pathway": {
            "base_year": 2020, "gdp_growth_pct": 5.0,
            "base_tc_per_ha": {"agricultural": 1, "construction": 2}}}}, SAMPLE)


# --- the demo: absolute limits that respond to emissions ------------------------------------

def _demo(tmp_path: Path, energy_factor: float):
    from landcarbon.config.run import load_config
    from landcarbon.pipeline import assess

    folder = tmp_path / f"demo_x{energy_factor:g}"
    folder.mkdir()
    for name in ("landcover_2023.tif", "townships.gpkg", "demo.toml"):
        shutil.copy(SAMPLE / name, folder / name)
    energy = pd.read_csv(SAMPLE / "energy_2023.csv")
    fuels = [c for c in energy.columns if c not in ("unit_id", "unit_name", "year")]
    energy[fuels] = energy[fuels] * energy_factor
    energy.to_csv(folder / "energy_2023.csv", index=False)
    return assess(load_config(folder / "demo.toml"))


@pytest.fixture(scope="module")
def demo_pair(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("demo")
    return _demo(tmp, 1.0), _demo(tmp, 2.0)


def test_demo_default_is_absolute_and_recorded(demo_pair) -> None:
    a, _ = demo_pair
    ts = a.threshold_set
    assert ts is not None and ts.method == "pathway" and not ts.relative and ts.year == 2023
    assert a.thresholds["construction"] == approx(47.0 * G ** 3)
    assert a.thresholds["agricultural"] == approx(8.0 * G ** 3)
    assert a.thresholds["ecological"] == 0.0
    u = a.units
    assert set(u["threshold_method"]) == {"pathway"}
    assert u["threshold_rule"].str.startswith("pathway").all()
    assert a.construction["grid_factor"]["key"] == "central_china_2022"
    assert a.construction["grid_factor_kg_co2_per_kwh"] == 0.5395


def test_demo_doubling_energy_moves_units_into_risk(demo_pair) -> None:
    a, b = demo_pair
    assert a.thresholds == b.thresholds  # the limits do not move with the data
    over = ("exceeding", "severe")
    n_a = int(a.units["risk_level"].isin(over).sum())
    n_b = int(b.units["risk_level"].isin(over).sum())
    assert n_b > n_a
    assert (n_a, n_b) == (34, 50)  # docs/thresholds.md: 34 -> 50 of 65 units
    rank = {"no_data": -1, "net_sink": 0, "within": 1, "approaching": 2, "exceeding": 3,
            "severe": 4}
    la = a.units.set_index("unit_id")["risk_level"].map(rank)
    lb = b.units.set_index("unit_id")["risk_level"].map(rank)
    assert (lb >= la).all()  # no unit's level falls
    assert np.isclose(b.units["emission_tc"].sum() / a.units["emission_tc"].sum(), 2.0,
                      rtol=0.01)


def test_reasons_say_distance_and_drivers() -> None:
    from landcarbon.pipeline._thresholds import risk_table

    table = pd.DataFrame({
        "space_type": ["construction", "agricultural"], "net_tc_per_ha": [12.0, 0.3],
        "emission_tc": [120.0, 50.0], "construction_emission_tc": [90.0, 0.0],
        "area_cropland_ha": [10.0, 100.0]})
    ts = explicit_limits({"agricultural": 0.4, "construction": 10.0, "ecological": 0.0})
    risk = risk_table(table, ts, RiskBands(), "t C", cropland_tc_per_ha=0.422)
    en, zh = list(risk["risk_reason_en"]), list(risk["risk_reason_zh"])
    # 12 - 10 = 2 above (+20 %); construction 90 / 120, cropland 4.22 / 120, rest other land
    assert "2.00 t C/ha/yr above its limit (+20%)" in en[0]
    assert "emission from construction energy 75%, other land 21%, cropland 4%" in en[0]
    assert "高于阈值 2.00 吨 C/公顷/年 (+20%)" in zh[0] and "建设用地能源消费 75%" in zh[0]
    # 0.3 - 0.4: 0.100 below (-25 %); cropland 42.2 of 50
    assert "0.10 t C/ha/yr below its limit (-25%)" in en[1]
    assert en[1].endswith("emission from cropland 84%, other land 16%")
    assert list(risk["threshold_method"]) == ["explicit", "explicit"]


def _energy_run(tmp_path: Path, name: str, electricity_10k_kwh: float) -> tuple[pd.DataFrame,
                                                                                dict]:
    """A CLI run over GRID4 with the DEFAULT thresholds (none configured: carrying capacity)
    and the default electricity factor, each unit using ``electricity_10k_kwh``."""
    import json
    import subprocess
    import sys

    from conftest import GRID4_RUN_CONFIG

    folder = tmp_path / name
    folder.mkdir()
    (folder / "energy.csv").write_text(f"unit_id,electricity_10k_kwh\nW,{electricity_10k_kwh}"
                                       f"\nE,{electricity_10k_kwh}\n", encoding="utf-8")
    config = folder / "run.toml"
    config.write_text('language = "en"\n' + GRID4_RUN_CONFIG.split("[construction]")[0]
                      .replace('path = "grid4.tif"', f'path = "{tmp_path / "grid4.tif"}"')
                      .replace('path = "halves.gpkg"', f'path = "{tmp_path / "halves.gpkg"}"')
                      + '[construction]\nmethod = "energy"\nenergy_table = "energy.csv"\n'
                      '[output]\nmap = false\nrasters = false\n', encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "landcarbon.cli", "run", str(config), "-o",
                           str(folder / "out")], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    units = pd.read_csv(folder / "out" / "units.csv", encoding="utf-8-sig",
                        dtype={"unit_id": str}).set_index("unit_id")
    return units, json.loads((folder / "out" / "run.json").read_text(encoding="utf-8"))


def test_default_config_risk_responds_to_emissions_and_records_the_grid_factor(
        tmp_path: Path, grid4_tif: Path, halves_gpkg: Path) -> None:
    a, ma = _energy_run(tmp_path, "x1", 0.005)
    b, mb = _energy_run(tmp_path, "x2", 0.010)
    # the default electricity factor is the national grid factor, with its source
    gf = ma["settings"]["construction"]["grid_factor"]
    assert ma["config"]["construction"]["electricity"] == "grid_factor"
    assert (gf["key"], gf["kg_co2_per_kwh"], gf["year"]) == ("china_2022", 0.5366, 2022)
    assert "生态环境部" in gf["source"] and "2022年电力二氧化碳排放因子" in gf["source"]
    # 0.005 x 10^4 kWh = 50 kWh x 0.5366 kg CO2/kWh = 26.83 kg CO2 = 0.02683 x 12/44 t C
    assert a.loc["W", "construction_emission_tc"] == pytest.approx(0.02683 * 12 / 44,
                                                                   abs=1e-6)
    # default thresholds: carrying capacity, the same limits whatever the emissions
    assert ma["settings"]["thresholds"]["method"] == "carrying_capacity"
    assert ma["settings"]["thresholds_tc_per_ha"] == mb["settings"]["thresholds_tc_per_ha"]
    limit = ma["settings"]["thresholds_tc_per_ha"]["agricultural"]
    # W (agricultural, 0.055 ha): net (0.03 ha x 0.422 + E_con) / 0.055 against ~0.390:
    # 0.363 t C/ha/yr (approaching) -> 0.496 (exceeding) when its electricity doubles
    assert a.loc["W", "net_tc_per_ha"] == pytest.approx(
        (0.03 * 0.422 + 0.005e4 * 0.5366e-3 * 12 / 44) / 0.055, rel=1e-4)
    assert a.loc["W", "net_tc_per_ha"] < limit < b.loc["W", "net_tc_per_ha"]
    assert (a.loc["W", "risk_level"], b.loc["W", "risk_level"]) == ("approaching", "exceeding")
    over = ("exceeding", "severe")
    assert a["risk_level"].isin(over).sum() < b["risk_level"].isin(over).sum()


@pytest.mark.parametrize("table, match", [
    ({"peak_year": 2070}, "needs base_year <= peak_year < neutrality_year"),
    ({"gdp_growth_pct": -150.0}, "gdp_growth_pct is a yearly growth"),
    ({"intensity_reduction_pct": 250.0}, "intensity_reduction_pct is a reduction"),
    ({"base_year": 1800}, "greater than or equal to 1900"),
])
def test_config_refuses_what_the_pathway_would(table: dict, match: str) -> None:
    """The config (what ``validate`` checks) refuses the targets a run's pathway would
    refuse, and years out of 1900-2100 (a year -5 was taken as the base year)."""
    from pydantic import ValidationError

    from landcarbon.config.thresholds import ThresholdsConfig

    pathway = {"base_year": 2020, "base_tc_per_ha": {"agricultural": 1.0, "construction": 40.0,
                                                     "ecological": 0.0},
               "gdp_growth_pct": 6.0} | table
    with pytest.raises(ValidationError, match=match):
        ThresholdsConfig.model_validate({"pathway": pathway})
    for year in (-5, 1800, 2300):
        with pytest.raises(ValidationError, match=r"than or equal to (1900|2100)"):
            ThresholdsConfig.model_validate({"preset": "strict_median", "year": year})
    assert ThresholdsConfig.model_validate({"preset": "strict_median", "year": 2023}).year == 2023
