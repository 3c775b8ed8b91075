"""Leaflet elements of the unit maps (folium ``MacroElement``s): the shared unit data with its
tooltips and popups, one layer per styling, the legend, the unit-name search, offline HTML."""

from __future__ import annotations

import html
from typing import Any

from branca.element import Figure, Template
from folium.elements import JSCSSMixin

from landcarbon.publish._elements import Blob, DataElement, kept_apart, split_blobs
from landcarbon.publish._html import CSS, js_json, js_json_pieces, script_safe
from landcarbon.publish._offline import make_offline
from landcarbon.publish.fonts import embed_font

__all__ = ["ExclusiveLayers", "FullscreenControl", "OfflineFigure", "SelfContainedFigure",
           "UnitData", "UnitLayer", "UnitLegend", "UnitSearch"]


class UnitData(DataElement):
    """The unit geometries (GeoJSON, once for every layer), popup values and title.

    Tooltips and popups are assembled in the browser when shown, from the per-unit values
    (escaped in Python) and the labels shared by all units: small files for many units."""

    _template = Template("""
{% macro header(this, kwargs) %}{{ this.css }}{% endmacro %}
{% macro html(this, kwargs) %}{{ this.title_html }}{% endmacro %}
{% macro script(this, kwargs) %}
var {{ this.get_name() }} = {
  data: {{ this.geojson }},
  t: {{ this.tables }},
  recs: {{ this.records }},
  layers: [],
  tip: function (i) {
    var r = this.recs[i], rk = this.t.risk[r[this.t.risk_row + 1]];
    return '<b>' + r[0] + '</b><br>' + rk[0];
  },
  pop: function (i) {
    var r = this.recs[i], t = this.t, rows = '', k;
    for (k = 0; k < t.rows.length; k++) {
      var v = r[k + 1];
      if (k === t.risk_row) {
        v = "<i style='background:" + t.risk[v][1] + "'></i>" + t.risk[v][0];
      }
      rows += '<tr><th>' + t.rows[k] + '</th><td>' + v + '</td></tr>';
    }
    var extra = '';
    for (k = 0; k < (t.extra || []).length; k++) {  // zone columns, risk level per date
      extra += "<tr><th class='lc-x'>" + t.extra[k] + '</th><td>' + r[r.length - 2][k] +
               '</td></tr>';
    }
    rows = t.extra_first ? extra + rows : rows + extra;  // a change run's alerts first
    var land = r[r.length - 1].map(function (a) {
      var n = typeof a[0] === 'number' ? t.land[a[0]] : a[0];
      return '<tr><td>' + n + '</td><td>' + a[1] + '</td></tr>'; }).join('');
    if (land) {
      land = "<table class='lc-areas'><tr><th>" + t.land_head[0] + '</th><th>' +
             t.land_head[1] + '</th></tr>' + land + '</table>';
    }
    return "<div class='lc-pop'><h4>" + r[0] + '</h4><table>' + rows + '</table>' + land +
           '</div>';
  },
  bind: function (feature, layer) {
    var self = {{ this.get_name() }}, i = feature.properties._i;
    layer.bindTooltip(function () { return self.tip(i); }, {sticky: true});
    // long popups (a change run's alerts) scroll instead of leaving the screen
    layer.bindPopup(function () { return self.pop(i); },
                    {maxWidth: 380,
                     maxHeight: Math.max(260, Math.round(window.innerHeight * 0.62))});
  }
};
{% endmacro %}""")

    def __init__(self, geojson: list[str], tables: dict[str, Any], records: list[list[Any]],
                 title: str | None) -> None:
        super().__init__()
        self._name = "LandcarbonUnits"
        self.geojson = Blob(script_safe(geojson))
        self.tables, self.css = js_json(tables), CSS
        self.records = Blob(js_json_pieces(records))
        self.title_html = (f"<div class='lc-title'>{html.escape(title)}</div>" if title else "")


class UnitLayer(DataElement):
    """One styling of the shared unit data, added to its parent ``FeatureGroup`` (``outline``:
    boundaries only, no fill)."""

    _template = Template("""
{% macro script(this, kwargs) %}
var {{ this.get_name() }} = (function () {
  var fills = {{ this.fills }};
  var layer = L.geoJSON({{ this.data.get_name() }}.data, {
    {% if this.canvas %}renderer: L.canvas({padding: 0.5}),{% endif %}
    {% if this.outline %}
    style: function () { return {fill: false, color: '#333333', weight: 1.2}; },
    {% else %}
    style: function (f) { return {fillColor: fills[f.properties._i], color: '#555555',
                                  weight: 0.7, fillOpacity: 0.75}; },
    {% endif %}
    onEachFeature: {{ this.data.get_name() }}.bind
  });
  layer.on('mouseover', function (e) {
    e.layer.setStyle({color: '#000000', weight: 2.5, fillOpacity: 0.9}); });
  layer.on('mouseout', function (e) { layer.resetStyle(e.layer); });
  layer.addTo({{ this._parent.get_name() }});
  {{ this.data.get_name() }}.layers.push(layer);
  return layer;
})();
{% endmacro %}""")

    def __init__(self, data: UnitData, fills: list[str], canvas: bool,
                 outline: bool = False) -> None:
        super().__init__()
        self._name = "UnitLayer"
        self.data, self.fills, self.canvas, self.outline = data, js_json(fills), canvas, outline


