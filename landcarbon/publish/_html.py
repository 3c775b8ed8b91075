"""HTML pieces shared by the maps and the report: labels, number formats, legends, popups.

Every value that comes from the data (unit names, reasons, ids) is escaped here; labels come
from package data (``landcarbon/data/ui_labels.csv`` and the vocabulary CSVs).
"""

from __future__ import annotations

import html
import json
import math
import re
from functools import cache
from typing import Any

import numpy as np
import pandas as pd

from landcarbon.accounting.display_units import DisplayUnits
from landcarbon.publish.fonts import CSS_FAMILY

__all__ = ["NO_DATA", "colour_bar", "fmt", "glossary", "js_json", "popup_record", "popup_tables",
           "swatches", "ui", "vocab"]

NO_DATA = "#d9d9d9"
esc = html.escape


@cache
def _ui_table() -> dict[str, tuple[str, str]]:
    from landcarbon._resources import data_path, read_csv

    table = read_csv(data_path("ui_labels.csv"))
    labels = {r["key"]: (r["en"], r["zh"]) for r in table.to_dict("records")}
    for key, (en, zh) in glossary().items():  # the reviewed terms win
        if key in labels:
            labels[key] = (en, zh)
    return labels


@cache
def glossary() -> dict[str, tuple[str, str]]:
    """``{key: (en, zh)}`` of the reviewed terms of ``landcarbon/data/glossary.csv`` (each
    with its definition and source there); every label of the same key uses them."""
    from landcarbon._resources import data_path, read_csv

    table = read_csv(data_path("glossary.csv"))
    return {r["key"]: (r["en"], r["zh"]) for r in table.to_dict("records")}


def ui(key: str, lang: str) -> str:
    """The English or Chinese UI label ``key`` of ``landcarbon/data/ui_labels.csv``."""
    return _ui_table()[key][lang == "zh"]


@cache
def vocab(kind: str) -> dict[str, tuple[str, str, str]]:
    """``{key: (name_en, name_zh, colour)}`` of ``risk_levels``, ``space_types`` or
    ``land_classes`` (package data), in file order."""
    from landcarbon._resources import data_path, read_csv

    table = read_csv(data_path(f"{kind}.csv"))
    key = table.columns[0]
    return {r[key]: (r["name_en"], r["name_zh"], r.get("color") or NO_DATA)
            for r in table.to_dict("records")}


def label(kind: str, key: Any, lang: str) -> str:
    """Display name of a vocabulary key (the key itself when unknown)."""
    entry = vocab(kind).get(key) if isinstance(key, str) else None
    if entry is None:
        return ui("no_data", lang) if key is None or key != key else str(key)
    return entry[lang == "zh"]


def fmt(x: Any, *, area: bool = False, share: bool = False) -> str:
    """Areas 1 decimal, shares in %, fluxes 1 decimal (3 significant figures when small)."""
    if x is None or pd.isna(x) or not math.isfinite(x := float(x)):
        return "–"
    if share:
        return f"{100 * x:.1f}%"
    if area or abs(x) >= 10 or x == 0:
        return f"{x:,.1f}"
    return f"{x:.3g}"


def _zh_unit(unit: str) -> str:
    return unit.replace("t ", "吨 ", 1) if unit.startswith("t ") else unit


def per_ha_unit(unit: str, lang: str) -> str:
    """Label of a density: ``t C/ha/yr`` or, in Chinese, ``吨 C/公顷/年``."""
    return f"{_zh_unit(unit)}/公顷/年" if lang == "zh" else f"{unit}/ha/yr"


def total_unit(unit: str, lang: str) -> tuple[str, float]:
    """Label and divisor of an annual total: ``("t C/yr", 1)`` or, in Chinese,
    ``("万吨 C/年", 1e4)`` (planning documents count emissions in 万吨)."""
    if lang == "zh":
        return "万" + _zh_unit(unit) + "/年", 1e4
    return f"{unit}/yr", 1.0


def area_unit(lang: str) -> str:
    """``ha`` or ``公顷``."""
    return "公顷" if lang == "zh" else "ha"


