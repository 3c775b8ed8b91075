"""Carbon stocks (accounting family C): InVEST-format pool tables -> stock rasters, per-unit
stocks, stock change between dates and its valuation.

A stock is carbon STORED (t C = Mg C), not a yearly flux: the change between two dates is a
one-off transfer, reported in its own columns (``*_stock_*``) and never added to the annual
balance (methodology §2).

The computation reproduces the InVEST Carbon Storage and Sequestration model
(natcap/invest ``src/natcap/invest/carbon.py``) so that totals can be compared with it:

* each pool is mapped to a float32 raster of density (Mg C/ha) and the total density is the
  float32 sum ``c_above + c_below + c_soil + c_dead`` (InVEST ``tot_c_<scenario>.tif``);
* the change is the float32 difference ``tot_c_fut - tot_c_cur`` on pixels valid at both
  dates (``delta_cur_fut.tif``);
* totals are float64 sums of pixel densities times the pixel area in ha (InVEST sums
  ``Mg/ha`` values and multiplies by ``pixel_area_m2 / 10000``);
* the net present value multiplies the change by the valuation constant
  ``V / n * sum_{t=0}^{n-1} 1 / ((1 + r/100) (1 + c/100))^t`` with ``V`` the price per t C,
  ``n`` the years between the dates, ``r`` the discount rate (%) and ``c`` the annual price
  change (%) (InVEST ``_calculate_valuation_constant``; user's guide formula
  ``value = V * delta / n * sum_t 1 / ((1 + r/100)^t (1 + c/100)^t)``).

Here the sums are taken per land-cover code (pixel area of each code x its density) instead of
per pixel, which is the same quantity up to float rounding, and per unit with exact
partial-pixel coverage (:func:`landcarbon.engine.zonal.index_areas_ha`).
"""

from __future__ import annotations

import logging
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import xarray as xr

from landcarbon.accounting.classification import is_dask
from landcarbon.change.transitions import lazy_then
from landcarbon.engine.areas import PixelAreaMethod
from landcarbon.exceptions import InputError

__all__ = [
    "POOLS",
    "StockChange",
    "code_index",
    "stock_change",
    "stock_change_raster",
    "stock_density",
    "total_density",
    "unit_stock_change",
    "unit_stocks",
    "validate_pool_table",
    "valuation_constant",
    "whole_stocks",
]

log = logging.getLogger(__name__)

#: The four InVEST carbon pools, Mg C/ha (= t C/ha).
POOLS = ("c_above", "c_below", "c_soil", "c_dead")
#: Nodata of stock rasters (stocks are >= 0; as in InVEST).
STOCK_NODATA = -1.0
_INDEX_NODATA = -1


def _cell(value: object) -> str:
    """A table cell as a message shows it: ``empty`` for a missing one, its text quoted."""
    if value is None or (isinstance(value, float) and value != value):
        return "(empty)"
    return repr(str(value))


