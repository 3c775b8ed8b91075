"""Display units of the outputs: 万吨 (10^4 t) and 公顷 / 亩, applied only at the edges.

landcarbon computes in t C, t C/ha/yr and ha (``conversions``); ``output_unit`` turns t C
into t CO2 at the end of an assessment. The display options of ``[output]`` change only how
the written tables, the reasons and the report show those numbers:

* ``mass_scale = "wan_t"``: annual totals in 万吨 (10^4 t): ``net_tc`` -> ``net_wan_tc``
  (value / 10,000), ``net_tco2`` -> ``net_wan_tco2``; densities stay in t per area;
* ``area_unit = "mu"``: areas in 亩 (1 亩 = 1/15 ha exactly): ``area_ha`` -> ``area_mu``
  (value x 15) and densities per 亩: ``net_tc_per_ha`` -> ``net_tc_per_mu`` (value / 15).

Column names always carry the unit (:func:`display_name`); :func:`to_display` and
:func:`from_display` are exact inverses on those columns. Risk levels, thresholds and every
comparison are computed before, in canonical units, so they do not depend on the display.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from typing import Any, Literal

import pandas as pd

from landcarbon.accounting.conversions import (
    MU_PER_HA,
    OutputUnit,
    output_factor,
    output_suffix,
)

__all__ = ["WAN", "AreaUnit", "DisplayUnits", "MassScale", "display_name", "from_display",
           "to_display"]

#: t per 万吨.
WAN = 1e4

MassScale = Literal["auto", "t", "wan_t"]
AreaUnit = Literal["ha", "mu"]

_TAIL = r"(?P<tail>_p\d+|_\d{4})?"
#: canonical column forms: density (mass per ha), mass total, area
_DENSITY = re.compile(rf"(?P<stem>.+)_(?P<m>tc|tco2)_per_ha{_TAIL}")
_MASS = re.compile(rf"(?P<stem>.+)(?<!_per)_(?P<m>tc|tco2){_TAIL}")
_AREA = re.compile(rf"(?P<stem>(?:(?!_per_).)+)(?<!_per)_ha{_TAIL}")
#: their display forms
_DENSITY_MU = re.compile(rf"(?P<stem>.+)_(?P<m>tc|tco2)_per_mu{_TAIL}")
_MASS_WAN = re.compile(rf"(?P<stem>.+)(?<!_per)_wan_(?P<m>tc|tco2){_TAIL}")
_AREA_MU = re.compile(rf"(?P<stem>(?:(?!_per_).)+)(?<!_per)_mu{_TAIL}")


@dataclass(frozen=True)
class DisplayUnits:
    """How the outputs show masses and areas.

    Attributes
    ----------
    output_unit : {"t C", "t CO2"}
        Unit of the flux columns (already applied to the units table by the assessment).
    mass_scale : {"t", "wan_t", "auto"}
        Annual totals in t or in 万吨 (10^4 t); ``auto``: t in tables and reasons, 万吨 in
        Chinese reports and popups (:meth:`shown_in`).
    area_unit : {"ha", "mu"}
        Areas in ha (公顷) or 亩 (1/15 ha); densities per that area.
    """

    output_unit: OutputUnit = "t C"
    mass_scale: MassScale = "auto"
    area_unit: AreaUnit = "ha"

    def shown_in(self, lang: str) -> DisplayUnits:
        """The display of a report or map in ``lang``: ``auto`` becomes 万吨 in Chinese
        (planning documents count emissions in 万吨) and t in English."""
        if self.mass_scale != "auto":
            return self
        return replace(self, mass_scale="wan_t" if lang == "zh" else "t")

    @property
    def mass_divisor(self) -> float:
        """t per displayed mass unit: 1 or 10,000."""
        return WAN if self.mass_scale == "wan_t" else 1.0

    @property
    def area_per_ha(self) -> float:
        """Displayed area units per ha: 1 or 15."""
        return MU_PER_HA if self.area_unit == "mu" else 1.0

    @property
    def factor(self) -> float:
        """``output_unit`` per t C: 1 or 44/12 (labels convert canonical t C with it)."""
        return output_factor(self.output_unit)

    def per_area(self, density_per_ha: Any) -> Any:
        """A density per ha (t/ha/yr) expressed per displayed area unit."""
        return density_per_ha / self.area_per_ha

    def mass(self, tonnes: Any) -> Any:
        """A mass in t expressed in the displayed mass unit."""
        return tonnes / self.mass_divisor

    def area(self, ha: Any) -> Any:
        """An area in ha expressed in the displayed area unit."""
        return ha * self.area_per_ha

    def _gas(self, lang: str) -> str:
        return "C" if self.output_unit == "t C" else ("CO₂" if lang == "zh" else "CO2")

    def area_label(self, lang: str) -> str:
        """``ha`` / ``mu`` (English), ``公顷`` / ``亩`` (Chinese)."""
        if lang == "zh":
            return "亩" if self.area_unit == "mu" else "公顷"
        return self.area_unit

    def mass_label(self, lang: str) -> str:
        """Unit of a mass: ``t C``, ``10^4 t CO2`` (English); ``吨 C``, ``万吨 CO₂``."""
        if lang == "zh":
            return f"{'万吨' if self.mass_scale == 'wan_t' else '吨'} {self._gas(lang)}"
        return f"{'10^4 t' if self.mass_scale == 'wan_t' else 't'} {self._gas(lang)}"

    def total_label(self, lang: str) -> str:
        """Unit of an annual total: ``t C/yr``, ``万吨 CO₂/年``."""
        return self.mass_label(lang) + ("/年" if lang == "zh" else "/yr")

    def mass_text(self, tonnes: float) -> str:
        """A mass (t, in the output unit) written in the displayed mass unit, without its
        label: in t 1 decimal (``1,234.5``) and at least 3 significant digits (0.2399 t:
        ``0.240``, 5.678 t: ``5.68``, 0.02733 t: ``0.0273``); in 万吨 4 decimals (0.0001 万吨
        = 1 t), and 3 significant digits for a mass those would write as 0 (``0.00000273``)."""
        value = float(self.mass(tonnes))
        wan = self.mass_scale == "wan_t"
        decimals = 4 if wan else 1
        if value != 0 and math.isfinite(value) and (
                not wan or abs(value) < 0.5 * 10.0 ** -decimals):
            decimals = max(decimals, 2 - math.floor(math.log10(abs(value))))
        return f"{value:,.{decimals}f}"

    def total_text(self, tonnes: float, lang: str) -> str:
        """An annual mass (t) in the displayed mass unit with its label (:meth:`mass_text`,
        :meth:`total_label`): ``1,234.5 t C/yr``, ``0.124 万吨 C/年``."""
        return f"{self.mass_text(tonnes)} {self.total_label(lang)}"

    def density_label(self, lang: str) -> str:
        """Unit of a density (always in t, per ha or 亩): ``t C/ha/yr``, ``吨 CO₂/亩/年``."""
        if lang == "zh":
            return f"吨 {self._gas(lang)}/{self.area_label(lang)}/年"
        return f"t {self._gas(lang)}/{self.area_unit}/yr"

    def record(self) -> dict[str, Any]:
        """What ``run.json`` says about the display (``settings.display``)."""
        sfx = output_suffix(self.output_unit)
        mass = f"{'wan_' if self.mass_scale == 'wan_t' else ''}{sfx}"
        return {
            "output_unit": self.output_unit, "mass_scale": self.mass_scale,
            "area_unit": self.area_unit,
            "total_unit": self.total_label("en"), "density_unit": self.density_label("en"),
            "area_label": self.area_label("en"),
            "columns": {"total": f"<name>_{mass}", "density": f"<name>_{sfx}_per_"
                        f"{self.area_unit}", "area": f"<name>_{self.area_unit}"},
            "t_per_mass_unit": self.mass_divisor, "area_units_per_ha": self.area_per_ha,
            "note": "computed in t C, t C/ha/yr and ha; converted only when written",
        }

    @classmethod
    def from_record(cls, record: dict[str, Any] | None, output_unit: Any = None
                    ) -> DisplayUnits:
        """The display of a run from its ``settings.display`` record (canonical t / ha for a
        run written before the display options existed)."""
        r = record or {}
        unit = r.get("output_unit") or output_unit or "t C"
        stored = r.get("mass_scale")
        scale: MassScale = "t" if stored == "t" else "wan_t" if stored == "wan_t" else "auto"
        return cls(str(unit).replace("₂", "2"),  # type: ignore[arg-type]
                   scale, "mu" if r.get("area_unit") == "mu" else "ha")


def display_name(column: str, units: DisplayUnits) -> tuple[str, float, float] | None:
    """The displayed name of a canonical column and how its values change
    (``value * mul / div``, so that 15 ha are exactly 225 亩 and 12,345 t exactly 1.2345
    万吨), or None when the display leaves the column as it is.

    Densities (``*_tc_per_ha``, ``*_tco2_per_ha``, optionally ``_p5`` / ``_2023`` after) go per
    亩 with ``area_unit = "mu"`` (/ 15); totals (``*_tc``, ``*_tco2``...) go to 万吨 with
    ``mass_scale = "wan_t"`` (/ 10,000); areas (``*_ha``, not ``*_per_ha``) to 亩 (x 15).
    Prices (``*_per_tc``) and other intensities (``*_tc_per_capita``) are left as they are.
    """
    if (m := _DENSITY.fullmatch(column)) is not None:
        if units.area_unit == "ha":
            return None
        return f"{m['stem']}_{m['m']}_per_mu{m['tail'] or ''}", 1.0, units.area_per_ha
    if (m := _MASS.fullmatch(column)) is not None:
        if units.mass_scale != "wan_t":
            return None
        return f"{m['stem']}_wan_{m['m']}{m['tail'] or ''}", 1.0, units.mass_divisor
    if (m := _AREA.fullmatch(column)) is not None and units.area_unit == "mu":
        return f"{m['stem']}_mu{m['tail'] or ''}", units.area_per_ha, 1.0
    return None


def _canonical_name(column: str) -> tuple[str, float, float] | None:
    if (m := _DENSITY_MU.fullmatch(column)) is not None:
        return f"{m['stem']}_{m['m']}_per_ha{m['tail'] or ''}", MU_PER_HA, 1.0
    if (m := _MASS_WAN.fullmatch(column)) is not None:
        return f"{m['stem']}_{m['m']}{m['tail'] or ''}", WAN, 1.0
    if (m := _AREA_MU.fullmatch(column)) is not None:
        return f"{m['stem']}_ha{m['tail'] or ''}", 1.0, MU_PER_HA
    return None


def _apply(table: pd.DataFrame, rename: dict[str, tuple[str, float, float]]) -> pd.DataFrame:
    out = table.copy()
    for col, (_, mul, div) in rename.items():
        if pd.api.types.is_numeric_dtype(out[col]) and not pd.api.types.is_bool_dtype(
                out[col]):
            out[col] = out[col] * mul / div
    out = out.rename(columns={c: n for c, (n, _, _) in rename.items()})
    if hasattr(table, "geometry") and hasattr(out, "set_geometry"):
        out = out.set_geometry(table.geometry.name)
    return out


def to_display(table: pd.DataFrame, units: DisplayUnits) -> pd.DataFrame:
    """``table`` (canonical t / ha columns) with its mass, density and area columns renamed
    and scaled to the display units (a copy; GeoDataFrames stay GeoDataFrames)."""
    rename = {str(c): r for c in table.columns if (r := display_name(str(c), units))}
    return _apply(table, rename) if rename else table.copy()


def from_display(table: pd.DataFrame) -> pd.DataFrame:
    """The inverse of :func:`to_display`: a table read back from a run folder with its
    ``*_wan_tc``, ``*_per_mu`` and ``*_mu`` columns in canonical t and ha again."""
    rename = {str(c): r for c in table.columns if (r := _canonical_name(str(c)))}
    return _apply(table, rename) if rename else table
