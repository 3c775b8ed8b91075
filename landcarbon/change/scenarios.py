"""Scenarios: comparing scenario land covers with a baseline, rule-based what-if edits of a
category raster, and Markov projection of class areas.

* :func:`compare_scenarios` - per-unit deltas of emission, sequestration and net between
  assessed units tables, and the table of risk-level transitions (baseline -> scenario).
* Edits on a category raster (:func:`reduce_construction`, :func:`restore_wetland`,
  :func:`protect`) relabel whole pixels, so the total area and the nodata footprint are
  conserved exactly; protected pixels (a boolean mask, e.g. the ecological red line and
  permanent basic farmland of 三区三线) never change. Edits run in memory (numpy).
* :func:`markov_projection` - per-unit Markov chain on (land class, space type) categories
  from an observed transition, optional transition multipliers (e.g. cropland ->
  construction x 0.3 for cropland protection), projected to a target year.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
import xarray as xr

from landcarbon.engine.areas import PixelAreaMethod, to_crs_densified
from landcarbon.exceptions import InputError

__all__ = [
    "compare_scenarios",
    "markov_projection",
    "protect",
    "reduce_construction",
    "restore_wetland",
    "transition_probabilities",
    "units_mask",
]

log = logging.getLogger(__name__)

NODATA = 255
CONSTRUCTION_CLASSES = ("construction", "rural_settlement")


# ---------------------------------------------------------------- (a) scenario comparison

def compare_scenarios(baseline: pd.DataFrame, scenarios: Mapping[str, pd.DataFrame], *,
                      suffix: str = "tc") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-unit deltas and risk-level transitions of scenarios against a baseline.

    Parameters
    ----------
    baseline : pandas.DataFrame
        Assessed units table (``unit_id``, ``emission_<suffix>``, ``sequestration_<suffix>``,
        ``net_<suffix>``, ``net_<suffix>_per_ha``, ``risk_level``...).
    scenarios : mapping of str to pandas.DataFrame
        Scenario name -> assessed units table of the same units.
    suffix : {"tc", "tco2"}
        Flux column suffix.

    Returns
    -------
    deltas : pandas.DataFrame
        One row per scenario and unit: ``scenario, unit_id, unit_name``, for each quantity
        ``<q>_baseline``, ``<q>_scenario``, ``<q>_delta`` (scenario - baseline), and
        ``risk_level_baseline``, ``risk_level_scenario``.
    risk_transitions : pandas.DataFrame
        ``scenario, risk_level_baseline, risk_level_scenario, units``.
    """
    qty = [f"emission_{suffix}", f"sequestration_{suffix}", f"net_{suffix}",
           f"net_{suffix}_per_ha", "covered_ha"]
    qty += [c for c in baseline.columns if c.startswith("area_") and c != "area_ha"]
    base = pd.DataFrame(baseline).set_index("unit_id")
    rows = []
    for name, table in scenarios.items():
        sc = pd.DataFrame(table).set_index("unit_id").reindex(base.index)
        out = pd.DataFrame({"scenario": name, "unit_id": base.index,
                            "unit_name": base.get("unit_name", pd.Series(base.index,
                                                                         index=base.index))})
        out = out.reset_index(drop=True)
        for q in dict.fromkeys(qty + [c for c in sc.columns if c.startswith("area_")
                                      and c != "area_ha"]):
            b = base[q].to_numpy(float) if q in base else np.zeros(len(base))
            s = sc[q].to_numpy(float) if q in sc else np.zeros(len(base))
            b = np.nan_to_num(b) if q.startswith("area_") else b
            s = np.nan_to_num(s) if q.startswith("area_") else s
            out[f"{q}_baseline"], out[f"{q}_scenario"], out[f"{q}_delta"] = b, s, s - b
        out["risk_level_baseline"] = base["risk_level"].to_numpy()
        out["risk_level_scenario"] = sc["risk_level"].to_numpy()
        rows.append(out)
    deltas = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()
    # a class that only some scenarios have: 0 ha in the others (not an empty cell)
    areas = [c for c in deltas.columns if c.startswith("area_")]
    deltas[areas] = deltas[areas].fillna(0.0)
    if deltas.empty:
        return deltas, pd.DataFrame(columns=["scenario", "risk_level_baseline",
                                             "risk_level_scenario", "units"])
    risk = (deltas.groupby(["scenario", "risk_level_baseline", "risk_level_scenario"],
                           sort=False).size().rename("units").reset_index())
    return deltas, risk