def validate_pool_table(table: pd.DataFrame, name: str = "pool table") -> pd.DataFrame:
    """Check an InVEST carbon pools table and index it by ``lucode``.

    Column names are case-insensitive (InVEST lower-cases them); extra columns (e.g.
    ``LULC_Name``) are kept. Every problem is listed at once.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``lucode`` (int64), with the float64 pool columns ``c_above, c_below,
        c_soil, c_dead`` (Mg C/ha) first.

    Raises
    ------
    InputError
    """
    from landcarbon.checks.tables import lower_columns, require_columns

    t = lower_columns(table, f"Carbon pool table {name}")
    require_columns(t, ("lucode", *POOLS), f"Carbon pool table {name}",
                    "An InVEST pool table has lucode, c_above, c_below, c_soil, c_dead "
                    "(Mg C/ha).")
    if t.empty:
        raise InputError(f"Carbon pool table {name} has a header but no rows: give one row "
                         "per land-cover code (lucode) with its c_above, c_below, c_soil and "
                         "c_dead (Mg C/ha).")
    problems: list[str] = []
    codes = pd.to_numeric(t["lucode"], errors="coerce")
    for i in np.nonzero((codes.isna() | (codes % 1 != 0)).to_numpy())[0]:
        problems.append(f"line {i + 2}: lucode {_cell(t['lucode'].iloc[i])} is not an integer")
    values = {}
    for pool in POOLS:
        v = pd.to_numeric(t[pool], errors="coerce")
        numbers = v.to_numpy(dtype=float)
        for i in np.nonzero(~np.isfinite(numbers))[0]:
            problems.append(f"line {i + 2}: {pool} {_cell(t[pool].iloc[i])} is not a number")
        for i in np.nonzero(numbers < 0)[0]:
            problems.append(f"line {i + 2}: {pool} {numbers[i]:g} is negative (a carbon stock "
                            "is 0 or more)")
        values[pool] = v.astype(float)
    dup = codes[codes.duplicated(keep=False) & codes.notna()]
    if len(dup):
        problems.append(f"duplicate lucode(s): {', '.join(str(int(c)) for c in sorted(set(dup)))}")
    if problems:
        raise InputError(f"Carbon pool table {name} has {len(problems)} problem(s): "
                         + "; ".join(problems) + ". Fix these rows (densities in Mg C/ha).")
    out = pd.DataFrame(values)
    out.index = pd.Index(codes.astype(np.int64).to_numpy(), name="lucode")
    extra = t.drop(columns=["lucode", *POOLS]).set_axis(out.index)
    return pd.concat([out, extra], axis=1).sort_index()


def total_density(pools: pd.DataFrame) -> pd.Series:
    """Total density of each lucode as InVEST stores it: float32 pools summed in float32 in
    the order above, below, soil, dead (Mg C/ha)."""
    acc = pools[POOLS[0]].to_numpy(dtype=np.float32).copy()
    for pool in POOLS[1:]:
        acc = acc + pools[pool].to_numpy(dtype=np.float32)
    return pd.Series(acc, index=pools.index, name="c_total")


def check_pool_codes(counts: pd.Series, lucodes: np.ndarray, *,
                     what: str = "land-cover raster") -> None:
    """Refuse codes of a raster (``counts``: pixels per code, nodata left out, as
    :func:`landcarbon.accounting.classification.code_counts`) that ``lucodes`` does not list.

    Raises
    ------
    InputError
        Naming the unknown codes and their pixel counts.
    """
    known = set(np.asarray(lucodes, dtype=np.int64).astype(float))
    unknown = [c for c in counts.index.to_numpy() if float(c) not in known]
    if unknown:
        from landcarbon.accounting.classification import code_text

        listing = ", ".join(f"{code_text(c)} ({int(counts[c]):,} px)" for c in unknown[:20])
        raise InputError(f"The {what} holds {len(unknown)} code(s) that the carbon pool table "
                         f"does not list: {listing}. Add a row (lucode, c_above, c_below, "
                         "c_soil, c_dead in Mg C/ha) for each of them.")


def code_index(codes: xr.DataArray, lucodes: np.ndarray, *, what: str = "land-cover raster",
               check: bool = True) -> xr.DataArray:
    """Position of each pixel's code in ``lucodes`` (int32, nodata -1; lazy for dask).

    ``check=False`` leaves the code check (a pass over the raster) to the caller, who then
    calls :func:`check_pool_codes` on counts computed with the other passes; unknown codes
    get arbitrary positions meanwhile.

    Raises
    ------
    InputError
        If the raster holds codes (other than its nodata) missing from ``lucodes``.
    """
    from landcarbon.accounting.classification import code_counts

    lucodes = np.asarray(lucodes, dtype=np.int64)
    if check:
        check_pool_codes(code_counts(codes), lucodes, what=what)
    order = np.argsort(lucodes)
    keys = lucodes[order]
    nodata = codes.rio.nodata

    def lookup(block: np.ndarray) -> np.ndarray:
        b = np.asarray(block)
        valid = np.ones(b.shape, bool)
        if b.dtype.kind == "f":
            valid &= np.isfinite(b)
        if nodata is not None and not (isinstance(nodata, float) and np.isnan(nodata)):
            valid &= b != nodata
        pos = np.searchsorted(keys, np.where(valid, b, keys[0]).astype(np.int64))
        pos = np.clip(pos, 0, len(keys) - 1)
        return np.where(valid, order[pos], _INDEX_NODATA).astype(np.int32)

    data = (codes.data.map_blocks(lookup, dtype=np.int32) if is_dask(codes)
            else lookup(np.asarray(codes.data)))
    out = codes.copy(data=data)
    out.name = "pool_index"
    out.attrs = {}
    out.encoding = {}
    return out.rio.write_nodata(_INDEX_NODATA)


