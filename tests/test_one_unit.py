"""One internal unit (docs/design.md, "One internal unit"): every step computes on the t C
table; t CO2 is made only at the edge (``conversions.to_output_unit``) by the record's view,
the writers and the labels."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import landcarbon
from landcarbon.accounting.conversions import (
    C_TO_CO2,
    FLUX_COLUMN,
    canonical_name,
    output_name,
    to_output_unit,
    totals_in_output_unit,
)
from landcarbon.config.run import load_config

PACKAGE = Path(landcarbon.__file__).parent
SAMPLE = PACKAGE.parent / "data" / "sample_tiles"
#: the names that convert t C into the output unit
CONVERTERS = {"to_output_unit", "output_factor", "suffix_factor"}
#: compute modules allowed to name them: the conversion modules, and public functions with
#: a unit argument for tables a user converted (``assess_risk(output_unit=)``,
#: ``threshold_sweep(output_unit=)``, the price per t CO2 of ``horizontal_compensation``)
ALLOWED = {"accounting/conversions.py", "accounting/display_units.py", "accounting/balance.py",
           "accounting/risk.py", "zoning/uncertainty.py", "zoning/compensation.py"}
#: pipeline steps that compute (no conversion at all)
PIPELINE_COMPUTE = ("_assess.py", "_zoning.py", "_change_risk.py", "_crops.py",
                    "_construction.py", "_planning.py")


def _names(path: Path) -> set[str]:
    """Every identifier and attribute name used in ``path`` (imports included)."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Name):
            out.add(node.id)
        elif isinstance(node, ast.Attribute):
            out.add(node.attr)
        elif isinstance(node, ast.alias):
            out.add(node.name.rpartition(".")[2])
    return out


def test_compute_modules_do_not_convert_to_the_output_unit() -> None:
    offenders = []
    for sub in ("engine", "accounting", "zoning", "change"):
        for path in sorted((PACKAGE / sub).rglob("*.py")):
            rel = path.relative_to(PACKAGE).as_posix()
            used = _names(path) & CONVERTERS
            if used and rel not in ALLOWED:
                offenders.append(f"{rel}: {sorted(used)}")
    for name in PIPELINE_COMPUTE:
        path = PACKAGE / "pipeline" / name
        if used := _names(path) & CONVERTERS:
            offenders.append(f"pipeline/{name}: {sorted(used)}")
    assert not offenders, offenders
    # the allow-list has no stale entries
    assert all((PACKAGE / rel).is_file() for rel in ALLOWED)


def test_the_edge_conversion_names_and_scales_flux_columns_only() -> None:
    t = pd.DataFrame({"unit_id": ["a"], "net_tc": [12.0], "net_tc_per_ha": [3.0],
                      "net_ecological_tc_per_ha": [-1.5], "net_tc_p2.5": [1.0],
                      "emission_intensity_tc_per_10k_cny": [0.5], "compensation_tc": [2.0],
                      "net_tc_per_ha_class": [3], "stock_change_tc": [7.0],
                      "price_per_tc": [300.0], "covered_ha": [4.0], "risk_level": ["within"]})
    out = to_output_unit(t, "t CO2")
    assert list(out.columns) == [
        "unit_id", "net_tco2", "net_tco2_per_ha", "net_ecological_tco2_per_ha", "net_tco2_p2.5",
        "emission_intensity_tco2_per_10k_cny", "compensation_tco2", "net_tco2_per_ha_class",
        "stock_change_tc", "price_per_tc", "covered_ha", "risk_level"]
    assert out["net_tco2"].iloc[0] == 12.0 * C_TO_CO2
    assert out["net_tco2_per_ha_class"].iloc[0] == 3  # grades are renamed, not scaled
    assert out["stock_change_tc"].iloc[0] == 7.0 and out["price_per_tc"].iloc[0] == 300.0
    pd.testing.assert_frame_equal(to_output_unit(t, "t C"), t)
    assert to_output_unit(t, "t C") is not t
    assert canonical_name("net_tco2_per_ha") == "net_tc_per_ha"
    assert canonical_name("net_tco2_per_ha_class") == "net_tc_per_ha_class"
    assert canonical_name("esc") == "esc" and canonical_name("stock_tco2") == "stock_tco2"
    assert output_name("threshold_tc_per_ha", "t CO2") == "threshold_tco2_per_ha"
    assert output_name("flux_change_tc", "t CO2") is None
    assert FLUX_COLUMN.fullmatch("net_tc_2023") is None
    totals = {"owed_tc": 2.0, "paid": 5.0, "nested": {"net_tc": 1.0}, "currency": "CNY"}
    assert totals_in_output_unit(totals, "t CO2") == {
        "owed_tco2": 2.0 * C_TO_CO2, "paid": 5.0, "nested": {"net_tco2": C_TO_CO2},
        "currency": "CNY"}


