"""Web map and report of a change run (``landcarbon change``).

The map is :func:`landcarbon.publish.explore_units` on the last date's units with one
switchable risk-level layer per date, the change of net emission, the units entering risk
(outlines) and the alerts as circle markers (one per unit, coloured by its first alert type);
each unit's popup lists all its alerts and conditions. The report is
:func:`landcarbon.publish.change_report.change_report`.
Every value from the data is escaped (Jinja2 autoescape, :mod:`html` in popups).
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from landcarbon.publish._html import (
    fmt_fixed,
    swatches,
    ui,
    unit_name,
)
from landcarbon.publish._units import total_scale
from landcarbon.publish.zone_layers import (
    NumericLayer,
    Overlay,
    map_categories,
    risk_by_date_layers,
)

if TYPE_CHECKING:
    import folium
    import geopandas as gpd

__all__ = ["alerts_overlay", "change_map", "change_popup_rows", "entering_risk_overlay",
           "net_change_layer"]

esc = html.escape
#: outline of the units entering risk (dark, dashed: visible on warm and cool fills alike)
OUTLINE = "#111111"


def alerts_overlay(alerts: gpd.GeoDataFrame, language: str,
                   unit_rows: dict[str, int] | None = None) -> Overlay:
    """One circle marker per unit with alerts (at a point inside the unit), coloured by its
    first alert type in ``map_categories.csv`` order; the popup lists every alert.

    With ``unit_rows`` (unit id -> its row in the map's units table) a marker opens its
    unit's popup (which lists the alerts: :func:`change_popup_rows`) instead of a copy of
    them, and units not on the map get no marker."""
    import geopandas as gpd

    cats = map_categories("alert", language)
    order = {k: i for i, k in enumerate(cats)}
    msg = f"message_{'zh' if language == 'zh' else 'en'}"
    fills, popups, tips, geoms = [], [], [], []
    kinds = alerts["alert"].astype(str).tolist()
    # each unit's alerts in map_categories order (ties: table order), units by id: one sort
    # of the whole table (thousands of units: a sort each would take seconds)
    unit_code, unit_ids = pd.factorize(alerts["unit_id"], sort=True)  # missing id: -1
    rank = np.array([order.get(a, len(order)) for a in kinds], dtype=np.int64)
    rows_in = np.lexsort((np.arange(len(kinds)), rank, unit_code))
    rows_in = rows_in[unit_code[rows_in] >= 0]
    starts = np.flatnonzero(np.diff(unit_code[rows_in], prepend=-1))
    y_from, y_to = alerts["year_from"].tolist(), alerts["year_to"].tolist()
    messages = (alerts[msg].tolist() if msg in alerts else kinds)
    names = alerts["unit_name"].tolist() if "unit_name" in alerts else [None] * len(kinds)
    geometry = alerts.geometry.array
    at: list[int] = []
    for start, stop in zip(starts, [*starts[1:], len(rows_in)], strict=True):
        group = rows_in[start:stop].tolist()
        top = group[0]
        uid = unit_ids[unit_code[top]]
        if unit_rows is not None:
            row = unit_rows.get(str(uid))
            if row is None:
                continue
            at.append(row)
        first = kinds[top]
        fills.append(cats.get(first, (first, "#555555"))[1])
        name = unit_name({"unit_name": names[top], "unit_id": uid})
        tips.append(f"<b>{esc(name)}</b><br>{esc(cats.get(first, (first, ''))[0])}"
                    + (f" +{len(group) - 1}" if len(group) > 1 else ""))
        geoms.append(geometry[top])
        if unit_rows is not None:
            continue
        rows = "".join(
            f"<tr><td><i style='background:{esc(cats.get(kinds[i], (kinds[i], '#555555'))[1])}"
            f"'></i>{esc(cats.get(kinds[i], (kinds[i], ''))[0])}</td>"
            f"<td style='white-space:nowrap'>{esc(f'{y_from[i]}-{y_to[i]}')}</td>"
            f"<td>{esc(str(messages[i]))}</td></tr>" for i in group)
        popups.append(f"<div class='lc-pop'><h4>{esc(name)} ({esc(str(uid))})</h4><table>"
                      f"<tr><th>{esc(ui('alert', language))}</th><th>"
                      f"{esc(ui('period', language))}</th><th>{esc(ui('message', language))}"
                      f"</th></tr>{rows}</table></div>")
    frame = gpd.GeoDataFrame(geometry=gpd.GeoSeries(geoms, crs=alerts.crs)
                             .representative_point())
    present = set(alerts["alert"].astype(str)) if len(alerts) else set()
    legend = swatches(f"{ui('alerts', language)} ({len(alerts)})",
                      [(lab, c) for k, (lab, c) in cats.items() if k in present])
    return Overlay(ui("alerts", language), frame, fills, popups, legend, exclusive=False,
                   show=True, tooltips=tips, unit_rows=at)


def entering_risk_overlay(units: gpd.GeoDataFrame, language: str, *,
                          on_units: bool = False) -> Overlay | None:
    """The units that moved into carbon risk over the last period (``dynamic_risk`` of
    :mod:`landcarbon.change.dynamic_risk`), drawn as a dark dashed outline (readable on every
    fill below it, warm risk colours included); the legend counts the units per condition
    (``map_categories.csv`` category ``dynamic_flag``), the popup gives the reasons. None
    when the table has no dynamic-risk columns. ``on_units``: ``units`` is the map's units
    table; the outlines are drawn from the map's unit geometry and open the units' own
    popups (which give the reasons: :func:`change_popup_rows`)."""
    if "dynamic_risk" not in units:
        return None
    cats = map_categories("dynamic_flag", language)
    entering = units["dynamic_risk"].fillna(False).astype(bool).to_numpy()
    hit = units[entering]
    reason = f"dynamic_risk_reason_{'zh' if language == 'zh' else 'en'}"
    fills, popups, tips = [], [], []
    for r in hit.drop(columns=hit.geometry.name).to_dict("records"):
        flags = [f for f in str(r.get("dynamic_risk_flags") or "").split(",") if f]
        fills.append(OUTLINE)
        name = unit_name(r)
        tips.append(f"<b>{esc(name)}</b><br>"
                    + esc(" · ".join(cats.get(f, (f, ""))[0] for f in flags)))
        if on_units:
            continue
        period = f"{r.get('change_from_year')}-{r.get('change_to_year')}"
        items = "".join(f"<li>{esc(x)}</li>" for x in str(r.get(reason) or "").split(
            "；" if language == "zh" else "; ") if x)
        popups.append(f"<div class='lc-pop'><h4>{esc(name)} ({esc(str(r.get('unit_id')))})"
                      f"</h4><p>{esc(ui('entering_risk', language))} {esc(period)}</p>"
                      f"<ul>{items}</ul></div>")
    lists = [str(v).split(",") for v in hit.get("dynamic_risk_flags", [])]
    # a dashed box, as the layer draws the units, then the units per condition
    legend = (f"<div class='lc-h'>{esc(ui('entering_risk', language))} ({len(hit)})</div>"
              f"<div><i style='background:transparent;border:2px dashed {OUTLINE};"
              f"width:11px;height:8px'></i>{esc(ui('dynamic_flags', language))}</div>"
              + "".join(f"<div style='padding-left:22px;font-size:12px'>{esc(lab)} "
                        f"{sum(k in fl for fl in lists)}</div>"
                        for k, (lab, _) in cats.items() if any(k in fl for fl in lists)))
    return Overlay(ui("entering_risk", language), hit[[hit.geometry.name]], fills, popups,
                   legend, exclusive=False, show=True, tooltips=tips, outline=True,
                   unit_rows=np.flatnonzero(entering).tolist() if on_units else [],
                   on_units=on_units)


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
    tot, scale, decimals = total_scale(units["net_change"], unit, language)
    return NumericLayer.of(units, "net_change", f"{ui('net_change', language)} {y0}–{y1}",
                           unit=tot, scale=scale, decimals=decimals, language=language)


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
    # markers and outlines open the units' popups (alerts and reasons written once), the
    # outlines drawn from the units' one copy of their geometry
    rows_of = {uid: i for i, uid in enumerate(units["unit_id"].astype(str))}
    overlays = ([alerts_overlay(alerts, language, rows_of)]
                if alerts is not None and len(alerts) else [])
    entering = entering_risk_overlay(units, language, on_units=True)
    if entering is not None:
        overlays.insert(0, entering)
    change = net_change_layer(units, language, unit)
    rows = change_popup_rows(units, None if alerts is None else
                             pd.DataFrame(alerts.drop(columns=alerts.geometry.name)), language)
    return explore_units(units, column=dates[-1].column, layers=(),
                         categories=[*dates, *([change] if change else [])],
                         overlays=overlays, language=language, title=title, tiles=tiles,
                         offline=offline, zones=False, popup_rows=rows)
