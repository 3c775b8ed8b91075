"""Resolving a config's settings into the value objects the step functions take."""

from __future__ import annotations

from landcarbon.accounting.risk import RiskBands
from landcarbon.accounting.spaces import SpaceTypeOverride, SpaceTypeRule
from landcarbon.config.run import RunConfig

__all__ = ["builtin_sets", "coefficient_ref", "legend_ref", "risk_bands", "space_type_rule"]


def space_type_rule(config: RunConfig) -> SpaceTypeRule:
    """The ``[space_type_rule]`` of ``config`` as a
    :class:`~landcarbon.accounting.spaces.SpaceTypeRule`."""
    return SpaceTypeRule(tuple(SpaceTypeOverride(o.space_type, o.min_share)
                               for o in config.space_type_rule.overrides))


def risk_bands(config: RunConfig) -> RiskBands:
    """The ``[risk]`` margins of ``config`` as :class:`~landcarbon.accounting.risk.RiskBands`."""
    r = config.risk
    return RiskBands(r.approaching_margin, r.severe_margin, r.scale_floor_tc_per_ha)


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
