"""Interactive web map of the assessed units table (folium / Leaflet), like ``gdf.explore()``."""

from __future__ import annotations

import html
import json
import math
import re
from collections.abc import Callable, Sequence
from numbers import Real
from typing import Any, Literal

import branca.colormap as bcm
import folium
import geopandas as gpd
import numpy as np
import pandas as pd
from branca.element import Figure, MacroElement, Template

from landcarbon.exceptions import InputError
from landcarbon.publish._offline import make_offline

__all__ = ["explore_units"]

_NO_DATA = "#bdbdbd"
# key: (English, Chinese, colour); package CSVs override the labels when present
_RISK = {
    "net_sink": ("Net sink", "净碳汇", "#1a9850"),
    "within": ("Within threshold", "阈值内", "#91cf60"),
    "approaching": ("Approaching", "接近阈值", "#fee08b"),
    "exceeding": ("Exceeding", "超过阈值", "#fc8d59"),
    "severe": ("Severe", "严重超标", "#d73027"),
    "no_data": ("No data", "无数据", _NO_DATA),
}
_SPACE = {
    "agricultural": ("Agricultural space", "农业空间", "#f2c14e"),
    "construction": ("Construction space", "建设空间", "#d7301f"),
    "ecological": ("Ecological space", "生态空间", "#41ab5d"),
    "excluded": ("Excluded", "不计入", _NO_DATA),
}
_LAND: dict[str, tuple[str, str, str]] = {}  # names and colours: data/land_classes.csv
_T = {  # UI text: (English, Chinese)
    "risk_level": ("Risk level", "风险等级"), "space_type": ("Space type", "空间类型"),
    "net_per_ha": ("Net emission per ha", "单位面积净排放"), "legend": ("Legend", "图例"),
    "id": ("ID", "编号"), "shares": ("Space shares", "空间构成"),
    "covered": ("Covered area", "有效面积"), "emission": ("Emission", "碳排放"),
    "sequestration": ("Sequestration", "碳吸收"), "net": ("Net emission", "净排放"),
    "threshold": ("Threshold", "阈值"), "reason": ("Reason", "原因"),
    "land": ("Land class", "地类"), "area": ("Area (ha)", "面积 (ha)"),
    "no_data": ("No data", "无数据"),
}
_DIVERGING = ["#1a9850", "#91cf60", "#f7f7f7", "#fc8d59", "#d73027"]
_SEQUENTIAL = ["#ffffcc", "#fed976", "#fd8d3c", "#e31a1c", "#800026"]


def _tr(key: str, lang: str) -> str:
    return _T[key][lang == "zh"]


def _labels(csv: str, builtin: dict[str, tuple[str, str, str]]) -> dict[str, tuple[str, ...]]:
    """Builtin (en, zh, colour) labels, overridden by ``landcarbon/data/<csv>`` when present."""
    out = dict(builtin)
    try:
        from landcarbon._resources import data_path, read_csv

        table = read_csv(data_path(csv))
        key = table.columns[0]
        for row in table.to_dict("records"):
            old = out.get(row[key], ("", "", _NO_DATA))
            out[row[key]] = (row["name_en"], row["name_zh"], row.get("color") or old[2])
    except (OSError, KeyError, IndexError, ValueError):
        pass
    return out


def _fmt(x: Any, *, area: bool = False, share: bool = False) -> str:
    """Areas 1 decimal, shares in %, fluxes 1 decimal (3 significant figures when small)."""
    if x is None or pd.isna(x) or not math.isfinite(x := float(x)):
        return "–"
    if share:
        return f"{100 * x:.1f}%"
    if area or abs(x) >= 10 or x == 0:
        return f"{x:,.1f}"
    return f"{x:.3g}"


def _flux_suffix(units: pd.DataFrame) -> tuple[str, str]:
    """Return the column suffix (``tc`` / ``tco2``) and the unit label (``t C`` / ``t CO₂``)."""
    for suffix, label in (("tco2", "t CO₂"), ("tc", "t C")):
        if f"emission_{suffix}" in units or f"net_{suffix}" in units:
            return suffix, label
    raise InputError(
        "explore_units: the units table has no flux columns (neither emission_tc nor "
        "emission_tco2); pass the assessed units table (after account and assess steps)."
    )


