"""The zoning section of the atlas report: units per zone, horizontal compensation (totals
and largest flows), the threshold sweep plot and the Monte Carlo summary. Values are text
(the report template escapes them); labels come from package data."""

from __future__ import annotations

from typing import Any

import pandas as pd

from landcarbon.publish._html import fmt, label, ui, unit_name
from landcarbon.publish._units import money_column, total_column
from landcarbon.publish.zone_layers import category_key, zone_category_layers

__all__ = ["zoning_context"]

_TOP = 10


def zoning_context(units: pd.DataFrame, *, language: str = "zh",
                   summary: dict[str, Any] | None = None,
                   flows: pd.DataFrame | None = None,
                   uncertainty: pd.DataFrame | None = None,
                   sweep_png: str | None = None) -> dict[str, Any] | None:
    """What the report's zoning section shows, or ``None`` without zoning columns.

    Parameters
    ----------
    units : pandas.DataFrame
        The assessed units table with its zoning columns.
    summary : dict, optional
        ``zoning.json`` (compensation totals, price, currency).
    flows : pandas.DataFrame, optional
        ``compensation.csv``: ``payer_id, payer_name, receiver_id, receiver_name, carbon_tc,
        value``.
    uncertainty : pandas.DataFrame, optional
        ``uncertainty.csv`` (``p_exceed``, ``net_tc_p5`` / ``_p95`` per unit).
    sweep_png : str, optional
        Relative href of the threshold sweep plot.
    """
    layers = zone_category_layers(units, language)
    if not layers:
        return None
    n = len(units)
    counts = []
    for layer in layers:
        keys = units[layer.column].map(category_key).value_counts()
        rows = [(colour, lab, f"{int(keys.get(k, 0)):,d}",
                 fmt(keys.get(k, 0) / n if n else None, share=True))
                for k, (lab, colour) in layer.categories.items() if keys.get(k, 0)]
        counts.append((layer.title, rows))
    out: dict[str, Any] = {"counts": counts, "compensation": [], "flows": [],
                           "uncertainty": [], "sweep": sweep_png}
    comp = (summary or {}).get("compensation") or {}
    cur = str(comp.get("currency", ""))
    money_label, money = money_column(cur, language)  # 万元 in Chinese
    if comp:
        owed_key = "owed_tc" if "owed_tc" in comp else "owed_tco2"  # the run's output unit
        t_lab, t_f = total_column([comp.get(owed_key)], "t C" if owed_key == "owed_tc"
                                  else "t CO2", language, per_year=False)
        out["compensation"] = [
            (ui("payers", language), f"{int(comp.get('payers', 0)):,d}"),
            (ui("receivers", language), f"{int(comp.get('receivers', 0)):,d}"),
            (ui("owed", language), f"{t_f(comp.get(owed_key))} {t_lab}"),
            (ui("paid", language), f"{money(comp.get('paid'))} {money_label}"),
            (ui("received", language), f"{money(comp.get('received'))} {money_label}"),
        ]
    if flows is not None and len(flows):
        # compensation.csv in the run's output unit: carbon_tc or carbon_tco2
        col = "carbon_tc" if "carbon_tc" in flows else "carbon_tco2"
        top = flows.sort_values(col, ascending=False).head(_TOP)
        t_lab, t_f = total_column(top[col], "t C" if col == "carbon_tc" else "t CO2",
                                  language, per_year=False)
        out["flows_header"] = [ui("payer", language), ui("receiver", language),
                               f"{ui('owed', language)} ({t_lab})",
                               f"{ui('value', language)} ({money_label})"]
        out["flows"] = [[f"{r.get('payer_name') or r['payer_id']} ({r['payer_id']})",
                         f"{r.get('receiver_name') or r['receiver_id']} ({r['receiver_id']})",
                         t_f(r[col]), money(r.get("value"))]
                        for r in top.to_dict("records")]
    if uncertainty is not None and "p_exceed" in uncertainty and len(uncertainty):
        from landcarbon.accounting.conversions import flux_suffix, unit_label

        sfx = flux_suffix(uncertainty.columns, ("net_{}_p5",))
        lo = None if sfx is None else f"net_{sfx}_p5"
        unit = unit_label(sfx or "tc", display=True)
        p = pd.to_numeric(uncertainty["p_exceed"], errors="coerce")
        out["uncertainty_counts"] = [
            ("p ≥ 95%", f"{int((p >= 0.95).sum()):,d}"),
            ("5% < p < 95%", f"{int(((p > 0.05) & (p < 0.95)).sum()):,d}"),
            ("p ≤ 5%", f"{int((p <= 0.05).sum()):,d}")]
        # the least certain units first (probability nearest 50 %), then the likeliest
        order = pd.DataFrame({"d": (p - 0.5).abs(), "p": -p})
        top = uncertainty.loc[order.sort_values(["d", "p"], kind="stable").index].head(_TOP)
        cols = [c for c in (f"net_{sfx}", f"net_{sfx}_p5", f"net_{sfx}_p50", f"net_{sfx}_p95")
                if sfx and c in top]
        u_lab, f = total_column(pd.concat([top[c] for c in cols]) if cols else [], unit,
                                language)  # one unit for the three columns
        out["uncertainty_header"] = [ui("name", language), ui("id", language),
                                     ui("risk_level", language), ui("p_exceed", language),
                                     f"{ui('deterministic', language)} ({u_lab})",
                                     f"{ui('median', language)} ({u_lab})",
                                     f"{ui('interval', language)} ({u_lab})"]
        out["uncertainty"] = [
            [unit_name(r), str(r.get("unit_id", "")),
             label("risk_levels", r.get("risk_level"), language),
             fmt(r["p_exceed"], share=True),
             f(r.get(f"net_{sfx}")) if sfx else "–",
             f(r.get(lo[:-2] + "p50")) if lo else "–",
             f"{f(r[lo])} – {f(r[lo[:-2] + 'p95'])}" if lo else "–"]
            for r in top.to_dict("records")]
        out["uncertainty_note"] = ui("mc_median_note", language)
    return out
