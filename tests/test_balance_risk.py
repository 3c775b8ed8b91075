"""Balance, unit space types, thresholds and risk bands with hand-computed values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import landcarbon as lc
from landcarbon.accounting.balance import to_output_unit
from landcarbon.accounting.risk import parse_threshold, resolve_thresholds
from landcarbon.accounting.spaces import SpaceTypeOverride, SpaceTypeRule, unit_space_types
from landcarbon.exceptions import ConfigError

# the 4x4 fixture's class areas (see test_raster_pipeline): W and E units
AREAS = pd.DataFrame([
    ("W", "cropland", "agricultural", 0.03), ("W", "construction", "construction", 0.025),
    ("E", "cropland", "agricultural", 0.01), ("E", "construction", "construction", 0.005),
    ("E", "forest", "ecological", 0.03), ("E", "grassland", "ecological", 0.02),
    ("E", "water", "ecological", 0.03),
], columns=["unit_id", "land_class", "space_type", "area_ha"])


def test_balance_by_hand() -> None:
    b = lc.unit_balance(AREAS, lc.load_coefficients("lai2010"),
                        construction_intensity_tc_per_ha=50.0, unit_ids=["W", "E", "EMPTY"])
    w, e = b.loc["W"], b.loc["E"]
    assert w["emission_tc"] == pytest.approx(0.03 * 0.422 + 0.025 * 50)
    assert w["sequestration_tc"] == 0
    assert w["net_tc_per_ha"] == pytest.approx((0.01266 + 1.25) / 0.055)
    assert e["emission_tc"] == pytest.approx(0.00422 + 0.25)
    assert e["sequestration_tc"] == pytest.approx(0.03 * 0.644 + 0.02 * 0.021 + 0.03 * 0.253)
    assert e["net_tc"] == pytest.approx(e["emission_tc"] - e["sequestration_tc"])
    assert e["share_ecological"] == pytest.approx(0.08 / 0.095)
    assert e["area_forest_ha"] == pytest.approx(0.03)
    assert e["construction_emission_tc"] == pytest.approx(0.25)
    empty = b.loc["EMPTY"]
    assert empty["covered_ha"] == 0 and np.isnan(empty["net_tc_per_ha"])
    # invariants
    assert (b["emission_tc"] >= 0).all() and (b["sequestration_tc"] >= 0).all()
    shares = b[["share_agricultural", "share_construction", "share_ecological"]].sum(axis=1)
    assert shares.loc[["W", "E"]].tolist() == pytest.approx([1.0, 1.0])


def test_space_components_by_hand_and_they_add_up() -> None:
    con = pd.Series({"W": 10.0, "E": 2.0})
    b = lc.unit_balance(AREAS, lc.load_coefficients("lai2010"), construction_tc=con)
    e = b.loc["E"]
    assert e["net_agricultural_tc"] == pytest.approx(0.01 * 0.422)
    assert e["net_agricultural_tc_per_ha"] == pytest.approx(0.422)
    assert e["net_construction_tc_per_ha"] == pytest.approx(2.0 / 0.005)
    eco = -(0.03 * 0.644 + 0.02 * 0.021 + 0.03 * 0.253)
    assert e["net_ecological_tc"] == pytest.approx(eco)
    assert e["net_ecological_tc_per_ha"] == pytest.approx(eco / 0.08)
    assert np.isnan(b.loc["W", "net_ecological_tc_per_ha"])  # W holds no ecological land
    parts = b[[f"net_{s}_tc" for s in ("agricultural", "construction", "ecological")]]
    np.testing.assert_allclose(parts.sum(axis=1), b["net_tc"], rtol=1e-12)
    co2 = to_output_unit(b, "t CO2")
    assert co2.loc["E", "net_construction_tco2_per_ha"] == pytest.approx(400.0 * 44 / 12)


def test_balance_groups_rows_as_a_pivot_does() -> None:
    """Two rows of one unit and class add up; a row without a class or space type belongs to
    no group; shuffling the rows and giving the ids as plain objects changes nothing
    (the grouping runs on integer codes)."""
    rows = pd.concat([AREAS, pd.DataFrame([
        ("W", "cropland", "agricultural", 0.02),  # W's cropland again: 0.03 + 0.02
        ("W", None, "ecological", 5.0), ("E", "forest", None, 7.0),  # no group
    ], columns=AREAS.columns)], ignore_index=True)
    coefficients = lc.load_coefficients("lai2010")
    b = lc.unit_balance(rows, coefficients, construction_intensity_tc_per_ha=50.0)
    assert b.loc["W", "area_cropland_ha"] == pytest.approx(0.05)
    assert b.loc["W", "covered_ha"] == pytest.approx(0.075)  # 5 ha without a class: out
    assert b.loc["E", "covered_ha"] == pytest.approx(0.095)  # 7 ha without a space: out
    assert b.loc["W", "net_agricultural_tc"] == pytest.approx(0.05 * 0.422)
    shuffled = rows.sample(frac=1.0, random_state=3).astype({"unit_id": object})
    again = lc.unit_balance(shuffled, coefficients, construction_intensity_tc_per_ha=50.0)
    pd.testing.assert_frame_equal(again.loc[b.index], b, check_exact=True)


def test_exceeded_spaces_lists_each_space_over_its_own_limit() -> None:
    t = pd.DataFrame({"space_type": ["agricultural", "agricultural"],
                      "net_tc_per_ha": [5.0, 0.1],
                      "net_agricultural_tc_per_ha": [0.5, 0.1],
                      "net_construction_tc_per_ha": [30.0, np.nan],
                      "net_ecological_tc_per_ha": [-0.3, 0.2]}, index=["a", "b"])
    r = lc.assess_risk(t, {"agricultural": 0.422, "construction": 8.0, "ecological": 0.0})
    assert r["exceeded_spaces"].tolist() == ["agricultural,construction", "ecological"]
    full = lc.assess_risk(t.assign(risk_level="stale"), {"agricultural": 0.422,
                          "construction": 8.0, "ecological": 0.0}, full=True)
    assert list(full.columns[:5]) == list(t.columns)  # the input table, then the risk columns
    assert full["risk_level"].tolist() == r["risk_level"].tolist()  # replaced, not doubled
    assert full.columns.is_unique and full.index.tolist() == ["a", "b"]


def test_energy_emissions_are_charged_per_unit() -> None:
    con = pd.Series({"W": 10.0, "E": 2.0})
    b = lc.unit_balance(AREAS, lc.load_coefficients("lai2010"), construction_tc=con)
    assert b.loc["W", "construction_emission_tc"] == 10.0
    assert b.loc["W", "emission_tc"] == pytest.approx(10.0 + 0.03 * 0.422)


def test_output_unit_co2() -> None:
    b = lc.unit_balance(AREAS, lc.load_coefficients("lai2010"),
                        construction_intensity_tc_per_ha=50.0)
    co2 = to_output_unit(b, "t CO2")
    assert "net_tco2" in co2.columns and "net_tc" not in co2.columns
    assert co2.loc["E", "net_tco2"] == pytest.approx(b.loc["E", "net_tc"] * 44 / 12)
    assert co2.loc["E", "covered_ha"] == b.loc["E", "covered_ha"]


def test_space_type_rule() -> None:
    b = pd.DataFrame({"share_agricultural": [0.5, 0.3, 0.2, 0.0],
                      "share_construction": [0.3, 0.4, 0.2, 0.0],
                      "share_ecological": [0.2, 0.3, 0.6, 0.0]}, index=list("abcd"))
    assert unit_space_types(b).tolist() == ["agricultural", "construction", "ecological",
                                               "unclassified"]
    rule = SpaceTypeRule((SpaceTypeOverride("construction", 0.3),))
    assert unit_space_types(b, rule).tolist() == ["construction", "construction",
                                                     "ecological", "unclassified"]


def test_space_type_ties_within_rounding_go_in_the_documented_order() -> None:
    """0.36 ha of cropland and 0.36 ha of built-up land measured in another CRS differ in
    the last bits: still a tie, broken agricultural first (it went to whichever share the
    rounding made larger); an override's min_share reached up to rounding holds."""
    half = 0.5
    b = pd.DataFrame({"share_agricultural": [half, half - 2e-16, half, 0.3 - 1e-12],
                      "share_construction": [half - 2e-16, half, half + 1e-6, 0.1],
                      "share_ecological": [0.0, 0.0, 0.0, 0.6 + 1e-12]}, index=list("abcd"))
    assert unit_space_types(b).tolist() == ["agricultural", "agricultural", "construction",
                                               "ecological"]
    rule = SpaceTypeRule((SpaceTypeOverride("agricultural", 0.3),))
    assert unit_space_types(b, rule).tolist()[3] == "agricultural"
    assert unit_space_types(b.iloc[:0]).tolist() == []


