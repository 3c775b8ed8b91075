"""Scenario comparison, what-if edits (area conserved) and Markov projection by hand."""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from conftest import GRID4, write_tif
from shapely.geometry import box

from landcarbon.accounting.classification import categories_of, classify
from landcarbon.accounting.legends import load_legend
from landcarbon.change.scenarios import (
    compare_scenarios,
    markov_projection,
    protect,
    reduce_construction,
    restore_wetland,
    transition_probabilities,
    units_mask,
)
from landcarbon.engine.zonal import class_areas
from landcarbon.exceptions import InputError
from landcarbon.io.raster import open_landcover
from landcarbon.io.vector import read_units


@pytest.fixture
def cats(tmp_path: Path):
    return classify(open_landcover(write_tif(tmp_path / "g.tif", GRID4)),
                    load_legend("esa_worldcover"))


def _classes(c) -> np.ndarray:
    table = categories_of(c)["land_class"].to_numpy()
    v = np.asarray(c.values)
    return np.where(v == 255, "", table[np.minimum(v, len(table) - 1)])


def _conserved(before, after, units) -> None:
    """Total area, nodata footprint and each unit's covered area are unchanged."""
    assert ((np.asarray(before.values) == 255) == (np.asarray(after.values) == 255)).all()
    a = class_areas(before, units).groupby("unit_id")["area_ha"].sum()
    b = class_areas(after, units).groupby("unit_id")["area_ha"].sum()
    pd.testing.assert_series_equal(a, b)
    assert b.sum() == pytest.approx(0.15)


def test_reduce_construction_nearest_ecological_first(cats, halves_gpkg) -> None:
    units = read_units(halves_gpkg, layer="units", id_field="code", name_field="name")
    out, ha = reduce_construction(cats, 0.015, to_land_class="forest")
    lc = _classes(out)
    # built-up at (2,1) touches grassland (distance 1 px), then (2,0) and (3,0) at 2 px
    assert ha == pytest.approx(0.02)
    assert lc[2, 1] == "forest" and lc[2, 0] == "forest" and lc[3, 0] == "construction"
    assert (_classes(cats) != lc).sum() == 2
    _conserved(cats, out, units)


def test_reduce_construction_within_units_and_protected(cats, caplog) -> None:
    west_col = gpd.GeoDataFrame({"unit_id": ["c0"]}, geometry=[box(500000, 3849960, 500010,
                                                                   3850000)], crs="EPSG:32649")
    within = units_mask(west_col, cats, ["c0"])
    assert within.sum() == 4 and within[:, 0].all()
    with caplog.at_level(logging.WARNING):
        out, ha = reduce_construction(cats, 0.05, to_land_class="grassland", within=within)
    assert ha == pytest.approx(0.02) and "only 0.02 ha" in caplog.text
    assert _classes(out)[2, 0] == "grassland" and _classes(out)[2, 1] == "construction"
    protected = np.zeros((4, 4), bool)
    protected[2, 1] = True
    out2, ha2 = reduce_construction(cats, 0.01, protected=protected)
    assert ha2 == pytest.approx(0.01) and _classes(out2)[2, 0] == "forest"
    assert _classes(out2)[2, 1] == "construction"
    with pytest.raises(InputError, match="no category \\(cropland, ecological\\)"):
        reduce_construction(cats, 0.01, to_land_class="cropland")
    with pytest.raises(InputError, match="Unknown unit id\\(s\\) in the edit: zz"):
        units_mask(west_col, cats, ["zz"])


def test_restore_wetland_along_water(cats, halves_gpkg) -> None:
    units = read_units(halves_gpkg, layer="units", id_field="code", name_field="name")
    out, ha = restore_wetland(cats, 10.0)  # grassland (2,2) and (3,2) are 10 m from water
    lc = _classes(out)
    assert ha == pytest.approx(0.02) and lc[2, 2] == "wetland" and lc[3, 2] == "wetland"
    assert lc[1, 2] == "forest"  # forest is not in from_land_classes
    _conserved(cats, out, units)
    out20, ha20 = restore_wetland(cats, 20.0)  # + cropland (1,1), 20 m from water (1,3)
    assert ha20 == pytest.approx(0.03) and _classes(out20)[1, 1] == "wetland"
    protected = np.zeros((4, 4), bool)
    protected[3, 2] = True
    assert restore_wetland(cats, 10.0, protected=protected)[1] == pytest.approx(0.01)


def test_protect_resets_protected_pixels(cats) -> None:
    edited, _ = restore_wetland(cats, 20.0)
    protected = np.zeros((4, 4), bool)
    protected[1:, :2] = True
    kept = protect(cats, edited, protected)
    lc = _classes(kept)
    assert lc[1, 1] == "cropland" and lc[2, 2] == "wetland"


def _transitions(rows):
    return pd.DataFrame(rows, columns=["unit_id", "from_land_class", "from_space_type",
                                       "to_land_class", "to_space_type", "area_ha"])


