"""Change and scenario runs on the map and in the reports (issue 17, item 4): the net-change
layer, every alert of a unit in its popup, scenario deltas and risk transitions."""

from __future__ import annotations

from pathlib import Path

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
    assert fills[0] in NET_SINK and fills[3] in NET_SOURCE and fills[2] == "#ffffff"
    assert fills[1] == NET_SOURCE[-1]  # the largest rise: the darkest warm class
    cells = layer.cells(units["net_change"])
    assert cells[1].endswith("+2.00 万吨 C/年") and "-0.002 万吨 C/年" in cells[0]
    legend = layer.legend(units["net_change"])
    assert "净碳排放变化 2015–2023 (万吨 C/年)" in legend
    assert legend.index("-0.002") < legend.index("0（无变化）") < legend.index("+0.05")
    assert "无数据" in legend
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
        "-0.00<")
    assert "阈值内 → 严重超标" in section
    assert EVIL not in html and "<img src=x" not in html


# --- scenarios ------------------------------------------------------------------------------

HOSTILE_SCENARIO = "<img src=x onerror=alert(7)>方案"


def _deltas(units: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for name, d, after in ((HOSTILE_SCENARIO, [1e-12, -20_000.0, 0.0, 300.0],
                            ["within", "within", "net_sink", "severe"]),
                           ("b", [0.0, 0.0, 0.0, 0.0], list(units["risk_level"]))):
        for i, r in enumerate(units.to_dict("records")):
            rows.append({"scenario": name, "unit_id": r["unit_id"], "unit_name": r["unit_name"],
                         "net_tc_baseline": 1000.0, "net_tc_scenario": 1000.0 + d[i],
                         "net_tc_delta": d[i], "risk_level_baseline": r["risk_level"],
                         "risk_level_scenario": after[i]})
    return pd.DataFrame(rows)


def test_scenario_layers_delta_and_risk_change_per_scenario() -> None:
    from landcarbon.publish.scenario_map import risk_transition, scenario_layers, scenario_map

    assert [risk_transition(a, b) for a, b in (("severe", "within"), ("within", "within"),
                                               ("net_sink", "approaching"), ("x", "within"))] \
        == ["lower", "same", "higher", ""]
    units = make_units()
    assert list(units["risk_level"]) == ["within", "severe", "net_sink", "exceeding"]
    deltas = _deltas(units)
    frame = units.copy()
    layers, rows = scenario_layers(frame, deltas, "zh")
    assert [x.title for x in layers] == [f"{HOSTILE_SCENARIO}：净碳排放变化",
                                         f"{HOSTILE_SCENARIO}：风险等级变化", "b：净碳排放变化",
                                         "b：风险等级变化"]
    assert list(frame["_risk_change_0"]) == ["same", "lower", "same", "higher"]
    delta = layers[0]
    # 1e-12 t is a difference of rounding: no change, drawn white like the exact 0
    assert delta.fills(frame["_net_delta_0"])[0:3:2] == ["#ffffff", "#ffffff"]
    assert delta.cells(frame["_net_delta_0"])[1].endswith("-2.00 万吨 C/年")
    assert "0（无变化）" in delta.legend(frame["_net_delta_0"])
    assert delta.unit == "万吨 C/年" and layers[2].unit == "吨 C/年"  # b: below 10^4 t
    assert rows[0][0] == f"{HOSTILE_SCENARIO}：风险等级"
    assert rows[0][1][1].index("严重超标") < rows[0][1][1].index("→") < rows[0][1][1].index(
        "阈值内")
    html = map_html(scenario_map(units, deltas, language="zh", tiles=None))
    # escaped in the layer control (Leaflet writes names as HTML) and the legend: in the
    # page's JSON the & of &lt; is written \u0026
    assert "<img src=x" not in html
    assert html.count("\\u0026lt;img src=x onerror=alert(7)\\u0026gt;方案") >= 4
    assert "情景" in html  # the layer-control group


def test_scenario_report_summary_transitions_and_escaping() -> None:
    from landcarbon.publish.scenario_map import scenario_report

    units = make_units()
    deltas = _deltas(units)
    trans = (deltas.groupby(["scenario", "risk_level_baseline", "risk_level_scenario"],
                            sort=False).size().rename("units").reset_index())
    totals = {"baseline": {"net_tc": 2_000_000.0, "risk_levels": {"severe": 1,
                                                                  "exceeding": 1}},
              "scenarios": {HOSTILE_SCENARIO: {"net_tc": 1_980_300.0,
                                               "net_tc_delta": -19_700.0,
                                               "risk_levels": {"severe": 1, "exceeding": 1}},
                            "b": {"net_tc": 2_000_000.0, "net_tc_delta": 0.0,
                                  "risk_levels": {"severe": 2}}},
              "edits": [{"scenario": HOSTILE_SCENARIO, "type": "reduce_construction",
                         "area_ha": 200.07}]}
    html = scenario_report(totals, deltas, trans, language="zh", title=XSS)
    summary = html[html.index('id="summary"'):html.index('id="scenario-totals"')]
    assert "200.00 万吨 C/年" in summary and "风险单元 2" in summary
    assert "净碳排放变化 -1.97 万吨 C/年 (-0.98 %) · 风险等级改变的单元 2" in summary
    assert "建设用地减量（转为生态用地） 200.1 公顷" in html
    # transition matrix rows = baseline, columns = scenario, only levels that occur
    matrix = html[html.index('id="risk-transitions"'):html.index('id="units-changed"')]
    assert "无数据" not in matrix and "<th>严重超标</th>" in matrix
    assert matrix.count('<td class="n moved">1</td>') == 2  # off the diagonal: changed
    moved = html[html.index('id="units-changed"'):html.index('id="largest"')]
    assert moved.count("<tr>") == 3 and "严重超标 → 阈值内" in moved
    assert "超过阈值 → 严重超标" in moved
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(7)&gt;方案" in html


def scenario_run(out: Path, language: str = "zh") -> Path:
    """The demo scenario run (two edits of the 2023 land cover) through the real CLI."""
    import json
    import subprocess
    import sys

    from test_zone_change_maps import demo_change_config

    config = demo_change_config(out / "s.toml", edits=True)
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace('language = "zh"', f'language = "{language}"'),
                      encoding="utf-8")
    subprocess.run([sys.executable, "-m", "landcarbon.cli", "scenario", str(out / "s.toml"), "-o",
                    str(out / "run")], check=True, capture_output=True, timeout=600)
    manifest = json.loads((out / "run" / "scenario.json").read_text(encoding="utf-8"))
    assert {"map.html", "report.html"} <= set(manifest["outputs_sha256"])
    return out / "run"