def stock_density(codes: xr.DataArray, pools: pd.DataFrame, *, check: bool = True
                  ) -> xr.DataArray:
    """Total carbon density raster (Mg C/ha, float32, nodata -1), InVEST ``tot_c``.

    Parameters
    ----------
    codes : xarray.DataArray
        Raw land-cover codes (numpy or dask).
    pools : pandas.DataFrame
        From :func:`validate_pool_table`.
    check : bool
        As in :func:`code_index`.
    """
    idx = code_index(codes, pools.index.to_numpy(), check=check)
    table = np.append(total_density(pools).to_numpy(dtype=np.float32),
                      np.float32(STOCK_NODATA))

    def lut(block: np.ndarray) -> np.ndarray:
        return table[np.asarray(block)]  # -1 picks the appended nodata value

    data = idx.data.map_blocks(lut, dtype=np.float32) if is_dask(idx) else lut(
        np.asarray(idx.data))
    out = idx.copy(data=data)
    out.name = "carbon_stock"
    out.attrs = {"units": "Mg C ha-1", "long_name": "total carbon stock density "
                 "(c_above + c_below + c_soil + c_dead)"}
    return out.rio.write_nodata(STOCK_NODATA)


def stock_change_raster(density_from: xr.DataArray, density_to: xr.DataArray) -> xr.DataArray:
    """Per-pixel stock change (Mg C/ha, float32 ``to - from`` as InVEST's ``c_change``),
    NaN where either date has no data (InVEST writes -1, which is also a valid change)."""
    from landcarbon.change.transitions import check_aligned

    check_aligned(density_from, density_to)
    a, b = density_from, density_to
    valid = (a != STOCK_NODATA) & (b != STOCK_NODATA)
    out = xr.where(valid, (b - a).astype(np.float32), np.float32(np.nan)).astype(np.float32)
    out = out.rio.write_crs(a.rio.crs).rio.write_transform(a.rio.transform())
    out.name = "carbon_stock_change"
    out.attrs = {"units": "Mg C ha-1", "long_name": "carbon stock change (later - earlier)"}
    return out.rio.write_nodata(np.nan)


def valuation_constant(year_from: int, year_to: int, discount_rate_pct: float,
                       price_change_pct: float, price_per_tc: float) -> float:
    """InVEST Carbon's net-present-value constant (currency per t C of stock change).

    ``V / n * sum_{t=0}^{n-1} q^t`` with ``q = 1 / ((1 + r/100)(1 + c/100))``, written in
    closed form ``V / n * (1 - q^n) / (1 - q)`` (``V`` when ``q == 1``), exactly as
    ``natcap.invest.carbon._calculate_valuation_constant``.

    Parameters
    ----------
    year_from, year_to : int
        Calendar years of the two land-cover maps (``year_to > year_from``).
    discount_rate_pct : float
        Annual market discount rate, % (e.g. 7).
    price_change_pct : float
        Annual relative change of the carbon price, % (e.g. 0).
    price_per_tc : float
        Price of one t C (Mg C) at the first date, currency units.
    """
    n_years = int(year_to) - int(year_from)
    if n_years <= 0:
        raise ValueError(f"valuation needs year_to > year_from, got {year_from} -> {year_to}")
    ratio = 1 / ((1 + discount_rate_pct / 100) * (1 + price_change_pct / 100))
    constant = price_per_tc / n_years
    if ratio == 1:
        constant *= n_years
    else:
        constant *= (1 - ratio ** n_years) / (1 - ratio)
    return constant


