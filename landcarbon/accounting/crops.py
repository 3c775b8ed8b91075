"""Cropland carbon absorption from crop statistics (the crop-yield method, accounting family D).

The carbon a unit's crops absorb in a year is ``C = sum_i c_i x Y_i x (1 - w_i) / H_i``
(t C/yr): ``Y_i`` the production of crop ``i`` (t, fresh weight as reported), ``w_i`` its water
content, ``H_i`` its harvest index (economic coefficient: economic / biological yield) and
``c_i`` the carbon fraction of its dry biomass. Parameters are package data,
``landcarbon/data/crop_parameters.csv`` (one row per crop with its input column and source).
Divided by the unit's cropland area it is a sink density (t C/ha/yr, stored negative).
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd

from landcarbon._resources import data_path, read_csv
from landcarbon.exceptions import InputError

__all__ = ["crop_sink_density", "crop_yield_sink", "load_crop_parameters"]

MAX_LISTED = 10
#: Descriptive columns a crop table may carry besides the id and the crops (ignored).
INFO_COLUMNS = frozenset({"unit_name", "name", "county", "year", "note", "source"})


@cache
def _params() -> pd.DataFrame:
    raw = read_csv(data_path("crop_parameters.csv"))
    for col in ("carbon_fraction", "water_content", "harvest_index"):
        raw[col] = raw[col].astype(float)
    return raw.set_index("crop")


def load_crop_parameters() -> pd.DataFrame:
    """The built-in crop parameters, indexed by ``crop`` (a fresh copy).

    Returns
    -------
    pandas.DataFrame
        ``column`` (input column, e.g. ``wheat_t``), ``name_zh``, ``carbon_fraction``,
        ``water_content``, ``harvest_index`` (floats, 0-1), ``source``, ``evidence``.
    """
    return _params().copy()


def crop_yield_sink(table: pd.DataFrame, *, id_column: str = "unit_id",
                    where: str = "Crop table") -> pd.Series:
    """Carbon absorbed by the crops of each unit, t C/yr (>= 0).

    Parameters
    ----------
    table : pandas.DataFrame
        One row per unit: ``id_column`` and any of the crop columns (``wheat_t``, ``maize_t``,
        ``rice_t``: annual production in t). Empty cells count as 0.
    id_column : str
    where : str
        Name of the table in messages.

    Returns
    -------
    pandas.Series
        ``crop_sink_tc`` indexed by ``unit_id`` (str), in input order.

    Raises
    ------
    InputError
        No rows, missing id column, duplicate or empty ids, unknown columns, no crop column,
        or non-numeric / negative values (each named by unit and column).
    """
    params = _params()
    by_column = {r.column: crop for crop, r in params.iterrows()}
    if table.empty:
        raise InputError(f"{where} has a header but no rows: no unit's cropland sink can be "
                         "derived from it. Add a row of crop production (t) per unit, or "
                         "remove [coefficients] crop_table.", code="statistics_invalid")
    if id_column not in table.columns:
        raise InputError(f"{where} has no unit id column {id_column!r}; its columns are "
                         f"{', '.join(map(str, table.columns))}. Add it or set crop_id_column.")
    unknown = [str(c) for c in table.columns
               if c != id_column and c not in by_column and c not in INFO_COLUMNS]
    if unknown:
        raise InputError(f"{where} has unknown column(s) {', '.join(unknown)}: crop columns "
                         f"are {', '.join(by_column)} (production in t).")
    crops = [c for c in by_column if c in table.columns]
    if not crops:
        raise InputError(f"{where} has no crop column; add at least one of "
                         f"{', '.join(by_column)} (annual production in t).")
    ids = [("" if pd.isna(v) else str(v).strip()) for v in table[id_column]]
    if "" in ids or len(set(ids)) < len(ids):
        dup = sorted({i for i in ids if ids.count(i) > 1 or i == ""})
        raise InputError(f"{where}: empty or repeated unit id(s) {', '.join(dup[:MAX_LISTED])} "
                         f"in column {id_column!r}; give each unit one row.")
    total = np.zeros(len(table))
    bad: list[str] = []
    for col in crops:
        raw = table[col]
        blank = raw.isna() | raw.astype(str).str.strip().eq("")
        values = pd.to_numeric(raw.where(~blank), errors="coerce").astype(float)
        invalid = ~blank & ~(np.isfinite(values) & (values >= 0))
        bad += [f"{ids[i]} / {col} = {raw.iloc[i]}" for i in np.flatnonzero(invalid)]
        p = params.loc[by_column[col]]
        total += values.fillna(0.0).to_numpy() * p.carbon_fraction * (1 - p.water_content) / (
            p.harvest_index)
    if bad:
        raise InputError(f"{where}: {len(bad)} value(s) are not non-negative numbers (unit / "
                         f"column = value): {'; '.join(bad[:MAX_LISTED])}. Give production "
                         "in t, empty or 0 for none.")
    return pd.Series(total, index=pd.Index(ids, name="unit_id"), name="crop_sink_tc")


def crop_sink_density(sink_tc: pd.Series, cropland_ha: pd.Series) -> tuple[pd.Series, float]:
    """Per-unit and region-wide cropland sink densities, t C/ha/yr (negative = sink).

    Returns
    -------
    (pandas.Series, float)
        Per unit ``-sink / cropland area`` (units of ``sink_tc`` holding cropland), and the
        region-wide ``-sum(sink) / sum(cropland area)`` over those units (for units without
        statistics and for the flux raster).

    Raises
    ------
    InputError
        When no unit of the table holds cropland.
    """
    area = cropland_ha.reindex(sink_tc.index).fillna(0.0)
    has = area > 0
    if not has.any():
        raise InputError("Crop table: none of its units holds cropland, so no cropland sink "
                         "density can be derived; check the unit ids.")
    per_unit = -(sink_tc[has] / area[has])
    return per_unit, float(-sink_tc[has].sum() / area[has].sum())
