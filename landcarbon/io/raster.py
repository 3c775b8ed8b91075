"""Raster reading (single files, lists and globs as one virtual mosaic, chunked with dask)
and writing (Cloud-Optimized GeoTIFF with colour tables, units and provenance tags)."""

from __future__ import annotations

import contextlib
import glob
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from landcarbon.exceptions import InputError
from landcarbon.io.mosaic import mosaic_vrt
from landcarbon.io.paths import require_file

__all__ = [
    "AUTO_CHUNK_PIXELS",
    "MAX_COMPRESSION_RATIO",
    "MAX_RASTER_PIXELS",
    "check_raster_file",
    "chunk_shape",
    "expand_paths",
    "open_landcover",
    "raster_read_errors",
]

#: Rasters with more pixels than this are read lazily in dask chunks by ``chunks="auto"``.
AUTO_CHUNK_PIXELS = 4096 * 4096
DEFAULT_CHUNK = 2048
#: Rows of a striped raster's chunks are a multiple of this: the COG tile
#: (:data:`landcarbon.io.cog_writer.TILE`), so the output tiles of a chunk are complete in it.
STRIP_ROWS = 512
#: A header claiming more pixels than this is refused as corrupt (a 10 m grid of the whole
#: land surface of the Earth has ~1.5e12 pixels; mosaics of tiles are checked tile by tile).
MAX_RASTER_PIXELS = 2**42
#: A local GeoTIFF whose header claims more uncompressed bytes than this many times its file
#: size is refused as corrupt (DEFLATE cannot exceed ~1032:1; a 36000 x 36000 WorldCover tile
#: of mostly sea is ~500:1).
MAX_COMPRESSION_RATIO = 100_000


def expand_paths(spec: str | os.PathLike[str] | Sequence[str | os.PathLike[str]]) -> list[str]:
    """Expand a path, a glob pattern or a list of them into existing raster paths (sorted
    within each glob). A file or folder that exists as named is taken literally, brackets and
    all (``lc[2023].tif``). URLs and GDAL virtual paths (``/vsicurl/...``) pass through."""
    items = [spec] if isinstance(spec, str | os.PathLike) else list(spec)
    paths: list[str] = []
    for item in items:
        text = str(item)
        if "://" in text or text.startswith("/vsi"):
            paths.append(text)
        elif any(ch in text for ch in "*?[") and not os.path.isfile(text):
            # a folder that exists as named is no pattern ("data[2023]/tiles/*.tif")
            folder, name = os.path.split(text)
            found = sorted(glob.glob(os.path.join(glob.escape(folder), name)
                                     if os.path.isdir(folder) else text))
            if not found:
                raise InputError(f"Land-cover pattern {text!r} matches no file. Check the "
                                 "folder and the pattern (e.g. 'tiles/*.tif').",
                                 code="file_missing")
            paths.extend(found)
        else:
            require_file(text, "Land-cover raster")
            paths.append(text)
    if not paths:
        raise InputError("No land-cover raster given: set [landcover] path.")
    return paths


def _corrupt(path: str, what: str) -> InputError:
    return InputError(
        f"Land-cover raster {path!r} is damaged or not a raster: {what}. Download or export it "
        "again (a truncated download or an interrupted copy looks like this), and check that "
        "the file opens in QGIS or `gdalinfo -checksum`.", code="raster_damaged")


def check_raster_file(path: str) -> None:
    """Refuse a raster that cannot be opened, has no band, claims an absurd size or cannot
    deliver its first and last blocks (truncated files), with a one-paragraph InputError.

    Cheap: reads the header and two blocks. URLs and GDAL virtual paths are only opened.
    """
    import rasterio
    from rasterio.windows import Window

    try:
        with rasterio.open(path) as src:
            width, height, count = src.width, src.height, src.count
            if src.driver == "VRT":
                _check_vrt_sources(path, list(src.files)[1:])
            if count < 1 or width < 1 or height < 1:
                raise _corrupt(path, f"it has {count} band(s) of {width} x {height} pixels")
            _check_header(path, src)
            if width * height > MAX_RASTER_PIXELS:
                raise _corrupt(path, f"its header claims {width:,} x {height:,} pixels, more "
                               f"than the limit of {MAX_RASTER_PIXELS:,}")
            local = Path(path).is_file() and src.driver == "GTiff"
            if local:
                raw = width * height * count * np.dtype(src.dtypes[0]).itemsize
                size = max(Path(path).stat().st_size, 1)
                if raw / size > MAX_COMPRESSION_RATIO:
                    raise _corrupt(path, f"its header claims {width:,} x {height:,} pixels "
                                   f"({raw:,} bytes) in a file of {size:,} bytes")
                bh, bw = src.block_shapes[0]
                src.read(1, window=Window(0, 0, min(bw, width), min(bh, height)))
                last_row = (height - 1) // bh * bh
                last_col = (width - 1) // bw * bw
                src.read(1, window=Window(last_col, last_row, width - last_col,
                                          height - last_row))
    except InputError:
        raise
    except Exception as exc:
        if path.startswith(("http://", "https://", "/vsicurl/")):
            _check_range_requests(path)
        raise _corrupt(path, str(exc).rstrip(".")) from exc


