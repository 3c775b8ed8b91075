"""The one-pass land-cover engine (landcarbon.engine.landcover_pass) against the general path
(classify + code_counts + class_areas + derived rasters), on real GeoTIFFs, and its kernels."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
import xarray as xr
from conftest import GRID4_RUN_CONFIG, write_tif
from rasterio.transform import from_origin
from shapely.geometry import box

import landcarbon as lc
from landcarbon.accounting.classification import (
    check_codes,
    classify,
    code_counts,
    land_class_raster,
    land_class_values,
    space_type_raster,
    space_type_values,
)
from landcarbon.accounting.flux import category_flux_table, flux_density
from landcarbon.accounting.legends import Legend
from landcarbon.engine.landcover_pass import landcover_pass
from landcarbon.engine.zonal import class_areas
from landcarbon.exceptions import UnmappedCodesError
from landcarbon.io.raster import open_landcover

UTM = "EPSG:32649"
X0, Y0 = 500000, 3850000


class ArraySink:
    """A thread-safe sink writing into a preallocated array; counts the writes per pixel and
    the pieces that arrive as zero-stride (one-value) broadcasts."""

    def __init__(self, shape: tuple[int, int], dtype: object, log: list[str] | None = None,
                 name: str = "") -> None:
        self.array = np.zeros(shape, dtype)
        self.hits = np.zeros(shape, np.int32)
        self.broadcast = 0
        self.log, self.name = log, name
        self._lock = threading.Lock()

    def __setitem__(self, key: tuple[slice, slice], value: np.ndarray) -> None:
        with self._lock:
            self.array[key] = value
            self.hits[key] += 1
            self.broadcast += value.size > 1 and not any(value.strides)
            if self.log is not None:
                self.log.append(f"write {self.name}")


def _tables(legend: Legend, coeffs: object) -> dict[str, np.ndarray]:
    """The 256-entry category tables of land class, space type and flux (50 t C/ha)."""
    cats = legend.categories.reset_index(drop=True)
    lcv, stv = np.zeros(256, np.uint8), np.zeros(256, np.uint8)
    lcv[: len(cats)], stv[: len(cats)] = land_class_values(cats), space_type_values(cats)
    return {"land_class": lcv, "space_type": stv,
            "flux": category_flux_table(cats, coeffs, 50.0)[0]}  # type: ignore[arg-type]


def _run_pass(codes: xr.DataArray, units: gpd.GeoDataFrame, legend: Legend,
              exclude: tuple[int, ...] = (), **kw: Any
              ) -> tuple[pd.Series, pd.DataFrame, dict[str, ArraySink]]:
    """landcover_pass with the three derived rasters sent to ArraySinks."""
    tables = _tables(legend, lc.load_coefficients("lai2010"))
    shape = (codes.sizes["y"], codes.sizes["x"])
    sinks = {k: ArraySink(shape, t.dtype) for k, t in tables.items()}
    counts, areas = landcover_pass(codes, units, legend, exclude,
                                   rasters={k: (tables[k], sinks[k]) for k in tables}, **kw)
    return counts, areas, sinks


def _general(codes: xr.DataArray, units: gpd.GeoDataFrame, legend: Legend,
             exclude: tuple[int, ...] = ()
             ) -> tuple[pd.Series, pd.DataFrame, dict[str, np.ndarray], xr.DataArray]:
    """Counts, areas and rasters of the general (multi-pass) path."""
    cats = classify(codes, legend, exclude)
    rasters = {"land_class": land_class_raster(cats).values,
               "space_type": space_type_raster(cats).values,
               "flux": flux_density(cats, lc.load_coefficients("lai2010"), 50.0).values}
    return code_counts(codes), class_areas(cats, units), rasters, cats


def _by_key(areas: pd.DataFrame) -> pd.Series:
    return areas.set_index(["unit_id", "land_class", "space_type"])["area_ha"].sort_index()


def _assert_same(fast: tuple, ref: tuple, rtol: float = 1e-9) -> None:
    counts, areas, sinks = fast
    r_counts, r_areas, r_rasters, _ = ref
    assert counts.to_dict() == r_counts.to_dict() and len(counts)
    a, b = _by_key(areas).align(_by_key(r_areas), fill_value=0.0)
    assert len(a) and b.gt(0).any()
    np.testing.assert_allclose(a.to_numpy(), b.to_numpy(), rtol=rtol, atol=1e-12)
    for name, sink in sinks.items():
        assert (sink.hits == 1).all(), name  # every pixel received exactly once
        np.testing.assert_array_equal(sink.array, r_rasters[name], err_msg=name)


# ---------------------------------------------------------------------------------- 1: 4 x 4
# 10 m pixels (0.01 ha); 0 = nodata, 60 (bare) excluded
SMALL = np.array([[40, 40, 10, 10],
                  [40, 60, 10, 80],
                  [50, 50, 30, 80],
                  [50, 0, 30, 80]], dtype=np.uint8)


def _small(tmp_path: Path, chunks: int | None) -> xr.DataArray:
    """SMALL as a GeoTIFF, read into numpy or in 2 x 2 dask chunks."""
    codes = open_landcover(write_tif(tmp_path / "s.tif", SMALL, nodata=0), chunks=chunks)
    codes = codes.chunk({"y": chunks, "x": chunks}) if chunks else codes
    assert codes.data.chunks == ((2, 2), (2, 2)) if chunks else codes.data.shape == (4, 4)
    return codes


def _tiled(path: Path, array: np.ndarray, *, crs: str = UTM, transform: object = None,
           nodata: float) -> Path:
    """A GeoTIFF in 256-pixel tiles (dask chunks of 512 or 1024 then align on them)."""
    import rasterio

    with rasterio.open(path, "w", driver="GTiff", width=array.shape[1], height=array.shape[0],
                       count=1, dtype=array.dtype, crs=crs, nodata=nodata, tiled=True,
                       blockxsize=256, blockysize=256,
                       transform=transform or from_origin(X0, Y0, 10, 10)) as dst:
        dst.write(array, 1)
    return path


@pytest.mark.parametrize("chunks", [None, 2])
def test_hand_computed_small_grid(tmp_path: Path, chunks: int | None) -> None:
    codes = _small(tmp_path, chunks)
    # "a": columns 0-1 (boundary on a pixel edge); "b": column 2 and the west half of column 3
    units = gpd.GeoDataFrame({"unit_id": ["a", "b"]}, geometry=[
        box(X0, Y0 - 40, X0 + 20, Y0), box(X0 + 20, Y0 - 40, X0 + 35, Y0)], crs=UTM)
    legend = lc.load_legend("esa_worldcover")
    fast = _run_pass(codes, units, legend, (60,))
    counts, areas, sinks = fast
    assert counts.to_dict() == {10: 3, 30: 2, 40: 3, 50: 3, 60: 1, 80: 3}
    got = areas.set_index(["unit_id", "land_class"])["area_ha"].to_dict()
    assert got == pytest.approx({("a", "cropland"): 0.03, ("a", "construction"): 0.03,
                                 ("b", "forest"): 0.025, ("b", "grassland"): 0.02,
                                 ("b", "water"): 0.015}, rel=0, abs=1e-15)  # same keys too
    _assert_same(fast, _general(codes, units, legend, (60,)))
    # nodata and the excluded code: land class 0 and NaN flux; cropland is 1, flux 0.422
    assert sinks["land_class"].array[3, 1] == sinks["land_class"].array[1, 1] == 0
    assert np.isnan(sinks["flux"].array[[1, 3], [1, 1]]).all()
    assert sinks["flux"].array[0, 0] == np.float32(0.422)
    assert sinks["flux"].array[2, 0] == np.float32(50.0)


# ------------------------------------------------------------------------- 2: a larger grid
GEO = from_origin(110.0, 35.0, 1 / 1200, 1 / 1200)
MIX = np.array([0, 10, 20, 30, 40, 50, 60, 80, 90, 95, 100], np.uint8)


def _big_codes(seed: int = 7) -> np.ndarray:
    """2048 x 1536: chunk (0, 0) all nodata, chunk (0, 1) all forest, chunk (1, 0) random
    with a run of two cropland tiles and a water tile, chunk (1, 1) a tile of an excluded
    code over a mostly-nodata mixed tile."""
    rng = np.random.default_rng(seed)
    a = MIX[rng.integers(0, len(MIX), (2048, 1536))]
    a[:1024, :1024] = 0
    a[:1024, 1024:] = 10
    a[1024:1536, :1024] = 40
    a[1536:, 512:1024] = 80
    a[1024:1536, 1024:] = 60
    a[1536:, 1024:] = 0
    a[1700:1800, 1100:1200] = rng.choice(MIX, (100, 100))  # a mixed tile, mostly nodata
    return a


def _irregular_units(bounds: tuple[float, float, float, float]) -> gpd.GeoDataFrame:
    """Non-overlapping units: Voronoi cells clipped to a many-vertex disc, one with a hole,
    and a multipolygon (the hole's disc plus a far piece)."""
    x0, y0, x1, y1 = bounds
    rng = np.random.default_rng(3)
    pts = shapely.points(rng.uniform(x0, x1, 12), rng.uniform(y0, y1, 12))
    cx, cy, r = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) * 0.45
    pts[0] = shapely.Point(cx, cy)  # the hole: around a generator, inside its cell
    disc = shapely.Point(cx, cy).buffer(r, 64)
    near = min(shapely.distance(pts[0], pts[1:]).min(), r) / 3
    hole = shapely.Point(cx, cy).buffer(near, 32)
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(pts)))
    cells = [c.intersection(disc).difference(hole) for c in cells]
    cells = [c for c in cells if not c.is_empty]
    far = shapely.Point(x1 - r / 8, y1 - r / 8).buffer(r / 10, 16).difference(disc)
    multi = shapely.MultiPolygon([hole, far])
    assert max(len(shapely.get_coordinates(c)) for c in cells) > 20
    return gpd.GeoDataFrame({"unit_id": [f"u{i}" for i in range(len(cells) + 1)]},
                            geometry=[*cells, multi], crs="EPSG:4326")


