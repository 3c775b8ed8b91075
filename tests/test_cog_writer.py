"""COGs written from blocks (landcarbon.io.cog_writer): GDAL's COG structure rules, values
identical to the array written (and to GDAL's own COG of it), overviews, sparse tiles,
pieces that do not align on tiles, BigTIFF-free layout, metadata."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
import rasterio
import rioxarray  # noqa: F401  (the .rio accessor)
import tifffile
import xarray as xr
from rasterio.transform import from_origin

from landcarbon.io.cog_writer import TILE, CogWriter, level_shapes
from landcarbon.io.cogs import CogSet, write_raster

TR = from_origin(113.0, 35.0, 1 / 12000, 1 / 12000)


def cog_problems(path: Path) -> list[str]:
    """The errors GDAL's ``validate_cloud_optimized_geotiff.py --full-check=yes`` looks for,
    checked on the file's bytes: main IFD right after the ghost header, overviews by
    decreasing size with IFDs in increasing order, tiled levels, the smallest overview's data
    first and full resolution's last, row-major increasing block offsets, the 4-byte size
    leader and the repeated 4-byte trailer of every block."""
    raw = path.read_bytes()
    errors = []
    big = raw[2:4] == b"+\x00"
    head = 16 if big else 8
    first_ifd = struct.unpack_from("<Q" if big else "<I", raw, 8 if big else 4)[0]
    pattern = "GDAL_STRUCTURAL_METADATA_SIZE=000000 bytes\n"
    ghost = raw[head:head + len(pattern)].decode("latin1")
    if not ghost.startswith("GDAL_STRUCTURAL_METADATA_SIZE="):
        return ["no GDAL ghost header"]
    size = int(ghost[len("GDAL_STRUCTURAL_METADATA_SIZE="):][:6])
    extra = raw[head + len(pattern):head + len(pattern) + size].decode("latin1")
    if "KNOWN_INCOMPATIBLE_EDITION=NO" not in extra or "LAYOUT=IFDS_BEFORE_DATA" not in extra:
        errors.append("ghost header does not declare the COG layout")
    expected = head + len(pattern) + size
    expected += expected % 2
    if first_ifd != expected:
        errors.append(f"main IFD at {first_ifd}, expected {expected}")
    with tifffile.TiffFile(path) as tif:
        pages = list(tif.pages)
        ifd_offsets = [p.offset for p in pages]
        if ifd_offsets != sorted(ifd_offsets):
            errors.append("IFDs not in increasing order")
        firsts = []
        for i, page in enumerate(pages):
            if i and (page.imagewidth > pages[i - 1].imagewidth
                      or page.imagelength > pages[i - 1].imagelength):
                errors.append(f"level {i} larger than level {i - 1}")
            if i and not page.subfiletype & 1:
                errors.append(f"level {i} is not a reduced-resolution image")
            if not page.is_tiled:
                errors.append(f"level {i} is not tiled")
            last = 0
            nonzero = [o for o in page.dataoffsets if o]
            firsts.append(nonzero[0] if nonzero else 0)
            for o, n in zip(page.dataoffsets, page.databytecounts, strict=True):
                if not o:
                    continue
                if o < last:
                    errors.append(f"level {i}: blocks not in row-major order")
                last = o
                if struct.unpack_from("<I", raw, o - 4)[0] != n:
                    errors.append(f"level {i}: wrong size leader at {o}")
                if n >= 4 and raw[o + n - 4:o + n] != raw[o + n:o + n + 4]:
                    errors.append(f"level {i}: wrong trailer at {o}")
        if firsts[-1] and firsts[-1] < ifd_offsets[-1]:
            errors.append("smallest overview's data before its IFD")
        for i in range(len(firsts) - 1):
            if firsts[i] and firsts[i + 1] and firsts[i] < firsts[i + 1]:
                errors.append(f"data of level {i} before level {i + 1}'s")
    return errors


def _da(a: np.ndarray) -> xr.DataArray:
    h, w = a.shape
    da = xr.DataArray(a, dims=("y", "x"), coords={"y": 35 - (np.arange(h) + 0.5) / 12000,
                                                   "x": 113 + (np.arange(w) + 0.5) / 12000})
    return da.rio.write_crs("EPSG:4326").rio.write_transform(TR)


def _classes(h: int, w: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    cls = rng.integers(1, 6, (h, w)).astype(np.uint8)
    cls[: min(h, 1100), : min(w, 1100)] = 3  # one-value tiles
    cls[1024:1536, :1024] = 0  # nodata tiles (sparse)
    return cls


def _fill(cogs: CogSet, data: dict[str, np.ndarray], step: tuple[int, int]) -> None:
    """Hand the arrays over in ``step``-sized pieces (not tile-aligned), one-value pieces as
    zero-stride broadcasts, as the land-cover pass does."""
    sinks = {name: cogs.open(Path(name), _da(a), nodata=(0 if a.dtype == np.uint8
                                                          else float("nan")),
                             colormap=({i: (i * 40, 200, 9, 255) for i in range(6)}
                                       if a.dtype == np.uint8 else None),
                             band_description=f"{name} band", tags={"units": "u"})
             for name, a in data.items()}
    h, w = next(iter(data.values())).shape
    for r in range(0, h, step[0]):
        for c in range(0, w, step[1]):
            key = (slice(r, min(h, r + step[0])), slice(c, min(w, c + step[1])))
            for name, a in data.items():
                block = a[key]
                if np.array_equal(block, np.broadcast_to(block.flat[0], block.shape),
                                  equal_nan=True):
                    block = np.broadcast_to(block.flat[0], block.shape)
                sinks[name][key] = block


@pytest.mark.parametrize("step", [(1024, 1024), (700, 900), (2200, 313)])
def test_cog_valid_and_identical(tmp_path: Path, step: tuple[int, int]) -> None:
    h, w = 2200, 2700
    cls = _classes(h, w)
    flux = np.array([np.nan, -1.5, 0.25, 3.0, 7.125, -0.375], np.float32)[cls]
    with CogSet() as cogs:
        _fill(cogs, {str(tmp_path / "c.tif"): cls, str(tmp_path / "f.tif"): flux}, step)
        cogs.finish()
    assert not list(tmp_path.glob("*.tiles"))
    for name, ref in (("c", cls), ("f", flux)):
        path = tmp_path / f"{name}.tif"
        assert cog_problems(path) == []
        with rasterio.open(path) as src:
            assert src.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG"
            assert src.compression.name.lower() == "zstd"
            assert src.block_shapes == [(TILE, TILE)]
            assert src.crs.to_epsg() == 4326 and src.transform == TR
            assert src.tags()["units"] == "u"
            assert src.descriptions == (f"{path} band",)
            assert np.array_equal(src.read(1), ref, equal_nan=True)
            assert src.overviews(1) == [2, 4, 8]
            if name == "c":
                assert src.nodata == 0 and src.colormap(1)[2] == (80, 200, 9, 255)
                # nearest: the top-left pixel of each 2 x 2 (as GDAL's NEAREST at factor 2)
                ov = src.read(1, out_shape=(h // 2, w // 2))
                assert np.array_equal(ov, cls[::2, ::2])
            else:
                assert np.isnan(src.nodata)
                ov = src.read(1, out_shape=(h // 2, w // 2))
                quads = flux.reshape(h // 2, 2, w // 2, 2)
                with np.errstate(invalid="ignore"), pytest.warns(RuntimeWarning):
                    mean = np.nanmean(quads, axis=(1, 3))
                assert np.allclose(ov, mean, equal_nan=True, rtol=1e-6)
        # the nodata block (rows 1024-1536, cols 0-1024) is two sparse full-resolution tiles
        with tifffile.TiffFile(path) as tif:
            page = tif.pages[0]
            gx = -(-w // TILE)
            assert page.databytecounts[2 * gx] == page.databytecounts[2 * gx + 1] == 0
            assert page.databytecounts[0] > 0


def test_same_values_as_gdal_cog(tmp_path: Path) -> None:
    """Full resolution identical to GDAL's COG driver writing the same array; overview levels
    of even size too (nearest for classes, average for the flux)."""
    h, w = 2048, 3072
    cls = _classes(h, w)
    flux = np.array([np.nan, -1.5, 0.25, 3.0, 7.125, -0.375], np.float32)[cls]
    write_raster(_da(cls), tmp_path / "c.tif", nodata=0,
                 colormap={i: (i, i, i, 255) for i in range(6)})
    write_raster(_da(flux), tmp_path / "f.tif", nodata=float("nan"))
    for name, ref, resampling in (("c", cls, "NEAREST"), ("f", flux, "AVERAGE")):
        gdal = tmp_path / f"{name}_gdal.tif"
        with rasterio.open(gdal, "w", driver="COG", width=w, height=h, count=1,
                           dtype=ref.dtype, crs="EPSG:4326", transform=TR,
                           nodata=0 if name == "c" else np.nan, compress="ZSTD",
                           overview_resampling=resampling) as dst:
            dst.write(ref, 1)
        with rasterio.open(tmp_path / f"{name}.tif") as ours, rasterio.open(gdal) as theirs:
            assert ours.overviews(1) == theirs.overviews(1)
            assert np.array_equal(ours.read(1), theirs.read(1), equal_nan=True)
            for f in ours.overviews(1):
                shape = (h // f, w // f)
                a, b = ours.read(1, out_shape=shape), theirs.read(1, out_shape=shape)
                assert np.allclose(a, b, equal_nan=True, rtol=1e-6, atol=0)


def test_levels_and_sparse_only(tmp_path: Path) -> None:
    assert level_shapes(512, 512) == [(512, 512)]
    assert level_shapes(513, 100) == [(513, 100), (257, 50)]
    assert level_shapes(36000, 36000)[-1] == (282, 282)
    # a raster of nodata only: every tile sparse, still a valid COG of nodata
    w = CogWriter(tmp_path / "empty.tif", 1000, 1200, np.float32, nodata=float("nan"),
                  resampling="average")
    w[slice(0, 1000), slice(0, 1200)] = np.broadcast_to(np.float32(np.nan), (1000, 1200))
    from landcarbon.io.cog_writer import gdal_header_tags

    w.finish(gdal_header_tags("EPSG:4326", TR, np.float32, float("nan")))
    assert cog_problems(tmp_path / "empty.tif") == []
    with rasterio.open(tmp_path / "empty.tif") as src:
        assert np.isnan(src.read(1)).all()
    assert not (tmp_path / "empty.tif.tiles").exists()


def test_unfinished_set_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), CogSet() as cogs:
        sink = cogs.open(tmp_path / "x.tif", _da(np.zeros((600, 600), np.uint8)), nodata=0)
        sink[slice(0, 600), slice(0, 600)] = np.ones((600, 600), np.uint8)
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []
