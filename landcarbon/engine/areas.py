"""True areas of raster cells and polygons, in m2.

* Geographic grids (lat/lon): the exact area of each cell on the CRS's ellipsoid, from the
  closed-form area of an ellipsoidal zone between two parallels (the authalic-latitude
  formula); every cell of a row has the same area. Never square degrees.
* Projected grids: ``"nominal"`` (default for projected CRSs on an ellipsoid) is the cell
  area in the CRS's linear unit converted to metres; ``"ellipsoidal"`` measures each cell on
  the ellipsoid (needed for non-equal-area projections such as Web Mercator, where nominal
  areas are badly wrong away from the equator).
* CRSs defined on a **sphere** (the MODIS sinusoidal grid, R = 6,371,007.181 m): PROJ takes
  their latitudes and longitudes as WGS 84 ones when it transforms to or from any other CRS
  (no datum shift is known), so that is what the data's coordinates mean. Their cells are
  measured on WGS 84, and ``"auto"`` resolves to ``"ellipsoidal"`` for them (the sphere's
  own "equal" areas are up to 0.7 % off the WGS 84 ones).
* Polygons: geodesic area on the WGS 84 ellipsoid of the polygon whose edges are straight
  lines in its own CRS (as surveys and GIS draw them): edges longer than
  :data:`DENSIFY_M` are densified in their CRS first (:func:`densify`), then the ring areas
  of :meth:`pyproj.Geod.geometry_area_perimeter` are summed; polygons up to 2 km across get
  it from the local area element at their centroid (second-order exact, relative error
  < 1e-8).
* Units reprojected onto a raster's grid go through :func:`to_crs_densified`, so that a
  long edge keeps its shape (a 1-degree meridian edge is a curve on a sinusoidal grid, up
  to ~760 m away from the straight line between its projected ends).
"""

from __future__ import annotations

import math
import os
from typing import Any, Literal

import numpy as np
from affine import Affine
from pyproj import CRS

from landcarbon.exceptions import InputError

__all__ = ["PixelAreaMethod", "cell_areas_m2", "densify", "geodesic_areas_m2", "is_sphere",
           "measuring_ellipsoid", "resolve_area_method", "row_areas_m2", "to_crs_densified",
           "utm_crs"]

PixelAreaMethod = Literal["auto", "nominal", "ellipsoidal"]


#: WGS 84 semi-major axis (m) and flattening.
_WGS84 = (6378137.0, 1.0 / 298.257223563)

#: Longest edge (metres, measured in the CRS's unit at the equator for lat/lon CRSs) kept
#: as it is by :func:`densify`: over 1 km, a straight edge in one CRS and its image in
#: another (or the geodesic between its ends) part by under 1e-7 of a unit's area.
DENSIFY_M = 1000.0


def is_sphere(crs: CRS) -> bool:
    """Whether ``crs`` is defined on a sphere (flattening 0)."""
    ellps = crs.ellipsoid
    return ellps is not None and not ellps.inverse_flattening


def measuring_ellipsoid(crs: CRS) -> tuple[float, float]:
    """Semi-major axis (m) and flattening of the ellipsoid on which cells of ``crs`` are
    measured: the CRS's own, except WGS 84 for a CRS on a sphere (see the module notes).

    Returns
    -------
    tuple of float
        ``(a, f)``.
    """
    ellps = crs.ellipsoid
    if ellps is None or is_sphere(crs):
        return _WGS84
    return ellps.semi_major_metre, 1.0 / ellps.inverse_flattening


def resolve_area_method(crs: CRS, method: PixelAreaMethod = "auto") -> str:
    """Resolve ``auto``: ``geographic`` for lat/lon CRSs, ``nominal`` for projected ones on
    an ellipsoid, ``ellipsoidal`` for projected ones on a sphere (their cells are measured
    on WGS 84, see the module notes).

    Returns
    -------
    str
        ``"geographic"``, ``"nominal"`` or ``"ellipsoidal"``.
    """
    if crs.is_geographic:
        return "geographic"
    if method == "auto":
        return "ellipsoidal" if is_sphere(crs) else "nominal"
    if method not in ("nominal", "ellipsoidal"):
        raise ValueError(f"pixel_area must be auto, nominal or ellipsoidal, got {method!r}")
    return method