TWO = _transitions([
    ("A", "cropland", "agricultural", "cropland", "agricultural", 80.0),
    ("A", "cropland", "agricultural", "construction", "construction", 20.0),
    ("A", "construction", "construction", "cropland", "agricultural", 10.0),
    ("A", "construction", "construction", "construction", "construction", 90.0),
])


def _areas(out, year, unit="A"):
    sub = out[(out["year"] == year) & (out["unit_id"] == unit)]
    return sub.set_index("land_class")["area_ha"].reindex(["cropland", "construction"],
                                                          fill_value=0.0).to_numpy()


def test_markov_two_classes_by_hand() -> None:
    # P = [[0.8, 0.2], [0.1, 0.9]]; areas in 2023 = column sums = [90, 110]
    out = markov_projection(TWO, years_observed=8, year_now=2023,
                            target_years=[2031, 2039, 2027])
    np.testing.assert_allclose(_areas(out, 2023), [90, 110])
    np.testing.assert_allclose(_areas(out, 2031), [83, 117])  # 90*.8 + 110*.1
    np.testing.assert_allclose(_areas(out, 2039), [78.1, 121.9])  # 83*.8 + 117*.1
    np.testing.assert_allclose(_areas(out, 2027), [86.5, 113.5])  # half a step, linear
    # cropland protection: cropland -> construction x 0.5 gives P = [[0.9, .1], [.1, .9]]
    prot = markov_projection(TWO, years_observed=8, year_now=2023, target_years=[2031],
                             multipliers={("cropland", "construction"): 0.5})
    np.testing.assert_allclose(_areas(prot, 2031), [92, 108])
    assert out.groupby("year")["area_ha"].sum().to_numpy() == pytest.approx([200] * 4)


def test_markov_fallback_and_bad_multiplier() -> None:
    both = pd.concat([TWO, _transitions([
        ("B", "cropland", "agricultural", "cropland", "agricultural", 40.0),
        ("B", "construction", "construction", "construction", "construction", 0.0)])])
    # B has no observed construction row: it would use the whole-area row [10, 90]/100;
    # its cropland row [1, 0] keeps cropland
    out = markov_projection(both, years_observed=8, year_now=2023, target_years=[2031])
    np.testing.assert_allclose(_areas(out, 2031, "B"), [40, 0])
    m = pd.DataFrame([[0, 0], [5, 5]], index=["cropland", "construction"],
                     columns=["cropland", "construction"], dtype=float)
    whole = pd.DataFrame([[0.7, 0.3], [0.2, 0.8]], index=m.index, columns=m.columns)
    p = transition_probabilities(m, fallback=whole)
    np.testing.assert_allclose(p.to_numpy(), [[0.7, 0.3], [0.5, 0.5]])
    with pytest.raises(InputError, match=r"change probability of construction 1\.500"):
        transition_probabilities(m, {("construction", "cropland"): 3.0})


def test_compare_scenarios_deltas_and_risk_table() -> None:
    base = pd.DataFrame({"unit_id": ["u1", "u2"], "unit_name": ["一", "二"],
                         "emission_tc": [10.0, 5.0], "sequestration_tc": [2.0, 8.0],
                         "net_tc": [8.0, -3.0], "net_tc_per_ha": [0.8, -0.3],
                         "covered_ha": [10.0, 10.0], "area_forest_ha": [1.0, 5.0],
                         "risk_level": ["exceeding", "net_sink"]})
    eco = base.assign(emission_tc=[6.0, 5.0], net_tc=[4.0, -3.0], net_tc_per_ha=[0.4, -0.3],
                      risk_level=["within", "net_sink"])
    deltas, risk = compare_scenarios(base, {"eco": eco, "same": base})
    row = deltas[(deltas["scenario"] == "eco") & (deltas["unit_id"] == "u1")].iloc[0]
    assert row["net_tc_delta"] == -4.0 and row["emission_tc_baseline"] == 10.0
    assert row["risk_level_baseline"] == "exceeding" and row["risk_level_scenario"] == "within"
    assert len(deltas) == 4
    r = risk.set_index(["scenario", "risk_level_baseline", "risk_level_scenario"])["units"]
    assert r["eco", "exceeding", "within"] == 1 and r["same", "exceeding", "exceeding"] == 1
    assert r.sum() == 4
    # a class only one scenario has (wetland restored): 0 ha in the others, not empty
    wet = eco.assign(area_wetland_ha=[0.5, 0.0])
    deltas, _ = compare_scenarios(base, {"wet": wet, "same": base})
    same = deltas[deltas["scenario"] == "same"]
    for col in ("area_wetland_ha_baseline", "area_wetland_ha_scenario",
                "area_wetland_ha_delta"):
        assert same[col].tolist() == [0.0, 0.0], col
    assert deltas.loc[deltas["scenario"] == "wet", "area_wetland_ha_delta"].tolist() == [
        0.5, 0.0]
