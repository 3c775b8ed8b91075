"""Leaflet element of the extra feature layers (:class:`landcarbon.publish.zone_layers.Overlay`):
polygons (or circle markers for points) with fills, tooltips and popups given in Python, or
the popups of the map's units and (``on_units``) the units' own shared geometry."""

from __future__ import annotations

from branca.element import Template

from landcarbon.publish._controls import UnitData
from landcarbon.publish._elements import Blob, DataElement
from landcarbon.publish._html import js_json, js_json_pieces, script_safe

__all__ = ["FeatureLayer"]


class FeatureLayer(DataElement):
    """Features of one overlay, added to its parent ``FeatureGroup``; popups and tooltips are
    escaped HTML made in Python (no markup from the data). With ``rows`` (shared labels),
    ``popups`` are titles and the popup table is assembled from ``cells`` when opened. With
    ``outline`` polygons are drawn as thick coloured outlines without fill (a stacked layer
    that leaves the colouring below readable and its popups clickable)."""

    _template = Template("""
{% macro script(this, kwargs) %}
var {{ this.get_name() }} = (function () {
  var fills = {{ this.fills }}, pops = {{ this.popups }}, tips = {{ this.tooltips }};
  var rows = {{ this.rows }}, cells = {{ this.cells }}, of = {{ this.unit_rows }};
  {% if this.units %}// the features drawn from the shared units: feature of each unit row
  var at = {};
  of.forEach(function (u, i) { at[u] = i; });{% endif %}
  function pop(i) {
    {% if this.units %}if (of.length) {  // the unit's popup (none for a unit not shown)
      return of[i] >= 0 ? {{ this.units.get_name() }}.pop(of[i]) : ''; }{% endif %}
    if (!rows.length) { return pops[i]; }
    return "<div class='lc-pop'><h4>" + pops[i] + '</h4><table>' + rows.map(function (r, k) {
      return '<tr><th>' + r + '</th><td>' + cells[i][k] + '</td></tr>'; }).join('') +
      '</table></div>';
  }
  {% if this.geojson %}var index = function (f) { return f.properties._i; };
  var layer = L.geoJSON({{ this.geojson }}, {
  {% else %}var index = function (f) { return at[f.properties._i]; };
  var layer = L.geoJSON({{ this.units.get_name() }}.data, {
    filter: function (f) { return at[f.properties._i] !== undefined; },
  {% endif %}
    {% if this.canvas %}renderer: L.canvas({padding: 0.5}),{% endif %}
    style: function (f) {
      if (f.geometry && f.geometry.type === 'Point') {  // L.geoJSON styles markers too
        // a white ring sets the marker off any fill below (an orange alert on 超过阈值)
        return {fillColor: fills[index(f)], color: '#ffffff', weight: 2.5,
                fillOpacity: 1, opacity: 1};
      }
      {% if this.outline %}// outline only: clicks inside reach the unit (its popup) below
      return {fill: false, color: fills[index(f)], weight: 2.5, opacity: 0.95,
              dashArray: '7 4'};
      {% else %}return {fillColor: fills[index(f)], color: '#444444',
                                  weight: 0.6, fillOpacity: 0.75};{% endif %} },
    pointToLayer: function (f, latlng) {
      // in the marker pane: above every unit colouring, whichever is switched on later
      return L.circleMarker(latlng, {radius: 7, pane: 'markerPane'}); },
    onEachFeature: function (f, l) {
      var i = index(f);
      if (tips.length) { l.bindTooltip(tips[i], {sticky: true}); }
      l.bindPopup(function () { return pop(i); },
                  {maxWidth: 420,
                   maxHeight: Math.max(260, Math.round(window.innerHeight * 0.62))});
    }
  });
  layer.addTo({{ this._parent.get_name() }});
  return layer;
})();
{% endmacro %}""")

    def __init__(self, geojson: list[str] | None, fills: list[str], popups: list[str],
                 tooltips: list[str], canvas: bool = False, rows: list[str] | None = None,
                 cells: list[list[str]] | None = None, outline: bool = False,
                 units: UnitData | None = None, unit_rows: list[int] | None = None) -> None:
        super().__init__()
        self._name = "FeatureLayer"
        if geojson is None and units is None:
            raise ValueError("FeatureLayer: features of its own (geojson) or of the units")
        self.geojson = None if geojson is None else Blob(script_safe(geojson))
        self.units, self.unit_rows = units, js_json([int(u) for u in unit_rows or []])
        self.fills, self.popups = js_json(fills), Blob(js_json_pieces(popups))
        self.tooltips = Blob(js_json_pieces(tooltips))
        self.canvas, self.outline = canvas, outline
        self.rows, self.cells = js_json(rows or []), Blob(js_json_pieces(cells or []))
