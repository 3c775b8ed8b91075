"""Tests of landcarbon.publish: the interactive units map and its offline HTML."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rioxarray  # noqa: F401  (.rio accessor)
import xarray as xr
from _browser import ARTIFACTS, CHROMIUM
from shapely.geometry import Point, box

from landcarbon.exceptions import InputError
from landcarbon.publish import explore_units
from landcarbon.publish._html import fmt as _fmt
from landcarbon.publish._offline import make_offline
from landcarbon.publish.maps import _display_frame

XSS = '<img src=x onerror=alert(1)> "测试"镇'
QUOTES = 'O\'Brien "x"'


def make_units(suffix: str = "tc") -> gpd.GeoDataFrame:
    """Four square units (2 km) in UTM 49N with every column of the assessed units table."""
    x0, y0, s = 500_000.0, 3_800_000.0, 2_000.0
    geoms = [box(x0 + i * s, y0, x0 + (i + 1) * s, y0 + s) for i in range(3)]
    geoms.append(box(x0, y0 + s, x0 + 3 * s, y0 + 2 * s))
    d = {
        "unit_id": ["410101", "410102", "410103", "410104"],
        "unit_name": [XSS, QUOTES, "金水区", "二七区"],
        "area_ha": [400.0, 400.0, 400.0, 1200.0],
        "covered_ha": [398.2, 400.0, 395.5, 1190.0],
        "area_cropland_ha": [200.0, 50.0, 0.0, 600.0],
        "area_forest_ha": [150.0, 30.0, 380.0, 300.0],
        "area_construction_ha": [48.2, 320.0, 15.5, 290.0],
        "share_agricultural": [0.5022, 0.125, 0.0, 0.5042],
        "share_construction": [0.121, 0.8, 0.0392, 0.2437],
        "share_ecological": [0.3767, 0.075, 0.9608, 0.2521],
        "space_type": ["agricultural", "construction", "ecological", "agricultural"],
        "emission_tc": [1234.5, 98765.4, 2.345, 4567.8],
        "sequestration_tc": [300.0, 40.0, 1900.0, 1500.0],
        "construction_emission_tc": [1000.0, 98000.0, 2.0, 4000.0],
        "threshold_tc_per_ha": [2.5, 150.0, -1.0, 2.0],
        "risk_level": ["within", "severe", "net_sink", "exceeding"],
        "risk_reason_en": ["net below the limit <b>", "far above", "absorbs more", "above"],
        "risk_reason_zh": ["低于阈值 <script>alert(2)</script>", "严重超过", "净碳汇", "超过阈值"],
    }
    d["net_tc"] = [e - q for e, q in zip(d["emission_tc"], d["sequestration_tc"], strict=True)]
    d["net_tc_per_ha"] = [n / c for n, c in zip(d["net_tc"], d["covered_ha"], strict=True)]
    if suffix == "tco2":
        d = {
            k.replace("_tc", "_tco2"): [x * 44 / 12 for x in v] if "_tc" in k else v
            for k, v in d.items()
        }
    return gpd.GeoDataFrame(d, geometry=geoms, crs="EPSG:32649")


def _groups(m: folium.Map) -> dict[str, folium.FeatureGroup]:
    return {
        c.layer_name: c for c in m._children.values() if isinstance(c, folium.FeatureGroup)
    }


def _html(m: folium.Map) -> str:
    return m.get_root().render()


def _external_refs(html: str) -> list[str]:
    tags = re.findall(r"<(?:script|link)\b[^>]*>", html, flags=re.IGNORECASE)
    return [t for t in tags if re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", t)]


def test_returns_map_with_named_layers() -> None:
    m = explore_units(make_units(), tiles=None)
    assert isinstance(m, folium.Map)
    groups = _groups(m)
    assert list(groups) == ["无底图（离线）", "单元边界", "风险等级", "空间类型", "地均净碳排放",
                            "地均碳排放", "地均碳汇"]
    assert [g.show for g in groups.values()] == [True, True, True, False, False, False, False]
    assert not groups["无底图（离线）"].overlay  # the plain background is a base layer
    assert sum(isinstance(c, folium.LayerControl) for c in m._children.values()) == 1
    html = _html(m)
    for label in ("净碳汇", "阈值内", "接近阈值", "超过阈值", "严重超标", "农业空间", "生态空间"):
        assert label in html


def test_english_and_column_choice() -> None:
    m = explore_units(make_units(), language="en", column="net_per_ha", tiles=None)
    groups = _groups(m)
    assert list(groups)[2:5] == ["Net emission per ha", "Risk level", "Space type"]
    assert groups["Net emission per ha"].show and not groups["Risk level"].show
    html = _html(m)
    assert "Within threshold" in html and "Construction space" in html
    assert "Emission per ha (t C/ha/yr)" in html


def test_adds_to_given_map() -> None:
    base = folium.Map(tiles=None)
    out = explore_units(make_units(), m=base)
    assert out is base
    assert "风险等级" in _groups(base)
    explore_units(make_units(), m=base, layers=("risk_level",), language="en")
    controls = [c for c in base._children.values() if isinstance(c, folium.LayerControl)]
    assert len(controls) == 1
    children = list(base._children.values())
    groups = [k for k, c in enumerate(children) if isinstance(c, folium.FeatureGroup)]
    assert children.index(controls[0]) > max(groups)  # rendered after every layer


def test_user_strings_are_escaped() -> None:
    m = explore_units(make_units(), title=XSS, tiles=None)
    html = _html(m)
    assert "<img src=x onerror" not in html
    assert "<script>alert(2)" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html  # the title, as text
    # popup / tooltip strings: escaped HTML inside JSON with <, >, & as \u escapes
    assert r"\u0026lt;img src=x onerror=alert(1)\u0026gt; \u0026quot;测试\u0026quot;镇" in html
    assert r"O\u0026#x27;Brien \u0026quot;x\u0026quot;" in html


def test_popup_figures_and_units() -> None:
    html = _html(explore_units(make_units(), language="en", tiles=None))
    for text in ("398.2 ha", "98,765.4 t C/yr", "2.3 t C/yr", "above by", "below by", "80.0%",
                 "t C/ha/yr", "Forest",
                 "600.0", "Within threshold", "net below the limit \\u0026lt;b\\u0026gt;"):
        assert text in html


def test_tco2_labels() -> None:
    html = _html(explore_units(make_units("tco2"), tiles=None))
    assert "万吨 CO₂/年" in html and "吨 CO₂/公顷/年" in html  # Chinese units
    assert "吨 C/" not in html and "t C/yr" not in html
    html = _html(explore_units(make_units("tco2"), tiles=None, language="en"))
    assert "t CO₂/yr" in html and "t CO₂/ha/yr" in html
    assert "t C/yr" not in html and "t C/ha/yr" not in html


def test_input_not_modified() -> None:
    units = make_units()
    before = units.copy(deep=True)
    explore_units(units, simplify_tolerance_m=100.0, tiles=None)
    assert units.crs == before.crs
    assert units.geometry.geom_equals_exact(before.geometry, tolerance=0).all()
    pd.testing.assert_frame_equal(units.drop(columns="geometry"), before.drop(columns="geometry"))


def test_auto_simplify_for_many_units() -> None:
    circles = [Point(500_000 + 3000 * (i % 30), 3_800_000 + 3000 * (i // 30)).buffer(1000, 64)
               for i in range(510)]
    units = gpd.GeoDataFrame(geometry=circles, crs="EPSG:32649")
    vertices = units.count_coordinates().sum()
    shown = _display_frame(units, None)
    assert shown.crs.to_epsg() == 4326
    assert shown.count_coordinates().sum() < vertices / 2
    assert units.count_coordinates().sum() == vertices
    assert _display_frame(units, 0).count_coordinates().sum() == vertices


def test_errors() -> None:
    units = make_units()
    with pytest.raises(InputError, match="emission_tc"):
        explore_units(units.drop(columns=["emission_tc", "net_tc"]))
    with pytest.raises(InputError, match="CRS"):
        explore_units(units.set_crs(None, allow_override=True))
    with pytest.raises(InputError, match="space_type"):
        explore_units(units.drop(columns="space_type"))
    with pytest.raises(ValueError, match="language"):
        explore_units(units, language="fr")  # type: ignore[arg-type]


def test_fmt() -> None:
    assert _fmt(1234.56) == "1,234.6"
    assert _fmt(0.012345) == "0.0123"
    assert _fmt(float("nan")) == "–"
    assert _fmt(0.1234, share=True) == "12.3%"
    assert _fmt(1190.04, area=True) == "1,190.0"
    assert _fmt(0.5, area=True) == "0.5"


def test_offline_html_has_no_external_refs(tmp_path: Path) -> None:
    m = explore_units(make_units(), offline=True, tiles="OpenStreetMap")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing unknown to drop for maps we create
        html = _html(m)
    assert _external_refs(html) == []
    assert "window.L=" in html  # Leaflet inlined
    assert "L.Control.Search" in html and "leaflet-control-zoom-fullscreen" in html  # plugins
    assert "data:image/svg+xml;base64," in html  # the fullscreen icon, from its stylesheet
    assert "tile.openstreetmap.org" not in html
    assert "sourceMappingURL" not in html
    out = tmp_path / "map.html"
    m.save(out)
    assert _external_refs(out.read_text(encoding="utf-8")) == []
    assert "cdn.jsdelivr.net" not in m._repr_html_()


def test_offline_on_user_map_drops_unknown_assets() -> None:
    base = folium.Map(tiles=None)
    explore_units(make_units(), m=base, offline=True)
    with pytest.warns(UserWarning, match="jquery"):
        html = _html(base)
    assert _external_refs(html) == []


def test_make_offline_modes() -> None:
    page = ('<head><script src="https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js">'
            '</script><link rel="stylesheet" href="//unpkg.com/leaflet@1.9.4/dist/leaflet.css"/>'
            '<script src="https://example.org/x.js"></script></head>')
    with pytest.warns(UserWarning, match=r"example\.org"):
        out = make_offline(page)
    assert _external_refs(out) == []
    assert "<style>" in out and "data:image/png;base64," in out
    with pytest.raises(ValueError, match=r"example\.org"):
        make_offline(page, missing="raise")


@pytest.fixture
def browser(tmp_path: Path):  # type: ignore[no-untyped-def]
    from _browser import Browser

    b = Browser(tmp_path / "chrome-profile")
    yield b
    b.close()


def _units_raster(value: float, dtype: str = "float32") -> xr.DataArray:
    """A 40 x 60 raster (100 m cells) over the test units, in UTM 49N."""
    data = np.full((40, 60), value, dtype=dtype)
    data[:, :20] = 1 if dtype == "uint8" else -0.6
    da = xr.DataArray(data, dims=("y", "x"),
                      coords={"y": 3_804_000 - 50 - 100 * np.arange(40),
                              "x": 500_000 + 50 + 100 * np.arange(60)})
    return da.rio.write_crs("EPSG:32649")


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium")
def test_renders_in_headless_chromium(tmp_path: Path, browser) -> None:  # type: ignore[no-untyped-def]
    rasters = {"land_class": _units_raster(3, "uint8"), "space_type": _units_raster(2, "uint8"),
               "net_flux": _units_raster(12.0)}
    m = explore_units(make_units(), offline=True, title="郑州市 碳平衡风险", rasters=rasters)
    page = tmp_path / "map.html"
    m.save(page)
    browser.load(page.as_uri())
    assert browser.errors == []
    assert [u for u in browser.requests if not u.startswith(("file:", "data:"))] == []
    labels = browser.eval("Array.from(document.querySelectorAll("
                          "'.leaflet-control-layers label')).map(e => e.textContent.trim())")
    assert labels == ["无底图（离线）", "单元边界", "风险等级", "空间类型", "地均净碳排放",
                      "地均碳排放", "地均碳汇", "地类（栅格）", "空间类型（栅格）",
                      "地均净碳排放（栅格）"]
    groups = browser.eval("Array.from(document.querySelectorAll('.lc-group'))"
                          ".map(e => e.textContent)")
    assert groups == ["底图", "单元图层", "栅格"]
    # 4 units: boundaries + risk-level fills
    assert browser.eval("document.querySelectorAll('path.leaflet-interactive').length") == 8
    legend = browser.eval("document.querySelector('.lc-legend').innerText")
    assert "净碳汇" in legend and "严重超标" in legend
    assert browser.eval("document.querySelectorAll('.lc-sec:not([hidden])').length") == 1
    assert browser.eval("document.querySelector('.leaflet-control-zoom-fullscreen') !== null")
    assert browser.eval("document.querySelector('.leaflet-control-scale') !== null")
    ARTIFACTS.mkdir(exist_ok=True)
    browser.screenshot(ARTIFACTS / "explore_units_zh.png")

    # search by name (typing '测试'): the tip shows the hostile name as text; choosing it
    # opens the unit's popup, where the name is text too
    units_var = re.search(r"var (landcarbon_units_\w+) = \{", page.read_text()).group(1)
    browser.eval(f"{units_var}.search.searchText('测试'); 1")
    browser.pump(1.0)
    tips = browser.eval("Array.from(document.querySelectorAll('.search-tip')).map("
                        "e => [e.textContent, e.children.length])")
    assert tips == [['<img src=x onerror=alert(1)> "测试"镇 (410101)', 0]]
    browser.screenshot(ARTIFACTS / "explore_units_search.png")
    browser.eval("document.querySelector('.search-tip').click(); 1")
    browser.pump(1.5)
    pop = browser.eval("document.querySelector('.leaflet-popup-content').innerHTML")
    assert "&lt;img src=x onerror=alert(1)&gt; \"测试\"镇" in pop
    assert "<img" not in pop and "<script" not in pop
    assert "低于阈值 &lt;script&gt;alert(2)&lt;/script&gt;" in pop
    browser.screenshot(ARTIFACTS / "explore_units_popup.png")
    browser.eval("document.querySelector('.leaflet-popup-close-button').click(); 1")

    # switching layers on in the layer control shows their legend sections; one colouring
    # of the units or one raster at a time, the boundaries stay on
    def click(k: int) -> tuple[list[str], list[bool]]:
        browser.eval("document.querySelectorAll('.leaflet-control-layers-overlays input')"
                     f"[{k}].click(); 1")
        browser.pump(0.5)
        shown = browser.eval("Array.from(document.querySelectorAll('.lc-sec:not([hidden]) "
                             ".lc-h')).map(e => e.textContent)")
        checked = browser.eval("Array.from(document.querySelectorAll('.leaflet-control-"
                               "layers-overlays input')).map(c => c.checked)")
        return shown, checked

    assert click(2) == (["空间类型"], [True, False, True, False, False, False, False, False,
                                     False])
    assert click(8) == (["地均净碳排放（栅格） (吨 C/公顷/年)"],
                        [True, False, False, False, False, False, False, False, True])
    assert browser.eval("document.querySelectorAll('img.leaflet-image-layer').length") == 1
    assert browser.eval("document.querySelector('img.leaflet-image-layer').parentNode"
                        ".classList.contains('leaflet-lc_rasters-pane')")
    browser.screenshot(ARTIFACTS / "explore_units_rasters.png")
    assert browser.dialogs == [] and browser.errors == []


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium")
def test_english_map_in_chromium(tmp_path: Path, browser) -> None:  # type: ignore[no-untyped-def]
    page = tmp_path / "map_en.html"
    explore_units(make_units("tco2"), language="en", column="net_per_ha", tiles=None,
                  offline=True, title="Net emission per ha").save(page)
    browser.load(page.as_uri())
    assert browser.errors == [] and browser.dialogs == []
    assert [u for u in browser.requests if not u.startswith(("file:", "data:"))] == []
    legend = browser.eval("document.querySelector('.lc-sec:not([hidden])').innerText")
    assert "Net emission per ha (t CO₂/ha/yr)" in legend
    browser.screenshot(ARTIFACTS / "explore_units_en_net.png")


def test_numeric_layers_use_quantile_classes() -> None:
    from landcarbon.publish.maps import _class_fills, _numeric_classes

    values = pd.Series([-4.0, -1.0, 1.0, 2.0, 3.0, 100.0, float("nan")])
    classes = _numeric_classes(values, "net_per_ha")
    assert [(lo, hi) for lo, hi, _ in classes] == [
        (-4.0, -2.5), (-2.5, -1.0), (1.0, 1.75), (1.75, 2.5), (2.5, 27.25), (27.25, 100.0)]
    assert _class_fills(classes, values.to_numpy()) == [
        "#2166ac", "#67a9cf", "#fddbc7", "#f4a582", "#d6604d", "#b2182b", "#d9d9d9"]
    nothing = _numeric_classes(pd.Series([float("nan")] * 2), "emission_per_ha")
    assert nothing == [] and _class_fills(nothing, np.full(2, np.nan)) == ["#d9d9d9"] * 2
    # one ramp for a one-signed layer; fewer distinct values than colours -> fewer classes
    seq = _numeric_classes(pd.Series([5.0, 5.0, 7.0]), "sequestration_per_ha")
    assert [(lo, hi, c) for lo, hi, c in seq] == [(5.0, 5.0, "#e6f0fa"), (5.0, 7.0, "#0b2e66")]


def test_label_and_basemap_tables_are_valid() -> None:
    from landcarbon._resources import data_path, read_csv
    from landcarbon.publish.basemaps import basemaps

    labels = read_csv(data_path("ui_labels.csv"))
    assert labels["key"].is_unique
    assert (labels["en"].str.strip() != "").all() and (labels["zh"].str.strip() != "").all()
    table = basemaps()
    assert {"plain", "osm", "gaode"} <= set(table)
    for key, row in table.items():
        assert row["crs"] in ("wgs84", "gcj02"), key
        assert row["source"], key
        if "://" in row["tiles"]:
            assert all(t in row["tiles"] for t in ("{x}", "{y}", "{z}")), key
            assert row["attribution"], key


def test_maps_are_self_contained_unless_a_user_adds_cdn_plugins() -> None:
    from folium.plugins import MiniMap

    m = explore_units(make_units(), tiles="osm")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        html = _html(m)
    assert _external_refs(html) == [] and "window.L=" in html
    assert "tile.openstreetmap.org" in html  # only the basemap tiles come from outside
    MiniMap().add_to(m)  # a plugin we have no copy of keeps its CDN links
    refs = _external_refs(_html(m))
    assert refs and all("leaflet-minimap" in r.lower() for r in refs)


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium")
def test_online_map_works_without_internet_except_tiles(tmp_path: Path, browser) -> None:  # type: ignore[no-untyped-def]
    page = tmp_path / "online.html"
    explore_units(make_units(), tiles="osm", language="en").save(page)
    browser.load(page.as_uri())
    external = [u for u in browser.requests if not u.startswith(("file:", "data:"))]
    assert external and all("tile.openstreetmap.org" in u for u in external)
    assert [e for e in browser.errors if "tile.openstreetmap.org" not in e] == []
    assert browser.eval("document.querySelectorAll('path.leaflet-interactive').length") == 8
    browser.screenshot(ARTIFACTS / "explore_units_online_no_internet.png")


def test_geojson_rounds_to_a_micro_degree_and_keeps_missing_geometry() -> None:
    import json

    from shapely.geometry import Polygon

    from landcarbon.publish.maps import _geojson

    frame = gpd.GeoDataFrame(
        {"_i": [0, 1]},
        geometry=[Polygon([(113.1234567, 34.0000004), (113.2, 34.0), (113.2, 34.1)]), None],
        crs="EPSG:4326")
    text = "".join(_geojson(frame))
    assert "".join(_geojson(frame, size=1)) == text  # pieces of one feature join the same
    doc = json.loads(text)
    assert [f["properties"]["_i"] for f in doc["features"]] == [0, 1]
    ring = doc["features"][0]["geometry"]["coordinates"][0]
    assert ring[0] == [113.123457, 34.0] and ring[-1] == ring[0] and len(ring) == 4
    assert doc["features"][1]["geometry"] is None


@pytest.mark.parametrize("n", [0, 1, 5, 7])
def test_json_pieces_join_into_the_whole(n: int) -> None:
    from landcarbon.publish._html import js_json, js_json_pieces

    items = [[f"u{i} <b>&", i + 0.5, None, "镇"] for i in range(n)]
    for size in (1, 2, 3, 1024):
        assert "".join(js_json_pieces(items, size)) == js_json(items)


def test_map_written_in_pieces_is_the_rendered_page(tmp_path: Path) -> None:
    """A map's data stay out of its page text while it is made (written piece by piece);
    the file is the page :func:`map_html` gives, its data appear once, and only the page's
    own element ids are renumbered: a unit named like a folium element id keeps its name."""
    from landcarbon.io.publication import write_text
    from landcarbon.publish.maps import map_html, map_pieces

    odd = "_" + "ab" * 16
    units = make_units()
    units["unit_name"] = ["镇 " + odd, "town <2>", "金水区", "二七区"]
    m = explore_units(units, language="zh", title="碳 <地图>", tiles=None)
    pieces = map_pieces(m)
    assert len(pieces) % 2 == 1 and len(pieces) > 3
    page = "".join(pieces)
    # the same map made again, rendered whole: the same page
    assert page == map_html(explore_units(units, language="zh", title="碳 <地图>", tiles=None))
    assert "lc-blob" not in page
    assert page.count(odd) == 1 and "\\u003c2\\u003e" in page
    assert not re.search(r"_[0-9a-f]{32}(?![0-9a-zA-Z])", page.replace(odd, ""))
    write_text(tmp_path / "map.html", pieces)
    assert (tmp_path / "map.html").read_text(encoding="utf-8") == page