def _check_header(path: str, src: Any) -> None:
    """Refuse headers that would give wrong numbers: several bands (an RGB image is not a
    raster of class codes), a zero pixel size, coordinates that are not degrees in a
    geographic CRS (metres labelled EPSG:4326)."""
    if src.count > 1:
        kinds = ", ".join(str(c.name) for c in src.colorinterp)
        raise InputError(
            f"Land-cover raster {path!r} has {src.count} bands ({kinds}); a land-cover raster "
            "has one band of class codes (an RGB picture or a rendered map gives colours, "
            "not classes). Use the product's class raster, or extract its class band first "
            "(gdal_translate -b 1 in.tif codes.tif).", code="raster_bands")
    scale, offset = src.scales[0], src.offsets[0]
    if (scale, offset) != (1.0, 0.0):
        raise InputError(
            f"Land-cover raster {path!r} declares a scale of {scale:g} and an offset of "
            f"{offset:g} (stored value x scale + offset): a land-cover raster holds class "
            "codes as stored, and landcarbon will not guess whether its codes are the stored "
            "values or the scaled ones. Write the codes the legend uses without scale and "
            "offset: gdal_translate -unscale in.tif codes.tif (the scaled values), or "
            "gdal_edit.py -scale 1 -offset 0 in.tif (the stored values).",
            code="raster_scaled")
    tr = src.transform
    if tr.is_identity:
        raise InputError(
            f"Land-cover raster {path!r} has no georeferencing: no geotransform (or one with a "
            "zero pixel size, which GDAL drops), so its pixels have no position and no area. "
            "Use the georeferenced GeoTIFF of the product, or georeference it (gdal_translate "
            "-a_ullr / -a_srs, or a .tfw world file beside it).", code="raster_geotransform")
    if tr.a == 0 or tr.e == 0 or not (np.isfinite(tr.a) and np.isfinite(tr.e)):
        raise InputError(
            f"Land-cover raster {path!r} has a pixel size of {tr.a} x {abs(tr.e)} (from its "
            "geotransform): cells without size have no area. Georeference the raster again "
            "(its geotransform or .tfw/.aux.xml file is damaged).", code="raster_geotransform")
    if tr.b != 0 or tr.d != 0:
        raise InputError(
            f"Land-cover raster {path!r} is rotated (its geotransform has rotation terms "
            f"{tr.b:g} and {tr.d:g}): its cells are not aligned with its CRS's axes, so "
            "their areas and the units' coverage cannot be measured on its grid. Warp it to a "
            "north-up grid first (gdalwarp in.tif north_up.tif; nearest neighbour keeps the "
            "class codes).", code="raster_geotransform")
    if tr.e > 0:
        raise InputError(
            f"Land-cover raster {path!r} is south-up (its rows run from south to north: a "
            f"positive pixel height {tr.e:g}). Flip it to the usual north-up order first "
            "(gdalwarp in.tif north_up.tif).", code="raster_geotransform")
    if src.crs is not None and not (src.crs.is_geographic or src.crs.is_projected):
        raise InputError(
            f"Land-cover raster {path!r} is labelled with a local (engineering) CRS "
            f"({src.crs.to_wkt()[:80]}...), which is not tied to the Earth: no ellipsoidal "
            "area can be measured in it. Assign the CRS it was made in (gdal_edit.py -a_srs "
            "EPSG:<code> file.tif).", code="crs_wrong")
    if src.crs is not None and src.crs.is_geographic:
        left, bottom, right, top = src.bounds
        if min(bottom, top) < -90.5 or max(bottom, top) > 90.5 or min(left, right) < -360.5 \
                or max(left, right) > 360.5:
            raise InputError(
                f"Land-cover raster {path!r} is labelled {src.crs} (degrees) but its "
                f"coordinates span x {left:.6g} to {right:.6g}, y {bottom:.6g} to {top:.6g}: "
                "they are not degrees (metres of a projected CRS?). Assign the CRS it was made "
                "in (gdal_edit.py -a_srs EPSG:<code> file.tif), or set [landcover] crs for a "
                "raster that has none.", code="crs_wrong")