def _zone_area(lat_rad: np.ndarray, a: float, f: float) -> np.ndarray:
    """Area between the equator and latitude ``lat_rad`` per radian of longitude (m2)."""
    b = a * (1.0 - f)
    e2 = f * (2.0 - f)
    if e2 == 0.0:
        return a * a * np.sin(lat_rad)
    e = np.sqrt(e2)
    s = np.sin(lat_rad)
    return b * b * (s / (2.0 * (1.0 - e2 * s * s)) + np.arctanh(e * s) / (2.0 * e))


def row_areas_m2(transform: Affine, height: int, crs: CRS) -> np.ndarray:
    """Exact ellipsoidal area (m2) of one cell of each row of a north-up geographic grid."""
    if transform.b != 0 or transform.d != 0:
        raise ValueError("rotated geographic grids are not supported; warp to a north-up grid")
    a, f = measuring_ellipsoid(crs)
    unit = crs.axis_info[0].unit_conversion_factor or np.pi / 180.0  # radians per unit
    edges = transform.f + transform.e * np.arange(height + 1)
    lat = np.clip(edges * unit, -np.pi / 2, np.pi / 2)
    zone = _zone_area(lat, a, f)
    dlon = abs(transform.a) * unit
    return np.abs(np.diff(zone)) * dlon


def cell_areas_m2(rows: np.ndarray, cols: np.ndarray, transform: Affine, crs: CRS,
                  method: PixelAreaMethod = "auto", height: int | None = None) -> np.ndarray:
    """Area (m2) of the cells at (``rows``, ``cols``) of a grid.

    Parameters
    ----------
    rows, cols : numpy.ndarray
        Integer cell indices.
    transform, crs : Affine, pyproj.CRS
        The grid.
    method : {"auto", "nominal", "ellipsoidal"}
        See the module docstring; geographic grids always use exact ellipsoidal areas.
    height : int, optional
        Grid height (speeds up geographic grids by tabulating rows once).
    """
    rows = np.asarray(rows)
    resolved = resolve_area_method(crs, method)
    if resolved == "geographic":
        top = int(rows.min()) if rows.size else 0
        n = (int(rows.max()) - top + 1) if rows.size else 0
        shifted = transform @ Affine.translation(0, top)
        table = row_areas_m2(shifted, n, crs)
        return table[rows - top] if rows.size else np.zeros(0)
    metres = crs.axis_info[0].unit_conversion_factor or 1.0
    nominal = abs(transform.a * transform.e - transform.b * transform.d) * metres * metres
    if resolved == "nominal":
        return np.full(rows.shape, nominal, dtype=np.float64)
    return _projected_cell_areas_m2(np.asarray(rows), np.asarray(cols), transform, crs)


def _projected_cell_areas_m2(rows: np.ndarray, cols: np.ndarray, transform: Affine, crs: CRS
                             ) -> np.ndarray:
    """True (ellipsoidal) area of projected cells: the four cell corners are taken to
    longitude/latitude on the CRS's own ellipsoid, the quadrilateral's area in (lon, lat) is
    measured by the shoelace formula and multiplied by the ellipsoid's area element
    ``M(lat) * N(lat) * cos(lat)`` at the cell centre. Exact to second order in the cell size,
    whatever the projection (Web Mercator included, whose own scale factors are spherical).
    On a CRS defined on a sphere, the element is WGS 84's (:func:`measuring_ellipsoid`)."""
    from pyproj import Transformer

    geodetic = _geodetic(crs)
    to_geo = Transformer.from_crs(crs, geodetic, always_xy=True)
    corners = [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)]
    lon = np.empty((4, rows.size))
    lat = np.empty((4, rows.size))
    for k, (dc, dr) in enumerate(corners):
        x = transform.c + transform.a * (cols + dc) + transform.b * (rows + dr)
        y = transform.f + transform.d * (cols + dc) + transform.e * (rows + dr)
        lon[k], lat[k] = to_geo.transform(x, y)
    lon, lat = np.radians(lon), np.radians(lat)
    lon = np.unwrap(lon, axis=0)
    shoelace = 0.5 * np.abs(sum(lon[k] * lat[(k + 1) % 4] - lon[(k + 1) % 4] * lat[k]
                                for k in range(4)))
    return shoelace * _area_element(lat.mean(axis=0), geodetic)


def _geodetic(crs: CRS) -> CRS:
    """The geodetic (lat/lon) CRS of ``crs``, or an error naming a CRS that has none (an
    engineering or local CRS cannot be measured on an ellipsoid)."""
    geodetic = crs.geodetic_crs
    if geodetic is None:
        raise InputError(f"The CRS {crs.name!r} has no geodetic datum, so areas cannot be "
                         "measured on the ellipsoid; give the data a projected or geographic "
                         "CRS (e.g. its EPSG code).")
    return geodetic


