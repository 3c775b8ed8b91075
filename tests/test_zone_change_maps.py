"""Zoning and change results on the web maps and in the reports (issues 4 and 5 in publish/)."""

from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from _browser import ARTIFACTS, CHROMIUM
from shapely.geometry import box
from test_maps import XSS, make_units

import landcarbon as lc
from landcarbon.exceptions import InputError
from landcarbon.publish import explore_units
from landcarbon.publish.change_map import alerts_overlay, change_map, entering_risk_overlay
from landcarbon.publish.change_report import change_report
from landcarbon.publish.maps import map_html
from landcarbon.publish.zone_layers import (
    category_key,
    hotspot_overlay,
    map_categories,
    sink_zone_overlay,
)
from landcarbon.publish.zoning_report import zoning_context

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample_tiles"
EVIL = "<script>alert(9)</script>"


def zoned_units() -> gpd.GeoDataFrame:
    units = make_units()
    units["carbon_zone"] = ["low_carbon_maintenance", "high_carbon_optimisation",
                            "carbon_sink_function", EVIL]  # an unknown (hostile) value
    units["compensation_role"] = ["receiver", "payer", "receiver", "balanced"]
    units["carbon_risk_zone"] = [False, True, False, True]
    units["gi_class"] = ["not_significant", "hot_95", "cold_90", "not_significant"]
    units["net_tc_per_ha_class"] = [2, 5, 1, 3]
    return units


def _js(text: str) -> str:
    """How an escaped string appears inside the map's JSON (``&`` as ``\\u0026``)."""
    return text.replace("&", "\\u0026")


# --- zoning on the unit map ----------------------------------------------------------------

def test_zone_columns_become_switchable_layers_with_legend_and_popup_rows() -> None:
    m = explore_units(zoned_units(), language="en", tiles=None)
    html = map_html(m)
    names = [c.layer_name for c in m._children.values() if hasattr(c, "layer_name")]
    assert names[-5:] == ["ECC/ESC zone", "Emission hot spots (Gi*)", "Carbon-risk zone",
                          "Horizontal compensation", "Net emission per ha (graded)"]
    # fills from zones.csv colours; the unknown value gets the no-data grey
    assert '["#1b9e77", "#b2182b", "#2166ac", "#d9d9d9"]' in html
    assert '["#4393c3", "#d6604d", "#4393c3", "#f7f7f7"]' in html  # compensation role
    assert '["#f0f0f0", "#b2182b", "#f0f0f0", "#b2182b"]' in html  # bool risk zone
    # graded classes 2 5 1 3 on the emission ramp (warm, never green), labelled with values
    assert '["#feb24c", "#4d0000", "#ffeda0", "#f03b20"]' in html
    for text in ("Low-carbon maintenance zone", "High-carbon optimisation zone", "Payer",
                 "Cold spot (90 %)", "class 5"):
        assert text in html
    # the popup rows: one label per zone layer, one cell per unit and layer
    assert '"extra": ["ECC/ESC zone", "Emission hot spots (Gi*)"' in html
    assert _js("\\u003ci style='background:#1b9e77'\\u003e\\u003c/i\\u003eLow-carbon "
               "maintenance zone") in html
    # hostile name and zone value only as text
    assert EVIL not in html and "<img src=x" not in html
    assert _js("&lt;script&gt;alert(9)&lt;/script&gt;") in html


def test_zone_layers_in_chinese_and_switched_off() -> None:
    html = map_html(explore_units(zoned_units(), tiles=None))
    assert "碳收支分区" in html and "低碳维持区" in html and "受偿区" in html
    plain = map_html(explore_units(zoned_units(), tiles=None, zones=False))
    assert "碳收支分区" not in plain and '"extra"' not in plain


def test_text_class_columns_are_not_graded_layers() -> None:
    units = make_units()
    units["soil_class"] = ["a", "b", "c", "d"]  # an attribute of the user's units file
    units["x_class"] = [None] * 4
    units["y_class"] = [float("nan")] * 4  # numeric but empty (zoning.graded_class_columns)
    m = explore_units(units, tiles=None, language="en")
    assert not [c for c in m._children.values() if "(graded)" in getattr(c, "layer_name", "")]


def test_category_keys() -> None:
    assert [category_key(v) for v in (True, False, 3, 3.0, 2.5, None, float("nan"), "x")] == [
        "True", "False", "3", "3", "2.5", "", "", "x"]