def test_threshold_spec_parsing() -> None:
    assert parse_threshold(1) == 1.0
    assert parse_threshold("median") == "p50"
    assert parse_threshold("P75") == "p75"
    for bad in ("high", True, float("nan")):
        with pytest.raises(ValueError):
            parse_threshold(bad)


def test_percentile_thresholds() -> None:
    t = pd.DataFrame({"space_type": ["construction"] * 4 + ["ecological"],
                      "net_tc_per_ha": [10.0, 20.0, 30.0, 40.0, -1.0]})
    res = resolve_thresholds({"agricultural": 0.422, "construction": "p75",
                                 "ecological": 0.0}, t)
    assert res == {"agricultural": 0.422, "construction": 32.5, "ecological": 0.0}
    with pytest.raises(ConfigError, match="agricultural"):
        resolve_thresholds({"construction": 1.0, "ecological": 0.0}, t)


@pytest.mark.parametrize(("space", "net", "level"), [
    ("construction", 12.3, "severe"),      # limit 8, scale 8: severe above 12
    ("construction", 11.9, "exceeding"),
    ("construction", 8.0, "approaching"),  # at the limit: not above it
    ("construction", 7.3, "approaching"),  # within 0.8 below
    ("construction", 7.1, "within"),
    ("construction", -0.5, "net_sink"),
    ("ecological", 0.01, "exceeding"),     # limit 0: scale floor 0.1, severe above 0.05
    ("ecological", 0.06, "severe"),
    ("ecological", -0.2, "net_sink"),
    ("agricultural", 0.40, "approaching"),  # limit 0.422, approaching above 0.3798
    ("agricultural", 0.30, "within"),
    ("unclassified", np.nan, "no_data"),
])
def test_risk_bands(space: str, net: float, level: str) -> None:
    t = pd.DataFrame({"space_type": [space], "net_tc_per_ha": [net]})
    r = lc.assess_risk(t, {"agricultural": 0.422, "construction": 8.0, "ecological": 0.0})
    assert r["risk_level"].iloc[0] == level


