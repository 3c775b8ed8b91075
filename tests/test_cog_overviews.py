"""The compiled 2 x 2 average of COG overview levels (landcarbon.io.overviews) gives the same
values, bit for bit, as the numpy reduction it replaced, on tiles of a real land-cover
raster (a flux look-up of ESA WorldCover codes, NaN nodata) and on made-up edge cases."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from conftest import shared

from landcarbon.io.overviews import average_2x2, average_2x2_numpy


def _same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def _flux_tiles(nodata: float) -> list[np.ndarray]:
    with rasterio.open(shared("worldcover", "worldcover_2020_v100_saotome_crop.tif")) as src:
        codes = src.read(1)
    table = np.full(256, nodata, np.float32)
    for code, value in {10: -1.3, 20: -0.7, 30: -0.1, 40: 0.35, 50: 20.0, 60: 0.0,
                        90: -0.45, 95: -2.1}.items():  # water (80): nodata
        table[code] = value
    flux = table[codes]
    h, w = (s - s % 2 for s in flux.shape)
    return [flux[r:r + 512, c:c + 512] for r in range(0, h, 512) for c in range(0, w, 512)
            if min(h - r, 512) % 2 == 0 and min(w - c, 512) % 2 == 0]


@pytest.mark.parametrize("nodata", [float("nan"), -9999.0])
def test_real_tiles_bit_identical(nodata: float) -> None:
    tiles = _flux_tiles(nodata)
    assert len(tiles) >= 4
    mixed = 0
    for tile in tiles:
        ours, ref = average_2x2(tile, nodata), average_2x2_numpy(tile, nodata)
        assert _same_bits(ours, ref)
        contiguous = np.ascontiguousarray(tile)
        assert _same_bits(average_2x2(contiguous, nodata), ref)
        valid = ~np.isnan(tile) & (tile != nodata)
        mixed += bool(valid.any() and not valid.all())
    assert mixed  # tiles with nodata and data: the partial 2 x 2 means are exercised


def test_hand_computed_values() -> None:
    nan = np.nan
    tile = np.array([[1, 2, nan, nan, 5, nan],
                     [3, 4, nan, nan, nan, nan]], np.float32)
    out = average_2x2(tile, nan)
    assert out[0, 0] == 2.5 and np.isnan(out[0, 1]) and out[0, 2] == 5
    assert _same_bits(out, average_2x2_numpy(tile, nan))
    # numeric nodata: counted as missing, written where no pixel is valid
    tile = np.array([[-9, -9, 1, -9], [-9, -9, 2, 6]], np.float64)
    out = average_2x2(tile, -9.0)
    assert out.tolist() == [[-9.0, 3.0]]
    assert _same_bits(out, average_2x2_numpy(tile, -9.0))


def test_edge_values_bit_identical() -> None:
    rng = np.random.default_rng(7)
    for dtype in (np.float32, np.float64):
        pool = np.array([np.nan, np.inf, -np.inf, -0.0, 0.0, 1e-45, 3.4e38, -3.4e38, 0.1,
                         1 / 3, -7.25], dtype)
        tile = rng.choice(pool, (64, 96)).astype(dtype)
        tile[:2, :2] = np.nan  # an all-missing 2 x 2
        for nodata in (None, float("nan"), -7.25):
            assert _same_bits(average_2x2(tile, nodata), average_2x2_numpy(tile, nodata))
        smooth = rng.normal(size=(512, 512)).astype(dtype)  # no NaN: the s * 0.25 branch
        assert _same_bits(average_2x2(smooth, None), average_2x2_numpy(smooth, None))


def test_refuses_odd_or_integer_tiles() -> None:
    with pytest.raises(ValueError, match="even size"):
        average_2x2(np.zeros((3, 4), np.float32), None)
    with pytest.raises(ValueError, match="floating-point"):
        average_2x2(np.zeros((4, 4), np.uint8), None)


def test_cog_digest_taken_while_writing(tmp_path: Path) -> None:
    """The SHA-256 a COG's writer computes on the bytes it writes is the file's, and a
    manifest's ``sha256`` returns it; a file changed afterwards is hashed again."""
    import hashlib

    import rioxarray  # noqa: F401  (the .rio accessor)
    import xarray as xr
    from rasterio.transform import from_origin

    from landcarbon.io import outputs
    from landcarbon.io.cogs import write_raster

    a = np.arange(700 * 900, dtype=np.float32).reshape(700, 900) % 7
    da = xr.DataArray(a, dims=("y", "x")).rio.write_crs("EPSG:4326").rio.write_transform(
        from_origin(113.0, 35.0, 1e-4, 1e-4))
    path = tmp_path / "f.tif"
    write_raster(da, path, nodata=float("nan"))
    truth = hashlib.sha256(path.read_bytes()).hexdigest()
    assert outputs._WRITTEN[outputs._file_key(path)] == truth
    assert outputs.sha256(path) == truth
    with open(path, "r+b") as f:  # same size, new bytes and modification time
        f.seek(100)
        f.write(b"\x01")
    assert outputs.sha256(path) == hashlib.sha256(path.read_bytes()).hexdigest() != truth


def test_pass_compute_leaves_nothing_frozen() -> None:
    """The land-cover pass computes with the older objects frozen out of the garbage
    collector, and unfreezes them after (also when the computation fails)."""
    import gc

    import dask

    from landcarbon.engine.landcover_pass import compute_frozen

    before = gc.get_freeze_count()
    assert compute_frozen(dask.delayed(gc.get_freeze_count)()) > before
    assert gc.get_freeze_count() == before

    def fail() -> None:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        compute_frozen(dask.delayed(fail)())
    assert gc.get_freeze_count() == before
