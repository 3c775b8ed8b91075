"""Per-unit carbon balance from class areas and coefficients.

Input is the long ``class_areas`` table (``unit_id, land_class, space_type, area_ha``) from the
raster or the parcel path; output is one row per unit with areas, space-type shares,
emission, sequestration and net (t C/yr) and the net density (t C/ha/yr). Sign convention:
emission >= 0, sequestration >= 0, net = emission - sequestration (positive = source).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import numpy as np
import pandas as pd

from landcarbon.accounting.coefficients import CoefficientSet
from landcarbon.accounting.conversions import to_output_unit
from landcarbon.accounting.legends import SPACE_TYPES, land_classes

__all__ = ["FLUX_COLUMNS", "to_output_unit", "unit_balance"]

log = logging.getLogger(__name__)

#: Columns holding carbon quantities in t C (renamed and scaled at the edges by
#: :func:`landcarbon.accounting.conversions.to_output_unit`, re-exported here).
FLUX_COLUMNS = ("emission_tc", "sequestration_tc", "net_tc", "construction_emission_tc",
                "net_tc_per_ha", "threshold_tc_per_ha")


def unit_balance(
    class_areas: pd.DataFrame,
    coefficients: CoefficientSet,
    *,
    construction_tc: pd.Series | None = None,
    construction_intensity_tc_per_ha: float | None = None,
    unit_ids: Iterable[str] | None = None,
    density_by_unit: dict[str, pd.Series] | None = None,
) -> pd.DataFrame:
    """Carbon balance of each unit.

    Parameters
    ----------
    class_areas : pandas.DataFrame
        Long table ``unit_id, land_class, space_type, area_ha``.
    coefficients : CoefficientSet
        Direct flux densities (t C/ha/yr) of the non-construction classes.
    construction_tc : pandas.Series, optional
        Energy method: construction-land emission of each unit (t C/yr), indexed by unit_id.
        Charged to the unit as a whole, i.e. spread over its construction land.
    construction_intensity_tc_per_ha : float, optional
        Intensity method: emission per ha of construction land (t C/ha/yr). Exactly one of
        the two construction arguments may be given; with neither, construction land has no
        emission (reported).
    unit_ids : iterable of str, optional
        All units, so that units without any classified land get a row of zeros.
    density_by_unit : dict, optional
        ``{land_class: Series}`` of per-unit densities (t C/ha/yr, indexed by unit_id) that
        replace the set's density for those units (e.g. the crop-yield cropland sink);
        other units keep the set's density.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``unit_id``: ``covered_ha``, ``area_<land_class>_ha``,
        ``share_<space_type>``, ``construction_ha``, ``emission_tc``, ``sequestration_tc``,
        ``net_tc``, ``construction_emission_tc``, ``net_tc_per_ha``, and per space type
        the net of the land of that space inside the unit: ``net_<space>_tc`` (t C/yr) and
        ``net_<space>_tc_per_ha`` (t C/ha/yr of that space's land; NaN if none).
    """
    if construction_tc is not None and construction_intensity_tc_per_ha is not None:
        raise ValueError("give construction_tc or construction_intensity_tc_per_ha, not both")
    ids = pd.Index(pd.unique(pd.concat([
        pd.Series(list(unit_ids) if unit_ids is not None else [], dtype=object),
        class_areas["unit_id"].astype(object)])), name="unit_id")
    rows = _Rows(class_areas, ids)
    by_class = rows.wide("land_class")
    by_space = rows.wide("space_type").reindex(columns=list(SPACE_TYPES), fill_value=0.0)
    present = [lc for lc in land_classes().index if lc in by_class.columns]
    by_class = by_class[present]
    covered = by_space.sum(axis=1)

    density = coefficients.tc_per_ha
    indirect = [lc for lc in present if lc in density.index and np.isnan(density[lc])]
    missing = [lc for lc in present if lc not in density.index]
    if missing:
        log.warning("coefficient set %s has no value for %s: no direct flux counted",
                    coefficients.name, ", ".join(missing))
    direct = [lc for lc in present if lc not in indirect and lc not in missing]
    flux = by_class[direct] * density[direct].to_numpy()
    for lc, per_unit in (density_by_unit or {}).items():
        if lc in flux.columns:
            flux[lc] = by_class[lc] * per_unit.reindex(ids).fillna(density[lc]).to_numpy()
    construction_ha = by_class[indirect].sum(axis=1) if indirect else covered * 0.0
    if construction_tc is not None:
        con = construction_tc.reindex(ids).fillna(0.0).astype(float)
    elif construction_intensity_tc_per_ha is not None:
        con = construction_ha * float(construction_intensity_tc_per_ha)
    else:
        con = covered * 0.0
    emission = flux.clip(lower=0).sum(axis=1) + con.clip(lower=0)
    sequestration = (-flux.clip(upper=0)).sum(axis=1) + (-con.clip(upper=0))
    out = pd.DataFrame(index=ids)
    out["covered_ha"] = covered
    for lc in present:
        out[f"area_{lc}_ha"] = by_class[lc]
    with np.errstate(invalid="ignore", divide="ignore"):
        for st in SPACE_TYPES:
            out[f"share_{st}"] = np.where(covered > 0, by_space[st] / covered, 0.0)
        out["construction_ha"] = construction_ha
        out["emission_tc"] = emission
        out["sequestration_tc"] = sequestration
        out["net_tc"] = emission - sequestration
        out["construction_emission_tc"] = con
        out["net_tc_per_ha"] = np.where(covered > 0, out["net_tc"] / covered, np.nan)
    components = _space_components(rows, density, indirect, construction_ha, con,
                                   density_by_unit or {})
    return out.join(components)


class _Rows:
    """The rows of a long ``class_areas`` table keyed by integers: each row's unit (position
    in ``ids``) and its land class and space type (codes), so that the per-unit tables are
    grouped on integers instead of strings (100,000 units: ~10x faster). The sums are
    pandas' grouped sums over the same rows in the same order as a pivot on the strings
    (the same numbers, bit for bit)."""

    def __init__(self, class_areas: pd.DataFrame, ids: pd.Index) -> None:
        self.ids = ids
        found = {c: pd.factorize(class_areas[c].astype(object))
                 for c in ("land_class", "space_type")}
        keep = (found["land_class"][0] >= 0) & (found["space_type"][0] >= 0)  # as a pivot:
        # rows without a class or space type belong to no group
        self.unit = ids.get_indexer(class_areas["unit_id"].astype(object))[keep]
        self.area = class_areas["area_ha"].to_numpy(dtype=float)[keep]
        self.codes = {c: (codes[keep], pd.Index(names)) for c, (codes, names) in found.items()}

    def grouped(self, column: str, values: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Per ``values`` entry, its sums by (unit, ``column``): ``(len(ids), categories)``
        arrays (0 where a unit has no row of a category)."""
        codes, names = self.codes[column]
        k = max(len(names), 1)
        key = self.unit.astype(np.int64) * k + codes
        sums = pd.DataFrame(values).groupby(key, sort=False).sum()
        out = {}
        at = sums.index.to_numpy()
        for name in values:
            table = np.zeros(len(self.ids) * k)
            table[at] = sums[name].to_numpy()
            out[name] = table.reshape(len(self.ids), k)
        return out

    def wide(self, column: str) -> pd.DataFrame:
        """Area (ha) per unit (rows: ``ids``) and category of ``column`` (columns)."""
        names = self.codes[column][1]
        table = self.grouped(column, {"area": self.area})["area"][:, :len(names)]
        return pd.DataFrame(table, index=self.ids, columns=pd.Index(names, name=column))


