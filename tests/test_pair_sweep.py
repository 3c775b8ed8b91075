"""Every period's transitions of a block in one compiled sweep
(:func:`landcarbon.change.pair_sweep.block_pair_areas`): bit for bit the areas and per-row
counts of the period-by-period path (pair raster, then the zonal engine), on random
land cover under irregular units, with broadcast blocks, nodata and codes no legend knows."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from affine import Affine
from pyproj import CRS
from shapely.geometry import MultiPoint, box

from landcarbon.change.pair_sweep import block_pair_areas, block_sweep
from landcarbon.change.transition_pass import _pair_bytes
from landcarbon.engine.areas import row_areas_m2
from landcarbon.engine.coverage import block_bucket_areas

H, W = 300, 420
#: 10 m cells near 34.7 N (EPSG:4326): every row has its own cell area
TRANSFORM = Affine(1e-4, 0, 113.6, 0, -1e-4, 34.8)


def _units(seed: int, count: int) -> np.ndarray:
    """Irregular non-overlapping units (Voronoi cells) covering part of the block."""
    rng = np.random.default_rng(seed)
    x0, y1 = TRANSFORM.c, TRANSFORM.f
    x1, y0 = x0 + W * TRANSFORM.a, y1 + H * TRANSFORM.e
    pts = MultiPoint(np.column_stack([rng.uniform(x0, x1, count), rng.uniform(y0, y1, count)]))
    cells = shapely.voronoi_polygons(pts, extend_to=box(x0, y0, x1, y1))
    inner = box(x0 + 0.1 * (x1 - x0), y0 - 0.2 * (y1 - y0), x1 + 0.3 * (x1 - x0), y1)
    parts = [c.intersection(inner) for c in shapely.get_parts(cells)]
    return np.array([p for p in parts if not p.is_empty and p.area > 0], dtype=object)


def _tables(n: int, seed: int) -> list[np.ndarray]:
    """Per date, the category of each byte: some values unknown or nodata (>= n)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(3):
        t = np.full(256, 255, np.uint8)
        t[:40] = rng.integers(0, n, 40)
        t[rng.integers(0, 40, 3)] = 255
        out.append(t)
    return out


def _reference(blocks, tables, pairs, n, geoms, row_area):
    """The period-by-period path of ``transition_pass._block``."""
    nn = n * n
    lut = np.minimum(np.arange(256, dtype=np.int64), nn)
    out = []
    for i, j in pairs:
        key, counts = _pair_bytes(blocks[i], blocks[j], tables[i], tables[j], n)
        areas, _, _ = block_bucket_areas(key, geoms, TRANSFORM, lut, 0, nn, row_area,
                                         ignore=nn)
        out.append((areas[:, :nn], counts))
    return out


@pytest.mark.parametrize(("seed", "n", "count"), [(1, 9, 40), (2, 15, 7), (3, 4, 150)])
def test_one_sweep_equals_period_by_period(seed: int, n: int, count: int) -> None:
    rng = np.random.default_rng(seed)
    blocks = [rng.integers(0, 48, (H, W), dtype=np.uint8) for _ in range(3)]
    blocks[1][:, 200:] = blocks[0][:, 200:]  # unchanged land: the diagonal
    blocks[2][50:120] = 255  # nodata rows
    geoms = _units(seed, count)
    tables = _tables(n, seed)
    pairs = [(0, 1), (1, 2), (0, 2)]
    row_area = row_areas_m2(TRANSFORM, H, CRS.from_epsg(4326))
    got = block_pair_areas(blocks, tables, pairs, n, geoms, TRANSFORM, row_area)
    want = _reference(blocks, tables, pairs, n, geoms, row_area)
    for (ga, gc), (wa, wc) in zip(got, want, strict=True):
        assert np.array_equal(ga, wa)  # exact: the same sums in the same order
        assert np.array_equal(gc, wc)
        assert gc.sum() == H * W  # every cell counted once per period
    # the units' pair areas are part of the block's area
    block_m2 = row_area.sum() * W
    assert 0 < got[0][0].sum() < block_m2