def unit_stocks(codes: xr.DataArray, pools: pd.DataFrame, units: gpd.GeoDataFrame, *,
                pixel_area: PixelAreaMethod = "auto", lazy: bool = False) -> pd.DataFrame:
    """Stock of every unit per pool, t C (exact partial-pixel coverage).

    ``lazy=True`` gives a ``dask.delayed`` table for a dask raster (to compute with other
    passes over it in one ``dask.compute``) and leaves the code check to the caller
    (:func:`check_pool_codes`).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``unit_id``: ``stock_c_above_tc``, ``stock_c_below_tc``,
        ``stock_c_soil_tc``, ``stock_c_dead_tc``, ``stock_tc`` (their sum), ``stocked_ha``
        (area with a pool value) and ``stock_tc_per_ha``.
    """
    from landcarbon.engine.zonal import index_areas_ha

    idx = code_index(codes, pools.index.to_numpy(), check=not lazy)
    areas = index_areas_ha(idx, units, len(pools), nodata=_INDEX_NODATA, pixel_area=pixel_area,
                           lazy=lazy)
    return lazy_then(_stock_table, lazy, areas, pools, units["unit_id"].to_numpy())


def unit_stock_change(codes_from: xr.DataArray, codes_to: xr.DataArray, pools: pd.DataFrame,
                      units: gpd.GeoDataFrame, *, pixel_area: PixelAreaMethod = "auto",
                      lazy: bool = False) -> pd.DataFrame:
    """Change of every unit's stock between two dates, t C, on the pixels valid at both
    dates (as the whole-area change of :func:`stock_change` and InVEST's delta: a pixel
    that is nodata at one date is neither a loss nor a gain).

    ``lazy=True`` as in :func:`unit_stocks`.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``unit_id``: ``stock_change_tc`` (stock at the second date minus stock
        at the first, both on the pixels valid at both dates) and ``common_ha`` (the area of
        those pixels).
    """
    from landcarbon.engine.zonal import index_areas_ha

    lucodes = pools.index.to_numpy()
    a = code_index(codes_from, lucodes, check=not lazy)
    b = code_index(codes_to, lucodes, check=not lazy)
    both = (a != _INDEX_NODATA) & (b != _INDEX_NODATA)
    none = np.int32(_INDEX_NODATA)
    areas = [index_areas_ha(idx.where(both, none).astype(np.int32), units, len(pools),
                            nodata=_INDEX_NODATA, pixel_area=pixel_area, lazy=lazy)
             for idx in (a, b)]
    return lazy_then(_unit_change_table, lazy, *areas, pools, units["unit_id"].to_numpy())


def _unit_change_table(areas_from: np.ndarray, areas_to: np.ndarray, pools: pd.DataFrame,
                       unit_ids: np.ndarray) -> pd.DataFrame:
    density = total_density(pools).to_numpy(dtype=np.float64)
    return pd.DataFrame({"stock_change_tc": areas_to @ density - areas_from @ density,
                         "common_ha": areas_from.sum(axis=1)},
                        index=pd.Index(unit_ids, name="unit_id"))


def whole_stocks(codes: xr.DataArray, pools: pd.DataFrame, *,
                 pixel_area: PixelAreaMethod = "auto", lazy: bool = False) -> pd.DataFrame:
    """Stock of the whole raster per pool, t C (every pixel with a code; no units, no
    clipping): the area of each code times its densities.

    ``lazy=True`` as in :func:`unit_stocks`.

    Returns
    -------
    pandas.DataFrame
        One row (index ``unit_id`` = ``""``) with the columns of :func:`unit_stocks`.
    """
    from landcarbon.change.transitions import transition_areas_ha

    n = len(pools)
    idx = code_index(codes, pools.index.to_numpy(), check=not lazy)
    # the diagonal of a date's transition matrix with itself: area of each code (ha)
    m = transition_areas_ha(idx, idx, n, nodata=_INDEX_NODATA, pixel_area=pixel_area,
                            lazy=lazy)
    return lazy_then(_whole_table, lazy, m, pools)


def _whole_table(m: np.ndarray, pools: pd.DataFrame) -> pd.DataFrame:
    return _stock_table(np.diag(m)[None, :], pools, np.array([""]))


