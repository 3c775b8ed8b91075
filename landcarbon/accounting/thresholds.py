"""Threshold methods: the limit of each space type, in t C/ha/yr, and the rule behind it.

Four methods, each a pure function returning a :class:`ThresholdSet` (limits per space type,
one rule text and one source per space type, whether the limits are relative):

``explicit``
    Numbers given by the user (or a preset), used as they are.
``pathway``
    Target-derived limits: a base year's regional net densities per space type, tightened
    year by year along the path of the region's targets (see :func:`pathway_multiplier`), so
    that an assessment of year *t* is judged against the limit of year *t*.
``carrying_capacity``
    The emissions the region's sinks support: ecological space stays a net sink (limit 0);
    agricultural and construction space share the region's sink ``S`` by a key
    (:func:`carrying_capacity_limits`).
``percentile``
    A regional percentile of the units' net densities: **relative** (a quarter of the units
    are always above a P75 limit, whatever their emissions). Computed once at a stated base
    date and frozen for later dates and scenarios; every output says it is relative.

Space types whose base density is a sink (<= 0) are never scaled by the pathway: a sink must
not weaken. All numbers are t C/ha/yr (convert at output).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from landcarbon.exceptions import ConfigError

__all__ = [
    "METHODS",
    "PathwayTargets",
    "ThresholdSet",
    "carrying_capacity_limits",
    "explicit_limits",
    "pathway_limits",
    "pathway_multiplier",
    "percentile_limits",
]

SPACES: tuple[str, ...] = ("agricultural", "construction", "ecological")
EMITTING: tuple[str, ...] = ("agricultural", "construction")
Method = Literal["explicit", "pathway", "carrying_capacity", "percentile"]
METHODS: tuple[str, ...] = ("explicit", "pathway", "carrying_capacity", "percentile")


@dataclass(frozen=True)
class ThresholdSet:
    """Limits per space type with their rule and source.

    Attributes
    ----------
    method : str
        One of :data:`METHODS` (``mixed`` when a preset combines numbers and percentiles).
    limits : dict
        Limit per space type, t C/ha/yr (net = emission - sink).
    rules, sources : dict
        Per space type: how the limit was derived (with the numbers) and where it comes from.
    relative : bool
        True when any limit is a regional statistic of the units (a percentile).
    year : int or None
        The year the limits apply to (pathway), else None.
    base_year : int or None
        Year of the base figures (pathway) or of the data the percentiles were computed on.
    components : dict
        Limits of the per-space cap test (the space's own land in each unit); equal to
        ``limits`` except for percentiles.
    """

    method: str
    limits: dict[str, float]
    rules: dict[str, str]
    sources: dict[str, str]
    relative: bool = False
    year: int | None = None
    base_year: int | None = None
    components: dict[str, float] = field(default_factory=dict)

    def component_limits(self) -> dict[str, float]:
        """The per-space cap limits (``components`` or, when empty, ``limits``)."""
        return dict(self.components or self.limits)

    def rule_of(self, space: str) -> str:
        """Rule text of one space type, prefixed ``relative:`` for a percentile limit."""
        return self.rules.get(space, "")

    def record(self) -> dict[str, Any]:
        """JSON-ready description for ``run.json`` and the report."""
        return {
            "method": self.method,
            "relative": self.relative,
            "year": self.year,
            "base_year": self.base_year,
            "limits_tc_per_ha": {k: _json_float(v) for k, v in self.limits.items()},
            "rules": dict(self.rules),
            "sources": dict(self.sources),
            **({"component_limits_tc_per_ha": {k: _json_float(v)
                                               for k, v in self.components.items()}}
               if self.components else {}),
        }


def _json_float(value: float) -> float | None:
    return None if not math.isfinite(value) else float(value)


def _finite(value: object, what: str) -> float:
    try:
        out = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ConfigError(f"{what} must be a number, got {value!r}.") from None
    if not math.isfinite(out):
        raise ConfigError(f"{what} must be finite, got {value!r}.")
    return out


def explicit_limits(values: Mapping[str, float], *, rules: Mapping[str, str] | None = None,
                    sources: Mapping[str, str] | None = None) -> ThresholdSet:
    """Limits given as numbers (t C/ha/yr), one per space type.

    Returns
    -------
    ThresholdSet
        ``method="explicit"``; the rule of a space without one says "explicit limit".

    Raises
    ------
    ConfigError
        A space type without a number, or a value that is not a finite number.
    """
    limits = {}
    for st in SPACES:
        if st not in values:
            raise ConfigError(f"No explicit threshold for {st} space: set [thresholds] {st} "
                              "(t C/ha/yr).")
        limits[st] = _finite(values[st], f"[thresholds] {st}")
    rules = {st: (rules or {}).get(st) or f"explicit limit {limits[st]:g} t C/ha/yr"
             for st in SPACES}
    sources = {st: (sources or {}).get(st) or "user configuration" for st in SPACES}
    return ThresholdSet("explicit", limits, rules, sources)


@dataclass(frozen=True)
class PathwayTargets:
    """The region's targets that shape the pathway.

    Attributes
    ----------
    base_year : int
        Year of the base densities (e.g. 2020).
    peak_year : int
        Carbon-peak year: emissions may follow the intensity path until then.
    neutrality_year : int
        Carbon-neutrality year: the limits of emitting spaces reach ``neutral_share`` of the
        base density then, and stay there.
    intensity_reduction_pct : float
        Reduction of CO2 per unit of GDP from ``base_year`` to ``intensity_target_year``, in %
        (18 for the -18 % of the 14th five-year plan).
    intensity_target_year : int
        Year of that intensity target (e.g. 2025).
    gdp_growth_pct : float
        Expected real GDP growth, % per year, turning the intensity path into an emission
        path.
    neutral_share : float
        Share of the base density left at neutrality (0 = the emitting spaces are net-zero).
    """

    base_year: int
    peak_year: int
    neutrality_year: int
    intensity_reduction_pct: float
    intensity_target_year: int
    gdp_growth_pct: float
    neutral_share: float = 0.0

    def __post_init__(self) -> None:
        if not self.base_year < self.intensity_target_year:
            raise ConfigError("[thresholds.pathway] intensity_target_year must be after "
                              f"base_year ({self.intensity_target_year} <= {self.base_year}).")
        if not self.base_year <= self.peak_year < self.neutrality_year:
            raise ConfigError("[thresholds.pathway] needs base_year <= peak_year < "
                              f"neutrality_year (got {self.base_year}, {self.peak_year}, "
                              f"{self.neutrality_year}).")
        if not 0 <= self.intensity_reduction_pct < 100:
            raise ConfigError("[thresholds.pathway] intensity_reduction_pct is a reduction in "
                              f"% between 0 and 100 (got {self.intensity_reduction_pct}).")
        if not -50 < self.gdp_growth_pct < 50:
            raise ConfigError("[thresholds.pathway] gdp_growth_pct is a yearly growth in % "
                              f"(got {self.gdp_growth_pct}).")
        if not 0 <= self.neutral_share <= 1:
            raise ConfigError("[thresholds.pathway] neutral_share is a share between 0 and 1 "
                              f"(got {self.neutral_share}).")

    def describe(self) -> str:
        """One line with every target (for rules and reports)."""
        return (f"base {self.base_year}, CO2/GDP -{self.intensity_reduction_pct:g} % by "
                f"{self.intensity_target_year}, GDP +{self.gdp_growth_pct:g} %/yr, peak "
                f"{self.peak_year}, neutrality {self.neutrality_year} (residual "
                f"{self.neutral_share:g})")


def pathway_multiplier(year: int, t: PathwayTargets) -> float:
    """Factor applied to a base density for the limit of ``year``.

    * ``year <= base_year``: 1 (no limit looser or tighter than the base before it);
    * ``base_year < year <= peak_year``: ``g^(year - base_year)`` with the yearly emission
      factor ``g = (1 + gdp_growth) x (1 - intensity_reduction)^(1 / (target_year -
      base_year))`` (emissions allowed by the intensity target at the expected growth);
    * ``peak_year < year < neutrality_year``: linear from the peak value to
      ``neutral_share`` at the neutrality year;
    * ``year >= neutrality_year``: ``neutral_share``.

    Returns
    -------
    float
        The multiplier (>= 0).
    """
    if year <= t.base_year:
        return 1.0
    g = (1 + t.gdp_growth_pct / 100.0) * (1 - t.intensity_reduction_pct / 100.0) ** (
        1.0 / (t.intensity_target_year - t.base_year))
    if year <= t.peak_year:
        return float(g ** (year - t.base_year))
    if year >= t.neutrality_year:
        return float(t.neutral_share)
    peak = g ** (t.peak_year - t.base_year)
    frac = (year - t.peak_year) / (t.neutrality_year - t.peak_year)
    return float(peak + (t.neutral_share - peak) * frac)


def pathway_limits(base_tc_per_ha: Mapping[str, float], year: int, targets: PathwayTargets,
                   *, source: str = "") -> ThresholdSet:
    """Limits of ``year`` on the target pathway.

    Parameters
    ----------
    base_tc_per_ha : mapping
        Base-year regional net density per space type, t C/ha/yr (region-wide net of the
        space's land / its area). Sinks (<= 0) are kept as they are every year.
    year : int
        Year assessed.
    targets : PathwayTargets
    source : str
        Where the base figures come from (recorded).

    Returns
    -------
    ThresholdSet
        ``method="pathway"``, ``year`` and ``base_year`` set.
    """
    m = pathway_multiplier(year, targets)
    limits, rules = {}, {}
    for st in SPACES:
        if st not in base_tc_per_ha:
            raise ConfigError(f"[thresholds.pathway] base_tc_per_ha has no {st} value (the "
                              f"base-year net density of {st} space, t C/ha/yr).")
        base = _finite(base_tc_per_ha[st], f"[thresholds.pathway] base_tc_per_ha.{st}")
        if base <= 0:
            limits[st] = base
            rules[st] = (f"pathway: base-year sink {base:g} t C/ha/yr kept every year (a sink "
                         "must not weaken)")
        else:
            limits[st] = base * m
            rules[st] = (f"pathway {year}: base {base:g} t C/ha/yr x {m:.4f} = "
                         f"{limits[st]:.4g} ({targets.describe()})")
    src = source or "base-year regional densities from the configuration"
    return ThresholdSet("pathway", limits, rules, {st: src for st in SPACES}, year=year,
                        base_year=targets.base_year)


def carrying_capacity_limits(sink_tc: float, area_ha: Mapping[str, float],
                             shares: Mapping[str, float], *, key: str = "shares",
                             source: str = "", base_year: int | None = None) -> ThresholdSet:
    """Limits from the carbon carrying capacity of the region's sinks.

    ``L_ecological = 0`` (ecological space stays a net sink); for ``s`` in agricultural and
    construction: ``L_s = S x k_s / A_s`` with ``S`` the region's sink (t C/yr, >= 0),
    ``k_s`` its share of the key (normalised to sum 1) and ``A_s`` the area of that space's
    land (ha). Region-wide, the emitting spaces then together emit at most what the sinks
    absorb.

    A space without land (area 0) takes no share: the others share the whole sink, and its
    limit is 0 (net-neutral), in case such land appears at a later date or in a scenario.

    Raises
    ------
    ConfigError
        Negative sink, areas or shares; shares giving nothing to the spaces that have land.
    """
    sink = _finite(sink_tc, "carrying capacity sink_tc")
    if sink < 0:
        raise ConfigError(f"carrying capacity sink_tc is the sink magnitude (>= 0 t C/yr), "
                          f"got {sink_tc!r}.")
    weights = {st: _finite(shares.get(st, np.nan), f"carrying capacity share of {st}")
               for st in EMITTING}
    if min(weights.values()) < 0 or (key == "shares" and sum(weights.values()) <= 0):
        raise ConfigError("carrying capacity shares must be >= 0 with a positive sum (got "
                          f"{weights}).")
    areas = {st: _finite(area_ha.get(st, 0.0), f"area of {st} space") for st in EMITTING}
    if min(areas.values()) < 0:
        raise ConfigError(f"carrying capacity: negative space areas {areas}.")
    limits = {"ecological": 0.0}
    rules = {"ecological": "carrying capacity: ecological space stays a net sink (net <= 0)"}
    # a space without land at the base date takes no share: the sink goes to the others, and
    # such land appearing later (a later date, a scenario) must be net-neutral (limit 0)
    present = [st for st in EMITTING if areas[st] > 0]
    total = sum(weights[st] for st in present)
    if present and total <= 0:
        if key == "shares":
            raise ConfigError(
                f"carrying capacity: the shares give nothing to the space(s) with land "
                f"({', '.join(present)}); the others have no land in this region. Give "
                f"[thresholds.carrying_capacity] shares a positive weight for "
                f"{' and '.join(present)}.")
        weights = {st: areas[st] for st in EMITTING}  # nothing to share by: share by area
        total = sum(weights[st] for st in present)
        key = f"{key} (all zero; by area instead)"
    for st in EMITTING:
        if st not in present:
            limits[st] = 0.0
            rules[st] = (f"carrying capacity: no {st} land in the region at the base date, so "
                         "no share of the sink; such land appearing later must be net-neutral "
                         "(limit 0)")
            continue
        k = weights[st] / total
        limits[st] = sink * k / areas[st]
        rules[st] = (f"carrying capacity: sink {sink:,.0f} t C/yr x share {k:.3f} ({key}) / "
                     f"{areas[st]:,.0f} ha = {limits[st]:.4g} t C/ha/yr")
    src = source or "region's sink and areas of the run at the base date"
    return ThresholdSet("carrying_capacity", limits, rules, {st: src for st in SPACES},
                        base_year=base_year)


def percentile_limits(spec: Mapping[str, float | str], table: pd.DataFrame, *,
                      base_year: int | None = None,
                      sources: Mapping[str, str] | None = None) -> ThresholdSet:
    """Limits of a spec mixing numbers and regional percentiles (``"pNN"``).

    Percentiles are computed on ``table`` (the units at the base date): of ``net_tc_per_ha``
    over the units of the space type for the unit test, of ``net_<space>_tc_per_ha`` over all
    units for the per-space cap test. They are **relative**: the rule says so.

    Returns
    -------
    ThresholdSet
        ``method`` ``percentile`` (or ``explicit`` when every value is a number),
        ``relative`` True when any value is a percentile.
    """
    from landcarbon.accounting.risk import resolve_thresholds

    limits = resolve_thresholds(dict(spec), table)
    components = resolve_thresholds(dict(spec), table, components=True)
    when = f" at {base_year}" if base_year is not None else " at the assessed date"
    rules, relative = {}, False
    for st in SPACES:
        value = spec[st]
        if isinstance(value, str):
            relative = True
            rules[st] = (f"relative: {value.upper()} of the net density of {st} units"
                         f"{when} = {limits[st]:.4g} t C/ha/yr (frozen for later dates and "
                         "scenarios; a share of units is always above it)")
        else:
            rules[st] = f"explicit limit {float(value):g} t C/ha/yr"
    src = {st: (sources or {}).get(st) or "user configuration" for st in SPACES}
    return ThresholdSet("percentile" if relative else "explicit", limits, rules, src,
                        relative=relative, base_year=base_year,
                        components=components if relative else {})
