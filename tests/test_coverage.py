"""The block zonal engine (landcarbon.engine.coverage) against exactextract and hand-computed
areas."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from conftest import write_tif
from rasterio.transform import from_origin
from shapely.geometry import box

from landcarbon.engine.coverage import boundary_coverage, units_overlap
from landcarbon.engine.zonal import index_areas_ha
from landcarbon.io.raster import open_landcover


def _voronoi_units(bounds: tuple[float, float, float, float], n: int, seed: int,
                   crs: str) -> gpd.GeoDataFrame:
    """Non-overlapping irregular units with a hole and a two-part unit."""
    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = bounds
    pts = shapely.points(rng.uniform(x0, x1, n), rng.uniform(y0, y1, n))
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(pts)))
    cells = shapely.intersection(cells, box(*bounds))
    cells = [c for c in cells if not c.is_empty]
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    hole = shapely.Point(cx, cy).buffer((x1 - x0) / 9, 16)
    cells = [c.difference(hole) for c in cells]
    lone = shapely.MultiPolygon([hole, box(x1 + 1e-9, y0, x1 + (x1 - x0) / 7, y1)])
    return gpd.GeoDataFrame({"unit_id": [f"u{i}" for i in range(len(cells) + 1)]},
                            geometry=[*cells, lone], crs=crs)


@pytest.mark.parametrize("chunks", [None, 16])
@pytest.mark.parametrize("crs,transform", [
    ("EPSG:4326", from_origin(110.0, 35.0, 0.001, 0.001)),
    ("EPSG:32649", from_origin(500000, 3850000, 30, 30)),
])
def test_blocks_engine_equals_exactextract(tmp_path: Path, chunks, crs, transform) -> None:
    rng = np.random.default_rng(1)
    codes = rng.integers(0, 6, (50, 70)).astype(np.uint8)
    codes[10:14, 3:40] = 255
    codes[:, 50:] = 255  # data only in the west: per-block work on its bounding box
    tif = write_tif(tmp_path / "idx.tif", codes, crs=crs, transform=transform, nodata=255)
    da = open_landcover(tif, chunks=chunks)
    left, top = transform.c, transform.f
    units = _voronoi_units((left - 3 * transform.a, top + 55 * transform.e,
                            left + 60 * transform.a, top - 2 * transform.e), 25, 3, crs)
    assert not units_overlap(units.geometry.to_numpy(), abs(transform.a * transform.e))
    fast = index_areas_ha(da, units, 6, nodata=255, engine="blocks")
    ref = index_areas_ha(da, units, 6, nodata=255, engine="exactextract")
    assert fast.shape == (len(units), 6)
    big = ref > 1e-9
    assert np.all(np.abs(fast[big] - ref[big]) / ref[big] < 1e-6)
    assert np.all(np.abs(fast[~big]) < 1e-9)
    assert index_areas_ha(da, units, 6, nodata=255) == pytest.approx(fast, rel=0, abs=0)


def test_blocks_engine_equals_exactextract_direct_on_file(tmp_path: Path) -> None:
    """Same areas as exactextract called directly on the file (coverage x ellipsoidal row
    area), the comparison the benchmark makes at scale."""
    from exactextract import exact_extract

    from landcarbon.engine.areas import row_areas_m2

    transform = from_origin(6.0, 0.5, 1 / 12000, 1 / 12000)
    rng = np.random.default_rng(5)
    codes = rng.integers(1, 9, (120, 90)).astype(np.uint8)
    tif = write_tif(tmp_path / "c.tif", codes, crs="EPSG:4326", transform=transform, nodata=0)
    units = _voronoi_units((6.0, 0.5 - 120 / 12000, 6.0 + 95 / 12000, 0.5), 30, 9, "EPSG:4326")
    raw = exact_extract(str(tif), units, ["cell_id", "values", "coverage"], output="pandas")
    rows = row_areas_m2(transform, 120, __import__("pyproj").CRS("EPSG:4326"))
    ref = np.zeros((len(units), 9))
    for i, (cid, val, cov) in enumerate(zip(raw["cell_id"], raw["values"], raw["coverage"],
                                            strict=True)):
        r = np.asarray(cid) // 90
        ref[i] = np.bincount(np.asarray(val, int), weights=np.asarray(cov) * rows[r],
                             minlength=9) / 1e4
    fast = index_areas_ha(open_landcover(tif), units, 9, nodata=0, engine="blocks")
    big = ref > 1e-9
    assert np.max(np.abs(fast[big] - ref[big]) / ref[big]) < 1e-6
    assert fast.sum() == pytest.approx(ref.sum(), rel=1e-9)


def test_hand_computed_partial_cells(tmp_path: Path) -> None:
    """10 m cells (0.01 ha): a unit covering 1.5 x 2.25 cells of value 1 and 0.5 x 2.25 of 2;
    a unit whose edges run along grid lines (no boundary inside any cell)."""
    codes = np.array([[1, 2, 3, 3],
                      [1, 2, 3, 3],
                      [1, 2, 3, 3],
                      [1, 2, 3, 3]], dtype=np.uint8)
    tif = write_tif(tmp_path / "h.tif", codes, nodata=0)
    units = gpd.GeoDataFrame({"unit_id": ["a", "b"]}, geometry=[
        box(500000 - 5, 3850000 - 22.5, 500015, 3850000),  # partly outside the raster
        box(500020, 3849960, 500040, 3849980),              # cells (2..3, 2..3) exactly
    ], crs="EPSG:32649")
    areas = index_areas_ha(open_landcover(tif), units, 4, nodata=0, engine="blocks")
    assert areas[0] == pytest.approx([0, 1.0 * 2.25 * 0.01, 0.5 * 2.25 * 0.01, 0], abs=1e-12)
    assert areas[1] == pytest.approx([0, 0, 0, 4 * 0.01], abs=1e-12)


def test_overlapping_units_fall_back_to_exactextract(grid4_tif: Path) -> None:
    units = gpd.GeoDataFrame({"unit_id": ["all", "west"]}, geometry=[
        box(500000, 3849960, 500040, 3850000), box(500000, 3849960, 500020, 3850000)],
        crs="EPSG:32649")
    assert units_overlap(units.geometry.to_numpy())
    da = open_landcover(grid4_tif)
    areas = index_areas_ha(da, units, 256, nodata=0)
    # every non-nodata cell once in "all" (15 cells), the west half (7 cells) in "west"
    assert areas[0].sum() == pytest.approx(0.15)
    assert areas[1].sum() == pytest.approx(0.07)
    assert areas[0, 40] == pytest.approx(0.04)


def test_boundary_coverage_of_a_diamond() -> None:
    """A diamond with corners on cell centres of a 2 x 2 grid covers half of each cell."""
    diamond = shapely.Polygon([(1, 0), (2, 1), (1, 2), (0, 1)])
    owner, row, col, cov = boundary_coverage(np.array([diamond]), (2, 2))
    assert sorted(zip(row.tolist(), col.tolist(), strict=True)) == [(0, 0), (0, 1), (1, 0),
                                                                     (1, 1)]
    assert cov == pytest.approx([0.5] * 4)
    assert set(owner.tolist()) == {0}


def test_compiled_boundary_cells_equal_the_numpy_grouping() -> None:
    """``boundary_kernels.boundary_cells`` (compiled, used by the one-pass engine) gives the same
    (owner, cell, coverage) entries as the numpy grouping ``coverage._group``, cells in
    row-major order, and scanline pieces sorted by row, descending."""
    from landcarbon.engine.block_cells import clipped_pieces
    from landcarbon.engine.boundary_kernels import boundary_cells
    from landcarbon.engine.coverage import _group

    units = _voronoi_units((0.0, 0.0, 37.0, 23.0), 40, 11, "EPSG:32649")
    geoms = units.geometry.to_numpy()
    pieces = clipped_pieces(geoms, (23, 37))
    assert pieces is not None
    owner, row, col, cov = _group(*pieces, (23, 37))
    (cell_start, cell_row, cell_col, e_cell, e_owner, e_cov, corr, known, lv_row, _lv_col,
     _lv_val) = boundary_cells(*pieces, 23, 37)
    ref = sorted(zip(row.tolist(), col.tolist(), owner.tolist(), cov.tolist(), strict=True))
    got = sorted(zip(cell_row[e_cell].tolist(), cell_col[e_cell].tolist(), e_owner.tolist(),
                     e_cov.tolist(), strict=True))
    assert [r[:3] for r in got] == [r[:3] for r in ref]
    np.testing.assert_allclose([r[3] for r in got], [r[3] for r in ref], rtol=0, atol=1e-12)
    keys = cell_row * 37 + cell_col
    assert (np.diff(keys) > 0).all() and len(keys) == len(np.unique(row * 37 + col))
    for r in range(23):  # the cells of row r are cell_start[r]:cell_start[r + 1]
        assert (cell_row[cell_start[r]:cell_start[r + 1]] == r).all()
    assert cell_start[-1] == len(cell_row)
    assert (np.diff(lv_row) <= 0).all() and lv_row.min() > 0
    # per cell, the coverage of the units crossing it never exceeds the cell
    total = np.bincount(e_cell, weights=e_cov, minlength=len(cell_row))
    assert total.max() <= 1 + 1e-9
    np.testing.assert_allclose(known, np.bincount(e_cell, weights=(e_owner + 1.0) * e_cov),
                               atol=1e-12)
    assert corr.shape == known.shape