def _display_frame(units: gpd.GeoDataFrame, tolerance_m: float | None) -> gpd.GeoDataFrame:
    """A simplified copy in EPSG:4326 for display; the input is never modified."""
    if units.crs is None:
        raise InputError("explore_units: the units GeoDataFrame has no CRS; set it with "
                         "units.set_crs(...) before mapping.")
    geom = units.geometry
    keep = geom.notna() & ~geom.is_empty
    gdf = gpd.GeoDataFrame({"_i": np.flatnonzero(keep)}, geometry=geom[keep].to_numpy(),
                           crs=units.crs)
    if gdf.empty:
        raise InputError("explore_units: the units table has no geometries to map.")
    metric = units.crs if units.crs.is_projected and units.crs.axis_info[0].unit_name in (
        "metre", "meter") else gdf.estimate_utm_crs()
    if tolerance_m is None and len(gdf) > 500:
        x0, y0, x1, y1 = gdf.to_crs(metric).total_bounds
        tolerance_m = math.hypot(x1 - x0, y1 - y0) / 2000
    if tolerance_m:
        gdf = gdf.to_crs(metric)
        gdf["geometry"] = gdf.geometry.simplify(tolerance_m, preserve_topology=True)
    return gdf.to_crs(4326)


def _numeric_cmap(values: pd.Series, diverging: bool) -> bcm.LinearColormap:
    v = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    v = v[np.isfinite(v)]
    q = (2, 98) if v.size >= 50 else (0, 100)
    lo, hi = (np.percentile(v, q) if v.size else (-1.0, 1.0))
    if diverging or lo < 0 < hi:
        lo, hi = min(lo, -1e-9), max(hi, 1e-9)
        return bcm.LinearColormap(_DIVERGING, index=[lo, lo / 2, 0, hi / 2, hi], vmin=lo, vmax=hi)
    return bcm.LinearColormap(_SEQUENTIAL, vmin=lo, vmax=hi if hi > lo else lo + 1)


def _colour_bar(cm: bcm.LinearColormap, title: str) -> str:
    """Colour bar as HTML (CSS gradient, ticks at the ends and at 0), no d3 needed."""
    lo, hi = cm.vmin, cm.vmax

    def pos(v: float) -> float:
        return 100 * (v - lo) / (hi - lo)

    # the colormap interpolates linearly between its index points, so does a CSS gradient
    stops = ", ".join(f"{cm.rgb_hex_str(v)} {pos(v):.2f}%" for v in cm.index)
    ticks = [(_fmt(lo), 0.0, 0), (_fmt(hi), 100.0, 100)]
    if 10 < pos(0.0) < 90:
        ticks.append(("0", pos(0.0), 50))
    tick_html = "".join(
        f'<span style="position:absolute;left:{p:.1f}%;transform:translateX(-{shift}%)">'
        f"{text}</span>" for text, p, shift in ticks)
    return (f"<div class='lc-h'>{html.escape(title)}</div>"
            f"<div style='height:12px;width:220px;background:linear-gradient(to right, {stops})'>"
            f"</div><div style='position:relative;height:14px;width:220px'>{tick_html}</div>")


def _swatches(title: str, items: list[tuple[str, str]]) -> str:
    rows = "".join(f"<div><i style='background:{c}'></i>{html.escape(label)}</div>"
                   for label, c in items)
    return f"<div class='lc-h'>{html.escape(title)}</div>{rows}"


