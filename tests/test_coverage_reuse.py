"""The units' coverage of a grid (boundary cells and their exact fractions) is computed once
per grid and units and reused by every raster on that grid (issue 16): dates of a change run,
scenarios, draws. Counted with the cache's own counter; results identical to a fresh
computation."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from landcarbon.accounting.legends import load_legend
from landcarbon.engine.block_cells import COVERAGE
from landcarbon.engine.landcover_pass import landcover_pass
from landcarbon.io.raster import open_landcover
from tests.conftest import write_tif

CODES = np.array([10, 20, 30, 40, 50, 60, 80], np.uint8)


def _units(n: int = 7) -> gpd.GeoDataFrame:
    """Irregular units (Voronoi cells) over a 1.2 x 1 km grid of 10 m cells."""
    rng = np.random.default_rng(3)
    x0, y0 = 500000.0, 3849000.0
    pts = shapely.multipoints(np.column_stack([x0 + rng.uniform(0, 1200, n),
                                               y0 + rng.uniform(0, 1000, n)]))
    box = shapely.box(x0, y0, x0 + 1200, y0 + 1000)
    cells = shapely.intersection(shapely.get_parts(shapely.voronoi_polygons(
        pts, extend_to=box)), box)
    return gpd.GeoDataFrame({"unit_id": [f"u{i}" for i in range(len(cells))]},
                            geometry=cells, crs="EPSG:32649")


def _pass(path: Path, units: gpd.GeoDataFrame) -> pd.DataFrame:
    codes = open_landcover(path, chunks=32)
    return landcover_pass(codes, units, load_legend("esa_worldcover"))[1]


def test_dates_on_one_grid_compute_coverage_once(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    dates = [write_tif(tmp_path / f"d{k}.tif", rng.choice(CODES, (100, 120)))
             for k in range(3)]
    units = _units()
    COVERAGE.clear()
    first_count = COVERAGE.computed
    with COVERAGE.reusing():
        first = _pass(dates[0], units)
        per_date = COVERAGE.computed - first_count
        assert per_date > 0
        reused = COVERAGE.reused
        later = [_pass(p, units) for p in dates[1:]]
        assert COVERAGE.computed - first_count == per_date  # nothing computed again
        assert COVERAGE.reused - reused >= 2 * per_date
    assert COVERAGE.nbytes == 0  # dropped at the end of the reuse
    # identical to computing the coverage afresh
    for path, table in zip(dates, [first, *later], strict=True):
        COVERAGE.clear()
        fresh = _pass(path, units)
        pd.testing.assert_frame_equal(table, fresh)
    # the areas are right: every unit's total is its polygon area (cells fully in the grid)
    total = first.groupby("unit_id")["area_ha"].sum()
    expected = pd.Series(units.area.to_numpy() / 1e4, index=units["unit_id"])
    assert np.allclose(total.reindex(expected.index), expected, rtol=1e-9)


def test_other_units_or_grid_compute_their_own(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    path = write_tif(tmp_path / "a.tif", rng.choice(CODES, (100, 120)))
    COVERAGE.clear()
    with COVERAGE.reusing():
        _pass(path, _units(7))
        n = COVERAGE.computed
        moved = _units(7)
        moved["geometry"] = moved.translate(5.0, 0.0)  # half a cell: other boundary cells
        a = _pass(path, moved)
        assert COVERAGE.computed > n
    COVERAGE.clear()
    pd.testing.assert_frame_equal(a, _pass(path, moved))


def test_dropping_after_keeps_a_block_for_its_expected_uses_only() -> None:
    """Inside ``dropping_after(3)`` a kept block is dropped at its third use (the computation
    counts as the first); a fourth use computes it again; outside it blocks stay kept."""
    from landcarbon.engine.block_cells import CoverageCache

    cache = CoverageCache()
    calls: list[str] = []

    def compute(name: str) -> tuple[np.ndarray, ...]:
        calls.append(name)
        return (np.zeros(1000),)  # 8,000 bytes

    with cache.reusing():
        with cache.dropping_after(3):
            cache.get("a", lambda: compute("a"))
            cache.get("b", lambda: compute("b"))
            assert cache.nbytes == 2 * (64 + 8000)
            cache.get("a", lambda: compute("a"))
            assert cache.nbytes == 2 * (64 + 8000)
            cache.get("a", lambda: compute("a"))  # third use of a: dropped
            assert cache.nbytes == 64 + 8000
            assert (cache.computed, cache.reused) == (2, 2)
            cache.get("a", lambda: compute("a"))  # an unexpected fourth use: again
            assert calls == ["a", "b", "a"]
        cache.get("b", lambda: compute("b"))  # b was used once: still kept
        cache.get("b", lambda: compute("b"))
        cache.get("b", lambda: compute("b"))  # no dropping outside the block
        assert calls == ["a", "b", "a"]
        assert cache.nbytes == 2 * (64 + 8000)
    assert cache.nbytes == 0
