"""Space type from planning zones (三区三线): the planned space type of the land a zone covers
replaces the space type of its land-cover class.

A layer of the three zones (农业空间 / 城镇空间 / 生态空间) or of the control lines (生态保护红线
ecological protection red line -> ecological, 永久基本农田 permanent basic farmland ->
agricultural, 城镇开发边界 urban development boundary -> construction) is dissolved into one
(multi)polygon per space type, made disjoint by a priority (where zones overlap, the first
space type of ``priority`` keeps the land) and cut by the units into pieces. The class areas
of the pieces (measured by the same zonal engine as the units) move from their land-cover
space type to the planned one; land outside every zone keeps its land-cover space type. The
land classes, and so the fluxes, do not change: only which space the land counts in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd

from landcarbon.accounting.legends import SPACE_TYPES
from landcarbon.checks.problems import Problem
from landcarbon.exceptions import InputError

__all__ = ["ZONE_NAMES", "apply_plan", "landcover_shares", "plan_zones", "unit_pieces",
           "zone_mapping", "zone_problems"]

#: Built-in zone and control-line names -> space type.
ZONE_NAMES: dict[str, str] = {
    "农业空间": "agricultural", "城镇空间": "construction", "生态空间": "ecological",
    "生态保护红线": "ecological", "永久基本农田": "agricultural", "城镇开发边界": "construction",
    "agricultural": "agricultural", "construction": "construction", "ecological": "ecological",
    "agricultural space": "agricultural", "urban space": "construction",
    "ecological space": "ecological", "ecological protection red line": "ecological",
    "permanent basic farmland": "agricultural", "urban development boundary": "construction",
}

_POLYGONAL = {"Polygon", "MultiPolygon"}


def zone_mapping(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The built-in names (English ones case-insensitive) updated with ``extra``."""
    return {**ZONE_NAMES, **dict(extra or {})}


def _space_of(values: pd.Series, mapping: Mapping[str, str]) -> pd.Series:
    lowered = {k.strip().lower(): v for k, v in mapping.items()}
    text = values.astype("string").str.strip()
    return text.map(lambda v: mapping.get(v, lowered.get(v.lower())) if isinstance(v, str)
                    else None)


def zone_problems(zones: gpd.GeoDataFrame, field: str, mapping: Mapping[str, str],
                  where: str) -> list[Problem]:
    """Everything wrong with a planning-zones layer: no CRS, a missing field, non-polygon
    or empty geometries, empty or unknown zone values (each listed with its feature
    count). Returns an empty list when the layer can be used."""
    out: list[Problem] = []
    if zones.crs is None:
        out.append(Problem("crs_missing", "error", where, "The planning-zones layer has no "
                           "CRS.", "Define its CRS (e.g. in QGIS: Layer > Set CRS) and save."))
    if field not in zones.columns:
        fields = [c for c in zones.columns if c != zones.geometry.name]
        out.append(Problem("field_missing", "error", f"{where}: field = {field!r}",
                           f"{field!r} is not a field of the planning-zones layer.",
                           f"Use one of: {', '.join(map(str, fields))}.", {"fields": fields}))
        return out
    kinds = zones.geometry.geom_type
    bad = kinds.notna() & ~kinds.isin(_POLYGONAL)
    if bad.any():
        counts = kinds[bad].value_counts()
        out.append(Problem("geometry_not_polygon", "error", where,
                           f"{int(bad.sum())} feature(s) are not polygons ("
                           + ", ".join(f"{k} {n}" for k, n in counts.items()) + ").",
                           "Planning zones must be polygons; buffer lines or drop them.",
                           {"rows": [int(i) + 1 for i in np.flatnonzero(bad.to_numpy())][:100]}))
    empty = zones.geometry.isna() | zones.geometry.is_empty
    if empty.any():
        out.append(Problem("geometry_empty", "warning", where,
                           f"{int(empty.sum())} feature(s) have no geometry; they are ignored."))
    space = _space_of(zones[field], mapping)
    blank = zones[field].isna() | (zones[field].astype(str).str.strip() == "")
    unknown = zones.loc[space.isna() & ~blank, field].astype(str).str.strip()
    if len(unknown):
        counts = unknown.value_counts()
        out.append(Problem("zone_unknown", "error", f"{where}: field {field!r}",
                           f"{len(counts)} zone value(s) are not known: "
                           + ", ".join(f"{k!r} ({n} feature(s))" for k, n in
                                       counts.head(10).items()) + ".",
                           "Map them in [planning_zones] mapping, e.g. mapping = { \""
                           f"{counts.index[0]}\" = \"ecological\" }} (agricultural, "
                           "construction or ecological).",
                           {"values": {str(k): int(n) for k, n in counts.items()}}))
    if blank.any():
        rows = [int(i) + 1 for i in np.flatnonzero(blank.to_numpy())]
        out.append(Problem("zone_missing", "error", f"{where}: field {field!r}",
                           f"{len(rows)} feature(s) have no zone value (rows "
                           f"{', '.join(map(str, rows[:10]))}).",
                           "Fill in the zone of every feature or delete it.", {"rows": rows}))
    return out