def _check_vrt_sources(path: str, sources: list[str]) -> None:
    """A VRT whose source files are missing reads as holes or fails: name them."""
    base = Path(path).parent
    missing = []
    for s in sources:
        if "://" in s or s.startswith("/vsi"):
            continue
        p = Path(s)
        if not (p if p.is_absolute() else base / p).exists() and not p.exists():
            missing.append(s)
    if missing:
        raise InputError(
            f"Land-cover VRT {path!r} refers to {len(missing)} source file(s) that do not "
            f"exist: {', '.join(missing[:10])}{', ...' if len(missing) > 10 else ''}. Put the "
            "tiles back where the VRT expects them (paths relative to the VRT unless "
            "absolute), or build the VRT again (gdalbuildvrt).", code="file_missing")


def _check_range_requests(url: str) -> None:
    """Raise a clear error if the HTTP server of ``url`` ignores Range requests (GDAL reads
    remote rasters in byte ranges); return quietly otherwise (or if it cannot tell)."""
    import urllib.request

    address = url.removeprefix("/vsicurl/")
    request = urllib.request.Request(address, headers={"Range": "bytes=0-15"})
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            status = response.status
            accept = response.headers.get("Accept-Ranges", "")
    except Exception:
        return
    if status == 200 and accept.lower() != "bytes":
        raise InputError(
            f"Land-cover raster {url!r}: the server does not support range requests (it "
            "answered a request for 16 bytes with the whole file, HTTP 200 instead of 206). "
            "Remote rasters are read in byte ranges: serve the file from a server that "
            "supports them (any object store, nginx, Apache), or download it and give the "
            "local path.", code="http_no_range")


def _read_error(paths: Sequence[str], exc: BaseException) -> InputError:
    where = paths[0] if len(paths) == 1 else f"one of {len(paths)} tiles ({', '.join(paths[:3])}"
    where += "" if len(paths) == 1 else ("...)" if len(paths) > 3 else ")")
    return _corrupt(where, f"reading its pixels failed ({type(exc).__name__}: "
                    f"{str(exc).rstrip('.')})")


@contextlib.contextmanager
def raster_read_errors(codes: xr.DataArray) -> Iterator[None]:
    """Turn a failure while computing a lazily read raster (a block damaged in the middle of
    a file) into an :class:`InputError` naming the file(s). At the end the files the
    reading threads opened are closed (:func:`landcarbon.io.tiles.close_open_tiles`: the
    blocks GDAL cached for them are freed) and the memory the pass freed goes back to the
    system (:func:`landcarbon.io._memory.release_freed`)."""
    import rasterio

    from landcarbon.io._memory import release_freed
    from landcarbon.io.tiles import close_open_tiles

    try:
        yield
    except (rasterio.errors.RasterioError, OSError) as exc:
        raise _read_error(list(codes.attrs.get("source", ["?"])), exc) from exc
    finally:
        close_open_tiles()
        release_freed()


