"""Resolving a config's settings into the value objects the step functions take.

The one resolve step of every command: :func:`landcarbon.pipeline.assess` (so run, zone,
sweep, batch, change, scenario) and :func:`landcarbon.pipeline.validate.validate_config` (and
the gate) load the legend, the coefficient set and the coefficient distributions through
the same functions here, so what validate accepts is what a run uses."""

from __future__ import annotations

from typing import TYPE_CHECKING

from landcarbon.accounting.display_units import DisplayUnits
from landcarbon.accounting.risk import RiskBands
from landcarbon.accounting.spaces import SpaceTypeOverride, SpaceTypeRule
from landcarbon.config.run import RunConfig

if TYPE_CHECKING:
    import pandas as pd

    from landcarbon.accounting.coefficients import CoefficientSet
    from landcarbon.accounting.legends import Legend

__all__ = ["builtin_sets", "coefficient_ranges", "coefficient_ref", "coefficient_set",
           "display_units", "legend", "legend_ref", "risk_bands", "space_type_rule"]


def space_type_rule(config: RunConfig) -> SpaceTypeRule:
    """The ``[space_type_rule]`` of ``config`` as a
    :class:`~landcarbon.accounting.spaces.SpaceTypeRule`."""
    return SpaceTypeRule(tuple(SpaceTypeOverride(o.space_type, o.min_share)
                               for o in config.space_type_rule.overrides))


def risk_bands(config: RunConfig) -> RiskBands:
    """The ``[risk]`` margins of ``config`` as :class:`~landcarbon.accounting.risk.RiskBands`."""
    r = config.risk
    return RiskBands(r.approaching_margin, r.severe_margin, r.scale_floor_tc_per_ha)


def display_units(config: RunConfig) -> DisplayUnits:
    """How ``config``'s outputs show masses and areas (``[coefficients] output_unit``,
    ``[output] mass_scale`` and ``area_unit``; ``auto`` is t in the tables)."""
    out = config.output
    return DisplayUnits(config.coefficients.output_unit, out.mass_scale, out.area_unit)


def coefficient_ref(config: RunConfig) -> str:
    """The coefficient set of ``config``: a built-in name or the absolute path of a CSV."""
    name = config.coefficients.set
    return name if name in builtin_sets() else config.path(name)


def builtin_sets() -> list[str]:
    from landcarbon.accounting.coefficients import list_coefficient_sets

    return list_coefficient_sets()


def legend_ref(config: RunConfig, legend: str) -> str:
    from landcarbon.accounting.legends import list_legends

    return legend if legend in list_legends() else config.path(legend)


def legend(config: RunConfig) -> Legend:
    """The legend of ``config``'s land cover (or parcels), with its ``rural_settlement``
    switch applied.

    Raises
    ------
    InputError
        Unknown legend, unreadable CSV or invalid rows (``code``: the error's problem code).
    """
    from landcarbon.accounting.legends import load_legend

    source = config.landcover or config.parcels
    assert source is not None  # the config model requires one of them
    return load_legend(legend_ref(config, source.legend), source.rural_settlement,
                       encoding=config.csv_encoding)


def coefficient_set(config: RunConfig) -> CoefficientSet:
    """The coefficient set of ``config`` as a run starts with it: overrides applied; with a
    ``crop_table`` cropland is a sink whose density is set after the zonal pass
    (:func:`landcarbon.pipeline._crops.with_crop_sink`), so 0 here.

    Raises
    ------
    InputError
        Unknown set, unreadable CSV, bad units or values, inconsistent cropland settings.
    """
    from landcarbon.accounting.coefficients import load_coefficients

    cc = config.coefficients
    crops = bool(cc.crop_table)
    return load_coefficients(
        coefficient_ref(config), overrides=cc.overrides,
        cropland_mode="sink" if crops else cc.cropland_mode,
        cropland_sink_tc_per_ha=0.0 if crops else cc.cropland_sink_tc_per_ha,
        encoding=config.csv_encoding)


def coefficient_ranges(config: RunConfig) -> pd.DataFrame:
    """The coefficient distributions of ``[uncertainty] coefficients`` (a built-in table or
    a CSV relative to the config file).

    Raises
    ------
    InputError
        Unknown table or invalid rows.
    """
    from landcarbon.zoning.uncertainty import list_coefficient_ranges, load_coefficient_ranges

    assert config.uncertainty is not None
    name = config.uncertainty.coefficients
    return load_coefficient_ranges(name if name in list_coefficient_ranges()
                                   else config.path(name))
