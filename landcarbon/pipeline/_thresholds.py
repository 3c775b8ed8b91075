"""The ``[thresholds]`` of a config turned into a :class:`ThresholdSet`, and the risk table
of units against it (level, reason, the method and rule of each unit's limit)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from landcarbon.accounting.conversions import OutputUnit, output_factor, output_suffix
from landcarbon.accounting.display_units import DisplayUnits
from landcarbon.accounting.risk import RiskBands, assess_risk
from landcarbon.accounting.thresholds import (
    EMITTING,
    SPACES,
    PathwayTargets,
    ThresholdSet,
    carrying_capacity_limits,
    pathway_limits,
    percentile_limits,
)
from landcarbon.config.run import RunConfig
from landcarbon.exceptions import ConfigError

__all__ = ["explain", "pathway_targets", "risk_table", "threshold_set", "threshold_set_for_year"]


def pathway_targets(config: RunConfig) -> PathwayTargets:
    """The ``[thresholds.pathway]`` targets of ``config``."""
    p = config.thresholds.pathway
    if p is None:
        raise ConfigError("method = 'pathway' needs [thresholds.pathway].")
    return PathwayTargets(p.base_year, p.peak_year, p.neutrality_year,
                          p.intensity_reduction_pct, p.intensity_target_year,
                          p.gdp_growth_pct, p.neutral_share)


def threshold_set(config: RunConfig, balance: pd.DataFrame, class_areas: pd.DataFrame
                  ) -> ThresholdSet:
    """Limits of ``config`` for one assessed date.

    Parameters
    ----------
    config : RunConfig
    balance : pandas.DataFrame
        Unit balance in t C (``space_type``, ``net_tc_per_ha``, ``net_<space>_tc(_per_ha)``,
        ``sequestration_tc``): the base date's units for data-derived limits.
    class_areas : pandas.DataFrame
        Long table with ``space_type`` and ``area_ha`` (areas of each space's land).

    Raises
    ------
    ConfigError
        Pathway without a year to assess, impossible carrying-capacity inputs.
    """
    tc = config.thresholds
    method = tc.resolved_method()
    if method == "pathway":
        if tc.year is None:
            raise ConfigError(
                "[thresholds] method = 'pathway' needs year = <the year of the land-cover "
                "data> so that the assessment is judged against that year's limit (change "
                "runs set it per date).")
        return threshold_set_for_year(config, tc.year)
    if method == "carrying_capacity":
        return _carrying_capacity(config, balance, class_areas)
    sources = _preset_sources(config)
    return percentile_limits(config.threshold_spec(), balance, base_year=tc.base_year,
                             sources=sources)


def threshold_set_for_year(config: RunConfig, year: int) -> ThresholdSet:
    """Pathway limits of ``year`` (the pathway method only)."""
    p = config.thresholds.pathway
    assert p is not None
    return pathway_limits(p.base_tc_per_ha, year, pathway_targets(config), source=p.source)


def _carrying_capacity(config: RunConfig, balance: pd.DataFrame, class_areas: pd.DataFrame
                       ) -> ThresholdSet:
    cc = config.thresholds.carrying_capacity
    key = cc.key if cc is not None else "area"
    sink = (cc.sink_tc if cc is not None and cc.sink_tc is not None
            else float(balance["sequestration_tc"].sum()))
    areas = class_areas.groupby("space_type")["area_ha"].sum()
    area = {st: float(areas.get(st, 0.0)) for st in SPACES}
    if key == "area":
        shares = {st: area[st] for st in EMITTING}
    elif key == "emission":
        shares = {st: float(balance[f"net_{st}_tc"].clip(lower=0).sum())
                  for st in EMITTING}
    else:
        assert cc is not None
        shares = dict(cc.shares)
    source = (cc.source if cc is not None and cc.source else
              "sink: sequestration of the run's units; areas: the run's land by space type"
              if cc is None or cc.sink_tc is None else "sink_tc from the configuration")
    return carrying_capacity_limits(sink, area, shares, key=key, source=source,
                                    base_year=config.thresholds.base_year)


def _preset_sources(config: RunConfig) -> dict[str, str]:
    from landcarbon.accounting.risk import load_threshold_preset

    tc = config.thresholds
    if not tc.preset:
        return {}
    preset = load_threshold_preset(tc.preset)
    return {st: f"preset {tc.preset}: {preset[st].get('source', '')}" for st in SPACES
            if getattr(tc, st) is None}


def risk_table(table: pd.DataFrame, ts: ThresholdSet, bands: RiskBands,
               output_unit: OutputUnit = "t C", cropland_tc_per_ha: float | None = None, *,
               display: DisplayUnits | None = None) -> pd.DataFrame:
    """:func:`landcarbon.risk.assess_risk` of ``table`` against ``ts`` (the pipeline passes
    its canonical t C table; ``output_unit`` is the unit of ``table``'s flux columns),
    plus ``threshold_method`` and ``threshold_rule`` (the rule of each unit's space type;
    units without one get empty text). The reasons also say how far the unit is over or
    under its limit and what drives its emission (:func:`explain`); ``cropland_tc_per_ha`` is
    the cropland coefficient used (its emission when positive). ``display``: the units of
    the numbers in the reasons (output unit, per ha or 亩; default t C per ha); levels and
    columns (``threshold_tc_per_ha``...) are in ``output_unit`` and do not depend on it."""
    shown = display or DisplayUnits(output_unit)
    risk = assess_risk(table, ts.limits, bands, output_unit=output_unit,
                       component_thresholds=ts.component_limits(), display=shown)
    en, zh = explain(table, risk, output_unit, cropland_tc_per_ha, display=shown)
    # plain lists: iterating a pandas text column yields cell by cell through __getitem__
    # (~0.6 us a cell: 0.27 s for 47,000 units)
    risk["risk_reason_en"] = [r + e for r, e in zip(risk["risk_reason_en"].tolist(), en,
                                                    strict=True)]
    risk["risk_reason_zh"] = [r + z for r, z in zip(risk["risk_reason_zh"].tolist(), zh,
                                                    strict=True)]
    space = table["space_type"].tolist()
    risk["threshold_method"] = [ts.method if s in ts.limits else "" for s in space]
    risk["threshold_rule"] = [ts.rule_of(s) for s in space]
    if ts.relative:
        for col in ("risk_reason_en", "risk_reason_zh"):
            tag = " [relative limit]" if col.endswith("en") else "［相对阈值］"
            risk[col] = [r + tag if ts.limits and s in ts.rules and ts.rules[s].startswith(
                "relative") else r for r, s in zip(risk[col].tolist(), space, strict=True)]
    return risk


#: sources of a unit's emission named by :func:`explain` (English, Chinese)
_SOURCES_EN = ("construction energy", "cropland", "other land")
_SOURCES_ZH = ("建设用地能源消费", "耕地", "其他地类")


def explain(table: pd.DataFrame, risk: pd.DataFrame, output_unit: OutputUnit = "t C",
            cropland_tc_per_ha: float | None = None, *, display: DisplayUnits | None = None
            ) -> tuple[list[str], list[str]]:
    """Per unit, the distance to its limit and the main sources of its emission, as text to
    append to the English and Chinese reasons (empty for units without data).

    ``table`` and ``risk`` have their flux columns in ``output_unit`` (the pipeline's
    canonical t C); the numbers of the text are in the display's output unit (labels only:
    each value is converted as the written table's column is). Distance: ``net - limit``
    per area (ha or 亩, ``display``) and in % of ``|limit|`` (when the limit is not 0),
    and, when the table has ``covered_ha``, the whole unit's excess (or room)
    ``(net - limit) x covered_ha`` per year in the display's mass unit (t or 万吨).
    Sources: shares of the unit's emission from construction land (energy or intensity),
    cropland (when its coefficient is a source) and other land, largest first.
    """
    shown = display or DisplayUnits(output_unit)
    sfx = output_suffix(output_unit)
    to_shown = shown.factor / output_factor(output_unit)
    net = table[f"net_{sfx}_per_ha"].to_numpy(dtype=float) * to_shown
    limit = risk[f"threshold_{sfx}_per_ha"].to_numpy(dtype=float) * to_shown
    emission = table[f"emission_{sfx}"].to_numpy(dtype=float) * to_shown
    covered = (table["covered_ha"].to_numpy(dtype=float) if "covered_ha" in table
               else np.full(len(table), np.nan))
    con = (table[f"construction_emission_{sfx}"].to_numpy(dtype=float) * to_shown
           if f"construction_emission_{sfx}" in table else emission * 0).clip(min=0)
    crop = (table["area_cropland_ha"].fillna(0.0).to_numpy(dtype=float)
            * max(float(cropland_tc_per_ha or 0.0), 0.0) * shown.factor
            if "area_cropland_ha" in table else emission * 0)
    per_en, per_zh = shown.density_label("en"), shown.density_label("zh")
    total_en, total_zh = shown.total_label("en"), shown.total_label("zh")
    area_per_ha = shown.area_per_ha
    mass_text = shown.mass_text
    en, zh = [], []
    # Python floats: the per-unit tests and formatting cost a third of numpy scalars'; the
    # labels are made once, each unit's total once for both languages
    for n, lim, e, c, cr, ha, lev in zip(net.tolist(), limit.tolist(), emission.tolist(),
                                         con.tolist(), crop.tolist(), covered.tolist(),
                                         risk["risk_level"].tolist(), strict=True):
        if lev == "no_data" or not (math.isfinite(n) and math.isfinite(lim)):
            en.append("")
            zh.append("")
            continue
        d = n - lim
        pct = f" ({d / abs(lim):+.0%})" if lim != 0 else ""
        word_en = "above" if d > 0 else "below"
        word_zh = "高于" if d > 0 else "低于"
        dist = f"{abs(d / area_per_ha):,.2f}"
        text_en = f"; {dist} {per_en} {word_en} its limit{pct}"
        text_zh = f"；{word_zh}阈值 {dist} {per_zh}{pct}"
        if math.isfinite(ha) and ha > 0:
            total = mass_text(abs(d) * ha)
            text_en += f": {total} {total_en} {'over' if d > 0 else 'under'} it in all"
            text_zh += f"，全单元{'超出' if d > 0 else '余量'} {total} {total_zh}"
        if e > 0:  # largest share first (equal shares: other land, cropland, construction)
            parts = [(f"{share:.0%}", k) for share, k in sorted(
                [(c / e, 0), (cr / e, 1), (max(e - c - cr, 0.0) / e, 2)], reverse=True)
                if share >= 0.005]
            text_en += "; emission from " + ", ".join([f"{_SOURCES_EN[k]} {pc}"
                                                        for pc, k in parts])
            text_zh += "；排放来源：" + "、".join([f"{_SOURCES_ZH[k]} {pc}" for pc, k in parts])
        en.append(text_en)
        zh.append(text_zh)
    return en, zh