def _popup(row: dict[str, Any], lang: str, sfx: str, unit: str,
           risk: dict, space: dict, land: dict) -> tuple[str, str]:
    """Tooltip and popup HTML of one unit; every value from the table is escaped."""
    zh = lang == "zh"
    esc = html.escape
    name = row.get("unit_name")
    name = esc(str(name if isinstance(name, str) and name else row.get("unit_id", "")))
    rk = row.get("risk_level")
    rlab, rcol = (risk[rk][zh], risk[rk][2]) if rk in risk else (_tr("no_data", lang), _NO_DATA)
    st = row.get("space_type")
    stlab = space[st][zh] if st in space else (st if isinstance(st, str) else "–")
    shares = " · ".join(
        f"{esc(space[k][zh])} {_fmt(row.get(f'share_{k}'), share=True)}"
        for k in ("agricultural", "construction", "ecological") if f"share_{k}" in row)
    per_ha = f"{unit}/ha/yr"
    rows = [
        ("id", esc(str(row.get("unit_id", "–")))),
        ("space_type", esc(stlab)), ("shares", shares),
        ("covered", f"{_fmt(row.get('covered_ha'), area=True)} ha"),
        ("emission", f"{_fmt(row.get(f'emission_{sfx}'))} {unit}/yr"),
        ("sequestration", f"{_fmt(row.get(f'sequestration_{sfx}'))} {unit}/yr"),
        ("net", f"{_fmt(row.get(f'net_{sfx}'))} {unit}/yr"),
        ("net_per_ha", f"{_fmt(row.get(f'net_{sfx}_per_ha'))} {per_ha}"),
        ("threshold", f"{_fmt(row.get(f'threshold_{sfx}_per_ha'))} {per_ha}"),
        ("risk_level", f"<i style='background:{rcol}'></i>{esc(rlab)}"),
        ("reason", esc(str(row.get(f"risk_reason_{lang}") or "–"))),
    ]
    body = "".join(f"<tr><th>{esc(_tr(k, lang))}</th><td>{v}</td></tr>" for k, v in rows)
    areas = sorted(((k[5:-3], v) for k, v in row.items()
                    if re.fullmatch(r"area_.+_ha", k) and isinstance(v, Real) and v > 0),
                   key=lambda kv: -kv[1])
    area_rows = "".join(
        f"<tr><td>{esc(land.get(k, ('', ''))[zh] or k.replace('_', ' '))}</td>"
        f"<td>{_fmt(v, area=True)}</td></tr>"
        for k, v in areas)
    area_tab = (f"<table class='lc-areas'><tr><th>{_tr('land', lang)}</th><th>"
                f"{_tr('area', lang)}</th></tr>{area_rows}</table>" if areas else "")
    popup = f"<div class='lc-pop'><h4>{name}</h4><table>{body}</table>{area_tab}</div>"
    return f"<b>{name}</b><br>{esc(rlab)}", popup


