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

from landcarbon._resources import package_version
from landcarbon.exceptions import (
    ConfigError,
    InputError,
    LandcarbonError,
    OutputExistsError,
    UnmappedCodesError,
)

__version__ = package_version()

_LAZY = {
    "Legend": "landcarbon.accounting.legends",
    "load_legend": "landcarbon.accounting.legends",
    "list_legends": "landcarbon.accounting.legends",
    "land_classes": "landcarbon.accounting.legends",
    "space_types": "landcarbon.accounting.legends",
    "CoefficientSet": "landcarbon.accounting.coefficients",
    "load_coefficients": "landcarbon.accounting.coefficients",
    "list_coefficient_sets": "landcarbon.accounting.coefficients",
    "open_landcover": "landcarbon.io.raster",
    "write_raster": "landcarbon.io.cogs",
    "read_units": "landcarbon.io.vector",
    "code_counts": "landcarbon.accounting.classification",
    "check_codes": "landcarbon.accounting.classification",
    "classify": "landcarbon.accounting.classification",
    "land_class_raster": "landcarbon.accounting.classification",
    "space_type_raster": "landcarbon.accounting.classification",
    "class_areas": "landcarbon.engine.zonal",
    "class_areas_from_parcels": "landcarbon.engine.parcels",
    "flux_density": "landcarbon.accounting.flux",
    "unit_balance": "landcarbon.accounting.balance",
    "to_output_unit": "landcarbon.accounting.balance",
    "SpaceTypeRule": "landcarbon.accounting.spaces",
    "SpaceTypeOverride": "landcarbon.accounting.spaces",
    "unit_space_types": "landcarbon.accounting.spaces",
    "RiskBands": "landcarbon.accounting.risk",
    "assess_risk": "landcarbon.accounting.risk",
    "resolve_thresholds": "landcarbon.accounting.risk",
    "load_threshold_preset": "landcarbon.accounting.risk",
    "construction_emissions": "landcarbon.accounting.energy",
    "RunConfig": "landcarbon.config.run",
    "load_config": "landcarbon.config.run",
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
    "cell_areas_m2": "landcarbon.engine.areas",
    "geodesic_areas_m2": "landcarbon.engine.areas",
    "balance_indicators": "landcarbon.zoning.indicators",
    "safe_ratio": "landcarbon.zoning.indicators",
    "quadrant_zones": "landcarbon.zoning.quadrants",
    "graded_classes": "landcarbon.zoning.quadrants",
    "risk_overlay": "landcarbon.zoning.quadrants",
    "zone_layers": "landcarbon.zoning.quadrants",
    "local_statistics": "landcarbon.zoning.hotspots",
    "grid_cells": "landcarbon.zoning.hotspots",
    "grid_values": "landcarbon.zoning.hotspots",
    "sink_function_zones": "landcarbon.zoning.sinkzones",
    "horizontal_compensation": "landcarbon.zoning.compensation",
    "compensation_flows": "landcarbon.zoning.compensation",
    "load_coefficient_ranges": "landcarbon.zoning.uncertainty",
    "monte_carlo": "landcarbon.zoning.uncertainty",
    "threshold_sweep": "landcarbon.zoning.uncertainty",
    "sweep_figure": "landcarbon.publish.figures",
    "apply_zoning": "landcarbon.pipeline",
    "align_to": "landcarbon.change.transitions",
    "category_transitions": "landcarbon.change.transitions",
    "change_summary": "landcarbon.change.transitions",
    "check_aligned": "landcarbon.change.transitions",
    "comprehensive_dynamic_degree": "landcarbon.change.transitions",
    "flux_effect": "landcarbon.change.transitions",
    "transfer_matrix": "landcarbon.change.transitions",
    "transition_areas_ha": "landcarbon.change.transitions",
    "stock_change": "landcarbon.change.stocks",
    "stock_change_raster": "landcarbon.change.stocks",
    "stock_density": "landcarbon.change.stocks",
    "unit_stocks": "landcarbon.change.stocks",
    "validate_pool_table": "landcarbon.change.stocks",
    "valuation_constant": "landcarbon.change.stocks",
    "read_pool_table": "landcarbon.io.pools",
    "alerts": "landcarbon.change.monitoring",
    "dynamic_risk": "landcarbon.change.dynamic_risk",
    "tapio_states": "landcarbon.change.dynamic_risk",
    "alerts_layer": "landcarbon.change.monitoring",
    "timeseries": "landcarbon.change.monitoring",
    "timeseries_layer": "landcarbon.change.monitoring",
    "compare_scenarios": "landcarbon.change.scenarios",
    "markov_projection": "landcarbon.change.scenarios",
    "protect": "landcarbon.change.scenarios",
    "reduce_construction": "landcarbon.change.scenarios",
    "restore_wetland": "landcarbon.change.scenarios",
    "transition_probabilities": "landcarbon.change.scenarios",
    "units_mask": "landcarbon.change.scenarios",
    "ChangeResult": "landcarbon.pipeline",
    "ScenarioResult": "landcarbon.pipeline",
    "assess_change": "landcarbon.pipeline",
    "assess_scenarios": "landcarbon.pipeline",
    "run_change": "landcarbon.pipeline",
    "run_scenarios": "landcarbon.pipeline",
    "index_areas_ha": "landcarbon.engine.zonal",
    "Problem": "landcarbon.checks.problems",
    "ValidationReport": "landcarbon.pipeline.validate",
    "validate_config": "landcarbon.pipeline.validate",
    "repair_geometries": "landcarbon.checks.units",
    "overlaps": "landcarbon.checks.units",
    "BatchResult": "landcarbon.pipeline",
    "batch_configs": "landcarbon.pipeline",
    "batch_regions": "landcarbon.pipeline",
    "crop_to_units": "landcarbon.engine.extent",
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
    "dynamic_risk",
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
    "tapio_states",
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
    from landcarbon.accounting.balance import to_output_unit, unit_balance
    from landcarbon.accounting.classification import (
        check_codes,
        classify,
        code_counts,
        land_class_raster,
        space_type_raster,
    )
    from landcarbon.accounting.coefficients import (
        CoefficientSet,
        list_coefficient_sets,
        load_coefficients,
    )
    from landcarbon.accounting.energy import construction_emissions
    from landcarbon.accounting.flux import flux_density
    from landcarbon.accounting.legends import (
        Legend,
        land_classes,
        list_legends,
        load_legend,
        space_types,
    )
    from landcarbon.accounting.risk import (
        RiskBands,
        assess_risk,
        load_threshold_preset,
        resolve_thresholds,
    )
    from landcarbon.accounting.spaces import SpaceTypeOverride, SpaceTypeRule, unit_space_types
    from landcarbon.change.dynamic_risk import dynamic_risk, tapio_states
    from landcarbon.change.monitoring import alerts, alerts_layer, timeseries, timeseries_layer
    from landcarbon.change.scenarios import (
        compare_scenarios,
        markov_projection,
        protect,
        reduce_construction,
        restore_wetland,
        transition_probabilities,
        units_mask,
    )
    from landcarbon.change.stocks import (
        stock_change,
        stock_change_raster,
        stock_density,
        unit_stocks,
        validate_pool_table,
        valuation_constant,
    )
    from landcarbon.change.transitions import (
        align_to,
        category_transitions,
        change_summary,
        check_aligned,
        comprehensive_dynamic_degree,
        flux_effect,
        transfer_matrix,
        transition_areas_ha,
    )
    from landcarbon.checks.problems import Problem
    from landcarbon.checks.units import overlaps, repair_geometries
    from landcarbon.config.run import RunConfig, load_config
    from landcarbon.engine.areas import cell_areas_m2, geodesic_areas_m2
    from landcarbon.engine.extent import crop_to_units
    from landcarbon.engine.parcels import class_areas_from_parcels
    from landcarbon.engine.zonal import class_areas, index_areas_ha
    from landcarbon.io.cogs import write_raster
    from landcarbon.io.pools import read_pool_table
    from landcarbon.io.raster import open_landcover
    from landcarbon.io.vector import read_units
    from landcarbon.io.worldcover import (
        read_worldcover,
        save_worldcover,
        worldcover_tiles,
        worldcover_urls,
    )
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
    from landcarbon.pipeline.validate import ValidationReport, validate_config
    from landcarbon.publish import explore_units
    from landcarbon.publish.change_map import change_map, change_report
    from landcarbon.publish.figures import sweep_figure
    from landcarbon.publish.gcj02 import wgs84_to_gcj02
    from landcarbon.publish.rasters import raster_overlay
    from landcarbon.publish.report import atlas_report
    from landcarbon.zoning.compensation import compensation_flows, horizontal_compensation
    from landcarbon.zoning.hotspots import grid_cells, grid_values, local_statistics
    from landcarbon.zoning.indicators import balance_indicators, safe_ratio
    from landcarbon.zoning.quadrants import (
        graded_classes,
        quadrant_zones,
        risk_overlay,
        zone_layers,
    )
    from landcarbon.zoning.sinkzones import sink_function_zones
    from landcarbon.zoning.uncertainty import (
        load_coefficient_ranges,
        monte_carlo,
        threshold_sweep,
    )