def chunk_shape(size: int, block: tuple[int, int], width: int) -> tuple[int, int]:
    """Dask chunk ``(rows, columns)`` for chunks of about ``size`` x ``size`` pixels on a
    raster of ``width`` columns stored in ``block`` (rows, columns) pieces.

    Chunks are aligned on the file's blocks, so each block is decoded once. A striped file
    (blocks of whole rows: GDAL's default GeoTIFF layout) has no narrower piece to align on:
    its chunks span the full width with whole rows of output COG tiles (:data:`STRIP_ROWS`)
    as near ``size * size`` pixels as that allows (512 rows of a 32768-wide raster for 2048,
    not 2048), so the memory of a chunk, its derived rasters and its coverage grows less
    with the width (2048 full rows of 32768 px held ~1.2 GB at 1 G px), and no output tile
    waits, half filled, for the next chunk.

    Returns
    -------
    (int, int)
        Rows and columns of a chunk, multiples of the block's.
    """
    bh, bw = block
    bx = max(1, size // bw) * bw
    if bw >= width:  # whole-row strips: whole COG tile rows, ~size^2 pixels, <= size rows
        step = min(STRIP_ROWS, size)
        rows = min(size, max(1, size * size // max(width, 1) // step) * step)
        return max(1, rows // bh) * bh, bx
    return max(1, size // bh) * bh, bx


def open_landcover(
    spec: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    chunks: int | str | None = "auto",
    nodata: float | None = None,
    crs: str | None = None,
    nodata_setting: str = "[landcover] nodata",
) -> xr.DataArray:
    """Open a land-cover raster (or tiles as one mosaic) as a 2-D DataArray of class codes.

    Parameters
    ----------
    spec : path, glob pattern, URL or list of them
        Several files are mosaicked through a VRT without copying them.
    chunks : int, "auto" or None
        ``"auto"`` reads rasters over :data:`AUTO_CHUNK_PIXELS` lazily in dask chunks of
        2048 x 2048 and loads smaller ones; an int forces chunks of that size; ``None`` loads.
    nodata : float, optional
        Overrides (or supplies) the nodata value.
    crs : str, optional
        CRS for rasters that have none (e.g. ``"EPSG:32649"``); rejected if the raster has one
        that differs.
    nodata_setting : str
        How the user gave ``nodata``, for messages (``--nodata`` of ``landcarbon stocks``).

    Returns
    -------
    xarray.DataArray
        Named ``code``, dims (y, x), with ``rio`` georeferencing, ``rio.nodata`` and attrs
        ``source`` (the paths).
    """
    import rasterio
    import rioxarray

    _bound_block_cache()
    paths = expand_paths(spec)
    for p in paths:
        check_raster_file(p)
    target = paths[0] if len(paths) == 1 else mosaic_vrt(paths)
    with rasterio.open(target) as src:
        width, height = src.width, src.height
        block = src.block_shapes[0]
    if chunks == "auto":
        chunks = DEFAULT_CHUNK if width * height > AUTO_CHUNK_PIXELS else None
    if chunks is not None:
        by, bx = chunk_shape(int(chunks), block, width)
        chunk_arg: Any = {"band": 1, "y": by, "x": bx}
    else:
        chunk_arg = None
    try:
        layout = None
        if chunk_arg is not None and len(paths) == 1:
            from landcarbon.io.tiles import tile_layout

            layout = tile_layout(target)
            if layout is not None and (by % layout.tile_height or bx % layout.tile_width):
                layout = None
        # read by landcarbon.io.tiles: rioxarray only gives the coordinates and attributes
        # (opened lazily, without a dask graph of its own)
        opened = rioxarray.open_rasterio(
            target, chunks=None if layout is not None else chunk_arg,
            lock=False if chunk_arg else None, mask_and_scale=False, cache=False)
        if not isinstance(opened, xr.DataArray):  # HDF / netCDF with subdatasets
            raise TypeError("the file holds several subdatasets; give the GDAL name of one "
                            "of them (gdalinfo lists them)")
        da = opened.isel(band=0, drop=True)
        if layout is not None:
            from landcarbon.io.tiles import repeated_tile_array

            # repeated compressed tiles (sea, nodata fill) are decoded once
            da = da.copy(data=repeated_tile_array(layout, (by, bx)))
        elif chunk_arg is None:
            da = da.load()
    except Exception as exc:
        raise _read_error(paths, exc) from exc
    if da.rio.crs is None:
        if crs is None:
            raise InputError(f"{target}: the raster has no CRS. Set [landcover] crs (e.g. "
                             "'EPSG:32649') to the CRS it was made in.", code="crs_missing")
        da = da.rio.write_crs(crs)
    elif crs is not None:
        from pyproj import CRS

        if not CRS.from_user_input(crs).equals(CRS.from_user_input(da.rio.crs),
                                               ignore_axis_order=True):
            raise InputError(f"{target}: [landcover] crs = {crs!r} contradicts the raster's own "
                             f"CRS ({da.rio.crs}); remove the setting.")
    if nodata is None:
        nodata = da.rio.nodata
    elif np.dtype(da.dtype).kind in "iu" and np.isfinite(nodata) and not (
            np.iinfo(da.dtype).min <= nodata <= np.iinfo(da.dtype).max
            and float(nodata).is_integer()):
        info = np.iinfo(da.dtype)
        raise InputError(f"{nodata_setting} = {nodata:g} cannot occur in {target}: its pixels "
                         f"are {da.dtype} (whole numbers {info.min} to {info.max}). Set the "
                         "product's real nodata value (e.g. 0 or 255 for 8-bit products), or "
                         "remove the setting to use the raster's own.", code="nodata_invalid")
    da.name = "code"
    da.attrs = {"source": [str(p) for p in paths]}
    da.encoding = {}
    if nodata is not None:
        da = da.rio.write_nodata(nodata)
    return da


#: GDAL block cache used when the user has not set ``GDAL_CACHEMAX``. Chunks are aligned on
#: the file's blocks, so each block is decoded once and a big cache only costs memory (GDAL's
#: default, 5 % of RAM, made a 36000 x 36000 read peak at 1.4 GB and run 6x slower).
BLOCK_CACHE_BYTES = 128 * 2**20


def _bound_block_cache() -> None:
    """Cap GDAL's block cache at :data:`BLOCK_CACHE_BYTES` unless ``GDAL_CACHEMAX`` is set."""
    if "GDAL_CACHEMAX" in os.environ:
        return
    from rasterio.env import set_gdal_config

    set_gdal_config("GDAL_CACHEMAX", BLOCK_CACHE_BYTES)

