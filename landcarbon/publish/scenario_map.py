"""Web map and report of a scenario run (``landcarbon scenario``).

The map is :func:`landcarbon.publish.explore_units` on the baseline units with, per scenario,
a layer of the change of net emission (scenario minus baseline, diverging at 0) and a layer of
the risk-level change (lower / unchanged / higher, ``map_categories.csv`` category
``risk_transition``); each unit's popup gives, per scenario, its risk level before and after.
The report (:func:`scenario_report`) starts with a summary, then the totals per scenario, the
risk-level transition matrices, the units changing risk level and the largest changes.
Scenario names come from the user's config: they are escaped wherever they appear.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd

from landcarbon.accounting.conversions import output_suffix
from landcarbon.publish._html import label, ui, unit_name, vocab
from landcarbon.publish._units import area_column, total_column, total_scale
from landcarbon.publish.change_report import render_page
from landcarbon.publish.zone_layers import CategoryLayer, NumericLayer, map_categories

if TYPE_CHECKING:
    import folium
    import geopandas as gpd

__all__ = ["risk_transition", "scenario_layers", "scenario_map", "scenario_report"]

esc = html.escape
_TOP = 10
_ABOVE = ("exceeding", "severe")


def risk_transition(before: Any, after: Any) -> str:
    """``lower``, ``same`` or ``higher``: the scenario's risk level against the baseline's in
    the order of ``risk_levels.csv`` (net sink < within < approaching < exceeding < severe);
    ``""`` when either is unknown."""
    order = {k: i for i, k in enumerate(vocab("risk_levels"))}
    a, b = order.get(str(before)), order.get(str(after))
    if a is None or b is None:
        return ""
    return "lower" if b < a else "higher" if b > a else "same"


def _scenarios(deltas: pd.DataFrame) -> list[str]:
    return list(dict.fromkeys(deltas["scenario"].astype(str))) if len(deltas) else []


def scenario_layers(units: pd.DataFrame, deltas: pd.DataFrame, language: str,
                    unit: str = "t C") -> tuple[list[CategoryLayer], list[tuple[str, list[str]]]]:
    """Per scenario (config order) a net-change layer and a risk-change layer of ``units``
    (columns ``_net_delta_<i>`` and ``_risk_change_<i>`` are added to ``units``), and one
    popup row per scenario (baseline level -> scenario level, escaped HTML).

    Parameters
    ----------
    units : pandas.DataFrame
        The baseline units (``unit_id``).
    deltas : pandas.DataFrame
        ``scenario_deltas.csv``: ``scenario, unit_id, net_<s>_delta, risk_level_baseline,
        risk_level_scenario``...
    """
    sfx = output_suffix(unit)
    cats = map_categories("risk_transition", language)
    levels = {k: (v[language == "zh"], v[2]) for k, v in vocab("risk_levels").items()}
    ids = units["unit_id"].astype(str)
    layers: list[CategoryLayer] = []
    rows: list[tuple[str, list[str]]] = []
    sep = "：" if language == "zh" else ": "
    for i, name in enumerate(_scenarios(deltas)):
        g = deltas[deltas["scenario"].astype(str) == name].assign(
            unit_id=lambda d: d["unit_id"].astype(str)).set_index("unit_id")
        units[f"_net_delta_{i}"] = pd.to_numeric(
            g[f"net_{sfx}_delta"], errors="coerce").reindex(ids).to_numpy()
        before = g["risk_level_baseline"].reindex(ids).to_numpy()
        after = g["risk_level_scenario"].reindex(ids).to_numpy()
        units[f"_risk_change_{i}"] = [risk_transition(b, a) for b, a in
                                      zip(before, after, strict=True)]
        tot, scale, decimals = total_scale(units[f"_net_delta_{i}"], unit, language)
        layers.append(NumericLayer.of(
            units, f"_net_delta_{i}", f"{name}{sep}{ui('net_change', language)}", unit=tot,
            scale=scale, decimals=decimals, language=language, group="group_scenarios"))
        layers.append(CategoryLayer(f"_risk_change_{i}",
                                    f"{name}{sep}{ui('risk_transition', language)}", cats,
                                    group="group_scenarios"))

        def cell(level: Any) -> str:
            lab, colour = levels.get(str(level), (ui("no_data", language), "#d9d9d9"))
            return f"<i style='background:{esc(colour)}'></i>{esc(lab)}"

        rows.append((f"{name}{sep}{ui('risk_level', language)}",
                     [f"{cell(b)} → {cell(a)}" for b, a in zip(before, after, strict=True)]))
    return layers, rows


def scenario_map(units: gpd.GeoDataFrame, deltas: pd.DataFrame, *,
                 language: Literal["zh", "en"] = "zh", title: str | None = None,
                 tiles: str | None = "osm", offline: bool = False, unit: str = "t C"
                 ) -> folium.Map:
    """Interactive map of a scenario run.

    Parameters
    ----------
    units : geopandas.GeoDataFrame
        The baseline's assessed units.
    deltas : pandas.DataFrame
        ``ScenarioResult.deltas`` (``scenario_deltas.csv``).
    language, title, tiles, offline
        As in :func:`landcarbon.publish.explore_units`.
    unit : str
        Display unit of the fluxes (``t C`` or ``t CO₂``).

    Returns
    -------
    folium.Map
        The baseline risk level, then per scenario the change of net emission (the first
        scenario's shown) and the risk-level change; popups give each scenario's levels.
    """
    from landcarbon.publish.maps import explore_units

    units = units.copy()
    layers, rows = scenario_layers(units, deltas, language, unit)
    return explore_units(units, column=layers[0].column if layers else "risk_level",
                         layers=("risk_level",), categories=layers, language=language,
                         title=title, tiles=tiles, offline=offline, zones=False,
                         popup_rows=rows)


def _edit_text(edit: dict[str, Any], lang: str) -> str:
    kind = str(edit.get("type", "raster"))
    text = ui(f"edit_{kind}", lang) if kind in (
        "reduce_construction", "restore_wetland", "protect", "raster") else kind
    area = edit.get("area_ha")
    if isinstance(area, int | float):
        lab, f = area_column(lang)
        text += f" {f(area)} {lab}"
    return text


def _matrix(transitions: pd.DataFrame, name: str, lang: str) -> dict[str, Any]:
    g = transitions[transitions["scenario"].astype(str) == name]
    present = set(g["risk_level_baseline"].astype(str)) | set(
        g["risk_level_scenario"].astype(str))
    keys = [k for k in vocab("risk_levels") if k in present]  # levels that occur, in order
    keys += sorted(present - set(keys))
    wide = g.pivot_table(index="risk_level_baseline", columns="risk_level_scenario",
                         values="units", aggfunc="sum", fill_value=0).reindex(
        index=keys, columns=keys, fill_value=0)
    names = [label("risk_levels", k, lang) for k in keys]
    # cells as (text, moved): units off the diagonal changed level (highlighted)
    rows = [[(names[i], False), *[(str(int(v)), j != i and v > 0)
                                  for j, v in enumerate(wide.iloc[i])],
             (str(int(wide.iloc[i].sum())), False)]
            for i in range(len(keys)) if wide.iloc[i].sum()]
    return {"name": name, "header": [f"{ui('baseline', lang)} \\ {ui('scenario', lang)}",
                                     *names, "Σ"], "rows": rows}


def scenario_report(totals: dict[str, Any], deltas: pd.DataFrame, transitions: pd.DataFrame,
                    *, manifest_config: dict[str, Any] | None = None,
                    language: Literal["zh", "en"] = "zh", title: str | None = None,
                    unit: str = "t C", maps: Sequence[tuple[str, str]] = (),
                    files: Sequence[tuple[str, str]] = (), version: str = "") -> str:
    """HTML report of a scenario run.

    Parameters
    ----------
    totals : dict
        ``ScenarioResult.totals()`` (``baseline``, ``scenarios``, ``edits``).
    deltas, transitions : pandas.DataFrame
        ``scenario_deltas.csv`` and ``risk_transitions.csv``.
    maps, files : sequence of (text, relative href)

    Returns
    -------
    str
        A complete HTML document, summary first.
    """
    lang = language
    sfx = output_suffix(unit)
    names = _scenarios(deltas) or list(totals.get("scenarios") or {})
    base = totals.get("baseline") or {}
    scen = totals.get("scenarios") or {}
    nets = [base.get(f"net_{sfx}"), *[scen.get(n, {}).get(f"net_{sfx}") for n in names]]
    lab, f = total_column(nets, unit, lang)
    d_lab, d_f = total_column([scen.get(n, {}).get(f"net_{sfx}_delta") for n in names],
                              unit, lang)
    edits: dict[str, list[str]] = {}
    for e in totals.get("edits") or []:
        edits.setdefault(str(e.get("scenario")), []).append(_edit_text(e, lang))
    changed = deltas[[risk_transition(b, a) in ("lower", "higher") for b, a in zip(
        deltas["risk_level_baseline"], deltas["risk_level_scenario"], strict=True)]] if len(
        deltas) else deltas
    sep = "、" if lang == "zh" else ", "

    def above(levels: dict[str, int] | None) -> int:
        return sum(int((levels or {}).get(k, 0)) for k in _ABOVE)

    summary = [(ui("baseline", lang), f"{f(base.get(f'net_{sfx}'))} {lab} · "
                f"{ui('at_risk', lang)} {above(base.get('risk_levels'))}")]
    table_header = [ui("scenario", lang), ui("edits", lang), f"{ui('net', lang)} ({lab})",
                    f"{ui('net_change', lang)} ({d_lab})", "%",
                    ui("at_risk", lang), *[lab_ for lab_, _ in
                                           map_categories("risk_transition", lang).values()]]
    table_rows = []
    for n in names:
        s = scen.get(n, {})
        d = s.get(f"net_{sfx}_delta")
        b = base.get(f"net_{sfx}")
        pct = f"{100 * d / abs(b):+.2f}" if d is not None and b else "–"
        g = deltas[deltas["scenario"].astype(str) == n]
        moves = [risk_transition(x, y) for x, y in zip(g["risk_level_baseline"],
                                                       g["risk_level_scenario"], strict=True)]
        counts = [moves.count(k) for k in map_categories("risk_transition", lang)]
        sign = "+" if d is not None and d > 0 else ""
        table_rows.append([n, sep.join(edits.get(n, [])) or ui("edit_raster", lang),
                           f(s.get(f"net_{sfx}")), sign + d_f(d), pct,
                           str(above(s.get("risk_levels"))), *map(str, counts)])
        moved = g[[m in ("lower", "higher") for m in moves]]
        who = sep.join(unit_name(r) for r in moved.head(_TOP).to_dict("records"))
        summary.append((n, f"{ui('net_change', lang)} {sign}{d_f(d)} {d_lab} ({pct} %) · "
                        f"{ui('units_changed_risk', lang)} {len(moved)}"
                        + (f" ({who})" if len(moved) else "")))
    moved_header = [ui("scenario", lang), ui("name", lang), ui("id", lang),
                    ui("risk_transition", lang), f"{ui('net_change', lang)} ({d_lab})"]
    cats = map_categories("risk_transition", lang)
    moved_rows = [(cats[risk_transition(r["risk_level_baseline"], r["risk_level_scenario"])][1],
                   [str(r["scenario"]), unit_name(r), str(r["unit_id"]),
                    f"{label('risk_levels', r['risk_level_baseline'], lang)} → "
                    f"{label('risk_levels', r['risk_level_scenario'], lang)}",
                    d_f(r.get(f"net_{sfx}_delta"))]) for r in changed.to_dict("records")]
    top_rows = []
    if len(deltas):
        col = f"net_{sfx}_delta"
        top = (deltas.assign(_d=pd.to_numeric(deltas[col], errors="coerce"))
               .sort_values("_d", kind="stable").groupby("scenario", sort=False).head(5))
        u_lab, u_f = total_column(pd.concat([top[f"net_{sfx}_baseline"],
                                             top[f"net_{sfx}_scenario"]]), unit, lang)
        top_header = [ui("scenario", lang), ui("name", lang), ui("id", lang),
                      f"{ui('baseline', lang)} ({u_lab})", f"{ui('scenario', lang)} ({u_lab})",
                      f"{ui('net_change', lang)} ({d_lab})"]
        top_rows = [[str(r["scenario"]), unit_name(r), str(r["unit_id"]),
                     u_f(r[f"net_{sfx}_baseline"]), u_f(r[f"net_{sfx}_scenario"]),
                     d_f(r["_d"])] for r in top.to_dict("records")]
    else:
        top_header = []
    t = {k: ui(k, lang) for k in ("scenarios", "risk_transitions", "units_changed_risk",
                                  "largest_fall", "totals_by_scenario")}
    return render_page(
        "scenario_report.html.j2", lang, t=t, kind=t["scenarios"],
        title=title or t["scenarios"], version=version, summary=summary,
        table_header=table_header, table_rows=table_rows,
        matrices=[_matrix(transitions, n, lang) for n in names] if len(transitions) else [],
        moved_header=moved_header, moved_rows=moved_rows, top_header=top_header,
        top_rows=top_rows, maps=list(maps), files=list(files),
        config=json.dumps(manifest_config or {}, ensure_ascii=False, indent=2))
