"""Categorical unit layers and extra feature layers of the web maps.

* :class:`CategoryLayer` - a categorical column of the units table (the zoning columns of
  :func:`landcarbon.zoning.quadrants.zone_layers`, the risk level of each date of a change run)
  drawn
  on the shared unit geometries, with its legend and one popup row.
* :class:`Overlay` - other geometries (sink function zones, the hot-spot grid, alerts) with
  their own fills, popups (escaped HTML) and legend.

Names, labels and colours come from package data (``zones.csv``, ``hotspot_classes.csv``,
``map_categories.csv``, ``risk_levels.csv``, ``ui_labels.csv``): nothing is hard-coded here.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any

from landcarbon.publish._html import NO_DATA, fmt, swatches, ui, vocab

if TYPE_CHECKING:
    import geopandas as gpd
    import pandas as pd

__all__ = ["CategoryLayer", "NumericLayer", "Overlay", "category_key", "hotspot_overlay",
           "map_categories", "risk_by_date_layers", "sink_zone_overlay", "zone_category_layers"]

esc = html.escape


def category_key(value: Any) -> str:
    """The vocabulary key of a cell: ``True``/``False`` for booleans, ``"3"`` for 3 or 3.0,
    ``""`` for missing values, the text otherwise."""
    if value is None:
        return ""
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return str(bool(value))
    if isinstance(value, float | int) or hasattr(value, "dtype"):
        x = float(value)
        if not math.isfinite(x):
            return ""
        return str(int(x)) if x.is_integer() else str(x)
    return str(value)


@dataclass(frozen=True)
class CategoryLayer:
    """A categorical column drawn on the units: ``categories`` = ``{key: (label, colour)}`` in
    legend order (labels are text, escaped when rendered)."""

    column: str
    title: str
    categories: dict[str, tuple[str, str]]
    #: layer-control group (``ui_labels.csv`` key) when not a zoning layer
    group: str = "group_change"

    def fills(self, values: pd.Series) -> list[str]:
        """Fill colour of each unit (grey for unknown or missing values)."""
        return [self.categories.get(category_key(v), ("", NO_DATA))[1] for v in values]

    def cells(self, values: pd.Series) -> list[str]:
        """Escaped popup cell of each unit: colour swatch and label."""
        out = []
        for v in values:
            key = category_key(v)
            lab, colour = self.categories.get(key, (key or "–", NO_DATA))
            out.append(f"<i style='background:{esc(colour)}'></i>{esc(lab)}")
        return out

    def legend(self, values: pd.Series) -> str:
        """Legend section: every category that can occur, in vocabulary order (hot spots from
        99 % down to cold 99 %, zones in their order), then 无数据 when a unit has none."""
        items = list(self.categories.values())
        if any(category_key(v) not in self.categories for v in values) and not any(
                c == NO_DATA for _, c in items):
            items.append((ui("no_data", "zh" if self._zh else "en"), NO_DATA))
        return swatches(self.title, items)

    @property
    def _zh(self) -> bool:
        return any("\u4e00" <= ch <= "\u9fff" for ch in self.title)


@dataclass(frozen=True)
class NumericLayer(CategoryLayer):
    """A numeric column drawn on the units in graded classes (quantiles, split at 0: falls in
    blues, rises in warm colours) with a white class "0 (no change)" for values within
    ``zero`` of 0 (floating-point noise of a difference). Values are shown divided by
    ``scale`` (e.g. 10^4 for 万吨) with ``decimals`` decimals and ``unit``; build it with
    :meth:`of`."""

    classes: tuple[tuple[float, float, str], ...] = ()
    unit: str = ""
    scale: float = 1.0
    decimals: int = 2
    language: str = "zh"
    zero: float = 0.0

    #: fill of the "no change" class
    ZERO_COLOUR = "#ffffff"

    @classmethod
    def of(cls, units: pd.DataFrame, column: str, title: str, *, unit: str = "",
           scale: float = 1.0, decimals: int = 2, language: str = "zh",
           group: str = "group_change") -> NumericLayer:
        """The layer of ``units[column]``, diverging around 0; values within 10^-6 t (or
        10^-9 of the largest value) of 0 count as no change."""
        import numpy as np
        import pandas as pd

        from landcarbon.publish._classes import numeric_classes

        values = pd.to_numeric(units[column], errors="coerce") / scale
        finite = values[np.isfinite(values)]
        zero = max(1e-6 / scale, 1e-9 * float(finite.abs().max()) if len(finite) else 0.0)
        classes = numeric_classes(finite[finite.abs() > zero], "net_per_ha")
        return cls(column, title, {}, group, classes=tuple(classes), unit=unit, scale=scale,
                   decimals=decimals, language=language, zero=zero)

    def _scaled(self, values: pd.Series) -> Any:
        import numpy as np
        import pandas as pd

        x = (pd.to_numeric(values, errors="coerce") / self.scale).to_numpy(dtype=float)
        return np.where(np.abs(x) <= self.zero, 0.0, x)

    def fills(self, values: pd.Series) -> list[str]:
        from landcarbon.publish._classes import class_fills

        x = self._scaled(values)
        return [self.ZERO_COLOUR if v == 0 else c
                for c, v in zip(class_fills(list(self.classes), x), x, strict=True)]

    def _text(self, x: float) -> str:
        """``x`` with the layer's decimals (2 significant digits when that would print a
        non-zero value as 0.00)."""
        from landcarbon.publish._html import fmt_fixed

        text = fmt_fixed(x, self.decimals)
        return text if x == 0 or not math.isfinite(x) or text.strip("-0.,") else f"{x:.2g}"

    def cells(self, values: pd.Series) -> list[str]:
        """Escaped popup cell of each unit: colour swatch, signed value and unit."""
        out = []
        for colour, x in zip(self.fills(values), self._scaled(values), strict=True):
            text = "0" if x == 0 else self._text(x)
            if math.isfinite(x) and x > 0:
                text = "+" + text
            out.append(f"<i style='background:{esc(colour)}'></i>{esc(text)}"
                       + (f" {esc(self.unit)}" if math.isfinite(x) and self.unit else ""))
        return out

    def legend(self, values: pd.Series) -> str:
        """Falls (strongest first), "0 (no change)", rises, no data."""
        from landcarbon.publish._html import NO_DATA

        falls = [c for c in self.classes if c[1] < 0]
        rises = [c for c in self.classes if c[1] >= 0]
        items = [(f"{self._text(lo)} – {self._text(hi)}", c) for lo, hi, c in falls]
        items.append((ui("no_change", self.language), self.ZERO_COLOUR))
        items += [(f"+{self._text(lo)} – +{self._text(hi)}", c) for lo, hi, c in rises]
        items.append((ui("no_data", self.language), NO_DATA))
        return swatches(f"{self.title} ({self.unit})" if self.unit else self.title, items)


def zone_category_layers(units: pd.DataFrame, language: str) -> list[CategoryLayer]:
    """One :class:`CategoryLayer` per zoning column present in ``units`` (none without a
    zoning run), labels and colours from :func:`landcarbon.zoning.quadrants.zone_layers` (graded
    ``*_class`` columns as :func:`landcarbon.zoning.quadrants.graded_class_columns` decides)."""
    from landcarbon.zoning.quadrants import graded_class_columns, zone_layers

    lang = "zh" if language == "zh" else "en"
    graded = set(graded_class_columns(units))
    return [graded_layer(units, str(z["column"]), language) if z["column"] in graded else
            CategoryLayer(str(z["column"]), str(z[f"title_{lang}"]),
                          {str(k): (str(v[lang]), str(v["color"]))
                           for k, v in z["categories"].items()})  # type: ignore[attr-defined]
            for z in zone_layers(units)]


def graded_layer(units: pd.DataFrame, column: str, language: str) -> CategoryLayer:
    """A graded ``<base>_class`` column as a layer: titled with the glossary name of its base
    column, each class labelled with the range of base values it holds, coloured on the
    sink ramp (blues) for sinks and the emission ramp (warm) otherwise."""
    import numpy as np
    import pandas as pd

    from landcarbon.publish.palettes import EMISSION_RAMP, SINK_RAMP

    base = column[:-6]
    key = next((k for k, pat in (("net_per_ha", "net_"), ("sequestration_per_ha", "seq"),
                                 ("emission_per_ha", "emission_")) if base.startswith(pat)
                and base.endswith("_per_ha")), None)
    title = ui(key, language) if key else base
    ramp = SINK_RAMP if "seq" in base or "sink" in base else EMISSION_RAMP
    classes = pd.to_numeric(units[column], errors="coerce")
    values = pd.to_numeric(units[base], errors="coerce") if base in units else None
    top = int(classes.max()) if classes.notna().any() else 0
    cats: dict[str, tuple[str, str]] = {}
    for i in range(1, top + 1):
        colour = ramp[round((i - 1) * (len(ramp) - 1) / max(top - 1, 1))]
        text = f"{'第' if language == 'zh' else 'class '}{i}{'级' if language == 'zh' else ''}"
        if values is not None and (classes == i).any():
            v = values[classes == i].to_numpy(float)
            text += f" ({fmt(np.nanmin(v))} – {fmt(np.nanmax(v))})"
        cats[str(i)] = (text, colour)
    cats["0"] = (ui("no_data", language), NO_DATA)
    grade = "（分级）" if language == "zh" else " (graded)"
    return CategoryLayer(column, f"{title}{grade}", cats)


def risk_by_date_layers(units: pd.DataFrame, language: str) -> list[CategoryLayer]:
    """One risk-level layer per ``risk_level_<year>`` column (a change run's time series)."""
    import re

    zh = language == "zh"
    cats = {k: (v[zh], v[2]) for k, v in vocab("risk_levels").items()}
    cols = sorted(c for c in units.columns if re.fullmatch(r"risk_level_\d{4}", str(c)))
    return [CategoryLayer(c, f"{ui('risk_level', language)} {c[-4:]}", cats) for c in cols]


@cache
def _category_table() -> dict[str, dict[str, tuple[str, str, str]]]:
    from landcarbon._resources import data_path, read_csv

    out: dict[str, dict[str, tuple[str, str, str]]] = {}
    for r in read_csv(data_path("map_categories.csv")).to_dict("records"):
        out.setdefault(r["category"], {})[r["key"]] = (r["name_en"], r["name_zh"], r["color"])
    return out


def map_categories(category: str, language: str) -> dict[str, tuple[str, str]]:
    """``{key: (label, colour)}`` of one category of ``landcarbon/data/map_categories.csv``
    (``alert``, ``sink_zone``, ...), in file order."""
    zh = language == "zh"
    return {k: (v[zh], v[2]) for k, v in _category_table()[category].items()}


@dataclass
class Overlay:
    """Features other than the units: ``frame`` (any CRS), one fill colour and one escaped
    popup per feature, a legend section. With ``rows`` (escaped labels shared by every
    feature), ``popups`` are the popup titles and ``cells`` the escaped values of each
    feature, assembled in the browser (small files for many features). ``exclusive`` layers
    take part in the one-colouring-at-a-time switch; the others (e.g. alert markers) stack on
    top. Point geometries are drawn as circle markers; ``outline`` polygons as coloured
    outlines without fill.

    With ``unit_rows`` (the row of the map's units table each feature belongs to) a
    feature's popup is its unit's popup (``popups`` is left empty: nothing said twice in the
    page); with ``on_units`` too, the features are those units themselves, drawn from the
    map's one copy of the unit geometry (``frame`` is not written into the page)."""

    name: str
    frame: gpd.GeoDataFrame
    fills: list[str]
    popups: list[str]
    legend: str
    exclusive: bool = True
    show: bool = False
    tooltips: list[str] = field(default_factory=list)
    rows: list[str] = field(default_factory=list)
    cells: list[list[str]] = field(default_factory=list)
    outline: bool = False
    unit_rows: list[int] = field(default_factory=list)
    on_units: bool = False


def sink_zone_overlay(zones: gpd.GeoDataFrame, language: str, unit: str = "t C"
                      ) -> Overlay:
    """Sink function zones (``sink_zones.gpkg``) coloured by role, popups with their sink
    totals (``unit``/yr)."""
    cats = map_categories("sink_zone", language)
    fills, titles, cells = [], [], []
    for r in zones.drop(columns=zones.geometry.name).to_dict("records"):
        role = category_key(r.get("role"))
        lab, colour = cats.get(role, (role or "–", NO_DATA))
        fills.append(colour)
        titles.append(esc(f"{ui('zone_id', language)} {r.get('zone_id', '')}"))
        cells.append([f"<i style='background:{esc(colour)}'></i>{esc(lab)}",
                      esc(fmt(r.get("area_ha"), area=True)),
                      esc(f"{fmt(r.get('sink_tc'))} {unit}/yr"),
                      esc(f"{fmt(r.get('sink_tc_per_ha'))} {unit}/ha/yr")])
    rows = [esc(ui(k, language)) for k in ("category", "area", "sink", "sink_density")]
    return Overlay(ui("sink_zones", language), zones, fills, titles,
                   swatches(ui("sink_zones", language), list(cats.values())),
                   tooltips=titles, rows=rows, cells=cells)


def hotspot_overlay(grid: gpd.GeoDataFrame, language: str) -> Overlay:
    """The hot-spot grid (``hotspot_grid.gpkg``) coloured by ``gi_class``."""
    from landcarbon.zoning.quadrants import hotspot_class_table

    zh = language == "zh"
    cats = {str(k): (r["name_zh"] if zh else r["name_en"], r["color"])
            for k, r in hotspot_class_table().iterrows()}
    layer = CategoryLayer("gi_class", ui("hotspot_grid", language), cats)
    records = grid.drop(columns=grid.geometry.name).to_dict("records")
    from landcarbon.accounting.conversions import flux_suffix, unit_label

    sfx = flux_suffix(grid.columns, ("net_{}_per_ha",))
    flux = None if sfx is None else f"net_{sfx}_per_ha"
    unit = unit_label(sfx or "tc", display=True)
    cells = [[cell, esc(fmt(r.get("gi_z"))), esc(fmt(r.get("gi_p"))),
              esc(fmt(r.get(flux) if flux else None))]
             for r, cell in zip(records, layer.cells(grid["gi_class"]), strict=True)]
    rows = [esc(layer.title), "Gi* z", "p", esc(f"{ui('net_per_ha', language)} ({unit}/ha/yr)")]
    return Overlay(layer.title, grid, layer.fills(grid["gi_class"]),
                   [esc(str(r.get("cell_id", ""))) for r in records],
                   layer.legend(grid["gi_class"]), rows=rows, cells=cells)
