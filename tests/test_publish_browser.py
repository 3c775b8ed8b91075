"""What a planner sees (issue 17), in real headless Chromium on the published demo: unit
labels when zoomed in, popups over raster layers with the pixel value, the title in
fullscreen and clear of popups, Chinese controls and scale bar, a layer control and legend
that fit 1280x720, the A4 print layout of the report, and pages that render Chinese with no
system CJK font at all. Screenshots go to test-artifacts/ (ignored by git)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from _browser import ARTIFACTS, CHROMIUM, Browser

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium")]
LANDCARBON = [sys.executable, "-m", "landcarbon.cli"]
NO_FONTS = """<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig><cachedir>{cache}</cachedir></fontconfig>
"""


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo") / "landcarbon-demo"
    subprocess.run([*LANDCARBON, "demo", str(out)], check=True, capture_output=True,
                   timeout=900)
    subprocess.run([*LANDCARBON, "map", str(out), "--offline", "--overwrite"], check=True,
                   capture_output=True, timeout=900)
    return out


def _open(tmp_path: Path, page: Path, width: int, height: int,
          env: dict[str, str] | None = None) -> Browser:
    b = Browser(tmp_path / f"profile_{width}", width, height, env=env)
    b.load(page.as_uri(), settle=2.0)
    assert b.errors == [] and b.dialogs == []
    return b


def _rect(b: Browser, selector: str) -> dict[str, float]:
    return b.eval(f"(function(){{var r=document.querySelector({selector!r})"
                  ".getBoundingClientRect();return {left:r.left,right:r.right,top:r.top,"
                  "bottom:r.bottom};})()")


def _overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    return (a["left"] < b["right"] and b["left"] < a["right"] and a["top"] < b["bottom"]
            and b["top"] < a["bottom"])


@pytest.mark.parametrize(("width", "height"), [(1400, 900), (1280, 720)])
def test_map_controls_labels_and_layout(demo: Path, tmp_path: Path, width: int,
                                        height: int) -> None:
    b = _open(tmp_path, demo / "map.html", width, height)
    try:
        assert b.eval("document.documentElement.lang") == "zh-CN"
        assert b.eval("document.title") == "示例区（合成数据）2023 年国土空间碳收支"
        titles = b.eval("['.leaflet-control-zoom-in','.leaflet-control-zoom-out',"
                        "'.leaflet-control-zoom-fullscreen','.leaflet-control-layers-toggle']"
                        ".map(s => document.querySelector(s).title)")
        assert titles == ["放大", "缩小", "全屏", "图层"]
        scale = b.eval("Array.from(document.querySelectorAll('.leaflet-control-scale-line'))"
                       ".map(e => e.textContent)")
        assert len(scale) == 1 and re.fullmatch(r"\d+ (km|m)", scale[0]), scale
        text = b.eval("document.body.innerText")
        assert not re.search(r"Zoom|Full Screen|Layers|\bmi\b|\bft\b", text)
        # grouped layer control and legend fit the screen without covering each other
        groups = b.eval("Array.from(document.querySelectorAll('.lc-group'))"
                        ".map(e => e.textContent)")
        assert groups[:3] == ["底图", "单元图层", "栅格"]
        control = _rect(b, ".leaflet-control-layers")
        legend = _rect(b, ".lc-legend")
        title = _rect(b, ".lc-title")
        for r in (control, legend, title):
            assert r["top"] >= 0 and r["bottom"] <= height and r["right"] <= width
        assert not _overlap(control, legend) and not _overlap(title, control)
        legend_text = b.eval("document.querySelector('.lc-legend').innerText")
        assert legend_text.index("净碳汇") < legend_text.index("严重超标") < legend_text.index(
            "无数据")
        b.screenshot(ARTIFACTS / f"demo_map_{width}.png")
        # names: none at the opening zoom, shown and never overlapping one zoom level in
        assert b.eval("document.querySelectorAll('.lc-label').length") == 0
        b.eval("(function(){var m=Object.values(window).find(v => v instanceof L.Map);"
               "m.setZoom(m.getZoom() + 1); return 1;})()")
        b.pump(1.5)
        boxes = b.eval("Array.from(document.querySelectorAll('.lc-label')).filter("
                       "e => e.style.visibility !== 'hidden').map(e => {var r = "
                       "e.getBoundingClientRect(); return {left: r.left, right: r.right, "
                       "top: r.top, bottom: r.bottom, t: e.textContent};})")
        assert len(boxes) >= 10
        assert not any(_overlap(p, q) for i, p in enumerate(boxes) for q in boxes[i + 1:])
        b.screenshot(ARTIFACTS / f"demo_map_{width}_labels.png")
    finally:
        b.close()


def test_popup_over_raster_with_pixel_value_and_clear_of_the_title(demo: Path,
                                                                   tmp_path: Path) -> None:
    b = _open(tmp_path, demo / "map.html", 1280, 720)
    try:
        # a real click in the layer control switches the land-class raster on
        box = b.eval("(function(){var l = Array.from(document.querySelectorAll("
                     "'.leaflet-control-layers-overlays label')).find(e => e.textContent"
                     ".trim() === '地类（栅格）'); var r = l.querySelector('input')"
                     ".getBoundingClientRect(); return [r.left + r.width / 2, "
                     "r.top + r.height / 2];})()")
        b.click(*box)
        b.pump(1.0)
        assert b.eval("document.querySelectorAll('img.leaflet-image-layer').length") == 1
        assert b.eval("document.querySelectorAll('.lc-group').length") >= 3  # still grouped
        b.click(640, 420)  # a real click on the map, over the raster
        b.pump(1.0)
        pop = b.eval("document.querySelector('.leaflet-popup-content').innerText")
        pixel = re.search(r"该处像元值: (\S+)", pop)
        assert pixel and pixel.group(1) in {"耕地", "林地", "草地", "水域", "湿地", "建设用地",
                                            "未利用地", "灌木林地", "园地", "农村居民点"}
        assert "编号" in pop and "与阈值比较" in pop and "排放来源" in pop
        assert re.search(r"(高于|低于)阈值 \d+\.\d\d 吨 C/公顷/年", pop)
        popup = _rect(b, ".leaflet-popup-content-wrapper")
        assert not _overlap(popup, _rect(b, ".lc-title"))
        assert not _overlap(popup, _rect(b, ".lc-legend"))
        b.screenshot(ARTIFACTS / "demo_map_raster_popup.png")
        # fullscreen: the title stays visible, inside the fullscreen element
        fs = b.eval("(function(){var r = document.querySelector("
                    "'.leaflet-control-zoom-fullscreen').getBoundingClientRect();"
                    "return [r.left + r.width / 2, r.top + r.height / 2];})()")
        b.click(*fs)
        b.pump(1.0)
        assert b.eval("document.fullscreenElement !== null && "
                      "document.fullscreenElement.contains(document.querySelector('.lc-title'))")
        assert b.eval("getComputedStyle(document.querySelector('.lc-title')).display") != "none"
        assert b.eval("document.querySelector('.leaflet-control-zoom-fullscreen').title") \
            == "退出全屏"
        b.screenshot(ARTIFACTS / "demo_map_fullscreen.png")
    finally:
        b.close()


def test_report_prints_on_clean_a4_pages(demo: Path, tmp_path: Path) -> None:
    pdf = tmp_path / "report.pdf"
    subprocess.run([str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu",
                    f"--user-data-dir={tmp_path / 'print'}", "--no-pdf-header-footer",
                    f"--print-to-pdf={pdf}", (demo / "report.html").as_uri()],
                   check=True, capture_output=True, timeout=120)
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf.read_bytes()))
    assert 2 <= pages <= 6, pages
    # the same layout as printed (A4 text width ~ 720 px): no cell wraps per character, no
    # heading is the last thing on a page
    b = Browser(tmp_path / "profile_print", 720, 1000)
    try:
        b.load((demo / "report.html").as_uri(), settle=1.0)
        b.call("Emulation.setEmulatedMedia", session=True, media="print")
        b.pump(0.5)
        narrow = b.eval("""Array.from(document.querySelectorAll('td, th')).filter(c => {
            var t = c.textContent.trim(); if (t.length < 3) { return false; }
            var lh = parseFloat(getComputedStyle(c).lineHeight) ||
                     1.3 * parseFloat(getComputedStyle(c).fontSize);
            return c.clientHeight > 3.2 * lh; }).map(c => c.textContent.trim())""")
        assert narrow == []
        after = b.eval("getComputedStyle(document.querySelector('h2')).breakAfter")
        assert after == "avoid"
        b.screenshot(ARTIFACTS / "demo_report_print.png")
        assert b.eval("document.querySelector('section').id") == "summary"  # summary first
    finally:
        b.close()


def test_pages_render_chinese_without_system_fonts(demo: Path, tmp_path: Path) -> None:
    conf = tmp_path / "fonts.conf"
    conf.write_text(NO_FONTS.format(cache=tmp_path / "fc-cache"), encoding="utf-8")
    env = {"FONTCONFIG_FILE": str(conf), "FONTCONFIG_PATH": str(tmp_path)}
    listed = subprocess.run(["fc-list"], env={**os.environ, **env}, capture_output=True,
                            text=True, check=False).stdout if Path("/usr/bin/fc-list").exists() \
        else ""
    assert "CJK" not in listed  # the machine's fonts are hidden
    for page in ("map.html", "report.html"):
        b = _open(tmp_path, demo / page, 1400, 900, env=env)
        try:
            state = b.eval("document.fonts.ready.then(() => Array.from(document.fonts).filter("
                           "f => f.family.includes('landcarbon')).map(f => f.status))")
            assert state and set(state) == {"loaded"}, (page, state)
            assert b.eval("document.fonts.check('16px \"Noto Sans SC landcarbon\"', '碳汇')")
            # a glyph really drawn: the embedded font gives CJK text its natural width
            width = b.eval("(function(){var s = document.createElement('span');"
                           "s.style.font = '20px \"Noto Sans SC landcarbon\"';"
                           "s.textContent = '碳排放碳汇'; document.body.appendChild(s);"
                           "return s.getBoundingClientRect().width;})()")
            assert 95 <= width <= 105, width  # 5 full-width glyphs of 20 px
            b.screenshot(ARTIFACTS / f"demo_{page[:-5]}_no_system_fonts.png")
        finally:
            b.close()


def test_figures_use_the_bundled_font_without_glyph_warnings(tmp_path: Path) -> None:
    code = (
        "import warnings, geopandas as gpd\n"
        "warnings.simplefilter('error')\n"
        "from shapely.geometry import box\n"
        "from landcarbon.publish import figures\n"
        "u = gpd.GeoDataFrame({'unit_name': ['金水街道', '龙湖镇'], 'unit_id': ['1', '2'],"
        " 'risk_level': ['severe', 'net_sink']}, geometry=[box(0, 0, 1000, 1000),"
        " box(1000, 0, 2000, 1000)], crs=32649)\n"
        "png = figures.static_map(u, 'risk_level', title='风险等级 测试')\n"
        "open('map.png', 'wb').write(png)\n"
        "print(figures.cjk_font())\n")
    conf = tmp_path / "fonts.conf"
    conf.write_text(NO_FONTS.format(cache=tmp_path / "fc-cache"), encoding="utf-8")
    env = {**os.environ, "FONTCONFIG_FILE": str(conf), "MPLCONFIGDIR": str(tmp_path / "mpl"),
           "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    run = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "Noto Sans SC landcarbon"
    assert "Glyph" not in run.stderr and "missing from font" not in run.stderr
    png = (tmp_path / "map.png").read_bytes()
    import struct
    w, h = struct.unpack(">II", png[16:24])
    assert w > 1500 and h > 1000  # 300 dpi


def test_map_controls_draw_their_glyphs_without_system_fonts(demo: Path, tmp_path: Path) -> None:
    conf = tmp_path / "fonts.conf"
    conf.write_text(NO_FONTS.format(cache=tmp_path / "fc-cache"), encoding="utf-8")
    b = _open(tmp_path, demo / "map.html", 1280, 720, env={"FONTCONFIG_FILE": str(conf)})
    try:  # zoom buttons, search box and layer names all use the embedded font
        fams = b.eval("['.leaflet-control-zoom-in', '.leaflet-control-search .search-input', "
                      "'.leaflet-control-layers label'].map(s => getComputedStyle("
                      "document.querySelector(s)).fontFamily)")
        assert all(f.startswith('"Noto Sans SC landcarbon"') for f in fams), fams
        width = b.eval("document.querySelector('.leaflet-control-zoom-in span')"
                       ".getBoundingClientRect().width")
        assert width > 4  # the + is drawn
    finally:
        b.close()
