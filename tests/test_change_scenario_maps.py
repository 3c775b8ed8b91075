"""Change and scenario runs on the map and in the reports (issue 17, item 4): the net-change
layer, every alert of a unit in its popup, scenario deltas and risk transitions."""

from __future__ import annotations

import pandas as pd
from test_maps import XSS, make_units
from test_zone_change_maps import EVIL, _change_units

from landcarbon.publish.change_map import change_map, change_popup_rows, net_change_layer
from landcarbon.publish.maps import map_html
from landcarbon.publish.palettes import NET_SINK, NET_SOURCE


def _with_nets() -> tuple[pd.DataFrame, pd.DataFrame]:
    units, alerts = _change_units()
    units["net_tc_2015"] = [100.0, 50_000.0, -300.0, 2_000.0]
    units["net_tc_2023"] = [80.0, 70_000.0, -300.0, 2_500.0]  # -20, +20000, 0, +500
    return units, alerts


def test_net_change_layer_diverges_at_zero_in_wan_tonnes() -> None:
    units, _ = _with_nets()
    layer = net_change_layer(units, "zh", "t C")
    assert layer is not None and layer.title == "净碳排放变化 2015–2023"
    assert units["net_change"].tolist() == [-20.0, 20_000.0, 0.0, 500.0]
    fills = layer.fills(units["net_change"])
    assert fills[0] in NET_SINK and all(f in NET_SOURCE for f in fills[1:])
    assert fills[1] == NET_SOURCE[-1]  # the largest rise: the darkest warm class
    cells = layer.cells(units["net_change"])
    assert cells[1].endswith("+2.00 万吨 C/年") and "-0.002 万吨 C/年" in cells[0]
    legend = layer.legend(units["net_change"])
    assert "净碳排放变化 2015–2023 (万吨 C/年)" in legend
    assert "<div class='lc-zero'>0</div>" in legend and "无数据" in legend
    en = net_change_layer(units.copy(), "en", "t C")
    assert en is not None and en.cells(units["net_change"])[3].endswith("+500.0 t C/yr")
    assert net_change_layer(make_units(), "zh") is None  # one date: no change layer


def test_unit_popup_lists_every_alert_condition_intensity_and_tapio() -> None:
    units, alerts = _with_nets()
    units["dynamic_risk"] = [True, False, True, False]
    units["dynamic_risk_flags"] = ["R2,risk_level_rise", "", "R3", None]
    units["dynamic_risk_reason_en"] = [f"R2: {EVIL}", "", "R3: sink lost", ""]
    units["dynamic_risk_reason_zh"] = [f"R2：{EVIL}", "", "R3：碳汇损失", ""]
    units["emission_intensity_change_pct"] = [12.5, -3.0, float("nan"), 0.0]
    units["tapio_state"] = ["expansive_negative_decoupling", "strong_decoupling",
                            "undetermined", None]
    units["tapio_elasticity"] = [1.5, -0.2, float("nan"), float("nan")]
    rows = dict(change_popup_rows(units, pd.DataFrame(alerts.drop(columns="geometry")), "zh"))
    assert list(rows) == ["预警", "进入碳风险的单元", "碳排放强度变化（较基准年）",
                          "脱钩状态（Tapio）"]
    first = rows["预警"][0]  # 410101: both alerts, in map_categories order, with messages
    assert first.index("越过阈值") < first.index("农业用地转建设用地")
    assert "越过" in first and "&lt;script&gt;alert(9)&lt;/script&gt;" in first
    assert rows["预警"][1] == "–" and "碳汇损失" in rows["预警"][3]
    assert "碳排放增速高于全区" in rows["进入碳风险的单元"][0] and "风险等级上升" in rows[
        "进入碳风险的单元"][0]
    assert rows["进入碳风险的单元"][1] == "无"
    assert rows["碳排放强度变化（较基准年）"] == ["+12.5 %", "-3.0 %", "–", "0.0 %"]
    assert rows["脱钩状态（Tapio）"][:2] == ["扩张负脱钩 (e = 1.50)", "强脱钩 (e = -0.20)"]
    assert rows["脱钩状态（Tapio）"][3] == "–"
    for cells in rows.values():
        assert not any(EVIL in c or "<img src=x" in c for c in cells)
    # on the map: the rows follow the per-date and change layers in every unit's popup
    html = map_html(change_map(units, alerts, language="en", tiles=None))
    assert ('"extra": ["Risk level 2015", "Risk level 2023", "Change in net emission '
            '2015–2023", "Alerts", "Units entering carbon risk", '
            '"Carbon intensity vs base year", "Decoupling state (Tapio)"]') in html
    assert "Expansive negative decoupling (e = 1.50)" in html
    assert EVIL not in html and "<img src=x" not in html and XSS not in html