def _space_components(rows: _Rows, density: pd.Series, indirect: list[str],
                      construction_ha: pd.Series, con: pd.Series,
                      density_by_unit: dict[str, pd.Series]) -> pd.DataFrame:
    """Net flux (t C/yr) and net density (t C/ha/yr) of the land of each space type inside
    each unit: ``net_<space>_tc`` and ``net_<space>_tc_per_ha`` (NaN where the unit holds no
    land of that space). Construction emissions are spread over the unit's construction-land
    classes in proportion to their area, so they land in the space type of that land (rural
    settlements move with the ``rural_settlement`` switch)."""
    lc_codes, lc_names = rows.codes["land_class"]
    unit, area = rows.unit, rows.area
    coef = density.reindex(lc_names).to_numpy(dtype=float)[lc_codes]
    for lc, per_unit in density_by_unit.items():
        mine = lc_codes == (lc_names.get_loc(lc) if lc in lc_names else -2)
        own = per_unit.reindex(rows.ids).astype(float).fillna(float(density[lc])).to_numpy()
        coef = np.where(mine, own[unit], coef)
    is_indirect = np.isin(lc_codes, lc_names.get_indexer(indirect))
    with np.errstate(invalid="ignore"):
        flux = np.where(np.isfinite(coef), area * coef, 0.0)
    per_ha = construction_ha.reindex(rows.ids).astype(float).to_numpy()
    unit_con = con.reindex(rows.ids).astype(float).to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        share = area / np.where(per_ha == 0.0, np.nan, per_ha)[unit]
        spread = share * unit_con[unit]
    flux = np.where(is_indirect, np.where(np.isnan(spread), 0.0, spread), flux)
    sums = rows.grouped("space_type", {"flux": flux, "area": area})
    names = list(rows.codes["space_type"][1])
    # a unit's construction emission with no construction land to spread it over (energy
    # charged to a unit of fields and woods) is its construction space's all the same: the
    # space types' nets then add up to the unit's net (no density: no area)
    unspread = np.where(np.nan_to_num(per_ha) <= 0.0, np.nan_to_num(unit_con), 0.0)
    out = pd.DataFrame(index=rows.ids)
    for st in SPACE_TYPES:
        if st in names:
            f, a = sums["flux"][:, names.index(st)], sums["area"][:, names.index(st)]
        else:
            f = a = np.zeros(len(rows.ids))
        if st == "construction":
            f = f + unspread
        out[f"net_{st}_tc"] = f
        with np.errstate(invalid="ignore", divide="ignore"):
            out[f"net_{st}_tc_per_ha"] = f / np.where(a > 0, a, np.nan)
    return out
