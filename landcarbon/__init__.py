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
    "publish_run": "landcarbon.pipeline",
    "build_portal": "landcarbon.pipeline",
    "wgs84_to_gcj02": "landcarbon.publish.gcj02",
    "raster_overlay": "landcarbon.publish.rasters",
    "atlas_report": "landcarbon.publish.report",
    "change_map": "landcarbon.publish.change_map",
    "change_report": "landcarbon.publish.change_map",
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
    "align_to": "landcarbon.change",
    "category_transitions": "landcarbon.change",
    "change_summary": "landcarbon.change",
    "check_aligned": "landcarbon.change",
    "comprehensive_dynamic_degree": "landcarbon.change",
    "flux_effect": "landcarbon.change",
    "transfer_matrix": "landcarbon.change",
    "transition_areas_ha": "landcarbon.change",
    "stock_change": "landcarbon.stocks",
    "stock_change_raster": "landcarbon.stocks",
    "stock_density": "landcarbon.stocks",
    "unit_stocks": "landcarbon.stocks",
    "validate_pool_table": "landcarbon.stocks",
    "valuation_constant": "landcarbon.stocks",
    "read_pool_table": "landcarbon.io.pools",
    "alerts": "landcarbon.monitoring",
    "alerts_layer": "landcarbon.monitoring",
    "timeseries": "landcarbon.monitoring",
    "timeseries_layer": "landcarbon.monitoring",
    "compare_scenarios": "landcarbon.scenario",
    "markov_projection": "landcarbon.scenario",
    "protect": "landcarbon.scenario",
    "reduce_construction": "landcarbon.scenario",
    "restore_wetland": "landcarbon.scenario",
    "transition_probabilities": "landcarbon.scenario",
    "units_mask": "landcarbon.scenario",
    "ChangeResult": "landcarbon.pipeline",
    "ScenarioResult": "landcarbon.pipeline",
    "assess_change": "landcarbon.pipeline",
    "assess_scenarios": "landcarbon.pipeline",
    "run_change": "landcarbon.pipeline",
    "run_scenarios": "landcarbon.pipeline",
    "index_areas_ha": "landcarbon.zonal",
    "Problem": "landcarbon.problems",
    "ValidationReport": "landcarbon.validate",
    "validate_config": "landcarbon.validate",
    "repair_geometries": "landcarbon.unit_checks",
    "overlaps": "landcarbon.unit_checks",
    "BatchResult": "landcarbon.pipeline",
    "batch_configs": "landcarbon.pipeline",
    "batch_regions": "landcarbon.pipeline",
    "crop_to_units": "landcarbon.extent",
    "read_worldcover": "landcarbon.io.worldcover",
    "save_worldcover": "landcarbon.io.worldcover",
    "worldcover_tiles": "landcarbon.io.worldcover",
    "worldcover_urls": "landcarbon.io.worldcover",
}