def _area_element(phi: np.ndarray, geodetic: CRS) -> np.ndarray:
    """The ellipsoid's area element ``M(lat) * N(lat) * cos(lat)`` (m2 per square radian of
    longitude and latitude) at latitudes ``phi`` (radians) on the ellipsoid of
    ``geodetic`` (WGS 84 for a sphere, :func:`measuring_ellipsoid`)."""
    a, f = measuring_ellipsoid(geodetic)
    e2 = f * (2.0 - f)
    w = 1.0 - e2 * np.sin(phi) ** 2
    m_radius = a * (1.0 - e2) / w ** 1.5
    n_radius = a / np.sqrt(w)
    return m_radius * n_radius * np.cos(phi)


#: Polygons whose bounding box is at most this wide and high (metres) get their area from
#: the local area element at their centroid (:func:`_local_areas_m2`): second-order exact,
#: relative error below 1e-8 at this size, and 4x faster than the per-ring geodesic sums
#: on a million parcels. Larger polygons get the exact geodesic ring areas.
LOCAL_AREA_MAX_M = 2000.0
#: Vertices per piece of :func:`geodesic_areas_m2`'s exact areas (memory).
EXACT_PIECE = 2_000_000

#: Largest relative difference between a CRS's ellipsoid and WGS 84 (semi-major axis and
#: flattening) for the local areas; other ellipsoids (Clarke 1866, Krassovsky...) go
#: through WGS 84 coordinates and the exact ring areas.
_SAME_ELLIPSOID = 1e-7


def geodesic_areas_m2(geometries: object, crs: CRS) -> np.ndarray:
    """Geodesic area (m2) of each polygon of a GeoSeries on the WGS 84 ellipsoid.

    Polygons up to :data:`LOCAL_AREA_MAX_M` across, in a CRS on WGS 84 or GRS 80 (CGCS2000,
    ETRS89, NAD83), get their planar area times the ellipsoid's local area element at the
    centroid (second-order exact): the area of the polygon with edges straight in its CRS,
    as surveys draw them. The others get the exact sum of their rings' geodesic areas
    (edges read as geodesics). The two readings of an edge differ by its bow: up to 1e-5 of
    the area for a triangle with 400 m edges, nothing for vertices a few metres apart.

    Parameters
    ----------
    geometries : geopandas.GeoSeries
        Polygons in any CRS (reprojected to EPSG:4326 internally; the input is not changed).
    crs : pyproj.CRS
        CRS of ``geometries``.
    """
    import geopandas as gpd
    import shapely

    series = gpd.GeoSeries(geometries, crs=crs)
    if series.crs is None:
        raise ValueError("geometries have no CRS")
    geoms = series.to_numpy()
    out = np.zeros(len(geoms))
    series_crs = CRS.from_user_input(series.crs)
    small = _local_area_polygons(geoms, series_crs)
    if small.any():
        out[small] = _local_areas_m2(geoms[small], series_crs)
        small[small] = np.isfinite(out[small])  # outside the projection's domain: exact
    exact = np.flatnonzero(~small)
    # in pieces of ~2 M vertices: survey boundaries' rings and coordinates are copied a few
    # times on the way (12.5 M vertices held ~1.2 GB at once)
    sizes = np.cumsum(shapely.get_num_coordinates(geoms[exact]))
    cuts = np.searchsorted(sizes, np.arange(EXACT_PIECE, sizes[-1] if len(sizes) else 0,
                                            EXACT_PIECE))
    for piece in np.split(exact, cuts):
        if len(piece):
            out[piece] = _ring_areas_m2(densify(geoms[piece], series_crs), series_crs)
    return out


def densify(geoms: np.ndarray, crs: CRS, max_m: float = DENSIFY_M) -> np.ndarray:
    """Add vertices along edges longer than ``max_m`` metres, straight in ``crs``.

    Parameters
    ----------
    geoms : numpy.ndarray
        Shapely geometries in ``crs`` (missing and empty ones pass through).
    crs : pyproj.CRS
        Their CRS; lat/lon lengths are converted at the equator's scale (so edges are at
        most ``max_m`` long anywhere).
    max_m : float
        Longest edge kept, metres.

    Returns
    -------
    numpy.ndarray
        The densified geometries (the input array is not changed).
    """
    import shapely

    unit = crs.axis_info[0].unit_conversion_factor or 1.0  # metres, or radians, per unit
    if crs.is_geographic:
        unit *= 6378137.0
    geoms = np.asarray(geoms, dtype=object)
    ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    out = geoms.copy()
    if ok.any():
        out[ok] = shapely.segmentize(geoms[ok], max_m / unit)
    return out


