"""Hot spots: Getis-Ord Gi* and local Moran's I on units or on a regular grid.

Statistics come from esda (PySAL; Getis & Ord 1992, Ord & Getis 1995 for Gi*; Anselin 1995
for local Moran's I), spatial weights from libpysal. ``z`` is Gi*'s analytical z-score
(``esda.G_Local(..., star=True).Zs``); classes follow the usual hot-spot convention
(|z| >= 2.58 / 1.96 / 1.65 at 99 / 95 / 90 % confidence, methodology section 5), but a class
is only given when the unit is also significant at that level by the chosen p-value:

* ``p_value = "permutation"`` (default): conditional permutation pseudo p-value
  (``2 x p_sim``, two-sided, capped at 1) with a fixed ``seed``; the permutations are
  esda's, run by :mod:`landcarbon.zoning.crand` (the same p-values, compiled once instead of
  in every process, except that draws tying with the observed statistic count as extreme);
* ``p_value = "analytic"``: two-sided normal p-value of z.

With ``correction = "fdr"`` p-values are adjusted by Benjamini-Hochberg (1995) before the
comparison (``scipy.stats.false_discovery_control``), controlling the false discovery rate
over the many local tests. Units with a NaN value are left out of the weights and get
``not_significant`` / NaN.
"""

from __future__ import annotations

import logging
import warnings
from typing import TYPE_CHECKING, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import xarray as xr
from pyproj import CRS

from landcarbon.engine.areas import geodesic_areas_m2, to_crs_densified
from landcarbon.exceptions import InputError

if TYPE_CHECKING:
    from libpysal.weights import W

__all__ = ["HOTSPOT_CLASSES", "grid_cells", "grid_values", "hotspot_classes",
           "local_statistics", "spatial_weights"]

log = logging.getLogger(__name__)

#: Class keys from hottest to coldest.
HOTSPOT_CLASSES = ("hot_99", "hot_95", "hot_90", "not_significant", "cold_90", "cold_95",
                   "cold_99")
_LEVELS = ((0.99, "99"), (0.95, "95"), (0.90, "90"))

WeightsKind = Literal["queen", "rook", "knn"]


def spatial_weights(geoms: gpd.GeoDataFrame | gpd.GeoSeries, kind: WeightsKind = "queen",
                    k: int = 8) -> W:
    """libpysal weights of polygons: queen/rook contiguity or k nearest centroids (at most
    n - 2: with every other unit a neighbour a local statistic is the global one).

    Contiguity islands (units touching nobody) get their k nearest neighbours instead so
    that every unit has a neighbourhood; the others keep their contiguity, however few the
    units (they were given k nearest neighbours when there were k or fewer).

    Returns
    -------
    libpysal.weights.W
        Neighbours by row position of ``geoms``.
    """
    from libpysal import weights

    frame = gpd.GeoDataFrame(geometry=gpd.GeoSeries(geoms.geometry if hasattr(
        geoms, "geometry") else geoms).reset_index(drop=True))
    n = len(frame)
    if n < 3:
        raise InputError(f"Hot spots need at least 3 units with values; got {n}.")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # at most n - 2 neighbours: with every other unit a neighbour, each local statistic
        # is the global one and its z-score is -inf
        if kind == "knn":
            pts = frame.geometry.representative_point()
            coords = np.column_stack([pts.x, pts.y])
            return weights.KNN.from_array(coords, k=min(k, n - 2))
        cls = weights.Queen if kind == "queen" else weights.Rook
        w = cls.from_dataframe(frame, use_index=False)
        if w.islands:
            pts = frame.geometry.representative_point()
            coords = np.column_stack([pts.x, pts.y])
            knn = weights.KNN.from_array(coords, k=min(k, n - 2))
            neigh = dict(w.neighbors)
            for i in w.islands:
                neigh[i] = [int(j) for j in knn.neighbors[i]]
                for j in neigh[i]:
                    neigh[j] = sorted(set(neigh[j]) | {i})
            w = weights.W(neigh, silence_warnings=True)
    return w


