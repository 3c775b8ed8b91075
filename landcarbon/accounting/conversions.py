"""Unit conversions for carbon densities and masses.

Canonical units inside landcarbon: **t C** for masses, **t C/ha/yr** for flux densities,
**ha** for areas (1 ha = 10,000 m2 = 0.01 km2 = 15 mu). Carbon to carbon dioxide:
1 t C = 44/12 t CO2 (molar masses of CO2 and C).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "C_TO_CO2",
    "DENSITY_UNITS",
    "OUTPUT_UNITS",
    "OutputUnit",
    "canonical_name",
    "density_factor",
    "flux_suffix",
    "output_factor",
    "output_name",
    "output_suffix",
    "raster_density_units",
    "suffix_factor",
    "to_output_unit",
    "totals_in_output_unit",
    "unit_label",
]

#: t CO2 per t C.
C_TO_CO2 = 44.0 / 12.0
#: mu (亩) per hectare.
MU_PER_HA = 15.0

OutputUnit = Literal["t C", "t CO2"]

#: The t C quantity columns of the canonical tables (units, zoning layers): what
#: :func:`to_output_unit` scales and renames. Stocks (``stock_*_tc``), flux effects
#: (``flux_change_tc``), prices (``*_per_tc``) and intensities (``intensity_tc_per_ha``) are
#: not among them: they stay in t C in every output.
FLUX_COLUMN = re.compile(
    r"(?P<stem>emission|sequestration|net|construction_emission|threshold|emission_intensity"
    r"|compensation|carbon|transfers_sum|owed|net_(?:agricultural|construction|ecological))"
    r"_tc(?P<per>_per_ha|_per_10k_cny|_per_capita)?(?P<tail>_p\d+(?:\.\d+)?)?")

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


def output_name(column: str, output_unit: str) -> str | None:
    """The name of the canonical t C column ``column`` in ``output_unit`` (``net_tc`` ->
    ``net_tco2``), or None when ``column`` is not one of :data:`FLUX_COLUMN`."""
    m = FLUX_COLUMN.fullmatch(column)
    if m is None:
        return None
    return f"{m['stem']}_{output_suffix(output_unit)}{m['per'] or ''}{m['tail'] or ''}"


def canonical_name(column: str) -> str:
    """The canonical t C name of a column named in t CO2 (``net_tco2_per_ha`` ->
    ``net_tc_per_ha``, ``net_tco2_per_ha_class`` -> ``net_tc_per_ha_class``); other names
    as they are. Settings that name a column (``[zoning] graded_columns``) may use either."""
    stem, dot, cls = column.partition("_class") if column.endswith("_class") else (
        column, "", "")
    tc = stem.replace("_tco2", "_tc", 1)
    if tc != stem and output_name(tc, "t CO2") == stem:
        return tc + dot + cls
    return column


def to_output_unit(table: pd.DataFrame, output_unit: OutputUnit) -> pd.DataFrame:
    """The edge conversion: ``table`` (canonical t C columns, :data:`FLUX_COLUMN`) with those
    columns scaled to ``output_unit`` (x 44/12 for t CO2) and renamed (``*_tc`` ->
    ``*_tco2``); a copy (GeoDataFrames stay GeoDataFrames). Every writer, label and public
    view of a table in the output unit goes through it; computing never does."""
    factor = output_factor(output_unit)
    out = table.copy()
    if factor == 1.0:
        return out
    renames = {}
    for col in out.columns:
        name = output_name(str(col), output_unit)
        if name is not None:
            out[col] = out[col] * factor
            renames[col] = name
        elif str(col).endswith("_class") and (
                name := output_name(str(col).removesuffix("_class"), output_unit)):
            renames[col] = name + "_class"  # graded classes of a flux column: renamed only
    return out.rename(columns=renames)


def totals_in_output_unit(totals: dict[str, Any], output_unit: OutputUnit) -> dict[str, Any]:
    """A dict of totals keyed like :data:`FLUX_COLUMN` (``net_tc``...), nested dicts
    included, in ``output_unit`` (keys renamed, numbers scaled); other keys as they are."""
    factor = output_factor(output_unit)
    if factor == 1.0:
        return totals
    out: dict[str, Any] = {}
    for key, value in totals.items():
        name = output_name(str(key), output_unit)
        if isinstance(value, dict):
            out[key] = totals_in_output_unit(value, output_unit)
        elif name is not None and isinstance(value, (int, float)) and value is not None:
            out[name] = value * factor
        else:
            out[key] = value
    return out


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
