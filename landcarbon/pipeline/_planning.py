"""``[planning_zones]`` in a run: read and check the zones, measure the class areas of the
units' parts inside them with the run's own zonal engine, and move that land to the planned
space type (:mod:`landcarbon.accounting.planning`)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import geopandas as gpd
import pandas as pd

from landcarbon.accounting.planning import (
    apply_plan,
    landcover_shares,
    plan_zones,
    unit_pieces,
    zone_mapping,
    zone_problems,
)
from landcarbon.checks.problems import Problem, problem_code
from landcarbon.config.run import RunConfig

__all__ = ["check_planning", "planned_areas"]


def _read(config: RunConfig) -> tuple[gpd.GeoDataFrame, str]:
    from landcarbon.io.vector import read_vector

    pz = config.planning_zones
    assert pz is not None
    return (read_vector(config.path(pz.path), layer=pz.layer, what="Planning zones"),
            f"[planning_zones] {pz.path}")


def check_planning(config: RunConfig) -> list[Problem]:
    """The validate checks of ``[planning_zones]`` (file, CRS, field, geometry types, zone
    values); empty without the section."""
    from landcarbon.exceptions import LandcarbonError

    pz = config.planning_zones
    if pz is None:
        return []
    try:
        zones, where = _read(config)
    except LandcarbonError as exc:
        return [Problem(problem_code(exc, "file_unreadable"), "error",
                        f"[planning_zones] {pz.path}", str(exc))]
    from landcarbon.checks.encodings import text_encoding_problems
    from landcarbon.io.vector import TEXT_ENCODING_GUESSED

    return [*text_encoding_problems(zones.attrs.get(TEXT_ENCODING_GUESSED), where),
            *zone_problems(zones, pz.field, zone_mapping(pz.mapping), where)]


def planned_areas(config: RunConfig, units: gpd.GeoDataFrame, areas: pd.DataFrame,
                  measure: Callable[[gpd.GeoDataFrame], pd.DataFrame]
                  ) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """Class areas with the planned space types.

    Parameters
    ----------
    units : geopandas.GeoDataFrame
        The run's units (``unit_id``).
    areas : pandas.DataFrame
        Their class areas with the land-cover space types.
    measure : callable
        ``measure(pieces) -> class areas`` of any polygons with ``unit_id`` (the run's zonal
        engine: the land-cover pass, or the parcel intersection).

    Returns
    -------
    (pandas.DataFrame, pandas.DataFrame, dict)
        The class areas by plan, per-unit columns indexed by unit_id
        (``share_<space>_landcover``, ``share_planned``: the share of the covered area
        inside a zone) and a summary for ``run.json`` (file, field, planned area per space
        type in ha).
    """
    pz = config.planning_zones
    assert pz is not None
    raw, where = _read(config)
    zones = plan_zones(raw, pz.field, zone_mapping(pz.mapping), priority=pz.priority,
                       where=where)
    pieces = unit_pieces(units, zones)
    piece_areas = (measure(pieces) if len(pieces)
                   else pd.DataFrame(columns=["unit_id", "land_class", "space_type", "area_ha"]))
    planned = apply_plan(areas, piece_areas, pieces)
    ids = units["unit_id"].astype(str)
    columns = landcover_shares(areas, ids)
    inside = piece_areas.join(pieces.set_index("unit_id")["parent_id"], on="unit_id").groupby(
        "parent_id")["area_ha"].sum()
    covered = areas.groupby("unit_id")["area_ha"].sum().reindex(ids)
    columns["share_planned"] = (inside.reindex(ids).fillna(0.0) / covered.where(covered > 0)
                                ).to_numpy()
    by_space = piece_areas.join(pieces.set_index("unit_id")["plan_space_type"], on="unit_id"
                                ).groupby("plan_space_type")["area_ha"].sum()
    if not float(by_space.sum()) > 0:
        logging.getLogger("landcarbon").warning(
            "[planning_zones] %s overlaps no unit: every unit's space types come from the "
            "land cover alone. Check that the zones cover the units (and their CRS).", pz.path)
    summary = {"path": config.path(pz.path), "layer": pz.layer, "field": pz.field,
               "priority": list(pz.priority),
               "planned_ha": {str(k): float(v) for k, v in by_space.items()}}
    return planned, columns, summary