def to_crs_densified(geoms: Any, crs: Any) -> Any:
    """Reproject a GeoSeries or GeoDataFrame onto ``crs`` after densifying its edges in
    their own CRS (:func:`densify`), so that straight edges keep their true shape on the
    target grid. Returns the input itself when the CRSs are equal.

    Returns
    -------
    geopandas.GeoSeries or geopandas.GeoDataFrame
        A new object in ``crs`` (same index and columns).
    """
    target = CRS.from_user_input(crs)
    source = CRS.from_user_input(geoms.crs)
    if source.equals(target):
        return geoms
    dense = densify(geoms.geometry.to_numpy(), source)
    if hasattr(geoms, "set_geometry"):
        out = geoms.copy()
        out[out.geometry.name] = dense
        out = out.set_crs(source, allow_override=True)
    else:
        out = type(geoms)(dense, index=geoms.index, crs=source)
    return out.to_crs(target)


def _local_area_polygons(geoms: np.ndarray, crs: CRS) -> np.ndarray:
    """Which of ``geoms`` take :func:`_local_areas_m2` (see :data:`LOCAL_AREA_MAX_M`)."""
    import shapely

    small = np.zeros(len(geoms), bool)
    ellps = crs.ellipsoid
    if not len(geoms) or ellps is None or not ellps.inverse_flattening:
        return small
    if (abs(ellps.semi_major_metre / 6378137.0 - 1.0) > _SAME_ELLIPSOID
            or abs(298.257223563 / ellps.inverse_flattening - 1.0) > _SAME_ELLIPSOID):
        return small
    poly = np.isin(shapely.get_type_id(geoms), (3, 6)) & ~shapely.is_empty(geoms)
    x0, y0, x1, y1 = shapely.bounds(geoms).T
    unit = crs.axis_info[0].unit_conversion_factor or 1.0  # metres, or radians, per unit
    if crs.is_geographic:
        unit *= 6378137.0  # radians to metres along the equator (over-estimates x elsewhere)
    elif not crs.is_projected:
        return small
    with np.errstate(invalid="ignore"):
        small = poly & (np.maximum(x1 - x0, y1 - y0) * unit <= LOCAL_AREA_MAX_M)
    return small


def _local_areas_m2(geoms: np.ndarray, crs: CRS) -> np.ndarray:
    """Area (m2) of small polygons: planar area x the local area element at the centroid.

    The area element of the ellipsoid in (lon, lat) is ``M(lat) * N(lat) * cos(lat)``;
    projected CRSs add the Jacobian of (x, y) -> (lon, lat) at the centroid, by central
    differences 10 m apart through PROJ (the projection's own areal scale factors are not
    used: Web Mercator's are spherical). The element varies smoothly, so its value at the
    centroid is the polygon's mean to second order in the polygon's size. The area is that
    of the polygon whose edges are straight in its CRS.
    """
    import shapely
    from pyproj import Transformer

    centre = shapely.get_coordinates(shapely.centroid(geoms))
    planar = shapely.area(geoms)
    unit = crs.axis_info[0].unit_conversion_factor or 1.0
    geodetic = _geodetic(crs) if crs.is_projected else crs
    if crs.is_geographic:
        jacobian = np.full(len(geoms), unit * unit)  # (radians per unit)^2
        phi = centre[:, 1] * unit
    else:
        step = 10.0 / unit  # 10 m in CRS units
        to_geo = Transformer.from_crs(crs, geodetic, always_xy=True)
        cx, cy = centre[:, 0], centre[:, 1]
        lon, lat = to_geo.transform(np.concatenate([cx + step, cx - step, cx, cx]),
                                    np.concatenate([cy, cy, cy + step, cy - step]),
                                    radians=True)
        lon, lat = np.asarray(lon).reshape(4, -1), np.asarray(lat).reshape(4, -1)
        dlon = (np.stack([lon[0] - lon[1], lon[2] - lon[3]]) + np.pi) % (2 * np.pi) - np.pi
        dlat = np.stack([lat[0] - lat[1], lat[2] - lat[3]])
        jacobian = np.abs(dlon[0] * dlat[1] - dlon[1] * dlat[0]) / (2 * step) ** 2
        phi = 0.5 * (lat[2] + lat[3])
    return planar * jacobian * _area_element(phi, geodetic)