class UnitLegend(DataElement):
    """One legend box; each section is shown while its layer is on the map."""

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
      el.hidden = !map.hasLayer(s[0]);
    });
  }
  map.on('layeradd layerremove', sync); sync();
})();
{% endmacro %}""")

    def __init__(self, title: str, sections: list[tuple[str, str]]) -> None:
        super().__init__()
        self._name = "LandcarbonLegend"
        self.title = js_json(f"<div class='lc-t'>{html.escape(title)}</div>")
        self.sections = [(fg, js_json(text)) for fg, text in sections]


class ExclusiveLayers(DataElement):
    """Switching one of these layers on in the layer control switches the others off (one
    colouring of the units or one raster at a time: stacked layers are unreadable and slow;
    the unit boundaries stay on top of the rasters)."""

    _template = Template("""
{% macro script(this, kwargs) %}
(function () {
  var map = {{ this._parent.get_name() }};
  var groups = [{{ this.groups|join(', ') }}];
  map.on('overlayadd', function (e) {
    if (groups.indexOf(e.layer) < 0) { return; }
    setTimeout(function () {  // after the layer control's click handling: it then updates
      groups.forEach(function (g) {
        if (g !== e.layer && map.hasLayer(g)) { map.removeLayer(g); } });
    }, 0);
  });
})();
{% endmacro %}""")

    def __init__(self, groups: list[str]) -> None:
        super().__init__()
        self._name = "ExclusiveLayers"
        self.groups = groups


class UnitSearch(JSCSSMixin, DataElement):
    """Search box of unit names (leaflet-search); opens the unit's popup on the shown layer.

    Names are shown with ``textContent``, never parsed as HTML.
    """

    _template = Template("""
{% macro script(this, kwargs) %}
(function () {
  var map = {{ this._parent.get_name() }}, units = {{ this.data.get_name() }};
  var records = {{ this.records }};
  var ctl = new L.Control.Search({
    sourceData: function (text, cb) { cb(records); return {abort: function () {}}; },
    propertyName: 'title', propertyLoc: 'loc', marker: false, initial: false,
    textPlaceholder: {{ this.placeholder }}, textErr: {{ this.not_found }},
    position: 'topleft', collapsed: false,
    buildTip: function (text) {
      var a = document.createElement('a'); a.href = '#'; a.textContent = text; return a; },
    moveToLocation: function (latlng, title) {
      var rec = records.find(function (r) { return r.title === title; });
      if (!rec) { return; }
      map.fitBounds(rec.bounds, {maxZoom: 15});
      var shown = units.layers.find(function (l) { return map.hasLayer(l); });
      if (shown) { shown.eachLayer(function (f) {
        if (f.feature.properties._i === rec.i) { f.openPopup(); } }); }
    }
  });
  map.addControl(ctl);
  units.search = ctl;
})();
{% endmacro %}""")

    _CDN = "https://cdn.jsdelivr.net/npm/leaflet-search@2.9.7/dist/"

    def __init__(self, data: UnitData, records: list[dict[str, Any]], placeholder: str,
                 not_found: str) -> None:
        super().__init__()
        # folium's JSCSSMixin links these in the page header when the element renders
        self.default_js = [("Leaflet.Search.js", self._CDN + "leaflet-search.min.js")]
        self.default_css = [("Leaflet.Search.css", self._CDN + "leaflet-search.min.css")]
        self._name = "UnitSearch"
        self.data, self.records = data, js_json(records)
        self.placeholder, self.not_found = js_json(placeholder), js_json(not_found)


class FullscreenControl(JSCSSMixin, DataElement):
    """The full-screen button (leaflet.fullscreen, vendored), as folium's ``Fullscreen``
    plugin draws it, without importing every folium plugin (~0.1 s)."""

    _template = Template("""
{% macro script(this, kwargs) %}
L.control.fullscreen({{ this.options }}).addTo({{ this._parent.get_name() }});
{% endmacro %}""")

    _CDN = "https://cdn.jsdelivr.net/npm/leaflet.fullscreen@3.0.0/"

    def __init__(self, title: str, title_cancel: str, position: str = "topleft") -> None:
        super().__init__()
        self.default_js = [("Control.Fullscreen.js", self._CDN + "Control.FullScreen.min.js")]
        self.default_css = [("Control.FullScreen.css", self._CDN + "Control.FullScreen.css")]
        self._name = "Fullscreen"
        self.options = js_json({"position": position, "title": title,
                                "titleCancel": title_cancel, "forceSeparateButton": False})


class OfflineFigure(Figure):
    """A Figure whose rendered HTML (``save``, notebook display) inlines the vendored assets
    and drops (with a warning) external ones it has no copy of: no request at all."""

    missing = "warn"

    def render(self, **kwargs: Any) -> str:
        return "".join(self.render_parts(**kwargs))

    def render_parts(self, **kwargs: Any) -> list[str]:
        """The page in pieces: page text at even positions, the data of its elements
        (:class:`~landcarbon.publish._elements.Blob`) at odd positions, each once (not
        copied through every step of the page: ``"".join`` of the pieces is
        :meth:`render`)."""
        with kept_apart() as kept:
            text = super().render(**kwargs)
        text = make_offline(text, missing=self.missing)
        lang = getattr(self, "lc_lang", None)
        if lang:  # the page's language and title (screen readers, tabs, bookmarks)
            title = getattr(self, "lc_title", None) or ("碳收支地图" if lang == "zh"
                                                        else "Carbon balance map")
            text = text.replace("<html>", f'<html lang="{"zh-CN" if lang == "zh" else "en"}">',
                                1)
            text = text.replace("<head>", f"<head>\n<title>{html.escape(title)}</title>", 1)
        data = [piece for pieces in kept.values() for piece in pieces]
        return split_blobs(embed_font(text, script=True, also=data), kept)


class SelfContainedFigure(OfflineFigure):
    """Inlines the vendored assets (Leaflet, our plugins) but keeps other external ones (e.g.
    of folium plugins a user adds): the map itself never depends on a CDN."""

    missing = "keep"