def test_change_report_summary_units_and_largest_changes_in_chinese() -> None:
    from landcarbon.publish.change_report import change_report

    totals = {"by_year": {
        "2015": {"covered_ha": 1525.5, "emission_tc": 180_000.0, "sequestration_tc": 4_000.0,
                 "net_tc": 176_000.0, "risk_levels": {"severe": 1, "within": 2}},
        "2023": {"covered_ha": 1525.5, "emission_tc": 200_000.0, "sequestration_tc": 3_000.0,
                 "net_tc": 197_000.0, "risk_levels": {"severe": 2, "exceeding": 1}}},
        "stocks": [{"year_from": 2015, "year_to": 2023, "stock_from_tc": 1_000_000.0,
                    "stock_to_tc": 990_000.0, "stock_change_tc": -10_000.0,
                    "npv": -2_500_000.0}]}
    series = pd.DataFrame({
        "year": [2015, 2015, 2023, 2023], "unit_id": ["a", "b", "a", "b"],
        "unit_name": [XSS, "北区", XSS, "北区"], "net_tc": [1000.0, 50.0, 31_000.0, 40.0],
        "risk_level": ["within", "within", "severe", "within"]})
    last = pd.DataFrame({"unit_id": ["a", "b"], "unit_name": [XSS, "北区"],
                         "dynamic_risk": [True, False], "dynamic_risk_flags": ["R2", ""],
                         "dynamic_risk_reason_zh": [f"R2：{EVIL}", ""],
                         "change_from_year": [2015, 2015], "change_to_year": [2023, 2023]})
    transfer = pd.DataFrame(columns=["year_from", "year_to", "by", "from", "to", "area_ha"])
    alerts = pd.DataFrame(columns=["unit_id", "unit_name", "year_from", "year_to", "alert",
                                   "message_zh"])
    html = change_report(totals, transfer, alerts, language="zh", title=XSS, series=series,
                         last_units=last)
    assert html.index('id="summary"') < html.index('id="totals"')
    summary = html[html.index('id="summary"'):html.index('id="totals"')]
    assert "2015: 17.60 → 2023: 19.70 万吨 C/年 (+11.9 %)" in summary
    assert "2015: 1 → 2023: 3" in summary            # units over their limit per date
    assert "1 / 2 (&lt;img src=x onerror=alert(1)&gt;" in summary  # entering risk, escaped
    assert "-1.00 万吨 C" in summary                  # stock change
    # per column: emission reaches 10^4 t -> 万吨; the areas in 公顷; money in 万元
    assert "碳排放 (万吨 C/年)" in html and "有效面积 (公顷)" in html and "(万元)" in html
    assert '<td class="n">-250.00</td>' in html
    # largest changes: the rise (+3.00 万吨) first, then the fall, in one unit per column
    section = html[html.index('id="net-change"'):html.index('id="entering-risk"')]
    assert "净碳排放变化 (万吨 C/年)" in section and section.index("+3.00") < section.index(
        "-0.001")
    assert "阈值内 → 严重超标" in section
    assert EVIL not in html and "<img src=x" not in html
