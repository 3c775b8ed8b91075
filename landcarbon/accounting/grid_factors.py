"""Official Chinese electricity CO2 emission factors (package data, kg CO2/kWh).

``landcarbon/data/grid_factors.csv``: one row per factor with its key (``china_2022``,
``central_china_2022``...), scope (national / regional / provincial), region, year, value in
kg CO2/kWh, calibre (average; average excluding market-traded non-fossil electricity;
fossil-only) and source. The factors are those of the Ministry of Ecology and Environment and
the National Bureau of Statistics (2021 factors: notice 2024 No. 12 of 2024-04-12; 2022
factors: notice of 2024-12-20), "for reference when accounting the CO2 emission of electricity
consumption". Electricity emission in t C: ``kWh x factor / 1000 x 12/44``.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd

from landcarbon._resources import data_path, read_csv
from landcarbon.exceptions import ConfigError

__all__ = ["DEFAULT_GRID_FACTOR", "grid_factor", "load_grid_factors"]

#: Key of the default factor: the national average of 2022 (the latest published here).
DEFAULT_GRID_FACTOR = "china_2022"


@cache
def _table() -> pd.DataFrame:
    raw = read_csv(data_path("grid_factors.csv"))
    raw["year"] = raw["year"].astype(int)
    raw["kg_co2_per_kwh"] = raw["kg_co2_per_kwh"].astype(float)
    return raw.set_index("key")


def load_grid_factors() -> pd.DataFrame:
    """The built-in grid factors, indexed by ``key`` (a fresh copy).

    Returns
    -------
    pandas.DataFrame
        ``scope, region_en, region_zh, year`` (int), ``kg_co2_per_kwh`` (float),
        ``calibre, source, evidence``.
    """
    return _table().copy()


def grid_factor(key: str | None = None, value: float | None = None) -> dict[str, object]:
    """The grid factor to use: the user's own ``value`` or the built-in row ``key``.

    Returns
    -------
    dict
        ``key``, ``kg_co2_per_kwh`` (float), ``year``, ``region``, ``calibre`` and ``source``
        (what ``run.json`` records).

    Raises
    ------
    ConfigError
        Unknown key (the message lists them) or a value that is not a positive number.
    """
    if value is not None:
        v = float(value)
        if not (np.isfinite(v) and v > 0):
            raise ConfigError(f"grid_factor_kg_co2_per_kwh must be a positive number in kg "
                              f"CO2/kWh, got {value!r}.")
        return {"key": "user", "kg_co2_per_kwh": v, "year": None, "region": "",
                "calibre": "", "source": "user configuration (grid_factor_kg_co2_per_kwh)"}
    table = _table()
    name = key or DEFAULT_GRID_FACTOR
    if name not in table.index:
        raise ConfigError(f"Grid factor {name!r} is not a built-in factor; use one of "
                          f"{', '.join(table.index)} or give grid_factor_kg_co2_per_kwh.")
    row = table.loc[name]
    return {"key": name, "kg_co2_per_kwh": float(row["kg_co2_per_kwh"]),
            "year": int(row["year"]), "region": f"{row['region_en']} ({row['region_zh']})",
            "calibre": str(row["calibre"]), "source": str(row["source"])}
