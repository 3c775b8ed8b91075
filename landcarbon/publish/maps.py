"""Interactive web map of the assessed units table (folium / Leaflet), like ``gdf.explore()``.

Each styling of the units (risk level, space type, net / emission / sequestration per ha, any
numeric column) is a switchable layer drawing one shared copy of the geometries; the per-pixel
rasters can be added as image overlays (:mod:`landcarbon.publish.rasters`). Tooltips, popups,
legend, layer control, scale bar, fullscreen button and a unit-name search come with it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Literal

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
from branca.element import Figure

from landcarbon.accounting.display_units import DisplayUnits
from landcarbon.engine.areas import utm_crs
from landcarbon.exceptions import InputError
from landcarbon.publish._chrome import MapChrome, raster_probe
from landcarbon.publish._classes import class_fills as _class_fills
from landcarbon.publish._classes import class_legend as _class_legend
from landcarbon.publish._classes import numeric_classes as _numeric_classes
from landcarbon.publish._controls import (
    ExclusiveLayers,
    FullscreenControl,
    OfflineFigure,
    SelfContainedFigure,
    UnitData,
    UnitLayer,
    UnitLegend,
    UnitSearch,
)
from landcarbon.publish._features import FeatureLayer
from landcarbon.publish._html import (
    NO_DATA,
    esc,
    per_ha_unit,
    popup_record,
    popup_tables,
    swatches,
    ui,
    unit_name,
    vocab,
)
from landcarbon.publish.basemaps import add_basemaps, basemap_crs
from landcarbon.publish.zone_layers import CategoryLayer, Overlay, zone_category_layers

if TYPE_CHECKING:
    import xarray as xr

__all__ = ["DEFAULT_LAYERS", "add_head_html", "explore_units", "map_html", "map_pieces"]

DEFAULT_LAYERS: tuple[str, ...] = (
    "risk_level", "space_type", "net_per_ha", "emission_per_ha", "sequestration_per_ha")
#: above this many units the polygons are drawn on a canvas instead of SVG paths
CANVAS_ABOVE = 1000
_RASTER_PANE = "lc_rasters"


def _flux_suffix(units: pd.DataFrame) -> tuple[str, str]:
    """Return the column suffix (``tc`` / ``tco2``) and the unit label (``t C`` / ``t CO₂``)."""
    from landcarbon.accounting.conversions import flux_suffix, unit_label

    suffix = flux_suffix(units.columns, ("emission_{}", "net_{}"))
    if suffix is not None:
        return suffix, unit_label(suffix, display=True)
    raise InputError(
        "explore_units: the units table has no flux columns (neither emission_tc nor "
        "emission_tco2); pass the assessed units table (after account and assess steps)."
    )


def _display_frame(units: gpd.GeoDataFrame, tolerance_m: float | None,
                   gcj02: bool = False) -> gpd.GeoDataFrame:
    """A simplified copy in EPSG:4326 (shifted to GCJ-02 if asked) for display; the input is
    never modified and the figures are never computed from it."""
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
        "metre", "meter") else utm_crs(gdf)
    if tolerance_m is None and (len(gdf) > 500 or gdf.count_coordinates().sum() > 20_000):
        x0, y0, x1, y1 = gdf.to_crs(metric).total_bounds
        tolerance_m = math.hypot(x1 - x0, y1 - y0) / 2000
    if tolerance_m:
        gdf = gdf.to_crs(metric)
        gdf["geometry"] = gdf.geometry.simplify(tolerance_m, preserve_topology=True)
    gdf = gdf.to_crs(4326)
    if gcj02:
        from landcarbon.publish.gcj02 import geometry_to_gcj02

        gdf["geometry"] = geometry_to_gcj02(gdf.geometry)
    return gdf


def _geojson(gdf: gpd.GeoDataFrame, size: int = 1024) -> list[str]:
    """GeoJSON of the display frame (features with property ``_i``), coordinates rounded to
    1e-6 degrees (~0.1 m), in pieces of ``size`` features that join into the collection:
    written by GEOS per geometry (``shapely.to_geojson``), not through Python dictionaries
    (10x faster for thousands of detailed boundaries)."""
    import shapely

    geoms = shapely.transform(gdf.geometry.array, lambda xy: np.round(xy, 6))
    texts = shapely.to_geojson(geoms)
    ids = gdf["_i"].tolist()
    pieces = ['{"type":"FeatureCollection","features":[']
    for at in range(0, len(ids), size):
        if at:
            pieces.append(",")
        features = ",".join(
            f'{{"type":"Feature","properties":{{"_i":{int(i)}}},"geometry":'
            f'{"null" if g is None else g}}}'
            for i, g in zip(ids[at:at + size], texts[at:at + size], strict=True))
        # a float GEOS writes longer than its rounded value (it keeps the shortest form): cut
        pieces.append(re.sub(r"(\.\d{6})\d+", r"\1", features))
    pieces.append("]}")
    return pieces


def _layer_values(units: pd.DataFrame, key: str, sfx: str) -> pd.Series:
    """The column behind a layer key (densities computed per covered ha)."""
    if key == "net_per_ha":
        return units[f"net_{sfx}_per_ha"]
    if key in ("emission_per_ha", "sequestration_per_ha"):
        flux = units[f"{key.split('_')[0]}_{sfx}"]
        covered = units["covered_ha"].where(units["covered_ha"] > 0)
        return flux / covered
    return units[key]


def _needed_columns(key: str, sfx: str) -> list[str]:
    return {"net_per_ha": [f"net_{sfx}_per_ha"],
            "emission_per_ha": [f"emission_{sfx}", "covered_ha"],
            "sequestration_per_ha": [f"sequestration_{sfx}", "covered_ha"]}.get(key, [key])


def explore_units(
    units: gpd.GeoDataFrame,
    *,
    column: str = "risk_level",
    language: Literal["zh", "en"] | None = None,
    m: folium.Map | None = None,
    title: str | None = None,
    layers: Sequence[str] = DEFAULT_LAYERS,
    tiles: str | Sequence[str] | None = "osm",
    rasters: Mapping[str, xr.DataArray] | None = None,
    simplify_tolerance_m: float | None = None,
    offline: bool = False,
    search: bool = True,
    max_raster_size: int = 1024,
    zones: bool = True,
    categories: Sequence[CategoryLayer] = (),
    overlays: Sequence[Overlay] = (),
    popup_rows: Sequence[tuple[str, Sequence[str]]] = (),
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
    language : {"zh", "en"}, optional
        Language of layer names, legends, tooltips and popups; default: the language of the
        run the units come from (``units.attrs["language"]``, set by
        :func:`landcarbon.assess`), else Chinese.
    m : folium.Map, optional
        Add the layers to this map (its view and basemap are left alone) instead of a new one.
    title : str, optional
        Text of a title box at the top of the map.
    layers : sequence of str
        ``"risk_level"``, ``"space_type"``, ``"net_per_ha"``, ``"emission_per_ha"``,
        ``"sequestration_per_ha"`` (fluxes per covered ha) or any numeric column name. Each is
        a switchable layer with tooltip, popup and legend (numeric ones in quantile classes).
        The layer control shows one colouring (or raster) at a time, under a layer of unit
        boundaries that stays on.
    tiles : str, sequence of str or None
        Basemap(s) of a new map: keys of ``landcarbon/data/basemaps.csv`` (``"osm"``,
        ``"positron"``, ``"gaode"``, ``"gaode_satellite"``, ``"plain"``) or folium tile names;
        the first is shown, a plain background (no tiles) is always offered. ``None`` =
        ``"plain"``. With a GCJ-02 basemap (``gaode*``) the data are shifted WGS-84 -> GCJ-02
        so that they match it (with ``m=``: say which basemap ``m`` shows).
    rasters : mapping of str to xarray.DataArray, optional
        ``{"land_class" | "space_type" | "net_flux": raster}`` added as image overlays
        (hidden at start), see :func:`landcarbon.publish.rasters.raster_overlay`.
    simplify_tolerance_m : float, optional
        Simplify geometries for display with this tolerance (metres, in a metric CRS); ``0``
        disables it. Default: 1/2000 of the extent's diagonal when there are > 500 units or
        > 20,000 vertices (display only: figures always use the original geometries).
    offline : bool
        No basemap tiles (plain background), and with ``m=`` inline its vendored assets and
        drop the others: the map makes no request at all when opened. Maps created here
        always carry Leaflet and the plugins inline (``m.save()``, notebook display), so
        without internet only the basemap tiles are missing.
    search : bool
        Add a search box of unit names.
    max_raster_size : int
        Longest side (pixels) of the raster overlay images.
    zones : bool
        Add one switchable layer per zoning column present (``carbon_zone``, ``gi_class``...,
        see :func:`landcarbon.zoning.quadrants.zone_layers`), their values in the popups.
    categories : sequence of CategoryLayer
        More categorical layers of unit columns (e.g. the risk level of each date of a change
        run, :func:`landcarbon.publish.zone_layers.risk_by_date_layers`); ``column`` may name
        one of them.
    overlays : sequence of Overlay
        Other geometries (sink zones, hot-spot grid, alerts), see
        :mod:`landcarbon.publish.zone_layers`.
    popup_rows : sequence of (str, sequence of str)
        More popup rows: a label (text) and one cell per row of ``units`` (escaped HTML),
        e.g. every alert of each unit of a change run. With them, the rows of ``categories``
        and these come first in the popups (what the map is about), then the unit's figures.

    Returns
    -------
    folium.Map
        The new map, or ``m`` with the layers added.
    """
    if language is None:
        language = units.attrs.get("language", "zh")
    if language not in ("zh", "en"):
        raise ValueError(f"language must be 'zh' or 'en', not {language!r}")
    zh = language == "zh"
    sfx, unit = _flux_suffix(units)
    cats = [*(zone_category_layers(units, language) if zones else []), *categories]
    layers = list(dict.fromkeys(
        [*([] if column in {c.column for c in cats} else [column]), *layers]))
    for key in layers:
        missing = [c for c in _needed_columns(key, sfx) if c not in units.columns]
        if missing:
            raise InputError(f"explore_units: layer {key!r} needs column(s) {missing}, which "
                             f"the units table does not have; columns are "
                             f"{list(units.columns)}.")
    keys = ["plain"] if offline or tiles is None else (
        [tiles] if isinstance(tiles, str) else list(tiles))
    gcj = basemap_crs(keys) == "gcj02"

    gdf = _display_frame(units, simplify_tolerance_m, gcj02=gcj)
    records = units.drop(columns=units.geometry.name).to_dict("records")
    shown = [records[i] for i in gdf["_i"]]
    data = gdf.assign(_i=np.arange(len(gdf)))  # index into the shared tooltip/popup lists
    rows = units.iloc[gdf["_i"].to_numpy()]

    new_map = m is None
    if m is None:
        m = folium.Map(tiles=None, control_scale=True)
        # polygons and our plugins need Leaflet only; it is inlined (self-contained HTML: no
        # CDN needed, often blocked on intranets); only basemap tiles come from outside
        m.default_js = [(k, u) for k, u in folium.Map.default_js if k == "leaflet"]
        m.default_css = [(k, u) for k, u in folium.Map.default_css if k == "leaflet_css"]
        m.get_root().__class__ = SelfContainedFigure
        add_basemaps(m, keys, language)
        x0, y0, x1, y1 = data.total_bounds
        m.fit_bounds([[y0, x0], [y1, x1]])
    if offline and type(m.get_root()) in (Figure, SelfContainedFigure):
        m.get_root().__class__ = OfflineFigure
    display = (DisplayUnits.from_record(units.attrs["display"], unit)
               if isinstance(units.attrs.get("display"), dict) else None)
    tables = popup_tables(language, display)
    recs = [popup_record(r, language, sfx, unit, display) for r in shown]
    if cats or popup_rows:  # one popup row per categorical layer, before the land classes
        tables["extra"] = [esc(c.title) for c in cats] + [esc(lab) for lab, _ in popup_rows]
        tables["extra_first"] = bool(popup_rows)
        more = [list(col) for _, col in popup_rows]
        cells = list(zip(*[c.cells(rows[c.column]) for c in cats],
                         *[[col[i] for i in gdf["_i"]] for col in more], strict=True))
        recs = [[*rec[:-1], list(cell), rec[-1]] for rec, cell in zip(recs, cells, strict=True)]
    shared = UnitData(_geojson(data), tables, recs, title)
    m.add_child(shared)

    canvas = len(data) > CANVAS_ABOVE
    groups: dict[str, str] = {}  # layer-control name -> group key (MapChrome)
    zone_cols = {c.column for c in cats[:len(cats) - len(categories)]}
    outline = folium.FeatureGroup(name=ui("boundaries", language), show=True)
    groups[ui("boundaries", language)] = "group_units"
    outline.add_child(UnitLayer(shared, [], canvas=canvas, outline=True))
    outline.add_to(m)
    sections = []
    for key in layers:
        values = _layer_values(rows, key, sfx)
        if key in ("risk_level", "space_type"):
            table = vocab("risk_levels" if key == "risk_level" else "space_types")
            fills = [table[v][2] if v in table else NO_DATA for v in values]
            present = set(values)
            items = [(lab[zh], lab[2]) for k, lab in table.items()]
            if not any(c == NO_DATA for _, c in items) or not present <= set(table):
                items.append((ui("no_data", language), NO_DATA))
            items = list(dict.fromkeys(items))
            legend = swatches(ui(key, language), items)
        else:
            classes = _numeric_classes(values, key)
            fills = _class_fills(classes, pd.to_numeric(values, errors="coerce").to_numpy(float))
            lab = (f"{ui(key, language)} ({per_ha_unit(unit, language)})"
                   if key in DEFAULT_LAYERS else key)
            legend = _class_legend(classes, lab, language)
        name = ui(key, language) if key in DEFAULT_LAYERS else key
        group = folium.FeatureGroup(name=name, show=key == column)
        groups[name] = "group_units"
        group.add_child(UnitLayer(shared, fills, canvas=canvas))
        group.add_to(m)
        sections.append((group.get_name(), legend))
    for cat in cats:
        # Leaflet's layer control shows names as HTML: escaped (scenario names are the user's)
        group = folium.FeatureGroup(name=esc(cat.title), show=cat.column == column)
        groups[cat.title] = "group_zoning" if cat.column in zone_cols else cat.group
        group.add_child(UnitLayer(shared, cat.fills(rows[cat.column]), canvas=canvas))
        group.add_to(m)
        sections.append((group.get_name(), cat.legend(rows[cat.column])))
    stacked: list[tuple[str, str]] = []
    # a units table row -> its place in the shared unit data (units without a geometry to
    # show are not there: -1)
    place = np.full(len(units), -1, dtype=np.int64)
    place[gdf["_i"].to_numpy()] = np.arange(len(gdf))
    for ov in overlays:
        geojson = None
        if not ov.on_units:  # features of its own (on_units: the shared unit geometry)
            frame = ov.frame.to_crs(4326)
            if gcj:
                from landcarbon.publish.gcj02 import geometry_to_gcj02

                frame["geometry"] = geometry_to_gcj02(frame.geometry)
            geojson = _geojson(gpd.GeoDataFrame({"_i": np.arange(len(frame))},
                                                geometry=frame.geometry.values, crs=4326))
        group = folium.FeatureGroup(name=esc(ov.name), show=ov.show)
        groups[ov.name] = "group_overlays" if ov.exclusive else "group_change"
        group.add_child(FeatureLayer(geojson, ov.fills, ov.popups, ov.tooltips,
                                     canvas=len(ov.frame) > CANVAS_ABOVE, rows=ov.rows,
                                     cells=ov.cells, outline=ov.outline,
                                     units=shared if ov.unit_rows or ov.on_units else None,
                                     unit_rows=place[ov.unit_rows].tolist()
                                     if ov.unit_rows else None))
        group.add_to(m)
        (sections if ov.exclusive else stacked).append((group.get_name(), ov.legend))

    from landcarbon.publish.rasters import raster_overlay

    if rasters and not any(isinstance(c, folium.map.CustomPane) and c.name == _RASTER_PANE
                           for c in m._children.values()):
        folium.map.CustomPane(_RASTER_PANE, z_index=350).add_to(m)  # below the polygons
    probes = []
    for kind, da in (rasters or {}).items():
        overlay, legend = raster_overlay(da, kind, language=language,  # type: ignore[arg-type]
                                         units_label=per_ha_unit(unit, language), gcj02=gcj,
                                         max_size=max_raster_size, pane=_RASTER_PANE)
        group = folium.FeatureGroup(name=overlay.layer_name, show=False)
        groups[overlay.layer_name] = "group_rasters"
        probes.append((group.get_name(), raster_probe(
            da, kind, language=language, unit_label=per_ha_unit(unit, language), gcj02=gcj)))
        overlay.add_to(group)
        group.add_to(m)
        sections.append((group.get_name(), legend))

    m.add_child(ExclusiveLayers([fg for fg, _ in sections]))
    m.add_child(UnitLegend(ui("legend", language), [*sections, *stacked]))
    if search:
        bounds = data.geometry.bounds.to_numpy().round(6).tolist()
        pts = data.geometry.representative_point()
        m.add_child(UnitSearch(shared, [
            {"title": f"{unit_name(r)} ({r.get('unit_id', '')})",
             "loc": [round(p.y, 6), round(p.x, 6)],
             "bounds": [[b[1], b[0]], [b[3], b[2]]], "i": i}
            for i, (r, p, b) in enumerate(zip(shown, pts, bounds, strict=True))],
            ui("search", language), ui("not_found", language)))
    if new_map:
        FullscreenControl(ui("fullscreen", language), ui("exit_fullscreen", language)
                          ).add_to(m)
        root = m.get_root()
        root.lc_lang, root.lc_title = language, title  # type: ignore[attr-defined]
    for k, child in list(m._children.items()):  # one layer control, rendered last
        if isinstance(child, folium.LayerControl):
            del m._children[k]
            m.add_child(child, name=k)
            break
    else:
        folium.LayerControl(collapsed=False).add_to(m)
    pts = data.geometry.representative_point()
    by_size = np.argsort(-data.to_crs(3857).geometry.area.to_numpy(), kind="stable")
    m.add_child(MapChrome(shared, language, groups,
                          [[round(pts.iloc[k].y, 6), round(pts.iloc[k].x, 6),
                            unit_name(shown[k])] for k in by_size], probes))
    return m


