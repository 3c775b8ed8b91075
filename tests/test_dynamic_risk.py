"""Dynamic carbon risk between two dates: R2, R3, risk-level rise, carbon intensity against
the base year and the eight Tapio states at their breakpoints, all by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from landcarbon.change.dynamic_risk import (
    DYNAMIC_COLUMNS,
    TAPIO_STATES,
    dynamic_risk,
    emission_growth_flags,
    sink_loss_flags,
    tapio_elasticity,
    tapio_states,
)

#: Two dates of four units (t C/yr, GDP in 10^4 CNY); D has no land at the later date.
BEFORE = pd.DataFrame({
    "covered_ha": [10.0, 10.0, 10.0, 10.0],
    "emission_tc": [100.0, 200.0, 0.0, 100.0],
    "sequestration_tc": [20.0, 50.0, 30.0, 5.0],
    "risk_level": ["within", "approaching", "net_sink", "within"],
    "space_type": ["construction", "construction", "ecological", "agricultural"],
    "gdp": [100.0, 100.0, 50.0, 10.0],
}, index=pd.Index(["A", "B", "C", "D"], name="unit_id"))
AFTER = pd.DataFrame({
    "covered_ha": [10.0, 10.0, 10.0, 0.0],
    "emission_tc": [150.0, 210.0, 0.0, np.nan],
    "sequestration_tc": [20.0, 40.0, 30.0, np.nan],
    "risk_level": ["exceeding", "approaching", "net_sink", "no_data"],
    "space_type": ["construction", "construction", "ecological", "unclassified"],
    "gdp": [110.0, 125.0, 40.0, np.nan],
}, index=BEFORE.index)
CONVERTED = pd.Series({"A": 0.0, "C": 6.0})


def test_two_dates_by_hand() -> None:
    d = dynamic_risk(BEFORE, AFTER, year_from=2015, year_to=2023, converted_ha=CONVERTED,
                     sink_loss_share=0.05, conversion_min_ha=5.0)
    assert list(d.columns) == list(DYNAMIC_COLUMNS)
    # region over A, B, C (D has no land in 2023): 300 -> 360 t C = +20 %
    assert d["region_emission_growth_pct"].iloc[:3].tolist() == pytest.approx([20.0] * 3)
    assert d["emission_growth_pct"].iloc[:3].tolist() == pytest.approx([50.0, 5.0, 0.0])
    # R2: A grows 50 % > 20 %; B grows 5 % (< 20 %); C stays at 0; D not evaluated
    assert d["flag_r2"].tolist()[:3] == [True, False, False]
    assert d["flag_r2"].isna().tolist() == [False, False, False, True]
    # R3: B lost 20 % of its sink (> 5 %); C had 6 ha converted (> 5 ha); A neither
    assert d["sequestration_change_pct"].iloc[:3].tolist() == pytest.approx([0.0, -20.0, 0.0])
    assert d["converted_to_construction_ha"].iloc[:3].tolist() == [0.0, 0.0, 6.0]
    assert d["flag_r3"].tolist()[:3] == [False, True, True]
    assert pd.isna(d["flag_r3"].iloc[3])
    # A: within -> exceeding against the same limit; B stays approaching
    assert d["risk_level_rise"].tolist()[:3] == [True, False, False]
    # intensity against the base (= the earlier date): A 1.0 -> 150/110; B 2.0 -> 1.68
    assert d["emission_intensity_change_pct"].iloc[:2].tolist() == pytest.approx(
        [100 * (150 / 110 - 1), -16.0])
    assert np.isnan(d["emission_intensity_change_pct"].iloc[2])     # C emits nothing
    assert d["intensity_rise"].tolist()[:2] == [True, False]
    # Tapio: A e = 0.5 / 0.1 = 5 (expansive negative); B 0.05 / 0.25 = 0.2 (weak)
    assert d["tapio_elasticity"].iloc[:2].tolist() == pytest.approx([5.0, 0.2])
    assert d["tapio_state"].tolist()[:3] == ["expansive_negative_decoupling",
                                             "weak_decoupling", "undetermined"]
    assert d["dynamic_risk"].tolist()[:3] == [True, True, True]
    assert pd.isna(d["dynamic_risk"].iloc[3])
    assert d.loc["A", "dynamic_risk_flags"] == ("R2,risk_level_rise,intensity_rise,"
                                                "negative_decoupling")
    assert d.loc["B", "dynamic_risk_flags"] == "R3"
    assert d.loc["A", "dynamic_risk_reason_en"].startswith(
        "R2: emission +50.0 % 2015-2023, region +20.0 %; risk level within -> exceeding")
    assert "sink -20.0 % (allowed -5%)" in d.loc["B", "dynamic_risk_reason_en"]
    assert "6.0 ha of ecological/agricultural space" in d.loc["C", "dynamic_risk_reason_en"]
    assert "碳汇量变化 -20.0 %" in d.loc["B", "dynamic_risk_reason_zh"]
    assert "扩张负脱钩" in d.loc["A", "dynamic_risk_reason_zh"]


def test_intensity_against_a_separate_base_year() -> None:
    base = BEFORE.assign(emission_tc=[50.0, 200.0, 0.0, 100.0])        # A: 0.5 t C/10^4 CNY
    d = dynamic_risk(BEFORE, AFTER, year_from=2020, year_to=2023, base=base)
    assert d.loc["A", "emission_intensity_change_pct"] == pytest.approx(
        100 * (150 / 110 / 0.5 - 1))


def test_emission_growth_edge_cases() -> None:
    rate, region, flag = emission_growth_flags(np.array([0.0, 0.0, 10.0, np.nan]),
                                               np.array([5.0, 0.0, 10.0, 3.0]))
    assert rate[0] == np.inf and rate[1] == 0.0 and rate[2] == 0.0 and np.isnan(rate[3])
    assert region == pytest.approx(0.5)                      # 10 -> 15 over units 1-3
    assert flag.tolist()[:3] == [True, False, False] and pd.isna(flag[3])


def test_sink_loss_at_the_tolerance_is_not_flagged() -> None:
    change, flag = sink_loss_flags(np.array([100.0, 100.0, 0.0]), np.array([95.0, 94.0, 0.0]),
                                   np.array([0.0, 0.0, 1.0]), sink_loss_share=0.05,
                                   conversion_min_ha=1.0)
    assert flag.tolist() == [False, True, False]     # exactly 5 % and exactly 1 ha: allowed
    assert change[:2].tolist() == pytest.approx([-0.05, -0.06]) and np.isnan(change[2])


# (E1, G1) with E0 = G0 = 100: GDP +25 % or -25 %
TAPIO_CASES = [
    (90.0, 125.0, "strong_decoupling"),                 # e = -0.4
    (100.0, 125.0, "weak_decoupling"),                   # e = 0, emissions flat
    (119.0, 125.0, "weak_decoupling"),                   # e = 0.76
    (120.0, 125.0, "expansive_coupling"),                # e = 0.8 exactly: coupling band
    (130.0, 125.0, "expansive_coupling"),                # e = 1.2 exactly: coupling band
    (131.0, 125.0, "expansive_negative_decoupling"),     # e = 1.24
    (110.0, 75.0, "strong_negative_decoupling"),         # e = -0.4, GDP falls
    (90.0, 75.0, "weak_negative_decoupling"),            # e = 0.4
    (80.0, 75.0, "recessive_coupling"),                  # e = 0.8 exactly
    (70.0, 75.0, "recessive_coupling"),                  # e = 1.2 exactly
    (65.0, 75.0, "recessive_decoupling"),                # e = 1.4
    (120.0, 100.0, "undetermined"),                      # GDP unchanged: e undefined
]


@pytest.mark.parametrize(("e1", "g1", "state"), TAPIO_CASES)
def test_tapio_states_at_their_breakpoints(e1: float, g1: float, state: str) -> None:
    got = tapio_states(np.array([100.0]), np.array([e1]), np.array([100.0]), np.array([g1]))
    assert got.tolist() == [state]


def test_all_eight_tapio_states_are_reached() -> None:
    e1 = np.array([c[0] for c in TAPIO_CASES])
    g1 = np.array([c[1] for c in TAPIO_CASES])
    hundred = np.full(len(e1), 100.0)
    assert set(tapio_states(hundred, e1, hundred, g1)) == {*TAPIO_STATES, "undetermined"}
    e = tapio_elasticity(hundred, e1, hundred, g1)
    assert e[3] == pytest.approx(0.8) and e[10] == pytest.approx(1.4) and np.isnan(e[-1])
    # no emission or no GDP at the earlier date: undefined
    zero = tapio_states(np.array([0.0, 10.0]), np.array([5.0, 12.0]), np.array([10.0, 0.0]),
                        np.array([11.0, 5.0]))
    assert zero.tolist() == ["undetermined", "undetermined"]


def test_output_unit_co2_gives_the_same_flags_and_co2_labels() -> None:
    def co2(t: pd.DataFrame) -> pd.DataFrame:
        return t.rename(columns={"emission_tc": "emission_tco2",
                                 "sequestration_tc": "sequestration_tco2"}).assign(
            emission_tco2=t["emission_tc"] * 44 / 12,
            sequestration_tco2=t["sequestration_tc"] * 44 / 12)

    kw = {"year_from": 2015, "year_to": 2023, "converted_ha": CONVERTED,
          "conversion_min_ha": 5.0}
    tc = dynamic_risk(BEFORE, AFTER, **kw)
    t2 = dynamic_risk(co2(BEFORE), co2(AFTER), suffix="tco2", **kw)
    for col in ("flag_r2", "flag_r3", "dynamic_risk", "tapio_state", "dynamic_risk_flags"):
        assert t2[col].astype(str).tolist() == tc[col].astype(str).tolist(), col
    assert t2["emission_growth_pct"].iloc[:3].tolist() == pytest.approx([50.0, 5.0, 0.0])
    assert "t CO2/10^4 CNY" in t2.loc["A", "dynamic_risk_reason_en"]
