"""Construction-land emissions of a run (``[construction]``): energy statistics charged with
the standard-coal factors and the grid factor, or a per-ha intensity."""

from __future__ import annotations

import logging
from typing import Any

import geopandas as gpd
import pandas as pd

from landcarbon.config.run import RunConfig
from landcarbon.exceptions import InputError

__all__ = ["construction_of"]

log = logging.getLogger("landcarbon.pipeline._assess")


def construction_of(config: RunConfig, units: gpd.GeoDataFrame
                    ) -> tuple[dict[str, Any], dict[str, Any]]:
    """The construction record of a run (method, table, grid factor used with its source...)
    and the keyword arguments of :func:`~landcarbon.accounting.balance.unit_balance` for
    construction land."""
    c = config.construction
    if c.method == "intensity":
        return ({"method": "intensity", "intensity_tc_per_ha": c.intensity_tc_per_ha},
                {"construction_intensity_tc_per_ha": c.intensity_tc_per_ha})
    if c.method == "energy":
        from landcarbon.accounting.energy import construction_emissions
        from landcarbon.accounting.grid_factors import grid_factor
        from landcarbon.io.tables import read_table

        assert c.energy_table is not None
        path = config.path(c.energy_table)
        table = read_table(path, id_column=c.id_column, what="Energy table",
                           encoding=config.csv_encoding)
        grid = (grid_factor(c.grid_factor, c.grid_factor_kg_co2_per_kwh)
                if c.electricity == "grid_factor" else None)
        emissions = construction_emissions(
            table, id_column=c.id_column, electricity=c.electricity,
            grid_factor_kg_co2_per_kwh=(float(grid["kg_co2_per_kwh"])  # type: ignore[arg-type]
                                        if grid is not None else None))
        known = set(units["unit_id"])
        stray = [i for i in emissions.index if i not in known]
        if stray:
            raise InputError(
                f"Energy table {path}: {len(stray)} unit id(s) are not in the units file: "
                f"{', '.join(stray[:10])}. The {c.id_column} column must hold the unit ids "
                "of [units] id_field.")
        missing = sorted(known - set(emissions.index))
        if missing:  # as an empty cell: unknown, not 0
            raise InputError(
                f"Energy table {path}: {len(missing)} of the {len(known)} unit(s) have no row: "
                f"{', '.join(missing[:10])}{' and more' if len(missing) > 10 else ''}. Add a "
                "row for each unit (0 in every column for a unit with no energy use), or "
                f"check that the {c.id_column} column holds the unit ids of [units] id_field.")
        info = {"method": "energy", "table": path, "electricity": c.electricity,
                "grid_factor_kg_co2_per_kwh": (grid["kg_co2_per_kwh"] if grid is not None
                                               else None),
                "grid_factor": grid if grid is not None else {
                    "key": "standard_coal", "source": "GB/T 2589-2020 equivalent value "
                    "0.1229 kgce/kWh x coal carbon content (see energy_factors.csv)"},
                "units_without_statistics": missing,
                "by_family_tc": _by_family(emissions, grid is not None)}
        return info, {"construction_tc": emissions["construction_emission_tc"]}
    log.warning("no construction-land emission method set: construction land counts 0 "
                "(set [construction] method = 'energy' or 'intensity')")
    return {"method": "none"}, {}


def _by_family(emissions: pd.DataFrame, grid: bool) -> pd.DataFrame:
    """Construction emission per unit split by the family of its factor (t C/yr): ``coal``,
    ``oil``, ``gas`` (carbon content per tce) and ``grid`` (electricity under a grid factor)
    - what the Monte Carlo draws."""
    from landcarbon.accounting.energy import load_energy_factors

    factors = load_energy_factors()
    out = pd.DataFrame(index=emissions.index)
    for fuel, row in factors.iterrows():
        col = f"{fuel}_tc"
        if col not in emissions:
            continue
        family = "grid" if (fuel == "electricity" and grid) else str(row["carbon_family"])
        out[family] = out.get(family, 0.0) + emissions[col]
    return out
