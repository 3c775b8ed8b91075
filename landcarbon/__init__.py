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
    module = _API.get(name)
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