def _two_sided_permutation(p_sim: np.ndarray) -> np.ndarray:
    return np.minimum(1.0, 2.0 * np.asarray(p_sim, dtype=np.float64))


def hotspot_classes(z: np.ndarray, p: np.ndarray, *, correction: Literal["fdr", "none"] = "fdr"
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Class of each unit from z-scores and two-sided p-values.

    Returns
    -------
    (classes, p_adjusted) : (numpy.ndarray of str, numpy.ndarray)
        ``hot_99`` ... ``cold_99`` / ``not_significant``; the (FDR-adjusted) p-values.
    """
    from scipy.stats import false_discovery_control

    z = np.asarray(z, dtype=np.float64)
    p = np.asarray(p, dtype=np.float64)
    valid = np.isfinite(z) & np.isfinite(p)
    padj = np.full(p.shape, np.nan)
    if valid.any():
        padj[valid] = (false_discovery_control(p[valid], method="bh") if correction == "fdr"
                       else p[valid])
    crit = {"99": 2.5758, "95": 1.9600, "90": 1.6449}
    out = np.full(z.shape, "not_significant", dtype=object)
    for conf, name in reversed(_LEVELS):
        sig = valid & (padj <= 1.0 - conf + 1e-12) & (np.abs(z) >= crit[name])
        out[sig & (z > 0)] = f"hot_{name}"
        out[sig & (z < 0)] = f"cold_{name}"
    return out, padj


def local_statistics(
    values: pd.Series,
    geoms: gpd.GeoDataFrame,
    *,
    weights: WeightsKind = "queen",
    k: int = 8,
    permutations: int = 999,
    seed: int = 12345,
    p_value: Literal["permutation", "analytic"] = "permutation",
    correction: Literal["fdr", "none"] = "fdr",
    moran: bool = True,
) -> pd.DataFrame:
    """Getis-Ord Gi* (and local Moran's I) of ``values`` over the polygons ``geoms``.

    Parameters
    ----------
    values : pandas.Series
        One value per row of ``geoms`` (same order), e.g. ``net_tc_per_ha``.
    geoms : geopandas.GeoDataFrame
        Polygons (units or grid cells), any CRS (contiguity does not depend on it; for
        ``knn`` use a projected CRS).
    weights : {"queen", "rook", "knn"}
        Spatial weights (binary for Gi*, row-standardised for Moran's I).
    permutations, seed : int
        Conditional permutations for pseudo p-values; the seed makes results reproducible.
    p_value, correction : see the module docstring.
    moran : bool
        Also compute local Moran's I and its cluster type (HH, LH, LL, HL).

    Returns
    -------
    pandas.DataFrame
        Same index as ``values``: ``gi_z``, ``gi_p``, ``gi_class`` and, with ``moran``,
        ``moran_i``, ``moran_p``, ``moran_cluster`` (``HH``/``LH``/``LL``/``HL`` when
        significant at the adjusted 5 % level, else ``not_significant``).
    """
    import esda
    from scipy.stats import norm

    from landcarbon.zoning.crand import G_STAR, MORAN, pseudo_p_values

    y = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64)
    if len(y) != len(geoms):
        raise ValueError("values and geoms must have the same length")
    keep = np.isfinite(y)
    out = pd.DataFrame({"gi_z": np.nan, "gi_p": np.nan, "gi_class": "not_significant"},
                       index=values.index)
    if moran:
        out["moran_i"] = np.nan
        out["moran_p"] = np.nan
        out["moran_cluster"] = "not_significant"
    if keep.sum() < 3 or np.nanstd(y[keep]) == 0:
        log.warning("hot spots not computed: %s (gi_z and moran_i are empty, every class "
                    "not_significant)", f"{int(keep.sum())} unit(s) with a value (3 needed)"
                    if keep.sum() < 3 else "every unit has the same value")
        return out
    w = spatial_weights(geoms.iloc[np.flatnonzero(keep)], weights, k)
    whole = [i for i, nb in w.neighbors.items() if len(set(nb) - {i}) >= len(w.neighbors) - 1]
    if whole:
        log.warning("%d unit(s) have every other unit as a neighbour (%s weights over %d "
                    "units): their local statistic is the global one and cannot be tested "
                    "(gi_z empty, not_significant)", len(whole), weights, int(keep.sum()))
    yk = y[keep]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the statistics; their permutations: crand's cache
        g = esda.G_Local(yk, w, transform="B", star=True, permutations=0, n_jobs=1)
    if p_value == "permutation" and correction == "fdr" and 0 < permutations < 999:
        log.warning("%d permutations: the smallest pseudo p-value is %.3f, too coarse for the "
                    "FDR correction over %d tests to find much; use 999 or more",
                    permutations, 2.0 / (permutations + 1), int(keep.sum()))
    z = np.asarray(g.Zs, dtype=np.float64)
    z[~np.isfinite(z)] = np.nan  # (a neighbourhood of every unit: no variance)
    if p_value == "permutation" and permutations > 0:  # esda's G_Local.p_sim (float32)
        p_sim = pseudo_p_values(G_STAR, g.y, g.w, g.Gs, permutations, seed,
                                scaling=float(g.y.sum())).astype(np.float32)
        p = _two_sided_permutation(p_sim)
    else:
        p = 2.0 * norm.sf(np.abs(z))
    classes, padj = hotspot_classes(z, p, correction=correction)
    idx = out.index[keep]
    out.loc[idx, "gi_z"] = z
    out.loc[idx, "gi_p"] = padj
    out.loc[idx, "gi_class"] = classes
    if moran:
        w.transform = "r"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            m = esda.Moran_Local(yk, w, transformation="r", permutations=0, n_jobs=1)
        mp = _two_sided_permutation(pseudo_p_values(MORAN, m.z, m.w, m.Is,
                                                    max(permutations, 1), seed))
        if correction == "fdr":
            from scipy.stats import false_discovery_control

            mp = false_discovery_control(mp, method="bh")
        quad = np.array(["", "HH", "LH", "LL", "HL"], dtype=object)[np.asarray(m.q)]
        out.loc[idx, "moran_i"] = np.asarray(m.Is, dtype=np.float64)
        out.loc[idx, "moran_p"] = mp
        out.loc[idx, "moran_cluster"] = np.where(mp <= 0.05, quad, "not_significant")
    return out


#: The most cells a hot-spot grid may have (its weights and permutations grow with them).
MAX_GRID_CELLS = 2_000_000


def grid_problem(area: gpd.GeoDataFrame, cell_size_m: float) -> str | None:
    """Why a grid of ``cell_size_m`` over ``area`` cannot be made (None: it can): the
    check of :func:`grid_cells`, for ``validate``."""
    try:
        _grid(area, cell_size_m, None)
    except InputError as exc:
        return str(exc)
    return None


def _grid(area: gpd.GeoDataFrame, cell_size_m: float, crs: object | None
          ) -> tuple[gpd.GeoDataFrame, int, int]:
    """``area`` in the grid's CRS, and the grid's rows and columns (checked)."""
    if cell_size_m <= 0:
        raise InputError(f"[hotspots] cell_size_m must be > 0 (got {cell_size_m}).")
    proj = area.to_crs(crs or area.estimate_utm_crs())
    x0, y0, x1, y1 = proj.total_bounds
    ncol = max(1, int(np.ceil((x1 - x0) / cell_size_m)))
    nrow = max(1, int(np.ceil((y1 - y0) / cell_size_m)))
    if ncol * nrow > MAX_GRID_CELLS:
        raise InputError(f"A {cell_size_m:g} m grid over this area has {ncol * nrow:,} cells "
                         f"(at most {MAX_GRID_CELLS:,}); choose a larger [hotspots] "
                         "cell_size_m.")
    return proj, nrow, ncol


def grid_cells(area: gpd.GeoDataFrame, cell_size_m: float = 1000.0,
               crs: object | None = None) -> gpd.GeoDataFrame:
    """Square cells of ``cell_size_m`` covering ``area`` (only cells that intersect it).

    Built in ``crs`` (default: the local UTM zone of the area), returned in that CRS with a
    ``cell_id`` column (``r<row>c<col>`` from the top-left).
    """
    from shapely import box as boxes

    proj, nrow, ncol = _grid(area, cell_size_m, crs)
    x0, _, _, y1 = proj.total_bounds
    r, c = np.divmod(np.arange(nrow * ncol), ncol)
    left = x0 + c * cell_size_m
    top = y1 - r * cell_size_m
    cells = gpd.GeoDataFrame(
        {"cell_id": [f"r{a}c{b}" for a, b in zip(r, c, strict=True)]},
        geometry=boxes(left, top - cell_size_m, left + cell_size_m, top), crs=proj.crs)
    hit = cells.sindex.query(proj.geometry.union_all(), predicate="intersects")
    return cells.iloc[np.sort(hit)].reset_index(drop=True)


def grid_values(raster: xr.DataArray, cells: gpd.GeoDataFrame, *, strip_rows: int = 2048
                ) -> pd.DataFrame:
    """Area-weighted mean of ``raster`` in each grid cell and the cell's valid-data share.

    Cells are burnt onto the raster grid (pixel centres; at 1 km cells over 10-30 m pixels
    the partial-pixel error is negligible) strip by strip, so numpy- and dask-backed rasters
    of any size work in bounded memory. Pixel areas are true cell areas
    (:func:`landcarbon.engine.areas.cell_areas_m2`: ellipsoidal for geographic grids).

    Returns
    -------
    pandas.DataFrame
        Index of ``cells``: ``mean`` (NaN for cells without data) and ``coverage`` (valid
        area / cell area, 0-1).
    """
    from rasterio import features
    from rasterio.windows import Window
    from rasterio.windows import transform as window_transform

    from landcarbon.engine.areas import cell_areas_m2

    crs = CRS.from_user_input(raster.rio.crs)
    transform = raster.rio.transform()
    height, width = raster.sizes["y"], raster.sizes["x"]
    geoms = to_crs_densified(cells.geometry, crs)
    cell_area = geodesic_areas_m2(cells.geometry, cells.crs)
    n = len(cells)
    shapes = list(zip(geoms.to_numpy(), np.arange(1, n + 1), strict=True))
    total = np.zeros(n + 1)
    valid_area = np.zeros(n + 1)
    for top in range(0, height, strip_rows):
        rows = min(strip_rows, height - top)
        win_t = window_transform(Window(0, top, width, rows), transform)
        ids = features.rasterize(shapes, out_shape=(rows, width), transform=win_t, fill=0,
                                 dtype="int32")
        if not ids.any():
            continue
        values = np.asarray(raster.isel(y=slice(top, top + rows)).values, dtype=np.float64)
        area = cell_areas_m2(np.arange(top, top + rows), np.zeros(rows, dtype=np.int64),
                             transform, crs, "auto", height)[:, None]
        ok = np.isfinite(values) & (ids > 0)
        w = np.broadcast_to(area, values.shape)[ok]
        total += np.bincount(ids[ok], weights=values[ok] * w, minlength=n + 1)
        valid_area += np.bincount(ids[ok], weights=w, minlength=n + 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(valid_area[1:] > 0, total[1:] / valid_area[1:], np.nan)
    return pd.DataFrame({"mean": mean, "coverage": np.clip(valid_area[1:] / cell_area, 0, 1)},
                        index=cells.index)
