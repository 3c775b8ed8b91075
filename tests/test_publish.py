"""Publishing a finished run: `landcarbon map`, atlas report, figures, QGIS style and
provenance in units.gpkg, GCJ-02 basemaps, portal and `landcarbon serve` (real files, real
chromium)."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
import urllib.request
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pandas as pd
import pyogrio
import pytest
from _browser import ARTIFACTS, CHROMIUM
from click.testing import CliRunner
from test_maps import XSS, _units_raster, make_units

from landcarbon.cli import main
from landcarbon.exceptions import InputError
from landcarbon.io.cogs import write_raster
from landcarbon.io.outputs import sha256, write_json
from landcarbon.io.ownership import mark_folder
from landcarbon.io.publication import read_raster_preview, write_layer_style
from landcarbon.io.vector import write_layer
from landcarbon.pipeline import build_portal
from landcarbon.publish import explore_units
from landcarbon.publish.gcj02 import wgs84_to_gcj02
from landcarbon.publish.styles import categorized_qml, categorized_sld

PROVENANCE = {"landcarbon_version": "0.1.0", "coefficient_set": "lai2010",
              "cropland_mode": "source", "legend": "esa_worldcover",
              "thresholds_tc_per_ha": "agricultural=2, construction=150, ecological=-1",
              "output_unit": "t C"}


def make_run(folder: Path, title: str = XSS) -> Path:
    """A finished run folder (what `landcarbon run` leaves) built from the 4 test units."""
    folder.mkdir(parents=True)
    units = make_units()
    write_layer(units, folder / "units.gpkg")
    units.drop(columns="geometry").to_csv(folder / "units.csv", index=False)
    long = units[["unit_id", "area_cropland_ha", "area_forest_ha", "area_construction_ha"]].melt(
        id_vars="unit_id", value_vars=["area_cropland_ha", "area_forest_ha",
                                                     "area_construction_ha"],
                      var_name="land_class", value_name="area_ha")
    long["land_class"] = long["land_class"].str[5:-3]
    long["space_type"] = long["land_class"].map({"cropland": "agricultural", "forest":
                                                 "ecological", "construction": "construction"})
    long.to_csv(folder / "class_areas.csv", index=False)
    write_raster(_units_raster(3, "uint8"), folder / "land_class.tif", nodata=0)
    write_raster(_units_raster(2, "uint8"), folder / "space_type.tif", nodata=0)
    write_raster(_units_raster(12.0), folder / "net_flux.tif", nodata=float("nan"))
    write_json({
        "landcarbon_version": "0.1.0",
        "config": {"title": title, "language": "zh", "output": {"map_tiles": "osm"}},
        "settings": {"coefficient_set": "lai2010", "cropland_mode": "source",
                     "legend": "esa_worldcover", "output_unit": "t C",
                     "coefficients_tc_per_ha": {"cropland": 0.422, "forest": -0.644,
                                                "construction": None},
                     "thresholds_tc_per_ha": {"agricultural": 2.0, "construction": 150.0,
                                              "ecological": -1.0}},
        "totals": {"units": 4, "net_tc": 100830.045,
                   "risk_levels": {"within": 1, "severe": 1, "net_sink": 1, "exceeding": 1}},
        "outputs_sha256": {},
    }, folder / "run.json")
    mark_folder(folder, "run")  # as a run leaves it
    return folder


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    return make_run(tmp_path / "ws" / "run_2023")


def _map(run: Path, *args: str) -> object:
    return CliRunner().invoke(main, ["map", str(run), *args])


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One run published in Chinese for offline use, with its portal (read-only tests)."""
    run = make_run(tmp_path_factory.mktemp("published") / "ws" / "run_2023")
    res = _map(run, "--offline")
    assert res.exit_code == 0, res.output
    build_portal(run.parent)
    return run