def test_broadcast_blocks_and_a_block_no_edge_reaches() -> None:
    n = 9
    tables = _tables(n, 5)
    code = int(np.flatnonzero(tables[0][:40] < n)[0])
    rng = np.random.default_rng(5)
    blocks = [np.broadcast_to(np.uint8(code), (H, W)),
              rng.integers(0, 48, (H, W), dtype=np.uint8),
              np.broadcast_to(np.uint8(255), (H, W))]
    pairs = [(0, 1), (1, 2), (0, 2)]
    row_area = row_areas_m2(TRANSFORM, H, CRS.from_epsg(4326))
    geoms = _units(5, 30)
    got = block_pair_areas(blocks, tables, pairs, n, geoms, TRANSFORM, row_area)
    want = _reference(blocks, tables, pairs, n, geoms, row_area)
    for (ga, gc), (wa, wc) in zip(got, want, strict=True):
        assert np.array_equal(ga, wa) and np.array_equal(gc, wc)
    assert not got[1][0].any()  # 2nd -> 3rd date: all nodata, no pair area
    # a unit far away from the block: no edge reaches it, nothing inside any unit
    far = np.array([box(0, 0, 1, 1)], dtype=object)
    got = block_pair_areas(blocks, tables, pairs, n, far, TRANSFORM, row_area)
    want = _reference(blocks, tables, pairs, n, far, row_area)
    for (ga, gc), (wa, wc) in zip(got, want, strict=True):
        assert not ga.any() and np.array_equal(ga, wa) and np.array_equal(gc, wc)


def test_hand_counted_block() -> None:
    """Two 2 x 2 dates under one unit covering the left column exactly: areas by hand."""
    tr = Affine(10.0, 0, 0, 0, -10.0, 20.0)  # projected 10 m cells: 100 m2 each
    a = np.array([[0, 1], [1, 1]], np.uint8)
    b = np.array([[0, 0], [1, 200]], np.uint8)
    table = np.full(256, 255, np.uint8)
    table[0], table[1] = 0, 1
    unit = np.array([box(0, 0, 10, 20)], dtype=object)
    (areas, rows), = block_pair_areas([a, b], [table, table], [(0, 1)], 2, unit, tr,
                                      np.full(2, 100.0))
    # left column: (0 -> 0) top, (1 -> 1) bottom; the right column is outside the unit
    assert areas.tolist() == [[100.0, 0.0, 0.0, 100.0]]
    # per row, every cell: top (0->0, 1->0), bottom (1->1, 1->nodata)
    assert rows.tolist() == [[1, 0, 1, 0, 0], [0, 0, 0, 1, 1]]


@pytest.mark.parametrize(("seed", "count"), [(7, 40), (8, 3)])
def test_dates_equal_a_land_cover_pass_each(seed: int, count: int) -> None:
    """The dates' bucket areas and cells of the one sweep are those of the zonal engine run on
    each date alone (bit for bit), with nodata, codes no legend knows and a broadcast date."""
    rng = np.random.default_rng(seed)
    codes = np.array([10, 20, 30, 40, 50, 60, 95, 100], np.int64)
    lut = np.full(256, len(codes) + 1, np.int64)  # unknown codes: the last bucket
    lut[codes] = np.arange(len(codes))
    lut[0] = len(codes)  # nodata
    category = np.array([0, 1, 2, 3, 4, 5, 5, 3, 255, 255])  # two codes share 5 and 3
    blocks = [rng.choice(np.r_[codes, 0, 77].astype(np.uint8), (H, W)) for _ in range(2)]
    blocks[1][:, :150] = blocks[0][:, :150]
    blocks.append(np.broadcast_to(np.uint8(40), (H, W)))
    geoms = _units(seed, count)
    row_area = row_areas_m2(TRANSFORM, H, CRS.from_epsg(4326))
    dates, periods = block_sweep(blocks, [lut] * 3, category, 6, [(0, 1), (1, 2)], geoms,
                                 TRANSFORM, row_area)
    for block, (areas, cells) in zip(blocks, dates, strict=True):
        want, want_cells, _ = block_bucket_areas(block, geoms, TRANSFORM, lut, 0,
                                                 len(codes) + 1, row_area)
        assert np.array_equal(areas, want) and np.array_equal(cells, want_cells)
        assert cells.sum() == H * W
    # 2nd -> 3rd date: the 3rd is all code 40 (category 3), so each unit's pairs (c, 3)
    # are its 2nd date's category areas, unchanged cells derived from the counts included
    second = np.zeros((len(geoms), 6))
    for bucket, cat in enumerate(category[:8]):
        second[:, cat] += dates[1][0][:, bucket]
    pairs = periods[1][0].reshape(len(geoms), 6, 6)
    assert np.allclose(pairs[:, :, 3], second, rtol=1e-12, atol=0)
    assert not np.delete(pairs, 3, axis=2).any()
    assert second.sum() > 0