def test_scenario_command_writes_map_and_report(tmp_path: Path) -> None:
    run = scenario_run(tmp_path)
    deltas = pd.read_csv(run / "scenario_deltas.csv", encoding="utf-8-sig")
    moved = deltas[deltas["risk_level_baseline"] != deltas["risk_level_scenario"]]
    assert len(moved) >= 1  # the demo shows an effect: construction_reduction lowers one unit
    report = (run / "report.html").read_text(encoding="utf-8")
    for piece in ('id="summary"', 'id="risk-transitions"', "construction_reduction",
                  "wetland_restoration", "建设用地减量", 'href="./map.html"',
                  'href="./scenario_deltas.csv"', "万吨 C/年"):
        assert piece in report, piece
    for name in moved["unit_name"]:
        assert name in report[report.index('id="units-changed"'):]
    page = (run / "map.html").read_text(encoding="utf-8")
    assert "construction_reduction：净碳排放变化" in page
    assert "construction_reduction：风险等级变化" in page


def test_find_all_runs_kinds_years_and_damaged_manifests(tmp_path: Path) -> None:
    """Every kind of run folder one or two levels down; a zoning run (``zone RUN_DIR`` writes
    ``RUN_DIR/zoning`` with run.json and zoning.json) is told apart; damaged manifests come
    back with their error instead of stopping the listing."""
    import json
    import os

    from test_publish import make_run

    from landcarbon.io.publication import find_all_runs
    from landcarbon.pipeline.portal import data_years

    make_run(tmp_path / "a")
    zoning = make_run(tmp_path / "a" / "zoning")
    (zoning / "zoning.json").write_text("{}", encoding="utf-8")
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "change.json").write_text(json.dumps(
        {"config": {"change": {"dates": [{"year": 2023}, {"year": 2015}]}}}), encoding="utf-8")
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "stocks.json").write_text('{"kind": "sto', encoding="utf-8")
    for i, name in enumerate(("a", "a/zoning", "c", "s")):
        manifest = next(p for p in (tmp_path / name).iterdir() if p.name in (
            "run.json", "change.json", "stocks.json"))
        os.utime(manifest, (1_700_000_000 + i, 1_700_000_000 + i))
    runs = find_all_runs(tmp_path)
    assert [(r.folder.relative_to(tmp_path).as_posix(), r.kind) for r in runs] == [
        ("s", "stocks"), ("c", "change"), ("a/zoning", "zoning"), ("a", "assessment")]
    assert runs[0].manifest is None and "not valid JSON" in runs[0].error
    assert runs[1].manifest is not None and data_years(runs[1].manifest, "change") == (
        "2015、2023")
    scen = {"config": {"change": {"baseline_year": 2020, "dates": [{"year": 2023}]}}}
    assert data_years(scen, "scenario") == "2020"
    assert data_years({"totals": {"dates": [{"year": 2015}, {"year": 2030}]}}, "stocks") == (
        "2015、2030")