def test_map_command_rebuilds_without_recomputing(run_dir: Path) -> None:
    res = _map(run_dir, "--language", "en", "--offline")
    assert res.exit_code == 0, res.output
    for name in ("map.html", "report.html", "figures/map_risk_level.png",
                 "figures/map_space_type.png", "figures/balance_by_land_class.png",
                 "figures/balance_by_space_type.png", "figures/net_vs_threshold.png"):
        assert (run_dir / name).is_file(), name
    manifest = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    assert manifest["published"]["language"] == "en" and manifest["published"]["offline"]
    assert manifest["outputs_sha256"]["report.html"] == sha256(run_dir / "report.html")
    again = _map(run_dir)
    assert again.exit_code == 1 and "--overwrite" in again.output
    assert _map(run_dir, "--overwrite").exit_code == 0
    missing = _map(run_dir.parent)
    assert missing.exit_code == 1 and "not a finished landcarbon run" in missing.output


def test_report_figures_and_escaping(published: Path) -> None:
    run_dir = published
    report = (run_dir / "report.html").read_text(encoding="utf-8")
    # totals: emission 1234.5 + 98765.4 + 2.345 + 4567.8; sequestration 300 + 40 + 1900 + 1500
    # Chinese report: annual totals in 万吨 (2 decimals), areas in 公顷, densities 2 decimals
    assert "10.46 万吨 C/年" in report and "0.37 万吨 C/年" in report
    assert "10.08 万吨 C/年" in report and "2,383.7 公顷" in report  # 398.2+400+395.5+1190
    assert "42.30 吨 C/公顷/年" in report  # 100830.045 / 2383.7
    # the units' tables: one unit per column; sequestration peaks at 1,900 t (< 10^4): 吨
    top = report[report.index('id="top"'):report.index('id="net-sinks"')]
    top = re.sub(r"(<[^>]+>)+", "|", top)
    assert "碳排放 (万吨 C/年)|" in top and "碳汇量 (吨 C/年)|" in top
    assert "|9.88|40.0|9.87|" in top and "|0.00|1,900.0|-0.19|" in top
    summary = report[report.index('id="summary"'):report.index('id="maps"')]
    assert "风险单元" in summary and "净碳汇单元" in summary  # executive summary first
    assert re.search(r"UTC[+-]\d{4}", report)  # local time with its zone
    risk = re.findall(r'<i class="sw" style="background:(#\w+)"></i>([^<]+)</td>'
                      r'<td class="n">(\d+)</td>', report)
    assert risk == [("#2166ac", "净碳汇", "1"), ("#8fc3e6", "阈值内", "1"),
                    ("#fde68a", "接近阈值", "0"), ("#f08a3c", "超过阈值", "1"),
                    ("#b2182b", "严重超标", "1")]
    top = report[report.index('id="top"'):report.index('id="charts"')]
    order = re.findall(r"<td>(41010\d)</td>", top)
    assert order == ["410102", "410104", "410101", "410103",   # by emission
                     "410103", "410104", "410101", "410102",   # by sequestration
                     "410103"]  # net sinks apart: only 410103 has net <= 0
    # the hostile name / title / reason are text everywhere
    assert "<img src=x" not in report and "<script>alert" not in report
    assert "&lt;img src=x onerror=alert(1)&gt; &#34;测试&#34;镇" in report
    for href in ("map.html", "run.json", "units.gpkg", "figures/map_space_type.png"):
        assert f'href="./{href}"' in report
    for chart in ("balance_by_land_class", "balance_by_space_type", "net_vs_threshold"):
        assert f'<img src="./figures/{chart}.png"' in report
    png = (run_dir / "figures" / "map_risk_level.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_chinese_text_has_glyphs_in_the_figure_font() -> None:
    from matplotlib.ft2font import FT2Font

    from landcarbon.publish._html import _ui_table, vocab
    from landcarbon.publish.figures import cjk_font

    if cjk_font() is None:
        pytest.skip("fonts-noto-cjk not installed (.ci/run installs it)")
    from matplotlib import font_manager

    path = font_manager.findfont(font_manager.FontProperties(family=cjk_font()))
    font = FT2Font(path)
    texts = [zh for _, zh in _ui_table().values()]
    texts += [v[1] for kind in ("risk_levels", "space_types", "land_classes")
              for v in vocab(kind).values()]
    missing = {ch for t in texts for ch in t if not ch.isspace()
               and font.get_char_index(ord(ch)) == 0}
    assert missing == set()


def test_gpkg_style_and_provenance(published: Path, tmp_path: Path) -> None:
    gpkg = tmp_path / "units.gpkg"
    gpkg.write_bytes((published / "units.gpkg").read_bytes())
    write_layer_style(gpkg, categorized_qml(), categorized_sld())  # idempotent
    with sqlite3.connect(gpkg) as con:
        rows = con.execute("SELECT f_table_name, f_geometry_column, styleName, useAsDefault, "
                           "styleQML, styleSLD FROM layer_styles").fetchall()
        geom = con.execute("SELECT column_name FROM gpkg_geometry_columns").fetchone()[0]
        kinds = dict(con.execute("SELECT table_name, data_type FROM gpkg_contents"))
    assert len(rows) == 1
    table, column, name, default, qml, sld = rows[0]
    assert (table, column, name, default) == ("units", geom, "risk_level", 1)
    assert 'attr="risk_level"' in qml and 'value="severe"' in qml
    assert 'value="178,24,43,255"' in qml  # severe = #b2182b
    assert "<ogc:Literal>severe</ogc:Literal>" in sld and "#b2182b" in sld
    assert kinds == {"units": "features", "layer_styles": "attributes"}
    assert pyogrio.read_info(gpkg, layer="units")["layer_metadata"] == PROVENANCE
    assert len(pyogrio.read_dataframe(gpkg, layer="units")) == 4


def test_provenance_in_every_published_file(published: Path) -> None:
    from PIL import Image

    for name in ("map.html", "report.html"):
        html = (published / name).read_text(encoding="utf-8")
        found = dict(re.findall(r'<meta name="landcarbon:(\w+)" content="([^"]*)">', html))
        assert found == PROVENANCE, name
    for png in sorted((published / "figures").glob("*.png")):
        with Image.open(png) as im:
            im.load()
            assert {k: im.info.get(k) for k in PROVENANCE} == PROVENANCE, png.name


def test_raster_preview_is_bounded(tmp_path: Path) -> None:
    da = _units_raster(1, "uint8").isel(y=[0, 1]).pad(x=(0, 2440), constant_values=0)
    da = da.assign_coords(x=500_050 + 100 * np.arange(2500)).rio.write_crs("EPSG:32649")
    write_raster(da, tmp_path / "wide.tif", nodata=0)
    small = read_raster_preview(tmp_path / "wide.tif", max_size=1024)
    assert small.shape == (1, 834)  # every 3rd pixel: ceil(2500 / 3)
    assert small.rio.crs.to_epsg() == 32649
    assert small.rio.resolution() == pytest.approx((100 * 2500 / 834, -200.0))  # same extent


@pytest.mark.parametrize(("wgs", "gcj"), [
    # coordtransform (npm) README: wgs84togcj02(116.404, 39.915)
    ((116.404, 39.915), (116.41024449916938, 39.91640428150164)),
    # eviltransform test suite (Shanghai, Shenzhen, Beijing)
    ((121.5272106, 31.1774276), (121.531541859215, 31.17530398364597)),
    ((113.912316, 22.543847), (113.9171764808363, 22.540796131694766)),
    ((116.377817, 39.911954), (116.38404722455657, 39.91334545536069)),
])
def test_wgs84_to_gcj02_known_pairs(wgs: tuple[float, float], gcj: tuple[float, float]) -> None:
    lon, lat = wgs84_to_gcj02(*wgs)
    assert (float(lon), float(lat)) == pytest.approx(gcj, abs=1e-8)


def test_gcj02_outside_china_unchanged_and_vectorised() -> None:
    lon, lat = wgs84_to_gcj02([2.35, 116.404, -74.0], [48.85, 39.915, 40.7])
    assert lon[0] == 2.35 and lat[0] == 48.85 and lon[2] == -74.0 and lat[2] == 40.7
    assert lon[1] == pytest.approx(116.41024449916938, abs=1e-8)


def _first_vertex(html: str) -> tuple[float, float]:
    m = re.search(r'"coordinates":\s*\[\[\[([-\d.]+),\s*([-\d.]+)\]', html)
    assert m, "no polygon in the map"
    return float(m.group(1)), float(m.group(2))


def test_gaode_basemap_shifts_data_to_gcj02() -> None:
    units = make_units()
    wgs = _first_vertex(explore_units(units, tiles="osm").get_root().render())
    m = explore_units(units, tiles="gaode", language="en")
    html = m.get_root().render()
    shifted = _first_vertex(html)
    expected = wgs84_to_gcj02(*wgs)
    assert shifted == pytest.approx((float(expected[0]), float(expected[1])), abs=2e-6)
    assert shifted[0] - wgs[0] > 0.004  # ~500 m east at this place: not a no-op
    assert "autonavi.com" in html and "AutoNavi / Gaode (GCJ-02)" in html
    with pytest.raises(InputError, match="mix GCJ-02"):
        explore_units(units, tiles=["gaode", "osm"])


def test_unknown_basemap_and_tile_url_templates(run_dir: Path) -> None:
    """A basemap that is no known name nor URL template is an error naming it and the known
    ones (``map --tiles``, which the config's check does not see; folium's own message was
    reported as unexpected); a URL template with {z}, {x}, {y} is credited to its server."""
    units = make_units()
    with pytest.raises(InputError, match=r"Basemap 'bogus_tiles' is not one landcarbon knows "
                       r"\(plain, osm"):
        explore_units(units, tiles="bogus_tiles")
    html = explore_units(units, tiles="https://t.example.org/{z}/{x}/{y}.png"
                         ).get_root().render()
    assert "https://t.example.org/{z}/{x}/{y}.png" in html and '"t.example.org"' in html
    before = (run_dir / "map.html").read_bytes() if (run_dir / "map.html").exists() else None
    res = _map(run_dir, "--tiles", "bogus_tiles", "--overwrite")
    assert res.exit_code == 1 and "Basemap 'bogus_tiles'" in res.output
    assert "unexpected" not in res.output
    after = (run_dir / "map.html").read_bytes() if (run_dir / "map.html").exists() else None
    assert after == before
    from landcarbon.config.run import OutputConfig

    assert OutputConfig(map_tiles="https://t.example.org/{z}/{x}/{y}.png").map_tiles


def test_portal_lists_runs_newest_first(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    old = make_run(ws / "2020", title="2020 年")
    new = make_run(ws / "scenarios" / "2035_低碳", title="2035 <b>情景</b>")
    (old / "report.html").write_text("<p>2020</p>", encoding="utf-8")  # published before
    os.utime(old / "run.json", (1_600_000_000, 1_600_000_000))
    res = CliRunner().invoke(main, ["portal", str(ws), "--title", '碳监测 "门户"'])
    assert res.exit_code == 0, res.output
    index = ws / "index.html"
    assert res.output.strip().splitlines()[-1] == str(index)
    text = index.read_text(encoding="utf-8")
    # links relative and percent-encoded (issue 13: no folder name becomes a scheme)
    low_carbon = quote("2035_低碳")
    assert re.findall(r'<td><a href="([^"]+/report.html)">', text) == [
        f"./scenarios/{low_carbon}/report.html", "./2020/report.html"]
    assert f'src="./scenarios/{low_carbon}/figures/map_risk_level.png"' in text  # latest first
    assert "2035 &lt;b&gt;情景&lt;/b&gt;" in text and "<b>情景" not in text
    assert "碳监测 &#34;门户&#34;" in text
    assert "严重超标 1" in text and "2020-09-13" not in text  # the data year, not the run time
    years = re.findall(r"</td><td>((?:\d{4}|–))</td><td class=\"n\">", text)
    assert years == ["2035", "2020"], years
    assert (new / "report.html").is_file() and (new / "map.html").is_file()  # published
    assert (old / "report.html").read_text(encoding="utf-8") == "<p>2020</p>"  # left alone
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no run found"):
        build_portal(tmp_path / "empty")
    res = CliRunner().invoke(main, ["portal", str(tmp_path / "empty")])
    assert res.exit_code == 1 and "no run found" in res.output


def test_portal_redraws_a_lost_report_and_names_lost_outputs(tmp_path: Path) -> None:
    """A published run whose report.html was deleted gets it again (it was listed as damaged,
    told to pass --overwrite, which portal has not); a run whose manifest lists a file that
    is gone (units.gpkg) is listed as damaged, naming it (it was listed as healthy)."""
    ws = tmp_path / "ws"
    runs = [make_run(ws / name, title=name) for name in ("a", "b")]
    for run in runs:
        assert CliRunner().invoke(main, ["-q", "map", str(run)]).exit_code == 0
    (runs[0] / "report.html").unlink()
    (runs[1] / "units.gpkg").unlink()
    res = CliRunner().invoke(main, ["portal", str(ws)])
    assert res.exit_code == 0, res.output
    assert (runs[0] / "report.html").is_file()
    text = (ws / "index.html").read_text(encoding="utf-8")
    assert "./a/report.html" in text and "./b/report.html" not in text
    assert "units.gpkg listed in its manifest is missing" in res.output


def test_serve_previews_workspace_on_localhost(published: Path) -> None:
    ws = published.parent
    proc = subprocess.Popen([sys.executable, "-m", "landcarbon.cli", "serve", str(ws),
                             "--port", "0"], stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stderr.readline()  # type: ignore[union-attr]
        url = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert url, line
        with urllib.request.urlopen(url.group(0) + "index.html", timeout=20) as r:
            assert r.status == 200 and "run_2023/report.html" in r.read().decode("utf-8")
        with urllib.request.urlopen(url.group(0) + "run_2023/report.html", timeout=20) as r:
            assert "10.46 万吨 C/年" in r.read().decode("utf-8")
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.fixture
def browser(tmp_path: Path):  # type: ignore[no-untyped-def]
    from _browser import Browser

    b = Browser(tmp_path / "chrome-profile", height=1400)
    yield b
    b.close()


def _loaded_images(browser) -> list[list]:  # type: ignore[no-untyped-def]
    return browser.eval("Array.from(document.images).map(i => [i.getAttribute('src'), "
                        "i.complete && i.naturalWidth > 0])")


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium")
def test_published_run_in_chromium(published: Path, browser) -> None:  # type: ignore[no-untyped-def]
    run_dir = published
    ARTIFACTS.mkdir(exist_ok=True)
    for page, shot in (("run_2023/map.html", "run_map_zh.png"),
                       ("run_2023/report.html", "run_report_zh.png"),
                       ("index.html", "portal_zh.png")):
        browser.load((run_dir.parent / page).as_uri())
        assert browser.errors == [] and browser.dialogs == [], page
        external = [u for u in browser.requests if not u.startswith(("file:", "data:"))]
        assert external == [], page
        images = _loaded_images(browser)
        assert all(ok for _, ok in images), images
        browser.screenshot(ARTIFACTS / shot)
        text = browser.eval("document.body.innerText")
        assert '<img src=x onerror=alert(1)> "测试"镇' in text, page  # shown as text
        assert browser.eval("document.querySelectorAll('img[src=x]').length") == 0, page
        if page.endswith("map.html"):
            assert browser.eval("document.querySelectorAll('.leaflet-control-layers "
                                "input').length") == 10  # 1 base + 9 overlays
            assert "风险等级" in browser.eval("document.querySelector('.lc-legend').innerText")
        elif page.endswith("report.html"):
            assert len(images) == 5 and "净碳汇" in text and "10.46 万吨 C/年" in text
        else:
            assert [src for src, _ in images] == ["./run_2023/figures/map_risk_level.png"]
    assert pd.read_csv(run_dir / "units.csv")["unit_id"].tolist() == [
        410101, 410102, 410103, 410104]


def test_raster_overlay_warped_to_gcj02_pixel_by_pixel() -> None:
    import base64
    import io

    import xarray as xr
    from PIL import Image

    from landcarbon.publish.rasters import raster_overlay

    step = 0.0005  # ~50 m
    lon = 113.5 + step * (np.arange(1000) + 0.5)
    lat = 35.0 - step * (np.arange(1000) + 0.5)
    data = np.zeros((1000, 1000), dtype="uint8")
    marks = [(50, 60), (940, 930)]  # (row, col) near opposite corners
    for r, c in marks:
        data[r - 2:r + 3, c - 2:c + 3] = 3  # forest
    da = xr.DataArray(data, dims=("y", "x"), coords={"y": lat, "x": lon}).rio.write_crs(4326)
    overlay, _ = raster_overlay(da, "land_class", gcj02=True, max_size=1024)
    png = base64.b64decode(overlay.url.split(",", 1)[1])
    image = np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"))
    (s, w), (n, e) = overlay.bounds
    h, wd = image.shape[:2]
    forest = np.argwhere(image[..., 3] > 0)
    assert len(forest) > 0

    def merc_y(lat_deg: float) -> float:
        return float(np.log(np.tan(np.pi / 4 + np.radians(lat_deg) / 2)))

    for r, c in marks:
        glon, glat = (float(v) for v in wgs84_to_gcj02(lon[c], lat[r]))
        col = (glon - w) / (e - w) * wd
        row = (merc_y(n) - merc_y(glat)) / (merc_y(n) - merc_y(s)) * h
        near = forest[np.hypot(forest[:, 0] - row, forest[:, 1] - col) < 6]
        assert len(near) >= 9, (r, c)  # the 5 x 5 block landed where GCJ-02 puts it
        assert np.hypot(*(near.mean(axis=0) - (row, col))) < 1.5


@pytest.mark.parametrize("shape", [(4, 1), (1, 4), (1, 1)])
def test_raster_overlays_of_a_raster_one_pixel_wide_or_tall(shape: tuple[int, int]) -> None:
    """A study area one pixel wide or tall (a unit along a pixel column) made every map
    fail after the whole computation (the overlay dropped the raster's x or y with its band
    dimension): each kind of overlay and the map's pixel probe draw it."""
    import xarray as xr
    from rasterio.transform import from_origin

    from landcarbon.publish._chrome import raster_probe
    from landcarbon.publish.rasters import downsample, raster_overlay

    h, w = shape
    coords = {"band": [1], "y": 35.0 - 0.0003 * (np.arange(h) + 0.5),
              "x": 113.5 + 0.0003 * (np.arange(w) + 0.5)}
    for kind, values in (("land_class", np.full((1, h, w), 3, np.uint8)),
                         ("space_type", np.full((1, h, w), 2, np.uint8)),
                         ("net_flux", np.full((1, h, w), -1.5, np.float32))):
        da = xr.DataArray(values, dims=("band", "y", "x"), coords=coords).rio.write_crs(
            4326).rio.write_transform(from_origin(113.5, 35.0, 0.0003, 0.0003))
        assert downsample(da, 1024).shape == shape
        overlay, legend = raster_overlay(da, kind, language="en")
        assert overlay.url.startswith("data:image/png;base64,") and legend
        probe = raster_probe(da, kind, language="en", unit_label="t C/ha/yr")
        assert probe["w"] >= 1 and probe["h"] >= 1


def test_map_on_another_commands_folder_says_which_it_is(tmp_path: Path) -> None:
    """`landcarbon map` on a change or stocks folder said "units.gpkg, run.json missing"."""
    for manifest, words in (("change.json", ("`landcarbon change`", "--overwrite")),
                            ("stocks.json", ("`landcarbon stocks`", "no map"))):
        folder = tmp_path / manifest.split(".")[0]
        folder.mkdir()
        (folder / manifest).write_text("{}", encoding="utf-8")
        res = CliRunner().invoke(main, ["map", str(folder)])
        assert res.exit_code == 1
        for word in (*words, "redraws the folders of `landcarbon run`"):
            assert word in " ".join(res.output.split()), res.output