def plan_zones(zones: gpd.GeoDataFrame, field: str, mapping: Mapping[str, str], *,
               priority: Sequence[str] = ("ecological", "agricultural", "construction"),
               where: str = "[planning_zones]") -> gpd.GeoDataFrame:
    """One disjoint (multi)polygon per planned space type.

    Raises
    ------
    InputError
        With every error of :func:`zone_problems` in one paragraph.

    Returns
    -------
    geopandas.GeoDataFrame
        ``space_type``, geometry (the layer's CRS), in ``priority`` order; space types
        without a zone are left out.
    """
    errors = [p for p in zone_problems(zones, field, mapping, where) if p.severity == "error"]
    if errors:
        raise InputError(" ".join(str(p) for p in errors))
    keep = zones[~(zones.geometry.isna() | zones.geometry.is_empty)]
    space = _space_of(keep[field], mapping)
    geoms, names = [], []
    taken = None
    for st in priority:
        part = keep.geometry[space == st].make_valid()
        if not len(part):
            continue
        shape = part.union_all()
        if taken is not None:
            shape = shape.difference(taken)
        taken = shape if taken is None else taken.union(shape)
        if not shape.is_empty:
            geoms.append(shape)
            names.append(st)
    return gpd.GeoDataFrame({"space_type": names}, geometry=geoms, crs=zones.crs)


def unit_pieces(units: gpd.GeoDataFrame, zones: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The parts of the units inside each planned zone.

    Returns
    -------
    geopandas.GeoDataFrame
        ``unit_id`` (a piece id ``<unit_id>|<space_type>``, for the zonal engine),
        ``parent_id`` (the unit), ``plan_space_type``; polygons in the units' CRS.
    """
    z = zones.to_crs(units.crs) if zones.crs != units.crs else zones
    cut = gpd.overlay(units[["unit_id", units.geometry.name]], z, how="intersection",
                      keep_geom_type=True)
    bad = ~cut.geometry.is_valid  # (a zone reprojected along a unit's edge: collapsed rings)
    if bad.any():
        from landcarbon.engine.shapes import polygonal

        cut.loc[bad, cut.geometry.name] = [polygonal(g) for g in
                                           cut.geometry[bad].make_valid()]
    cut = cut[~cut.geometry.is_empty]
    return gpd.GeoDataFrame({"unit_id": (cut["unit_id"].astype(str) + "|"
                                         + cut["space_type"]).to_numpy(),
                             "parent_id": cut["unit_id"].astype(str).to_numpy(),
                             "plan_space_type": cut["space_type"].to_numpy()},
                            geometry=cut.geometry.to_numpy(), crs=units.crs)


def apply_plan(areas: pd.DataFrame, piece_areas: pd.DataFrame, pieces: pd.DataFrame
               ) -> pd.DataFrame:
    """Class areas per unit with the planned space type where a zone covers the land.

    Parameters
    ----------
    areas : pandas.DataFrame
        ``unit_id, land_class, space_type, area_ha`` of the units (space type by land cover).
    piece_areas : pandas.DataFrame
        The same table for the pieces of :func:`unit_pieces` (``unit_id`` = piece id).
    pieces : pandas.DataFrame
        :func:`unit_pieces` (``unit_id``, ``parent_id``, ``plan_space_type``).

    Returns
    -------
    pandas.DataFrame
        ``unit_id, land_class, space_type, area_ha``: each unit's total per land class is
        unchanged; the area inside the zones carries the planned space type.
    """
    key = ["unit_id", "land_class", "space_type"]
    info = pieces.set_index("unit_id")[["parent_id", "plan_space_type"]]
    inside = piece_areas.join(info, on="unit_id")
    moved = inside.groupby(["parent_id", "land_class", "space_type"])["area_ha"].sum()
    moved.index.names = key
    base = areas.groupby(key)["area_ha"].sum()
    rest = base.sub(moved.reindex(base.index).fillna(0.0)).clip(lower=0.0)
    planned = inside.groupby(["parent_id", "land_class", "plan_space_type"])["area_ha"].sum()
    planned.index.names = key
    out = pd.concat([rest, planned]).groupby(level=[0, 1, 2], sort=False).sum()
    out = out[out > 0].rename("area_ha").reset_index()
    return out.sort_values(key, kind="stable").reset_index(drop=True)


def landcover_shares(areas: pd.DataFrame, unit_ids: Sequence[str]) -> pd.DataFrame:
    """``share_<space>_landcover``: each unit's space-type shares by land cover (what they
    are without the plan), indexed by unit_id; NaN for units without classified land."""
    by = areas.pivot_table(index="unit_id", columns="space_type", values="area_ha",
                           aggfunc="sum", fill_value=0.0)
    by = by.reindex(index=list(unit_ids), columns=list(SPACE_TYPES), fill_value=0.0)
    total = by.sum(axis=1)
    shares = by.div(total.where(total > 0), axis=0)
    shares.columns = [f"share_{st}_landcover" for st in shares.columns]
    return shares
