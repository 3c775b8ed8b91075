"""The repeated-tile reader (landcarbon.io.tiles): same pixels as a plain read, repeated
compressed tiles decoded once, one-value chunks as zero-memory arrays."""

from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from landcarbon.io.raster import open_landcover
from landcarbon.io.tiles import _read_chunk, repeated_tile_array, tile_layout


def _write(path: Path, data: np.ndarray, *, tiled: bool = True, compress: str | None = "deflate",
           block: int = 16) -> Path:
    profile = dict(driver="GTiff", width=data.shape[1], height=data.shape[0], count=1,
                   dtype=str(data.dtype), crs="EPSG:32649", nodata=0,
                   transform=from_origin(500000, 3850000, 30, 30))
    if tiled:
        profile.update(tiled=True, blockxsize=block, blockysize=block)
    if compress:
        profile["compress"] = compress
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data, 1)
    return path


def _raster() -> np.ndarray:
    """80 x 72 (5 x 4.5 tiles of 16: the last column of tiles is an edge tile of 8 columns):
    sea (80) and nodata (0) tiles repeat, one block of 2 x 2 tiles is mixed."""
    data = np.full((80, 72), 80, np.uint8)
    data[:16, :32] = 0                       # two all-nodata tiles
    rng = np.random.default_rng(3)
    data[32:64, 16:48] = rng.choice(np.array([10, 30, 40, 80], np.uint8), (32, 32))
    data[64:, 64:] = 10                      # an edge tile (16 x 8) of one value
    return data


def test_same_pixels_as_plain_read_and_repeats_decoded_once(tmp_path: Path) -> None:
    data = _raster()
    path = _write(tmp_path / "lc.tif", data)
    layout = tile_layout(str(path))
    assert layout is not None
    assert (layout.tile_height, layout.tile_width) == (16, 16)
    assert layout.offsets.shape == (5, 5)
    arr = repeated_tile_array(layout, (32, 32))
    assert arr.chunks == ((32, 32, 16), (32, 32, 8))
    np.testing.assert_array_equal(arr.compute(), data)
    # every chunk compared with the file, and the one-value chunks are zero-memory arrays
    cache: dict = {}
    uniform = 0
    for r0 in range(0, 80, 32):
        for c0 in range(0, 72, 32):
            r1, c1 = min(r0 + 32, 80), min(c0 + 32, 72)
            block = _read_chunk(layout, (r0, r1, c0, c1), cache)
            np.testing.assert_array_equal(block, data[r0:r1, c0:c1])
            if not any(block.strides):
                uniform += 1
                assert np.unique(data[r0:r1, c0:c1]).size == 1
    # one-value chunks: (0..32, 32..64) sea, (64..80, 0..32) and (64..80, 32..64) sea,
    # (0..32, 64..72) and (32..64, 64..72) sea edge, (64..80, 64..72) class 10
    assert uniform == 6
    # whole tiles only are remembered (edge tiles are decoded each time): sea, nodata, and
    # the 4 distinct random tiles
    assert len(cache) == 2 + 4
    assert sorted(v for v in cache.values() if v is not None) == [0, 80]
    # read again with every tile known: chunks of tiles of different single values (sea
    # beside water) are filled without decoding anything, and still right
    again = [_read_chunk(layout, (r0, min(r0 + 32, 80), c0, min(c0 + 32, 72)), cache)
             for r0 in range(0, 80, 32) for c0 in range(0, 72, 32)]
    mixed_known = [b for b in again if any(b.strides) and np.unique(b).size == 2
                   and set(np.unique(b)) <= {0, 80}]
    assert mixed_known  # the case exists in this raster
    np.testing.assert_array_equal(np.block([again[0:3], again[3:6], again[6:9]]), data)