def test_sink_zone_and_hotspot_overlays() -> None:
    zones = gpd.GeoDataFrame(
        {"zone_id": ["Z1", "C1"], "kind": ["zone", "corridor"], "role": ["core", "belt"],
         "area_ha": [120.0, 30.0], "sink_tc": [600.0, 45.0], "sink_tc_per_ha": [5.0, 1.5]},
        geometry=[box(500_000, 3_800_000, 501_000, 3_801_200),
                  box(502_000, 3_800_000, 502_300, 3_801_000)], crs="EPSG:32649")
    ov = sink_zone_overlay(zones, "en")
    cats = map_categories("sink_zone", "en")
    assert ov.fills == [cats["core"][1], cats["belt"][1]]
    assert ov.rows == ["Category", "Area (ha)", "Sink", "Sink density"]
    assert ov.popups == ["Zone Z1", "Zone C1"]
    assert ov.cells[0][1:] == ["120.0", "600.0 t C/yr", "5 t C/ha/yr"]
    grid = gpd.GeoDataFrame({"cell_id": ["r0c0", "r0c1"], "gi_class": ["hot_99", XSS],
                             "gi_z": [3.1, 0.2], "gi_p": [0.001, 0.8],
                             "net_tc_per_ha": [12.0, 1.0]},
                            geometry=[box(500_000, 3_800_000, 501_000, 3_801_000),
                                      box(501_000, 3_800_000, 502_000, 3_801_000)],
                            crs="EPSG:32649")
    hot = hotspot_overlay(grid, "zh")
    assert hot.fills == ["#d62f27", "#d9d9d9"]
    assert "热点（99%）" in hot.legend and "<img" not in hot.cells[1][0]
    assert hot.cells[0][1:] == ["3.1", "0.001", "12.0"] and hot.popups == ["r0c0", "r0c1"]
    m = explore_units(make_units(), tiles=None, overlays=[ov, hot], language="en")
    html = map_html(m)
    assert "Carbon-sink function zones" in html and "Sink core" in html
    assert "<img src=x" not in html


# --- zoning in the report ------------------------------------------------------------------

def test_zoning_report_section() -> None:
    units = pd.DataFrame(zoned_units().drop(columns="geometry"))
    flows = pd.DataFrame({"payer_id": ["410102", "410104"], "payer_name": [EVIL, "二七区"],
                          "receiver_id": ["410101", "410103"],
                          "receiver_name": ["a", "金水区"], "carbon_tc": [10.0, 250.0],
                          "value": [2200.0, 55000.0]})
    unc = pd.DataFrame({"unit_id": ["410101", "410102"], "unit_name": ["a", "b"],
                        "risk_level": ["within", "severe"], "net_tc_p5": [1.0, 5.0],
                        "net_tc_p95": [2.0, 7.0], "p_exceed": [0.5, 1.0],
                        "net_tc": [1.4, 6.0], "net_tc_p50": [1.5, 6.1]})
    summary = {"compensation": {"payers": 1, "receivers": 2, "owed_tc": 260.0,
                                "paid": 57200.0, "received": 57200.0, "currency": "CNY"}}
    z = zoning_context(units, language="en", summary=summary, flows=flows, uncertainty=unc,
                       sweep_png="sweep.png")
    assert z is not None
    counts = dict(z["counts"])
    assert [r[1:] for r in counts["Horizontal compensation"]] == [
        ("Payer", "1", "25.0%"), ("Balanced", "1", "25.0%"), ("Receiver", "2", "50.0%")]
    assert [r[2] for r in counts["ECC/ESC zone"]] == ["1", "1", "1"]  # EVIL is not a zone
    assert dict(z["compensation"])["Paid"] == "57,200 CNY"
    assert z["flows"][0] == ["二七区 (410104)", "金水区 (410103)", "250.0", "55,000"]
    assert [r[3] for r in z["uncertainty"]] == ["50.0%", "100.0%"]  # least certain first
    # deterministic, median, 5-95 % interval (one format for the three columns)
    assert z["uncertainty"][0][4:] == ["1.4", "1.5", "1.0 – 2.0"]
    # in Chinese: money in 万元, carbon in 吨 below 10^4 t
    zh = zoning_context(units, language="zh", summary=summary, flows=flows, uncertainty=unc)
    assert zh is not None and dict(zh["compensation"])["支付额"] == "5.72 万元"
    assert zh["flows_header"][2:] == ["需补偿碳量 (吨 C)", "金额 (万元)"]
    from landcarbon.publish.report import atlas_report

    html = atlas_report(units, {"config": {"title": "t"}}, language="en", zoning=z)
    assert 'id="zoning"' in html and 'src="./sweep.png"' in html
    assert EVIL not in html and "&lt;script&gt;alert(9)&lt;/script&gt;" in html
    assert zoning_context(pd.DataFrame(make_units().drop(columns="geometry"))) is None


