"""The report of a change run (``report.html`` of ``landcarbon change``): a summary first
(net emission first and last date, units over their limit per date, units entering carbon risk
and why, alerts, stock change, largest rises), then the totals per date, the units whose net
emission changed most, the units entering risk with their reasons, the alerts, the transfer
matrices and the stocks. Totals in 万吨 (columns reaching 10^4 t) and money in 万元 in Chinese
(:mod:`landcarbon.publish._units`). Every value from the data is escaped (Jinja2 autoescape).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

import pandas as pd

from landcarbon.accounting.conversions import output_suffix
from landcarbon.publish._html import fmt_fixed, label, templates, ui, unit_name, vocab
from landcarbon.publish._units import area_column, money_column, total_column
from landcarbon.publish.fonts import embed_font
from landcarbon.publish.zone_layers import map_categories

__all__ = ["change_report", "entering_risk_rows", "local_time", "render_page"]

_TOP = 10
_ABOVE = ("exceeding", "severe")


def local_time() -> str:
    """Now, in the machine's local time with its zone (``2026-12-05 21:15 CST (UTC+0800)``)."""
    return datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z (UTC%z)")


def render_page(template: str, lang: str, **context: Any) -> str:
    """Render a report template of ``publish/templates`` (autoescape on) with the embedded
    font of its own text."""
    env = templates()
    t = {k: ui(k, lang) for k in ("local_time", "generated", "summary", "files", "config",
                                  "maps")}
    t.update(context.pop("t", {}))
    return embed_font(script=True, html_text=env.get_template(template).render(
        lang=lang, t=t, created=local_time(), **context))


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
        _, area = area_column(lang)
        rows = [[names[i], *[area(v) for v in wide.iloc[i]], area(wide.iloc[i].sum())]
                for i in range(len(keys))]
        rows.append(["Σ", *[area(v) for v in wide.sum(axis=0)], area(wide.to_numpy().sum())])
        out.append({"period": f"{y0}-{y1}", "by": ui(by, lang) if by == "space_type" else
                    ui("land", lang), "header": [ui("from_to", lang), *names, "Σ"],
                    "rows": rows})
    return out


def _names(rows: pd.DataFrame, lang: str) -> str:
    sep = "、" if lang == "zh" else ", "
    names = sep.join(unit_name(r) for r in rows.head(_TOP).to_dict("records"))
    return names + (f"{sep}…" if len(rows) > _TOP else "")


def _signed(text: str, x: Any) -> str:
    return f"+{text}" if x is not None and x == x and float(x) > 0 else text


def _net_change_rows(series: pd.DataFrame | None, sfx: str, unit: str, lang: str
                     ) -> tuple[list[str], list[list[str]], pd.DataFrame]:
    """The units whose net emission changed most between the first and last date (largest
    rises first, then largest falls): header, rows, and the table of changes."""
    empty = pd.DataFrame(columns=["unit_id", "unit_name", "a", "b", "d", "ra", "rb"])
    if series is None or not len(series) or f"net_{sfx}" not in series:
        return [], [], empty
    years = sorted(series["year"].unique())
    if len(years) < 2:
        return [], [], empty
    y0, y1 = years[0], years[-1]
    a = series[series["year"] == y0].set_index("unit_id")
    b = series[series["year"] == y1].set_index("unit_id")
    ids = b.index.intersection(a.index)
    t = pd.DataFrame({"unit_id": ids, "unit_name": b.loc[ids].get("unit_name", ids),
                      "a": pd.to_numeric(a.loc[ids, f"net_{sfx}"], errors="coerce").to_numpy(),
                      "b": pd.to_numeric(b.loc[ids, f"net_{sfx}"], errors="coerce").to_numpy(),
                      "ra": a.loc[ids].get("risk_level", pd.Series("", index=ids)).to_numpy(),
                      "rb": b.loc[ids].get("risk_level", pd.Series("", index=ids)).to_numpy()})
    t["d"] = t["b"] - t["a"]
    t = t.dropna(subset=["d"])
    rises = t[t["d"] > 0].sort_values("d", ascending=False).head(_TOP)
    falls = t[t["d"] < 0].sort_values("d").head(max(3, _TOP - len(rises)))
    shown = pd.concat([rises, falls])
    lab, f = total_column(pd.concat([shown["a"], shown["b"], shown["d"]]), unit, lang)
    header = [ui("name", lang), ui("id", lang), f"{y0} ({lab})", f"{y1} ({lab})",
              f"{ui('net_change', lang)} ({lab})", ui("risk_level", lang)]
    rows = [[unit_name(r), str(r["unit_id"]), f(r["a"]), f(r["b"]), _signed(f(r["d"]), r["d"]),
             f"{label('risk_levels', r['ra'], lang)} → {label('risk_levels', r['rb'], lang)}"]
            for r in shown.to_dict("records")]
    return header, rows, t