@pytest.fixture(scope="module")
def big_tif(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("big") / "big.tif"
    return _tiled(path, _big_codes(), crs="EPSG:4326", transform=GEO, nodata=0)


@pytest.mark.parametrize("chunks", [None, 1024])
def test_large_grid_equals_general_path(big_tif: Path, chunks: int | None) -> None:
    from pyproj import CRS

    from landcarbon.engine.areas import row_areas_m2
    from landcarbon.engine.coverage import units_overlap

    codes = open_landcover(big_tif, chunks=chunks)
    assert not chunks or codes.data.chunks == ((1024, 1024), (1024, 512))
    b = codes.rio.bounds()
    units = _irregular_units(b)
    assert not units_overlap(units.geometry.to_numpy(), GEO.a * GEO.a)
    assert any(len(g.interiors) for g in units.geometry if g.geom_type == "Polygon")
    legend = lc.load_legend("esa_worldcover")
    fast = _run_pass(codes, units, legend, (60,))
    ref = _general(codes, units, legend, (60,))
    _assert_same(fast, ref)
    # one-value tiles and chunks reach the sinks as zero-memory blocks (the fast path)
    assert all(s.broadcast >= 3 for s in fast[2].values())
    if chunks is None:  # both paths share the edge-piece engine: exactextract as a third
        from landcarbon.engine.zonal import index_areas_ha

        cats = legend.categories.reset_index(drop=True)
        exact = pd.DataFrame(index_areas_ha(ref[3], units, len(cats), nodata=255,
                                            engine="exactextract"), index=units["unit_id"])
        exact = exact.T.groupby(cats["land_class"]).sum().T.stack()
        mine = fast[1].groupby(["unit_id", "land_class"])["area_ha"].sum()
        mine, exact = mine.align(exact, fill_value=0.0)
        np.testing.assert_allclose(mine.to_numpy(), exact.to_numpy(), rtol=1e-6, atol=1e-6)
    # conservation: units + the rest of the raster = every classified pixel's area
    rest = box(*b).difference(shapely.union_all(units.geometry.to_numpy()))
    all_units = pd.concat([units, gpd.GeoDataFrame({"unit_id": ["rest"]}, geometry=[rest],
                                                   crs=units.crs)], ignore_index=True)
    _, rest_areas, _ = _run_pass(codes, all_units, legend, (60,))
    rows = row_areas_m2(GEO, 2048, CRS("EPSG:4326")) / 1e4
    valid = (np.asarray(ref[3].values) != 255).sum(axis=1)
    total = float(rows @ valid)
    inside = fast[1]["area_ha"].sum()
    outside = rest_areas.loc[rest_areas["unit_id"] == "rest", "area_ha"].sum()
    assert 0 < outside < total and 0 < inside < total
    assert inside + outside == pytest.approx(total, rel=1e-9)
    assert rest_areas["area_ha"].sum() == pytest.approx(total, rel=1e-9)


# ---------------------------------------------------------------------- 3: each chunk once
def test_each_chunk_read_once(big_tif: Path) -> None:
    import dask
    from dask.callbacks import Callback

    codes = open_landcover(big_tif, chunks=512)
    units = _irregular_units(codes.rio.bounds())
    legend = lc.load_legend("esa_worldcover")
    tables = _tables(legend, lc.load_coefficients("lai2010"))
    sinks = {k: ArraySink((2048, 1536), t.dtype) for k, t in tables.items()}
    lazy = landcover_pass(codes, units, legend, (60,), lazy=True,
                          rasters={k: (tables[k], sinks[k]) for k in tables})
    assert hasattr(lazy, "compute") and sinks["land_class"].hits.sum() == 0  # nothing yet
    graph = dict(codes.data.__dask_graph__())
    ran: dict[object, int] = {}

    class Count(Callback):
        def _pretask(self, key: Any, dsk: Any, state: Any) -> None:
            ran[key] = ran.get(key, 0) + 1

    with Count():
        (counts, areas), other = dask.compute(lazy, code_counts(codes, lazy=True))
    chunk_keys = {codes.data.__dask_keys__()[i][j] for i in range(4) for j in range(3)}
    assert {k: ran.get(k, 0) for k in chunk_keys} == dict.fromkeys(chunk_keys, 1)  # 12 chunks
    # the reads (the raster graph's open_rasterio tasks) ran once each, no task of the raster
    # graph twice, nothing re-read the file under another name; one pass task per chunk
    reads = [k for k in graph if isinstance(k, tuple) and k[0].startswith("open_rasterio")]
    assert len(reads) == 12 and all(ran.get(k) == 1 for k in reads)
    assert max(ran.get(k, 0) for k in graph) == 1
    assert [k for k in ran if "rasterio" in str(k) and k not in graph] == []
    assert len([k for k in ran if str(k).count("landcover-pass")]) == 12 + 1
    assert counts.to_dict() == other.to_dict() == code_counts(open_landcover(big_tif)).to_dict()
    assert len(areas) and all((s.hits == 1).all() for s in sinks.values())


# ------------------------------------------------------------------------ 4: unknown codes
def test_unknown_codes_are_counted_and_refused(tmp_path: Path) -> None:
    a = np.full((600, 700), 10, np.uint8)  # wider than a tile: the one-value tile path too
    a[5, 5], a[7, 600:603], a[599, 699] = 7, 200, 0
    a[520:600, 0:512] = 7  # a partial tile of one unknown code
    tif = _tiled(tmp_path / "u.tif", a, nodata=0)
    units = gpd.GeoDataFrame({"unit_id": ["all"]}, geometry=[box(X0, 0, 1e6, Y0)], crs=UTM)
    legend = lc.load_legend("esa_worldcover")
    for chunks in (None, 256):
        codes = open_landcover(tif, chunks=chunks)
        fast = _run_pass(codes, units, legend)
        counts = fast[0]  # nodata (1 pixel) left out
        assert counts.to_dict() == {7: 80 * 512 + 1, 10: 600 * 700 - 80 * 512 - 5, 200: 3}
        _assert_same(fast, _general(codes, units, legend))
        with pytest.raises(UnmappedCodesError, match=r"7 \(40,961 px\).*200 \(3 px\)") as e:
            check_codes(counts, legend)
        assert e.value.counts == {7: 40961, 200: 3}


# -------------------------------------------------------------------- 5: other integer types
@pytest.mark.parametrize("dtype,nodata,legend_name,values", [
    ("int16", -32768, "esa_worldcover", [-32768, 10, 20, 30, 40, 50, 80, -5, 300]),
    ("uint16", 65535, "corine", [65535, 111, 211, 311, 512, 999, 523, 700]),
    ("int8", -128, "esa_worldcover", [-128, 10, 20, 30, 40, 50, 80, -5, 100]),
])
def test_other_integer_types(tmp_path: Path, dtype: str, nodata: int, legend_name: str,
                             values: list[int]) -> None:
    rng = np.random.default_rng(11)
    a = np.asarray(values, dtype)[rng.integers(0, len(values), (700, 1100))]
    a[:512, :512] = values[1]  # one-value tile
    a[:, 1024:] = nodata  # a one-value tile of nodata at the right edge
    tif = _tiled(tmp_path / "t.tif", a, nodata=nodata)
    units = _irregular_units((X0, Y0 - 7000, X0 + 11000, Y0)).set_crs(UTM, allow_override=True)
    legend = lc.load_legend(legend_name)
    for chunks in (None, 512):
        codes = open_landcover(tif, chunks=chunks)
        assert codes.dtype == np.dtype(dtype)
        fast = _run_pass(codes, units, legend)
        _assert_same(fast, _general(codes, units, legend))
        # the largest code (> 255 for uint16) and an unknown one counted, nodata not
        assert max(fast[0].index) == max(values[1:]) and values[-2] in fast[0].index
        assert nodata not in fast[0].index


def test_uint64_codes(tmp_path: Path) -> None:
    """Types the kernels are not compiled for (uint64) take the general path."""
    codes = open_landcover(write_tif(tmp_path / "u64.tif", SMALL.astype(np.uint64), nodata=0),
                           chunks=None)
    assert codes.dtype == np.uint64
    units = gpd.GeoDataFrame({"unit_id": ["a"]}, geometry=[box(X0, Y0 - 40, X0 + 35, Y0)],
                             crs=UTM)
    legend = lc.load_legend("esa_worldcover")
    ref = _general(codes, units, legend, (60,))
    assert ref[0].to_dict() == {10: 3, 30: 2, 40: 3, 50: 3, 60: 1, 80: 3}
    _assert_same(_run_pass(codes, units, legend, (60,)), ref)


# ---------------------------------------------------------------------- 6: overlapping units
@pytest.mark.parametrize("chunks", [None, 2])
def test_overlapping_units_fall_back(tmp_path: Path, chunks: int | None) -> None:
    codes = _small(tmp_path, chunks)
    units = gpd.GeoDataFrame({"unit_id": ["all", "west"]}, geometry=[
        box(X0, Y0 - 40, X0 + 40, Y0), box(X0, Y0 - 40, X0 + 25, Y0)], crs=UTM)
    legend = lc.load_legend("esa_worldcover")
    fast = _run_pass(codes, units, legend, (60,))
    _assert_same(fast, _general(codes, units, legend, (60,)))
    totals = fast[1].groupby("unit_id")["area_ha"].sum()
    # 14 classified pixels in "all"; "west": columns 0-1 (6) + half of column 2 (4 / 2)
    assert totals.to_dict() == pytest.approx({"all": 0.14, "west": 0.08}, abs=1e-12)


# ------------------------------------------------------------------------------- 7: kernels
def _reference_tiles(codes: np.ndarray, lut: np.ndarray, lo: int, outside: int) -> np.ndarray:
    from landcarbon.engine.coverage import TILE

    h, w = codes.shape
    out = np.full((-(-h // TILE), -(-w // TILE)), -1, np.int64)
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            t = codes[i * TILE:(i + 1) * TILE, j * TILE:(j + 1) * TILE]
            if (t == t.flat[0]).all():
                k = int(t.flat[0]) - lo
                out[i, j] = lut[k] if 0 <= k < lut.size else outside
    return out


@pytest.mark.parametrize("dtype,shape", [("uint8", (1100, 1536)), ("uint8", (1030, 1027)),
                                         ("int16", (1100, 1028)), ("int16", (600, 1031)),
                                         ("uint16", (520, 2048))])
def test_tile_buckets_word_and_value_paths(dtype: str, shape: tuple[int, int]) -> None:
    from landcarbon.engine.coverage import TILE, _tile_buckets

    rng = np.random.default_rng(5)
    lo = -3 if dtype == "int16" else 0
    codes = rng.integers(lo, 9, shape).astype(dtype)
    codes[:TILE, :TILE] = 4
    codes[TILE:, TILE:2 * TILE] = -2 if lo else 2  # a partial tile (bottom rows)
    codes[:TILE, 2 * TILE:] = 8  # a partial tile (right edge); 8 is off the table
    # one 8-byte word repeated over the tile but two values alternating: not one value
    codes[TILE:2 * TILE, :TILE] = np.resize(np.array([5, 6], dtype), TILE)[None, :]
    codes[(shape[0] - 1) // TILE * TILE:, (shape[1] - 1) // TILE * TILE:] = 3  # bottom right
    lut = np.arange(8, dtype=np.int64)  # values lo..lo+7 -> buckets; 8 is off the table
    ref = _reference_tiles(codes, lut, lo, 99)
    assert (ref >= 0).sum() >= 3 and (ref == 99).any() and ref[1, 0] == -1
    assert ref[-1, -1] == 3 - lo
    word, value = np.empty_like(ref), np.empty_like(ref)
    _tile_buckets(np.ascontiguousarray(codes), lut, lo, 99, word)  # word path if it can
    _tile_buckets(np.ascontiguousarray(codes), lut, lo, 99, value, words=False)
    np.testing.assert_array_equal(word, ref)
    np.testing.assert_array_equal(value, ref)


def test_edge_pieces_and_exact_coverage() -> None:
    from landcarbon.engine.boundary_kernels import edge_pieces
    from landcarbon.engine.coverage import boundary_coverage

    # a unit square centred on the corner shared by the 4 cells of a 2 x 2 grid
    edges = np.array([[0.5, 0.5, 1.5, 0.5], [1.5, 0.5, 1.5, 1.5], [1.5, 1.5, 0.5, 1.5],
                      [0.5, 1.5, 0.5, 0.5]])
    owner, row, col, partial, full = edge_pieces(edges, np.zeros(4, np.int64))
    assert list(zip(row.tolist(), col.tolist(), strict=True)) == [
        (0, 0), (0, 1), (0, 1), (1, 1), (1, 1), (1, 0), (1, 0), (0, 0)]
    assert partial.tolist() == [-0.25, -0.25, 0, 0, 0.25, 0.25, 0, 0]
    assert full.tolist() == [-0.5, -0.5, 0, 0, 0.5, 0.5, 0, 0]
    assert owner.tolist() == [0] * 8
    square = shapely.box(0.5, 0.5, 1.5, 1.5)
    _, r, c, cov = boundary_coverage(np.array([square]), (2, 2))
    assert dict(zip(zip(r.tolist(), c.tolist(), strict=True), cov.tolist(),
                    strict=True)) == {(0, 0): 0.25, (0, 1): 0.25, (1, 0): 0.25, (1, 1): 0.25}
    # a unit square on cell (1, 0) exactly, and a 1.5 x 1 strip over row 0 from x = 0.25
    o, r, c, cov = boundary_coverage(np.array([shapely.box(0, 1, 1, 2),
                                               shapely.box(0.25, 0, 1.75, 1)]), (2, 2))
    got = {(int(k), int(y), int(x)): v for k, y, x, v in zip(o, r, c, cov, strict=True)}
    assert got[(0, 1, 0)] == 1.0 and got[(1, 0, 0)] == 0.75 and got[(1, 0, 1)] == 0.75
    assert all(v == 0 for k, v in got.items() if k not in {(0, 1, 0), (1, 0, 0), (1, 0, 1)})


# ----------------------------------------------------------------- 8: assess(raster_sinks=)
@pytest.mark.parametrize("method", ["intensity", "energy"])
def test_assess_feeds_raster_sinks(tmp_path: Path, grid4_tif: Path, halves_gpkg: Path,
                                   method: str) -> None:
    from landcarbon.pipeline import assess

    text = 'title = "sinks"\n' + GRID4_RUN_CONFIG
    if method == "energy":
        (tmp_path / "energy.csv").write_text("unit_id,raw_coal_t\nW,10\nE,30\n",
                                             encoding="utf-8")
        text = text.replace('method = "intensity"\nintensity_tc_per_ha = 50.0',
                            'method = "energy"\nenergy_table = "energy.csv"')
    (tmp_path / "run.toml").write_text(text, encoding="utf-8")
    config = lc.load_config(tmp_path / "run.toml")
    log: list[str] = []
    sinks: dict[str, ArraySink] = {}

    def opener(name: str) -> Any:
        def open_sink(template: xr.DataArray) -> ArraySink:
            log.append(f"open {name}")
            sinks[name] = ArraySink(template.shape, template.dtype, log, name)
            return sinks[name]
        return open_sink

    a = assess(config, raster_sinks={"net_flux": opener("net_flux"),
                                     "land_class": opener("land_class")})
    assert set(sinks) == {"net_flux", "land_class"}
    flux = a.flux_raster().values
    assert sinks["net_flux"].array.dtype == np.float32
    np.testing.assert_array_equal(sinks["net_flux"].array, flux)
    np.testing.assert_array_equal(sinks["land_class"].array,
                                  land_class_raster(a.categories).values)
    assert all((s.hits == 1).all() for s in sinks.values())
    assert np.isnan(flux[3, 1]) and flux[0, 0] == np.float32(0.422)  # nodata; cropland
    if method == "intensity":  # both opened before the pass, fed by it
        assert log[:2] == ["open land_class", "open net_flux"]
        assert flux[2, 0] == np.float32(50.0)  # construction (code 50) at the intensity
    else:  # the flux sink follows the balance: opened after the land classes were written
        assert log.index("open net_flux") > log.index("write land_class")
        per_ha = float(a.construction["intensity_tc_per_ha_by_unit"]["W"])
        assert flux[2, 0] == np.float32(per_ha) and per_ha != pytest.approx(50.0)
    with pytest.raises(ValueError, match="bogus"):
        assess(config, raster_sinks={"bogus": opener("bogus")})


def test_assess_with_overlapping_units(tmp_path: Path, grid4_tif: Path,
                                       caplog: pytest.LogCaptureFixture) -> None:
    """The overlap check runs beside the pass, which assumes no overlap; units sharing a
    cell or more are then counted again by the general path (exactextract): each unit gets
    its full area, the overlap is warned about, and the sinks get each pixel once."""
    from landcarbon.pipeline import assess

    # columns 1 and 2 lie inside both units (cells no boundary crosses)
    gpd.GeoDataFrame({"code": ["W", "E"], "name": ["w", "e"]}, geometry=[
        box(500000, 3849960, 500035, 3850000), box(500005, 3849960, 500040, 3850000)],
        crs=UTM).to_file(tmp_path / "halves.gpkg", layer="units")
    # accepted only on request ([units] allow_overlaps; the gate refuses them otherwise)
    (tmp_path / "run.toml").write_text('title = "overlap"\n' + GRID4_RUN_CONFIG.replace(
        "[units]\n", "[units]\nallow_overlaps = true\n"), encoding="utf-8")
    log: list[str] = []
    sinks: dict[str, ArraySink] = {}

    def open_sink(template: xr.DataArray) -> ArraySink:
        sinks["land_class"] = ArraySink(template.shape, template.dtype, log, "land_class")
        return sinks["land_class"]

    with caplog.at_level("WARNING", logger="landcarbon"):
        a = assess(lc.load_config(tmp_path / "run.toml"),
                   raster_sinks={"land_class": open_sink})
    assert any("overlap" in r.getMessage() for r in caplog.records)
    got = a.class_areas.pivot_table(index="unit_id", columns="land_class", values="area_ha",
                                    aggfunc="sum").fillna(0.0)
    # W: columns 0-2 and half of column 3; E: half of column 0 and columns 1-3 (0.01 ha/px)
    expected = {"W": {"cropland": 0.04, "construction": 0.03, "forest": 0.025,
                      "grassland": 0.02, "water": 0.015},
                "E": {"cropland": 0.03, "construction": 0.02, "forest": 0.03,
                      "grassland": 0.02, "water": 0.03}}
    for unit, row in expected.items():
        for land_class, ha in row.items():
            assert got.loc[unit].get(land_class, 0.0) == pytest.approx(ha, abs=1e-12)
    assert (sinks["land_class"].hits == 1).all()
