"""Reading tiled GeoTIFFs whose compressed tiles repeat without decoding every repeat.

Land-cover tiles are mostly sea, nodata fill or open water: in the 36000 x 36000 ESA
WorldCover tile N00E006, 1,084 of the 1,296 internal 1024 x 1024 tiles are the same
1,076 compressed bytes (all nodata) and 91 more another 1,077 (all water); the file is
1.8 MB for 1.3 G pixels. Decompression is deterministic, so tiles whose compressed bytes are
equal decode to equal pixels: :func:`repeated_tile_array` reads each tile's compressed bytes
(a few hundred bytes to a few kB), decodes a byte string once, remembers whether it holds a
single value, and fills every later tile with the same bytes from that value. A chunk whose
tiles all hold one value is returned as a zero-memory broadcast array, which the compute
steps recognise (:func:`landcarbon.accounting.classification.uniform_value`). Tiles that hold
several
values are read by GDAL as usual. The pixels are the same as a plain read.

Only local, tiled, compressed, single-band GeoTIFFs whose dask chunks are whole tiles take
this path (:func:`tile_layout` says); everything else is read by rioxarray. GDAL decodes each
tile straight into its chunk (a tile-sized window into a strided view: 40 % less CPU than
reading the tile into an array of its own and copying it). Set the environment variable
``LANDCARBON_DECODE_EVERY_TILE=1`` to decode every tile, repeats included, and return every
chunk as decoded (benchmarks: the cost of the computation when nothing repeats).
"""

from __future__ import annotations

import functools
import hashlib
import os
import threading
import weakref
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["TileLayout", "close_open_tiles", "repeated_tile_array", "reuse_repeated_tiles",
           "tile_layout"]

_MISSING = object()
_local = threading.local()