def _summary(totals: dict[str, Any], sfx: str, unit: str, lang: str,
             changes: pd.DataFrame, last_units: pd.DataFrame | None,
             alerts: pd.DataFrame) -> list[tuple[str, str]]:
    """The executive summary of a change run."""
    by_year = sorted((int(y), v) for y, v in (totals.get("by_year") or {}).items())
    if not by_year:
        return []
    (y0, v0), (y1, v1) = by_year[0], by_year[-1]
    out = [(ui("period", lang), f"{y0}–{y1}")]
    for key in ("net", "emission", "sequestration"):
        a, b = v0.get(f"{key}_{sfx}"), v1.get(f"{key}_{sfx}")
        if a is None or b is None:
            continue
        lab, f = total_column([a, b], unit, lang)
        pct = f" ({_signed(fmt_fixed(100 * (b - a) / abs(a), 1), b - a)} %)" if a else ""
        out.append((ui(key, lang), f"{y0}: {f(a)} → {y1}: {f(b)} {lab}{pct}"))
    out.append((ui("risk_units_by_year", lang), " → ".join(
        f"{y}: {sum((v.get('risk_levels') or {}).get(k, 0) for k in _ABOVE)}"
        for y, v in by_year)))
    if last_units is not None and "dynamic_risk" in last_units:
        hit = last_units[last_units["dynamic_risk"].fillna(False).astype(bool)]
        evaluated = int(last_units["dynamic_risk"].notna().sum())
        out.append((ui("entering_risk", lang), f"{len(hit)} / {evaluated}"
                    + (f" ({_names(hit, lang)})" if len(hit) else "")))
    cats = map_categories("alert", lang)
    counts = alerts["alert"].astype(str).value_counts() if len(alerts) else pd.Series(dtype=int)
    out.append((ui("alerts", lang), f"{len(alerts)}" + (" (" + " · ".join(
        f"{lab} {int(counts[k])}" for k, (lab, _) in cats.items() if k in counts) + ")"
        if len(alerts) else "")))
    stocks = totals.get("stocks") or []
    if stocks:
        d = [s.get("stock_change_tc") for s in stocks]
        lab, f = total_column(d, "t C", lang, per_year=False)
        out.append((ui("stock_change", lang), " · ".join(
            f"{s.get('year_from')}–{s.get('year_to')}: {_signed(f(x), x)} {lab}"
            for s, x in zip(stocks, d, strict=True))))
    rises = changes[changes["d"] > 0].sort_values("d", ascending=False).head(5)
    if len(rises):
        lab, f = total_column(rises["d"], unit, lang)
        sep = "、" if lang == "zh" else ", "
        out.append((ui("largest_rise", lang), sep.join(
            f"{unit_name(r)} (+{f(r['d'])})" for r in rises.to_dict("records")) + f" {lab}"))
    return out


def change_report(totals: dict[str, Any], transfer: pd.DataFrame, alerts: pd.DataFrame, *,
                  manifest_config: dict[str, Any] | None = None,
                  language: Literal["zh", "en"] = "zh", title: str | None = None,
                  unit: str = "t C", maps: Sequence[tuple[str, str]] = (),
                  files: Sequence[tuple[str, str]] = (), version: str = "",
                  last_units: pd.DataFrame | None = None,
                  series: pd.DataFrame | None = None) -> str:
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
    series : pandas.DataFrame, optional
        ``timeseries.csv`` (``year, unit_id, unit_name, net_<s>, risk_level``...): the units
        whose net emission changed most.

    Returns
    -------
    str
        A complete HTML document, summary first.
    """
    lang = language
    sfx = output_suffix(unit)
    t = {k: ui(k, lang) for k in (
        "change", "totals_by_year", "transfer_matrix", "stocks", "alerts", "year", "period",
        "alert", "name", "id", "message", "risk_level", "net_change_units")}
    by_year = totals.get("by_year", {})
    area_lab, area = area_column(lang)
    cols = {k: total_column([v.get(f"{k}_{sfx}") for v in by_year.values()], unit, lang)
            for k in ("emission", "sequestration", "net")}
    year_header = [t["year"], f"{ui('covered', lang)} ({area_lab})",
                   *[f"{ui(k, lang)} ({cols[k][0]})" for k in cols], t["risk_level"]]
    year_rows = [[str(y), area(v.get("covered_ha")),
                  *[cols[k][1](v.get(f"{k}_{sfx}")) for k in cols],
                  " · ".join(f"{label('risk_levels', k, lang)} {levels[k]}"
                             for k in vocab("risk_levels") if (levels := v.get("risk_levels")
                                                               or {}).get(k))]
                 for y, v in sorted(by_year.items())]
    stocks = totals.get("stocks") or []
    s_lab, s_f = total_column([x for s in stocks for x in (s.get("stock_from_tc"),
                                                          s.get("stock_to_tc"))],
                              "t C", lang, per_year=False)
    d_lab, d_f = total_column([s.get("stock_change_tc") for s in stocks], "t C", lang,
                              per_year=False)
    m_lab, m_f = money_column("CNY", lang)  # the carbon price of [change.stocks] is in CNY
    stock_header = [t["period"], f"{ui('stock_from', lang)} ({s_lab})",
                    f"{ui('stock_to', lang)} ({s_lab})", f"{ui('stock_change', lang)} ({d_lab})",
                    f"{ui('npv', lang)} ({m_lab})"]
    stock_rows = [[f"{s.get('year_from')}-{s.get('year_to')}", s_f(s.get("stock_from_tc")),
                   s_f(s.get("stock_to_tc")), d_f(s.get("stock_change_tc")), m_f(s.get("npv"))]
                  for s in stocks]
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
    change_header, change_rows, changes = _net_change_rows(series, sfx, unit, lang)
    return render_page(
        "change_report.html.j2", lang, t=t, kind=t["change"], title=title or t["change"],
        version=version,
        summary=_summary(totals, sfx, unit, lang, changes, last_units, alerts),
        year_header=year_header, year_rows=year_rows, area_label=area_lab,
        change_header=change_header, change_rows=change_rows,
        matrices=[*_matrix(transfer, "space_type", lang), *_matrix(transfer, "land_class",
                                                                   lang)],
        stock_header=stock_header, stock_rows=stock_rows, alert_header=alert_header,
        alert_rows=alert_rows, alert_counts=alert_counts, maps=list(maps), files=list(files),
        entering_risk=ui("entering_risk", lang), risk_header=risk_header, risk_rows=risk_rows,
        risk_counts=risk_counts, risk_periods=risk_periods,
        config=json.dumps(manifest_config or {}, ensure_ascii=False, indent=2))
