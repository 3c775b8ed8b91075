"""Unit conversions for carbon densities and masses.

Canonical units inside landcarbon: **t C** for masses, **t C/ha/yr** for flux densities,
**ha** for areas (1 ha = 10,000 m2 = 0.01 km2 = 15 mu). Carbon to carbon dioxide:
1 t C = 44/12 t CO2 (molar masses of CO2 and C).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Literal

__all__ = [
    "C_TO_CO2",
    "DENSITY_UNITS",
    "OUTPUT_UNITS",
    "OutputUnit",
    "density_factor",
    "flux_suffix",
    "output_factor",
    "output_suffix",
    "raster_density_units",
    "suffix_factor",
    "unit_label",
]

#: t CO2 per t C.
C_TO_CO2 = 44.0 / 12.0
#: mu (亩) per hectare.
MU_PER_HA = 15.0

OutputUnit = Literal["t C", "t CO2"]

#: The output units by the suffix of their flux columns (``net_tc``, ``net_tco2_per_ha``...):
#: the one table from which every unit label and column suffix of landcarbon is derived.
OUTPUT_UNITS: dict[str, OutputUnit] = {"tc": "t C", "tco2": "t CO2"}

# factor that converts a value in the key unit into t C/ha/yr
DENSITY_UNITS: dict[str, float] = {
    "t C/ha/yr": 1.0,
    "kg C/ha/yr": 1e-3,
    "kg C/m2/yr": 10.0,
    "g C/m2/yr": 1e-2,
    "t C/km2/yr": 1e-2,
    "t C/mu/yr": MU_PER_HA,
    "kg C/mu/yr": MU_PER_HA * 1e-3,
    "t CO2/ha/yr": 1.0 / C_TO_CO2,
    "kg CO2/m2/yr": 10.0 / C_TO_CO2,
    "t CO2/mu/yr": MU_PER_HA / C_TO_CO2,
    "t CO2/km2/yr": 1e-2 / C_TO_CO2,
}


def _normalise(unit: str) -> str:
    text = unit.strip().lower().replace("₂", "2").replace("²", "2").replace("·", "/")
    text = re.sub(r"[\s()\[\]]", "", text)
    text = text.replace("hm2", "ha").replace("/year", "/yr").replace("/a", "/yr")
    text = text.replace("亩", "mu").replace("公顷", "ha")
    if not text.endswith("/yr"):
        text += "/yr"
    return text


_LOOKUP = {_normalise(k): v for k, v in DENSITY_UNITS.items()}


def density_factor(unit: str) -> float:
    """Factor converting a flux density given in ``unit`` to t C/ha/yr.

    Accepts the spellings of :data:`DENSITY_UNITS` with free spacing and case, ``hm2`` for ha,
    ``/a`` for per year, ``亩`` for mu, and ``CO₂``.

    Raises
    ------
    ValueError
        If the unit is not recognised (the message lists the accepted units).
    """
    key = _normalise(unit)
    if key not in _LOOKUP:
        raise ValueError(
            f"unit {unit!r} is not recognised; use one of: {', '.join(DENSITY_UNITS)}"
        )
    return _LOOKUP[key]


def output_factor(output_unit: OutputUnit) -> float:
    """Factor converting t C into ``output_unit``."""
    if output_unit == "t C":
        return 1.0
    if output_unit == "t CO2":
        return C_TO_CO2
    raise ValueError(f"output_unit must be 't C' or 't CO2', got {output_unit!r}")


def raster_density_units(output_unit: OutputUnit) -> str:
    """The ``units`` attribute of a flux-density raster in ``output_unit`` per ha per year
    (UDUNITS spelling, as GDAL and QGIS show it): ``t C ha-1 yr-1`` / ``t CO2 ha-1 yr-1``."""
    if output_unit not in OUTPUT_UNITS.values():
        raise ValueError(f"output_unit must be 't C' or 't CO2', got {output_unit!r}")
    return f"{output_unit} ha-1 yr-1"


def output_suffix(output_unit: str) -> str:
    """Column suffix for ``output_unit``: ``tc`` or ``tco2`` (the display spelling
    ``t CO₂`` of :func:`unit_label` is accepted too)."""
    by_unit: dict[str, str] = {u: s for s, u in OUTPUT_UNITS.items()}
    return by_unit[output_unit.replace("₂", "2")]


def _unit(suffix: str) -> OutputUnit:
    if suffix not in OUTPUT_UNITS:
        raise ValueError(f"flux column suffix must be one of {', '.join(OUTPUT_UNITS)}, "
                         f"got {suffix!r}")
    return OUTPUT_UNITS[suffix]


def unit_label(suffix: str, *, display: bool = False) -> str:
    """Unit of the flux columns with ``suffix`` (``tc`` / ``tco2``): ``t C`` / ``t CO2``,
    or ``t CO₂`` with ``display=True`` (reports, maps and figures)."""
    unit = _unit(suffix)
    return unit.replace("CO2", "CO₂") if display else unit


def suffix_factor(suffix: str) -> float:
    """Factor converting t C into the unit of the flux columns with ``suffix``."""
    return output_factor(_unit(suffix))


def flux_suffix(columns: Iterable[object], templates: Iterable[str] = ("net_{}",)
                ) -> str | None:
    """The suffix (``tco2`` before ``tc``) of the first flux column present in ``columns``
    (table columns or dict keys), a column name being a template filled with a suffix
    (e.g. ``"net_{}_per_ha"``); ``None`` when there is none."""
    present = {str(c) for c in columns}
    forms = tuple(templates)
    for suffix in reversed(OUTPUT_UNITS):  # tco2 first
        if any(t.format(suffix) in present for t in forms):
            return suffix
    return None