class _ThreadFiles:
    """The files one reading thread holds open, and the lock it holds while reading."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.open: dict[tuple[Any, ...], tuple[Any, int]] = {}


#: every live thread's files (a thread's entry goes with the thread)
_every_thread: weakref.WeakSet[_ThreadFiles] = weakref.WeakSet()
_registry = threading.Lock()


def _close_all(handles: dict[tuple[Any, ...], tuple[Any, int]]) -> None:
    while handles:
        src, fd = handles.popitem()[1]
        src.close()
        os.close(fd)


def _thread_files() -> _ThreadFiles:
    files: _ThreadFiles | None = getattr(_local, "files", None)
    if files is None:
        files = _local.files = _ThreadFiles()
        weakref.finalize(files, _close_all, files.open)  # a thread that ends closes its files
        with _registry:
            _every_thread.add(files)
    return files


def close_open_tiles() -> None:
    """Close the files every reading thread holds open (waiting for a read in progress to
    end); the next read reopens them. GDAL keeps the blocks it decoded in its cache (up to
    :data:`landcarbon.io.raster.BLOCK_CACHE_BYTES`) while a file is open: a pass reads each
    block once, so its end frees that memory for the tables and maps that follow."""
    with _registry:
        threads = list(_every_thread)
    for files in threads:
        with files.lock:
            _close_all(files.open)


@dataclass(frozen=True)
class TileLayout:
    """Where the compressed tiles of a single-band tiled GeoTIFF lie."""

    path: str
    height: int
    width: int
    tile_height: int
    tile_width: int
    dtype: str
    #: byte offset and byte count of each tile, shape (tile rows, tile columns)
    offsets: np.ndarray
    sizes: np.ndarray
    #: modification time (ns), size and inode of the file the layout was read from
    mtime_ns: int
    size: int
    inode: int


def tile_layout(path: str) -> TileLayout | None:
    """The tile layout of ``path`` if it can be read tile by tile from its bytes (a local,
    tiled, compressed, single-band GeoTIFF), else None."""
    import rasterio

    if not os.path.isfile(path):
        return None
    import tifffile

    with rasterio.open(path) as src:
        if (src.driver != "GTiff" or src.count != 1 or not src.profile.get("tiled")
                or src.compression is None):
            return None
        th, tw = src.block_shapes[0]
        ny, nx = -(-src.height // th), -(-src.width // tw)
        # the tile directory, read by tifffile (GDAL's per-tile metadata items cost 57 us each)
        with tifffile.TiffFile(path) as tif:
            page = tif.pages.first
            offsets = np.asarray(page.dataoffsets, np.int64)
            sizes = np.asarray(page.databytecounts, np.int64)
        if offsets.size != ny * nx:
            return None
        offsets, sizes = offsets.reshape(ny, nx), sizes.reshape(ny, nx)
        for i, j in ((0, 0), (ny - 1, nx - 1)):  # the same tiles as GDAL's
            if (src.get_tag_item(f"BLOCK_OFFSET_{j}_{i}", "TIFF", bidx=1) != str(offsets[i, j])
                    or src.get_tag_item(f"BLOCK_SIZE_{j}_{i}", "TIFF", bidx=1)
                    != str(sizes[i, j])):
                return None
        stat = os.stat(path)
        return TileLayout(path, src.height, src.width, th, tw, src.dtypes[0], offsets, sizes,
                          stat.st_mtime_ns, stat.st_size, stat.st_ino)


def reuse_repeated_tiles() -> bool:
    """False when the environment sets ``LANDCARBON_DECODE_EVERY_TILE=1``."""
    return os.environ.get("LANDCARBON_DECODE_EVERY_TILE") != "1"


def repeated_tile_array(layout: TileLayout, chunks: tuple[int, int], *,
                        reuse: bool | None = None) -> Any:
    """A dask array of the band of ``layout.path`` in chunks of ``chunks`` (whole tiles)
    read by :func:`_read_chunk`: repeated compressed tiles are decoded once (``reuse``;
    default :func:`reuse_repeated_tiles`), otherwise every tile is decoded."""
    import dask.array as dsk
    from dask.base import tokenize

    by, bx = chunks
    if by % layout.tile_height or bx % layout.tile_width:
        raise ValueError("chunks must hold whole tiles")
    reuse = reuse_repeated_tiles() if reuse is None else reuse
    name = "landcover-tiles-" + tokenize(layout.path, layout.mtime_ns, layout.size,
                                         layout.inode, chunks, reuse)
    ys = [*range(0, layout.height, by), layout.height]
    xs = [*range(0, layout.width, bx), layout.width]
    cache: dict[tuple[int, bytes], Any] | None = {} if reuse else None
    graph = {}
    for i in range(len(ys) - 1):
        for j in range(len(xs) - 1):
            window = (ys[i], ys[i + 1], xs[j], xs[j + 1])
            graph[(name, i, j)] = (functools.partial(_read_chunk, layout, window, cache),)
    chunk_sizes = (tuple(np.diff(ys).tolist()), tuple(np.diff(xs).tolist()))
    return dsk.Array(graph, name, chunk_sizes, dtype=np.dtype(layout.dtype))


#: Open files kept per thread (the least recently used is closed beyond this).
MAX_OPEN = 8


def _handles(files: _ThreadFiles, layout: TileLayout) -> tuple[Any, int]:
    """This thread's open dataset and file descriptor of ``layout.path`` (``files``: the
    thread's, its lock held), reopened when the file changed since (a rewritten file must
    not be read through an old handle)."""
    import rasterio

    handles = files.open
    key = (layout.path, layout.mtime_ns, layout.size, layout.inode)
    if key not in handles:
        stale = {k for k in handles if k[0] == layout.path}  # the file before it changed
        stale.update(list(handles)[:max(0, len(handles) - MAX_OPEN + 1)])  # oldest
        for k in stale:
            src, fd = handles.pop(k)
            src.close()
            os.close(fd)
        handles[key] = (rasterio.open(layout.path), os.open(layout.path, os.O_RDONLY))
    return handles[key]


def _read_chunk(layout: TileLayout, window: tuple[int, int, int, int],
                cache: dict[tuple[int, bytes], Any] | None) -> np.ndarray:
    """The pixels of ``window`` (row0, row1, col0, col1): tiles whose compressed bytes were
    seen holding one value are filled from it; the others are decoded by GDAL (every tile,
    and the chunk is returned as decoded, when ``cache`` is None). A chunk with no known
    tile is decoded by one GDAL read (a read per tile costs 25 % more)."""
    files = _thread_files()
    with files.lock:  # close_open_tiles waits for the read to end
        src, fd = _handles(files, layout)
        return _decode_chunk(src, fd, layout, window, cache)


def _decode_chunk(src: Any, fd: int, layout: TileLayout, window: tuple[int, int, int, int],
                  cache: dict[tuple[int, bytes], Any] | None) -> np.ndarray:
    """:func:`_read_chunk` with the file open (``src``: rasterio dataset, ``fd``: its
    descriptor)."""
    from rasterio.windows import Window

    from landcarbon.accounting.classification import uniform_block, uniform_value

    r0, r1, c0, c1 = window
    th, tw = layout.tile_height, layout.tile_width
    shape = (r1 - r0, c1 - c0)
    if cache is None:
        return src.read(1, window=Window(c0, r0, c1 - c0, r1 - r0))
    # each tile: where it lies in the chunk, its key (compressed bytes) and what is known
    tiles: list[tuple[int, int, int, int, Any, Any]] = []
    for ti in range(r0 // th, -(-r1 // th)):
        for tj in range(c0 // tw, -(-c1 // tw)):
            tr0, tr1 = ti * th, min((ti + 1) * th, layout.height)
            tc0, tc1 = tj * tw, min((tj + 1) * tw, layout.width)
            whole = tr1 - tr0 == th and tc1 - tc0 == tw  # edge tiles hold padding: decode
            size = int(layout.sizes[ti, tj])
            key = None
            value: Any = _MISSING
            if whole and size > 0:
                data = os.pread(fd, size, int(layout.offsets[ti, tj]))
                if len(data) == size:
                    key = (size, hashlib.blake2b(data, digest_size=16).digest())
                    value = cache.get(key, _MISSING)
            tiles.append((tr0 - r0, tr1 - r0, tc0 - c0, tc1 - c0, key,
                          None if value is _MISSING else value))
    out: np.ndarray | None = None
    one_read = all(t[5] is None for t in tiles)  # no tile known to hold one value
    if one_read:
        out = src.read(1, window=Window(c0, r0, c1 - c0, r1 - r0))
    values = set()
    for a0, a1, b0, b1, key, value in tiles:
        if value is None:
            if out is None:  # made at the first tile decoded, which GDAL fills in place
                out = np.empty(shape, layout.dtype)
                for p0, p1, q0, q1, _, known in tiles:
                    if known is not None:
                        out[p0:p1, q0:q1] = known
            pixels = out[a0:a1, b0:b1]
            if not one_read:
                src.read(1, window=Window(c0 + b0, r0 + a0, b1 - b0, a1 - a0), out=pixels)
            value = uniform_value(pixels)
            if key is not None:
                cache[key] = value
        values.add(None if value is None else value.item())
    if len(values) == 1 and None not in values:
        return uniform_block(values.pop(), shape, layout.dtype)
    if out is None:  # tiles of different single values, all known already
        out = np.empty(shape, layout.dtype)
        for a0, a1, b0, b1, _, value in tiles:
            out[a0:a1, b0:b1] = value
    return out