@pytest.mark.browser
def test_real_zoning_run_publishes_zone_layers(tmp_path: Path) -> None:
    text = (SAMPLE / "demo_zoning.toml").read_text(encoding="utf-8")
    text = re.sub(r'(path|energy_table) = "([^"]+)"',
                  lambda mt: f'{mt[1]} = "{(SAMPLE / mt[2]).as_posix()}"', text)
    text = text.replace("draws = 1000", "draws = 50\nsweep_steps = 5").replace(
        "cell_size_m = 1000", "cell_size_m = 1000\npermutations = 99")
    text += '\n[output]\nrasters = false\nmap_tiles = "plain"\n'
    (tmp_path / "z.toml").write_text(text, encoding="utf-8")
    lc.run(lc.load_config(tmp_path / "z.toml"), tmp_path / "out")
    out = tmp_path / "out"
    html = (out / "map.html").read_text(encoding="utf-8")
    for name in ("碳收支分区", "碳排放冷热点", "碳风险区", "横向碳补偿", "碳汇功能区",
                 "格网冷热点（Gi*）", "碳汇核心", "低碳维持区"):
        assert name in html, name
    assert not re.search(r"_[0-9a-f]{32}\b", html)  # sequential element ids
    report = (out / "report.html").read_text(encoding="utf-8")
    for piece in ('id="zoning"', 'id="compensation"', 'id="uncertainty"', 'src="./sweep.png"',
                  "支付单元", "最大补偿流"):
        assert piece in report, piece
    if not CHROMIUM.exists():
        return
    from _browser import Browser

    b = Browser(tmp_path / "profile")
    try:  # the grid layer renders and its popups are assembled without errors
        b.load((out / "map.html").as_uri(), settle=1.5)
        labels = b.eval("Array.from(document.querySelectorAll('.leaflet-control-layers-"
                        "overlays label')).map(e => e.textContent.trim())")
        b.eval("document.querySelectorAll('.leaflet-control-layers-overlays input')"
               f"[{labels.index('格网冷热点（Gi*）')}].click(); 1")
        b.pump(0.5)
        shown = b.eval("Array.from(document.querySelectorAll('.lc-sec:not([hidden]) .lc-h'))"
                       ".map(e => e.textContent)")
        assert shown == ["格网冷热点（Gi*）"]
        b.eval("(function () { var m = Object.values(window).find(v => v instanceof L.Map);"
               " var done = 0; m.eachLayer(function (l) { if (!done && l.feature && "
               "l.options.weight === 0.6) { l.openPopup(); done = 1; } }); return done; })()")
        b.pump(0.5)
        pop = b.eval("document.querySelector('.leaflet-popup-content').innerText")
        assert "Gi* z" in pop and "r0c0" in pop
        ARTIFACTS.mkdir(exist_ok=True)
        b.screenshot(ARTIFACTS / "zoning_map_grid.png")
        assert b.errors == [] and b.dialogs == []
    finally:
        b.close()


# --- change over time ----------------------------------------------------------------------

def _change_units() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    units = make_units()
    units["risk_level_2015"] = ["within", "within", "net_sink", "approaching"]
    units["risk_level_2023"] = units["risk_level"]
    alerts = pd.DataFrame({
        "unit_id": ["410101", "410101", "410104"], "unit_name": [XSS, XSS, "二七区"],
        "year_from": [2015] * 3, "year_to": [2023] * 3,
        "alert": ["agricultural_to_construction", "threshold_crossed", "sink_loss"],
        "message_en": [EVIL, "crossed", "lost"], "message_zh": [EVIL, "越过", "损失"]})
    geom = units.set_index("unit_id").geometry.reindex(alerts["unit_id"]).to_numpy()
    return units, gpd.GeoDataFrame(alerts, geometry=geom, crs=units.crs)


