"""The zoning section of the atlas report: units per zone, horizontal compensation (totals
and largest flows), the threshold sweep plot and the Monte Carlo summary. Values are text
(the report template escapes them); labels come from package data."""

from __future__ import annotations

from typing import Any

import pandas as pd

from landcarbon.publish._html import fmt, label, ui, unit_name
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
    if comp:
        out["compensation"] = [
            (ui("payers", language), f"{int(comp.get('payers', 0)):,d}"),
            (ui("receivers", language), f"{int(comp.get('receivers', 0)):,d}"),
            (ui("owed", language), f"{fmt(comp.get('owed_tc'))} t C"),
            (ui("paid", language), f"{fmt(comp.get('paid'))} {cur}"),
            (ui("received", language), f"{fmt(comp.get('received'))} {cur}"),
        ]
    if flows is not None and len(flows):
        top = flows.sort_values("carbon_tc", ascending=False).head(_TOP)
        out["flows_header"] = [ui("payer", language), ui("receiver", language),
                               f"{ui('owed', language)} (t C)",
                               f"{ui('value', language)} ({cur})" if cur else ui("value",
                                                                                   language)]
        out["flows"] = [[f"{r.get('payer_name') or r['payer_id']} ({r['payer_id']})",
                         f"{r.get('receiver_name') or r['receiver_id']} ({r['receiver_id']})",
                         fmt(r["carbon_tc"]), fmt(r.get("value"))]
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
        out["uncertainty_header"] = [ui("name", language), ui("id", language),
                                     ui("risk_level", language), ui("p_exceed", language),
                                     f"{ui('deterministic', language)} ({unit}/yr)",
                                     f"{ui('median', language)} ({unit}/yr)",
                                     f"{ui('interval', language)} ({unit}/yr)"]
        out["uncertainty"] = [
            [unit_name(r), str(r.get("unit_id", "")),
             label("risk_levels", r.get("risk_level"), language),
             fmt(r["p_exceed"], share=True),
             fmt(r.get(f"net_{sfx}")) if sfx else "–",
             fmt(r.get(lo[:-2] + "p50")) if lo else "–",
             f"{fmt(r[lo])} – {fmt(r[lo[:-2] + 'p95'])}" if lo else "–"]
            for r in top.to_dict("records")]
        out["uncertainty_note"] = ui("mc_median_note", language)
    return out
