"""``[thresholds]``: how the limit of each space type is set (explicit numbers, a target
pathway, the carbon carrying capacity or regional percentiles); see docs/thresholds.md."""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from landcarbon.config._section import Section

__all__ = ["YEARS", "CarryingCapacityConfig", "PathwayConfig", "ThresholdsConfig"]

#: the calendar years a threshold or pathway year may take (land-cover products start in
#: the 1980s; planning targets end by 2100)
YEARS = (1900, 2100)


class PathwayConfig(Section):
    """``[thresholds.pathway]``: limits derived from the region's targets (method pathway)."""

    base_year: int = Field(ge=YEARS[0], le=YEARS[1],
                           description="year of the base densities, e.g. 2020")
    base_tc_per_ha: dict[str, float] = Field(description="{agricultural, construction, "
                                             "ecological} base-year regional net density, "
                                             "t C/ha/yr")
    peak_year: int = Field(2030, ge=YEARS[0], le=YEARS[1], description="carbon-peak year")
    neutrality_year: int = Field(2060, ge=YEARS[0], le=YEARS[1],
                                 description="carbon-neutrality year")
    intensity_reduction_pct: float = Field(18.0, description="CO2-per-GDP reduction from "
                                           "base_year to intensity_target_year, %")
    intensity_target_year: int = Field(2025, description="year of the intensity target")
    gdp_growth_pct: float = Field(description="expected real GDP growth, % per year")
    neutral_share: float = Field(0.0, ge=0, le=1, description="share of the base density "
                                 "left at neutrality (0 = net-zero)")
    source: str = Field("", description="where the base figures and targets come from")


class CarryingCapacityConfig(Section):
    """``[thresholds.carrying_capacity]``: emitting spaces share the region's sink."""

    key: Literal["area", "emission", "shares"] = Field(
        "area", description="split of the sink between agricultural and construction space: "
        "by their land area, by their base emissions, or by explicit shares")
    shares: dict[str, float] = Field(default_factory=dict, description="{agricultural, "
                                     "construction} weights (key = shares)")
    sink_tc: float | None = Field(None, ge=0, description="the region's sink, t C/yr "
                                  "(default: the run's sequestration at the base date)")
    source: str = Field("", description="where the sink figure comes from")


class ThresholdsConfig(Section):
    """``[thresholds]``: differentiated net thresholds per space type, t C/ha/yr."""

    method: Literal["explicit", "pathway", "carrying_capacity", "percentile"] | None = Field(
        None, description="how limits are set; default: pathway / carrying_capacity when "
        "that table is given, explicit or percentile from the values, carrying_capacity "
        "when nothing is set")
    preset: str | None = Field(None, description="named preset: a file stem of "
                               "landcarbon/data/thresholds (README: threshold presets)")
    agricultural: float | str | None = Field(None, description="t C/ha/yr, or 'pNN'/'median'")
    construction: float | str | None = Field(None, description="t C/ha/yr, or 'pNN'/'median'")
    ecological: float | str | None = Field(None, description="t C/ha/yr, or 'pNN'/'median'")
    year: int | None = Field(None, ge=YEARS[0], le=YEARS[1], description="year assessed "
                             "(pathway: the limit of that year; change runs use each date's "
                             "year)")
    base_year: int | None = Field(None, ge=YEARS[0], le=YEARS[1],
                                  description="year of the data percentile / carrying "
                                  "capacity limits are computed on (a label; change runs: "
                                  "[change] threshold_year)")
    pathway: PathwayConfig | None = None
    carrying_capacity: CarryingCapacityConfig | None = None

    @field_validator("agricultural", "construction", "ecological", mode="before")
    @classmethod
    def _finite(cls, value: Any) -> Any:
        """NaN or inf is named once (not as a failed number and a failed text)."""
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"{value} is not a finite number: give t C/ha/yr, or 'pNN' / "
                             "'median'")
        return value

    @field_validator("agricultural", "construction", "ecological")
    @classmethod
    def _check_value(cls, value: float | str | None) -> float | str | None:
        from landcarbon.accounting.risk import parse_threshold

        return None if value is None else parse_threshold(value)

    def resolved_method(self) -> str:
        """The method in use (``method``, else inferred from what is given)."""
        if self.method:
            return self.method
        if self.pathway is not None:
            return "pathway"
        if self.carrying_capacity is not None:
            return "carrying_capacity"
        values = [self.agricultural, self.construction, self.ecological]
        if self.preset is None and all(v is None for v in values):
            return "carrying_capacity"
        return "percentile" if any(isinstance(v, str) for v in values) or (
            self.preset is not None) else "explicit"

    @model_validator(mode="after")
    def _check_method(self) -> ThresholdsConfig:
        method = self.resolved_method()
        if method == "pathway":
            if self.pathway is None:
                raise ValueError("method = 'pathway' needs [thresholds.pathway] (base_year, "
                                 "base_tc_per_ha, gdp_growth_pct and the targets)")
            missing = [s for s in ("agricultural", "construction", "ecological")
                       if s not in self.pathway.base_tc_per_ha]
            if missing:
                raise ValueError("[thresholds.pathway] base_tc_per_ha lacks "
                                 + ", ".join(missing))
            from landcarbon.accounting.thresholds import PathwayTargets
            from landcarbon.exceptions import ConfigError

            p = self.pathway
            try:  # the targets' own checks (years in order, rates in range), as a run makes
                PathwayTargets(p.base_year, p.peak_year, p.neutrality_year,
                               p.intensity_reduction_pct, p.intensity_target_year,
                               p.gdp_growth_pct, p.neutral_share)
            except ConfigError as exc:
                raise ValueError(str(exc)) from None
        if method == "carrying_capacity" and self.carrying_capacity is not None:
            cc = self.carrying_capacity
            if cc.key == "shares" and not {"agricultural", "construction"} <= set(cc.shares):
                raise ValueError("[thresholds.carrying_capacity] key = 'shares' needs shares "
                                 "= {agricultural = .., construction = ..}")
        if method in ("explicit", "percentile") and self.preset is None and None in (
                self.agricultural, self.construction, self.ecological):
            raise ValueError("[thresholds] needs a preset or all of agricultural, "
                             "construction and ecological")
        if method == "explicit" and any(isinstance(v, str) for v in (
                self.agricultural, self.construction, self.ecological)):
            raise ValueError("method = 'explicit' takes numbers (t C/ha/yr); 'pNN' values "
                             "are method = 'percentile'")
        return self