def test_alerts_overlay_one_marker_per_unit_first_type_colour() -> None:
    _, alerts = _change_units()
    ov = alerts_overlay(alerts, "en")
    cats = map_categories("alert", "en")
    assert len(ov.frame) == 2 and set(ov.frame.geom_type) == {"Point"}
    assert ov.fills == [cats["threshold_crossed"][1], cats["sink_loss"][1]]
    assert ov.popups[0].count("<tr>") == 3  # header + two alerts
    assert EVIL not in ov.popups[0] and "&lt;script&gt;alert(9)" in ov.popups[0]
    assert "&lt;img src=x onerror=alert(1)&gt;" in ov.tooltips[0]
    assert ov.tooltips[0].endswith(" +1") and not ov.exclusive and ov.show


def test_change_map_layers_per_date() -> None:
    units, alerts = _change_units()
    m = change_map(units, alerts, language="en", tiles=None)
    names = [c.layer_name for c in m._children.values() if hasattr(c, "layer_name")]
    assert names[-3:] == ["Risk level 2015", "Risk level 2023", "Alerts"]
    html = map_html(m)
    assert '"extra": ["Risk level 2015", "Risk level 2023", "Alerts"]' in html
    assert EVIL not in html and "<img src=x" not in html
    with pytest.raises(InputError, match="risk_level_<year>"):
        change_map(make_units(), alerts)


def test_change_report_tables() -> None:
    transfer = pd.DataFrame({
        "year_from": 2015, "year_to": 2023, "by": "space_type",
        "from": ["agricultural", "agricultural", "construction", "ecological"],
        "to": ["agricultural", "construction", "construction", "agricultural"],
        "area_ha": [900.0, 100.0, 500.0, 25.5]})
    totals = {"by_year": {"2015": {"covered_ha": 1525.5, "emission_tc": 10.0,
                                   "sequestration_tc": 4.0, "net_tc": 6.0,
                                   "risk_levels": {"severe": 1, "within": 2}}},
              "stocks": [{"year_from": 2015, "year_to": 2023, "stock_from_tc": 1000.0,
                          "stock_to_tc": 900.0, "stock_change_tc": -100.0, "npv": -2500.0}]}
    _, alerts = _change_units()
    html = change_report(totals, transfer, pd.DataFrame(alerts.drop(columns="geometry")),
                         language="en", title=XSS)
    # rows from, columns to: agricultural, construction, ecological, sum
    assert ("<tr><th>Agricultural space</th><td class=\"n\">900.0</td><td class=\"n\">100.0"
            "</td><td class=\"n\">0.0</td><td class=\"n\">1,000.0</td></tr>") in html
    assert ("<tr><th>Σ</th><td class=\"n\">925.5</td><td class=\"n\">600.0</td><td "
            "class=\"n\">0.0</td><td class=\"n\">1,525.5</td></tr>") in html
    assert "Within threshold 2 · Severe 1" in html  # vocabulary order
    assert "<td class=\"n\">-100.0</td>" in html and "<td class=\"n\">-2,500</td>" in html
    assert EVIL not in html and "<img src=x" not in html
    assert html.count("&lt;script&gt;alert(9)&lt;/script&gt;") == 1  # the alert message


def demo_change_config(path: Path, *, edits: bool = False) -> Path:
    """``data/sample_tiles/demo_change.toml`` written to ``path`` with absolute input paths,
    an offline map and no Markov projection (``edits``: keep the scenario edits)."""
    text = (SAMPLE / "demo_change.toml").read_text(encoding="utf-8")
    text = re.sub(r'(path|landcover|energy_table|statistics|pools) = "([^"]+)"',
                  lambda mt: f'{mt[1]} = "{(SAMPLE / mt[2]).as_posix()}"', text)
    kept = text[text.index("[[change.edits]]"):] if edits else ""
    text = text.split("[change.markov]")[0] + kept + "\n[output]\nmap_offline = true\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def change_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo change run (2015 -> 2023, sample tiles), with an offline map."""
    from landcarbon.pipeline import run_change

    d = tmp_path_factory.mktemp("change")
    _, out, files = run_change(lc.load_config(demo_change_config(d / "c.toml")), d / "out")
    assert files["map"] == "map.html" and files["report"] == "report.html"
    return out