def _ring_areas_m2(geoms: np.ndarray, crs: CRS) -> np.ndarray:
    """Exact geodesic areas on WGS 84: the sum of each polygon's signed ring areas
    (``geoms``: an array of shapely geometries in ``crs``)."""
    import itertools

    import shapely
    from pyproj import Geod, Transformer

    geod = Geod(ellps="WGS84")
    # the signed ring areas that Geod.geometry_area_perimeter adds up, with the coordinates
    # of all rings taken out and projected in bulk (5x faster on a million parcels, same
    # values)
    if len(geoms) and (shapely.get_type_id(geoms) == 3).all():  # polygons only
        parts, part_of = geoms, np.arange(len(geoms))
    else:
        parts, part_of = shapely.get_parts(geoms, return_index=True)
    rings, ring_of = shapely.get_rings(parts, return_index=True)
    coords, coord_of = shapely.get_coordinates(rings, return_index=True)
    edges = np.searchsorted(coord_of, np.arange(len(rings) + 1))
    if crs.equals(CRS.from_epsg(4326)):
        lon, lat = np.ascontiguousarray(coords[:, 0]), np.ascontiguousarray(coords[:, 1])
    else:
        to_lonlat = Transformer.from_crs(crs, 4326, always_xy=True)
        lon, lat = to_lonlat.transform(coords[:, 0], coords[:, 1])
        lon, lat = np.ascontiguousarray(lon, np.float64), np.ascontiguousarray(lat, np.float64)
    # the buffer-level method skips the per-call array copies of the public wrapper; it
    # releases the GIL while it computes, so slices of the rings go to a few threads
    area = getattr(geod, "_polygon_area_perimeter", geod.polygon_area_perimeter)

    def ring_areas(ends: np.ndarray) -> list[float]:
        return [area(lon[a:b], lat[a:b], radians=False)[0] if b - a > 2 else 0.0
                for a, b in itertools.pairwise(ends)]

    # threads for many rings (parcels) or long ones (survey boundaries of thousands of
    # vertices: ~2 us a vertex)
    n_threads = (min(os.cpu_count() or 1, 8)
                 if len(rings) > 50_000 or len(lon) > 1_000_000 else 1)
    cuts = np.linspace(0, len(rings), n_threads + 1).astype(int)
    slices = [edges[c0:c1 + 1] for c0, c1 in itertools.pairwise(cuts)]
    if n_threads > 1:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(n_threads) as pool:
            parts_areas = list(pool.map(ring_areas, slices))
    else:
        parts_areas = [ring_areas(sl) for sl in slices]
    signed = np.array([a for part in parts_areas for a in part], dtype=np.float64)
    return np.abs(np.bincount(part_of[ring_of], weights=signed, minlength=len(geoms)))


def utm_crs(gdf: Any) -> CRS:
    """The WGS 84 UTM zone of the centre of ``gdf``'s bounds (``gdf.crs`` must be set): the
    zone :meth:`geopandas.GeoDataFrame.estimate_utm_crs` returns (a centre on a zone border
    takes the lower zone, one on the equator the northern one), from the longitude alone
    instead of a query of the PROJ database (~0.1 s a call).

    Returns
    -------
    pyproj.CRS
        EPSG:326zz (north) or EPSG:327zz (south).
    """
    from pyproj import Transformer

    if gdf.crs is None:
        raise ValueError("utm_crs: the frame has no CRS")
    x0, y0, x1, y1 = (float(v) for v in gdf.total_bounds)
    if not CRS.from_user_input(gdf.crs).is_geographic:
        x0, y0, x1, y1 = Transformer.from_crs(gdf.crs, "EPSG:4326", always_xy=True
                                              ).transform_bounds(x0, y0, x1, y1)
    if x0 > x1:  # across the antimeridian
        x1 += 360.0
    lon = ((x0 + x1) / 2 + 180.0) % 360.0 - 180.0
    zone = min(60, max(1, math.ceil((lon + 180.0) / 6.0)))
    return CRS.from_epsg((32600 if (y0 + y1) / 2 >= 0 else 32700) + zone)
