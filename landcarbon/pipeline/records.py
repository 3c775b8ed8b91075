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
from landcarbon.accounting.conversions import OutputUnit, output_suffix
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
    units : geopandas.GeoDataFrame
        The assessed units table (see the README's output reference).
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
    units: gpd.GeoDataFrame
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
        """``tc`` or ``tco2``: the suffix of flux columns."""
        return output_suffix(self.config.coefficients.output_unit)

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
                           self.config.coefficients.output_unit, self.units)


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
    timeseries, alerts : pandas.DataFrame
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
    timeseries: pd.DataFrame
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
        return self.dates[self.years[-1]].suffix

    def periods(self) -> list[Period]:
        """Consecutive periods, plus first -> last when there are more than two dates."""
        ys = self.years
        out = list(pairwise(ys))
        if len(ys) > 2:
            out.append((ys[0], ys[-1]))
        return out

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
    units : dict
        Scenario name -> assessed units table (GeoDataFrame).
    deltas, risk_transitions : pandas.DataFrame
        From :func:`landcarbon.change.scenarios.compare_scenarios`.
    edited : dict
        Scenario name -> edited category raster (rule-based scenarios only).
    edits : list of dict
        What each edit changed (scenario, type, area_ha).
    """

    config: RunConfig
    baseline: Assessment
    units: dict[str, gpd.GeoDataFrame]
    deltas: pd.DataFrame
    risk_transitions: pd.DataFrame
    edited: dict[str, xr.DataArray] = field(default_factory=dict)
    edits: list[dict[str, Any]] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

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
