"""Multi-date orchestration: ``[change]`` config -> per-date assessments, transitions,
stocks, time series, alerts and the Markov projection.

:func:`assess_change` computes everything in memory (a :class:`ChangeResult`);
:func:`run_change` also writes it into one folder atomically. Each date is assessed by
:func:`landcarbon.pipeline.assess` with the date's land cover (and energy table) replacing
those of ``[landcover]`` / ``[construction]``. Dates on one grid are measured in one pass
(:mod:`landcarbon.pipeline._change_pass`: every date's code counts and class areas and every
period's transitions, each block of every date read once); otherwise each date is assessed
by its own pass, later dates are checked against (or resampled onto) the first date's grid
and the transitions are counted after. The ``[change.stocks]`` tables are computed in one
more pass (one ``dask.compute`` on unoptimised graphs, with the transitions when those were
not counted in the first).
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from itertools import pairwise
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from landcarbon.accounting.conversions import to_output_unit
from landcarbon.config.run import RunConfig
from landcarbon.engine.areas import PixelAreaMethod
from landcarbon.engine.block_cells import COVERAGE
from landcarbon.exceptions import ConfigError
from landcarbon.pipeline._assess import (
    Assessment,
    PreparedUnits,
    assemble_units,
    assess,
    prepare_units,
)
from landcarbon.pipeline._change_pass import dates_codes, dates_in_one_pass
from landcarbon.pipeline._change_risk import add_dynamic_risk
from landcarbon.pipeline._compute import compute_context
from landcarbon.pipeline.progress import dask_bar, step, steps_of
from landcarbon.pipeline.records import ChangeResult
from landcarbon.pipeline.resolve import display_units, risk_bands, space_type_rule

__all__ = ["assess_change", "date_config", "freeze_thresholds", "rebalance", "rebalance_tc",
           "run_change"]

log = logging.getLogger(__name__)


def date_config(config: RunConfig, year: int) -> RunConfig:
    """The single-date config of ``year``: its land cover (and energy table) in place of
    ``[landcover] path`` (and ``[construction] energy_table``)."""
    ch = config.change
    if ch is None or config.landcover is None:
        raise ConfigError("A multi-date run needs [landcover] (legend and reading options) "
                          "and a [change] section with [[change.dates]].")
    date = next((d for d in ch.dates if d.year == year), None)
    if date is None:
        raise ConfigError(f"No date {year} in [[change.dates]] "
                          f"({', '.join(str(d.year) for d in ch.dates)}).")
    update: dict[str, Any] = {"landcover": config.landcover.model_copy(
        update={"path": date.landcover}), "change": None,
        "thresholds": config.thresholds.model_copy(update={"year": year})}
    if date.energy_table:
        update["construction"] = config.construction.model_copy(
            update={"energy_table": date.energy_table})
    if date.statistics:
        from landcarbon.config.zoning import StatisticsConfig

        stats = config.statistics or StatisticsConfig.model_validate(
            {"path": date.statistics, "population_column": None})
        update["statistics"] = stats.model_copy(update={"path": date.statistics})
    return config.model_copy(update=update)


def _construction_kwargs(base: Assessment, areas: pd.DataFrame) -> dict[str, Any]:
    """Construction emission of ``areas`` carried over from ``base``: its per-ha intensity
    (constant, or per unit for the energy method) times the construction area of ``areas``;
    units without construction land in ``base`` keep their base emission."""
    con = base.construction
    if con.get("method") == "intensity":
        return {"construction_intensity_tc_per_ha": float(con["intensity_tc_per_ha"])}
    if con.get("method") != "energy":
        return {}
    indirect = base.coefficients.indirect_classes()
    ha = areas[areas["land_class"].isin(indirect)].groupby("unit_id")["area_ha"].sum()
    ids = base.table_tc["unit_id"]
    intensity = con["intensity_tc_per_ha_by_unit"].reindex(ids)
    base_tc = base.table_tc.set_index("unit_id")["construction_emission_tc"]
    tc = (intensity * ha.reindex(ids).fillna(0.0).to_numpy()).to_numpy()
    tc = np.where(np.isfinite(tc), tc, base_tc.reindex(ids).fillna(0.0).to_numpy())
    return {"construction_tc": pd.Series(tc, index=ids.to_numpy())}


def rebalance(base: Assessment, areas: pd.DataFrame, year: int | None = None
              ) -> gpd.GeoDataFrame:
    """:func:`rebalance_tc` in the output unit (``net_tco2``... with ``output_unit = "t
    CO2"``): the units table a notebook user compares with ``base.units``."""
    return to_output_unit(rebalance_tc(base, areas, year), base.config.coefficients.output_unit)


def rebalance_tc(base: Assessment, areas: pd.DataFrame, year: int | None = None
                 ) -> gpd.GeoDataFrame:
    """Assess other class areas of the same units (a scenario, a projection) with the
    settings and the resolved thresholds of ``base``; the canonical t C units table.

    Construction emissions follow :func:`_construction_kwargs`; thresholds are the base's
    limits (a percentile or carrying-capacity limit is not re-estimated on the scenario);
    pathway limits are those of ``year`` when given (a 2030 projection is judged against
    the 2030 limit).
    """
    from landcarbon.accounting.balance import unit_balance
    from landcarbon.accounting.spaces import unit_space_types
    from landcarbon.accounting.thresholds import explicit_limits
    from landcarbon.pipeline._thresholds import risk_table, threshold_set_for_year

    cfg = base.config
    units = base.table_tc[["unit_id", "unit_name", "geometry"]]
    rule = space_type_rule(cfg)

    def balance_of(a: pd.DataFrame) -> pd.DataFrame:
        b = unit_balance(a, base.coefficients, unit_ids=units["unit_id"],
                         **_construction_kwargs(base, a))
        b["space_type"] = unit_space_types(b, rule)
        return b

    balance = balance_of(areas)
    ts = base.threshold_set
    if ts is None:  # an Assessment built by hand: its plain numbers
        ts = explicit_limits(base.thresholds)
    elif ts.method == "pathway" and year is not None:
        ts = threshold_set_for_year(cfg, year)
    risk = risk_table(balance, ts, risk_bands(cfg),
                      cropland_tc_per_ha=float(base.coefficients.tc_per_ha.get("cropland", 0.0)),
                      display=display_units(cfg))
    return assemble_units(units, balance.join(risk))


def _flux_density(a: Assessment) -> pd.Series:
    """Flux density per land class for flux effects; construction-type classes get the
    date's construction intensity (whole-area average for the energy method)."""
    dens = a.coefficients.tc_per_ha.astype(float).copy()
    con = a.construction
    if con.get("method") == "intensity":
        value = float(con["intensity_tc_per_ha"])
    elif con.get("method") == "energy":
        b = a.table_tc
        ha = sum(float(b[f"area_{lc}_ha"].sum()) for lc in a.coefficients.indirect_classes()
                 if f"area_{lc}_ha" in b)
        total = float(b["construction_emission_tc"].sum())
        value = total / ha if ha > 0 else np.nan
    else:
        value = 0.0
    for lc in a.coefficients.indirect_classes():
        dens[lc] = value
    return dens


def _summaries(trans: pd.DataFrame, whole: pd.DataFrame, y0: int, y1: int
               ) -> tuple[list[pd.DataFrame], list[dict[str, Any]], list[pd.DataFrame]]:
    from landcarbon.change.summaries import (
        change_summary,
        comprehensive_dynamic_degree,
        transfer_matrix,
        unit_change_summaries,
    )

    years = y1 - y0
    summaries, degrees, transfers = [], [], []
    for by in ("land_class", "space_type"):
        m = transfer_matrix(whole, by)
        long = m.stack().rename("area_ha").reset_index()
        long.columns = ["from", "to", "area_ha"]
        transfers.append(long.assign(year_from=y0, year_to=y1, by=by))
        summaries.append(change_summary(m, years).reset_index().assign(
            year_from=y0, year_to=y1, by=by, unit_id=""))
        if by == "land_class":
            degrees.append({"year_from": y0, "year_to": y1, "unit_id": "",
                            "comprehensive_pct_per_yr": comprehensive_dynamic_degree(m, years)})
        if len(trans):  # every unit at once (a pivot table per unit took minutes)
            per_unit, degree = unit_change_summaries(trans, by, years)
            summaries.append(per_unit.assign(year_from=y0, year_to=y1, by=by))
            if by == "land_class":
                degrees += [{"year_from": y0, "year_to": y1, "unit_id": uid,
                             "comprehensive_pct_per_yr": float(d)}
                            for uid, d in degree.items()]
    return summaries, degrees, transfers


def freeze_thresholds(a: Assessment, ref: Assessment) -> Assessment:
    """``a`` with its risk levels re-assessed against the limits of ``ref`` (so that risk
    levels of several dates are compared with one fixed limit; a percentile or carrying-
    capacity limit otherwise moves with each date's data). Pathway limits depend on the
    year only and are kept."""
    from landcarbon.pipeline._thresholds import risk_table

    ts = ref.threshold_set
    if ts is None or ts.method == "pathway":
        return a
    ts = replace(ts, base_year=ts.base_year if ts.base_year is not None else _year_of(ref))
    cfg = a.config
    table = a.table_tc.set_index("unit_id")
    risk = risk_table(table, ts, risk_bands(cfg),
                      cropland_tc_per_ha=float(a.coefficients.tc_per_ha.get("cropland", 0.0)),
                      display=display_units(cfg))
    units = a.table_tc.copy()
    _check_frozen_limits(units, ts.limits, ref_year=ts.base_year, year=_year_of(a))
    for col in risk.columns:
        units[col] = risk[col].reindex(units["unit_id"]).to_numpy()
    a.table_tc = units
    a.thresholds = dict(ts.limits)
    a.threshold_set = ts
    return a


def _check_frozen_limits(units: pd.DataFrame, limits: dict[str, float], *,
                         ref_year: int | None, year: int | None) -> None:
    """Refuse limits frozen at a date that had no unit of a space type (a percentile of no
    value) when a later date has units of that type: they would get no threshold, and a
    risk level of ``no_data`` though their data are there."""
    import math

    lost = [st for st in sorted(set(units["space_type"].astype(str)))
            if st in limits and not math.isfinite(float(limits[st]))]
    if not lost:
        return
    names = ", ".join(f"{st} ({int((units['space_type'] == st).sum())} unit(s), e.g. "
                      f"{units.loc[units['space_type'] == st, 'unit_id'].iloc[0]})"
                      for st in lost)
    raise ConfigError(
        f"[change] threshold_year = {ref_year}: the thresholds are frozen at {ref_year}, but "
        f"{ref_year} has no unit of the space type(s) whose threshold is a percentile of the "
        f"units, so there is no such threshold; in {year} there are units of them: {names}. "
        f"Give [thresholds] {lost[0]} a number (t C/ha/yr), or set [change] threshold_year "
        "to a date that has units of every space type.")


def _year_of(a: Assessment) -> int | None:
    """The date (year) of a change-run assessment, if it has one."""
    return a.config.thresholds.year


def assess_change(config: RunConfig, *, progress: bool = False) -> ChangeResult:
    """Assess every date of ``config.change`` and everything between them (nothing written).

    Returns
    -------
    ChangeResult
        ``.dates`` (year -> :class:`Assessment`), transfer matrices, change summaries,
        dynamic degrees, flux effects, stocks (with ``[change.stocks]``), time series, alerts
        and the Markov projection; ``.totals()`` is a dict.

    Raises
    ------
    ConfigError
        Without ``[change]`` or with fewer than two dates.
    InputError
        When dates are on different grids and ``resample`` is ``"error"``.
    """
    ch = config.change
    if ch is None or len(ch.dates) < 2:
        raise ConfigError("`landcarbon change` needs a [change] section with at least two "
                          "[[change.dates]] (year and landcover of each date).")
    timings: dict[str, float] = {}
    years = [d.year for d in ch.dates]
    from landcarbon.io.vector import reading_once
    from landcarbon.pipeline.validate import gate

    with reading_once():  # the gate and the run read the units file once
        with step("check inputs", timings):
            gate(config)  # every date, the pool table and the scenarios at once
        # the units read once (overlaps and geodesic areas measured beside the pass) for
        # every date, whichever way the dates are measured
        prepared = prepare_units(config) if config.units is not None else None
    # the units' coverage of the grid is computed by the first date's pass and reused by the
    # other dates, the transitions and the Markov projection
    with COVERAGE.reusing():
        return _assess_change(config, years, timings, progress, prepared)


def _assess_change(config: RunConfig, years: list[int], timings: dict[str, float],
                   progress: bool, prepared: PreparedUnits | None
                   ) -> ChangeResult:
    import dask

    from landcarbon.change.monitoring import alerts, timeseries
    from landcarbon.change.summaries import flux_effect
    from landcarbon.change.transitions import align_to
    from landcarbon.pipeline._change_stocks import stock_pass, stock_tables

    ch = config.change
    assert ch is not None
    periods = list(pairwise(years)) + (
        [(years[0], years[-1])] if len(years) > 2 else [])
    # every date's pass and every period's transitions in one pass over the dates' blocks;
    # date by date (and the transitions after) where that does not apply
    # every date's pass and every period's transitions in one pass over the dates' blocks;
    # date by date (and the transitions after) where that does not apply
    with step("assess dates", timings):
        fused = dates_in_one_pass(config, {y: date_config(config, y) for y in years}, periods,
                                  prepared, progress=progress,
                                  keep_coverage=bool(ch.stocks) or ch.markov is not None)
        if fused is not None:
            dates, counted = fused
        else:
            configs = {y: date_config(config, y) for y in years}
            codes = dates_codes(configs, None if prepared is None else prepared.units,
                                ch.resample)
            dates = {}
            for y in years:
                with steps_of(str(y)):
                    dates[y] = assess(configs[y], progress=progress, check_inputs=False,
                                      prepared=prepared, codes=codes[y])
        if ch.threshold_year is not None:
            ref = dates[ch.threshold_year]
            dates = {y: a if y == ch.threshold_year else freeze_thresholds(a, ref)
                     for y, a in dates.items()}
    first = dates[years[0]]
    assert first.categories is not None
    cats = {years[0]: first.categories}
    for y in years[1:]:
        c = dates[y].categories
        assert c is not None
        cats[y] = align_to(c, first.categories, resample=ch.resample,
                           names=(str(years[0]), str(y)))
    units = first.units[["unit_id", "unit_name", "geometry"]]
    pixel_area = config.landcover.pixel_area if config.landcover else "auto"
    with step("transitions", timings):
        lazy: dict[str, Any] = {"periods": counted if fused is not None else
                                _lazy_transitions(dates, cats, periods, units, pixel_area)}
        stocks = stock_pass(config, dates, units, pixel_area) if ch.stocks else None
        if stocks is not None:
            lazy["stocks"] = stocks.pop("lazy")
        # one pass over the rasters of all dates (dask chunks, unoptimised graphs: shared
        # keys); the step includes the stock computations read in this pass
        with dask_bar("transitions", progress):
            computed = dask.compute(lazy)[0]
        transitions = computed["periods"]["transitions"]
        whole = computed["periods"]["whole"]
        summaries: list[pd.DataFrame] = []
        degrees: list[dict[str, Any]] = []
        transfers: list[pd.DataFrame] = []
        effects: list[pd.DataFrame] = []
        for y0, y1 in periods:
            part, d, t = _summaries(transitions[(y0, y1)], whole[(y0, y1)], y0, y1)
            summaries += part
            degrees += d
            transfers += t
            m = t[0]
            matrix = m.pivot_table(index="from", columns="to", values="area_ha",
                                   aggfunc="sum")
            effects.append(flux_effect(matrix, _flux_density(dates[y1])).assign(
                year_from=y0, year_to=y1))
        front = ["year_from", "year_to"]
        summary = pd.concat(summaries, ignore_index=True)
        summary = summary[[*front, "by", "unit_id", "class",
                           *[c for c in summary.columns if c not in (*front, "by", "unit_id",
                                                                     "class")]]]
        transfer = pd.concat(transfers, ignore_index=True)[[*front, "by", "from", "to",
                                                            "area_ha"]]
        effect = pd.concat(effects, ignore_index=True)
        effect = effect[[*front, *[c for c in effect.columns if c not in front]]]
    s = first.suffix
    consecutive = {p: transitions[p] for p in pairwise(years)}
    with step("dynamic risk, alerts", timings):
        dynamic = add_dynamic_risk(dates, transitions,
                                   sink_loss_share=ch.monitoring.sink_loss_share,
                                   conversion_min_ha=ch.monitoring.conversion_min_ha)
        series = timeseries({y: a.table_tc for y, a in dates.items()})
        # alerts are messages: drawn from the time series in the output unit (the edge)
        alert_table = alerts(to_output_unit(series, config.coefficients.output_unit),
                             transitions=consecutive,
                             sink_loss_share=ch.monitoring.sink_loss_share,
                             conversion_min_ha=ch.monitoring.conversion_min_ha, suffix=s,
                             display=display_units(config))
    result = ChangeResult(config=config, dates=dates, categories=cats, transitions=transitions,
                          whole_transitions=whole, transfer=transfer, summary=summary,
                          dynamic_degree=pd.DataFrame(degrees), flux_effect=effect,
                          timeseries_tc=series, alerts=alert_table, timings=timings,
                          dynamic_risk=dynamic)
    if stocks is not None:
        with step("stocks", timings):
            stock_tables(result, stocks, computed["stocks"])
    if ch.markov is not None:
        with step("markov", timings):
            _markov(result, units, pixel_area)
    return result


def _lazy_transitions(dates: dict[int, Assessment], cats: dict[int, Any],
                      periods: list[tuple[int, int]], units: gpd.GeoDataFrame,
                      pixel_area: PixelAreaMethod) -> Any:
    """The per-unit and whole-area transition tables of every period, lazily: in one pass
    over the dates' blocks (:func:`landcarbon.change.transition_pass.period_transitions`;
    byte codes are read as they are, with the category of each byte), or period by period
    where that pass does not apply."""
    from landcarbon.accounting.classification import byte_category_table
    from landcarbon.change.transition_pass import period_transitions
    from landcarbon.change.transitions import category_transitions

    codes = {}
    for y, a in dates.items():
        lc = a.config.landcover
        if (a.codes is not None and a.codes.dtype == np.uint8 and lc is not None
                and cats[y] is a.categories):  # not resampled
            codes[y] = (a.codes, byte_category_table(a.legend, lc.exclude_codes,
                                                     a.codes.rio.nodata))
    fused = period_transitions(cats, periods, units, codes=codes, pixel_area=pixel_area)
    if fused is not None:
        return fused
    return {"transitions": {p: category_transitions(cats[p[0]], cats[p[1]], units,
                                                    pixel_area=pixel_area, lazy=True)
                            for p in periods},
            "whole": {p: category_transitions(cats[p[0]], cats[p[1]], pixel_area=pixel_area,
                                              lazy=True) for p in periods}}


def _markov(result: ChangeResult, units: gpd.GeoDataFrame,
            pixel_area: PixelAreaMethod) -> None:
    from landcarbon.change.scenarios import markov_projection
    from landcarbon.change.transitions import category_transitions

    change = result.config.change
    assert change is not None and change.markov is not None  # called for [change.markov] only
    mk = change.markov
    y0 = mk.from_year or result.years[0]
    y1 = mk.to_year or result.years[-1]
    if y1 <= y0:
        raise ConfigError(f"[change.markov] needs from_year < to_year, got {y0} -> {y1}.")
    trans = result.transitions.get((y0, y1))
    if trans is None:
        trans = category_transitions(result.categories[y0], result.categories[y1], units,
                                     pixel_area=pixel_area)
    mult = {(m.from_land_class, m.to_land_class): m.factor for m in mk.multipliers}
    proj = markov_projection(trans, years_observed=y1 - y0, year_now=y1,
                             target_years=mk.target_years, multipliers=mult)
    result.markov = proj
    base = result.dates[y1]
    tables = []
    for year in mk.target_years:
        areas = proj[proj["year"] == year].drop(columns="year")
        tables.append(pd.DataFrame(rebalance(base, areas, year).drop(columns="geometry"))
                      .assign(year=year))
    mu = pd.concat(tables, ignore_index=True)
    result.markov_units = mu[["year", *[c for c in mu.columns if c != "year"]]]


def run_change(config: RunConfig, out_dir: str | Path, *, overwrite: bool = False,
               progress: bool = False) -> tuple[ChangeResult, Path, dict[str, str]]:
    """Assess all dates and write the change outputs into ``out_dir`` (atomically).

    Returns
    -------
    (ChangeResult, Path, dict)
        The result, the absolute output folder and ``{role: file name}``.
    """
    from landcarbon.io.fingerprint import protected_inputs
    from landcarbon.io.outputs import check_output_target, staged_output_dir
    from landcarbon.pipeline.change_outputs import write_change_outputs

    target = Path(out_dir)
    inputs = protected_inputs(config)
    check_output_target(target, overwrite=overwrite, inputs=inputs)
    started = time.perf_counter()
    with (staged_output_dir(target, overwrite=overwrite, inputs=inputs, kind="change") as stage,
          compute_context(config.compute)):
        result = assess_change(config, progress=progress)
        with step("write outputs", result.timings):
            files = write_change_outputs(result, stage,
                                         elapsed_s=time.perf_counter() - started)
    return result, target.absolute(), files
