"""Construction-land emissions from energy statistics (accounting family B).

The emission of a unit is ``E = sum_k Q_k x SCC_k x delta_k`` (t C/yr): the physical quantity
``Q_k`` of each fuel consumed in the unit, its standard-coal coefficient ``SCC_k`` (tce per
physical unit, GB/T 2589-2020 Appendix A) and the carbon content per tonne of standard coal
``delta_k`` of its carbon family (coal 0.7559, oil 0.5857, gas 0.4483 t C/tce; IPCC 2006
defaults as tabulated in China's provincial GHG inventory guidelines). The factors are package
data, ``landcarbon/data/energy_factors.csv``, one row per fuel with its input column name,
physical unit and sources.

Electricity is charged by default with an official grid CO2 factor
(``electricity="grid_factor"``, national average 2022 0.5366 kg CO2/kWh unless another factor
is given; :mod:`landcarbon.accounting.grid_factors`): ``t C = kWh x factor / 1000 x 12/44``.
The standard-coal equivalent (``electricity="standard_coal"``, 0.1229 kgce/kWh with the
**coal** carbon content, a landcarbon assumption of coal-dominated supply, evidence P) stays an
explicit option; heat always carries the coal carbon content.

The emission is charged to the construction land of the unit; :func:`allocate_to_construction`
spreads it uniformly over that land and reports what cannot be placed (units that use energy
but hold no construction land).
"""

from __future__ import annotations

from functools import cache
from typing import Literal

import numpy as np
import pandas as pd

from landcarbon._resources import data_path, read_csv
from landcarbon.checks.tables import spreadsheet_row
from landcarbon.exceptions import InputError

__all__ = [
    "FACTOR_COLUMNS",
    "ElectricityMethod",
    "allocate_to_construction",
    "construction_emissions",
    "load_energy_factors",
]

ElectricityMethod = Literal["standard_coal", "grid_factor"]

#: Columns of ``data/energy_factors.csv`` (and of a custom ``factors`` table).
FACTOR_COLUMNS: tuple[str, ...] = (
    "fuel", "column", "physical_unit", "tce_per_unit", "carbon_family", "t_c_per_tce", "source",
)
CARBON_FAMILIES: tuple[str, ...] = ("coal", "oil", "gas")
#: Mass ratio of carbon to carbon dioxide.
C_PER_CO2 = 12.0 / 44.0
#: kWh in one unit of the electricity column (10^4 kWh).
KWH_PER_ELECTRICITY_UNIT = 1.0e4
MAX_LISTED = 10


def load_energy_factors() -> pd.DataFrame:
    """Load the built-in energy factors (standard-coal coefficients and carbon per tce).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``fuel``: ``column`` (input column name, e.g. ``raw_coal_t``),
        ``physical_unit``, ``tce_per_unit`` (float, tce per physical unit),
        ``carbon_family`` (coal / oil / gas), ``t_c_per_tce`` (float, t C per tce) and
        ``source``. A fresh copy on every call.

    Raises
    ------
    InputError
        The package file is damaged (missing columns, non-positive or non-numeric factors).
    """
    return _builtin_factors().copy()


@cache
def _builtin_factors() -> pd.DataFrame:
    path = data_path("energy_factors.csv")
    return _validate_factors(read_csv(path), str(path))


def _validate_factors(raw: pd.DataFrame, where: str) -> pd.DataFrame:
    """Check a factor table and return it indexed by ``fuel`` with float factors."""
    table = raw.copy()
    if table.index.name == "fuel" and "fuel" not in table.columns:
        table = table.reset_index()
    table.columns = [str(c).strip() for c in table.columns]
    missing = [c for c in FACTOR_COLUMNS if c not in table.columns]
    if missing:
        raise InputError(
            f"Energy factor table {where} lacks column(s) {', '.join(missing)}. It needs the "
            f"columns {', '.join(FACTOR_COLUMNS)} (see landcarbon/data/energy_factors.csv)."
        )
    table = table[list(FACTOR_COLUMNS)]
    for col in ("fuel", "column", "physical_unit", "carbon_family", "source"):
        table[col] = table[col].astype(str).str.strip()
    problems: list[str] = []
    for col in ("tce_per_unit", "t_c_per_tce"):
        values = pd.to_numeric(table[col], errors="coerce").astype(float)
        bad = ~(np.isfinite(values) & (values > 0))
        problems += [f"{fuel}: {col} = {table[col].iloc[i]!r} is not a positive number"
                     for i, fuel in enumerate(table["fuel"]) if bad.iloc[i]]
        table[col] = values
    problems += [f"{fuel}: carbon_family {fam!r} is not one of {', '.join(CARBON_FAMILIES)}"
                 for fuel, fam in zip(table["fuel"], table["carbon_family"], strict=True)
                 if fam not in CARBON_FAMILIES]
    for col in ("fuel", "column"):
        dup = sorted(set(table.loc[table[col].duplicated(), col]))
        if dup:
            problems.append(f"duplicate {col} value(s) {', '.join(dup)}")
        if (table[col] == "").any():
            problems.append(f"empty {col} value(s)")
    if problems:
        raise InputError(
            f"Energy factor table {where} is invalid: {'; '.join(problems)}. Every fuel needs a "
            "unique name and column, positive tce_per_unit and t_c_per_tce, and a carbon_family "
            "of coal, oil or gas."
        )
    return table.set_index("fuel")