def test_real_change_run_report(change_run: Path) -> None:
    report = (change_run / "report.html").read_text(encoding="utf-8")
    for piece in ('id="transfer"', 'id="stocks"', 'id="alerts"', "转移矩阵", "耕地",
                  "碳储量变化", 'href="./map.html"', 'href="./alerts.csv"'):
        assert piece in report, piece
    alerts = pd.read_csv(change_run / "alerts.csv", encoding="utf-8-sig")
    assert report.count("<tr><td>") >= len(alerts)


def test_demo_change_run_shows_units_entering_risk(change_run: Path) -> None:
    """Issue 14: every unit with land at both dates has R2 / R3 evaluated; units enter risk
    between 2015 and 2023 and the report says why."""
    u = pd.read_csv(change_run / "units_2023.csv", encoding="utf-8-sig")
    assert len(u) == 65 and u["flag_r2"].notna().all() and u["flag_r3"].notna().all()
    entering = u[u["dynamic_risk"].astype(bool)]
    assert 0 < len(entering) < 65 and entering["dynamic_risk_reason_zh"].str.len().gt(0).all()
    assert set(u["tapio_state"]) - {"undetermined"}          # GDP of both dates is given
    report = (change_run / "report.html").read_text(encoding="utf-8")
    section = report[report.index('id="entering-risk"'):report.index('id="alerts"')]
    assert f"2015-2023: {len(entering)} / 65" in section
    assert entering["dynamic_risk_reason_zh"].iloc[0] in section


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium")
def test_change_map_in_chromium(change_run: Path, tmp_path: Path) -> None:
    from _browser import Browser

    alerts = pd.read_csv(change_run / "alerts.csv", encoding="utf-8-sig")
    b = Browser(tmp_path / "profile")
    try:
        b.load((change_run / "map.html").as_uri(), settle=2.0)
        assert b.errors == [] and b.dialogs == []
        labels = b.eval("Array.from(document.querySelectorAll("
                        "'.leaflet-control-layers-overlays label')).map(e => e.textContent.trim())")
        assert labels == ["单元边界", "风险等级 2015", "风险等级 2023", "净碳排放变化 2015–2023",
                          "进入碳风险的单元", "预警"]
        # one polygon per unit entering risk, one marker per unit with alerts
        entering = int(pd.read_csv(change_run / "units_2023.csv", encoding="utf-8-sig")[
            "dynamic_risk"].astype(bool).sum())
        assert b.eval("document.querySelectorAll('path.leaflet-interactive').length") == (
            2 * 65 + entering + alerts["unit_id"].nunique())
        legend = b.eval("Array.from(document.querySelectorAll('.lc-sec:not([hidden]) "
                        ".lc-h')).map(e => e.textContent)")
        assert legend == ["风险等级 2023", f"进入碳风险的单元 ({entering})",
                          f"预警 ({len(alerts)})"]
        ARTIFACTS.mkdir(exist_ok=True)
        b.screenshot(ARTIFACTS / "change_map_2023.png")
        # switch to 2015: the 2023 layer goes off, the alerts stay
        b.eval("document.querySelectorAll('.leaflet-control-layers-overlays input')[1]"
               ".click(); 1")
        b.pump(0.5)
        checked = b.eval("Array.from(document.querySelectorAll('.leaflet-control-layers-"
                         "overlays input')).map(c => c.checked)")
        assert checked == [True, True, False, False, True, True]
        # the markers stay above the colouring switched on last
        assert b.eval("document.querySelectorAll('.leaflet-marker-pane path').length") == (
            alerts["unit_id"].nunique())
        legend = b.eval("Array.from(document.querySelectorAll('.lc-sec:not([hidden]) "
                        ".lc-h')).map(e => e.textContent)")
        assert legend == ["风险等级 2015", f"进入碳风险的单元 ({entering})",
                          f"预警 ({len(alerts)})"]
        # an alert marker's popup lists the unit's alerts
        n = b.eval("(function () { var m = Object.values(window).find(v => v instanceof L.Map);"
                   " var done = 0; m.eachLayer(function (l) { if (!done && l instanceof "
                   "L.CircleMarker) { l.openPopup(); done = 1; } }); return done; })()")
        assert n == 1
        b.pump(0.5)
        pop = b.eval("document.querySelector('.leaflet-popup-content').innerText")
        first = alerts.sort_values("unit_id").iloc[0]
        assert str(first["unit_id"]) in pop and str(first["message_zh"]) in pop
        b.screenshot(ARTIFACTS / "change_map_2015_popup.png")
        assert b.errors == [] and b.dialogs == []
    finally:
        b.close()


