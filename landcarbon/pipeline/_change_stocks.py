"""The ``[change.stocks]`` part of a multi-date run: carbon stocks per unit and date, their
change per period (InVEST-compatible totals and valuation) and the stock density rasters.

:func:`stock_pass` builds the computations lazily so that :func:`landcarbon.pipeline.
assess_change` computes them in the one pass over every date's raster that also counts the
transitions; :func:`stock_tables` turns the computed parts into the tables of the result.
"""

from __future__ import annotations

from itertools import pairwise
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import pandas as pd

from landcarbon.config.run import RunConfig
from landcarbon.engine.areas import PixelAreaMethod
from landcarbon.pipeline.records import Assessment

if TYPE_CHECKING:
    from landcarbon.pipeline.records import ChangeResult

__all__ = ["UNITS_EXTENT", "WHOLE_EXTENT", "stock_pass", "stock_tables"]

#: What the totals of ``change.json`` ``totals.stocks`` cover.
WHOLE_EXTENT = ("whole raster: every pixel of the land-cover rasters valid at the date(s), "
                "as InVEST Carbon sums them (not only the units)")
UNITS_EXTENT = "sum of the units (exact partial-pixel coverage of the unit polygons)"


def stock_pass(config: RunConfig, dates: dict[int, Assessment], units: gpd.GeoDataFrame,
                pixel_area: PixelAreaMethod) -> dict[str, Any]:
    """The stock computations of ``[change.stocks]``, lazy, to compute in the run's one pass.

    Returns
    -------
    dict
        ``pools``, ``codes`` (year -> codes on the first date's grid) and ``lazy``:
        ``counts`` (year -> pixels per code, to check against the pool table; the date's own
        counts unless it was resampled), ``units`` (year -> :func:`unit_stocks` table) and
        ``change`` (period -> :func:`stock_change` totals).
    """
    from landcarbon.accounting.classification import code_counts
    from landcarbon.change.stocks import stock_change, unit_stock_change, unit_stocks
    from landcarbon.change.transitions import align_to
    from landcarbon.io.pools import read_pool_table

    ch = config.change
    assert ch is not None and ch.stocks is not None
    st = ch.stocks
    pools = read_pool_table(config.path(st.pools), config.csv_encoding)
    years = sorted(dates)
    first_codes = dates[years[0]].codes
    assert first_codes is not None
    codes, counts = {}, {}
    for y in years:
        c = dates[y].codes
        assert c is not None
        codes[y] = c if y == years[0] else align_to(
            c, first_codes, resample=ch.resample, names=(str(years[0]), str(y)))
        own = dates[y].code_counts
        counts[y] = own if codes[y] is c and own is not None else code_counts(codes[y],
                                                                              lazy=True)
    whole = _whole_rasters(config, years)
    periods = list(pairwise(years)) + ([(years[0], years[-1])] if len(years) > 2 else [])
    lazy = {"counts": counts,
            "whole_counts": {y: code_counts(whole[y], lazy=True) for y in years},
            "units": {y: unit_stocks(codes[y], pools, units, pixel_area=pixel_area,
                                     lazy=True) for y in years},
            "unit_change": {(y0, y1): unit_stock_change(codes[y0], codes[y1], pools, units,
                                                        pixel_area=pixel_area, lazy=True)
                            for y0, y1 in periods},
            "change": {(y0, y1): stock_change(
                whole[y0], whole[y1], pools, year_from=y0, year_to=y1,
                price_per_tc=st.price_per_tc, discount_rate_pct=st.discount_rate_pct,
                price_change_pct=st.price_change_pct, pixel_area=pixel_area,
                lazy=True) for y0, y1 in periods}}
    return {"pools": pools, "codes": codes, "lazy": lazy}


def _whole_rasters(config: RunConfig, years: list[int]) -> dict[int, Any]:
    """Every date's land cover uncropped (a run reads only the units' bounding box), later
    dates on the first date's grid: the extent of the InVEST-compatible totals."""
    from landcarbon.change.transitions import align_to
    from landcarbon.io.raster import open_landcover

    ch, lc = config.change, config.landcover
    assert ch is not None and lc is not None
    out: dict[int, Any] = {}
    for d in sorted(ch.dates, key=lambda d: d.year):
        if d.year not in years:
            continue
        spec = [d.landcover] if isinstance(d.landcover, str) else list(d.landcover)
        codes = open_landcover([config.path(p) for p in spec], chunks=lc.chunk_size,
                               nodata=lc.nodata, crs=lc.crs)
        out[d.year] = codes if not out else align_to(
            codes, out[years[0]], resample=ch.resample, names=(str(years[0]), str(d.year)))
    return out


def stock_tables(result: ChangeResult, stock_pass: dict[str, Any], computed: dict[str, Any]
            ) -> None:
    """Stock tables of ``result`` from the computed :func:`stock_pass` (codes checked
    against the pool table first)."""
    from landcarbon.change.stocks import check_pool_codes, stock_density

    change = result.config.change
    assert change is not None and change.stocks is not None  # called for [change.stocks] only
    st = change.stocks
    pools, codes = stock_pass["pools"], stock_pass["codes"]
    years = result.years
    for y in years:
        check_pool_codes(computed["counts"][y], pools.index.to_numpy())
        check_pool_codes(computed["whole_counts"][y], pools.index.to_numpy(),
                         what=f"land-cover raster of {y} (outside the units)")
    per_unit = []
    for y in years:
        per_unit.append(computed["units"][y].reset_index().assign(year=y))
        if st.rasters:
            result.stock_rasters[y] = stock_density(codes[y], pools, check=False)
    stocks = pd.concat(per_unit, ignore_index=True)
    result.stocks = stocks[["year", *[c for c in stocks.columns if c != "year"]]]
    changes = []
    for y0, y1 in result.periods():
        tot = computed["change"][(y0, y1)]
        a = stocks[stocks["year"] == y0].set_index("unit_id")["stock_tc"]
        b = stocks[stocks["year"] == y1].set_index("unit_id")["stock_tc"]
        ch = pd.DataFrame({"year_from": y0, "year_to": y1, "unit_id": a.index,
                           "stock_from_tc": a.to_numpy(), "stock_to_tc": b.reindex(a.index)
                           .to_numpy()})
        # on the pixels valid at both dates, as the whole-area change
        ch["stock_change_tc"] = computed["unit_change"][(y0, y1)]["stock_change_tc"].reindex(
            a.index).to_numpy()
        if tot["valuation_constant"] is not None:
            ch["npv"] = ch["stock_change_tc"] * tot["valuation_constant"]
        changes.append(ch)
        result.stock_totals.append({
            "year_from": y0, "year_to": y1, "extent": WHOLE_EXTENT, **tot,
            "units": {"extent": UNITS_EXTENT,
                      **{k: float(ch[k].sum()) for k in ("stock_from_tc", "stock_to_tc",
                                                         "stock_change_tc")},
                      "npv": float(ch["npv"].sum()) if "npv" in ch else None}})
    result.stock_changes = pd.concat(changes, ignore_index=True)