# ---------------------------------------------------------------- (b) what-if edits

def units_mask(units: gpd.GeoDataFrame, like: xr.DataArray,
               unit_ids: Iterable[str] | None = None) -> np.ndarray:
    """Boolean mask of the pixels of ``like`` whose centre lies in the chosen units (all
    units when ``unit_ids`` is None); polygons in any CRS."""
    from pyproj import CRS
    from rasterio.features import geometry_mask

    chosen = units
    if unit_ids is not None:
        ids = [str(i) for i in unit_ids]
        unknown = sorted(set(ids) - set(units["unit_id"].astype(str)))
        if unknown:
            raise InputError(f"Unknown unit id(s) in the edit: {', '.join(unknown[:10])}. Use "
                             "ids of the units file ([units] id_field).")
        chosen = units[units["unit_id"].astype(str).isin(ids)]
    crs = CRS.from_user_input(like.rio.crs)
    geoms = to_crs_densified(chosen, crs)
    if len(geoms) == 0:
        return np.zeros(like.shape, dtype=bool)
    return geometry_mask(list(geoms.geometry), out_shape=like.shape,
                         transform=like.rio.transform(), invert=True)


def _table(categories: xr.DataArray) -> pd.DataFrame:
    from landcarbon.accounting.classification import categories_of

    return categories_of(categories)


def _category(categories: xr.DataArray, land_class: str, space_type: str) -> int:
    cats = _table(categories)
    hit = cats.index[(cats["land_class"] == land_class) & (cats["space_type"] == space_type)]
    if len(hit) == 0:
        raise InputError(f"The legend of this raster has no category ({land_class}, "
                         f"{space_type}); choose a land class the legend maps to that space "
                         f"type: {', '.join(cats['land_class'] + '/' + cats['space_type'])}.")
    return int(hit[0])


def _codes_of(categories: xr.DataArray, land_classes: Iterable[str]) -> np.ndarray:
    cats = _table(categories)
    return cats.index[cats["land_class"].isin(list(land_classes))].to_numpy()


def _pixel_areas_ha(categories: xr.DataArray, rows: np.ndarray, cols: np.ndarray,
                    pixel_area: PixelAreaMethod) -> np.ndarray:
    from pyproj import CRS

    from landcarbon.engine.areas import cell_areas_m2

    return cell_areas_m2(rows, cols, categories.rio.transform(),
                         CRS.from_user_input(categories.rio.crs), pixel_area,
                         categories.sizes["y"]) / 10_000.0


def _with(categories: xr.DataArray, data: np.ndarray) -> xr.DataArray:
    out = categories.copy(data=data)
    out.attrs = dict(categories.attrs)
    return out


def _pixel_size_m(categories: xr.DataArray) -> tuple[float, float]:
    from pyproj import CRS

    crs = CRS.from_user_input(categories.rio.crs)
    if crs.is_geographic:
        raise InputError("Distance rules need a projected raster (metres); this one is in "
                         f"{crs.name}. Reproject the land cover to a projected CRS first.")
    tr = categories.rio.transform()
    m = crs.axis_info[0].unit_conversion_factor or 1.0
    return abs(tr.e) * m, abs(tr.a) * m


