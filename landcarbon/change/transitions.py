"""Land-cover change between two dates: grid alignment, transfer (transition) matrices in ha,
Pontius components, dynamic degrees and the carbon-flux effect of each transition.

Everything works on **index rasters**: integer rasters whose values are ``0..n-1`` (category
rasters from :func:`landcarbon.accounting.classification.classify`, or raw codes mapped to
positions in
a pool table) with one nodata value. A transition is counted where both dates hold data.

* Whole area: one pass over the two rasters; each block's ``from * n + to`` values are
  counted with :func:`numpy.bincount` weighted by the true cell areas
  (:mod:`landcarbon.engine.areas`) and the per-block ``n x n`` matrices are summed, so a dask-backed
  pair is read block by block in bounded memory.
* Per unit: the combined ``from * n + to`` raster goes through the exact-coverage zonal engine
  (:func:`landcarbon.engine.zonal.index_areas_ha`), so pixels cut by unit edges count by their
  covered fraction.

Vocabulary (Pontius, Shusas & McEachern 2004, Agric. Ecosyst. Environ. 101:251-268), for a
matrix ``M`` (rows = first date, columns = second date, ha): persistence ``M_jj``;
gain ``G_j = sum_i M_ij - M_jj``; loss ``L_j = sum_k M_jk - M_jj``; ``net_ha = G_j - L_j``
(signed; Pontius' net change is its absolute value); swap ``2 min(G_j, L_j)``; total change
``G_j + L_j``. Single dynamic degree ``K = (U_b - U_a) / U_a / T * 100`` (% per year);
comprehensive dynamic degree ``LC = sum_j (G_j + L_j) / (2 sum_j U_a,j) / T * 100`` (% per
year; equals the changed share of the area per year). Flux effect of the change
``sum_ij M_ij (e_j - e_i)`` with ``e`` the flux density of each class (t C/ha/yr).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import xarray as xr
from affine import Affine
from pyproj import CRS

from landcarbon.accounting.classification import is_dask
from landcarbon.engine.areas import (
    PixelAreaMethod,
    cell_areas_m2,
    resolve_area_method,
    row_areas_m2,
)
from landcarbon.exceptions import InputError

__all__ = [
    "align_to",
    "category_transitions",
    "change_summary",
    "check_aligned",
    "comprehensive_dynamic_degree",
    "flux_effect",
    "transfer_matrix",
    "transition_areas_ha",
    "transition_index",
    "unit_change_summaries",
    "unit_transition_areas_ha",
]

log = logging.getLogger(__name__)

M2_PER_HA = 10_000.0
Resample = Literal["error", "nearest"]


def _grid(da: xr.DataArray) -> tuple[CRS | None, tuple[float, ...], tuple[int, int]]:
    crs = CRS.from_user_input(da.rio.crs) if da.rio.crs is not None else None
    return crs, tuple(da.rio.transform())[:6], (da.sizes["y"], da.sizes["x"])


def _describe(da: xr.DataArray) -> str:
    crs, tr, shape = _grid(da)
    code = crs.to_epsg() if crs is not None else None
    return (f"CRS {('EPSG:' + str(code)) if code else crs}, {shape[0]} x {shape[1]} px, "
            f"pixel {tr[0]:g} x {abs(tr[4]):g}, origin ({tr[2]:.3f}, {tr[5]:.3f})")


def check_aligned(a: xr.DataArray, b: xr.DataArray, *, names: tuple[str, str] = ("first",
                                                                                  "second")
                  ) -> None:
    """Raise :class:`InputError` unless ``a`` and ``b`` share CRS, transform and shape.

    Parameters
    ----------
    a, b : xarray.DataArray
        Georeferenced rasters (rioxarray).
    names : tuple of str
        How the two rasters are named in the message (e.g. file names or years).
    """
    ca, ta, sa = _grid(a)
    cb, tb, sb = _grid(b)
    same_crs = (ca is None and cb is None) or (ca is not None and cb is not None and ca.equals(
        cb, ignore_axis_order=True))
    same_tr = np.allclose(ta, tb, rtol=0, atol=1e-9 * max(1.0, abs(ta[0])))
    if same_crs and same_tr and sa == sb:
        return
    raise InputError(
        f"The land-cover rasters of {names[0]} and {names[1]} are not on the same grid: "
        f"{names[0]}: {_describe(a)}; {names[1]}: {_describe(b)}. Transitions are counted "
        "pixel by pixel, so all dates must share CRS, pixel size, origin and size. Use rasters "
        "of one product on one grid (never mix products across dates), warp them to a common "
        "grid first, or set [change] resample = \"nearest\" to resample later dates onto the "
        "first date's grid (nearest neighbour).")


def align_to(da: xr.DataArray, like: xr.DataArray, *, resample: Resample = "error",
             names: tuple[str, str] = ("first", "second")) -> xr.DataArray:
    """``da`` on the grid of ``like``: unchanged when aligned, else an error or a
    nearest-neighbour resampling (``resample="nearest"``; nodata kept)."""
    try:
        check_aligned(like, da, names=names)
        return da
    except InputError:
        if resample != "nearest":
            raise
    from rasterio.enums import Resampling

    log.warning("resampling %s onto the grid of %s (nearest neighbour)", names[1], names[0])
    out = da.rio.reproject_match(like, resampling=Resampling.nearest,
                                 nodata=da.rio.nodata)
    out.attrs = dict(da.attrs)
    return out.assign_coords(x=like.x, y=like.y)


def _block_matrix(a: np.ndarray, b: np.ndarray, row0: int, col0: int, n: int, nodata: int,
                  transform: Affine, crs: CRS, method: PixelAreaMethod, height: int,
                  nominal_m2: float | None) -> np.ndarray:
    a = np.asarray(a)
    b = np.asarray(b)
    valid = (a != nodata) & (b != nodata)
    idx = a[valid].astype(np.int64) * n + b[valid].astype(np.int64)
    if nominal_m2 is not None:
        counts = np.bincount(idx, minlength=n * n)[: n * n].astype(np.float64)
        return (counts * nominal_m2 / M2_PER_HA).reshape(n, n)
    if resolve_area_method(crs, method) == "geographic" and transform.b == 0 == transform.d:
        # the cell area depends on the row alone: count per (row, transition), then weigh
        # each row's counts by its area (no per-pixel area array)
        h = a.shape[0]
        rows = np.broadcast_to(np.arange(h, dtype=np.int64)[:, None], a.shape)[valid]
        row_counts = np.bincount(rows * (n * n) + idx, minlength=h * n * n)[: h * n * n]
        row_area = row_areas_m2(transform * Affine.translation(0, row0), h, crs)
        per_row = row_counts.reshape(h, n * n).astype(np.float64)
        return (row_area @ per_row / M2_PER_HA).reshape(n, n)
    rows, cols = np.nonzero(valid)
    area = cell_areas_m2(rows + row0, cols + col0, transform, crs, method, height)
    return (np.bincount(idx, weights=area, minlength=n * n)[: n * n] / M2_PER_HA).reshape(n, n)


def transition_areas_ha(from_index: xr.DataArray, to_index: xr.DataArray, n: int, *,
                        nodata: int, pixel_area: PixelAreaMethod = "auto",
                        lazy: bool = False) -> np.ndarray:
    """Whole-raster transition matrix in ha (rows = ``from`` value, columns = ``to`` value).

    Parameters
    ----------
    from_index, to_index : xarray.DataArray
        Aligned integer rasters with values ``0..n-1`` (numpy or dask; a dask pair is
        processed block by block).
    n : int
        Number of values.
    nodata : int
        Value of cells without data in either raster (left out).
    pixel_area : {"auto", "nominal", "ellipsoidal"}
        Cell areas, see :mod:`landcarbon.engine.areas`.
    lazy : bool
        For a dask pair, return a ``dask.delayed`` matrix built on the unoptimised graph
        (chunk keys shared with other passes computed in the same ``dask.compute``).

    Returns
    -------
    numpy.ndarray
        ``(n, n)`` float64, ha.
    """
    check_aligned(from_index, to_index)
    crs = CRS.from_user_input(from_index.rio.crs)
    transform = from_index.rio.transform()
    height = from_index.sizes["y"]
    method = resolve_area_method(crs, pixel_area)
    nominal = None
    if method == "nominal":
        nominal = float(cell_areas_m2(np.zeros(1, int), np.zeros(1, int), transform, crs,
                                      "nominal", height)[0])
    args = (n, nodata, transform, crs, pixel_area, height, nominal)
    if not (is_dask(from_index) or is_dask(to_index)):
        return _block_matrix(np.asarray(from_index.data), np.asarray(to_index.data), 0, 0,
                             *args)
    import dask
    import dask.array as dsk

    a = from_index.data if is_dask(from_index) else dsk.from_array(np.asarray(
        from_index.data), chunks=2048)
    b = to_index.data if is_dask(to_index) else dsk.from_array(np.asarray(to_index.data),
                                                                 chunks=a.chunks)
    b = b.rechunk(a.chunks)
    row_starts = np.concatenate([[0], np.cumsum(a.chunks[0])[:-1]])
    col_starts = np.concatenate([[0], np.cumsum(a.chunks[1])[:-1]])
    da_blocks = a.to_delayed(optimize_graph=False)
    db_blocks = b.to_delayed(optimize_graph=False)
    parts = [dask.delayed(_block_matrix)(da_blocks[i, j], db_blocks[i, j], int(row_starts[i]),
                                         int(col_starts[j]), *args)
             for i in range(len(row_starts)) for j in range(len(col_starts))]
    total = dask.delayed(sum)(parts)
    return total if lazy else np.asarray(total.compute())


def transition_index(from_index: xr.DataArray, to_index: xr.DataArray, n: int, *,
                     nodata: int) -> tuple[xr.DataArray, int]:
    """The combined raster ``from * n + to`` (lazy for dask inputs) and its nodata value
    (``n * n``)."""
    dtype = np.uint16 if n * n < np.iinfo(np.uint16).max else np.int32
    out_nodata = n * n

    def combine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        valid = (a != nodata) & (b != nodata)
        return np.where(valid, a.astype(np.int64) * n + b.astype(np.int64),
                        out_nodata).astype(dtype)

    if is_dask(from_index) or is_dask(to_index):
        import dask.array as dsk

        a = dsk.asarray(from_index.data)
        data = dsk.map_blocks(combine, a, dsk.asarray(to_index.data).rechunk(a.chunks),
                              dtype=dtype)
    else:
        data = combine(np.asarray(from_index.data), np.asarray(to_index.data))
    out = from_index.copy(data=data)
    out.name = "transition"
    out.attrs = {}
    out.encoding = {}
    return out.rio.write_nodata(out_nodata), out_nodata


def unit_transition_areas_ha(from_index: xr.DataArray, to_index: xr.DataArray, n: int,
                             units: gpd.GeoDataFrame, *, nodata: int,
                             pixel_area: PixelAreaMethod = "auto",
                             lazy: bool = False) -> np.ndarray:
    """Transition matrix of each unit in ha, exact partial-pixel coverage at unit edges
    (``lazy``: as in :func:`transition_areas_ha`).

    Returns
    -------
    numpy.ndarray
        ``(len(units), n, n)`` float64, ha, in the order of ``units``.
    """
    from landcarbon.engine.zonal import index_areas_ha

    check_aligned(from_index, to_index)
    combined, out_nodata = transition_index(from_index, to_index, n, nodata=nodata)
    flat = index_areas_ha(combined, units, n * n, nodata=out_nodata, pixel_area=pixel_area,
                          lazy=lazy)
    return lazy_then(np.reshape, lazy, flat, (len(units), n, n))


def lazy_then(func: Callable[..., Any], lazy: bool, *args: Any) -> Any:
    """``func(*args)``, or its ``dask.delayed`` call when ``lazy`` (args may be delayed)."""
    if not lazy:
        return func(*args)
    import dask

    return dask.delayed(func)(*args)


def _categories(da: xr.DataArray) -> pd.DataFrame:
    return pd.DataFrame(json.loads(da.attrs["categories"]), columns=["land_class",
                                                                      "space_type"])


def category_transitions(from_categories: xr.DataArray, to_categories: xr.DataArray,
                         units: gpd.GeoDataFrame | None = None, *,
                         pixel_area: PixelAreaMethod = "auto",
                         lazy: bool = False) -> pd.DataFrame:
    """Long transition table between two category rasters of the same legend.

    Parameters
    ----------
    from_categories, to_categories : xarray.DataArray
        Aligned category rasters (:func:`landcarbon.accounting.classification.classify`, nodata
        255).
    units : geopandas.GeoDataFrame, optional
        With ``unit_id``: per-unit transitions (exact coverage). Without: the whole raster.
    lazy : bool
        For dask rasters, a ``dask.delayed`` table (see :func:`transition_areas_ha`): compute
        several together with ``dask.compute`` to read each raster once.

    Returns
    -------
    pandas.DataFrame
        ``[unit_id,] from_land_class, from_space_type, to_land_class, to_space_type, area_ha``,
        one row per non-zero transition (persistence included).
    """
    from landcarbon.accounting.legends import NODATA_CATEGORY

    cats = _categories(from_categories)
    if not cats.equals(_categories(to_categories)):
        raise InputError("The two dates were classified with different legends (their "
                         "category tables differ). Use the same legend and rural_settlement "
                         "setting for every date.")
    n = len(cats)
    frm = cats.add_prefix("from_")
    to = cats.add_prefix("to_")
    if units is None:
        m = transition_areas_ha(from_categories, to_categories, n, nodata=NODATA_CATEGORY,
                                pixel_area=pixel_area, lazy=lazy)
        return lazy_then(_whole_table, lazy, m, frm, to)
    cube = unit_transition_areas_ha(from_categories, to_categories, n, units,
                                    nodata=NODATA_CATEGORY, pixel_area=pixel_area, lazy=lazy)
    return lazy_then(_unit_table, lazy, cube, frm, to, units["unit_id"].to_numpy())


def _whole_table(m: np.ndarray, frm: pd.DataFrame, to: pd.DataFrame) -> pd.DataFrame:
    i, j = np.nonzero(m)
    out = pd.concat([frm.iloc[i].reset_index(drop=True), to.iloc[j].reset_index(drop=True)],
                    axis=1)
    out["area_ha"] = m[i, j]
    return out


def _coded(values: Any, rows: np.ndarray) -> pd.Categorical:
    """``values`` (a small table's column) at ``rows`` as a categorical (hundreds of thousands
    of rows share a few labels: codes, not one string object per cell)."""
    codes, labels = pd.factorize(values)
    return pd.Categorical.from_codes(codes[rows], categories=labels)


def _unit_table(cube: np.ndarray, frm: pd.DataFrame, to: pd.DataFrame, unit_ids: np.ndarray
                ) -> pd.DataFrame:
    u, i, j = np.nonzero(cube)
    out = pd.DataFrame({"unit_id": _coded(unit_ids, u), **{c: _coded(frm[c], i) for c in frm},
                        **{c: _coded(to[c], j) for c in to}})
    out["area_ha"] = cube[u, i, j]
    return out


def transfer_matrix(transitions: pd.DataFrame, by: Literal["land_class", "space_type"] =
                    "land_class", order: list[str] | None = None) -> pd.DataFrame:
    """Square transfer matrix (ha) from a long transition table.

    Parameters
    ----------
    transitions : pandas.DataFrame
        From :func:`category_transitions` (one unit's rows, or the whole area).
    by : {"land_class", "space_type"}
        Aggregate categories to land classes or space types.
    order : list of str, optional
        Row/column order; default: every class present in either date, sorted.

    Returns
    -------
    pandas.DataFrame
        Index ``from`` (first date), columns ``to`` (second date), ha.
    """
    m = transitions.pivot_table(index=f"from_{by}", columns=f"to_{by}", values="area_ha",
                                aggfunc="sum", fill_value=0.0)
    labels = order or sorted(set(m.index) | set(m.columns))
    m = m.reindex(index=labels, columns=labels, fill_value=0.0).astype(float)
    m.index.name = "from"
    m.columns.name = "to"
    return m


def change_summary(matrix: pd.DataFrame, years: float | None = None) -> pd.DataFrame:
    """Pontius components and single dynamic degree of each class of a transfer matrix.

    Parameters
    ----------
    matrix : pandas.DataFrame
        Square transfer matrix in ha (:func:`transfer_matrix`).
    years : float, optional
        Length of the period; needed for ``dynamic_degree_pct_per_yr``.

    Returns
    -------
    pandas.DataFrame
        Indexed by class: ``area_from_ha``, ``area_to_ha``, ``persistence_ha``, ``gain_ha``,
        ``loss_ha``, ``net_ha`` (gain - loss, signed), ``swap_ha``, ``total_change_ha`` and
        ``dynamic_degree_pct_per_yr`` (NaN where the class had no area at the first date).
    """
    m = matrix.to_numpy(dtype=float)
    diag = np.diag(m)
    out = pd.DataFrame(index=matrix.index.rename("class"))
    out["area_from_ha"] = m.sum(axis=1)
    out["area_to_ha"] = m.sum(axis=0)
    out["persistence_ha"] = diag
    out["gain_ha"] = out["area_to_ha"] - diag
    out["loss_ha"] = out["area_from_ha"] - diag
    out["net_ha"] = out["gain_ha"] - out["loss_ha"]
    out["swap_ha"] = 2.0 * np.minimum(out["gain_ha"], out["loss_ha"])
    out["total_change_ha"] = out["gain_ha"] + out["loss_ha"]
    with np.errstate(divide="ignore", invalid="ignore"):
        if years is not None:
            if years <= 0:
                raise ValueError(f"years must be > 0, got {years}")
            k = (out["area_to_ha"] - out["area_from_ha"]) / out["area_from_ha"] / years * 100
            out["dynamic_degree_pct_per_yr"] = k.where(out["area_from_ha"] > 0)
    return out


def unit_change_summaries(transitions: pd.DataFrame,
                          by: Literal["land_class", "space_type"], years: float
                          ) -> tuple[pd.DataFrame, pd.Series]:
    """:func:`change_summary` and :func:`comprehensive_dynamic_degree` of every unit at once
    (one array over units x classes x classes instead of a pivot table per unit: 4,700
    units took minutes).

    Parameters
    ----------
    transitions : pandas.DataFrame
        Per-unit long table of :func:`category_transitions` (``unit_id`` column).
    by : {"land_class", "space_type"}
    years : float
        Length of the period (> 0).

    Returns
    -------
    (summary, comprehensive) : (pandas.DataFrame, pandas.Series)
        ``summary``: the columns of :func:`change_summary` with ``unit_id`` and ``class``,
        units in order of first appearance, each unit's classes (those with area at either
        date) sorted, as ``change_summary(transfer_matrix(unit_rows, by))`` gives them;
        ``comprehensive``: % per year by unit (NaN where the unit had no area).
    """
    if years <= 0:
        raise ValueError(f"years must be > 0, got {years}")
    units = pd.unique(transitions["unit_id"])
    u = pd.Index(units).get_indexer(transitions["unit_id"])
    # the distinct labels first (a set of every row's label iterated 680,000 pandas values)
    labels = sorted(set(pd.unique(transitions[f"from_{by}"]))
                    | set(pd.unique(transitions[f"to_{by}"])))
    index = pd.Index(labels)
    i = index.get_indexer(transitions[f"from_{by}"])
    j = index.get_indexer(transitions[f"to_{by}"])
    cube = np.zeros((len(units), len(labels), len(labels)))
    np.add.at(cube, (u, i, j), transitions["area_ha"].to_numpy(dtype=float))
    area_from = cube.sum(axis=2)
    area_to = cube.sum(axis=1)
    diag = np.diagonal(cube, axis1=1, axis2=2)
    present = np.zeros(area_from.shape, bool)
    present[u, i] = True
    present[u, j] = True
    gain, loss = area_to - diag, area_from - diag
    uu, kk = np.nonzero(present)
    with np.errstate(divide="ignore", invalid="ignore"):
        k = (area_to - area_from) / area_from / years * 100
    out = pd.DataFrame({
        "unit_id": units[uu], "class": np.asarray(labels, dtype=object)[kk],
        "area_from_ha": area_from[uu, kk], "area_to_ha": area_to[uu, kk],
        "persistence_ha": diag[uu, kk], "gain_ha": gain[uu, kk], "loss_ha": loss[uu, kk],
        "net_ha": (gain - loss)[uu, kk], "swap_ha": 2.0 * np.minimum(gain, loss)[uu, kk],
        "total_change_ha": (gain + loss)[uu, kk],
        "dynamic_degree_pct_per_yr": np.where(area_from > 0, k, np.nan)[uu, kk]})
    total = np.where(present, area_from, 0.0).sum(axis=1)
    change = np.where(present, gain + loss, 0.0).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        degree = np.where(total > 0, change / (2.0 * total) / years * 100.0, np.nan)
    return out, pd.Series(degree, index=units, name="comprehensive_pct_per_yr")


def comprehensive_dynamic_degree(matrix: pd.DataFrame, years: float) -> float:
    """Comprehensive land-use dynamic degree, % per year:
    ``sum_j (G_j + L_j) / (2 sum_j U_a,j) / T * 100`` (NaN for an empty matrix)."""
    if years <= 0:
        raise ValueError(f"years must be > 0, got {years}")
    s = change_summary(matrix)
    total = float(s["area_from_ha"].sum())
    if total <= 0:
        return float("nan")
    return float(s["total_change_ha"].sum() / (2.0 * total) / years * 100.0)


def flux_effect(matrix: pd.DataFrame, density_tc_per_ha: pd.Series) -> pd.DataFrame:
    """Carbon-flux effect of every transition: ``M_ij (e_j - e_i)``.

    Parameters
    ----------
    matrix : pandas.DataFrame
        Transfer matrix between land classes, ha.
    density_tc_per_ha : pandas.Series
        Net flux density of each land class, t C/ha/yr (positive = source), e.g.
        ``CoefficientSet.tc_per_ha`` with construction land filled with an intensity.
        Classes without a value (NaN or absent) give NaN effects, left out of totals.

    Returns
    -------
    pandas.DataFrame
        One row per changing transition (i != j, area > 0): ``from``, ``to``, ``area_ha``,
        ``from_tc_per_ha``, ``to_tc_per_ha``, ``flux_change_tc`` (t C/yr; positive = the
        change adds emission or removes sink).
    """
    long = matrix.stack().rename("area_ha").reset_index()
    long.columns = ["from", "to", "area_ha"]
    long = long[(long["from"] != long["to"]) & (long["area_ha"] > 0)].reset_index(drop=True)
    dens = density_tc_per_ha.astype(float)
    long["from_tc_per_ha"] = long["from"].map(dens)
    long["to_tc_per_ha"] = long["to"].map(dens)
    long["flux_change_tc"] = long["area_ha"] * (long["to_tc_per_ha"] - long["from_tc_per_ha"])
    missing = sorted(set(long.loc[long["flux_change_tc"].isna(), "from"]) | set(
        long.loc[long["flux_change_tc"].isna(), "to"]))
    missing = [c for c in missing if not np.isfinite(dens.get(c, np.nan))]
    if missing:
        log.warning("no flux density for %s: their transitions have no flux effect",
                    ", ".join(missing))
    return long
