"""landcarbon: territorial-space carbon balance from land-cover rasters and land units.

Land cover is classified into agricultural, construction and ecological space; per-class
source and sink coefficients give each unit's emission, sequestration and net balance;
differentiated thresholds per space type give its carbon-risk level.

Quick tour::

    import landcarbon as lc
    codes = lc.open_landcover("landcover_2023.tif")
    legend = lc.load_legend("esa_worldcover")
    categories = lc.classify(codes, legend)
    units = lc.read_units("townships.gpkg", id_field="code", name_field="name")
    areas = lc.class_areas(categories, units)
    balance = lc.unit_balance(areas, lc.load_coefficients("lai2010"),
                              construction_intensity_tc_per_ha=50.0)

or the whole configured run: ``lc.assess(lc.load_config("demo.toml"))``.

Heavy dependencies are imported on first use, so ``import landcarbon`` stays light.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

try:
    from importlib.metadata import version as _version

    __version__ = _version("landcarbon")
except Exception:  # pragma: no cover - running from a source tree without metadata
    __version__ = "0+unknown"

from landcarbon.exceptions import (
    ConfigError,
    InputError,
    LandcarbonError,
    OutputExistsError,
    UnmappedCodesError,
)

_LAZY = {
    "Legend": "landcarbon.legends",
    "load_legend": "landcarbon.legends",
    "list_legends": "landcarbon.legends",
    "land_classes": "landcarbon.legends",
    "space_types": "landcarbon.legends",
    "CoefficientSet": "landcarbon.coefficients",
    "load_coefficients": "landcarbon.coefficients",
    "list_coefficient_sets": "landcarbon.coefficients",
    "open_landcover": "landcarbon.io.raster",
    "write_raster": "landcarbon.io.raster",
    "read_units": "landcarbon.io.vector",
    "code_counts": "landcarbon.classification",
    "check_codes": "landcarbon.classification",
    "classify": "landcarbon.classification",
    "land_class_raster": "landcarbon.classification",
    "space_type_raster": "landcarbon.classification",
    "class_areas": "landcarbon.zonal",
    "class_areas_from_parcels": "landcarbon.parcels",
    "flux_density": "landcarbon.flux",
    "unit_balance": "landcarbon.balance",
    "to_output_unit": "landcarbon.balance",
    "SpaceTypeRule": "landcarbon.spaces",
    "SpaceTypeOverride": "landcarbon.spaces",
    "unit_space_types": "landcarbon.spaces",
    "RiskBands": "landcarbon.risk",
    "assess_risk": "landcarbon.risk",
    "resolve_thresholds": "landcarbon.risk",
    "load_threshold_preset": "landcarbon.risk",
    "construction_emissions": "landcarbon.energy",
    "RunConfig": "landcarbon.config",
    "load_config": "landcarbon.config",
    "Assessment": "landcarbon.pipeline",
    "assess": "landcarbon.pipeline",
    "run": "landcarbon.pipeline",
    "explore_units": "landcarbon.publish",
    "cell_areas_m2": "landcarbon.areas",
    "geodesic_areas_m2": "landcarbon.areas",
    "balance_indicators": "landcarbon.indicators",
    "safe_ratio": "landcarbon.indicators",
    "quadrant_zones": "landcarbon.zoning",
    "graded_classes": "landcarbon.zoning",
    "risk_overlay": "landcarbon.zoning",
    "zone_layers": "landcarbon.zoning",
    "local_statistics": "landcarbon.hotspots",
    "grid_cells": "landcarbon.hotspots",
    "grid_values": "landcarbon.hotspots",
    "sink_function_zones": "landcarbon.sinkzones",
    "horizontal_compensation": "landcarbon.compensation",
    "compensation_flows": "landcarbon.compensation",
    "load_coefficient_ranges": "landcarbon.uncertainty",
    "monte_carlo": "landcarbon.uncertainty",
    "threshold_sweep": "landcarbon.uncertainty",
    "sweep_figure": "landcarbon.uncertainty",
    "apply_zoning": "landcarbon.pipeline",
}

__all__ = [
    "Assessment",
    "CoefficientSet",
    "ConfigError",
    "InputError",
    "LandcarbonError",
    "Legend",
    "OutputExistsError",
    "RiskBands",
    "RunConfig",
    "SpaceTypeOverride",
    "SpaceTypeRule",
    "UnmappedCodesError",
    "__version__",
    "apply_zoning",
    "assess",
    "assess_risk",
    "balance_indicators",
    "cell_areas_m2",
    "check_codes",
    "class_areas",
    "class_areas_from_parcels",
    "classify",
    "code_counts",
    "compensation_flows",
    "construction_emissions",
    "explore_units",
    "flux_density",
    "geodesic_areas_m2",
    "graded_classes",
    "grid_cells",
    "grid_values",
    "horizontal_compensation",
    "land_class_raster",
    "land_classes",
    "list_coefficient_sets",
    "list_legends",
    "load_coefficient_ranges",
    "load_coefficients",
    "load_config",
    "load_legend",
    "load_threshold_preset",
    "local_statistics",
    "monte_carlo",
    "open_landcover",
    "quadrant_zones",
    "read_units",
    "resolve_thresholds",
    "risk_overlay",
    "run",
    "safe_ratio",
    "sink_function_zones",
    "space_type_raster",
    "space_types",
    "sweep_figure",
    "threshold_sweep",
    "to_output_unit",
    "unit_balance",
    "unit_space_types",
    "write_raster",
    "zone_layers",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'landcarbon' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)


if TYPE_CHECKING:  # pragma: no cover
    from landcarbon.areas import cell_areas_m2, geodesic_areas_m2
    from landcarbon.balance import to_output_unit, unit_balance
    from landcarbon.classification import (
        check_codes,
        classify,
        code_counts,
        land_class_raster,
        space_type_raster,
    )
    from landcarbon.coefficients import CoefficientSet, list_coefficient_sets, load_coefficients
    from landcarbon.compensation import compensation_flows, horizontal_compensation
    from landcarbon.config import RunConfig, load_config
    from landcarbon.energy import construction_emissions
    from landcarbon.flux import flux_density
    from landcarbon.hotspots import grid_cells, grid_values, local_statistics
    from landcarbon.indicators import balance_indicators, safe_ratio
    from landcarbon.io.raster import open_landcover, write_raster
    from landcarbon.io.vector import read_units
    from landcarbon.legends import Legend, land_classes, list_legends, load_legend, space_types
    from landcarbon.parcels import class_areas_from_parcels
    from landcarbon.pipeline import Assessment, apply_zoning, assess, run
    from landcarbon.publish import explore_units
    from landcarbon.risk import RiskBands, assess_risk, load_threshold_preset, resolve_thresholds
    from landcarbon.sinkzones import sink_function_zones
    from landcarbon.spaces import SpaceTypeOverride, SpaceTypeRule, unit_space_types
    from landcarbon.uncertainty import (
        load_coefficient_ranges,
        monte_carlo,
        sweep_figure,
        threshold_sweep,
    )
    from landcarbon.zonal import class_areas
    from landcarbon.zoning import graded_classes, quadrant_zones, risk_overlay, zone_layers