def _js_json(obj: Any) -> str:
    """JSON for a ``<script>``: ``<``, ``>``, ``&`` as escapes, so no markup appears raw."""
    text = json.dumps(obj, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


_CSS = """<style>
.lc-legend{background:rgba(255,255,255,.92);padding:6px 10px;border-radius:4px;font:13px/1.5
 sans-serif;box-shadow:0 1px 4px rgba(0,0,0,.4);max-height:60vh;overflow:auto}
.lc-legend i,.lc-pop i{display:inline-block;width:14px;height:11px;margin-right:6px;
 border:1px solid #777;vertical-align:middle}
.lc-legend .lc-h{font-weight:bold;margin-top:4px}.lc-legend .lc-t{font-size:14px;font-weight:bold}
.lc-pop{font:12px/1.4 sans-serif}.lc-pop h4{margin:0 0 4px}.lc-pop th{text-align:left;
 padding-right:8px;vertical-align:top}.lc-areas{margin-top:6px;border-top:1px solid #ccc}
.lc-title{position:fixed;top:10px;left:50%;transform:translateX(-50%);z-index:1000;
 background:rgba(255,255,255,.92);padding:4px 14px;border-radius:4px;font:bold 16px sans-serif;
 box-shadow:0 1px 4px rgba(0,0,0,.4)}
</style>"""


class _Overlay(MacroElement):
    """Shared tooltip / popup strings, legend control (sections follow layer visibility), title."""

    _template = Template("""
{% macro header(this, kwargs) %}{{ this.css }}{% endmacro %}
{% macro html(this, kwargs) %}{{ this.title_html }}{% endmacro %}
{% macro script(this, kwargs) %}
var {{ this.get_name() }}_tips = {{ this.tips }};
var {{ this.get_name() }}_pops = {{ this.pops }};
function {{ this.get_name() }}_bind(feature, layer) {
  var i = feature.properties._i;
  layer.bindTooltip({{ this.get_name() }}_tips[i], {sticky: true});
  layer.bindPopup({{ this.get_name() }}_pops[i], {maxWidth: 380});
}
{% endmacro %}""")

    def __init__(self, tips: list[str], pops: list[str], title: str | None) -> None:
        super().__init__()
        self._name = "LandcarbonUnits"
        self.tips, self.pops, self.css = _js_json(tips), _js_json(pops), _CSS
        self.title_html = (f"<div class='lc-title'>{html.escape(title)}</div>" if title else "")


class _Legend(MacroElement):
    _template = Template("""
{% macro script(this, kwargs) %}
(function () {
  var map = {{ this._parent.get_name() }};
  var sections = [{% for fg, text in this.sections %}[{{ fg }}, {{ text }}],{% endfor %}];
  var ctl = L.control({position: 'bottomright'});
  ctl.onAdd = function () {
    var div = L.DomUtil.create('div', 'lc-legend');
    L.DomEvent.disableClickPropagation(div); L.DomEvent.disableScrollPropagation(div);
    div.innerHTML = {{ this.title }} + sections.map(function (s, k) {
      return '<div class="lc-sec" data-k="' + k + '">' + s[1] + '</div>'; }).join('');
    return div;
  };
  ctl.addTo(map);
  function sync() {
    sections.forEach(function (s, k) {
      var el = ctl.getContainer().querySelector('.lc-sec[data-k="' + k + '"]');
      el.style.display = map.hasLayer(s[0]) ? '' : 'none';
    });
  }
  map.on('overlayadd overlayremove', sync); sync();
})();
{% endmacro %}""")

    def __init__(self, title: str, sections: list[tuple[str, str]]) -> None:
        super().__init__()
        self._name = "LandcarbonLegend"
        self.title = _js_json(f"<div class='lc-t'>{html.escape(title)}</div>")
        self.sections = [(fg, _js_json(text)) for fg, text in sections]


class _OfflineFigure(Figure):
    """A Figure whose rendered HTML (``save``, notebook display) inlines the vendored assets."""

    def render(self, **kwargs: Any) -> str:
        return make_offline(super().render(**kwargs))


def explore_units(
    units: gpd.GeoDataFrame,
    *,
    column: str = "risk_level",
    language: Literal["zh", "en"] = "zh",
    m: folium.Map | None = None,
    title: str | None = None,
    layers: Sequence[str] = ("risk_level", "space_type", "net_per_ha"),
    tiles: str | None = "OpenStreetMap",
    simplify_tolerance_m: float | None = None,
    offline: bool = False,
) -> folium.Map:
    """Interactive map of the assessed units table, like ``GeoDataFrame.explore()``.

    Parameters
    ----------
    units : geopandas.GeoDataFrame
        The assessed units table (see ``docs/design.md``), in any CRS. Flux columns may end in
        ``_tc`` or ``_tco2``; labels follow (``t C/yr`` or ``t CO₂/yr``).
    column : str
        The layer shown when the map opens (the other layers start hidden). Added to
        ``layers`` if missing.
    language : {"zh", "en"}
        Language of layer names, legends, tooltips and popups.
    m : folium.Map, optional
        Add the layers to this map (its view is left alone) instead of a new one.
    title : str, optional
        Text of a title box at the top of the map.
    layers : sequence of str
        ``"risk_level"``, ``"space_type"``, ``"net_per_ha"`` or any numeric column name.
        Each becomes a switchable ``FeatureGroup`` with tooltip, popup and legend.
    tiles : str or None
        Background tiles of a new map; ``None`` gives a plain background (no tile requests).
    simplify_tolerance_m : float, optional
        Simplify geometries for display with this tolerance (metres, in a metric CRS); ``0``
        disables it. Default: 1/2000 of the extent's diagonal when there are > 500 units.
    offline : bool
        Inline the vendored Leaflet into the HTML (``m.save()``, notebook display) and skip
        tile layers, so the map works without internet access.

    Returns
    -------
    folium.Map
        The new map, or ``m`` with the layers added.
    """
    if language not in ("zh", "en"):
        raise ValueError(f"language must be 'zh' or 'en', not {language!r}")
    zh = language == "zh"
    sfx, unit = _flux_suffix(units)
    layers = list(dict.fromkeys([column, *layers]))
    risk, space = _labels("risk_levels.csv", _RISK), _labels("space_types.csv", _SPACE)
    land = _labels("land_classes.csv", _LAND)
    per_ha_col = f"net_{sfx}_per_ha"
    col_of = {"risk_level": "risk_level", "space_type": "space_type", "net_per_ha": per_ha_col}
    for key in layers:
        if col_of.get(key, key) not in units.columns:
            raise InputError(f"explore_units: layer {key!r} needs column "
                             f"{col_of.get(key, key)!r}, which the units table does not have; "
                             f"columns are {list(units.columns)}.")

    gdf = _display_frame(units, simplify_tolerance_m)
    records = units.drop(columns=units.geometry.name).to_dict("records")
    texts = [_popup(records[i], language, sfx, unit, risk, space, land) for i in gdf["_i"]]
    data = gdf.assign(_i=np.arange(len(gdf)))  # index into the shared tooltip/popup lists
    rows = units.iloc[gdf["_i"].to_numpy()]

    if m is None:
        m = folium.Map(tiles=None if offline else tiles, control_scale=True)
        if offline:  # polygons need Leaflet only
            m.default_js = [(k, u) for k, u in folium.Map.default_js if k == "leaflet"]
            m.default_css = [(k, u) for k, u in folium.Map.default_css if k == "leaflet_css"]
        x0, y0, x1, y1 = gdf.total_bounds
        m.fit_bounds([[y0, x0], [y1, x1]])
    if offline and type(m.get_root()) is Figure:
        m.get_root().__class__ = _OfflineFigure
    overlay = _Overlay([t for t, _ in texts], [p for _, p in texts], title)
    m.add_child(overlay)
    bind = folium.JsCode(f"{overlay.get_name()}_bind")

    sections = []
    for key in layers:
        col = col_of.get(key, key)
        values = rows[col].to_numpy()
        if key in ("risk_level", "space_type"):
            table = risk if key == "risk_level" else space
            fills = [table[v][2] if v in table else _NO_DATA for v in values]
            present = set(values)
            items = [(lab[zh], lab[2]) for k, lab in table.items()
                     if k in present or lab[2] != _NO_DATA]
            legend = _swatches(_tr(key, language), items)
        else:
            cmap = _numeric_cmap(rows[col], diverging=key == "net_per_ha")
            num = pd.to_numeric(rows[col], errors="coerce").to_numpy(dtype=float)
            fills = [cmap(v) if np.isfinite(v) else _NO_DATA for v in num]
            label = (f"{_tr('net_per_ha', language)} ({unit}/ha/yr)" if key == "net_per_ha"
                     else key)
            legend = _colour_bar(cmap, label)
        name = _tr(key, language) if key in col_of else key
        group = folium.FeatureGroup(name=name, show=key == column)
        folium.GeoJson(
            data, style_function=_styler(fills), highlight_function=_highlight,
            on_each_feature=bind, name=name,
        ).add_to(group)
        group.add_to(m)
        sections.append((group.get_name(), legend))

    m.add_child(_Legend(_tr("legend", language), sections))
    for key, child in list(m._children.items()):  # one layer control, rendered last
        if isinstance(child, folium.LayerControl):
            del m._children[key]
            m.add_child(child, name=key)
            break
    else:
        folium.LayerControl(collapsed=False).add_to(m)
    return m


def _styler(fills: list[str]) -> Callable[[dict], dict]:
    def style(feature: dict) -> dict:
        return {"fillColor": fills[feature["properties"]["_i"]], "color": "#555555",
                "weight": 0.7, "fillOpacity": 0.75}
    return style


def _highlight(feature: dict) -> dict:
    return {"color": "#000000", "weight": 2.5, "fillOpacity": 0.9}