def test_open_landcover_uses_it_for_chunked_tiled_geotiffs(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    data = _raster()
    path = _write(tmp_path / "lc.tif", data)
    da = open_landcover(path, chunks=32)
    assert da.data.name.startswith("landcover-tiles-")
    np.testing.assert_array_equal(da.values, data)
    assert da.rio.nodata == 0
    monkeypatch.setenv("LANDCARBON_DECODE_EVERY_TILE", "1")
    every = open_landcover(path, chunks=32)
    assert every.data.name.startswith("landcover-tiles-") and every.data.name != da.data.name
    np.testing.assert_array_equal(every.values, data)
    # every tile decoded: no chunk comes back as a zero-memory one-value array
    blocks = [b.compute() for b in every.data.to_delayed().ravel()]
    assert len(blocks) == 9 and all(all(b.strides) for b in blocks)
    assert sum(not any(b.strides) for b in da.data.to_delayed().ravel().tolist()
               for b in [b.compute()]) == 6


def test_other_layouts_are_read_plainly(tmp_path: Path) -> None:
    data = _raster()
    assert tile_layout(str(_write(tmp_path / "striped.tif", data, tiled=False))) is None
    assert tile_layout(str(_write(tmp_path / "raw.tif", data, compress=None))) is None
    assert tile_layout(str(tmp_path / "missing.tif")) is None
    striped = open_landcover(tmp_path / "striped.tif", chunks=32)
    np.testing.assert_array_equal(striped.values, data)


def test_chunks_must_hold_whole_tiles(tmp_path: Path) -> None:
    layout = tile_layout(str(_write(tmp_path / "lc.tif", _raster())))
    assert layout is not None
    with pytest.raises(ValueError, match="whole tiles"):
        repeated_tile_array(layout, (24, 32))


def test_a_rewritten_file_is_read_anew(tmp_path: Path) -> None:
    """Open files are kept per thread: a file rewritten at the same path (a notebook
    regenerating its input) is read through a new handle, not the old file's."""
    data = _raster()
    path = _write(tmp_path / "lc.tif", data)
    np.testing.assert_array_equal(open_landcover(path, chunks=32).compute(
        scheduler="synchronous").values, data)  # this thread keeps the file open
    changed = np.where(data == 80, np.uint8(40), data)
    _write(path.with_name("new.tif"), changed).replace(path)  # a new file at the same path
    np.testing.assert_array_equal(open_landcover(path, chunks=32).compute(
        scheduler="synchronous").values, changed)


def test_files_closed_after_a_pass_and_reopened_by_the_next(tmp_path: Path) -> None:
    """The reading threads' open files (and GDAL's cached blocks of them) are closed by
    close_open_tiles, also those of other threads, and the next read opens them again."""
    import threading

    from landcarbon.io import tiles
    from landcarbon.io._memory import release_freed

    data = _raster()
    layout = tile_layout(str(_write(tmp_path / "lc.tif", data)))
    assert layout is not None
    arr = repeated_tile_array(layout, (32, 32))
    import gc
    import os

    def fds() -> int:  # descriptors open on the raster
        links = []
        for fd in os.listdir("/proc/self/fd"):
            with contextlib.suppress(OSError):
                links.append(os.readlink(f"/proc/self/fd/{fd}"))
        return links.count(layout.path)

    opened: list[int] = []
    other = threading.Thread(target=lambda: (_read_chunk(layout, (0, 32, 0, 32), {}),
                                             opened.append(fds())))
    other.start()
    other.join(timeout=30)
    gc.collect()
    assert opened[0] >= 1 and fds() == 0  # a thread that ended closed its file
    np.testing.assert_array_equal(arr.compute(scheduler="threads"), data)
    held = [f for f in list(tiles._every_thread) if f.open]
    assert held  # this thread or the pool's threads hold the file
    datasets = [src for f in held for src, _ in f.open.values()]
    tiles.close_open_tiles()
    assert not any(f.open for f in list(tiles._every_thread))
    assert all(src.closed for src in datasets)
    np.testing.assert_array_equal(arr.compute(scheduler="threads"), data)  # reopened
    assert any(f.open for f in list(tiles._every_thread))
    assert release_freed() is True  # glibc (Linux)
