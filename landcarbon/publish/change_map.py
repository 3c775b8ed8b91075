"""Web map and report of a change run (``landcarbon change``).

The map is :func:`landcarbon.publish.explore_units` on the last date's units with one
switchable risk-level layer per date and the alerts as circle markers (one per unit, coloured
by its first alert type, every alert of the unit in the popup). The report shows the totals
per date, the transfer matrices (ha), the stock totals and change, and the alerts table.
Every value from the data is escaped (Jinja2 autoescape, :mod:`html` in popups).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd

from landcarbon.accounting.conversions import output_suffix
from landcarbon.publish._html import (
    fmt,
    fmt_fixed,
    label,
    swatches,
    total_unit,
    ui,
    unit_name,
    vocab,
)
from landcarbon.publish.fonts import embed_font
from landcarbon.publish.zone_layers import (
    NumericLayer,
    Overlay,
    map_categories,
    risk_by_date_layers,
)

if TYPE_CHECKING:
    import folium
    import geopandas as gpd

__all__ = ["alerts_overlay", "change_map", "change_popup_rows", "change_report",
           "entering_risk_overlay", "entering_risk_rows", "net_change_layer"]

esc = html.escape


def alerts_overlay(alerts: gpd.GeoDataFrame, language: str) -> Overlay:
    """One circle marker per unit with alerts (at a point inside the unit), coloured by its
    first alert type in ``map_categories.csv`` order; the popup lists every alert."""
    import geopandas as gpd

    cats = map_categories("alert", language)
    order = {k: i for i, k in enumerate(cats)}
    msg = f"message_{'zh' if language == 'zh' else 'en'}"
    fills, popups, tips, geoms = [], [], [], []
    for uid, g in alerts.groupby("unit_id", sort=True):
        g = g.sort_values("alert", key=lambda s: s.map(order).fillna(len(order)), kind="stable")
        first = str(g["alert"].iloc[0])
        fills.append(cats.get(first, (first, "#555555"))[1])
        name = unit_name(g.iloc[0].to_dict())
        rows = "".join(
            f"<tr><td><i style='background:{esc(cats.get(a, (a, '#555555'))[1])}'></i>"
            f"{esc(cats.get(a, (a, ''))[0])}</td>"
            f"<td style='white-space:nowrap'>{esc(f'{y0}-{y1}')}</td>"
            f"<td>{esc(str(m))}</td></tr>"
            for a, y0, y1, m in zip(g["alert"].astype(str), g["year_from"], g["year_to"],
                                    g.get(msg, g["alert"]), strict=True))
        popups.append(f"<div class='lc-pop'><h4>{esc(name)} ({esc(str(uid))})</h4><table>"
                      f"<tr><th>{esc(ui('alert', language))}</th><th>"
                      f"{esc(ui('period', language))}</th><th>{esc(ui('message', language))}"
                      f"</th></tr>{rows}</table></div>")
        tips.append(f"<b>{esc(name)}</b><br>{esc(cats.get(first, (first, ''))[0])}"
                    + (f" +{len(g) - 1}" if len(g) > 1 else ""))
        geoms.append(g.geometry.iloc[0])
    frame = gpd.GeoDataFrame(geometry=gpd.GeoSeries(geoms, crs=alerts.crs)
                             .representative_point())
    present = set(alerts["alert"].astype(str)) if len(alerts) else set()
    legend = swatches(f"{ui('alerts', language)} ({len(alerts)})",
                      [(lab, c) for k, (lab, c) in cats.items() if k in present])
    return Overlay(ui("alerts", language), frame, fills, popups, legend, exclusive=False,
                   show=True, tooltips=tips)


def entering_risk_overlay(units: gpd.GeoDataFrame, language: str) -> Overlay | None:
    """The units that moved into carbon risk over the last period (``dynamic_risk`` of
    :mod:`landcarbon.change.dynamic_risk`), outlined in the colour of their first condition in
    ``map_categories.csv`` order (category ``dynamic_flag``); the popup gives the reasons.
    None when the table has no dynamic-risk columns."""
    if "dynamic_risk" not in units:
        return None
    cats = map_categories("dynamic_flag", language)
    hit = units[units["dynamic_risk"].fillna(False).astype(bool)]
    reason = f"dynamic_risk_reason_{'zh' if language == 'zh' else 'en'}"
    fills, popups, tips = [], [], []
    for r in hit.drop(columns=hit.geometry.name).to_dict("records"):
        flags = [f for f in str(r.get("dynamic_risk_flags") or "").split(",") if f]
        first = flags[0] if flags else ""
        fills.append(cats.get(first, (first, "#555555"))[1])
        name = unit_name(r)
        period = f"{r.get('change_from_year')}-{r.get('change_to_year')}"
        items = "".join(f"<li>{esc(x)}</li>" for x in str(r.get(reason) or "").split(
            "；" if language == "zh" else "; ") if x)
        popups.append(f"<div class='lc-pop'><h4>{esc(name)} ({esc(str(r.get('unit_id')))})"
                      f"</h4><p>{esc(ui('entering_risk', language))} {esc(period)}</p>"
                      f"<ul>{items}</ul></div>")
        tips.append(f"<b>{esc(name)}</b><br>"
                    + esc(" · ".join(cats.get(f, (f, ""))[0] for f in flags)))
    present = {f for v in hit.get("dynamic_risk_flags", []) for f in str(v).split(",") if f}
    legend = swatches(f"{ui('entering_risk', language)} ({len(hit)})",
                      [(lab, c) for k, (lab, c) in cats.items() if k in present])
    return Overlay(ui("entering_risk", language), hit[[hit.geometry.name]], fills, popups,
                   legend, exclusive=False, show=True, tooltips=tips, outline=True)


def entering_risk_rows(units: pd.DataFrame, language: str) -> tuple[
        list[str], list[tuple[str, list[str]]], list[tuple[str, str, int]]]:
    """Report rows of the units that moved into carbon risk: header, ``(colour, cells)`` per
    unit, and ``(colour, label, units)`` per condition."""
    if "dynamic_risk" not in units:
        return [], [], []
    cats = map_categories("dynamic_flag", language)
    hit = units[units["dynamic_risk"].fillna(False).astype(bool)]
    reason = f"dynamic_risk_reason_{'zh' if language == 'zh' else 'en'}"
    header = [ui("name", language), ui("id", language), ui("period", language),
              ui("dynamic_flags", language), ui("reasons", language)]
    rows = []
    for r in hit.to_dict("records"):
        flags = [f for f in str(r.get("dynamic_risk_flags") or "").split(",") if f]
        colour = cats.get(flags[0], ("", "#555555"))[1] if flags else "#555555"
        rows.append((colour, [unit_name(r), str(r.get("unit_id", "")),
                              f"{r.get('change_from_year')}-{r.get('change_to_year')}",
                              " · ".join(cats.get(f, (f, ""))[0] for f in flags),
                              str(r.get(reason) or "")]))
    flag_lists = hit["dynamic_risk_flags"].astype(str).str.split(",")
    counts = [(c, lab, int(flag_lists.map(lambda fl, k=k: k in fl).sum()))
              for k, (lab, c) in cats.items()]
    return header, rows, counts


def net_change_layer(units: pd.DataFrame, language: str, unit: str = "t C"
                     ) -> NumericLayer | None:
    """The change of each unit's net emission between the first and the last date
    (``net_<s>_<last> - net_<s>_<first>`` of the time-series columns) as a diverging layer
    (falls in blues, rises in warm colours, 0 marked), in 万吨/年 in Chinese; None with fewer
    than two dates. Adds the column ``net_change`` to ``units``."""
    import re

    from landcarbon.accounting.conversions import flux_suffix

    sfx = flux_suffix(units.columns, ("net_{}",)) or "tc"
    years = sorted(int(c[-4:]) for c in units.columns if re.fullmatch(rf"net_{sfx}_\d{{4}}",
                                                                        str(c)))
    if len(years) < 2:
        return None
    y0, y1 = years[0], years[-1]
    units["net_change"] = (pd.to_numeric(units[f"net_{sfx}_{y1}"], errors="coerce")
                           - pd.to_numeric(units[f"net_{sfx}_{y0}"], errors="coerce"))
    tot, scale = total_unit(unit, language)
    return NumericLayer.of(units, "net_change", f"{ui('net_change', language)} {y0}–{y1}",
                           unit=tot, scale=scale, decimals=2 if scale > 1 else 1,
                           language=language)


def _tapio(state: Any, language: str) -> str:
    from landcarbon.change.dynamic_risk import TAPIO_ZH

    key = "" if state is None or state != state else str(state)
    if not key:
        return "–"
    return TAPIO_ZH.get(key, key) if language == "zh" else key.replace("_", " ").capitalize()


def change_popup_rows(units: pd.DataFrame, alerts: pd.DataFrame | None, language: str
                      ) -> list[tuple[str, list[str]]]:
    """Popup rows of a change run's units (escaped HTML, one cell per row of ``units``): every
    alert of the unit with its message, the dynamic-risk conditions raised and their reasons,
    the change of carbon intensity against the base date and the Tapio decoupling state.
    Rows whose columns are missing are left out."""
    zh = language == "zh"
    alert_cats = map_categories("alert", language)
    order = {k: i for i, k in enumerate(alert_cats)}
    msg = f"message_{'zh' if zh else 'en'}"
    by_unit: dict[str, list[str]] = {}
    if alerts is not None and len(alerts):
        table = pd.DataFrame(alerts).sort_values(
            "alert", key=lambda s: s.map(order).fillna(len(order)), kind="stable")
        for r in table.to_dict("records"):
            key = str(r["alert"])
            lab, colour = alert_cats.get(key, (key, "#555555"))
            by_unit.setdefault(str(r["unit_id"]), []).append(
                f"<div><i style='background:{esc(colour)}'></i>{esc(lab)} "
                f"{esc(str(r.get('year_from')))}-{esc(str(r.get('year_to')))}"
                f"<br><small>{esc(str(r.get(msg) or ''))}</small></div>")
    ids = units["unit_id"].astype(str).tolist()
    rows: list[tuple[str, list[str]]] = [
        (f"{ui('alerts', language)}", ["".join(by_unit.get(i, [])) or "–" for i in ids])]
    if "dynamic_risk" in units:
        cats = map_categories("dynamic_flag", language)
        reason = f"dynamic_risk_reason_{'zh' if zh else 'en'}"
        cells = []
        for r in units.to_dict("records"):
            flags = [f for f in str(r.get("dynamic_risk_flags") or "").split(",")
                     if f and f != "nan"]
            if not flags:
                cells.append(esc(ui("none", language)))
                continue
            items = "".join(f"<div><i style='background:{esc(cats.get(f, (f, '#555555'))[1])}'>"
                            f"</i>{esc(cats.get(f, (f, ''))[0])}</div>" for f in flags)
            cells.append(items + f"<small>{esc(str(r.get(reason) or ''))}</small>")
        rows.append((ui("entering_risk", language), cells))
    if "emission_intensity_change_pct" in units:
        pct = pd.to_numeric(units["emission_intensity_change_pct"], errors="coerce")
        rows.append((ui("intensity_change", language),
                     [esc("–" if x != x else f"{'+' if x > 0 else ''}{fmt_fixed(x, 1)} %")
                      for x in pct]))
    if "tapio_state" in units:
        e = pd.to_numeric(units.get("tapio_elasticity"), errors="coerce") if (
            "tapio_elasticity" in units) else pd.Series(float("nan"), index=units.index)
        rows.append((ui("tapio_state", language),
                     [esc(_tapio(s, language) + (f" (e = {fmt_fixed(x, 2)})" if x == x else ""))
                      for s, x in zip(units["tapio_state"], e, strict=True)]))
    return rows


def change_map(units: gpd.GeoDataFrame, alerts: gpd.GeoDataFrame | None = None, *,
               language: Literal["zh", "en"] = "zh", title: str | None = None,
               tiles: str | None = "osm", offline: bool = False, unit: str = "t C"
               ) -> folium.Map:
    """Interactive map of a change run.

    Parameters
    ----------
    units : geopandas.GeoDataFrame
        The last date's assessed units with ``risk_level_<year>`` columns (e.g. merged from
        ``ChangeResult.timeseries_layer()``; with ``net_<s>_<year>`` columns the map gets a
        layer of the change of net emission between the first and the last date).
    alerts : geopandas.GeoDataFrame, optional
        ``ChangeResult.alerts_layer()`` (one unit polygon per alert).
    language, title, tiles, offline
        As in :func:`landcarbon.publish.explore_units`.
    unit : str
        Display unit of the fluxes (``t C`` or ``t CO₂``).

    Returns
    -------
    folium.Map
        One risk-level layer per date (the last shown), the change of net emission, the units
        entering carbon risk over the last period (with their reasons) and the alerts on top;
        each unit's popup lists all its alerts, conditions, intensity change and Tapio state.
    """
    from landcarbon.exceptions import InputError
    from landcarbon.publish.maps import explore_units

    units = units.copy()
    dates: list[Any] = list(risk_by_date_layers(units, language))
    if not dates:
        raise InputError("change_map: the units table has no risk_level_<year> column; merge "
                         "the columns of ChangeResult.timeseries_layer() into it first.")
    overlays = [alerts_overlay(alerts, language)] if alerts is not None and len(alerts) else []
    entering = entering_risk_overlay(units, language)
    if entering is not None:
        overlays.insert(0, entering)
    change = net_change_layer(units, language, unit)
    rows = change_popup_rows(units, None if alerts is None else
                             pd.DataFrame(alerts.drop(columns=alerts.geometry.name)), language)
    return explore_units(units, column=dates[-1].column, layers=(),
                         categories=[*dates, *([change] if change else [])],
                         overlays=overlays, language=language, title=title, tiles=tiles,
                         offline=offline, zones=False, popup_rows=rows)


def _matrix(transfer: pd.DataFrame, by: str, lang: str) -> list[dict[str, Any]]:
    kind = {"land_class": "land_classes", "space_type": "space_types"}.get(by)
    order = list(vocab(kind)) if kind else []
    out = []
    for (y0, y1), g in transfer[transfer["by"] == by].groupby(["year_from", "year_to"]):
        wide = g.pivot_table(index="from", columns="to", values="area_ha", aggfunc="sum",
                             fill_value=0.0)
        keys = [k for k in order if k in wide.index or k in wide.columns]
        keys += sorted((set(wide.index) | set(wide.columns)) - set(keys))
        wide = wide.reindex(index=keys, columns=keys, fill_value=0.0)
        names = [label(kind, k, lang) if kind else str(k) for k in keys]
        rows = [[names[i], *[fmt(v, area=True) for v in wide.iloc[i]],
                 fmt(wide.iloc[i].sum(), area=True)] for i in range(len(keys))]
        rows.append(["Σ", *[fmt(v, area=True) for v in wide.sum(axis=0)],
                     fmt(wide.to_numpy().sum(), area=True)])
        out.append({"period": f"{y0}-{y1}", "by": ui(by, lang) if by == "space_type" else
                    ui("land", lang), "header": [ui("from_to", lang), *names, "Σ"],
                    "rows": rows})
    return out


def change_report(totals: dict[str, Any], transfer: pd.DataFrame, alerts: pd.DataFrame, *,
                  manifest_config: dict[str, Any] | None = None,
                  language: Literal["zh", "en"] = "zh", title: str | None = None,
                  unit: str = "t C", maps: Sequence[tuple[str, str]] = (),
                  files: Sequence[tuple[str, str]] = (), version: str = "",
                  last_units: pd.DataFrame | None = None) -> str:
    """HTML report of a change run.

    Parameters
    ----------
    totals : dict
        ``ChangeResult.totals()`` (``by_year``, ``stocks``, ``alerts``).
    transfer : pandas.DataFrame
        ``year_from, year_to, by, from, to, area_ha`` (``transfer_matrix.csv``).
    alerts : pandas.DataFrame
        The alerts table (``alerts.csv``).
    maps, files : sequence of (text, relative href)
    last_units : pandas.DataFrame, optional
        The last date's units with the dynamic-risk columns: the section "units entering
        carbon risk" (conditions and reasons per unit).

    Returns
    -------
    str
        A complete HTML document.
    """
    from jinja2 import Environment, PackageLoader, select_autoescape

    lang = language
    sfx = output_suffix(unit)
    t = {k: ui(k, lang) for k in (
        "change", "maps", "totals_by_year", "transfer_matrix", "stocks", "alerts", "files",
        "config", "generated", "year", "period", "alert", "name", "id", "message", "risk_level")}
    by_year = totals.get("by_year", {})
    year_header = [t["year"], f"{ui('covered', lang)} (ha)", f"{ui('emission', lang)} ({unit}/yr)",
                   f"{ui('sequestration', lang)} ({unit}/yr)", f"{ui('net', lang)} ({unit}/yr)",
                   t["risk_level"]]
    year_rows = [[str(y), fmt(v.get("covered_ha"), area=True), fmt(v.get(f"emission_{sfx}")),
                  fmt(v.get(f"sequestration_{sfx}")), fmt(v.get(f"net_{sfx}")),
                  " · ".join(f"{label('risk_levels', k, lang)} {levels[k]}"
                             for k in vocab("risk_levels") if (levels := v.get("risk_levels")
                                                               or {}).get(k))]
                 for y, v in sorted(by_year.items())]
    stock_header = [t["period"], f"{ui('stock_from', lang)} (t C)",
                    f"{ui('stock_to', lang)} (t C)", f"{ui('stock_change', lang)} (t C)",
                    ui("npv", lang)]
    stock_rows = [[f"{s.get('year_from')}-{s.get('year_to')}", fmt(s.get("stock_from_tc")),
                   fmt(s.get("stock_to_tc")), fmt(s.get("stock_change_tc")), fmt(s.get("npv"))]
                  for s in totals.get("stocks") or []]
    cats = map_categories("alert", lang)
    msg = f"message_{'zh' if lang == 'zh' else 'en'}"
    alert_header = [t["name"], t["id"], t["period"], t["alert"], t["message"]]
    alert_rows = [(cats.get(str(r["alert"]), ("", "#555555"))[1],
                   [unit_name(r), str(r.get("unit_id", "")),
                    f"{r.get('year_from')}-{r.get('year_to')}",
                    cats.get(str(r["alert"]), (str(r["alert"]), ""))[0], str(r.get(msg, ""))])
                  for r in alerts.to_dict("records")]
    alert_counts = [(c, lab, int((alerts["alert"] == k).sum()) if len(alerts) else 0)
                    for k, (lab, c) in cats.items()]
    risk_header, risk_rows, risk_counts = entering_risk_rows(
        last_units if last_units is not None else pd.DataFrame(), lang)
    dyn = totals.get("dynamic_risk") or {}
    risk_periods = [f"{p}: {v.get('units_entering_risk')} / {v.get('evaluated')} "
                    f"{ui('units_evaluated', lang)}" for p, v in dyn.items()]
    env = Environment(loader=PackageLoader("landcarbon.publish", "templates"),
                      autoescape=select_autoescape(default=True, default_for_string=True))
    import json

    return embed_font(script=True, html_text=env.get_template("change_report.html.j2").render(
        lang=lang, t=t, title=title or t["change"], version=version,
        created=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        year_header=year_header, year_rows=year_rows,
        matrices=[*_matrix(transfer, "space_type", lang), *_matrix(transfer, "land_class",
                                                                   lang)],
        stock_header=stock_header, stock_rows=stock_rows, alert_header=alert_header,
        alert_rows=alert_rows, alert_counts=alert_counts, maps=list(maps), files=list(files),
        entering_risk=ui("entering_risk", lang), risk_header=risk_header, risk_rows=risk_rows,
        risk_counts=risk_counts, risk_periods=risk_periods,
        config=json.dumps(manifest_config or {}, ensure_ascii=False, indent=2)))
