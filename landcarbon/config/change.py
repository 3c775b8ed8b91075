"""The ``[change]`` config section (imported into :mod:`landcarbon.config.run`): several dates,
carbon stocks, monitoring alerts, scenarios, what-if edits and Markov projection.

Example::

    [change]
    resample = "error"
    [[change.dates]]
    year = 2015
    landcover = "landcover_2015.tif"
    energy_table = "energy_2015.csv"
    [[change.dates]]
    year = 2023
    landcover = "landcover_2023.tif"
    energy_table = "energy_2023.csv"
    [change.stocks]
    pools = "carbon_pools_esa_worldcover.csv"
    price_per_tc = 43.0
    discount_rate_pct = 7.0
    [change.markov]
    target_years = [2030, 2060]
    multipliers = [{ from_land_class = "cropland", to_land_class = "construction",
                     factor = 0.3 }]
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from landcarbon.config._section import Section

__all__ = ["ChangeConfig", "DateConfig", "EditConfig", "MarkovConfig", "MonitoringConfig",
           "MultiplierConfig", "ScenarioRasterConfig", "StocksConfig"]


class DateConfig(Section):
    """One date of a multi-date run."""

    year: int = Field(description="calendar year of the land cover", ge=1900, le=2200)
    landcover: str | list[str] = Field(description="land-cover raster of that year (same "
                                       "product and legend as [landcover])")
    energy_table: str | None = Field(None, description="energy statistics of that year "
                                     "([construction] method = 'energy'); default: "
                                     "[construction] energy_table")
    statistics: str | None = Field(None, description="per-unit statistics of that year "
                                   "(GDP, same columns as [statistics]) for the carbon "
                                   "intensity and the Tapio decoupling state of the dynamic "
                                   "risk; default: [statistics] path")


class StocksConfig(Section):
    """``[change.stocks]``: carbon stocks from an InVEST carbon pools table."""

    pools: str = Field(description="CSV with lucode, c_above, c_below, c_soil, c_dead "
                       "(Mg C/ha), keyed by the raw land-cover codes")
    price_per_tc: float | None = Field(None, ge=0, description="carbon price per t C "
                                       "(currency, 0 or more) "
                                       "for the valuation of the stock change; none = no "
                                       "valuation", json_schema_extra={"unit": "currency/t C"})
    discount_rate_pct: float = Field(0.0, gt=-100, description="annual market discount rate, % "
                                     "(InVEST discount_rate)", json_schema_extra={"unit": "%"})
    price_change_pct: float = Field(0.0, gt=-100, description="annual change of the carbon "
                                    "price, % "
                                    "(InVEST rate_change)", json_schema_extra={"unit": "%"})
    rasters: bool = Field(True, description="write stock density rasters (Mg C/ha) per date "
                          "and the stock change raster")


class MonitoringConfig(Section):
    """``[change.monitoring]``: early-warning alert settings."""

    sink_loss_share: float = Field(0.05, ge=0, le=1, description="alert when a unit's "
                                   "sequestration falls by more than this share between dates")
    conversion_min_ha: float = Field(1.0, ge=0, description="alert when more than this area "
                                     "of ecological or agricultural space becomes "
                                     "construction space")


class MultiplierConfig(Section):
    """One transition multiplier of the Markov projection."""

    from_land_class: str = Field(description="land class the transition starts from")
    to_land_class: str = Field(description="land class it goes to")
    factor: float = Field(ge=0, description="multiplier of the transition probability "
                          "(0.3 = 70 % less)")

    @model_validator(mode="after")
    def _check(self) -> MultiplierConfig:
        if self.from_land_class == self.to_land_class:
            raise ValueError(f"a multiplier of {self.from_land_class!r} -> itself changes "
                             "nothing (persistence is what the other transitions leave): "
                             "give a transition between two land classes")
        return self


class MarkovConfig(Section):
    """``[change.markov]``: Markov projection of class areas per unit."""

    target_years: list[int] = Field(description="years to project to, e.g. [2030, 2060] "
                                    "(distinct, increasing)", min_length=1)
    from_year: int | None = Field(None, description="start of the observed period "
                                  "(default: the first date)")
    to_year: int | None = Field(None, description="end of the observed period and start of "
                                "the projection (default: the last date)")
    multipliers: list[MultiplierConfig] = Field(default_factory=list, description="transition "
                                                "multipliers, e.g. cropland -> construction x "
                                                "0.3 (cropland protection); one per transition")

    @model_validator(mode="after")
    def _one_per_transition(self) -> MarkovConfig:
        pairs = [(m.from_land_class, m.to_land_class) for m in self.multipliers]
        twice = sorted({p for p in pairs if pairs.count(p) > 1})
        if twice:
            raise ValueError(f"markov multipliers given twice for {twice}: give one factor "
                             "per transition (their product if both apply)")
        return self


#: a scenario name: it names files (``scenario_<name>_land_class.tif``) and GeoPackage layers
SCENARIO_NAME = re.compile(r"^\w[\w-]{0,62}$")


#: names of the baseline's own files and layers (``scenario_units.gpkg`` layer ``baseline``)
RESERVED_SCENARIO_NAMES = ("baseline",)


def _scenario_name(value: str) -> str:
    if not SCENARIO_NAME.match(value):
        raise ValueError(
            f"scenario name {value!r} cannot name the scenario's files and layers: use 1-63 "
            "letters (Chinese too), digits, _ and -, starting with a letter, digit or _ "
            "(no spaces, dots or slashes), e.g. 'ecological_protection' or '生态保护'")
    if value.casefold() in RESERVED_SCENARIO_NAMES:
        raise ValueError(
            f"scenario name {value!r} is the baseline's own (its layer and files, in any "
            "letter case): choose another name, e.g. 'planned' or '规划'")
    return value


class ScenarioRasterConfig(Section):
    """One scenario land-cover raster (e.g. a PLUS/FLUS output) compared with the baseline."""

    name: str = Field(description="scenario name, e.g. 'ecological_protection' (letters, "
                      "digits, _ and -)")
    landcover: str | list[str] = Field(description="scenario raster on the baseline grid")
    protected: str | None = Field(None, description="polygons where conversion is "
                                  "forbidden: the baseline is kept there")

    _name = field_validator("name")(_scenario_name)


class EditConfig(Section):
    """One rule-based edit of the baseline; edits with the same ``scenario`` name are
    applied in order and give one scenario."""

    scenario: str = Field(description="name of the scenario this edit builds (letters, "
                          "digits, _ and -)")
    type: Literal["reduce_construction", "restore_wetland", "protect"] = Field(
        description="reduce_construction (construction -> ecological land), restore_wetland "
        "(within distance_m of water), protect (forbid changes inside `protected`)")
    area_ha: float | None = Field(None, gt=0, description="area to convert "
                                  "(reduce_construction)")
    to_land_class: str = Field("forest", description="ecological land class that construction "
                               "land becomes (reduce_construction)")
    units: list[str] | None = Field(None, min_length=1, description="unit ids the edit is "
                                    "limited to (at least one; leave the key out for no "
                                    "limit)")
    mask: str | None = Field(None, description="polygons the edit is limited to")
    protected: str | None = Field(None, description="polygons where nothing changes")
    distance_m: float | None = Field(None, gt=0, description="distance from water "
                                     "(restore_wetland)", json_schema_extra={"unit": "m"})
    from_land_classes: list[str] | None = Field(None, description="land classes that may "
                                                "change (default: construction and rural "
                                                "settlements / cropland, grassland, unused)")

    _scenario = field_validator("scenario")(_scenario_name)

    @model_validator(mode="after")
    def _check(self) -> EditConfig:
        if self.type == "reduce_construction" and self.area_ha is None:
            raise ValueError("reduce_construction needs area_ha")
        if self.type == "restore_wetland" and self.distance_m is None:
            raise ValueError("restore_wetland needs distance_m")
        if self.type == "protect" and self.protected is None:
            raise ValueError("protect needs protected (a polygons file)")
        if (self.type == "reduce_construction" and self.from_land_classes is not None
                and set(self.from_land_classes) <= {self.to_land_class}):
            raise ValueError(f"this edit turns {self.from_land_classes} into "
                             f"{self.to_land_class!r}: it can change nothing; give the classes "
                             "that become ecological land in from_land_classes")
        return self


class ChangeConfig(Section):
    """``[change]``: change over time, stocks, monitoring and scenarios."""

    dates: list[DateConfig] = Field(description="the dates, each with year and landcover "
                                    "([[change.dates]])", min_length=1)
    resample: Literal["error", "nearest"] = Field(
        "error", description="dates on different grids: error, or resample later dates "
        "onto the first date's grid by nearest neighbour (every date's areas, balance, risk "
        "and transitions are then counted on that grid)")
    baseline_year: int | None = Field(None, description="date the scenarios are compared "
                                      "with (default: the last date)")
    threshold_year: int | None = Field(None, description="assess every date against the "
                                       "threshold numbers resolved at this date (percentile "
                                       "thresholds otherwise move with each date's data); "
                                       "default: each date its own")
    stocks: StocksConfig | None = None
    monitoring: MonitoringConfig = Field(default_factory=MonitoringConfig)
    markov: MarkovConfig | None = None
    scenarios: list[ScenarioRasterConfig] = Field(default_factory=list, description="scenario "
                                                  "rasters ([[change.scenarios]])")
    edits: list[EditConfig] = Field(default_factory=list, description="rule-based edits of "
                                    "the baseline ([[change.edits]])")

    @model_validator(mode="after")
    def _check(self) -> ChangeConfig:
        years = [d.year for d in self.dates]
        if len(set(years)) != len(years):
            raise ValueError(f"dates must have distinct years, got {years}")
        if years != sorted(years):
            raise ValueError(f"dates must be in increasing year order, got {years}")
        for name, year in (("baseline_year", self.baseline_year),
                           ("threshold_year", self.threshold_year),
                           ("markov.from_year", self.markov and self.markov.from_year),
                           ("markov.to_year", self.markov and self.markov.to_year)):
            if year is not None and year not in years:
                raise ValueError(f"{name} = {year} is not one of the dates {years}")
        if self.markov is not None:
            if len(years) < 2:
                raise ValueError("markov needs at least two dates")
            first = self.markov.from_year or years[0]
            start = self.markov.to_year or years[-1]
            if first >= start:
                raise ValueError(f"markov from_year ({first}) must be before to_year ({start}): "
                                 "give the observed period in time order")
            targets = self.markov.target_years
            if targets != sorted(set(targets)):
                raise ValueError(f"markov target_years {targets} must be distinct and "
                                 "increasing, e.g. [2030, 2060]")
            bad = [y for y in targets if y <= start]
            if bad:
                raise ValueError(f"markov target_years {bad} are not after {start}")
        # a scenario is one raster, or the edits that share its name; GeoPackage layers and
        # some file systems do not tell case apart
        names = [s.name for s in self.scenarios] + list(dict.fromkeys(
            e.scenario for e in self.edits))
        seen: dict[str, str] = {}
        for name in names:
            key = name.casefold()
            if key in seen:
                raise ValueError(f"scenario names must be unique, also ignoring case (they "
                                 f"name files and GeoPackage layers): {seen[key]!r} and "
                                 f"{name!r}")
            seen[key] = name
        return self
