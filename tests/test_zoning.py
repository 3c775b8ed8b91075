"""Balance indicators, ECC/ESC quadrant zones, graded classes, risk overlay and horizontal
compensation: hand-computed answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from landcarbon.exceptions import ConfigError, InputError
from landcarbon.zoning.compensation import compensation_flows, horizontal_compensation
from landcarbon.zoning.indicators import balance_indicators, safe_ratio
from landcarbon.zoning.quadrants import (
    graded_classes,
    quadrant_zones,
    risk_overlay,
    zone_layers,
    zone_table,
)

# E = 200, S = 80, G = 400 in total
UNITS = pd.DataFrame({
    "unit_id": ["A", "B", "C", "D"], "unit_name": ["甲", "乙", "丙", "丁"],
    "emission_tc": [100.0, 50.0, 0.0, 50.0], "sequestration_tc": [10.0, 40.0, 30.0, 0.0],
    "net_tc": [90.0, 10.0, -30.0, 50.0],
    "risk_level": ["severe", "within", "net_sink", "exceeding"],
})
STATS = pd.DataFrame({"unit_id": ["A", "B", "C", "D"], "gdp_10k_cny": [200.0, 50.0, 0.0, 150.0],
                      "population": [1.0, 2.0, 3.0, 0.0]})


def test_safe_ratio_rules():
    got = safe_ratio([1.0, 0.0, 0.0, 2.0, np.nan], [2.0, 0.0, 5.0, 0.0, 1.0])
    assert got[0] == 0.5 and np.isnan(got[1]) and got[2] == 0.0 and got[3] == np.inf
    assert np.isnan(got[4])


def test_indicators_hand_computed():
    ind = balance_indicators(UNITS, STATS)
    assert ind["source_sink_ratio"].tolist() == [10.0, 1.25, 0.0, np.inf]
    assert ind["compensation_rate"].tolist() == [0.1, 0.8, np.inf, 0.0]
    # ESC = (S_i/80)/(E_i/200); C has no emission (inf), D no sink (0)
    assert ind["esc"].tolist() == [0.25, 2.0, np.inf, 0.0]
    # ECC = (G_i/400)/(E_i/200); C: 0/0 -> NaN
    ecc = ind["ecc"].to_numpy()
    assert ecc[[0, 1, 3]].tolist() == [1.0, 0.5, 1.5] and np.isnan(ecc[2])
    intensity = ind["emission_intensity_tc_per_10k_cny"].to_numpy()
    assert intensity[[0, 1]].tolist() == [0.5, 1.0] and np.isnan(intensity[2])
    assert intensity[3] == pytest.approx(1 / 3)
    assert ind["emission_tc_per_capita"].tolist() == [100.0, 25.0, 0.0, np.inf]


def test_indicators_without_statistics_and_missing_rows():
    ind = balance_indicators(UNITS)
    assert "ecc" not in ind and ind["esc"].iloc[1] == 2.0
    ind = balance_indicators(UNITS, STATS.iloc[:2])
    assert np.isnan(ind["gdp"].iloc[2]) and np.isnan(ind["ecc"].iloc[3])
    # both shares over the units with a GDP, A and B: G = 250, E = 150 (E over all four
    # units, 200, shifted every ECC: A was 1.6)
    assert ind["ecc"].iloc[0] == pytest.approx((200 / 250) / (100 / 150))
    assert ind["ecc"].iloc[1] == pytest.approx((50 / 250) / (50 / 150))
    # the GDP-weighted mean of ECC over the units with GDP is 1 when E is counted alike
    shares = ind["gdp"].iloc[:2] / 250
    assert (shares / ind["ecc"].iloc[:2]).sum() == pytest.approx(1.0)


def test_indicators_tco2_suffix():
    t = UNITS.rename(columns={"emission_tc": "emission_tco2",
                              "sequestration_tc": "sequestration_tco2"})
    ind = balance_indicators(t, STATS, suffix="tco2")
    assert "emission_intensity_tco2_per_10k_cny" in ind
    assert ind["esc"].tolist()[:2] == [0.25, 2.0]


@pytest.mark.parametrize(("stats", "message"), [
    (STATS.drop(columns="gdp_10k_cny"), "no GDP column 'gdp_10k_cny'"),
    (STATS.assign(gdp_10k_cny=[1.0, -2.0, 0.0, 1.0]), "unit(s) B do not"),
    (STATS.assign(gdp_10k_cny=["1", "x", "0", "1"]), "numbers >= 0"),
    (pd.concat([STATS, STATS.iloc[:1]]), "A appear more than once"),
])
def test_statistics_errors(stats, message):
    with pytest.raises(InputError, match="Statistics table") as err:
        balance_indicators(UNITS, stats)
    assert message in str(err.value)


def test_quadrant_boundaries_exactly_at_one():
    z = quadrant_zones([1.0, 1.0, 0.999999, 0.999999, np.inf, np.nan, 2.0],
                       [1.0, 0.999999, 1.0, 0.999999, 0.0, 3.0, np.inf])
    assert z.tolist() == ["low_carbon_maintenance", "carbon_intensity_control",
                          "carbon_sink_function", "high_carbon_optimisation",
                          "carbon_intensity_control", "undetermined",
                          "low_carbon_maintenance"]


def test_quadrant_breakpoints_configurable_and_named():
    z = quadrant_zones([1.5, 1.5], [0.8, 0.79], ecc_breakpoint=1.5, esc_breakpoint=0.8)
    assert z.tolist() == ["low_carbon_maintenance", "carbon_intensity_control"]
    names = zone_table()
    assert names.loc["carbon_sink_function", "name_zh"] == "碳汇功能区"
    assert names.loc["high_carbon_optimisation", "name_zh"] == "高碳优化区"
    assert names.loc["low_carbon_maintenance", "name_zh"] == "低碳维持区"
    assert names.loc["carbon_intensity_control", "name_zh"] == "碳强度控制区"


def test_indicator_zones_of_the_hand_example():
    ind = balance_indicators(UNITS, STATS)
    assert quadrant_zones(ind["ecc"], ind["esc"]).tolist() == [
        "carbon_intensity_control", "carbon_sink_function", "undetermined",
        "carbon_intensity_control"]


def test_graded_classes_quantiles_and_natural_breaks():
    cls, bins = graded_classes(pd.Series(np.arange(1.0, 11.0)), method="quantiles", k=5)
    assert cls.tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert bins == pytest.approx([2.8, 4.6, 6.4, 8.2, 10.0])
    values = pd.Series([1, 1.2, 1.1, 10, 10.5, 9.8, 100, 101, np.nan, np.inf])
    cls, _ = graded_classes(values, method="natural_breaks", k=3)
    assert cls.tolist() == [1, 1, 1, 2, 2, 2, 3, 3, 0, 0]
    cls, _ = graded_classes(pd.Series([5.0, 5.0]), k=5)
    assert cls.tolist() == [1, 1]
    with pytest.raises(ConfigError, match="grading method 'jenks'"):
        graded_classes(values, method="jenks")


def test_risk_overlay_one_period():
    t = UNITS.join(balance_indicators(UNITS)).assign(
        gi_z=[2.5, 2.5, -3.0, np.nan], gi_class=["hot_95", "not_significant", "cold_99",
                                                  "not_significant"])
    r = risk_overlay(t, ratio_threshold=5.0)
    assert r["flag_r1"].tolist() == [True, False, False, True]
    assert r["flag_r4"].tolist() == [True, False, False, True]
    # R5 needs z >= 1.96 AND a significant hot-spot class
    assert r["flag_r5"].tolist()[:3] == [True, False, False] and r["flag_r5"].isna()[3]
    assert r["flag_r2"].isna().all() and r["flag_r3"].isna().all()
    assert r["risk_flags"].tolist() == ["R1,R4,R5", "", "", "R1,R4"]
    assert r["risk_flag_count"].tolist() == [3, 0, 0, 2]
    assert r["carbon_risk_zone"].tolist() == [True, False, False, True]
    r2 = risk_overlay(t, ratio_threshold=5.0, min_flags=3, flags=["R1", "R4", "R5"])
    assert r2["carbon_risk_zone"].tolist() == [True, False, False, False]


def test_risk_overlay_ratio_percentile():
    t = UNITS.join(balance_indicators(UNITS))
    # finite ratios 10, 1.25, 0 -> median 1.25: flagged above it (10 and inf)
    r = risk_overlay(t, flags=["R1"], ratio_threshold="median")
    assert r["flag_r1"].tolist() == [True, False, False, True]
    with pytest.raises(ConfigError, match="ratio_threshold 'top'"):
        risk_overlay(t, flags=["R1"], ratio_threshold="top")
    with pytest.raises(ConfigError, match="unknown risk flag"):
        risk_overlay(t, flags=["R9"])


def test_risk_overlay_previous_period_interface():
    previous = pd.DataFrame({
        "emission_tc": [50.0, 45.0, 0.0, 60.0],      # growth 100 %, 11 %, 0 %, -17 %
        "sequestration_tc": [10.0, 50.0, 30.0, 0.0],   # B lost 20 % of its sink
        "converted_to_construction_ha": [0.0, 0.0, 3.0, np.nan],
    }, index=["A", "B", "C", "D"])
    r = risk_overlay(UNITS, flags=["R2", "R3"], previous=previous)
    # regional growth (200 - 155) / 155 = 29 %: only A grows faster than the region
    assert r["flag_r2"].tolist() == [True, False, False, False]
    assert r["flag_r3"].tolist() == [False, True, True, False]
    # R3's conversion limit is 1 ha by default (as [change.monitoring]): 0.5 ha of
    # conversion (classification noise on a township) flags nothing, 1.5 ha does
    noise = previous.assign(sequestration_tc=[0.0, 0.0, 0.0, 0.0],
                            converted_to_construction_ha=[0.5, 1.0, 1.5, 0.0])
    assert risk_overlay(UNITS, flags=["R3"], previous=noise)["flag_r3"].tolist() == [
        False, False, True, False]
    assert risk_overlay(UNITS, flags=["R3"], previous=noise, conversion_min_ha=0.0
                        )["flag_r3"].tolist() == [True, True, True, False]
    partial = risk_overlay(UNITS, flags=["R3"], previous=previous[["emission_tc"]])
    assert partial["flag_r3"].isna().all()


def test_compensation_hand_computed_and_zero_sum():
    c = horizontal_compensation(UNITS, price_per_tco2=100.0)
    # dC_i = E_i - S_i x E/S = E_i - 2.5 S_i
    assert c["compensation_tc"].tolist() == [75.0, -50.0, -75.0, 50.0]
    assert c["compensation_tc"].sum() == 0.0
    assert c["compensation_role"].tolist() == ["payer", "receiver", "receiver", "payer"]
    assert c["compensation_value"].tolist() == pytest.approx(
        [75 * 44 / 12 * 100, -50 * 44 / 12 * 100, -75 * 44 / 12 * 100, 50 * 44 / 12 * 100])
    flows = compensation_flows(UNITS, c)
    ab = flows[(flows.payer_id == "A") & (flows.receiver_id == "B")].iloc[0]
    assert ab["value"] == pytest.approx(27500.0 * 0.4) and ab["carbon_tc"] == pytest.approx(30)
    assert flows["value"].sum() == pytest.approx(c["compensation_value"].clip(lower=0).sum())
    assert flows.groupby("receiver_id")["value"].sum().to_dict() == pytest.approx(
        {"B": 50 * 44 / 12 * 100, "C": 75 * 44 / 12 * 100})


def test_compensation_equals_definition_with_esc():
    ind = balance_indicators(UNITS)
    c = horizontal_compensation(UNITS)
    e = UNITS["emission_tc"]
    finite = np.isfinite(ind["esc"])
    assert c["compensation_tc"][finite].tolist() == pytest.approx(
        (e * (1 - ind["esc"]))[finite].tolist())


def test_compensation_zero_sum_many_units_and_corrections():
    rng = np.random.default_rng(3)
    n = 5000
    t = pd.DataFrame({"unit_id": [f"u{i}" for i in range(n)],
                      "emission_tc": rng.lognormal(8, 2, n) * (rng.random(n) > 0.1),
                      "sequestration_tc": rng.lognormal(5, 2, n)})
    k = pd.Series(rng.uniform(0.5, 2.0, n), index=t["unit_id"])
    c = horizontal_compensation(t, price_per_tco2=80.0, correction=k)
    scale = t["emission_tc"].sum()
    assert abs(c["compensation_tc"].sum()) <= 1e-9 * scale
    paid = c["compensation_value"].clip(lower=0).sum()
    assert abs(c["compensation_value"].sum()) <= 1e-9 * paid
    assert set(c["compensation_role"]) == {"payer", "receiver", "balanced"}
    assert (c.loc[c.compensation_role == "balanced", "compensation_value"] == 0).all()


def test_compensation_band_and_errors():
    t = pd.DataFrame({"unit_id": ["A", "B"], "emission_tc": [100.0, 100.0],
                      "sequestration_tc": [52.0, 48.0]})
    c = horizontal_compensation(t, band=0.05)   # dC = 100 - 52 x 200/100 = -4 (4 %)
    assert c["compensation_tc"].tolist() == [-4.0, 4.0]
    assert c["compensation_role"].tolist() == ["balanced", "balanced"]
    assert horizontal_compensation(t, band=0.03)["compensation_role"].tolist() == [
        "receiver", "payer"]
    with pytest.raises(InputError, match="needs a regional carbon sink"):
        horizontal_compensation(t.assign(sequestration_tc=0.0))
    with pytest.raises(InputError, match="correction factors must be finite numbers > 0"):
        horizontal_compensation(t, correction=pd.Series({"A": 0.0}))


def test_zone_layers_are_data_driven():
    t = UNITS.assign(carbon_zone=["carbon_sink_function"] * 4, gi_class="not_significant",
                     carbon_risk_zone=True, compensation_role="payer", net_tc_per_ha_class=3)
    layers = {layer["column"]: layer for layer in zone_layers(t)}
    assert set(layers) == {"carbon_zone", "gi_class", "carbon_risk_zone", "compensation_role",
                           "net_tc_per_ha_class"}
    assert layers["carbon_zone"]["categories"]["carbon_sink_function"]["zh"] == "碳汇功能区"
    assert layers["gi_class"]["categories"]["hot_99"]["color"].startswith("#")
    assert set(layers["net_tc_per_ha_class"]["categories"]) == {"0", "1", "2", "3"}
    assert zone_layers(UNITS) == []


def test_zone_layers_ignore_user_class_attributes() -> None:
    from landcarbon.zoning.quadrants import zone_layers

    # one rule (zoning.graded_class_columns, also behind every map of publish/): numeric
    # with at least one value; text and all-empty ``*_class`` columns are not layers
    units = pd.DataFrame({"soil_class": ["loam", None], "net_tc_per_ha_class": [1, 2],
                          "empty_class": [np.nan, np.nan], "part_class": [np.nan, 3.0]})
    layers = {d["column"]: d for d in zone_layers(units)}
    assert set(layers) == {"net_tc_per_ha_class", "part_class"}
    assert set(layers["net_tc_per_ha_class"]["categories"]) == {"0", "1", "2"}
    assert set(layers["part_class"]["categories"]) == {"0", "1", "2", "3"}