def construction_emissions(
    energy: pd.DataFrame,
    *,
    id_column: str = "unit_id",
    electricity: ElectricityMethod = "grid_factor",
    grid_factor_kg_co2_per_kwh: float | None = None,
    factors: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Carbon emission of energy consumption per unit (t C/yr), charged to construction land.

    Parameters
    ----------
    energy : pandas.DataFrame
        One row per unit: ``id_column`` and any subset of the fuel columns of the factor table
        (``raw_coal_t``, ``washed_coal_t``, ``coke_t``, ``crude_oil_t``, ``fuel_oil_t``,
        ``gasoline_t``, ``kerosene_t``, ``diesel_t``, ``lpg_t``, ``natural_gas_10k_m3``,
        ``heat_gj``, ``electricity_10k_kwh``). A missing column counts as 0; every cell of a
        present column needs a number (0 for no use: an empty cell is an error, not 0); at
        least one fuel column is required and no other column is allowed.
        Values are annual physical quantities in the unit named by the column suffix.
    id_column : str
        Column holding the unit ids (converted to str).
    electricity : {"grid_factor", "standard_coal"}
        ``grid_factor`` (default): charged with ``grid_factor_kg_co2_per_kwh``;
        ``standard_coal``: electricity converted at 1.229 tce per 10^4 kWh (0.1229 kgce/kWh,
        equivalent value) and charged with the coal carbon content.
    grid_factor_kg_co2_per_kwh : float, optional
        Grid emission factor in kg CO2/kWh; default the national average 2022 (0.5366, MEE /
        NBS, :mod:`landcarbon.accounting.grid_factors`). Only allowed with ``grid_factor``.
    factors : pandas.DataFrame, optional
        Custom factor table with the columns of :func:`load_energy_factors` (``fuel`` as a
        column or the index); default the built-in table.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``unit_id`` (str), in input order: ``<fuel>_tc`` (t C/yr) for every fuel
        column present in ``energy`` (factor-table order), ``construction_emission_tc`` (their
        sum, t C/yr) and ``energy_tce`` (total energy use in tce; electricity always counted
        at its standard-coal equivalent, whatever ``electricity`` is).

    Raises
    ------
    InputError
        Missing id column, empty or duplicate unit ids, columns that are not fuel columns, no
        fuel column at all, non-numeric, infinite or negative quantities, an unknown
        ``electricity`` method, or a missing / invalid / superfluous grid factor.
    """
    table = (_builtin_factors() if factors is None
             else _validate_factors(factors, "given as factors"))
    column_to_fuel = pd.Series(table.index, index=table["column"])
    valid_columns = list(table["column"])

    if id_column not in energy.columns:
        raise InputError(
            f"Energy table has no unit id column {id_column!r}; its columns are "
            f"{', '.join(map(str, energy.columns)) or '(none)'}. Add the column with the unit "
            "ids of the units file, or set id_column (config [construction] id_column) to the "
            "name of the column that holds them."
        )
    unknown = [str(c) for c in energy.columns
               if c != id_column and c not in column_to_fuel and str(c) not in INFO_COLUMNS]
    if unknown:
        raise InputError(
            f"Energy table has unknown column(s) {', '.join(unknown)}: they are neither the "
            f"unit id column {id_column!r} nor a known fuel column. Rename each fuel column to "
            f"one of {', '.join(valid_columns)} (name = fuel + physical unit) and remove other "
            f"columns (descriptive columns allowed: {', '.join(sorted(INFO_COLUMNS))})."
        )
    fuel_columns = [c for c in valid_columns if c in energy.columns]
    if not fuel_columns:
        raise InputError(
            f"Energy table has only the unit id column {id_column!r} and no fuel column. Add at "
            f"least one of {', '.join(valid_columns)} with the annual quantity used in each "
            "unit."
        )

    ids = _unit_ids(energy[id_column], id_column)
    quantities = _quantities(energy[fuel_columns], ids)
    grid = _grid_factor(electricity, grid_factor_kg_co2_per_kwh)

    out = pd.DataFrame(index=pd.Index(ids, name="unit_id"))
    tce_total = np.zeros(len(ids))
    for col in fuel_columns:
        fuel = column_to_fuel[col]
        q = quantities[col].to_numpy()
        tce = q * table.at[fuel, "tce_per_unit"]
        tce_total = tce_total + tce
        if fuel == "electricity" and grid is not None:
            tc = q * KWH_PER_ELECTRICITY_UNIT * grid / 1000.0 * C_PER_CO2
        else:
            tc = tce * table.at[fuel, "t_c_per_tce"]
        out[f"{fuel}_tc"] = tc
    out["construction_emission_tc"] = out[[f"{column_to_fuel[c]}_tc" for c in fuel_columns]].sum(
        axis=1)
    out["energy_tce"] = tce_total
    return out


def _unit_ids(raw: pd.Series, id_column: str) -> list[str]:
    """Unit ids as str (integer-valued floats lose their ``.0``); empty and duplicate ids fail."""
    values = raw
    if pd.api.types.is_float_dtype(values) and values.notna().all() and (
            values == np.round(values)).all():
        values = values.astype("int64")
    ids = [("" if pd.isna(v) else str(v).strip()) for v in values]
    empty = [spreadsheet_row(raw.index, i) for i, v in enumerate(ids) if v == ""]
    if empty:
        rows = ", ".join(map(str, empty[:MAX_LISTED]))
        raise InputError(
            f"Energy table: {len(empty)} row(s) have no unit id in column {id_column!r} "
            f"(spreadsheet row(s) {rows}, header = row 1). Fill in the unit id of each row or "
            "delete the rows."
        )
    counts = pd.Series(ids).value_counts()
    dup = sorted(counts.index[counts > 1])
    if dup:
        raise InputError(
            f"Energy table: unit id(s) {', '.join(dup[:MAX_LISTED])} appear more than once in "
            f"column {id_column!r} ({len(dup)} duplicated id(s)). Give each unit exactly one "
            "row (sum the quantities of repeated rows first)."
        )
    return ids


#: the largest quantity a cell may hold, in any column's unit (t, 10^4 m3, kWh...): the
#: world's yearly electricity use is ~3e13 kWh and coal ~9e9 t; a larger number is a typing,
#: unit or decimal error that would dwarf every other unit's emission
MAX_QUANTITY = 1e15


def _quantities(raw: pd.DataFrame, ids: list[str]) -> pd.DataFrame:
    """Fuel quantities as floats; empty, non-numeric, infinite, negative cells and cells above
    :data:`MAX_QUANTITY` fail, named by spreadsheet row (header = row 1), unit id and
    column."""
    out = pd.DataFrame(index=raw.index)
    bad: list[str] = []
    for col in raw.columns:
        original = raw[col]
        blank = original.isna() | original.astype(str).str.strip().eq("")
        values = pd.to_numeric(original.where(~blank), errors="coerce").astype(float)
        invalid = blank | ~(np.isfinite(values) & (values >= 0) & (values <= MAX_QUANTITY))
        bad += [f"{ids[i]} / {col} = " + _cell(original.iloc[i], blank.iloc[i])
                + f" (row {spreadsheet_row(raw.index, i)})"
                for i in np.flatnonzero(invalid.to_numpy())]
        out[col] = values
    if bad:
        listed = "; ".join(bad[:MAX_LISTED])
        more = f" (and {len(bad) - MAX_LISTED} more)" if len(bad) > MAX_LISTED else ""
        raise InputError(
            f"Energy table: {len(bad)} value(s) are empty, non-numeric, infinite, negative "
            f"or above {MAX_QUANTITY:.0e} (more than the world uses in a year: a unit or "
            "decimal error) "
            f"(unit id / column = value (spreadsheet row, the header is row 1)): "
            f"{listed}{more}. "
            "Quantities must be plain non-negative numbers in the unit of the column name (no "
            "thousands separators, no text such as 'n/a', '#N/A', 'NULL' or '-'); write 0 for "
            "no use (an empty cell is not read as 0)."
        )
    return out


def _cell(value: object, blank: bool) -> str:
    """A cell as a message shows it: ``(empty)``, ``'text'`` or the number."""
    if blank:
        return "(empty)"
    return repr(value) if isinstance(value, str) else str(value)


#: Descriptive columns an energy table may carry besides the id and the fuels (ignored).
INFO_COLUMNS = frozenset({"unit_name", "name", "county", "year", "note", "source"})


def _grid_factor(electricity: str, factor: float | None) -> float | None:
    """The grid factor in kg CO2/kWh to use, or None for the standard-coal method."""
    if electricity == "standard_coal":
        if factor is not None:
            raise InputError(
                "A grid emission factor was given but electricity = 'standard_coal' ignores it. "
                "Set electricity = 'grid_factor' to use the factor, or remove "
                "grid_factor_kg_co2_per_kwh."
            )
        return None
    if electricity != "grid_factor":
        raise InputError(
            f"electricity must be 'standard_coal' or 'grid_factor', got {electricity!r}. Use "
            "'standard_coal' (0.1229 kgce/kWh, coal carbon content) or 'grid_factor' with "
            "grid_factor_kg_co2_per_kwh."
        )
    if factor is None:
        from landcarbon.accounting.grid_factors import grid_factor

        return float(grid_factor()["kg_co2_per_kwh"])  # type: ignore[arg-type]
    value = float(factor)
    if not (np.isfinite(value) and value > 0):
        raise InputError(
            f"grid_factor_kg_co2_per_kwh must be a positive number in kg CO2/kWh (e.g. 0.5568), "
            f"got {factor!r}."
        )
    return value


def allocate_to_construction(
    emissions_tc: pd.Series, construction_area_ha: pd.Series
) -> pd.DataFrame:
    """Spread each unit's construction emission uniformly over its construction land.

    Parameters
    ----------
    emissions_tc : pandas.Series
        Construction emission per unit (t C/yr, >= 0), indexed by unit id, e.g. the
        ``construction_emission_tc`` column of :func:`construction_emissions`.
    construction_area_ha : pandas.Series
        Construction-land area per unit (ha, >= 0), indexed by unit id.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``unit_id`` (str; the union of both indexes, emission units first, then
        units only in ``construction_area_ha``): ``construction_intensity_tc_per_ha``
        (emission / area in t C/ha/yr; NaN where the area is 0) and ``unallocated_tc``
        (the emission of units without construction land, t C/yr; 0 elsewhere). Units absent
        from ``emissions_tc`` have emission 0, units absent from ``construction_area_ha`` have
        area 0.

    Raises
    ------
    InputError
        Duplicate unit ids, or negative / non-numeric emissions or areas.
    """
    emission = _per_unit(emissions_tc, "emissions_tc", "t C/yr")
    area = _per_unit(construction_area_ha, "construction_area_ha", "ha")
    index = emission.index.union(area.index, sort=False).rename("unit_id")
    emission = emission.reindex(index, fill_value=0.0)
    area = area.reindex(index, fill_value=0.0)
    has_land = area > 0
    return pd.DataFrame({
        "construction_intensity_tc_per_ha": (emission / area.where(has_land)).astype(float),
        "unallocated_tc": emission.where(~has_land, 0.0).astype(float),
    }, index=index)


def _per_unit(values: pd.Series, name: str, unit: str) -> pd.Series:
    """A per-unit series with str index, float values (NaN = 0); bad values fail."""
    out = pd.Series(pd.to_numeric(values, errors="coerce"), dtype=float)
    out.index = pd.Index(values.index.map(str), name="unit_id")
    dup = sorted(set(out.index[out.index.duplicated()]))
    if dup:
        raise InputError(
            f"{name}: unit id(s) {', '.join(dup[:MAX_LISTED])} appear more than once. Give one "
            "value per unit (aggregate first)."
        )
    invalid = (values.notna().to_numpy() & out.isna().to_numpy()) | (out < 0).to_numpy() | (
        np.isinf(out).to_numpy())
    if invalid.any():
        bad = list(out.index[invalid][:MAX_LISTED])
        raise InputError(
            f"{name}: {int(invalid.sum())} unit(s) have a non-numeric, infinite or negative "
            f"value ({', '.join(bad)}). Give non-negative numbers in {unit}."
        )
    return out.fillna(0.0)
