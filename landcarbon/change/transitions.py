"""Land-cover change between two dates: grid alignment and the transition areas (ha) of the
whole area and of each unit.

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

Transfer matrices, Pontius components, dynamic degrees and flux effects of the tables made
here: :mod:`landcarbon.change.summaries`.
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
    "check_aligned",
    "transition_areas_ha",
    "transition_index",
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
                                                                                  "second"),
                  fix: str | None = None) -> None:
    """Raise :class:`InputError` unless ``a`` and ``b`` share CRS, transform and shape.

    Parameters
    ----------
    a, b : xarray.DataArray
        Georeferenced rasters (rioxarray).
    names : tuple of str
        How the two rasters are named in the message (e.g. file names or years).
    fix : str, optional
        What the message tells the user to do (default: a change run's choices).
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
        f"{names[0]}: {_describe(a)}; {names[1]}: {_describe(b)}. " + (fix or (
            "Transitions are counted pixel by pixel, so all dates must share CRS, pixel size, "
            "origin and size. Use rasters of one product on one grid (never mix products "
            "across dates), warp them to a common grid first, or set [change] resample = "
            "\"nearest\" to resample later dates onto the first date's grid (nearest "
            "neighbour).")))


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
