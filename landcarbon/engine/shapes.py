"""Geometry helpers shared by the checks, the engine and the accounting."""

from __future__ import annotations

__all__ = ["polygonal"]


def polygonal(geom: object) -> object:
    """The polygonal part of a ``make_valid`` result (lines and points of a collapsed
    bow-tie dropped).

    Returns
    -------
    shapely geometry
        A (multi)polygon, empty when nothing polygonal is left.
    """
    import shapely
    from shapely.geometry import GeometryCollection, MultiPolygon, Polygon

    if isinstance(geom, Polygon | MultiPolygon):
        return geom
    if isinstance(geom, GeometryCollection):
        parts = [g for g in geom.geoms if isinstance(g, Polygon | MultiPolygon)]
        return shapely.union_all(parts) if parts else Polygon()
    return Polygon()