def fmt_fixed(x: Any, decimals: int) -> str:
    """A number with thousands separators and a fixed number of decimals (one format per
    table column); ``–`` when missing."""
    if x is None or pd.isna(x) or not math.isfinite(x := float(x)):
        return "–"
    return f"{x:,.{decimals}f}"


def js_json(obj: Any) -> str:
    """JSON for a ``<script>``: ``<``, ``>``, ``&`` as escapes, so no markup appears raw."""
    text = json.dumps(obj, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def js_json_pieces(items: list[Any], size: int = 1024) -> list[str]:
    """:func:`js_json` of the list ``items`` in pieces (of ``size`` items each) that join
    into exactly that text: the data of a map of thousands of units is never one string."""
    if not items:
        return [js_json(items)]
    pieces = ["["]
    for at in range(0, len(items), size):
        if at:
            pieces.append(", ")
        pieces.append(js_json(items[at:at + size])[1:-1])
    pieces.append("]")
    return pieces


def script_safe(pieces: list[str]) -> list[str]:
    """JSON text (in pieces) with ``<`` and ``>`` as escapes, for a ``<script>``."""
    return [p.replace("<", "\\u003c").replace(">", "\\u003e") for p in pieces]


def colour_bar(colours: list[tuple[float, str]], lo: float, hi: float, title: str) -> str:
    """Colour bar as HTML (CSS gradient; ticks at the ends and at 0)."""

    def pos(v: float) -> float:
        return 100 * (v - lo) / (hi - lo) if hi > lo else 0.0

    stops = ", ".join(f"{c} {pos(v):.2f}%" for v, c in colours)
    ticks = [(fmt(lo), 0.0, 0), (fmt(hi), 100.0, 100)]
    if 10 < pos(0.0) < 90:
        ticks.append(("0", pos(0.0), 50))
    tick_html = "".join(
        f'<span style="position:absolute;left:{p:.1f}%;transform:translateX(-{shift}%)">'
        f"{esc(text)}</span>" for text, p, shift in ticks)
    return (f"<div class='lc-h'>{esc(title)}</div>"
            f"<div style='height:12px;width:220px;background:linear-gradient(to right, {stops})'>"
            f"</div><div style='position:relative;height:14px;width:220px'>{tick_html}</div>")


def swatches(title: str, items: list[tuple[str, str]]) -> str:
    """A legend section of coloured boxes and labels (an item without colour is a marked
    boundary line, e.g. the 0 between sink and source classes)."""
    rows = "".join(f"<div><i style='background:{esc(c)}'></i>{esc(text)}</div>" if c else
                   f"<div class='lc-zero'>{esc(text)}</div>" for text, c in items)
    return f"<div class='lc-h'>{esc(title)}</div>{rows}"


def unit_name(row: dict[str, Any]) -> str:
    """The unit's name, or its id when it has none (not escaped)."""
    name = row.get("unit_name")
    return str(name if isinstance(name, str) and name else row.get("unit_id", ""))


#: popup rows (ui_labels keys), in the order of the values of :func:`popup_record`
POPUP_ROWS = ("id", "space_type", "shares", "covered", "emission", "emission_source",
              "sequestration", "net", "net_per_ha", "threshold", "vs_threshold", "risk_level",
              "reason")
#: index of the risk level among the popup values (the map's JavaScript colours it)
RISK_ROW = POPUP_ROWS.index("risk_level")


def popup_tables(lang: str, shown: DisplayUnits | None = None) -> dict[str, Any]:
    """What every popup shares (sent once): escaped row labels, risk levels (label, colour)
    and land-class names, in the index order :func:`popup_record` refers to."""
    zh = lang == "zh"
    risk = vocab("risk_levels")
    area = shown.area_label(lang) if shown is not None else area_unit(lang)
    return {
        "rows": [esc(ui(k, lang)) for k in POPUP_ROWS],
        "risk_row": RISK_ROW,
        "risk": [[esc(v[zh]), v[2]] for v in risk.values()] + [[esc(ui("no_data", lang)),
                                                                 NO_DATA]],
        "land": [esc(v[zh]) for v in vocab("land_classes").values()],
        "land_head": [esc(ui("land", lang)), esc(f"{ui('area_plain', lang)} ({area})")],
        "pixel": esc(ui("pixel_value", lang)),
    }


def _num(row: dict[str, Any], key: str) -> float:
    v = row.get(key)
    try:
        x = float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan
    return x


def vs_threshold(row: dict[str, Any], sfx: str, unit: str, lang: str,
                 shown: DisplayUnits | None = None) -> str:
    """How far the unit's net per ha (or per 亩 with ``shown``) is above or below its
    threshold (text, not escaped)."""
    diff = _num(row, f"net_{sfx}_per_ha") - _num(row, f"threshold_{sfx}_per_ha")
    if not math.isfinite(diff):
        return "–"
    word = ui("above_by" if diff > 0 else "below_by", lang)
    if shown is None or shown.area_unit == "ha":
        return f"{word} {fmt_fixed(abs(diff), 2)} {per_ha_unit(unit, lang)}"
    label_ = shown.density_label(lang).replace("CO2", "CO₂" if "₂" in unit else "CO2")
    return f"{word} {fmt_fixed(abs(shown.per_area(diff)), 2)} {label_}"


def emission_source(row: dict[str, Any], sfx: str, lang: str) -> str:
    """Where the unit's emission comes from: construction land (energy or intensity) and the
    direct emission of the other land classes (e.g. cropland as a source), with shares."""
    total = _num(row, f"emission_{sfx}")
    built = _num(row, f"construction_emission_{sfx}")
    if not math.isfinite(total) or total <= 0 or not math.isfinite(built):
        return "–"
    parts = [(ui("source_construction", lang), built), (ui("source_direct", lang),
                                                          total - built)]
    return " · ".join(f"{name} {100 * v / total:.0f}%" for name, v in parts
                      if v / total >= 0.005)


#: the numbers of a row (``numbers.Real`` without its slow abstract-class check)
_REAL = (int, float, np.integer, np.floating)


@cache
def _area_class(key: object) -> str | None:
    """The land class of a per-class area column (``area_<class>_ha``), else None."""
    if not isinstance(key, str):
        return None
    found = re.fullmatch(r"area_(.+)_ha", key)
    return found.group(1) if found else None


def popup_record(row: dict[str, Any], lang: str, sfx: str, unit: str,
                 shown: DisplayUnits | None = None) -> list[Any]:
    """The per-unit part of a popup: ``[name, values..., [[land, ha], ...]]`` (values in the
    order of :data:`POPUP_ROWS`, the risk level as an index into the shared table).

    Every string is HTML-escaped here; the map's JavaScript only joins them with the shared
    labels of :func:`popup_tables` (no markup comes from the data). Annual totals have 2
    decimals (万吨 in Chinese, t in English: 1 decimal), densities 2 decimals, areas 1;
    ``shown``: the run's display units (万吨 / 亩; values in ``row`` are in t and ha)."""
    if shown is None:
        shown = DisplayUnits(unit.replace("₂", "2"))  # type: ignore[arg-type]
    shown = shown.shown_in(lang)
    risk = list(vocab("risk_levels"))
    rk = row.get("risk_level")
    shares = " · ".join(
        f"{esc(label('space_types', k, lang))} {fmt(row.get(f'share_{k}'), share=True)}"
        for k in vocab("space_types") if f"share_{k}" in row)
    co2 = "CO₂" if "CO" in unit else "C"
    per_ha = shown.density_label(lang).replace("CO2", co2).replace("CO₂", co2)
    tot = shown.total_label(lang).replace("CO2", co2).replace("CO₂", co2)
    scale = shown.mass_divisor
    dec = 2 if scale > 1 else 1

    def density(key: str) -> str:
        return f"{fmt_fixed(shown.per_area(_num(row, key)), 2)} {per_ha}"

    def total(key: str) -> str:
        return f"{fmt_fixed(_num(row, key) / scale, dec)} {tot}"

    values = [
        esc(str(row.get("unit_id", "–"))),
        esc(label("space_types", row.get("space_type"), lang)),
        shares,
        f"{fmt_fixed(shown.area(_num(row, 'covered_ha')), 1)} {shown.area_label(lang)}",
        total(f"emission_{sfx}"),
        esc(emission_source(row, sfx, lang)),
        total(f"sequestration_{sfx}"),
        total(f"net_{sfx}"),
        density(f"net_{sfx}_per_ha"),
        density(f"threshold_{sfx}_per_ha"),
        esc(vs_threshold(row, sfx, unit, lang, shown)),
        risk.index(rk) if rk in risk else len(risk),
        esc(str(row.get(f"risk_reason_{lang}") or "–")),
    ]
    land = list(vocab("land_classes"))
    areas = sorted(((cls, v) for k, v in row.items()
                    if (cls := _area_class(k)) is not None and isinstance(v, _REAL)
                    and float(v) > 0), key=lambda kv: -float(kv[1]))
    breakdown = [[land.index(k) if k in land else esc(k.replace("_", " ")),
                  fmt(shown.area(v), area=True)] for k, v in areas]
    return [esc(unit_name(row)), *values, breakdown]


CSS = """<style>
.leaflet-container,.lc-legend,.lc-pop,.lc-title,.leaflet-control,.lc-label{
 font-family:""" + CSS_FAMILY + """}
.leaflet-container input,.leaflet-container button,.leaflet-bar a,.leaflet-control-zoom-in,
.leaflet-control-zoom-out{font-family:""" + CSS_FAMILY + """ !important}
.lc-legend{background:rgba(255,255,255,.92);padding:6px 10px;border-radius:4px;font-size:13px;
 line-height:1.5;box-shadow:0 1px 4px rgba(0,0,0,.4);max-height:38vh;overflow:auto}
.lc-legend i,.lc-pop i{display:inline-block;width:14px;height:11px;margin-right:6px;
 border:1px solid #777;vertical-align:middle}
.lc-legend .lc-zero{border-top:2px solid #222;margin:2px 0 1px 0;font-size:11px;
 line-height:1.1;padding-left:22px}
.lc-legend .lc-h{font-weight:bold;margin-top:4px}.lc-legend .lc-t{font-size:14px;font-weight:bold}
.lc-pop{font-size:12px;line-height:1.4}.lc-pop h4{margin:0 0 4px}.lc-pop th{text-align:left;
 padding-right:8px;vertical-align:top;white-space:nowrap}.lc-areas{margin-top:6px;
 border-top:1px solid #ccc}.lc-pixel{margin-bottom:4px}
.lc-pop th.lc-x{white-space:normal;max-width:12em}
.lc-title{position:absolute;top:10px;left:50%;transform:translateX(-50%);z-index:800;
 background:rgba(255,255,255,.92);padding:4px 14px;border-radius:4px;font-weight:bold;
 font-size:16px;box-shadow:0 1px 4px rgba(0,0,0,.4);max-width:calc(100% - 620px);
 min-width:8em;text-align:center;pointer-events:none}
@media (max-width:900px){.lc-title{max-width:calc(100% - 140px);top:auto;bottom:30px}}
.leaflet-container{background:#f4f4f0}
.leaflet-interactive:focus{outline:none}
.leaflet-control-layers-expanded .leaflet-control-layers-list{max-height:calc(55vh - 40px);
 overflow-y:auto;overflow-x:hidden;scrollbar-gutter:stable;padding-right:6px}
.leaflet-control-layers .lc-group{font-weight:bold;margin:4px 0 1px;color:#234;font-size:12px}
.lc-label{background:rgba(255,255,255,.75);border:0;box-shadow:none;padding:0 3px;
 font-size:12px;color:#111;white-space:nowrap}
.lc-label:before{display:none}
.leaflet-control-search .search-input{width:10em;min-width:10em}
</style>"""


def relative_href(path: str) -> str:
    """A link to a file of the page's folder (``path`` relative, ``/``-separated):
    percent-encoded and starting with ``./``, so that no file name (``javascript:...``,
    ``//host``, ``#``) becomes a scheme, a host or an anchor. A link already made so
    (``./``...) is kept."""
    from urllib.parse import quote

    if path.startswith("./"):
        return path
    return "./" + quote(path, safe="/")


def templates() -> Any:
    """The Jinja2 environment of ``publish/templates``: every text escaped (autoescape),
    links to files through the ``href`` filter (:func:`relative_href`)."""
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(loader=PackageLoader("landcarbon.publish", "templates"),
                      autoescape=select_autoescape(default=True, default_for_string=True))
    env.filters["href"] = relative_href
    return env
