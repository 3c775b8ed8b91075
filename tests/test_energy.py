"""Energy method for construction land (family B): hand-computed emissions and every error."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from landcarbon.accounting.energy import (
    allocate_to_construction,
    construction_emissions,
    load_energy_factors,
)
from landcarbon.exceptions import InputError

REL = 1e-12
COAL, OIL, GAS = 0.7559, 0.5857, 0.4483


def approx(value: float) -> object:
    return pytest.approx(value, rel=REL)


# ---------------------------------------------------------------- factor table


def test_factor_table_complete_and_valid() -> None:
    f = load_energy_factors()
    assert list(f.columns) == ["column", "physical_unit", "tce_per_unit", "carbon_family",
                               "t_c_per_tce", "source"]
    assert f.index.name == "fuel"
    assert len(f) == 12
    expected = {
        "raw_coal": ("raw_coal_t", "t", 0.7143, "coal"),
        "washed_coal": ("washed_coal_t", "t", 0.9000, "coal"),
        "coke": ("coke_t", "t", 0.9714, "coal"),
        "crude_oil": ("crude_oil_t", "t", 1.4286, "oil"),
        "fuel_oil": ("fuel_oil_t", "t", 1.4286, "oil"),
        "gasoline": ("gasoline_t", "t", 1.4714, "oil"),
        "kerosene": ("kerosene_t", "t", 1.4714, "oil"),
        "diesel": ("diesel_t", "t", 1.4571, "oil"),
        "lpg": ("lpg_t", "t", 1.7143, "oil"),
        "natural_gas": ("natural_gas_10k_m3", "10^4 m3", 12.143, "gas"),
        "heat": ("heat_gj", "GJ", 0.0341, "coal"),
        "electricity": ("electricity_10k_kwh", "10^4 kWh", 1.229, "coal"),
    }
    carbon = {"coal": COAL, "oil": OIL, "gas": GAS}
    for fuel, (column, unit, tce, family) in expected.items():
        row = f.loc[fuel]
        assert (row["column"], row["physical_unit"], row["carbon_family"]) == (
            column, unit, family)
        assert row["tce_per_unit"] == tce
        assert row["t_c_per_tce"] == carbon[family]
        assert "GB/T 2589-2020" in row["source"]
        assert "IPCC 2006" in row["source"]
    assert "assumption" in f.loc["electricity", "source"]
    assert "assumption" in f.loc["heat", "source"]


def test_factor_table_is_a_copy() -> None:
    f = load_energy_factors()
    f.loc["raw_coal", "tce_per_unit"] = 99.0
    assert load_energy_factors().loc["raw_coal", "tce_per_unit"] == 0.7143


# ---------------------------------------------------------------- emissions


def test_raw_coal_hand_computed() -> None:
    out = construction_emissions(pd.DataFrame({"unit_id": ["A"], "raw_coal_t": [1000.0]}))
    assert list(out.columns) == ["raw_coal_tc", "construction_emission_tc", "energy_tce"]
    assert out.index.name == "unit_id"
    assert out.loc["A", "energy_tce"] == approx(714.3)
    assert out.loc["A", "raw_coal_tc"] == approx(1000 * 0.7143 * 0.7559)
    assert out.loc["A", "raw_coal_tc"] == approx(539.93937)  # 714.3 x 0.7559
    assert out.loc["A", "construction_emission_tc"] == approx(539.93937)  # 714.3 x 0.7559


def test_natural_gas_hand_computed() -> None:
    out = construction_emissions(pd.DataFrame({"unit_id": ["G"], "natural_gas_10k_m3": [10]}))
    assert out.loc["G", "energy_tce"] == approx(121.43)
    assert out.loc["G", "natural_gas_tc"] == approx(121.43 * 0.4483)


def test_electricity_standard_coal_vs_grid_factor() -> None:
    energy = pd.DataFrame({"unit_id": ["E"], "electricity_10k_kwh": [100.0]})
    std = construction_emissions(energy, electricity="standard_coal")
    assert std.loc["E", "energy_tce"] == approx(122.9)  # 1e6 kWh x 0.1229 kgce/kWh
    assert std.loc["E", "electricity_tc"] == approx(122.9 * COAL)

    grid = construction_emissions(energy, electricity="grid_factor",
                                  grid_factor_kg_co2_per_kwh=0.5568)
    # 1e6 kWh x 0.5568 kg/kWh = 556.8 t CO2 = 556.8 x 12/44 t C
    assert grid.loc["E", "electricity_tc"] == approx(556.8 * 12 / 44)
    assert grid.loc["E", "electricity_tc"] == approx(151.85454545454545)
    assert grid.loc["E", "construction_emission_tc"] == approx(151.85454545454545)
    # the energy use itself does not depend on the emission method
    assert grid.loc["E", "energy_tce"] == approx(122.9)


def test_empty_cell_is_an_error_not_zero() -> None:
    energy = pd.DataFrame({"unit_id": ["U1", "U2"], "heat_gj": [3000.0, np.nan]})
    with pytest.raises(InputError, match=r"U2 / heat_gj = \(empty\) \(row 3\)"):
        construction_emissions(energy)


def test_total_is_sum_of_fuels_and_columns_follow_factor_order() -> None:
    energy = pd.DataFrame({
        "unit_id": ["U1", "U2"],
        "diesel_t": [200.0, 0.0],
        "raw_coal_t": [1000.0, 50.0],
        "heat_gj": [3000.0, 0.0],
        "electricity_10k_kwh": [100.0, 2.5],
    })
    out = construction_emissions(energy, electricity="standard_coal")
    assert list(out.columns) == ["raw_coal_tc", "diesel_tc", "heat_tc", "electricity_tc",
                                 "construction_emission_tc", "energy_tce"]
    assert list(out.index) == ["U1", "U2"]
    u1 = {
        "raw_coal_tc": 1000 * 0.7143 * COAL,
        "diesel_tc": 200 * 1.4571 * OIL,
        "heat_tc": 3000 * 0.0341 * COAL,
        "electricity_tc": 100 * 1.229 * COAL,
    }
    for col, value in u1.items():
        assert out.loc["U1", col] == approx(value)
    assert out.loc["U1", "construction_emission_tc"] == approx(sum(u1.values()))
    assert out.loc["U1", "energy_tce"] == approx(1000 * 0.7143 + 200 * 1.4571 + 3000 * 0.0341
                                                 + 100 * 1.229)
    assert out.loc["U2", "heat_tc"] == 0.0
    assert out.loc["U2", "construction_emission_tc"] == approx(50 * 0.7143 * COAL
                                                               + 2.5 * 1.229 * COAL)
    for uid in out.index:
        fuels = out.loc[uid, ["raw_coal_tc", "diesel_tc", "heat_tc", "electricity_tc"]]
        assert out.loc[uid, "construction_emission_tc"] == approx(fuels.sum())


def test_all_twelve_fuels() -> None:
    f = load_energy_factors()
    row = {"unit_id": "ALL"} | {col: 1.0 for col in f["column"]}
    out = construction_emissions(pd.DataFrame([row]), electricity="standard_coal")
    expected = 0.0
    for fuel, r in f.iterrows():
        value = r["tce_per_unit"] * r["t_c_per_tce"]
        assert out.loc["ALL", f"{fuel}_tc"] == approx(value)
        expected += value
    assert out.loc["ALL", "construction_emission_tc"] == approx(expected)
    assert out.loc["ALL", "energy_tce"] == approx(f["tce_per_unit"].sum())


def test_ids_become_str_and_numeric_strings_are_accepted() -> None:
    energy = pd.DataFrame({"code": [410102.0, 410103.0], "lpg_t": ["12.5", " 0 "]})
    out = construction_emissions(energy, id_column="code")
    assert list(out.index) == ["410102", "410103"]
    assert out.index.name == "unit_id"
    assert out.loc["410102", "lpg_tc"] == approx(12.5 * 1.7143 * OIL)
    assert out.loc["410103", "lpg_tc"] == 0.0


def test_custom_factor_table() -> None:
    f = load_energy_factors()
    f.loc["electricity", "tce_per_unit"] = 3.0  # e.g. the calorific-value (3.3) convention
    out = construction_emissions(pd.DataFrame({"unit_id": ["A"], "electricity_10k_kwh": [2.0]}),
                                 factors=f, electricity="standard_coal")
    assert out.loc["A", "energy_tce"] == approx(6.0)
    assert out.loc["A", "electricity_tc"] == approx(6.0 * COAL)


# ---------------------------------------------------------------- errors


def test_missing_id_column() -> None:
    with pytest.raises(InputError, match="no unit id column 'unit_id'") as err:
        construction_emissions(pd.DataFrame({"county": ["A"], "raw_coal_t": [1.0]}))
    assert "county" in str(err.value) and "id_column" in str(err.value)


def test_unknown_columns_are_listed_with_valid_names() -> None:
    energy = pd.DataFrame({"unit_id": ["A"], "coal_t": [1.0], "gas_m3": [2.0],
                           "diesel_t": [3.0]})
    with pytest.raises(InputError, match="unknown column") as err:
        construction_emissions(energy)
    msg = str(err.value)
    assert "coal_t, gas_m3" in msg
    assert "raw_coal_t" in msg and "natural_gas_10k_m3" in msg and "electricity_10k_kwh" in msg
    assert "\n" not in msg


def test_no_fuel_column() -> None:
    with pytest.raises(InputError, match="no fuel column"):
        construction_emissions(pd.DataFrame({"unit_id": ["A"]}))


def test_non_numeric_and_negative_values_listed() -> None:
    energy = pd.DataFrame({"unit_id": ["A", "B", "C"],
                           "raw_coal_t": ["1,000", "5", "-"],
                           "diesel_t": [1.0, -2.0, 3.0]})
    with pytest.raises(InputError, match="non-numeric, infinite, negative or above") as err:
        construction_emissions(energy)
    msg = str(err.value)
    assert "3 value(s)" in msg
    assert "A / raw_coal_t" in msg and "C / raw_coal_t" in msg and "B / diesel_t" in msg
    assert "B / raw_coal_t" not in msg


def test_bad_values_list_at_most_ten() -> None:
    energy = pd.DataFrame({"unit_id": [f"U{i:02d}" for i in range(12)],
                           "coke_t": [-1.0] * 12})
    with pytest.raises(InputError, match="12 value") as err:
        construction_emissions(energy)
    msg = str(err.value)
    assert "U09" in msg and "U10" not in msg and "and 2 more" in msg


def test_infinite_value_rejected() -> None:
    with pytest.raises(InputError, match="A / coke_t"):
        construction_emissions(pd.DataFrame({"unit_id": ["A"], "coke_t": [math.inf]}))


def test_duplicate_unit_ids() -> None:
    energy = pd.DataFrame({"unit_id": ["A", "B", "A", "C", "C"], "coke_t": [1.0] * 5})
    with pytest.raises(InputError, match="more than once") as err:
        construction_emissions(energy)
    assert "A, C" in str(err.value)


def test_empty_unit_id() -> None:
    energy = pd.DataFrame({"unit_id": ["A", None], "coke_t": [1.0, 2.0]})
    with pytest.raises(InputError, match="no unit id"):
        construction_emissions(energy)


def test_grid_factor_is_the_default_national_2022_factor() -> None:
    """Without a factor, electricity is charged with the MEE/NBS national average 2022,
    0.5366 kg CO2/kWh: 10^4 kWh -> 5.366 t CO2 = 5.366 x 12/44 t C."""
    energy = pd.DataFrame({"unit_id": ["A"], "electricity_10k_kwh": [1.0]})
    for out in (construction_emissions(energy),
                construction_emissions(energy, electricity="grid_factor")):
        assert out.loc["A", "electricity_tc"] == approx(5.366 * 12 / 44)
        assert out.loc["A", "electricity_tc"] == approx(1.4634545454545456)


@pytest.mark.parametrize("factor", [0.0, -0.5, math.nan])
def test_grid_factor_must_be_positive(factor: float) -> None:
    energy = pd.DataFrame({"unit_id": ["A"], "electricity_10k_kwh": [1.0]})
    with pytest.raises(InputError, match="positive number"):
        construction_emissions(energy, electricity="grid_factor",
                               grid_factor_kg_co2_per_kwh=factor)


def test_grid_factor_with_standard_coal_is_rejected() -> None:
    energy = pd.DataFrame({"unit_id": ["A"], "electricity_10k_kwh": [1.0]})
    with pytest.raises(InputError, match="ignores it"):
        construction_emissions(energy, electricity="standard_coal",
                               grid_factor_kg_co2_per_kwh=0.5568)


def test_unknown_electricity_method() -> None:
    energy = pd.DataFrame({"unit_id": ["A"], "electricity_10k_kwh": [1.0]})
    with pytest.raises(InputError, match="'standard_coal' or 'grid_factor'"):
        construction_emissions(energy, electricity="calorific")  # type: ignore[arg-type]


def test_invalid_factor_table() -> None:
    f = load_energy_factors()
    f.loc["coke", "t_c_per_tce"] = -1.0
    f.loc["lpg", "carbon_family"] = "peat"
    with pytest.raises(InputError, match="Energy factor table") as err:
        construction_emissions(pd.DataFrame({"unit_id": ["A"], "coke_t": [1.0]}), factors=f)
    assert "coke: t_c_per_tce" in str(err.value) and "peat" in str(err.value)
    with pytest.raises(InputError, match="lacks column"):
        construction_emissions(pd.DataFrame({"unit_id": ["A"], "coke_t": [1.0]}),
                               factors=f.drop(columns="source"))


# ---------------------------------------------------------------- allocation


def test_allocation_with_zero_construction_area() -> None:
    emissions = pd.Series({"A": 100.0, "B": 30.0, "C": 0.0})
    area = pd.Series({"A": 40.0, "B": 0.0, "C": 0.0, "D": 12.0})
    out = allocate_to_construction(emissions, area)
    assert list(out.index) == ["A", "B", "C", "D"]
    assert out.index.name == "unit_id"
    assert list(out.columns) == ["construction_intensity_tc_per_ha", "unallocated_tc"]
    assert out.loc["A", "construction_intensity_tc_per_ha"] == approx(2.5)
    assert math.isnan(out.loc["B", "construction_intensity_tc_per_ha"])
    assert math.isnan(out.loc["C", "construction_intensity_tc_per_ha"])
    assert out.loc["D", "construction_intensity_tc_per_ha"] == 0.0  # no emission reported
    assert out["unallocated_tc"].to_dict() == {"A": 0.0, "B": 30.0, "C": 0.0, "D": 0.0}


def test_allocation_unit_missing_from_areas_is_unallocated() -> None:
    out = allocate_to_construction(pd.Series({"A": 10.0, "E": 7.5}), pd.Series({"A": 4.0}))
    assert out.loc["A", "construction_intensity_tc_per_ha"] == approx(2.5)
    assert math.isnan(out.loc["E", "construction_intensity_tc_per_ha"])
    assert out.loc["E", "unallocated_tc"] == 7.5


def test_allocation_from_construction_emissions() -> None:
    em = construction_emissions(pd.DataFrame({"unit_id": ["A"], "raw_coal_t": [1000.0]}))
    out = allocate_to_construction(em["construction_emission_tc"], pd.Series({"A": 10.0}))
    assert out.loc["A", "construction_intensity_tc_per_ha"] == approx(53.993937)


def test_allocation_errors() -> None:
    with pytest.raises(InputError, match="more than once"):
        allocate_to_construction(pd.Series([1.0, 2.0], index=["A", "A"]), pd.Series(dtype=float))
    with pytest.raises(InputError, match="negative"):
        allocate_to_construction(pd.Series({"A": 1.0}), pd.Series({"A": -3.0}))


def test_unit_values_raster_gives_boundary_pixels_a_value() -> None:
    """A pixel whose centre is in a unit gets that unit's value; a pixel that a unit only
    touches (counted in part in the unit's exact area) gets a touching unit's value, not
    NaN; a pixel no unit reaches stays NaN. 5 x 4 pixels of 30 m: A covers x 0-40 (column
    1's centre, x = 45, is outside), B x 70-110 (columns 2 and 3, centres 75 and 105)."""
    import geopandas as gpd
    import rioxarray  # noqa: F401  (the .rio accessor)
    import xarray as xr
    from shapely.geometry import box

    from landcarbon.accounting.flux import unit_values_raster

    like = xr.DataArray(np.zeros((4, 5), np.uint8), dims=("y", "x"),
                        coords={"y": 105.0 - 30.0 * np.arange(4),
                                "x": 15.0 + 30.0 * np.arange(5)}).rio.write_crs("EPSG:32650")
    units = gpd.GeoDataFrame({"unit_id": ["A", "B"]},
                             geometry=[box(0, 0, 40, 120), box(70, 0, 110, 120)],
                             crs="EPSG:32650")
    out = unit_values_raster(units, pd.Series({"A": 1.5, "B": 2.5}), like).to_numpy()
    assert out.dtype == np.float32 and out.shape == (4, 5)
    np.testing.assert_array_equal(out[0], [1.5, 1.5, 2.5, 2.5, np.nan])
    assert (out == out[0]).sum() == 16 and np.isnan(out[:, 4]).all()
    # the chunked path burns the same values block by block
    lazy = unit_values_raster(units, pd.Series({"A": 1.5, "B": 2.5}), like.chunk({"x": 2}))
    np.testing.assert_array_equal(lazy.to_numpy(), out)


def test_rows_are_named_by_their_spreadsheet_row_across_blank_lines(tmp_path) -> None:
    """A blank line (row 3) and Excel's ",,," rows at the end are no data; the rows after
    the blank line are named by their own spreadsheet row (the header is row 1): row 4 has
    no unit id, row 5 a negative value (pandas skipped the blank line: rows 3 and 4 were
    named, and ",,," was a row without a unit id)."""
    from landcarbon.io.tables import read_table

    path = tmp_path / "energy.csv"
    path.write_text("unit_id,coke_t\nA,1\n\n,2\nB,-3\n,\n\n,\n", encoding="utf-8")
    table = read_table(path, id_column="unit_id", what="Energy table")
    assert table.index.tolist() == [0, 2, 3] and table.loc[3, "unit_id"] == "B"
    with pytest.raises(InputError, match=r"spreadsheet row\(s\) 4, header = row 1"):
        construction_emissions(table)
    table.loc[2, "unit_id"] = "C"
    with pytest.raises(InputError, match=r"B / coke_t = -3(\.0)? \(row 5\)"):
        construction_emissions(table)
    path.write_text("unit_id,coke_t\nA,1\nB,2\n,\n", encoding="utf-8")
    ok = construction_emissions(read_table(path, id_column="unit_id", what="Energy table"))
    assert ok.index.tolist() == ["A", "B"]
