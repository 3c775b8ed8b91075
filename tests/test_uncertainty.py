"""Monte Carlo over coefficient distributions (convergence, seeds) and the threshold sweep."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from landcarbon.accounting.risk import RiskBands
from landcarbon.exceptions import InputError
from landcarbon.publish.figures import sweep_figure
from landcarbon.zoning.uncertainty import (
    coefficient_draws,
    load_coefficient_ranges,
    monte_carlo,
    threshold_sweep,
)

COEF = pd.Series({"cropland": 0.422, "forest": -0.644, "water": -0.253,
                  "construction": np.nan})


def _ranges(tmp_path, rows: str):
    path = tmp_path / "ranges.csv"
    path.write_text("land_class,distribution,low,mode,high,mean,sd,unit,source\n" + rows,
                    encoding="utf-8")
    return load_coefficient_ranges(path)


UNITS = pd.DataFrame({
    "unit_id": ["forest", "farm", "edge", "town"],
    "space_type": ["ecological", "agricultural", "agricultural", "construction"],
    "covered_ha": [100.0, 100.0, 1.0, 10.0],
    "area_forest_ha": [100.0, 0.0, 0.0, 0.0],
    "area_cropland_ha": [0.0, 100.0, 1.0, 0.0],
    "area_construction_ha": [0.0, 0.0, 0.0, 10.0],
    "construction_emission_tc": [0.0, 0.0, 0.0, 500.0],
})
LIMITS = {"ecological": 0.0, "agricultural": 0.3, "construction": 40.0}


def test_builtin_ranges_load_and_bracket_the_defaults():
    r = load_coefficient_ranges("lai2010_ranges")
    assert r.loc["forest", "distribution"] == "triangular"
    assert r.loc["forest", "low"] <= -0.644 <= r.loc["forest", "high"]
    assert r.loc["cropland", "mode"] == 0.422
    assert r.loc["water", "mean"] == -0.253


def test_units_are_converted(tmp_path):
    r = _ranges(tmp_path, "forest,uniform,-2,,-1,,,t CO2/ha/yr,x\n")
    assert r.loc["forest", "low"] == pytest.approx(-2 * 12 / 44)


@pytest.mark.parametrize(("row", "message"), [
    ("forest,lognormal,1,,2,,,t C/ha/yr,x\n", "distribution 'lognormal' is not one of"),
    ("forest,triangular,-1,,-0.5,,,t C/ha/yr,x\n", "triangular needs mode"),
    ("forest,triangular,-1,-2,-0.5,,,t C/ha/yr,x\n", "low <= mode <= high"),
    ("forest,normal,,,,-0.6,,t C/ha/yr,x\n", "normal needs sd"),
    ("forest,normal,,,,-0.6,-1,t C/ha/yr,x\n", "sd must be >= 0"),
    ("forest,uniform,a,,1,,,t C/ha/yr,x\n", "low = 'a' is not a number"),
    ("forest,uniform,0,,1,,,t C/acre,x\n", "not recognised"),
    ("forest,uniform,0,,1,,,t C/ha/yr,x\nforest,uniform,0,,1,,,t C/ha/yr,x\n",
     "appear more than once"),
])
def test_range_errors_name_the_row(tmp_path, row, message):
    with pytest.raises(InputError, match="Coefficient distributions") as err:
        _ranges(tmp_path, row)
    assert message in str(err.value)
    with pytest.raises(InputError, match="not a built-in table"):
        load_coefficient_ranges(tmp_path / "absent.csv")


def test_draws_follow_their_distributions(tmp_path):
    r = _ranges(tmp_path, "forest,uniform,-1,,-0.5,,,t C/ha/yr,x\n"
                          "cropland,normal,,,,0.4,0.1,t C/ha/yr,x\n")
    d = coefficient_draws(r, COEF.dropna(), 20_000, seed=5)
    assert d["forest"].between(-1, -0.5).all()
    assert d["forest"].mean() == pytest.approx(-0.75, abs=0.01)
    assert d["cropland"].std() == pytest.approx(0.1, abs=0.005)
    assert (d["water"] == -0.253).all()          # no row: fixed


def test_monte_carlo_far_units_are_certain_and_seed_reproducible():
    r = load_coefficient_ranges("lai2010_ranges")
    a = monte_carlo(UNITS, COEF, r, LIMITS, draws=2000, seed=11)
    b = monte_carlo(UNITS, COEF, r, LIMITS, draws=2000, seed=11)
    pd.testing.assert_frame_equal(a, b)
    # far from their limits: the forest is a net sink in every draw (limit 0), the town's
    # construction emission is fixed at 50 t C/ha > 40
    assert a.loc[0, "p_exceed"] == 0.0
    assert a.loc[3, "p_exceed"] == 1.0
    assert a.loc[3, "net_tc_p5"] == a.loc[3, "net_tc_p95"] == 500.0
    assert a.loc[0, "net_tc_p5"] < a.loc[0, "net_tc_p50"] < a.loc[0, "net_tc_p95"] < 0
    assert a.loc[0, "net_tc_p5"] >= -106.4 and a.loc[0, "net_tc_p95"] <= -57.8
    c = monte_carlo(UNITS, COEF, r, LIMITS, draws=2000, seed=12)
    assert not np.allclose(a["net_tc_p50"].iloc[:3], c["net_tc_p50"].iloc[:3])


def test_monte_carlo_converges_to_the_exceedance_probability(tmp_path):
    # cropland uniform on [0, 0.6], limit 0.3 -> P(exceed) = 0.5; limit 0.45 -> 0.25
    r = _ranges(tmp_path, "cropland,uniform,0,,0.6,,,t C/ha/yr,x\n")
    units = UNITS.iloc[[1, 2]].reset_index(drop=True)
    p = monte_carlo(units, COEF, r, {"agricultural": 0.3}, draws=40_000, seed=0)["p_exceed"]
    assert p.tolist() == pytest.approx([0.5, 0.5], abs=0.01)
    p = monte_carlo(units, COEF, r, {"agricultural": 0.45}, draws=40_000, seed=0)["p_exceed"]
    assert p.tolist() == pytest.approx([0.25, 0.25], abs=0.01)
    # t CO2 output: values x 44/12, probabilities unchanged
    t = units.rename(columns={"construction_emission_tc": "construction_emission_tco2"})
    co2 = monte_carlo(t, COEF, r, {"agricultural": 0.3}, draws=1000, seed=0,
                      factor=44 / 12, suffix="tco2")
    tc = monte_carlo(units, COEF, r, {"agricultural": 0.3}, draws=1000, seed=0)
    assert co2["net_tco2_p50"].tolist() == pytest.approx((tc["net_tc_p50"] * 44 / 12).tolist())
    assert co2["p_exceed"].tolist() == tc["p_exceed"].tolist()
    # processing units in blocks changes nothing
    blocks = monte_carlo(UNITS, COEF, load_coefficient_ranges("lai2010_ranges"), LIMITS,
                         draws=300, seed=4, max_cells=600)
    whole = monte_carlo(UNITS, COEF, load_coefficient_ranges("lai2010_ranges"), LIMITS,
                        draws=300, seed=4)
    pd.testing.assert_frame_equal(blocks, whole)
    with pytest.raises(InputError, match="draws must be >= 1"):
        monte_carlo(units, COEF, r, LIMITS, draws=0)


SWEEP = pd.DataFrame({"unit_id": ["a", "b", "c", "d"],
                      "space_type": ["agricultural"] * 3 + ["ecological"],
                      "net_tc_per_ha": [0.1, 0.3, 0.5, -0.2]})


def test_threshold_sweep_hand_computed():
    sw = threshold_sweep(SWEEP, {"agricultural": 0.4, "construction": 50.0, "ecological": 0.0},
                         RiskBands(0.1, 0.5, 0.1), relative_range=0.5, steps=3,
                         floor_tc_per_ha=0.1)
    agri = sw[sw.space_type == "agricultural"]
    assert agri["threshold_tc_per_ha"].tolist() == pytest.approx([0.2, 0.4, 0.6])
    # t = 0.2: b within -> exceeding, c exceeding -> severe; t = 0.6: c -> within
    assert agri["units_changed"].tolist() == [2, 0, 1]
    assert agri["units_exceeding"].tolist() == [2, 1, 0]
    assert agri["n_severe"].tolist() == [1, 0, 0]
    assert agri["units_of_space_type"].tolist() == [3, 3, 3]
    eco = sw[sw.space_type == "ecological"]
    # threshold 0: the floor 0.1 gives the range -0.1 .. 0.1
    assert eco["threshold_tc_per_ha"].tolist() == pytest.approx([-0.1, 0.0, 0.1])
    assert eco["units_changed"].tolist() == [0, 0, 0]
    assert set(sw["space_type"]) == {"agricultural", "construction", "ecological"}
    fig = sweep_figure(sw, language="zh")
    from landcarbon.publish.figures import cjk_font

    # Chinese titles need a CJK font (.ci/run installs fonts-noto-cjk); English without one
    title = "农业空间" if cjk_font() else "Agricultural space"
    assert len(fig.axes) == 3 and fig.axes[0].get_title() == title
    with pytest.raises(InputError, match="sweep_steps must be >= 2"):
        threshold_sweep(SWEEP, {"agricultural": 0.4}, steps=1)


def test_monte_carlo_draws_the_energy_factors():
    """A pure construction unit (no direct coefficients drawn): coal 100 t C and grid 50 t C.
    Each draw scales coal by U(0.98, 1.02) and the grid by U(0.964, 1.036), so the net lies
    in [98 + 48.2, 102 + 51.8] with median near 150, and the interval is no longer a point."""
    from landcarbon.zoning.uncertainty import ENERGY_RANGES, monte_carlo

    units = pd.DataFrame({"area_construction_ha": [10.0], "covered_ha": [10.0],
                          "space_type": ["construction"], "construction_emission_tc": [150.0]})
    coefs = pd.Series({"construction": np.nan})
    ranges = pd.DataFrame(columns=["distribution", "low", "mode", "high", "mean", "sd"])
    parts = pd.DataFrame({"coal": [100.0], "grid": [50.0]})
    held = monte_carlo(units, coefs, ranges, {"construction": 14.9}, draws=4000, seed=3)
    assert held["net_tc_p5"].iloc[0] == held["net_tc_p95"].iloc[0] == 150.0  # fixed before
    mc = monte_carlo(units, coefs, ranges, {"construction": 14.9}, draws=4000, seed=3,
                     energy_parts=parts)
    lo, mid, hi = (mc[f"net_tc_p{p}"].iloc[0] for p in (5, 50, 95))
    assert 98 + 50 * (1 - ENERGY_RANGES["grid"]) < lo < mid < hi < 102 + 50 * 1.036
    assert mid == pytest.approx(150.0, abs=0.3)
    # density 15 t C/ha/yr against a limit of 14.9: exceeded unless the factors are low
    assert 0.7 < mc["p_exceed"].iloc[0] < 0.95


def test_a_header_only_distribution_table_is_named(tmp_path) -> None:
    """(It failed with KeyError 'land_class', "this may be a bug".)"""
    from landcarbon.exceptions import InputError
    from landcarbon.zoning.uncertainty import load_coefficient_ranges

    path = tmp_path / "unc.csv"
    path.write_text("land_class,distribution,low,mode,high,mean,sd,unit,source\n",
                    encoding="utf-8")
    with pytest.raises(InputError, match="has a header but no rows"):
        load_coefficient_ranges(path)
