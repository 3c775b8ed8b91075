"""Publishing a run: which maps, figures, report and styles a finished run gets, drawn by
:mod:`landcarbon.publish` and written through :mod:`landcarbon.io.publication`."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd

from landcarbon._resources import package_version
from landcarbon.accounting.conversions import flux_suffix, suffix_factor, unit_label
from landcarbon.config.outputs import PUBLISHED, name
from landcarbon.io.outputs import atomic_path, unshare
from landcarbon.io.ownership import check_no_links
from landcarbon.io.publication import (
    meta_tags,
    png_with_text,
    read_raster_preview,
    write_gpkg_provenance,
    write_layer_style,
    write_text,
)
from landcarbon.io.tables import read_output_csv
from landcarbon.pipeline import figure_worker

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = ["write_change_publication", "write_publication", "write_scenario_publication"]


def _zoning_overlays(folder: Path, language: str, unit: str) -> list[Any]:
    """Map layers of ``sink_zones.gpkg`` and ``hotspot_grid.gpkg`` when the run has them."""
    import geopandas as gpd

    from landcarbon.publish.zone_layers import hotspot_overlay, sink_zone_overlay

    out = []
    for key, make in (("sink_zones", lambda g: sink_zone_overlay(g, language, unit)),
                      ("hotspot_grid", lambda g: hotspot_overlay(g, language))):
        path = folder / name("run", key)
        if path.is_file():
            layer = gpd.read_file(path, layer=key)
            if len(layer):
                out.append(make(layer))
    return out


def _zoning_section(folder: Path, units: pd.DataFrame, language: str
                    ) -> dict[str, Any] | None:
    """The report's zoning section from the run's zoning files (``None`` without zoning)."""
    from landcarbon.publish.zoning_report import zoning_context

    def table(name: str) -> pd.DataFrame | None:
        path = folder / name
        return read_output_csv(path, dtype={
            "unit_id": str, "payer_id": str, "receiver_id": str}) if path.is_file() else None

    summary = folder / name("run", "zoning_summary")
    sweep_png = name("run", "sweep_plot")
    return zoning_context(
        units, language=language,
        summary=json.loads(summary.read_text(encoding="utf-8")) if summary.is_file() else None,
        flows=table(name("run", "compensation_flows")), uncertainty=table(name("run",
                                                                               "uncertainty")),
        sweep_png=sweep_png if (folder / sweep_png).is_file() else None)


def write_publication(
    folder: str | Path,
    units: gpd.GeoDataFrame,
    manifest: dict[str, Any],
    *,
    class_areas: pd.DataFrame | None = None,
    rasters: dict[str, Path] | None = None,
    language: Literal["zh", "en"] = "zh",
    title: str | None = None,
    tiles: str | None = "osm",
    offline: bool = False,
    progress: bool = False,
) -> dict[str, str]:
    """Write ``map.html``, ``report.html``, ``figures/*.png`` and the gpkg style of a run
    (``progress``: a bar over these stages on a terminal).

    Returns
    -------
    dict
        ``{role: file name relative to folder}`` of everything written.
    """
    from landcarbon.pipeline.progress import stages
    from landcarbon.publish._units import display_scope

    shown = manifest.get("settings", {}).get("display") or {}
    with (stages("map, report, figures", 4, progress) as advance,
          display_scope(shown.get("mass_scale", "auto"), shown.get("area_unit", "ha"))):
        return _write_publication(folder, units, manifest, class_areas=class_areas,
                                  rasters=rasters, language=language, title=title,
                                  tiles=tiles, offline=offline, advance=advance)


def _write_publication(folder: str | Path, units: gpd.GeoDataFrame, manifest: dict[str, Any],
                       *, class_areas: pd.DataFrame | None, rasters: dict[str, Path] | None,
                       language: Literal["zh", "en"], title: str | None, tiles: str | None,
                       offline: bool, advance: Callable[[str], None]) -> dict[str, str]:
    from landcarbon.publish import explore_units
    from landcarbon.publish._html import ui
    from landcarbon.publish.maps import add_head_html, map_pieces
    from landcarbon.publish.report import atlas_report, provenance
    from landcarbon.publish.styles import categorized_qml, categorized_sld

    folder = Path(folder)
    gpkg = folder / name("run", "units_gpkg")
    check_no_links(folder, *sorted(PUBLISHED), gpkg.name)
    title = title or manifest.get("config", {}).get("title") or None
    files: dict[str, str] = {}
    sfx = flux_suffix(units.columns) or "tc"
    unit = unit_label(sfx, display=True)
    units = units.copy()  # popups in the run's display units (万吨 / 亩)
    units.attrs["display"] = manifest.get("settings", {}).get("display")
    # the figures are drawn by the run's figure worker (a second core) while this process
    # writes the map: the same PNGs as drawn here, in about half the time
    source = (f"{manifest.get('settings', {}).get('legend', '')} · "
              f"landcarbon {manifest.get('landcarbon_version', '')}").strip(" ·")
    jobs: dict[str, tuple[str, tuple[Any, ...], dict[str, Any]]] = {
        "maps": ("static_maps", (units, ("risk_level", "space_type")),
                 {"language": language, "title": title, "source": source}),
        "balance_by_space_type.png": ("balance_by_space_type", (units, sfx),
                                      {"unit": unit, "language": language}),
        "net_vs_threshold.png": ("net_vs_threshold", (units, sfx),
                                 {"unit": unit, "language": language}),
    }
    if class_areas is not None and "coefficients_tc_per_ha" in manifest.get("settings", {}):
        jobs["balance_by_land_class.png"] = ("balance_by_land_class", (
            class_areas, manifest["settings"]["coefficients_tc_per_ha"],
            float(units.get(f"construction_emission_{sfx}", pd.Series([0.0])).sum())),
            {"unit": unit, "factor": suffix_factor(sfx), "language": language})
    # the static maps and the slowest chart in one worker, the other charts in another (with
    # one worker: here, once the web map is written: about as long as the worker's share)
    first = ["maps", "net_vs_threshold.png"]
    pending = figure_worker.draw(jobs, shares=[first, [k for k in jobs if k not in first]])

    previews = {k: read_raster_preview(p) for k, p in (rasters or {}).items()}
    m = explore_units(units, language=language, title=title, tiles=tiles, offline=offline,
                      rasters=previews, overlays=_zoning_overlays(folder, language, unit))
    tags = provenance(manifest)
    add_head_html(m, meta_tags(tags), name="landcarbon_provenance")
    files["map"] = name("run", "map")
    write_text(folder / files["map"], map_pieces(m))  # sequential element ids: reproducible
    advance("map")

    figdir = folder / "figures"
    figdir.mkdir(exist_ok=True)
    drawn = pending.result()
    pngs = {"map_risk_level.png": drawn["maps"]["risk_level"],
            "map_space_type.png": drawn["maps"]["space_type"],
            **{k: v for k, v in drawn.items() if k != "maps"}}
    for png, data in pngs.items():
        role = f"figure_{png[:-4]}"
        files[role] = name("run", role)
        with atomic_path(folder / files[role]) as tmp:
            tmp.write_bytes(png_with_text(data, tags))
    advance("figures")

    charts = [(ui(k, language), f"figures/{k}.png") for k in (
        "balance_by_land_class", "balance_by_space_type", "net_vs_threshold")
        if f"figures/{k}.png" in files.values()]
    key_map = name("run", "figure_map_risk_level")
    maps = [(ui("interactive_map", language), name("run", "map")),
            (f"{ui('static_map', language)} · {ui('risk_level', language)}", key_map),
            (f"{ui('static_map', language)} · {ui('space_type', language)}",
             name("run", "figure_map_space_type"))]
    # every other file of the run (tables, rasters, zoning / change outputs), by name
    manifest_file = name("run", "manifest")
    skip = {name("run", "map"), name("run", "report"), manifest_file, name("portal", "index")}
    other = [(f.name, f.name) for f in sorted(folder.iterdir()) if f.is_file()
             and f.name not in skip and not f.name.startswith(".")
             and not f.name.endswith((".aux.xml", ".tmp"))]
    report = atlas_report(units.drop(columns=units.geometry.name), manifest, language=language,
                          title=title, maps=maps, figures=charts,
                          files=[*other, (ui("manifest", language), manifest_file)],
                          key_map=key_map,
                          zoning=_zoning_section(folder, units, language))
    files["report"] = name("run", "report")
    write_text(folder / files["report"], report)
    advance("report")

    if gpkg.is_file():
        unshare(gpkg)  # a hard link (a backup made with cp -al) keeps its content
        write_layer_style(gpkg, categorized_qml("risk_level"), categorized_sld("risk_level"),
                          description="landcarbon risk levels")
        write_gpkg_provenance(gpkg, provenance(manifest))
    advance("styles")
    return files


def write_change_publication(folder: str | Path, r: Any, files: dict[str, str]
                             ) -> dict[str, str]:
    """Write ``map.html`` (one risk layer per date, alerts) and ``report.html`` (totals per
    date, transfer matrices, stocks, alerts) of a change run (``r``: a ``ChangeResult``)
    into its folder; ``files`` = the files written so far (linked from the report)."""
    from landcarbon.publish.change_map import change_map
    from landcarbon.publish.change_report import change_report

    folder = Path(folder)
    cfg = r.config
    lang: Literal["zh", "en"] = "en" if cfg.language == "en" else "zh"
    title = cfg.title or None
    last = r.dates[r.years[-1]].units
    series = r.timeseries_layer()
    cols = [c for c in series.columns if c.startswith(("risk_level_", f"net_{r.suffix}_"))
            and c[-4:].isdigit() and c not in last.columns]
    units = last.merge(pd.DataFrame(series[["unit_id", *cols]]), on="unit_id", how="left")
    out = cfg.output
    unit = unit_label(r.suffix, display=True)
    with _display(cfg):
        return _write_map_and_report(folder, lambda: change_map(
            units, r.alerts_layer(), language=lang, title=title, tiles=out.map_tiles or None,
            offline=out.map_offline, unit=unit), lambda **common: change_report(
            r.totals(), r.transfer, r.alerts, last_units=last, series=r.timeseries, **common),
            cfg, lang, title, unit, files, "change")


def _display(cfg: Any) -> Any:
    """The scope in which change and scenario pages show totals and areas in the run's
    ``[output] mass_scale`` and ``area_unit`` (:func:`landcarbon.publish._units.display_scope`)."""
    from landcarbon.publish._units import display_scope

    return display_scope(cfg.output.mass_scale, cfg.output.area_unit)


def _write_map_and_report(folder: Path, make_map: Any, report: Any, cfg: Any, lang: str,
                          title: str | None, unit: str, files: dict[str, str],
                          kind: str) -> dict[str, str]:
    """Write ``map.html`` (``make_map()`` with the provenance tags) and ``report.html``
    (``report(**common)``: the arguments every run report takes, linking the map, the
    run's files and its manifest) of a ``kind`` folder (``change``, ``scenario``: their
    names in :mod:`landcarbon.config.outputs`). The map (its data: ~100 MB for 18,769
    units and 73,202 alerts) is let go before the report is made."""
    from landcarbon.io._memory import release_freed
    from landcarbon.publish._html import ui
    from landcarbon.publish.maps import add_head_html, map_pieces

    release_freed()  # what the tables freed, before the map's data are made
    m = make_map()
    add_head_html(m, meta_tags({"landcarbon_version": package_version()}),
                  name="landcarbon_provenance")
    written = {role: name(kind, role) for role in ("map", "report")}
    write_text(folder / written["map"], map_pieces(m))
    del m
    release_freed()
    links = [(file, file) for file in sorted(files.values())]
    write_text(folder / written["report"], report(
        manifest_config=cfg.model_dump(mode="json"), language=lang, title=title, unit=unit,
        version=package_version(), maps=[(ui("interactive_map", lang), written["map"])],
        files=[*links, (ui("manifest", lang), name(kind, "manifest"))]))
    return written


def write_scenario_publication(folder: str | Path, r: Any, files: dict[str, str]
                               ) -> dict[str, str]:
    """Write ``map.html`` (per scenario: change of net emission and risk-level change per
    unit) and ``report.html`` (summary, totals per scenario, risk transitions, units changing
    risk level) of a scenario run (``r``: a ``ScenarioResult``) into its folder."""
    from landcarbon.publish.scenario_map import scenario_map, scenario_report

    folder = Path(folder)
    cfg = r.config
    lang: Literal["zh", "en"] = "en" if cfg.language == "en" else "zh"
    title = cfg.title or None
    unit = unit_label(r.baseline.suffix, display=True)
    out = cfg.output
    with _display(cfg):
        return _write_map_and_report(folder, lambda: scenario_map(
            r.baseline.units, r.deltas, language=lang, title=title,
            tiles=out.map_tiles or None, offline=out.map_offline, unit=unit),
            lambda **common: scenario_report(
            r.totals(), r.deltas, r.risk_transitions, **common), cfg, lang, title, unit,
            files, "scenario")