def test_risk_reasons_in_both_languages() -> None:
    t = pd.DataFrame({"space_type": ["construction"], "net_tc_per_ha": [12.3]})
    r = lc.assess_risk(t, {"agricultural": 0.4, "construction": 8.0, "ecological": 0.0})
    assert r["risk_reason_en"].iloc[0] == ("construction space unit: net 12.30 t C/ha/yr > "
                                           "limit 8.00 (severe)")
    assert r["risk_reason_zh"].iloc[0] == ("建设空间单元：净排放 12.30 吨 C/公顷/年，"
                                           "高于阈值 8.00（严重超标）")
    assert r["threshold_tc_per_ha"].iloc[0] == 8.0


def test_risk_in_co2_converts_thresholds() -> None:
    t = pd.DataFrame({"space_type": ["construction"], "net_tco2_per_ha": [8.0 * 44 / 12 * 1.2]})
    r = lc.assess_risk(t, {"agricultural": 0.4, "construction": 8.0, "ecological": 0.0},
                       output_unit="t CO2")
    assert r["risk_level"].iloc[0] == "exceeding"
    assert r["threshold_tco2_per_ha"].iloc[0] == pytest.approx(8.0 * 44 / 12)
    assert "t CO2/ha/yr" in r["risk_reason_en"].iloc[0]


def test_presets() -> None:
    from landcarbon.accounting.risk import list_threshold_presets, load_threshold_preset

    assert "zhengzhou_example" in list_threshold_presets()
    p = load_threshold_preset("zhengzhou_example")
    assert p["ecological"]["value"] == 0.0 and p["construction"]["value"] == "p75"
    assert all(p[s]["source"] for s in p)
    with pytest.raises(ConfigError, match="presets"):
        load_threshold_preset("nope")


def test_percentile_limits_of_the_cap_test_use_component_densities() -> None:
    t = pd.DataFrame({"space_type": ["construction", "agricultural", "agricultural"],
                      "net_tc_per_ha": [40.0, 5.0, 3.0],
                      "net_agricultural_tc_per_ha": [0.4, 0.422, 0.3],
                      "net_construction_tc_per_ha": [60.0, 80.0, np.nan],
                      "net_ecological_tc_per_ha": [np.nan, -0.2, -0.3]})
    spec = {"agricultural": 0.422, "construction": "p50", "ecological": 0.0}
    units = resolve_thresholds(spec, t)
    parts = resolve_thresholds(spec, t, components=True)
    assert units["construction"] == 40.0  # the one construction unit
    assert parts["construction"] == 70.0  # median of 60 and 80 (construction land anywhere)
    assert parts["agricultural"] == units["agricultural"] == 0.422
    r = lc.assess_risk(t, units, component_thresholds=parts)
    # 0.422 exactly at the limit is not over it; 80 > 70 is
    assert r["exceeded_spaces"].tolist() == ["", "construction", ""]


def test_risk_levels_from_one_vocabulary() -> None:
    from landcarbon.accounting.risk import (
        RiskBands,
        risk_level_counts,
        risk_level_of,
        risk_levels,
        risk_levels_vs_limit,
    )

    keys = list(risk_levels().index)
    assert keys == ["net_sink", "within", "approaching", "exceeding", "severe", "no_data"]
    assert risk_levels_vs_limit("below") == ("net_sink", "within", "approaching")
    assert risk_levels_vs_limit("above") == ("exceeding", "severe")
    # every level the bands give is in the vocabulary: limit 1, scale 1, margins 0.1 / 0.5
    net = np.array([-1.0, 0.5, 0.95, 1.2, 2.0, np.nan])
    levels = risk_level_of(net, np.ones(6), RiskBands())
    assert list(levels) == keys
    assert risk_level_counts(pd.Series(["within", "severe", "within"])) == {
        "within": 2, "severe": 1}