def reduce_construction(categories: xr.DataArray, area_ha: float, *,
                        to_land_class: str = "forest", within: np.ndarray | None = None,
                        protected: np.ndarray | None = None,
                        from_land_classes: Iterable[str] = CONSTRUCTION_CLASSES,
                        pixel_area: PixelAreaMethod = "auto") -> tuple[xr.DataArray, float]:
    """Convert about ``area_ha`` of construction land into ecological land
    (construction-land reduction, 建设用地减量化).

    Pixels of ``from_land_classes`` inside ``within`` and outside ``protected`` are converted
    to (``to_land_class``, ecological), nearest to existing ecological land first (ties in
    raster order), until the converted area reaches ``area_ha`` (whole pixels: the last one
    may overshoot by less than one pixel). If there is less eligible land, all of it is
    converted and a warning logged.

    Returns
    -------
    (xarray.DataArray, float)
        The edited category raster and the area actually converted (ha).
    """
    from scipy.ndimage import distance_transform_edt

    if area_ha < 0:
        raise ValueError(f"area_ha must be >= 0, got {area_ha}")
    data = np.asarray(categories.values).copy()
    target = _category(categories, to_land_class, "ecological")
    cats = _table(categories)
    eligible = np.isin(data, _codes_of(categories, from_land_classes))
    if within is not None:
        eligible &= within
    if protected is not None:
        eligible &= ~protected
    ecological = np.isin(data, cats.index[cats["space_type"] == "ecological"].to_numpy())
    rows, cols = np.nonzero(eligible)
    if rows.size == 0 or area_ha == 0:
        return _with(categories, data), 0.0
    if ecological.any():
        dist = distance_transform_edt(~ecological)[rows, cols]
    else:
        dist = np.zeros(rows.size)
    order = np.argsort(dist, kind="stable")
    rows, cols = rows[order], cols[order]
    areas = _pixel_areas_ha(categories, rows, cols, pixel_area)
    cum = np.cumsum(areas)
    k = int(np.searchsorted(cum, area_ha - 1e-9 * max(area_ha, 1.0)) + 1)
    k = min(k, rows.size)
    if cum[-1] < area_ha:
        log.warning("only %.2f ha of eligible construction land (asked %.2f ha): all converted",
                    cum[-1], area_ha)
    data[rows[:k], cols[:k]] = target
    return _with(categories, data), float(cum[k - 1])


def restore_wetland(categories: xr.DataArray, distance_m: float, *,
                    from_land_classes: Iterable[str] = ("cropland", "grassland", "unused"),
                    water_land_classes: Iterable[str] = ("water",),
                    protected: np.ndarray | None = None, within: np.ndarray | None = None,
                    pixel_area: PixelAreaMethod = "auto") -> tuple[xr.DataArray, float]:
    """Restore wetland along rivers and lakes: pixels of ``from_land_classes`` whose centre is
    within ``distance_m`` of a water pixel's centre become (wetland, ecological).

    Returns
    -------
    (xarray.DataArray, float)
        The edited category raster and the restored area (ha).
    """
    from scipy.ndimage import distance_transform_edt

    data = np.asarray(categories.values).copy()
    target = _category(categories, "wetland", "ecological")
    water = np.isin(data, _codes_of(categories, water_land_classes))
    if not water.any():
        log.warning("no water pixels: no wetland restored")
        return _with(categories, data), 0.0
    dist = distance_transform_edt(~water, sampling=_pixel_size_m(categories))
    eligible = np.isin(data, _codes_of(categories, from_land_classes)) & (dist <= distance_m)
    if within is not None:
        eligible &= within
    if protected is not None:
        eligible &= ~protected
    rows, cols = np.nonzero(eligible)
    data[rows, cols] = target
    return _with(categories, data), float(_pixel_areas_ha(categories, rows, cols,
                                                          pixel_area).sum())


def protect(baseline: xr.DataArray, scenario: xr.DataArray, protected: np.ndarray
            ) -> xr.DataArray:
    """``scenario`` with every ``protected`` pixel reset to its ``baseline`` category
    (conversion forbidden inside protected areas)."""
    from landcarbon.change.transitions import check_aligned

    check_aligned(baseline, scenario, names=("baseline", "scenario"))
    data = np.where(protected, np.asarray(baseline.values), np.asarray(scenario.values))
    return _with(scenario, data.astype(np.uint8))


# ---------------------------------------------------------------- (c) Markov projection

Key = tuple[str, str]


