"""The result records of the pipeline: what :func:`~landcarbon.pipeline.assess`,
:func:`~landcarbon.pipeline.run`, :func:`~landcarbon.pipeline.assess_change` and
:func:`~landcarbon.pipeline.assess_scenarios` return, before (or after) anything is written.
Writers and publishers read these records; the records import no other pipeline module."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import xarray as xr

from landcarbon.accounting.coefficients import CoefficientSet
from landcarbon.accounting.conversions import OutputUnit, output_suffix, to_output_unit
from landcarbon.accounting.legends import SPACE_TYPES, Legend
from landcarbon.accounting.risk import risk_level_counts
from landcarbon.accounting.thresholds import ThresholdSet
from landcarbon.config.run import RunConfig
from landcarbon.exceptions import InputError

__all__ = ["Assessment", "ChangeResult", "Period", "RunResult", "ScenarioResult", "flux_raster"]

Period = tuple[int, int]


def flux_raster(categories: xr.DataArray, coefficients: CoefficientSet,
                construction: Mapping[str, Any], output_unit: OutputUnit,
                units: gpd.GeoDataFrame | None = None) -> xr.DataArray:
    """Per-pixel net flux density in ``output_unit`` per ha per year (lazy if chunked).

    ``construction`` is an assessment's construction record: ``method`` ``intensity``
    (``intensity_tc_per_ha``), ``energy`` (``intensity_tc_per_ha_by_unit``, burnt into the
    grid by unit, needs ``units``) or ``none``.
    """
    from landcarbon.accounting.conversions import output_factor, raster_density_units
    from landcarbon.accounting.flux import flux_density, unit_values_raster

    intensity: float | xr.DataArray | None = None
    if construction.get("method") == "intensity":
        intensity = float(construction["intensity_tc_per_ha"])
    elif construction.get("method") == "energy":
        assert units is not None
        intensity = unit_values_raster(units, construction["intensity_tc_per_ha_by_unit"],
                                       categories)
    flux = flux_density(categories, coefficients, intensity)
    factor = output_factor(output_unit)
    if factor != 1.0:
        flux = (flux * np.float32(factor)).astype(np.float32).rio.write_nodata(np.nan)
        flux.attrs["units"] = raster_density_units(output_unit)
    return flux


@dataclass
class Assessment:
    """Everything a run computes, before anything is written.

    Attributes
    ----------
    config : RunConfig
    legend : Legend
    coefficients : CoefficientSet
    table_tc : geopandas.GeoDataFrame
        The assessed units table in **t C** with fixed column names (``net_tc``,
        ``net_tc_per_ha``, ``threshold_tc_per_ha``...; see the README's output reference): the
        canonical table every step computes on and the one to edit.
    units : geopandas.GeoDataFrame
        (property) ``table_tc`` in the output unit (``[coefficients] output_unit``:
        ``net_tco2``... for t CO2), as written to ``units.gpkg``: a fresh converted copy made
        by :func:`landcarbon.accounting.conversions.to_output_unit` at each access (edits to
        it do not reach ``table_tc``).
    class_areas : pandas.DataFrame
        Long table unit_id, land_class, space_type, area_ha.
    thresholds : dict
        Resolved threshold per space type, t C/ha/yr.
    threshold_set : ThresholdSet
        The same limits with their method, rule and source per space type.
    codes, categories : xarray.DataArray or None
        Raw codes and category raster (raster mode; lazy when chunked).
    code_counts : pandas.Series or None
        Pixels per raw code.
    construction : dict
        Which construction method was used and its per-unit figures.
    zoning : dict
        Layers and tables of the zoning analyses (:func:`landcarbon.pipeline.apply_zoning`).
    cropland : dict
        The cropland sign used and the run's net with cropland as a source and (with crop
        statistics) as the crop-yield sink.
    planning : dict
        With ``[planning_zones]``: the zones file, field, priority and planned area per space
        type (ha); ``class_areas`` then carry the planned space types.
    repairs : list of dict
        Repairs applied to the inputs (``geometry_invalid``: polygons fixed by
        ``shapely.make_valid``; ``units_overlap``: overlaps accepted by ``[units]
        allow_overlaps``, with the hectares counted twice), as written to ``run.json``.
    survey : dict
        Parcel mode with a survey area field (三调 TBMJ): landcarbon's ellipsoidal areas
        against the survey's (totals, units and parcels over ``[parcels] area_tolerance``);
        ``totals()["survey_areas"]`` and ``run.json``.
    """

    config: RunConfig
    legend: Legend
    coefficients: CoefficientSet
    table_tc: gpd.GeoDataFrame
    class_areas: pd.DataFrame
    thresholds: dict[str, float]
    threshold_set: ThresholdSet | None = None
    codes: xr.DataArray | None = None
    categories: xr.DataArray | None = None
    code_counts: pd.Series | None = None
    construction: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    zoning: dict[str, Any] = field(default_factory=dict)
    cropland: dict[str, Any] = field(default_factory=dict)
    planning: dict[str, Any] = field(default_factory=dict)
    repairs: list[dict[str, Any]] = field(default_factory=list)
    survey: dict[str, Any] = field(default_factory=dict)

    @property
    def suffix(self) -> str:
        """``tc`` or ``tco2``: the suffix of the flux columns of :attr:`units`."""
        return output_suffix(self.config.coefficients.output_unit)

    @property
    def units(self) -> gpd.GeoDataFrame:
        """The units table in the output unit (see the class docstring): ``table_tc``
        converted at the edge by :func:`landcarbon.accounting.conversions.to_output_unit`."""
        return to_output_unit(self.table_tc, self.config.coefficients.output_unit)

    def __repr__(self) -> str:
        """One line: units, area, net / emission / sequestration, risk levels, source."""
        t, s = self.totals(), self.suffix
        unit = self.config.coefficients.output_unit
        return (f"Assessment({t['units']} units, {t['covered_ha']:,.1f} ha; net "
                f"{t[f'net_{s}']:,.1f} {unit}/yr (emission {t[f'emission_{s}']:,.1f}, "
                f"sequestration {t[f'sequestration_{s}']:,.1f}); risk levels "
                f"{t['risk_levels']}; from {self._source()})")

    def _source(self) -> str:
        c = self.config
        src = c.landcover.path if c.landcover is not None else (
            c.parcels.path if c.parcels is not None else "")
        return str(src)

    def _repr_html_(self) -> str:
        """A short HTML summary for notebooks: totals and the units per space type."""
        from html import escape

        t, s = self.totals(), self.suffix
        rows = "".join(f"<tr><td>{escape(st)}</td><td>{v['units']}</td>"
                       f"<td>{v['covered_ha']:,.1f}</td><td>{v[f'net_{s}']:,.1f}</td></tr>"
                       for st, v in t["by_space_type"].items())
        return (f"<b>Assessment</b>: {t['units']} units, {t['covered_ha']:,.1f} ha, net "
                f"{t[f'net_{s}']:,.1f} {escape(self.config.coefficients.output_unit)}/yr; "
                f"risk levels {escape(str(t['risk_levels']))}<br><small>from "
                f"{escape(self._source())}; tables: <code>.units</code>, "
                f"<code>.class_areas</code></small><table><tr><th>space type</th>"
                f"<th>units</th><th>ha</th><th>net</th></tr>{rows}</table>")

    def totals(self) -> dict[str, Any]:
        """Totals for the whole area and per space type (output unit)."""
        s = self.suffix
        t = self.units
        out: dict[str, Any] = {
            "units": len(t),
            "covered_ha": float(t["covered_ha"].sum()),
            f"emission_{s}": float(t[f"emission_{s}"].sum()),
            f"sequestration_{s}": float(t[f"sequestration_{s}"].sum()),
            f"net_{s}": float(t[f"net_{s}"].sum()),
            "risk_levels": risk_level_counts(t["risk_level"]),
            "by_space_type": {},
        }
        if self.planning:
            out["planning_zones"] = self.planning
        if self.survey:
            out["survey_areas"] = self.survey
        for st in (*SPACE_TYPES, "unclassified"):
            sub = t[t["space_type"] == st]
            if len(sub):
                out["by_space_type"][st] = {
                    "units": len(sub), "covered_ha": float(sub["covered_ha"].sum()),
                    f"net_{s}": float(sub[f"net_{s}"].sum()),
                    "threshold_tc_per_ha": self.thresholds.get(st),
                }
        return out

    def flux_raster(self) -> xr.DataArray:
        """Per-pixel net flux density in the output unit per ha per year (lazy if chunked)."""
        if self.categories is None:
            raise InputError("parcel-mode runs have no rasters")
        return flux_raster(self.categories, self.coefficients, self.construction,
                           self.config.coefficients.output_unit, self.table_tc)


@dataclass
class RunResult:
    """What :func:`run` produced: the assessment and the output files."""

    assessment: Assessment | None
    out_dir: Path
    files: dict[str, str]
    #: True when ``out_dir`` already held this very run (same inputs, settings and version)
    #: and nothing was recomputed; ``assessment`` is then None.
    up_to_date: bool = False


@dataclass
class ChangeResult:
    """Everything a multi-date run computes.

    Attributes
    ----------
    dates : dict
        Year -> :class:`Assessment` of that date.
    categories : dict
        Year -> category raster on the first date's grid.
    transitions : dict
        ``(year_from, year_to)`` -> per-unit long transition table (ha).
    whole_transitions : dict
        ``(year_from, year_to)`` -> whole-area long transition table (ha).
    transfer : pandas.DataFrame
        Whole-area transfer matrices, long: ``year_from, year_to, by, from, to, area_ha``.
    summary : pandas.DataFrame
        Pontius components and single dynamic degree per period, ``by``, unit ("" = whole
        area) and class.
    dynamic_degree : pandas.DataFrame
        Comprehensive dynamic degree per period and unit ("" = whole area), % per year.
    flux_effect : pandas.DataFrame
        Flux effect of each land-class transition (whole area), t C/yr.
    stocks, stock_changes, stock_totals, stock_rasters
        Per-unit stocks per date, per-unit change per period, InVEST-compatible totals per
        period (``extent``: the whole rasters, not only the units; ``units``: the sum of the
        units with its own ``extent``), stock density rasters per date (only with
        ``[change.stocks]``).
    timeseries_tc : pandas.DataFrame
        Long per-unit time series of the dates' canonical tables (t C, fixed names);
        ``timeseries`` (property) is its output-unit view (``net_tco2``...), as written.
    alerts : pandas.DataFrame
        Early-warning alerts, drawn from the output-unit time series (values and messages
        in the output unit).
    dynamic_risk : dict
        Per period ``"<y0>-<y1>"``: units entering risk, units evaluated, units per flag
        (the dynamic-risk columns themselves are in each later date's units table).
    markov, markov_units : pandas.DataFrame or None
        Projected category areas and projected assessed units (``year`` column).
    """

    config: RunConfig
    dates: dict[int, Assessment]
    categories: dict[int, xr.DataArray]
    transitions: dict[Period, pd.DataFrame]
    whole_transitions: dict[Period, pd.DataFrame]
    transfer: pd.DataFrame
    summary: pd.DataFrame
    dynamic_degree: pd.DataFrame
    flux_effect: pd.DataFrame
    timeseries_tc: pd.DataFrame
    alerts: pd.DataFrame
    stocks: pd.DataFrame | None = None
    stock_changes: pd.DataFrame | None = None
    stock_totals: list[dict[str, Any]] = field(default_factory=list)
    stock_rasters: dict[int, xr.DataArray] = field(default_factory=dict)
    markov: pd.DataFrame | None = None
    markov_units: pd.DataFrame | None = None
    dynamic_risk: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def years(self) -> list[int]:
        return sorted(self.dates)

    @property
    def suffix(self) -> str:
        """``tc`` or ``tco2``: the suffix of the flux columns of the output-unit views."""
        return self.dates[self.years[-1]].suffix

    @property
    def timeseries(self) -> pd.DataFrame:
        """``timeseries_tc`` in the output unit (a fresh converted copy)."""
        return to_output_unit(self.timeseries_tc, self.config.coefficients.output_unit)

    def periods(self) -> list[Period]:
        """Consecutive periods, plus first -> last when there are more than two dates."""
        ys = self.years
        out = list(pairwise(ys))
        if len(ys) > 2:
            out.append((ys[0], ys[-1]))
        return out

    def _sources(self) -> dict[int, str]:
        ch = self.config.change
        return {d.year: _names(d.landcover) for d in (ch.dates if ch is not None else [])}

    def _whole_stock(self) -> dict[str, Any] | None:
        """The stock totals of the first -> last period (whole rasters), if computed."""
        ys = self.years
        return next((t for t in self.stock_totals
                     if (t["year_from"], t["year_to"]) == (ys[0], ys[-1])), None)

    def __repr__(self) -> str:
        """One line: dates, units, net per date, alerts, stocks, where the rasters are."""
        s, ys = self.suffix, self.years
        unit = self.config.coefficients.output_unit
        nets = ", ".join(f"{y}: {self.dates[y].totals()[f'net_{s}']:,.1f}" for y in ys)
        st = self._whole_stock()
        stock = "" if st is None else (
            f"; stock {st['stock_from_tc']:,.1f} -> {st['stock_to_tc']:,.1f} t C (whole "
            "raster)")
        src = self._sources()
        return (f"ChangeResult({len(ys)} dates {ys[0]}-{ys[-1]}, "
                f"{len(self.dates[ys[-1]].units)} units; net {unit}/yr {nets}; "
                f"{len(self.alerts)} alerts{stock}; from "
                f"{', '.join(src.get(y, '?') for y in ys)})")

    def _repr_html_(self) -> str:
        """A short HTML summary for notebooks: one row per date, the stocks, the tables."""
        from html import escape

        s, ys = self.suffix, self.years
        unit = escape(self.config.coefficients.output_unit)
        src = self._sources()
        rows = "".join(
            f"<tr><td>{y}</td><td>{escape(src.get(y, ''))}</td>"
            f"<td>{t['covered_ha']:,.1f}</td><td>{t[f'net_{s}']:,.1f}</td>"
            f"<td>{escape(_levels(t['risk_levels']))}</td></tr>"
            for y in ys for t in (self.dates[y].totals(),))
        st = self._whole_stock()
        stock = "" if st is None else (
            f"; stock {st['stock_from_tc']:,.1f} -&gt; {st['stock_to_tc']:,.1f} t C (whole "
            "raster)" + (f", change in the units {st['units']['stock_change_tc']:+,.1f} t C"
                         if "units" in st else ""))
        alerts = _levels({str(k): int(v) for k, v in
                          self.alerts["alert"].value_counts().items()}) if len(
            self.alerts) else "none"
        return (f"<b>ChangeResult</b>: {len(ys)} dates, {len(self.dates[ys[-1]].units)} "
                f"units; alerts: {escape(alerts)}{stock}<br><small>tables: "
                "<code>.summary</code>, <code>.transfer</code>, <code>.timeseries</code>, "
                "<code>.alerts</code>, <code>.stocks</code>; <code>.dates[year]</code> "
                "holds each date's Assessment</small><table><tr><th>year</th>"
                f"<th>land cover</th><th>ha</th><th>net {unit}/yr</th><th>risk levels</th>"
                f"</tr>{rows}</table>")

    def alerts_layer(self) -> gpd.GeoDataFrame:
        """Alerts as map features (unit polygons; ``year_to`` for a time slider)."""
        from landcarbon.change.monitoring import alerts_layer

        return alerts_layer(self.dates[self.years[-1]].units, self.alerts)

    def timeseries_layer(self) -> gpd.GeoDataFrame:
        """Units with per-date columns (``net_<s>_<year>``, ``risk_level_<year>``...)."""
        from landcarbon.change.monitoring import timeseries_layer

        s = self.suffix
        return timeseries_layer(self.dates[self.years[-1]].units, self.timeseries,
                                columns=(f"emission_{s}", f"sequestration_{s}", f"net_{s}",
                                         f"net_{s}_per_ha", "risk_level"))

    def totals(self) -> dict[str, Any]:
        s = self.suffix
        out: dict[str, Any] = {"years": self.years, "by_year": {}}
        for y, a in self.dates.items():
            t = a.totals()
            out["by_year"][str(y)] = {k: t[k] for k in ("covered_ha", f"emission_{s}",
                                                         f"sequestration_{s}", f"net_{s}",
                                                         "risk_levels")}
        dd = self.dynamic_degree
        out["comprehensive_dynamic_degree_pct_per_yr"] = {
            f"{r.year_from}-{r.year_to}": r.comprehensive_pct_per_yr
            for r in dd[dd["unit_id"] == ""].itertuples()}
        out["flux_effect_tc"] = {
            f"{y0}-{y1}": float(g["flux_change_tc"].sum(min_count=1))
            for (y0, y1), g in self.flux_effect.groupby(["year_from", "year_to"])}
        out["alerts"] = {k: int(v) for k, v in self.alerts["alert"].value_counts().items()}
        out["dynamic_risk"] = self.dynamic_risk
        if self.stock_totals:
            out["stocks"] = self.stock_totals
        return out


@dataclass
class ScenarioResult:
    """Baseline, assessed scenarios and their comparison.

    Attributes
    ----------
    baseline : Assessment
    tables_tc : dict
        Scenario name -> assessed units table (GeoDataFrame) in t C: the canonical tables.
    units : dict
        (property) The same in the output unit (fresh converted copies), as written.
    deltas, risk_transitions : pandas.DataFrame
        From :func:`landcarbon.change.scenarios.compare_scenarios` of the output-unit tables
        (each ``<q>_delta`` is the difference of the written ``<q>_scenario`` and
        ``<q>_baseline``).
    edited : dict
        Scenario name -> edited category raster (rule-based scenarios only).
    edits : list of dict
        What each edit changed (scenario, type, area_ha).
    """

    config: RunConfig
    baseline: Assessment
    tables_tc: dict[str, gpd.GeoDataFrame]
    deltas: pd.DataFrame
    risk_transitions: pd.DataFrame
    edited: dict[str, xr.DataArray] = field(default_factory=dict)
    edits: list[dict[str, Any]] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def units(self) -> dict[str, gpd.GeoDataFrame]:
        """Scenario name -> ``tables_tc[name]`` in the output unit."""
        unit = self.config.coefficients.output_unit
        return {name: to_output_unit(t, unit) for name, t in self.tables_tc.items()}

    def totals(self) -> dict[str, Any]:
        from landcarbon.accounting.risk import risk_level_counts

        s = self.baseline.suffix
        out: dict[str, Any] = {"baseline": {k: self.baseline.totals()[k]
                                            for k in (f"net_{s}", "risk_levels")},
                               "scenarios": {}, "edits": self.edits}
        for name, t in self.units.items():
            out["scenarios"][name] = {
                f"net_{s}": float(t[f"net_{s}"].sum()),
                f"net_{s}_delta": float(t[f"net_{s}"].sum()
                                         - self.baseline.units[f"net_{s}"].sum()),
                "risk_levels": risk_level_counts(t["risk_level"])}
        return out

    def _sources(self) -> str:
        ch = self.config.change
        rasters = [_names(sc.landcover) for sc in (ch.scenarios if ch is not None else [])]
        return self.baseline._source() + (f"; scenario rasters {', '.join(rasters)}"
                                          if rasters else "")

    def __repr__(self) -> str:
        """One line: baseline net, each scenario's net and change, edits, sources."""
        s = self.baseline.suffix
        t = self.totals()
        unit = self.config.coefficients.output_unit
        parts = ", ".join(f"{n}: {v[f'net_{s}']:,.1f} ({v[f'net_{s}_delta']:+,.1f})"
                          for n, v in t["scenarios"].items())
        return (f"ScenarioResult(baseline net {t['baseline'][f'net_{s}']:,.1f} {unit}/yr, "
                f"{len(self.units)} scenario(s): {parts}; {len(self.edits)} edit(s); "
                f"{len(self.baseline.units)} units; from {self._sources()})")

    def _repr_html_(self) -> str:
        """A short HTML summary for notebooks: one row per scenario against the baseline."""
        from html import escape

        s = self.baseline.suffix
        t = self.totals()
        unit = escape(self.config.coefficients.output_unit)
        base = t["baseline"]
        rows = f"<tr><td>baseline</td><td>{base[f'net_{s}']:,.1f}</td><td></td><td>" + \
            f"{escape(_levels(base['risk_levels']))}</td></tr>" + "".join(
                f"<tr><td>{escape(n)}</td><td>{v[f'net_{s}']:,.1f}</td>"
                f"<td>{v[f'net_{s}_delta']:+,.1f}</td>"
                f"<td>{escape(_levels(v['risk_levels']))}</td></tr>"
                for n, v in t["scenarios"].items())
        return (f"<b>ScenarioResult</b>: {len(self.units)} scenario(s), {len(self.edits)} "
                f"edit(s), {len(self.baseline.units)} units<br><small>from "
                f"{escape(self._sources())}; tables: <code>.deltas</code>, "
                "<code>.risk_transitions</code>, <code>.units[name]</code></small><table>"
                f"<tr><th>scenario</th><th>net {unit}/yr</th><th>change</th>"
                f"<th>risk levels</th></tr>{rows}</table>")


def _names(spec: str | list[str]) -> str:
    """File name(s) of a raster spec: ``lc_2015.tif``, ``t1.tif +3 more``."""
    items = [spec] if isinstance(spec, str) else list(spec)
    if not items:
        return ""
    first = Path(str(items[0])).name
    return first + (f" +{len(items) - 1} more" if len(items) > 1 else "")


def _levels(counts: Mapping[str, int]) -> str:
    """``within 3, exceeding 1`` from risk-level counts."""
    return ", ".join(f"{k} {v}" for k, v in counts.items()) or "none"
