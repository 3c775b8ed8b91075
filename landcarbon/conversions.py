"""Unit conversions for carbon densities and masses.

Canonical units inside landcarbon: **t C** for masses, **t C/ha/yr** for flux densities,
**ha** for areas (1 ha = 10,000 m2 = 0.01 km2 = 15 mu). Carbon to carbon dioxide:
1 t C = 44/12 t CO2 (molar masses of CO2 and C).
"""

from __future__ import annotations

import re
from typing import Literal

__all__ = [
    "C_TO_CO2",
    "DENSITY_UNITS",
    "OutputUnit",
    "density_factor",
    "output_factor",
    "output_suffix",
]

#: t CO2 per t C.
C_TO_CO2 = 44.0 / 12.0
#: mu (亩) per hectare.
MU_PER_HA = 15.0

OutputUnit = Literal["t C", "t CO2"]

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


def output_suffix(output_unit: OutputUnit) -> str:
    """Column suffix for ``output_unit``: ``tc`` or ``tco2``."""
    return {"t C": "tc", "t CO2": "tco2"}[output_unit]
