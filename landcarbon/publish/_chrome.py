"""The map's furniture (a folium ``MacroElement`` added last): controls in the map's language,
a metric-only scale bar, the title inside the map (so it stays in fullscreen) with popups kept
clear of it and of the legend, a grouped layer control that fits small screens, unit names
shown when zoomed in (never overlapping), and popups over raster layers that also give the
pixel value under the click."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

import numpy as np
from branca.element import Template

from landcarbon.publish._elements import DataElement
from landcarbon.publish._html import esc, js_json, ui

if TYPE_CHECKING:
    import xarray as xr

__all__ = ["MapChrome", "raster_probe"]


def raster_probe(da: xr.DataArray, kind: str, *, language: str, unit_label: str,
                 gcj02: bool = False, max_size: int = 256) -> dict[str, Any]:
    """A coarse copy of a raster for the map's click popups: values on a Web Mercator grid of
    at most ``max_size`` pixels a side, base64 (uint8 classes, or int16 scaled fluxes).

    Returns
    -------
    dict
        ``bounds`` (Web Mercator x0, y0, x1, y1), ``w``, ``h``, ``data`` (base64), ``int16``,
        ``scale``, ``labels`` (class names, escaped) or ``unit`` (flux unit, escaped).
    """
    from rasterio.enums import Resampling

    from landcarbon.accounting.legends import SPACE_TYPES
    from landcarbon.publish._html import vocab
    from landcarbon.publish.rasters import downsample

    small = downsample(da, max_size)
    zh = language == "zh"
    out: dict[str, Any] = {"kind": kind}
    if kind == "net_flux":
        web = small.astype("float32").rio.write_nodata(np.nan).rio.reproject(
            "EPSG:3857", resampling=Resampling.nearest)
        v = np.asarray(web.values, dtype=float)
        top = float(np.nanmax(np.abs(v))) if np.isfinite(v).any() else 1.0
        scale = max(top, 1e-9) / 32000
        q = np.where(np.isfinite(v), np.round(v / scale), -32768).astype("<i2")
        out.update(int16=True, scale=scale, unit=esc(unit_label))
    else:
        table = vocab("land_classes" if kind == "land_class" else "space_types")
        keys = list(table) if kind == "land_class" else list(SPACE_TYPES)
        web = small.fillna(0).astype("uint8").rio.write_nodata(0).rio.reproject(
            "EPSG:3857", resampling=Resampling.nearest, nodata=0)
        q = np.asarray(web.values).astype("u1")
        out.update(int16=False, scale=1.0, labels=[esc(table[k][zh]) for k in keys])
    x0, y0, x1, y1 = web.rio.bounds()
    if gcj02:  # the offset is nearly uniform over a unit map: shift by the one at the centre
        from pyproj import Transformer

        from landcarbon.publish.gcj02 import wgs84_to_gcj02

        to_ll = Transformer.from_crs(3857, 4326, always_xy=True)
        to_m = Transformer.from_crs(4326, 3857, always_xy=True)
        lon, lat = to_ll.transform((x0 + x1) / 2, (y0 + y1) / 2)
        gx, gy = to_m.transform(*wgs84_to_gcj02(lon, lat))
        dx, dy = float(gx) - (x0 + x1) / 2, float(gy) - (y0 + y1) / 2
        x0, x1, y0, y1 = x0 + dx, x1 + dx, y0 + dy, y1 + dy
    out.update(bounds=[x0, y0, x1, y1], h=int(q.shape[0]), w=int(q.shape[1]),
               data=base64.b64encode(q.tobytes()).decode("ascii"))
    return out


class MapChrome(DataElement):
    """Language, title, layer groups, unit labels and raster popups of one map (added after
    the layer control)."""

    _template = Template("""
{% macro script(this, kwargs) %}
(function () {
  var map = {{ this._parent.get_name() }}, ui = {{ this.ui }};
  var units = {{ this.units }};
  var box = map.getContainer();
  // -- controls in the map's language; the scale bar in metres / kilometres only
  function setTitle(sel, text) {
    box.querySelectorAll(sel).forEach(function (el) {
      el.title = text; el.setAttribute('aria-label', text); });
  }
  setTitle('.leaflet-control-zoom-in', ui.zoom_in);
  setTitle('.leaflet-control-zoom-out', ui.zoom_out);
  setTitle('.leaflet-control-layers-toggle', ui.layers);
  box.querySelectorAll('.search-cancel').forEach(function (el) { el.title = ui.cancel; });
  box.querySelectorAll('.leaflet-control-scale').forEach(function (el) { el.remove(); });
  L.control.scale({metric: true, imperial: false, position: 'bottomleft'}).addTo(map);
  // -- the title lives inside the map (visible in fullscreen); popups stay clear of it
  var title = document.querySelector('.lc-title');
  if (title) { box.appendChild(title); }
  function padding() {
    var top = title ? title.offsetTop + title.offsetHeight + 12 : 20;
    var legend = box.querySelector('.lc-legend');
    var right = legend ? legend.offsetWidth + 24 : 20;
    L.Popup.prototype.options.autoPanPaddingTopLeft = L.point(60, top);
    L.Popup.prototype.options.autoPanPaddingBottomRight = L.point(right, 30);
  }
  padding(); map.on('resize layeradd layerremove', padding);
  // -- layer control in groups
  var groups = {{ this.groups }}, order = {{ this.group_order }};
  function regroup() {
    var list = box.querySelector('.leaflet-control-layers-overlays');
    if (list) {
      var labels = Array.prototype.slice.call(list.querySelectorAll('label'));
      list.querySelectorAll('.lc-group').forEach(function (h) { h.remove(); });
      order.forEach(function (g) {
        var mine = labels.filter(function (l) {
          return groups[l.textContent.trim()] === g[0]; });
        if (!mine.length) { return; }
        var head = document.createElement('div');
        head.className = 'lc-group'; head.textContent = g[1];
        list.appendChild(head);
        mine.forEach(function (l) { list.appendChild(l); });
      });
      labels.forEach(function (l) {  // layers of no known group stay last
        if (!groups[l.textContent.trim()]) { list.appendChild(l); } });
    }
    var base = box.querySelector('.leaflet-control-layers-base');
    if (base && base.children.length && !base.querySelector('.lc-group')) {
      var bh = document.createElement('div');
      bh.className = 'lc-group'; bh.textContent = ui.group_basemaps;
      base.insertBefore(bh, base.firstChild);
    }
  }
  // the layer control rebuilds its list on every switch: group it again each time
  if (!L.Control.Layers.prototype._lcGrouped) {
    var update = L.Control.Layers.prototype._update;
    L.Control.Layers.prototype._update = function () {
      var out = update.apply(this, arguments);
      if (this._map && this._map._lcRegroup) { this._map._lcRegroup(); }
      return out;
    };
    L.Control.Layers.prototype._lcGrouped = true;
  }
  map._lcRegroup = regroup;
  regroup();
  // -- unit names when zoomed in, largest units first, none overlapping another
  var names = {{ this.labels }}, labelLayer = L.layerGroup();
  names.forEach(function (n) {
    L.tooltip({permanent: true, direction: 'center', className: 'lc-label',
               interactive: false}).setLatLng([n[0], n[1]]).setContent(n[2])
      .addTo(labelLayer);
  });
  var minZoom = map.getZoom() + 1;
  function declutter() {
    var show = map.getZoom() >= minZoom;
    if (show && !map.hasLayer(labelLayer)) { labelLayer.addTo(map); }
    if (!show && map.hasLayer(labelLayer)) { map.removeLayer(labelLayer); }
    if (!show) { return; }
    var taken = [];
    labelLayer.eachLayer(function (t) {
      var el = t.getElement(); if (!el) { return; }
      el.style.visibility = 'visible';
      var r = el.getBoundingClientRect();
      var hit = taken.some(function (o) {
        return r.left < o.right && o.left < r.right && r.top < o.bottom && o.top < r.bottom; });
      if (hit) { el.style.visibility = 'hidden'; } else { taken.push(r); }
    });
  }
  map.whenReady(function () { minZoom = map.getZoom() + 1; declutter(); });
  map.on('zoomend moveend', declutter);
  units.labels = labelLayer; units.declutter = declutter;
  // -- popups over rasters: the unit under the click and the pixel value
  var probes = {{ this.probes }}.map(function (p, k) {
    var bin = atob(p.data), bytes = new Uint8Array(bin.length);
    for (var j = 0; j < bin.length; j++) { bytes[j] = bin.charCodeAt(j); }
    p.view = new DataView(bytes.buffer); p.group = {{ this.groups_js }}[k];
    return p;
  });
  function pixel(p, latlng) {
    var m = L.CRS.EPSG3857.project(latlng), b = p.bounds;
    var col = Math.floor((m.x - b[0]) / (b[2] - b[0]) * p.w);
    var row = Math.floor((b[3] - m.y) / (b[3] - b[1]) * p.h);
    if (col < 0 || row < 0 || col >= p.w || row >= p.h) { return null; }
    var k = row * p.w + col;
    if (p.int16) {
      var v = p.view.getInt16(2 * k, true);
      return v === -32768 ? null : (v * p.scale).toFixed(2) + ' ' + p.unit;
    }
    var c = p.view.getUint8(k);
    return c === 0 ? null : p.labels[c - 1];
  }
  function inside(pt, ring) {
    var x = pt[0], y = pt[1], ok = false;
    for (var i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      var xi = ring[i][0], yi = ring[i][1], xj = ring[j][0], yj = ring[j][1];
      if ((yi > y) !== (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi) { ok = !ok; }
    }
    return ok;
  }
  function unitAt(latlng) {
    var pt = [latlng.lng, latlng.lat], feats = units.data.features;
    for (var f = 0; f < feats.length; f++) {
      var g = feats[f].geometry;
      var polys = g.type === 'Polygon' ? [g.coordinates] : g.coordinates;
      for (var q = 0; q < polys.length; q++) {
        if (inside(pt, polys[q][0]) &&
            !polys[q].slice(1).some(function (h) { return inside(pt, h); })) {
          return feats[f].properties._i;
        }
      }
    }
    return -1;
  }
  map.on('click', function (e) {
    var shown = probes.filter(function (p) { return map.hasLayer(p.group); });
    var filled = units.layers.slice(1).some(function (l) { return map.hasLayer(l); });
    if (!shown.length || filled) { return; }
    var value = pixel(shown[0], e.latlng), i = unitAt(e.latlng);
    var row = "<div class='lc-pop lc-pixel'><b>" + ui.pixel + '</b>: ' +
              (value === null ? ui.no_data : value) + '</div>';
    var body = i >= 0 ? units.pop(i) : '';
    L.popup({maxWidth: 380}).setLatLng(e.latlng).setContent(row + body).openOn(map);
  });
})();
{% endmacro %}""")

    def __init__(self, units: Any, language: str, groups: dict[str, str],
                 labels: list[list[Any]], probes: list[tuple[str, dict[str, Any]]]) -> None:
        super().__init__()
        self._name = "MapChrome"
        keys = ("zoom_in", "zoom_out", "layers", "cancel", "group_basemaps", "no_data")
        texts = {k: ui(k, language) for k in keys}
        texts["pixel"] = ui("pixel_value", language)
        self.ui = js_json(texts)
        self.units = units.get_name()
        self.groups = js_json(groups)
        self.group_order = js_json([[g, ui(g, language)] for g in (
            "group_units", "group_zoning", "group_change", "group_scenarios", "group_rasters",
            "group_overlays")])
        self.labels = js_json([[lat, lon, esc(name)] for lat, lon, name in labels])
        self.probes = js_json([p for _, p in probes])
        self.groups_js = "[" + ", ".join(fg for fg, _ in probes) + "]"
