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

#: The public API a notebook user needs: name -> module it lives in (``__all__`` derives
#: from it). Everything else lives in its subpackage (:mod:`landcarbon.accounting`,
#: :mod:`landcarbon.engine`, :mod:`landcarbon.zoning`, :mod:`landcarbon.change`, ...).
_API = {
    "Assessment": "landcarbon.pipeline",
    "ChangeResult": "landcarbon.pipeline",
    "RunConfig": "landcarbon.config.run",
    "ScenarioResult": "landcarbon.pipeline",
    "ValidationReport": "landcarbon.pipeline.validate",
    "apply_zoning": "landcarbon.pipeline",
    "assess": "landcarbon.pipeline",
    "assess_change": "landcarbon.pipeline",
    "assess_risk": "landcarbon.accounting.risk",
    "assess_scenarios": "landcarbon.pipeline",
    "assess_stocks": "landcarbon.pipeline.stocks_study",
    "batch_configs": "landcarbon.pipeline",
    "batch_regions": "landcarbon.pipeline",
    "build_portal": "landcarbon.pipeline",
    "class_areas": "landcarbon.engine.zonal",
    "classify": "landcarbon.accounting.classification",
    "explore_units": "landcarbon.publish",
    "load_coefficients": "landcarbon.accounting.coefficients",
    "load_config": "landcarbon.config.run",
    "load_legend": "landcarbon.accounting.legends",
    "open_landcover": "landcarbon.io.raster",
    "publish_run": "landcarbon.pipeline",
    "read_units": "landcarbon.io.vector",
    "run": "landcarbon.pipeline",
    "run_change": "landcarbon.pipeline",
    "run_scenarios": "landcarbon.pipeline",
    "unit_balance": "landcarbon.accounting.balance",
    "validate_config": "landcarbon.pipeline.validate",
}

#: Further step functions still reachable as ``landcarbon.<name>`` (lazily, for existing
#: notebooks and scripts) but not part of ``__all__``: import them from their subpackage.
_MORE = {
    "Legend": "landcarbon.accounting.legends",
    "StockStudy": "landcarbon.pipeline.stocks_study",
    "run_stocks": "landcarbon.pipeline.stocks_study",
    "list_legends": "landcarbon.accounting.legends",
    "land_classes": "landcarbon.accounting.legends",
    "space_types": "landcarbon.accounting.legends",
    "CoefficientSet": "landcarbon.accounting.coefficients",
    "list_coefficient_sets": "landcarbon.accounting.coefficients",
    "write_raster": "landcarbon.io.cogs",
    "code_counts": "landcarbon.accounting.classification",
    "check_codes": "landcarbon.accounting.classification",
    "land_class_raster": "landcarbon.accounting.classification",
    "space_type_raster": "landcarbon.accounting.classification",
    "class_areas_from_parcels": "landcarbon.engine.parcels",
    "flux_density": "landcarbon.accounting.flux",
    "to_output_unit": "landcarbon.accounting.balance",
    "SpaceTypeRule": "landcarbon.accounting.spaces",
    "SpaceTypeOverride": "landcarbon.accounting.spaces",
    "unit_space_types": "landcarbon.accounting.spaces",
    "RiskBands": "landcarbon.accounting.risk",
    "resolve_thresholds": "landcarbon.accounting.risk",
    "load_threshold_preset": "landcarbon.accounting.risk",
    "construction_emissions": "landcarbon.accounting.energy",
    "wgs84_to_gcj02": "landcarbon.publish.gcj02",
    "raster_overlay": "landcarbon.publish.rasters",
    "atlas_report": "landcarbon.publish.report",
    "change_map": "landcarbon.publish.change_map",
    "change_report": "landcarbon.publish.change_report",
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
    "index_areas_ha": "landcarbon.engine.zonal",
    "Problem": "landcarbon.checks.problems",
    "repair_geometries": "landcarbon.checks.units",
    "overlaps": "landcarbon.checks.units",
    "BatchResult": "landcarbon.pipeline",
    "crop_to_units": "landcarbon.engine.extent",
    "read_worldcover": "landcarbon.io.worldcover",
    "save_worldcover": "landcarbon.io.worldcover",
    "worldcover_tiles": "landcarbon.io.worldcover",
    "worldcover_urls": "landcarbon.io.worldcover",
}

__all__ = [
    "ConfigError",
    "InputError",
    "LandcarbonError",
    "OutputExistsError",
    "UnmappedCodesError",
    "__version__",
    *_API,
]


def __getattr__(name: str) -> Any:
    module = _API.get(name) or _MORE.get(name)
    if module is not None:
        value = getattr(importlib.import_module(module), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'landcarbon' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)


if TYPE_CHECKING:  # pragma: no cover
    from landcarbon.accounting.balance import unit_balance
    from landcarbon.accounting.classification import classify
    from landcarbon.accounting.coefficients import load_coefficients
    from landcarbon.accounting.legends import load_legend
    from landcarbon.accounting.risk import assess_risk
    from landcarbon.config.run import RunConfig, load_config
    from landcarbon.engine.zonal import class_areas
    from landcarbon.io.raster import open_landcover
    from landcarbon.io.vector import read_units
    from landcarbon.pipeline import (
        Assessment,
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
    from landcarbon.pipeline.stocks_study import assess_stocks
    from landcarbon.pipeline.validate import ValidationReport, validate_config
    from landcarbon.publish import explore_units
