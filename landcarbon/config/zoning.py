"""Config sections of the zoning science (imported into :mod:`landcarbon.config.run`):
``[statistics]``, ``[zoning]``, ``[hotspots]``, ``[sink_zones]``, ``[compensation]``,
``[uncertainty]``. Each is optional on :class:`landcarbon.config.run.RunConfig`; a present section
switches its analysis on in ``landcarbon run`` (``landcarbon zone`` switches them all on with
their defaults).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from landcarbon.config._section import Section

__all__ = ["CompensationConfig", "HotspotsConfig", "SinkZonesConfig", "StatisticsConfig",
           "UncertaintyConfig", "ZoningConfig"]

RiskFlag = Literal["R1", "R2", "R3", "R4", "R5"]


def _all_flags() -> list[RiskFlag]:
    return ["R1", "R2", "R3", "R4", "R5"]


class StatisticsConfig(Section):
    """``[statistics]``: per-unit socio-economic statistics (GDP, population) for ECC,
    emission intensity and compensation correction factors."""

    path: str = Field(description="CSV with one row per unit: unit id, GDP, population")
    id_column: str = Field("unit_id", description="unit id column of the table")
    gdp_column: str = Field("gdp_10k_cny", description="GDP column (10^4 CNY, 万元)")
    population_column: str | None = Field("population", description="population column "
                                          "(persons); empty = none")


class ZoningConfig(Section):
    """``[zoning]``: ECC/ESC quadrant zones, graded classes and the carbon-risk overlay."""

    ecc_breakpoint: float = Field(1.0, gt=0, description="ECC breakpoint of the quadrant "
                                  "zones (value at the breakpoint counts as high)")
    esc_breakpoint: float = Field(1.0, gt=0, description="ESC breakpoint of the quadrant zones")
    graded_columns: list[str] = Field(default_factory=list, description="units columns "
                                      "graded into classes (<col>_class); default: the net "
                                      "density")
    grading_method: Literal["quantiles", "natural_breaks", "equal_interval"] = Field(
        "quantiles", description="mapclassify scheme (natural_breaks = Fisher-Jenks)")
    grading_classes: int = Field(5, ge=2, le=9, description="number of graded classes")
    risk_flags: list[RiskFlag] = Field(
        default_factory=_all_flags,
        description="carbon-risk flags combined in the overlay (R2/R3 need an earlier period)")
    ratio_threshold: float | str = Field("p75", description="R1: source/sink ratio E/S above "
                                         "which a unit is flagged, or 'pNN'/'median' of all "
                                         "units")
    hotspot_z: float = Field(1.96, description="R5: Gi* z-score of a flagged hot spot")
    sink_loss_tolerance: float = Field(0.05, ge=0, description="R3: allowed relative fall of "
                                       "sequestration between periods")
    conversion_min_ha: float = Field(1.0, ge=0, description="R3: land converted to "
                                     "construction (ha) above which a unit is flagged (as "
                                     "[change.monitoring]; 0 flags any converted pixel, "
                                     "classification noise included)")
    min_flags: int = Field(1, ge=1, description="flags needed for the carbon-risk zone")

    @field_validator("ratio_threshold")
    @classmethod
    def _check_ratio_threshold(cls, value: float | str) -> float | str:
        from landcarbon.accounting.risk import parse_threshold

        return parse_threshold(value)


class HotspotsConfig(Section):
    """``[hotspots]``: Getis-Ord Gi* and local Moran's I of the net flux density."""

    on: Literal["units", "grid", "both"] = Field("units", description="units, a regular grid "
                                                 "over the area (raster mode), or both")
    cell_size_m: float = Field(1000.0, gt=0, description="grid cell side, m")
    weights: Literal["queen", "rook", "knn"] = Field("queen", description="spatial weights")
    k: int = Field(8, ge=1, description="neighbours for knn (and for islands)")
    permutations: int = Field(999, ge=0, description="conditional permutations (0 = analytic "
                              "p-values only)")
    seed: int = Field(12345, description="random seed of the permutations")
    p_value: Literal["permutation", "analytic"] = Field(
        "permutation", description="pseudo p-value from permutations or normal p of z")
    correction: Literal["fdr", "none"] = Field("fdr", description="multiple-testing correction "
                                               "(Benjamini-Hochberg FDR)")
    local_moran: bool = Field(True, description="also compute local Moran's I clusters")
    min_coverage: float = Field(0.5, ge=0, le=1, description="grid: cells with less classified "
                                "land than this share of their area are left out")


class SinkZonesConfig(Section):
    """``[sink_zones]``: carbon-sink function zones and water corridors (raster mode)."""

    window_m: float = Field(500.0, gt=0, description="moving window smoothing the sink "
                            "density, m")
    min_density_tc_per_ha: float = Field(0.3, ge=0, description="smoothed sink density of a "
                                         "zone, t C/ha/yr (positive)")
    min_area_ha: float = Field(50.0, ge=0, description="smallest zone or corridor, ha")
    corridor_width_m: float = Field(200.0, ge=0, description="corridor half-width along "
                                    "water, m (0 = none)")
    n_cores: int = Field(2, ge=0, description="largest-sink zones labelled core")
    max_cells: int = Field(10_000_000, ge=10_000, description="larger rasters are aggregated "
                           "by block means to at most this many cells first")


class CompensationConfig(Section):
    """``[compensation]``: zero-sum horizontal carbon compensation between units."""

    price_per_tco2: float = Field(0.0, ge=0, description="carbon price per t CO2 (0 = carbon "
                                  "amounts only)")
    currency: str = Field("CNY", description="currency label of the values")
    band: float = Field(0.05, ge=0, description="balanced band, fraction of the unit's emission")
    correction_column: str | None = Field(None, description="[statistics] column holding "
                                          "correction factors K_i (default 1)")


class UncertaintyConfig(Section):
    """``[uncertainty]``: Monte Carlo over coefficient distributions and a threshold sweep."""

    coefficients: str = Field("lai2010_ranges", description="built-in distribution table or "
                              "CSV path (land_class, distribution, low, mode, high, mean, sd, "
                              "unit)")
    draws: int = Field(1000, ge=1, le=100_000, description="Monte Carlo draws")
    seed: int = Field(0, description="random seed")
    sweep: bool = Field(True, description="run the threshold sweep (sweep.csv, sweep.png)")
    sweep_relative_range: float = Field(0.5, gt=0, le=1, description="sweep each threshold "
                                        "over +/- this fraction (at most 1: the thresholds "
                                        "stay on their side of 0)")
    sweep_steps: int = Field(21, ge=2, le=201, description="thresholds per space type")

    @field_validator("coefficients")
    @classmethod
    def _not_empty(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("coefficients must name a distribution table")
        return value