def test_alerts_overlay_orders_each_units_alerts_in_one_sort() -> None:
    """Units by id, each unit's alerts in map_categories order (unknown kinds last, ties in
    table order); rows without a unit id are left out, as a groupby would."""
    units, _ = _change_units()
    geom = units.set_index("unit_id").geometry
    rows = [("410104", "zz_unknown", "u1"), ("410101", "sink_loss", "s1"),
            ("410104", "sink_loss", "s2"), ("410101", "threshold_crossed", "t1"),
            ("410104", "sink_loss", "s3"), (None, "sink_loss", "orphan")]
    alerts = gpd.GeoDataFrame(
        {"unit_id": [r[0] for r in rows], "unit_name": "镇", "year_from": 2015,
         "year_to": 2023, "alert": [r[1] for r in rows], "message_en": [r[2] for r in rows]},
        geometry=[geom.get(r[0], geom.iloc[0]) for r in rows], crs=units.crs)
    ov = alerts_overlay(alerts, "en")
    cats = map_categories("alert", "en")
    assert len(ov.frame) == 2  # 410101, 410104; the orphan row is not drawn
    assert ov.fills == [cats["threshold_crossed"][1], cats["sink_loss"][1]]
    assert re.findall(r"<td>(\w\d)</td>", ov.popups[1]) == ["s2", "s3", "u1"]
    assert [m for m in ("t1", "s1") if f"<td>{m}</td>" in ov.popups[0]] == ["t1", "s1"]
    assert ov.popups[0].index("<td>t1</td>") < ov.popups[0].index("<td>s1</td>")
    assert ov.tooltips == [f"<b>镇</b><br>{cats['threshold_crossed'][0]} +1",
                           f"<b>镇</b><br>{cats['sink_loss'][0]} +2"]
    assert "orphan" not in "".join(ov.popups)


def test_overlays_on_the_map_open_their_units_popups() -> None:
    """With the units' rows, alert markers and entering-risk outlines carry no popup text of
    their own (the unit's popup says it) and the outlines no geometry: the map's rows of
    their units, in marker order; a unit not on the map gets no marker."""
    units, _ = _change_units()
    geom = units.set_index("unit_id").geometry
    rows = [("410104", "sink_loss", "s2"), ("410101", "threshold_crossed", "t1"),
            ("999999", "sink_loss", "gone")]
    alerts = gpd.GeoDataFrame(
        {"unit_id": [r[0] for r in rows], "unit_name": "镇", "year_from": 2015,
         "year_to": 2023, "alert": [r[1] for r in rows], "message_en": [r[2] for r in rows]},
        geometry=[geom.get(r[0], geom.iloc[0]) for r in rows], crs=units.crs)
    at = {uid: i for i, uid in enumerate(units["unit_id"].astype(str))}
    ov = alerts_overlay(alerts, "en", at)
    assert ov.popups == [] and ov.unit_rows == [at["410101"], at["410104"]]
    assert len(ov.frame) == len(ov.fills) == len(ov.tooltips) == 2
    flagged = units.assign(dynamic_risk=[i % 2 == 1 for i in range(len(units))],
                           dynamic_risk_flags="R3")
    outline = entering_risk_overlay(flagged, "en", on_units=True)
    assert outline is not None and outline.on_units and outline.popups == []
    assert outline.unit_rows == list(range(1, len(units), 2))
    assert len(outline.tooltips) == len(outline.unit_rows)
    page = map_html(change_map(flagged.assign(risk_level_2015="within",
                                              risk_level_2023="within"), alerts,
                               language="en", offline=True))
    assert page.count('"type":"FeatureCollection"') == 2  # the units, the alert points
    assert "gone" not in page and page.count("<td>s2") + page.count("s2\\u003c") <= 1


def test_template_like_names_reach_the_map_as_text() -> None:
    """Unit names and alert messages that look like Jinja are shown, never evaluated (and
    never break the page)."""
    units, alerts = _change_units()
    units["unit_name"] = ["{{ 7*7 }}镇", "{% if x %}", "{#c", "二七区"]
    alerts["message_en"] = "{{ 6*7 }}"
    html = map_html(change_map(units, alerts, language="en", tiles=None))
    assert "{{ 7*7 }}镇" in html and "{% if x %}" in html and "{{ 6*7 }}" in html
    assert "49镇" not in html and ">42<" not in html