def transition_probabilities(matrix: pd.DataFrame,
                             multipliers: Mapping[tuple[str, str], float] | None = None,
                             fallback: pd.DataFrame | None = None) -> pd.DataFrame:
    """Row-normalised transition matrix, with optional multipliers on transitions.

    Parameters
    ----------
    matrix : pandas.DataFrame
        Square transfer matrix (ha); labels are categories (tuples) or land classes.
    multipliers : mapping, optional
        ``{(from_land_class, to_land_class): factor}`` applied to off-diagonal
        probabilities; the persistence probability takes up the difference.
    fallback : pandas.DataFrame, optional
        Probabilities used for rows without observed area (e.g. the whole-area matrix);
        otherwise such rows persist (identity).

    Raises
    ------
    InputError
        If multipliers raise a row's change probabilities above 1.
    """
    m = matrix.to_numpy(dtype=float)
    sums = m.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = np.where(sums > 0, m / np.where(sums > 0, sums, 1), 0.0)
    labels = list(matrix.index)
    fb_rows = {lab: i for i, lab in enumerate(fallback.index)} if fallback is not None else {}
    fb_cols = ([{lab: j for j, lab in enumerate(fallback.columns)}.get(lab) for lab in labels]
               if fallback is not None else [])
    for i, lab in enumerate(labels):
        if sums[i, 0] <= 0:
            if fallback is not None and lab in fb_rows:
                row = fallback.to_numpy(dtype=float)[fb_rows[lab]]
                p[i] = [row[j] if j is not None else 0.0 for j in fb_cols]
            if p[i].sum() <= 0:
                p[i] = 0.0
                p[i, i] = 1.0
    if multipliers:
        lc = [lab[0] if isinstance(lab, tuple) else lab for lab in labels]
        for i in range(len(labels)):
            for j in range(len(labels)):
                if i != j and (lc[i], lc[j]) in multipliers:
                    p[i, j] *= float(multipliers[(lc[i], lc[j])])
            off = p[i].sum() - p[i, i]
            if off > 1 + 1e-12:
                raise InputError(f"Transition multipliers make the change probability of "
                                 f"{labels[i]} {off:.3f} (> 1). Lower the multipliers of "
                                 f"transitions from {lc[i]}.")
            p[i, i] = 1.0 - off
    return pd.DataFrame(p, index=matrix.index, columns=matrix.columns)


def _project(a: np.ndarray, p: np.ndarray, steps: float) -> np.ndarray:
    k = int(np.floor(steps + 1e-12))
    f = steps - k
    ak = a @ np.linalg.matrix_power(p, k)
    return ak + f * (ak @ p - ak) if f > 1e-12 else ak


def markov_projection(transitions: pd.DataFrame, *, years_observed: float, year_now: int,
                      target_years: Iterable[int],
                      multipliers: Mapping[tuple[str, str], float] | None = None
                      ) -> pd.DataFrame:
    """Project every unit's category areas with its own Markov chain.

    Parameters
    ----------
    transitions : pandas.DataFrame
        Per-unit long table (:func:`landcarbon.change.transitions.category_transitions` with units)
        of
        the observed period ``year_now - years_observed -> year_now``.
    years_observed : float
        Length of the observed period (the Markov step).
    year_now : int
        Year of the second observed date (the start of the projection).
    target_years : iterable of int
        Years to project to (> ``year_now``). A non-integer number of steps is interpolated
        linearly between the two surrounding whole steps (area conserved).
    multipliers : mapping, optional
        ``{(from_land_class, to_land_class): factor}``.

    Returns
    -------
    pandas.DataFrame
        ``year, unit_id, land_class, space_type, area_ha`` (the observed ``year_now`` areas
        and every target year; rows with zero area omitted). Rows of units without observed
        area in a category use the whole-area probabilities.
    """
    if years_observed <= 0:
        raise ValueError(f"years_observed must be > 0, got {years_observed}")
    t = transitions.assign(
        _from=list(zip(transitions["from_land_class"], transitions["from_space_type"],
                       strict=True)),
        _to=list(zip(transitions["to_land_class"], transitions["to_space_type"], strict=True)))
    keys: list[Key] = sorted(set(t["_from"]) | set(t["_to"]))
    idx = pd.Index(keys, tupleize_cols=False)

    def square(sub: pd.DataFrame) -> pd.DataFrame:
        m = sub.pivot_table(index="_from", columns="_to", values="area_ha", aggfunc="sum",
                            fill_value=0.0)
        return m.reindex(index=idx, columns=idx, fill_value=0.0)

    whole = transition_probabilities(square(t))
    rows = []
    years = sorted(int(y) for y in target_years)
    for y in years:
        if y <= year_now:
            raise ValueError(f"target year {y} is not after {year_now}")
    for unit_id, sub in t.groupby("unit_id", sort=False):
        m = square(sub)
        p = transition_probabilities(m, multipliers, fallback=whole).to_numpy()
        a = m.to_numpy().sum(axis=0)
        rows.append((year_now, unit_id, a))
        for y in years:
            rows.append((y, unit_id, _project(a, p, (y - year_now) / years_observed)))
    records = [(y, u, k[0], k[1], float(v)) for y, u, a in rows for k, v in zip(keys, a,
                                                                               strict=True)]
    out = pd.DataFrame(records, columns=["year", "unit_id", "land_class", "space_type",
                                         "area_ha"])
    return out[out["area_ha"] > 1e-12].reset_index(drop=True)