def _config(tmp_path: Path, unit: str, name: str) -> Path:
    """The zoning sample (statistics, hot spots, sink zones, compensation, 200 Monte Carlo
    draws) with ``output_unit = unit``, its inputs read from the sample folder."""
    text = (SAMPLE / "demo_zoning.toml").read_text(encoding="utf-8")
    text = re.sub(r'= "(\w+\.(?:tif|gpkg|csv))"',
                  lambda m: f'= "{(SAMPLE / m[1]).as_posix()}"', text)
    text = text.replace('output_unit = "t C"', f'output_unit = "{unit}"')
    text = text.replace("draws = 1000", "draws = 200")
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory) -> tuple[landcarbon.Assessment, ...]:
    tmp = tmp_path_factory.mktemp("one_unit")
    return tuple(landcarbon.assess(load_config(_config(tmp, unit, f"{i}.toml")))
                 for i, unit in enumerate(("t C", "t CO2")))


def test_t_co2_assessment_is_computed_in_t_c_and_converted_at_the_edge(both) -> None:
    tc, co2 = both
    # the canonical tables are the same numbers whatever the output unit (only the reasons,
    # text in the output unit, differ)
    text = [c for c in tc.table_tc.columns if "reason" in c]
    pd.testing.assert_frame_equal(pd.DataFrame(co2.table_tc.drop(columns=text)),
                                  pd.DataFrame(tc.table_tc.drop(columns=text)))
    assert "net_tc" in co2.table_tc and "net_tco2" not in co2.table_tc
    assert "compensation_tc" in co2.table_tc and "net_tc_p50" in co2.table_tc
    view = co2.units
    for col in ("emission_tc", "sequestration_tc", "net_tc", "construction_emission_tc",
                "net_tc_per_ha", "threshold_tc_per_ha", "net_construction_tc",
                "net_ecological_tc_per_ha", "net_tc_p5", "net_tc_per_ha_p95",
                "compensation_tc", "emission_intensity_tc_per_10k_cny"):
        co2_col = col.replace("_tc", "_tco2", 1)
        np.testing.assert_array_equal(view[co2_col].to_numpy(),
                                      co2.table_tc[col].to_numpy() * (44 / 12), err_msg=col)
        assert col not in view
    assert view["risk_level"].tolist() == tc.units["risk_level"].tolist()
    assert view["carbon_zone"].tolist() == tc.units["carbon_zone"].tolist()
    assert "t CO2/ha/yr" in view["risk_reason_en"].iloc[0]
    assert "t C/ha/yr" in tc.units["risk_reason_en"].iloc[0]
    # the view is a copy: editing it leaves the canonical table as it was
    view["net_tco2"] = 0.0
    assert (co2.units["net_tco2"] != 0).any()
    # the totals (run.json) are those of the view
    assert co2.totals()["net_tco2"] == pytest.approx(tc.totals()["net_tc"] * 44 / 12)
    # the zoning layers stay t C in the record
    assert "carbon_tc" in co2.zoning["compensation_flows"]
    assert "net_tc_per_ha" in co2.zoning["hotspot_grid"]