def add_head_html(m: folium.Map, html: str, *, name: str) -> None:
    """Add ``html`` (e.g. ``<meta>`` tags) to the ``<head>`` of the map's page, as child
    ``name`` of its branca Figure."""
    from branca.element import Element

    root = m.get_root()
    if not isinstance(root, Figure):
        raise TypeError(f"the map's root is a {type(root).__name__}, not a page (Figure)")
    root.header.add_child(Element(html), name=name)


def map_html(m: folium.Map) -> str:
    """The rendered HTML of a map (as ``m.save`` writes it) with sequential element ids
    (:func:`map_pieces` joined)."""
    return "".join(map_pieces(m))


def map_pieces(m: folium.Map) -> list[str]:
    """The rendered HTML of a map in pieces (page text at even positions, the data of its
    layers at odd positions; write them one after the other), with sequential element ids.

    folium names every element ``<kind>_<32 random hex digits>``; in the page text these
    become ``<kind>_`` + a counter in order of first appearance, so that identical maps give
    identical files (the data are not touched: a unit named like an element keeps its name).
    """
    root = m.get_root()
    pieces = root.render_parts() if isinstance(root, OfflineFigure) else [root.render()]
    ids: dict[str, str] = {}

    def seq(match: re.Match[str]) -> str:
        return "_" + ids.setdefault(match.group(1), f"{len(ids):06d}")

    for i in range(0, len(pieces), 2):
        pieces[i] = re.sub(r"_([0-9a-f]{32})(?![0-9a-zA-Z])", seq, pieces[i])
    return pieces
