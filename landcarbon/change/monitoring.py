"""Monitoring and early warning across dates: per-unit time series and alerts.

Input: the assessed units table of each date (:func:`landcarbon.pipeline.assess`) and,
optionally, the per-unit transitions between consecutive dates
(:func:`landcarbon.change.transitions.category_transitions`). Alerts between two consecutive dates:

* ``threshold_crossed`` - the unit's risk level moves from ``net_sink``/``within``/
  ``approaching`` to ``exceeding``/``severe`` (it crosses its space type's threshold);
* ``sink_loss`` - the unit's sequestration falls by more than ``sink_loss_share`` of its
  value at the earlier date (methodology §6: ecological space may lose at most 5 %);
* ``ecological_to_construction`` / ``agricultural_to_construction`` - more than
  ``conversion_min_ha`` of ecological / agricultural space became construction space.

Map layers are data (GeoDataFrames): one feature per alert with its dates (for a time
slider), and the units with one column per date and quantity (one layer per date).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from itertools import pairwise

import geopandas as gpd
import pandas as pd

from landcarbon.accounting.conversions import OUTPUT_UNITS, unit_label
from landcarbon.accounting.display_units import DisplayUnits
from landcarbon.accounting.legends import space_types
from landcarbon.accounting.risk import risk_levels, risk_levels_vs_limit

__all__ = ["ALERT_TYPES", "alerts", "alerts_layer", "timeseries", "timeseries_layer"]

ALERT_TYPES = ("threshold_crossed", "sink_loss", "ecological_to_construction",
               "agricultural_to_construction")


def timeseries(tables: Mapping[int, pd.DataFrame], *, suffix: str = "tc") -> pd.DataFrame:
    """Long per-unit time series from the assessed units table of each date.

    Returns
    -------
    pandas.DataFrame
        ``year, unit_id, unit_name, space_type, covered_ha, emission_<s>, sequestration_<s>,
        net_<s>, net_<s>_per_ha, threshold_<s>_per_ha, risk_level``, and where the tables
        have them ``gdp``, the emission intensity and the dynamic-risk columns of
        :func:`landcarbon.change.dynamic_risk.dynamic_risk` (empty in the first year), sorted by
        unit and year.
    """
    from landcarbon.change.dynamic_risk import DYNAMIC_COLUMNS

    cols = ["unit_id", "unit_name", "space_type", "covered_ha", f"emission_{suffix}",
            f"sequestration_{suffix}", f"net_{suffix}", f"net_{suffix}_per_ha",
            f"threshold_{suffix}_per_ha", "risk_level", "gdp",
            f"emission_intensity_{suffix}_per_10k_cny", *DYNAMIC_COLUMNS]
    parts = []
    for year, table in sorted(tables.items()):
        t = pd.DataFrame(table)
        parts.append(t[[c for c in cols if c in t.columns]].assign(year=int(year)))
    out = pd.concat(parts, ignore_index=True)
    out = out[["year", *[c for c in cols if c in out.columns]]]
    return out.sort_values(["unit_id", "year"], kind="stable").reset_index(drop=True)


def _alert(row: Mapping[str, object], y0: int, y1: int, kind: str, value: float, limit: float,
           unit: str, en: str, zh: str) -> dict[str, object]:
    return {"unit_id": row["unit_id"], "unit_name": row.get("unit_name", row["unit_id"]),
            "year_from": y0, "year_to": y1, "alert": kind, "value": value, "limit": limit,
            "value_unit": unit, "message_en": en, "message_zh": zh}


def alerts(series: pd.DataFrame, *, transitions: Mapping[tuple[int, int], pd.DataFrame]
           | None = None, sink_loss_share: float = 0.05, conversion_min_ha: float = 1.0,
           suffix: str = "tc", display: DisplayUnits | None = None) -> pd.DataFrame:
    """Early-warning alerts between consecutive dates.

    Parameters
    ----------
    series : pandas.DataFrame
        From :func:`timeseries`.
    transitions : mapping, optional
        ``{(year_from, year_to): per-unit transition table}`` (long table with ``unit_id``,
        ``from_space_type``, ``to_space_type``, ``area_ha``) for the conversion alerts.
    sink_loss_share : float
        Share of the earlier sequestration whose loss raises ``sink_loss`` (0.05 = 5 %).
    conversion_min_ha : float
        Converted area (ha) above which a conversion alert is raised.
    display : DisplayUnits, optional
        The run's display units, for the message text only (as the pages and the reasons):
        net densities and thresholds per its area unit (t/ha/yr, or t/亩/yr = t/ha/yr / 15:
        3 decimals per ha, 4 per 亩), sequestration in its mass unit (t/yr, or 万吨/yr =
        t/yr / 10^4 with ``mass_scale = "wan_t"``: 1 decimal in t, 4 in 万吨; ``auto`` is
        t, as in the reasons), converted areas in ha or 亩, with unit names in English and
        Chinese. t C or t CO2 is that of ``suffix`` (the pipeline passes the series in the
        output unit already: nothing is converted here). ``value`` and ``limit`` stay in the
        series' units (``value_unit``: per ha, a share, or ha). Default: t and ha.

    Returns
    -------
    pandas.DataFrame
        ``unit_id, unit_name, year_from, year_to, alert, value, limit, value_unit,
        message_en, message_zh``.
    """
    seq, net_ha, thr = (f"sequestration_{suffix}", f"net_{suffix}_per_ha",
                        f"threshold_{suffix}_per_ha")
    unit = unit_label(suffix)
    # the display's scale and area unit; t C or t CO2 is the series' own (see ``suffix``)
    shown = (DisplayUnits(OUTPUT_UNITS[suffix]) if display is None else
             replace(display, output_unit=OUTPUT_UNITS[suffix]))
    en_area, zh_area = shown.area_label("en"), shown.area_label("zh")
    en_density, zh_density = shown.density_label("en"), shown.density_label("zh")
    decimals = 4 if shown.area_unit == "mu" else 3

    def density(per_ha: float) -> str:
        return f"{shown.per_area(per_ha):.{decimals}f}"

    years = sorted(series["year"].unique())
    names = dict(series.drop_duplicates("unit_id").set_index("unit_id")["unit_name"].items()
                 ) if "unit_name" in series else None
    out: list[dict[str, object]] = []
    for y0, y1 in pairwise(years):
        a = series[series["year"] == y0].set_index("unit_id")
        b = series[series["year"] == y1].set_index("unit_id")
        common = b.index.intersection(a.index)
        a, b = a.loc[common], b.loc[common]
        crossed = (a["risk_level"].isin(risk_levels_vs_limit("below"))
                   & b["risk_level"].isin(risk_levels_vs_limit("above")))
        s0s, s1s = a[seq].astype(float), b[seq].astype(float)
        lost_share = (s0s - s1s) / s0s.where(s0s > 0)
        # only the few units with an alert are visited row by row
        for uid in common[(crossed | (lost_share > sink_loss_share)).to_numpy()]:
            r0, r1 = a.loc[uid], b.loc[uid]
            row = {"unit_id": uid, "unit_name": r1.get("unit_name", uid)}
            if crossed.at[uid]:
                net, limit = density(float(r1[net_ha])), density(float(r1[thr]))
                out.append(_alert(
                    row, y0, y1, "threshold_crossed", float(r1[net_ha]), float(r1[thr]),
                    f"{unit}/ha/yr",
                    f"net {net} {en_density} in {y1} is above the {r1['space_type']} "
                    f"threshold {limit} (was {r0['risk_level']} in {y0}, now "
                    f"{r1['risk_level']})",
                    f"{y1} 年净排放 {net} {zh_density} 超过阈值 {limit}（{y0} 年为"
                    f"{_zh_level(r0['risk_level'])}，现为{_zh_level(r1['risk_level'])}）"))
            s0, s1, lost = (float(x.at[uid]) for x in (s0s, s1s, lost_share))
            if lost > sink_loss_share:
                was = shown.mass_text(s0)
                out.append(_alert(
                    row, y0, y1, "sink_loss", lost, sink_loss_share, "share",
                    f"sequestration fell {lost:.1%} from {was} to "
                    f"{shown.total_text(s1, 'en')} "
                    f"({y0}-{y1}; alert above {sink_loss_share:.0%})",
                    f"碳汇量下降 {lost:.1%}：{was} → {shown.total_text(s1, 'zh')}"
                    f"（{y0}-{y1} 年，预警线 {sink_loss_share:.0%}）"))
        if transitions is None or (y0, y1) not in transitions:
            continue
        t = transitions[(y0, y1)]
        to_con = t[(t["to_space_type"] == "construction")
                   & t["from_space_type"].isin(["ecological", "agricultural"])]
        conv = to_con.groupby(["unit_id", "from_space_type"])["area_ha"].sum()
        zh_space = dict(space_types()["name_zh"].items())
        big = conv[conv > conversion_min_ha]
        for uid, space, ha in zip(big.index.get_level_values(0).tolist(),
                                  big.index.get_level_values(1).tolist(), big.tolist(),
                                  strict=True):
            name = names.get(uid, uid) if names is not None else uid
            row = {"unit_id": uid, "unit_name": name}
            shown_ha, min_shown = shown.area(ha), shown.area(conversion_min_ha)
            out.append(_alert(
                row, y0, y1, f"{space}_to_construction", float(ha), conversion_min_ha,
                "ha", f"{shown_ha:.2f} {en_area} of {space} space became construction land "
                f"({y0}-{y1}; alert above {min_shown:g} {en_area})",
                f"{shown_ha:.2f} {zh_area}{zh_space[space]}转为建设用地（{y0}-{y1} 年，"
                f"预警线 {min_shown:g} {zh_area}）"))
    cols = ["unit_id", "unit_name", "year_from", "year_to", "alert", "value", "limit",
            "value_unit", "message_en", "message_zh"]
    table = pd.DataFrame(out, columns=cols)
    table["_order"] = table["alert"].map({k: i for i, k in enumerate(ALERT_TYPES)})
    table = table.sort_values(["year_to", "unit_id", "_order"], kind="stable")
    return table.drop(columns="_order").reset_index(drop=True)


def alerts_layer(units: gpd.GeoDataFrame, table: pd.DataFrame) -> gpd.GeoDataFrame:
    """One feature per alert (the unit's polygon), for a map layer with a time slider on
    ``year_to``."""
    geom = units.set_index("unit_id").geometry
    merged = table.copy()
    return gpd.GeoDataFrame(merged, geometry=geom.reindex(merged["unit_id"]).to_numpy(),
                            crs=units.crs)


def timeseries_layer(units: gpd.GeoDataFrame, series: pd.DataFrame, *,
                     columns: tuple[str, ...] = ("net_tc", "net_tc_per_ha", "risk_level")
                     ) -> gpd.GeoDataFrame:
    """Units with one column per quantity and date (``net_tc_2015``, ``risk_level_2023``...),
    for one map layer per date."""
    wide = series.pivot(index="unit_id", columns="year",
                        values=[c for c in columns if c in series.columns])
    wide.columns = [f"{q}_{y}" for q, y in wide.columns]
    base = units[["unit_id", "unit_name", "geometry"]] if "unit_name" in units else units[
        ["unit_id", "geometry"]]
    out = base.merge(wide, left_on="unit_id", right_index=True, how="left")
    return gpd.GeoDataFrame(out, geometry="geometry", crs=units.crs)


def _zh_level(level: str) -> str:
    """Chinese name of a risk level (from ``landcarbon/data/risk_levels.csv``)."""
    table = risk_levels()
    return str(table.loc[level, "name_zh"]) if level in table.index else str(level)