def _stock_table(areas: np.ndarray, pools: pd.DataFrame, unit_ids: np.ndarray
                 ) -> pd.DataFrame:
    out = pd.DataFrame(index=pd.Index(unit_ids, name="unit_id"))
    for pool in POOLS:
        out[f"stock_{pool}_tc"] = areas @ pools[pool].to_numpy(dtype=np.float64)
    out["stock_tc"] = areas @ total_density(pools).to_numpy(dtype=np.float64)
    out["stocked_ha"] = areas.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["stock_tc_per_ha"] = np.where(out["stocked_ha"] > 0,
                                          out["stock_tc"] / out["stocked_ha"], np.nan)
    return out


class StockChange(dict):
    """Whole-area stocks of two dates and their change (t C), plus the valuation when a
    price is given. Keys: ``stock_from_tc``, ``stock_to_tc``, ``stock_change_tc`` (on pixels
    valid at both dates, as InVEST's delta), ``valuation_constant``, ``npv`` (InVEST's float32
    per-pixel product summed)."""


def stock_change(codes_from: xr.DataArray, codes_to: xr.DataArray, pools: pd.DataFrame, *,
                 year_from: int | None = None, year_to: int | None = None,
                 price_per_tc: float | None = None, discount_rate_pct: float = 0.0,
                 price_change_pct: float = 0.0,
                 pixel_area: PixelAreaMethod = "auto", lazy: bool = False) -> StockChange:
    """Whole-area stock totals, change and (optionally) net present value, InVEST-compatible.

    The change is ``sum_ij M_ij (D_j - D_i)`` over the code transition matrix ``M`` (ha) with
    the float32 per-pixel difference of densities, i.e. the sum of InVEST's
    ``delta_cur_fut`` raster times the pixel area.

    Parameters
    ----------
    codes_from, codes_to : xarray.DataArray
        Aligned raw-code rasters of the two dates.
    pools : pandas.DataFrame
        From :func:`validate_pool_table`.
    year_from, year_to, price_per_tc, discount_rate_pct, price_change_pct
        Valuation inputs (see :func:`valuation_constant`); no valuation without a price.
    lazy : bool
        As in :func:`unit_stocks`.
    """
    from landcarbon.change.transitions import transition_areas_ha

    n = len(pools)
    a = code_index(codes_from, pools.index.to_numpy(), what="first land-cover raster",
                   check=not lazy)
    b = code_index(codes_to, pools.index.to_numpy(), what="second land-cover raster",
                   check=not lazy)
    if price_per_tc is not None and (year_from is None or year_to is None):
        raise ValueError("valuation needs year_from and year_to")
    # one pass: nodata becomes the extra value n, so the (n+1)^2 matrix also holds the
    # pixels valid at one date only (row / column n)
    full = transition_areas_ha(a.where(a != _INDEX_NODATA, n), b.where(b != _INDEX_NODATA, n),
                               n + 1, nodata=-2, pixel_area=pixel_area, lazy=lazy)
    valuation = None if price_per_tc is None else (
        year_from, year_to, discount_rate_pct, price_change_pct, price_per_tc)
    return lazy_then(_stock_change_totals, lazy, full, total_density(pools), valuation)


def _stock_change_totals(full: np.ndarray, density: pd.Series,
                         valuation: tuple[Any, ...] | None) -> StockChange:
    """:func:`stock_change` from the ``(n+1)^2`` transition matrix (ha)."""
    n = len(density)
    dens = density.to_numpy(dtype=np.float32)
    m = full[:n, :n]
    own_a = full[:n, :].sum(axis=1)
    own_b = full[:, :n].sum(axis=0)
    delta = (dens[None, :] - dens[:, None]).astype(np.float32).astype(np.float64)
    out = StockChange(
        stock_from_tc=float(own_a @ dens.astype(np.float64)),
        stock_to_tc=float(own_b @ dens.astype(np.float64)),
        stock_change_tc=float((m * delta).sum()),
        valuation_constant=None, npv=None)
    if valuation is not None:
        k = valuation_constant(*valuation)
        out["valuation_constant"] = k
        # as InVEST's npv raster: float32 per-pixel product of the float32 change and k
        npv = (delta.astype(np.float32) * np.float32(k)).astype(np.float64)
        out["npv"] = float((m * npv).sum())
    return out
