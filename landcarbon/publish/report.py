"""The atlas report (``report.html``): totals, space types, risk levels, top units, charts,
links to the maps, the configuration and the manifest. Rendered with Jinja2 (autoescape on:
every unit name, reason and config value is text, never markup)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Literal

import pandas as pd

from landcarbon.publish._html import fmt, label, ui, unit_name, vocab

__all__ = ["atlas_report", "provenance"]

_TOP = 10


def _suffix(units: pd.DataFrame) -> tuple[str, str]:
    from landcarbon.accounting.conversions import flux_suffix, unit_label

    sfx = flux_suffix(units.columns) or "tc"
    return sfx, unit_label(sfx, display=True)


def _top(units: pd.DataFrame, by: str, sfx: str, lang: str) -> list[list[str]]:
    rows = units.sort_values(by, ascending=False).head(_TOP)
    return [[unit_name(r), str(r.get("unit_id", "")), label("space_types", r["space_type"], lang),
             fmt(r[f"emission_{sfx}"]), fmt(r[f"sequestration_{sfx}"]), fmt(r[f"net_{sfx}"]),
             fmt(r[f"net_{sfx}_per_ha"]), fmt(r[f"threshold_{sfx}_per_ha"]),
             label("risk_levels", r["risk_level"], lang)]
            for r in rows.to_dict("records")]


def provenance(manifest: dict[str, Any]) -> dict[str, str]:
    """Package version, coefficient set, legend and thresholds of a run (from its manifest),
    as written into every published file's metadata."""
    s = manifest.get("settings", {})
    return {
        "landcarbon_version": str(manifest.get("landcarbon_version", "")),
        "coefficient_set": str(s.get("coefficient_set", "")),
        "cropland_mode": str(s.get("cropland_mode", "")),
        "legend": str(s.get("legend", "")),
        "thresholds_tc_per_ha": ", ".join(
            f"{k}={v:.4g}" for k, v in s.get("thresholds_tc_per_ha", {}).items()),
        "output_unit": str(s.get("output_unit", "")),
    }


def atlas_report(
    units: pd.DataFrame,
    manifest: dict[str, Any],
    *,
    language: Literal["zh", "en"] = "zh",
    title: str | None = None,
    maps: Sequence[tuple[str, str]] = (),
    figures: Sequence[tuple[str, str]] = (),
    files: Sequence[tuple[str, str]] = (),
    key_map: str | None = None,
    zoning: dict[str, Any] | None = None,
) -> str:
    """HTML of the atlas report of one run.

    Parameters
    ----------
    units : pandas.DataFrame
        The assessed units table (geometry not needed).
    manifest : dict
        The run manifest (``run.json``): config, settings, version.
    language : {"zh", "en"}
    title : str, optional
        Defaults to the config title.
    maps, figures, files : sequence of (text, relative href)
        Links to the web maps, chart images (shown inline) and other files of the run.
    key_map : str, optional
        Relative path of the static risk map shown at the top.
    zoning : dict, optional
        The zoning section (:func:`landcarbon.publish.zoning_report.zoning_context`).

    Returns
    -------
    str
        A complete, self-contained HTML document (images are linked, not embedded).
    """
    from jinja2 import Environment, PackageLoader, select_autoescape

    lang = language
    sfx, unit = _suffix(units)
    t = {k: ui(k, lang) for k in (
        "report", "maps", "totals", "by_space_type", "risk_table", "top_emitters", "top_sinks",
        "charts", "files", "provenance", "config", "generated", "risk_level", "zoning",
        "zone_counts", "compensation", "top_flows", "uncertainty", "sweep", "units",
        "share_units", "category", "p_exceed")}
    cov = float(units["covered_ha"].sum())
    em, sq = float(units[f"emission_{sfx}"].sum()), float(units[f"sequestration_{sfx}"].sum())
    totals = [
        (ui("units", lang), f"{len(units):,d}"),
        (ui("covered", lang), f"{fmt(cov, area=True)} ha"),
        (ui("emission", lang), f"{fmt(em)} {unit}/yr"),
        (ui("sequestration", lang), f"{fmt(sq)} {unit}/yr"),
        (ui("net", lang), f"{fmt(em - sq)} {unit}/yr"),
        (ui("net_per_ha", lang), f"{fmt((em - sq) / cov if cov else None)} {unit}/ha/yr"),
    ]
    g = units.groupby("space_type")
    by_space = []
    for key in [k for k in vocab("space_types") if k in g.groups]:
        s = g.get_group(key)
        c = float(s["covered_ha"].sum())
        n = float(s[f"net_{sfx}"].sum())
        by_space.append([label("space_types", key, lang), f"{len(s):,d}", fmt(c, area=True),
                         fmt(s[f"emission_{sfx}"].sum()), fmt(s[f"sequestration_{sfx}"].sum()),
                         fmt(n), fmt(n / c if c else None),
                         fmt(s[f"threshold_{sfx}_per_ha"].iloc[0])])
    per_ha = f"{unit}/ha/yr"
    space_header = [ui("space_type", lang), ui("units", lang), ui("area", lang),
                    f"{ui('emission', lang)} ({unit}/yr)", f"{ui('sequestration', lang)} "
                    f"({unit}/yr)", f"{ui('net', lang)} ({unit}/yr)",
                    f"{ui('net_per_ha', lang)} ({per_ha})", f"{ui('threshold', lang)} ({per_ha})"]
    risk_rows = []
    for key, (en, zh, colour) in vocab("risk_levels").items():
        s = units[units["risk_level"] == key]
        if s.empty and key == "no_data":
            continue
        c = float(s["covered_ha"].sum())
        risk_rows.append((colour, zh if lang == "zh" else en, [
            f"{len(s):,d}", fmt(len(s) / len(units) if len(units) else None, share=True),
            fmt(c, area=True), fmt(c / cov if cov else None, share=True)]))
    risk_header = [ui("risk_level", lang), ui("units", lang), ui("share_units", lang),
                   ui("area", lang), ui("share_area", lang)]
    top_header = [ui("name", lang), ui("id", lang), ui("space_type", lang),
                  f"{ui('emission', lang)} ({unit}/yr)",
                  f"{ui('sequestration', lang)} ({unit}/yr)", f"{ui('net', lang)} ({unit}/yr)",
                  f"{ui('net_per_ha', lang)} ({per_ha})", f"{ui('threshold', lang)} ({per_ha})",
                  ui("risk_level", lang)]
    env = Environment(loader=PackageLoader("landcarbon.publish", "templates"),
                      autoescape=select_autoescape(default=True, default_for_string=True))
    return env.get_template("report.html.j2").render(
        lang=lang, t=t, title=title or manifest.get("config", {}).get("title") or t["report"],
        version=manifest.get("landcarbon_version", ""),
        created=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        totals=totals, space_header=space_header, by_space=by_space,
        risk_header=risk_header, risk_rows=risk_rows, top_header=top_header,
        top_emitters=_top(units, f"emission_{sfx}", sfx, lang),
        top_sinks=_top(units, f"sequestration_{sfx}", sfx, lang),
        zoning=zoning, maps=list(maps), figures=list(figures), files=list(files), key_map=key_map,
        provenance=list(provenance(manifest).items()),
        config=json.dumps(manifest.get("config", {}), ensure_ascii=False, indent=2))
