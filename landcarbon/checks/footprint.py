"""Units against the land-cover raster's footprint: the share of each unit outside it
(``unit_outside_raster``, ``unit_partly_outside``), the dates of a change run that cover a
unit differently (``date_coverage_differs``), and the area reconciliation of a
validate scan (``area_mismatch``: each unit's area inside the raster against its classified
area)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from landcarbon.checks.problems import Problem
from landcarbon.checks.units import listing, unit_ids, units_problem
from landcarbon.engine.areas import geodesic_areas_m2, to_crs_densified

__all__ = ["AREA_GAP_SHARE", "OUTSIDE_M2", "coverage_problems", "date_coverage_problems",
           "reconciliation", "share_outside"]


def share_outside(units: gpd.GeoDataFrame, footprint: object, footprint_crs: object
                  ) -> np.ndarray:
    """Share (0-1, geodesic area) of each unit outside ``footprint`` (a polygon, e.g. the
    raster's bounds, in ``footprint_crs``). Empty units count as 0, and so do units the
    footprint covers (0 exactly, without measuring them: the usual case, and the only costly
    one with tens of thousands of units)."""
    return _outside(units, footprint, footprint_crs)[0]


def _outside(units: gpd.GeoDataFrame, footprint: object, footprint_crs: object
             ) -> tuple[np.ndarray, np.ndarray]:
    """:func:`share_outside` and each unit's geodesic area inside ``footprint`` (m2; inf
    for the units it covers, which are not measured)."""
    import shapely

    geo = to_crs_densified(units.geometry, footprint_crs)
    share = np.zeros(len(geo))
    inside_m2 = np.full(len(geo), np.inf)
    shapely.prepare(footprint)
    rest = np.flatnonzero(~shapely.covers(footprint, geo.array))
    if rest.size:
        part = geo.iloc[rest]
        total = geodesic_areas_m2(part, geo.crs)
        inside = shapely.intersection(part.array, footprint)
        inside_area = geodesic_areas_m2(gpd.GeoSeries(inside, crs=geo.crs), geo.crs)
        share[rest] = np.where(total > 0, np.clip(
            1.0 - inside_area / np.maximum(total, 1e-300), 0, 1), 0.0)
        inside_m2[rest] = np.where(total > 0, inside_area, np.inf)
    return share, inside_m2


#: A unit with less than this much of its area (m2) on the raster lies "entirely outside"
#: (edges that only touch the raster's, numerical slivers); a raster's one pixel inside a
#: large unit does not.
OUTSIDE_M2 = 1.0


def coverage_problems(units: gpd.GeoDataFrame, footprint: object, footprint_crs: object,
                      where: str = "units", tolerance: float = 1e-4) -> list[Problem]:
    """``unit_outside_raster`` (error: wholly outside, under :data:`OUTSIDE_M2` on the
    raster, no area would be counted) and ``unit_partly_outside`` (warning, with each unit's
    uncovered share when over ``tolerance``)."""
    share, inside_m2 = _outside(units, footprint, footprint_crs)
    problems = []
    out = inside_m2 < OUTSIDE_M2
    if out.any():
        problems.append(units_problem(
            "unit_outside_raster", "error", units, out, where,
            "{n} of {total} unit(s) lie entirely outside the land-cover raster: they would get "
            "no land at all.",
            "Use a raster that covers the study area (add tiles), or check the CRS of both "
            "files (a wrong CRS puts units far away)."))
    part = (share > tolerance) & ~out
    if part.any():
        ids = unit_ids(units, part)
        shares = {i: round(float(s), 6) for i, s in zip(ids, share[part], strict=True)}
        problems.append(Problem(
            "unit_partly_outside", "warning", f"{where}: unit(s) {listing(ids)}",
            f"{len(ids)} unit(s) lie partly outside the land-cover raster (uncovered share up "
            f"to {max(shares.values()):.1%}): only the covered part is accounted.",
            "Use a raster that covers the whole study area.",
            {"uncovered_share": shares}))
    return problems


def date_coverage_problems(units: gpd.GeoDataFrame,
                           footprints: dict[str, tuple[object, object]], where: str,
                           tolerance: float = 1e-4) -> list[Problem]:
    """``date_coverage_differs`` (error): units that the rasters of the dates (``footprints``:
    date -> (footprint polygon, its CRS)) do not cover alike, by more than ``tolerance`` of
    the unit's area. Land outside a date's raster has no data at that date: the unit's land
    would seem to appear or vanish between the dates, and its balance, risk and alerts
    would follow (resampled dates on other grids, ``resample = "nearest"``, are where this
    happens)."""
    if len({(fp.wkb, str(crs)) for fp, crs in footprints.values()}) < 2:  # type: ignore[attr-defined]
        return []  # one footprint (dates on one grid: the usual case): nothing to measure
    shares = {date: share_outside(units, fp, crs) for date, (fp, crs) in footprints.items()}
    stack = np.vstack(list(shares.values()))
    bad = stack.max(axis=0) - stack.min(axis=0) > tolerance
    if not bad.any():
        return []
    ids = unit_ids(units, bad)
    per_date = {date: {i: round(float(s), 6) for i, s in zip(ids, share[bad], strict=True)}
                for date, share in shares.items()}
    worst = {date: max(v.values()) for date, v in per_date.items()}
    return [Problem(
        "date_coverage_differs", "error", f"{where}: unit(s) {listing(ids)}",
        f"The rasters of the dates (or scenarios) do not cover {len(ids)} unit(s) alike "
        "(uncovered share up to " + ", ".join(f"{d}: {w:.1%}" for d, w in worst.items())
        + "): land outside a raster has no data there, so it would seem to appear or vanish "
        "between them.",
        "Use rasters that cover the whole study area (add tiles, or clip the units to the "
        "area all of them cover).", {"uncovered_share": per_date})]


#: A unit whose classified area falls short of its area inside the raster by more than this
#: share is listed under ``area_mismatch`` (nodata holes, excluded classes).
AREA_GAP_SHARE = 0.01


def reconciliation(units: gpd.GeoDataFrame, areas: pd.DataFrame, footprint: object,
                   footprint_crs: object) -> tuple[dict[str, float], list[Problem]]:
    """Area reconciliation: each unit's geodesic area inside ``footprint`` (the raster's
    bounds in ``footprint_crs``) against its classified area (``areas``: unit_id, area_ha).

    Returns
    -------
    (dict, list of Problem)
        The summary (``unit_area_ha``, ``unit_area_inside_raster_ha``, ``covered_ha``,
        ``uncovered_ha``) and an ``area_mismatch`` warning for units losing more than
        :data:`AREA_GAP_SHARE` of their area to nodata or excluded classes.
    """
    covered = areas.groupby("unit_id")["area_ha"].sum().reindex(units["unit_id"],
                                                                fill_value=0.0)
    area = geodesic_areas_m2(units.geometry, units.crs) / 1e4
    inside = area * (1 - share_outside(units, footprint, footprint_crs))
    gap = inside - covered.to_numpy()
    summary = {"unit_area_ha": float(area.sum()),
               "unit_area_inside_raster_ha": float(inside.sum()),
               "covered_ha": float(covered.sum()),
               "uncovered_ha": float(inside.sum() - covered.sum())}
    short = gap > AREA_GAP_SHARE * np.maximum(inside, 1e-12)
    if not short.any():
        return summary, []
    ids = units["unit_id"].to_numpy()[short]
    return summary, [Problem(
        "area_mismatch", "warning", f"[units] unit(s) {', '.join(ids[:10])}",
        f"Area reconciliation: units total {area.sum():.6g} ha, {inside.sum():.6g} ha "
        f"inside the raster, of which {covered.sum():.6g} ha classified; "
        f"{int(short.sum())} unit(s) lose more than {AREA_GAP_SHARE:.0%} of their area "
        f"to nodata or excluded classes ({gap[short].sum():.6g} ha).",
        "Expected where the raster has nodata (clouds, sea, edges) or excluded classes; "
        "otherwise check the nodata setting and the legend.",
        {"units": {str(i): {"area_inside_ha": float(a), "covered_ha": float(c)}
                   for i, a, c in zip(ids[:100], inside[short][:100],
                                      covered.to_numpy()[short][:100], strict=True)}})]