__all__ = [
    "Assessment",
    "BatchResult",
    "ChangeResult",
    "CoefficientSet",
    "ConfigError",
    "InputError",
    "LandcarbonError",
    "Legend",
    "OutputExistsError",
    "Problem",
    "RiskBands",
    "RunConfig",
    "ScenarioResult",
    "SpaceTypeOverride",
    "SpaceTypeRule",
    "UnmappedCodesError",
    "ValidationReport",
    "__version__",
    "alerts",
    "alerts_layer",
    "align_to",
    "apply_zoning",
    "assess",
    "assess_change",
    "assess_risk",
    "assess_scenarios",
    "atlas_report",
    "balance_indicators",
    "batch_configs",
    "batch_regions",
    "build_portal",
    "category_transitions",
    "cell_areas_m2",
    "change_map",
    "change_report",
    "change_summary",
    "check_aligned",
    "check_codes",
    "class_areas",
    "class_areas_from_parcels",
    "classify",
    "code_counts",
    "compare_scenarios",
    "compensation_flows",
    "comprehensive_dynamic_degree",
    "construction_emissions",
    "crop_to_units",
    "explore_units",
    "flux_density",
    "flux_effect",
    "geodesic_areas_m2",
    "graded_classes",
    "grid_cells",
    "grid_values",
    "horizontal_compensation",
    "index_areas_ha",
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
    "markov_projection",
    "monte_carlo",
    "open_landcover",
    "overlaps",
    "protect",
    "publish_run",
    "quadrant_zones",
    "raster_overlay",
    "read_pool_table",
    "read_units",
    "read_worldcover",
    "reduce_construction",
    "repair_geometries",
    "resolve_thresholds",
    "restore_wetland",
    "risk_overlay",
    "run",
    "run_change",
    "run_scenarios",
    "safe_ratio",
    "save_worldcover",
    "sink_function_zones",
    "space_type_raster",
    "space_types",
    "stock_change",
    "stock_change_raster",
    "stock_density",
    "sweep_figure",
    "threshold_sweep",
    "timeseries",
    "timeseries_layer",
    "to_output_unit",
    "transfer_matrix",
    "transition_areas_ha",
    "transition_probabilities",
    "unit_balance",
    "unit_space_types",
    "unit_stocks",
    "units_mask",
    "validate_config",
    "validate_pool_table",
    "valuation_constant",
    "wgs84_to_gcj02",
    "worldcover_tiles",
    "worldcover_urls",
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
    from landcarbon.change import (
        align_to,
        category_transitions,
        change_summary,
        check_aligned,
        comprehensive_dynamic_degree,
        flux_effect,
        transfer_matrix,
        transition_areas_ha,
    )
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
    from landcarbon.extent import crop_to_units
    from landcarbon.flux import flux_density
    from landcarbon.hotspots import grid_cells, grid_values, local_statistics
    from landcarbon.indicators import balance_indicators, safe_ratio
    from landcarbon.io.pools import read_pool_table
    from landcarbon.io.raster import open_landcover, write_raster
    from landcarbon.io.vector import read_units
    from landcarbon.io.worldcover import (
        read_worldcover,
        save_worldcover,
        worldcover_tiles,
        worldcover_urls,
    )
    from landcarbon.legends import Legend, land_classes, list_legends, load_legend, space_types
    from landcarbon.monitoring import alerts, alerts_layer, timeseries, timeseries_layer
    from landcarbon.parcels import class_areas_from_parcels
    from landcarbon.pipeline import (
        Assessment,
        BatchResult,
        ChangeResult,
        ScenarioResult,
        apply_zoning,
        assess,
        assess_change,
        assess_scenarios,
        batch_configs,
        batch_regions,
        build_portal,
        publish_run,
        run,
        run_change,
        run_scenarios,
    )
    from landcarbon.problems import Problem
    from landcarbon.publish import explore_units
    from landcarbon.publish.change_map import change_map, change_report
    from landcarbon.publish.gcj02 import wgs84_to_gcj02
    from landcarbon.publish.rasters import raster_overlay
    from landcarbon.publish.report import atlas_report
    from landcarbon.risk import RiskBands, assess_risk, load_threshold_preset, resolve_thresholds
    from landcarbon.scenario import (
        compare_scenarios,
        markov_projection,
        protect,
        reduce_construction,
        restore_wetland,
        transition_probabilities,
        units_mask,
    )
    from landcarbon.sinkzones import sink_function_zones
    from landcarbon.spaces import SpaceTypeOverride, SpaceTypeRule, unit_space_types
    from landcarbon.stocks import (
        stock_change,
        stock_change_raster,
        stock_density,
        unit_stocks,
        validate_pool_table,
        valuation_constant,
    )
    from landcarbon.uncertainty import (
        load_coefficient_ranges,
        monte_carlo,
        sweep_figure,
        threshold_sweep,
    )
    from landcarbon.unit_checks import overlaps, repair_geometries
    from landcarbon.validate import ValidationReport, validate_config
    from landcarbon.zonal import class_areas, index_areas_ha
    from landcarbon.zoning import graded_classes, quadrant_zones, risk_overlay, zone_layers
