"""Change, scenario and portal outputs as a planner sees them (issue 17, item 4): a workspace
with a real change run, scenario run, stocks study, assessment and a damaged run; the portal
lists them all; the change and scenario maps in real headless Chromium in Chinese and English
(layer names, popups with every alert, no XSS), the change report printed to A4 and shown on
a machine without CJK fonts. Screenshots go to test-artifacts/."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from _browser import ARTIFACTS, CHROMIUM, Browser
from test_change_scenario_maps import scenario_run
from test_publish import make_run
from test_publish_browser import NO_FONTS
from test_zone_change_maps import SAMPLE, demo_change_config

import landcarbon as lc
from landcarbon.publish._html import js_json
from landcarbon.publish.change_map import change_map
from landcarbon.publish.maps import map_html
from landcarbon.publish.scenario_map import scenario_map

LANDCARBON = [sys.executable, "-m", "landcarbon.cli"]




@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace: change run, scenario run, stocks study, assessment, damaged run."""
    from landcarbon.pipeline import run_change

    ws = tmp_path_factory.mktemp("ws")
    run_change(lc.load_config(demo_change_config(ws / "c.toml")), ws / "change")
    scenario_run(ws / "scen")
    subprocess.run([*LANDCARBON, "stocks", str(SAMPLE / "carbon_pools_esa_worldcover.csv"),
                    str(SAMPLE / "landcover_2015.tif"), str(SAMPLE / "landcover_2023.tif"),
                    "-y", "2015", "-y", "2023", "-o", str(ws / "stocks")], check=True,
                   capture_output=True, timeout=600)
    make_run(ws / "assess", title="2020 年评估")
    bad = shutil.copytree(ws / "scen" / "run", ws / "broken")
    text = (bad / "scenario.json").read_text(encoding="utf-8")
    (bad / "scenario.json").write_text(text[: len(text) // 2], encoding="utf-8")
    return ws


def test_portal_lists_every_kind_of_run_and_a_damaged_one(ws: Path) -> None:
    res = subprocess.run([*LANDCARBON, "portal", str(ws)], capture_output=True, text=True,
                         timeout=600)
    assert res.returncode == 0, res.stderr
    assert "skipped" in res.stderr and "broken" in res.stderr and "not valid JSON" in res.stderr
    index = (ws / "index.html").read_text(encoding="utf-8")
    rows = dict(re.findall(r'<tr(?: class="broken")?><td>(?:<a href="[^"]*">)?([^<]+)'
                           r'(?:</a>)?</td><td[^>]*>([^<]+)</td>', index))
    assert rows == {"change": "时序变化", "scen/run": "情景对比", "stocks": "碳储量",
                    "assess": "碳收支评估", "broken": "情景对比"}, rows
    # the data years, not the run time
    years = dict(re.findall(r'<td>(?:<a href="[^"]*">)?([^<]+)(?:</a>)?</td><td[^>]*>[^<]+'
                            r'</td><td>(?:[^<]|<br><small class="note">[^<]*</small>)*</td>'
                            r'<td>([^<]+)</td>', index))
    assert years["change"] == "2015、2023" and years["scen/run"] == "2023"
    assert years["stocks"] == "2015、2023"
    for href in ("./change/report.html", "./change/map.html", "./scen/run/report.html",
                 "./scen/run/map.html", "./stocks/stock_totals.csv", "./assess/report.html"):
        assert f'href="{href}"' in index, href
    broken = index[index.index('<tr class="broken">'):]
    assert "已损坏" in broken and "scenario.json 无法读取" in broken and "./broken/" not in index
    assert re.search(r'title="[^"]*not valid JSON', broken)  # the reason as tooltip
    assert "万吨 C/年" in index  # net emission of the change and scenario runs
    # what each scenario changes, under the run's title
    assert re.search(r'<small class="note">净碳排放变化：construction_reduction -\d+\.\d\d；'
                     r'wetland_restoration -\d+\.\d\d 万吨 C/年</small>', index)


def _english_maps(ws: Path) -> tuple[Path, Path]:
    """The change and scenario maps of the workspace's runs drawn again in English from
    their output files (the runs themselves are Chinese)."""
    run = ws / "change"
    series = gpd.read_file(run / "timeseries.gpkg", layer="timeseries")
    last = pd.read_csv(run / "units_2023.csv", encoding="utf-8-sig", dtype={"unit_id": str})
    series["unit_id"] = series["unit_id"].astype(str)
    units = series[["unit_id", "geometry", *[c for c in series.columns if c[-4:].isdigit()]]]
    units = gpd.GeoDataFrame(units.merge(last, on="unit_id"), geometry="geometry",
                             crs=series.crs)
    alerts = gpd.read_file(run / "alerts.gpkg", layer="alerts")
    alerts["unit_id"] = alerts["unit_id"].astype(str)
    change_en = run.parent / "change_map_en.html"
    change_en.write_text(map_html(change_map(units, alerts, language="en", offline=True,
                                             title="Change 2015-2023")), encoding="utf-8")
    srun = ws / "scen" / "run"
    base = gpd.read_file(srun / "scenario_units.gpkg", layer="baseline")
    base["unit_id"] = base["unit_id"].astype(str)
    deltas = pd.read_csv(srun / "scenario_deltas.csv", encoding="utf-8-sig",
                         dtype={"unit_id": str})
    scen_en = srun.parent / "scenario_map_en.html"
    scen_en.write_text(map_html(scenario_map(base, deltas, language="en", offline=True,
                                             title="Scenarios")), encoding="utf-8")
    return change_en, scen_en


def html_json(text: str) -> str:
    """``text`` as the page writes it inside its JSON data (quotes dropped)."""
    return js_json(text)[1:-1]


def _overlay_labels(b: Browser) -> list[str]:
    return b.eval("Array.from(document.querySelectorAll('.leaflet-control-layers-overlays "
                  "label')).map(e => e.textContent.trim())")


def _click_unit(b: Browser, unit_index: int) -> str:
    """A real click inside a unit (at a point inside its polygon, found through Leaflet) and
    the text of the popup it opens."""
    xy = b.eval(
        "(function () { var m = Object.values(window).find(v => v instanceof L.Map), p = null;"
        f" m.eachLayer(function (l) {{ if (!p && l.feature && l.feature.properties._i === "
        f"{unit_index} && l.getBounds && l.options.fill !== false) {{"
        " var c = l.getCenter(); var q = m.latLngToContainerPoint(c);"
        " var r = m.getContainer().getBoundingClientRect(); p = [r.left + q.x, r.top + q.y];"
        " } }); return p; })()")
    assert xy, unit_index
    b.click(*xy)
    b.pump(0.8)
    return b.eval("(document.querySelector('.leaflet-popup-content') || {}).innerText || ''")


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium")
def test_alert_markers_and_risk_outlines_open_their_units_popups(ws: Path,
                                                                 tmp_path: Path) -> None:
    """An alert marker (a real click) and an entering-risk outline open their unit's popup,
    which lists every alert of the unit and the reasons; the page carries each alert message
    once and the outlines no geometry of their own."""
    page = ws / "change" / "map.html"
    text = page.read_text(encoding="utf-8")
    alerts = pd.read_csv(ws / "change" / "alerts.csv", encoding="utf-8-sig",
                         dtype={"unit_id": str})
    for message in alerts["message_zh"].drop_duplicates():
        assert text.count(html_json(str(message))) <= (alerts["message_zh"] == message).sum()
    assert text.count('"type":"FeatureCollection"') == 2  # the units, the alert points
    b = Browser(tmp_path / "profile", 1280, 720)
    try:
        b.load(page.as_uri(), settle=2.0)
        xy = b.eval(
            "(function () { var m = Object.values(window).find(v => v instanceof L.Map), "
            "p = null; m.eachLayer(function (l) { if (!p && l instanceof L.CircleMarker) {"
            " var q = m.latLngToContainerPoint(l.getLatLng());"
            " var r = m.getContainer().getBoundingClientRect(); p = [r.left + q.x, r.top + q.y];"
            " } }); return p; })()")
        assert xy
        b.click(*xy)
        b.pump(0.8)
        pop = b.eval("(document.querySelector('.leaflet-popup-content') || {}).innerText || ''")
        assert "预警" in pop and "进入碳风险的单元" in pop
        hit = [uid for uid, g in alerts.groupby("unit_id")
               if all(str(t) in pop for t in g["message_zh"])]
        assert len(hit) == 1, pop[:300]  # one unit's alerts, all of them
        # an outline of a unit entering risk: its popup is the unit's, with the reasons
        pop = b.eval(
            "(function () { var m = Object.values(window).find(v => v instanceof L.Map), "
            "o = null; m.closePopup(); m.eachLayer(function (l) { if (!o && l.feature && "
            "l.options.fill === false && l.options.dashArray) { o = l; } });"
            " o.fire('click', {latlng: o.getBounds().getCenter()});"
            " return document.querySelector('.leaflet-popup-content').innerText; })()")
        units = pd.read_csv(ws / "change" / "units_2023.csv", encoding="utf-8-sig",
                            dtype={"unit_id": str})
        reasons = units["dynamic_risk_reason_zh"].dropna().astype(str)
        assert any(r.split("；")[0] in pop for r in reasons), pop[:300]
        assert "预警" in pop
        assert b.errors == [] and b.dialogs == []
    finally:
        b.close()


@pytest.mark.parametrize("language", ["zh", "en"])
@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium")
def test_change_map_layers_and_a_popup_with_every_alert(ws: Path, tmp_path: Path,
                                                        language: str) -> None:
    page = ws / "change" / "map.html" if language == "zh" else _english_maps(ws)[0]
    alerts = pd.read_csv(ws / "change" / "alerts.csv", encoding="utf-8-sig",
                         dtype={"unit_id": str})
    units = pd.read_csv(ws / "change" / "units_2023.csv", encoding="utf-8-sig",
                        dtype={"unit_id": str})
    b = Browser(tmp_path / "profile", 1280, 720)
    try:
        b.load(page.as_uri(), settle=2.0)
        assert b.errors == [] and b.dialogs == []
        want = (["单元边界", "风险等级 2015", "风险等级 2023", "净碳排放变化 2015–2023",
                 "进入碳风险的单元", "预警"] if language == "zh" else
                ["Unit boundaries", "Risk level 2015", "Risk level 2023",
                 "Change in net emission 2015–2023", "Units entering carbon risk", "Alerts"])
        assert _overlay_labels(b) == want
        # switch to the net-change layer: its legend has the 0 (no change) class
        b.eval("document.querySelectorAll('.leaflet-control-layers-overlays input')[3]"
               ".click(); 1")
        b.pump(0.5)
        legend = b.eval("document.querySelector('.lc-sec:not([hidden])').innerText")
        assert ("万吨 C/年" if language == "zh" else "t C/yr") in legend
        assert ("0（无变化）" if language == "zh" else "0 (no change)") in legend
        # the alert markers off (the marker's own popup lists the alerts too); the unit with
        # the most alerts: its popup (a real click inside it) lists them all, with conditions
        b.eval("document.querySelectorAll('.leaflet-control-layers-overlays input')[5]"
               ".click(); 1")
        b.pump(0.3)
        top = alerts.groupby("unit_id").size().sort_values(ascending=False, kind="stable")
        uid = str(top.index[0])
        i = int(units.index[units["unit_id"] == uid][0])  # the map's units are in this order
        pop = _click_unit(b, i)
        msg = "message_zh" if language == "zh" else "message_en"
        for text in alerts.loc[alerts["unit_id"] == uid, msg]:
            assert str(text) in pop, (text, pop[:400])
        for row in (("预警", "进入碳风险的单元", "碳排放强度变化（较基准年）", "脱钩状态（Tapio）")
                    if language == "zh" else ("Alerts", "Units entering carbon risk",
                                              "Carbon intensity vs base year",
                                              "Decoupling state (Tapio)")):
            assert row in pop, row
        # the popup scrolls inside the window instead of leaving it
        box = b.eval("(function(){var r=document.querySelector('.leaflet-popup-content-"
                     "wrapper').getBoundingClientRect();return [r.top, r.bottom];})()")
        assert box[1] - box[0] <= 0.7 * 720
        ARTIFACTS.mkdir(exist_ok=True)
        b.screenshot(ARTIFACTS / f"change_map_popup_{language}.png")
        assert b.errors == [] and b.dialogs == []
    finally:
        b.close()


@pytest.mark.parametrize("language", ["zh", "en"])
@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium")
def test_scenario_map_layers_and_risk_change_popup(ws: Path, tmp_path: Path,
                                                   language: str) -> None:
    run = ws / "scen" / "run"
    page = run / "map.html" if language == "zh" else _english_maps(ws)[1]
    deltas = pd.read_csv(run / "scenario_deltas.csv", encoding="utf-8-sig",
                         dtype={"unit_id": str})
    moved = deltas[deltas["risk_level_baseline"] != deltas["risk_level_scenario"]]
    assert len(moved) >= 1
    b = Browser(tmp_path / "profile", 1280, 720)
    try:
        b.load(page.as_uri(), settle=2.0)
        assert b.errors == [] and b.dialogs == []
        sep, change, risk = (("：", "净碳排放变化", "风险等级变化") if language == "zh" else
                             (": ", "Change in net emission", "Risk level change"))
        labels = _overlay_labels(b)
        assert labels[2:] == [f"{n}{sep}{k}" for n in ("construction_reduction",
                                                       "wetland_restoration")
                              for k in (change, risk)], labels
        groups = b.eval("Array.from(document.querySelectorAll('.lc-group'))"
                        ".map(e => e.textContent)")
        assert ("情景" if language == "zh" else "Scenarios") in groups
        # the unit whose risk level the scenario lowers: its popup says from what to what
        b.eval("document.querySelectorAll('.leaflet-control-layers-overlays input')[3]"
               ".click(); 1")
        b.pump(0.5)
        first = deltas[deltas["scenario"] == deltas["scenario"].iloc[0]].reset_index()
        i = int(first.index[first["unit_id"] == str(moved["unit_id"].iloc[0])][0])
        pop = _click_unit(b, i)
        assert f"construction_reduction{sep}" in pop and "→" in pop
        legend = b.eval("document.querySelector('.lc-sec:not([hidden])').innerText")
        assert ("风险等级下降" if language == "zh" else "Risk level lower") in legend
        ARTIFACTS.mkdir(exist_ok=True)
        b.screenshot(ARTIFACTS / f"scenario_map_popup_{language}.png")
        assert b.errors == [] and b.dialogs == []
    finally:
        b.close()


def _pdf_pages(page: Path, tmp_path: Path) -> int:
    pdf = tmp_path / f"{page.parent.name}.pdf"
    subprocess.run([str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu",
                    f"--user-data-dir={tmp_path / 'print'}", "--no-pdf-header-footer",
                    f"--print-to-pdf={pdf}", page.as_uri()],
                   check=True, capture_output=True, timeout=120)
    return len(re.findall(rb"/Type\s*/Page[^s]", pdf.read_bytes()))


def _cells_wrapping_per_character(b: Browser) -> list[str]:
    """Table cells of the printed layout (A4 text width ~ 720 px) whose text wraps every one
    or two characters (lines counted from the cell's line boxes, not its height: a row is as
    tall as its longest reason)."""
    b.call("Emulation.setDeviceMetricsOverride", session=True, width=720, height=1000,
           deviceScaleFactor=1, mobile=False)
    b.call("Emulation.setEmulatedMedia", session=True, media="print")
    b.pump(0.5)
    return b.eval("""Array.from(document.querySelectorAll('td, th')).filter(c => {
        var t = c.textContent.trim(); if (t.length < 3) { return false; }
        var r = document.createRange(); r.selectNodeContents(c);
        var tops = new Set(Array.from(r.getClientRects()).map(x => Math.round(x.top)));
        return tops.size >= 3 && t.length / tops.size < 3; })
        .map(c => c.textContent.trim())""")


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium")
def test_scenario_report_prints_on_a4(ws: Path, tmp_path: Path) -> None:
    report = ws / "scen" / "run" / "report.html"
    assert 1 <= _pdf_pages(report, tmp_path) <= 5
    b = Browser(tmp_path / "profile", 1400, 900)
    try:
        b.load(report.as_uri(), settle=1.0)
        assert b.errors == [] and b.dialogs == []
        assert b.eval("document.querySelector('section').id") == "summary"
        assert _cells_wrapping_per_character(b) == []
        ARTIFACTS.mkdir(exist_ok=True)
        b.screenshot(ARTIFACTS / "scenario_report_print.png")
    finally:
        b.close()


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium")
def test_change_report_prints_on_a4_and_renders_without_system_fonts(ws: Path,
                                                                      tmp_path: Path) -> None:
    report = ws / "change" / "report.html"
    pages = _pdf_pages(report, tmp_path)
    assert 3 <= pages <= 12, pages
    conf = tmp_path / "fonts.conf"
    conf.write_text(NO_FONTS.format(cache=tmp_path / "fc-cache"), encoding="utf-8")
    env = {"FONTCONFIG_FILE": str(conf), "FONTCONFIG_PATH": str(tmp_path)}
    b = Browser(tmp_path / "profile", 1400, 900, env=env)
    try:
        b.load(report.as_uri(), settle=1.5)
        assert b.errors == [] and b.dialogs == []
        state = b.eval("document.fonts.ready.then(() => Array.from(document.fonts).filter("
                       "f => f.family.includes('landcarbon')).map(f => f.status))")
        assert state and set(state) == {"loaded"}, state
        assert b.eval("document.querySelector('section').id") == "summary"
        width = b.eval("(function(){var s = document.createElement('span');"
                       "s.style.font = '20px \"Noto Sans SC landcarbon\"';"
                       "s.textContent = '净碳排放变化'; document.body.appendChild(s);"
                       "return s.getBoundingClientRect().width;})()")
        assert 115 <= width <= 125, width  # 6 full-width glyphs of 20 px
        ARTIFACTS.mkdir(exist_ok=True)
        b.screenshot(ARTIFACTS / "change_report_no_system_fonts.png")
        narrow = _cells_wrapping_per_character(b)  # printed layout
        assert narrow == [], narrow
        b.screenshot(ARTIFACTS / "change_report_print.png")
    finally:
        b.close()
    if Path("/usr/bin/fc-list").exists():
        listed = subprocess.run(["fc-list"], env={**os.environ, **env}, capture_output=True,
                                text=True, check=False).stdout
        assert "CJK" not in listed


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium")
def test_hostile_scenario_name_and_alert_text_stay_text_in_chromium(tmp_path: Path) -> None:
    """Leaflet's layer control writes layer names as HTML: a scenario named like markup must
    show as text and run nothing; the same for an alert message in a unit popup."""
    from test_change_scenario_maps import HOSTILE_SCENARIO, _deltas
    from test_maps import make_units
    from test_zone_change_maps import EVIL, _change_units

    units = make_units()
    page = tmp_path / "scenario.html"
    page.write_text(map_html(scenario_map(units, _deltas(units), language="zh",
                                          offline=True)), encoding="utf-8")
    cu, alerts = _change_units()
    change = tmp_path / "change.html"
    change.write_text(map_html(change_map(cu, alerts, language="en", offline=True)),
                      encoding="utf-8")
    b = Browser(tmp_path / "profile", 1280, 720)
    try:
        b.load(page.as_uri(), settle=1.5)
        assert b.errors == [] and b.dialogs == []
        labels = _overlay_labels(b)
        assert f"{HOSTILE_SCENARIO}：净碳排放变化" in labels
        assert b.eval("document.querySelectorAll('.leaflet-control-layers img').length") == 0
        pop = _click_unit(b, 1)
        assert HOSTILE_SCENARIO in pop and b.dialogs == []
        b.load(change.as_uri(), settle=1.5)
        b.eval("document.querySelectorAll('.leaflet-control-layers-overlays input')"
               "[document.querySelectorAll('.leaflet-control-layers-overlays input').length - 1]"
               ".click(); 1")  # alert markers off
        pop = _click_unit(b, 0)
        assert EVIL in pop and b.dialogs == [] and b.errors == []
        assert b.eval("document.querySelectorAll('.leaflet-popup-content script').length") == 0
    finally:
        b.close()
