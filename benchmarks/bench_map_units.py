"""How many units stay responsive in the web map? (`python benchmarks/bench_map_units.py`)

Builds N synthetic township-like units (Voronoi cells of random points over a 150 km square,
boundaries densified to 1 point per 200 m and bent by a smooth field, like digitised
boundaries; shared edges stay shared), writes the offline map
with `explore_units` and opens it in headless Chromium (the test driver in tests/_browser.py).
Reports: vertices in / shown (display simplification), HTML size, build time, page load
time, time to switch to another styling layer and paint it, time to open a popup.
Needs /usr/bin/chromium. Timings depend on the machine: compare runs on one machine.
"""

from __future__ import annotations

import re
import sys
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from _browser import Browser

from landcarbon.publish import explore_units
from landcarbon.publish.maps import _display_frame


def synthetic_units(n: int, seed: int = 0) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    x0, y0, size = 500_000.0, 3_800_000.0, 150_000.0
    pts = shapely.points(rng.uniform(x0, x0 + size, n), rng.uniform(y0, y0 + size, n))
    box = shapely.box(x0, y0, x0 + size, y0 + size)
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(pts), extend_to=box))
    cells = shapely.segmentize(shapely.intersection(cells, box), 200.0)

    def wiggle(xy: np.ndarray) -> np.ndarray:  # a smooth field: shared edges move together
        x, y = xy[:, 0], xy[:, 1]
        dx = 150 * np.sin(x / 700 + y / 900) + 60 * np.sin(y / 97)
        dy = 150 * np.cos(x / 800 - y / 600) + 60 * np.cos(x / 89)
        return np.column_stack([x + dx, y + dy])

    cells = shapely.transform(cells, wiggle)
    k = len(cells)
    covered = shapely.area(cells) / 10_000
    emission = rng.gamma(2.0, 2.0, k) * covered
    seq = rng.gamma(2.0, 0.5, k) * covered
    space = rng.choice(["agricultural", "construction", "ecological"], k)
    net = emission - seq
    return gpd.GeoDataFrame({
        "unit_id": [f"{i:06d}" for i in range(k)], "unit_name": [f"单元{i}镇" for i in range(k)],
        "covered_ha": covered, "area_cropland_ha": covered * 0.6,
        "area_forest_ha": covered * 0.4, "share_agricultural": 0.6, "share_construction": 0.1,
        "share_ecological": 0.3, "space_type": space, "emission_tc": emission,
        "sequestration_tc": seq, "net_tc": net, "net_tc_per_ha": net / covered,
        "threshold_tc_per_ha": 3.0,
        "risk_level": rng.choice(["net_sink", "within", "approaching", "exceeding", "severe"], k),
        "risk_reason_en": "synthetic", "risk_reason_zh": "合成数据",
    }, geometry=cells, crs="EPSG:32649")


SWITCH = """new Promise(function (done) {
  var t0 = performance.now();
  document.querySelectorAll('.leaflet-control-layers-overlays input')[%d].click();
  requestAnimationFrame(function () { requestAnimationFrame(function () {
    done(performance.now() - t0); }); });
})"""
POPUP = """new Promise(function (done) {
  var l = %s.layers[0], t0 = performance.now();
  l.getLayers()[0].openPopup();
  requestAnimationFrame(function () { done(performance.now() - t0); });
})"""


def main(sizes: list[int]) -> None:
    print("| units | vertices in | vertices shown | HTML MB | build s | load s | switch layer ms"
          " | popup ms |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        browser = Browser(Path(tmp) / "profile")
        try:
            for n in sizes:
                units = synthetic_units(n)
                t0 = time.perf_counter()
                m = explore_units(units, offline=True, title=f"{n} units")
                page = Path(tmp) / f"map_{n}.html"
                m.save(page)
                build = time.perf_counter() - t0
                html = page.read_text(encoding="utf-8")
                shown = int(_display_frame(units, None).count_coordinates().sum())
                t0 = time.perf_counter()
                browser.load(page.as_uri(), settle=0.0)
                load = time.perf_counter() - t0


                var = re.search(r"var (landcarbon_units_\w+) = \{", html).group(1)
                switch = browser.eval(SWITCH % 2)  # risk level -> space type
                popup = browser.eval(POPUP % var)
                assert not browser.errors, browser.errors
                print(f"| {len(units):,} | {int(units.count_coordinates().sum()):,} | "
                      f"{shown:,} | {page.stat().st_size / 1e6:.1f} | {build:.1f} | "
                      f"{load:.1f} | {switch:.0f} | {popup:.0f} |", flush=True)
        finally:
            browser.close()


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [500, 2000, 5000, 10000])
