"""A stocks-only study, as InVEST Carbon Storage and Sequestration takes one: land-cover
rasters (one per date) and an InVEST carbon pools table, nothing else (no legend, no
coefficients, no thresholds). Units are optional.

:func:`assess_stocks` computes, in one pass over the rasters: the stock of the **whole
raster** at each date per pool (every pixel with a code, not only the part under the units),
the change of each consecutive period on the pixels valid at both dates and its net present
value (InVEST's valuation), and, when units are given, the stock of every unit per date
(exact partial-pixel coverage) and its change. :func:`run_stocks` also writes the stock
rasters, tables and a ``stocks.json`` manifest into one folder, atomically
(:mod:`landcarbon.pipeline.stock_outputs`).

The arithmetic is InVEST 3.15's (per-hectare float32 pool rasters summed in float32, totals
summed in float64 and multiplied by the pixel area): see :mod:`landcarbon.change.stocks`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import xarray as xr

from landcarbon.engine.areas import PixelAreaMethod
from landcarbon.exceptions import ConfigError

__all__ = ["StockStudy", "assess_stocks", "run_stocks", "stock_labels"]

log = logging.getLogger(__name__)


def stock_labels(n_dates: int, years: Sequence[int] | None) -> list[str]:
    """Names of the dates in file names and tables: the years when given, else ``bas`` and
    ``alt`` (InVEST's baseline and alternate) for one or two rasters.

    Raises
    ------
    ConfigError
        If the years do not match the rasters, are not increasing, or are missing for more
        than two rasters.
    """
    if years:
        if len(years) != n_dates:
            raise ConfigError(f"{len(years)} year(s) for {n_dates} land-cover raster(s): give "
                              "one --year per raster, in the same order.")
        if list(years) != sorted(set(years)):
            raise ConfigError(f"The years {list(years)} must be distinct and increasing, in "
                              "the order of the rasters.")
        return [str(int(y)) for y in years]
    if n_dates > 2:
        raise ConfigError(f"{n_dates} land-cover rasters need a --year for each (the dates "
                          "order the periods).")
    return ["bas", "alt"][:n_dates]


@dataclass
class StockStudy:
    """Result of a stocks-only study (all stocks in t C = Mg C).

    Attributes
    ----------
    labels : list of str
        Date names (years, or ``bas`` / ``alt``).
    years : list of int or None
    landcover : list of str
        Raster of each date.
    pools : pandas.DataFrame
        The pool table, indexed by ``lucode`` (Mg C/ha).
    totals : pandas.DataFrame
        Whole raster, one row per date: ``date, year, stocked_ha, stock_c_above_tc,
        stock_c_below_tc, stock_c_soil_tc, stock_c_dead_tc, stock_tc, stock_tc_per_ha``.
    changes : pandas.DataFrame
        Whole raster, one row per consecutive period: ``date_from, date_to, stock_from_tc,
        stock_to_tc, stock_change_tc`` (pixels valid at both dates, InVEST's
        ``c_change``), ``valuation_constant`` and ``npv`` (currency; empty without a price).
    unit_stocks, unit_changes : pandas.DataFrame or None
        The same per unit (``unit_id``, ``unit_name``), when units were given.
    densities : dict
        Date -> total stock density raster (Mg C/ha, float32, nodata -1; lazy).
    """

    labels: list[str]
    years: list[int] | None
    landcover: list[str]
    pools: pd.DataFrame
    totals: pd.DataFrame
    changes: pd.DataFrame
    unit_stocks: pd.DataFrame | None = None
    unit_changes: pd.DataFrame | None = None
    densities: dict[str, xr.DataArray] = field(default_factory=dict)
    valuation: dict[str, float] | None = None
    crs: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The totals as plain JSON values (the ``totals`` of ``stocks.json`` and of
        ``landcarbon stocks --json``): ``unit``, ``dates`` (one dict per date: ``date,
        year, landcover, stocked_ha, stock_*_tc``), ``changes`` (one dict per period) and
        ``units`` (number of units, or null)."""
        def rows(t: pd.DataFrame) -> list[dict[str, Any]]:
            return [{k: (None if pd.isna(v) else v.item() if hasattr(v, "item") else v)
                     for k, v in r.items()} for r in t.to_dict("records")]

        dates = rows(self.totals)
        for d, path in zip(dates, self.landcover, strict=True):
            d["landcover"] = path
        return {"unit": "t C (= Mg C)", "dates": dates, "changes": rows(self.changes),
                "valuation": self.valuation,
                "units": None if self.unit_stocks is None else
                int(self.unit_stocks["unit_id"].nunique())}

    def __repr__(self) -> str:
        parts = [f"{d}: {v / 1e6:,.3f} M t C" for d, v in
                 zip(self.totals["date"], self.totals["stock_tc"], strict=True)]
        for r in self.changes.itertuples():
            parts.append(f"{r.date_from}->{r.date_to}: {r.stock_change_tc / 1e6:+,.3f} M t C"
                         + ("" if pd.isna(r.npv) else f", NPV {r.npv:,.0f}"))
        n = "" if self.unit_stocks is None else \
            f", {self.unit_stocks['unit_id'].nunique()} units"
        return f"StockStudy({len(self.labels)} date(s){n}; " + "; ".join(parts) + ")"

    def _repr_html_(self) -> str:
        from html import escape

        head = escape(repr(self).split(";")[0] + ")")
        return (f"<b>{head}</b>" + self.totals.to_html(index=False, float_format="{:,.1f}".format)
                + (self.changes.to_html(index=False, float_format="{:,.1f}".format)
                   if len(self.changes) else ""))


def _check_settings(price_per_tc: float | None, discount_rate_pct: float,
                    price_change_pct: float, nodata: float | None) -> None:
    """Refuse valuation settings and a nodata value no study can use (ConfigError naming the
    option): a price or nodata that is not a finite number, a negative price; a discount rate
    or price change of -100 % or less (the yearly factor ``1 + r/100`` would be 0 or
    negative)."""
    import math

    problems = []
    for name, value in (("price (--price, price_per_tc)", price_per_tc),
                        ("nodata (--nodata, nodata)", nodata)):
        if value is not None and not math.isfinite(value):
            problems.append(f"the {name} is {value}, not a finite number")
    if price_per_tc is not None and price_per_tc < 0:
        problems.append(f"the price (--price, price_per_tc) is {price_per_tc:g}: a carbon price "
                        "is 0 or more per t C")
    for name, value in (("discount rate (--discount-rate, discount_rate_pct)", discount_rate_pct),
                        ("price change (--rate-change, price_change_pct)", price_change_pct)):
        if not math.isfinite(value) or value <= -100:
            problems.append(f"the {name} is {value} %, which leaves no value after a year "
                            "(it must be a number above -100)")
    if problems:
        raise ConfigError("Cannot value or read the stocks: " + "; ".join(problems) + ". Give "
                          "rates in % per year (e.g. --discount-rate 7) and a nodata value "
                          "that is a land-cover code (e.g. --nodata 255).")


def assess_stocks(pools: str | os.PathLike[str] | pd.DataFrame,
                  landcover: Sequence[str | os.PathLike[str]], *,
                  years: Sequence[int] | None = None, units: gpd.GeoDataFrame | None = None,
                  price_per_tc: float | None = None, discount_rate_pct: float = 0.0,
                  price_change_pct: float = 0.0, pixel_area: PixelAreaMethod = "auto",
                  nodata: float | None = None, progress: bool = False) -> StockStudy:
    """Stocks of land-cover rasters from an InVEST pool table: whole-raster totals per date,
    change and NPV per period, per-unit stocks when ``units`` are given.

    Parameters
    ----------
    pools : path or pandas.DataFrame
        InVEST carbon pools table (``lucode, c_above, c_below, c_soil, c_dead`` in Mg C/ha;
        a path is read with :func:`landcarbon.io.pools.read_pool_table`).
    landcover : sequence of paths
        One land-cover raster per date, all on the same grid.
    years : sequence of int, optional
        Calendar year of each raster (needed for valuation and for more than two rasters).
    units : geopandas.GeoDataFrame, optional
        From :func:`landcarbon.read_units`.
    price_per_tc, discount_rate_pct, price_change_pct : float
        Valuation (InVEST ``price_per_metric_ton_of_c``, ``discount_rate``,
        ``rate_change``); no valuation without a price.
    pixel_area : {"auto", "nominal", "ellipsoidal"}
        ``auto``: the nominal pixel area in a projected CRS (as InVEST), ellipsoidal areas
        in a geographic one.
    nodata : float, optional
        Nodata of rasters that have none.
    progress : bool
        A bar over the pass through the rasters on stderr (a terminal only).

    Returns
    -------
    StockStudy
    """
    import dask

    from landcarbon.accounting.classification import code_counts
    from landcarbon.change.stocks import (
        check_pool_codes,
        stock_change,
        stock_density,
        unit_stock_change,
        unit_stocks,
        whole_stocks,
    )
    from landcarbon.change.transitions import check_aligned
    from landcarbon.checks.rasters import without_nodata
    from landcarbon.io.pools import read_pool_table
    from landcarbon.io.raster import open_landcover, raster_read_errors
    from landcarbon.pipeline.progress import dask_bar

    if not landcover:
        raise ConfigError("Give at least one land-cover raster.")
    _check_settings(price_per_tc, discount_rate_pct, price_change_pct, nodata)
    labels = stock_labels(len(landcover), years)
    if price_per_tc is not None and (not years or len(landcover) < 2):
        raise ConfigError("Valuation (a price) needs two or more rasters and their years "
                          "(--year for each).")
    table = pools if isinstance(pools, pd.DataFrame) else read_pool_table(pools)
    codes = [open_landcover(p, nodata=nodata, nodata_setting="--nodata") for p in landcover]
    for path, c in zip(landcover, codes, strict=True):
        if c.rio.nodata is None:  # as validate's nodata_missing for a run
            log.warning("%s declares no nodata value: %s. Give --nodata <value> (nodata) if "
                        "the product has one (e.g. 255 for many 8-bit products).", path,
                        without_nodata(c.dtype))
    for label, c in zip(labels[1:], codes[1:], strict=True):
        check_aligned(codes[0], c, names=(labels[0], label), fix=(
            "Stocks are compared pixel by pixel: warp the rasters onto the first one's grid "
            "first (gdalwarp with its -t_srs, -tr and -te)."))
    if units is not None:
        units = _checked_units(units, codes[0])
    lazy: dict[str, Any] = {
        "counts": [code_counts(c, lazy=True) for c in codes],
        "whole": [whole_stocks(c, table, pixel_area=pixel_area, lazy=True) for c in codes],
        "units": [] if units is None else [unit_stocks(c, table, units, pixel_area=pixel_area,
                                                       lazy=True) for c in codes],
        "unit_change": [] if units is None else [
            unit_stock_change(a, b, table, units, pixel_area=pixel_area, lazy=True)
            for a, b in pairwise(codes)],
        "change": [stock_change(a, b, table, year_from=years[i] if years else None,
                                year_to=years[i + 1] if years else None,
                                price_per_tc=price_per_tc, discount_rate_pct=discount_rate_pct,
                                price_change_pct=price_change_pct, pixel_area=pixel_area, lazy=True)
                   for i, (a, b) in enumerate(pairwise(codes))]}
    log.info("stocks of %d raster(s)%s", len(codes),
             "" if units is None else f" and {len(units)} units")
    with raster_read_errors(codes[0]), dask_bar("carbon stocks", progress):
        (done,) = dask.compute(lazy, optimize_graph=False)
    for path, counts in zip(landcover, done["counts"], strict=True):
        check_pool_codes(counts, table.index.to_numpy(), what=f"land-cover raster {path}")
    year_of = dict(zip(labels, years, strict=True)) if years else {}
    totals = pd.concat([w.reset_index(drop=True) for w in done["whole"]], ignore_index=True)
    totals.insert(0, "date", labels)
    totals.insert(1, "year", [year_of.get(lb) for lb in labels])
    changes = pd.DataFrame([{"date_from": a, "date_to": b, **dict(tot)} for (a, b), tot in
                            zip(pairwise(labels), done["change"], strict=True)],
                           columns=["date_from", "date_to", "stock_from_tc", "stock_to_tc",
                                    "stock_change_tc", "valuation_constant", "npv"])
    study = StockStudy(labels=labels, years=list(years) if years else None,
                       landcover=[str(p) for p in landcover], pools=table, totals=totals,
                       changes=changes.astype({c: float for c in changes.columns[2:]}),
                       densities={lb: stock_density(c, table, check=False)
                                  for lb, c in zip(labels, codes, strict=True)},
                       crs=str(codes[0].rio.crs))
    if price_per_tc is not None:
        study.valuation = {"price_per_tc": price_per_tc, "discount_rate_pct": discount_rate_pct,
                           "price_change_pct": price_change_pct}
    if units is not None:
        _unit_tables(study, units, done["units"], done["unit_change"])
    return study


def _checked_units(units: gpd.GeoDataFrame, codes: Any) -> gpd.GeoDataFrame:
    """``units`` checked as a run's gate checks them (polygons only, a plausible CRS, empty
    and invalid geometries, units off the raster: errors stop here, with every problem
    named) and repaired as a run repairs them."""
    from shapely.geometry import box

    from landcarbon.checks.footprint import coverage_problems
    from landcarbon.checks.units import crs_problems, geometry_type_problems, repair_geometries
    from landcarbon.pipeline.validate import stop_on_errors

    where = "--units"
    problems = geometry_type_problems(units, where) + crs_problems(units, where)
    if not problems:
        units, repairs = repair_geometries(units, where)
        problems = repairs + coverage_problems(units, box(*codes.rio.bounds()),
                                               codes.rio.crs, where)
    stop_on_errors(problems, hint="fix the units file given with --units")
    return units


def _unit_tables(study: StockStudy, units: gpd.GeoDataFrame, tables: list[pd.DataFrame],
                 changes_by_period: list[pd.DataFrame]) -> None:
    """Per-unit stocks (long, one row per unit and date) and changes of ``study`` (on the
    pixels valid at both dates: :func:`~landcarbon.change.stocks.unit_stock_change`)."""
    names = units.set_index("unit_id")["unit_name"]
    long = []
    for label, t in zip(study.labels, tables, strict=True):
        t = t.reset_index()
        t.insert(1, "unit_name", names.reindex(t["unit_id"]).to_numpy())
        t.insert(0, "date", label)
        long.append(t)
    study.unit_stocks = pd.concat(long, ignore_index=True)
    changes = []
    for r, change in zip(study.changes.itertuples(), changes_by_period, strict=True):
        a = tables[study.labels.index(r.date_from)]["stock_tc"]
        b = tables[study.labels.index(r.date_to)]["stock_tc"].reindex(a.index)
        ch = pd.DataFrame({"date_from": r.date_from, "date_to": r.date_to,
                           "unit_id": a.index, "unit_name": names.reindex(a.index).to_numpy(),
                           "stock_from_tc": a.to_numpy(), "stock_to_tc": b.to_numpy()})
        ch["stock_change_tc"] = change["stock_change_tc"].reindex(a.index).to_numpy()
        ch["npv"] = ch["stock_change_tc"] * r.valuation_constant  # NaN without valuation
        changes.append(ch)
    study.unit_changes = (pd.concat(changes, ignore_index=True) if changes else None)


def run_stocks(pools: str | os.PathLike[str], landcover: Sequence[str | os.PathLike[str]],
               out: str | os.PathLike[str], *, overwrite: bool = False, rasters: bool = True,
               progress: bool = False, **kwargs: Any) -> tuple[StockStudy, Path, dict[str, str]]:
    """:func:`assess_stocks` and write its outputs into ``out`` (atomically: a failed run
    leaves nothing).

    Parameters
    ----------
    pools, landcover, **kwargs
        As :func:`assess_stocks`.
    out : path
        Output folder; an existing non-empty folder is replaced only with ``overwrite``.
    rasters : bool
        Write the stock, change and NPV rasters (``c_storage_<date>.tif``...).

    Returns
    -------
    tuple
        The :class:`StockStudy`, the output folder and ``{role: file name}``.
    """
    from landcarbon.io.outputs import check_output_target, staged_output_dir
    from landcarbon.pipeline.stock_outputs import write_stock_outputs

    inputs = [pools, *landcover] if isinstance(pools, (str, os.PathLike)) else list(landcover)
    check_output_target(out, overwrite=overwrite, inputs=inputs)
    study = assess_stocks(pools, landcover, progress=progress, **kwargs)
    with staged_output_dir(out, overwrite=overwrite, inputs=inputs) as stage:
        files = write_stock_outputs(study, stage, pools_path=str(pools), rasters=rasters,
                                    progress=progress)
    folder = Path(out).absolute()
    log.info("stocks written to %s", folder)
    return study, folder, files

