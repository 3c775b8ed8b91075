"""Cloud-Optimized GeoTIFFs written straight from the blocks of a computation.

A :class:`CogWriter` is a *sink* (``sink[rows, cols] = block``, thread-safe): every 512 x 512
tile is compressed as soon as the blocks handed to it complete it, in the thread that handed
the last piece, and is reduced at once (2 x 2 -> 1) into the tile of the next overview level,
which is compressed in turn when complete. Compressed tiles go to a *spool* file beside the
output; :meth:`CogWriter.finish` writes the COG from it in GDAL's COG layout (a ghost header,
all IFDs first, then the tile data from the smallest overview to full resolution, each tile
with GDAL's 4-byte size leader and 4-byte trailer): no temporary GeoTIFF, no re-read, no
recompression, no overview computed from the file.

Tiles handed over as one value (a zero-stride broadcast array, e.g. a run of sea or of
one class) are compressed once per value and shape; one-value tiles of nodata are not written
(a *sparse* tile, offset 0: readers get nodata back, as GDAL's ``SPARSE_OK``).

Codec: ZSTD (TIFF compression 50000) at level :data:`ZSTD_LEVEL` (1), no predictor. On the
dense farmland of ``benchmarks/`` ZSTD level 1 compresses a class raster at ~2.7 ns a pixel
(DEFLATE level 6, GDAL's default: ~36 ns) to 0.87 bit a pixel (DEFLATE 6: 0.78), and the
float32 flux raster at ~2.9 ns a pixel to 1.4 bit a pixel (level 3: 6.3 ns, 1 % smaller);
predictors make categorical rasters larger (see ``docs/scale.md``). Overview levels of the
flux are averaged by a compiled loop (:mod:`landcarbon.io.overviews`). GDAL reads ZSTD since
2.3 (QGIS 3, rasterio, rioxarray wheels).
"""

from __future__ import annotations

import hashlib
import os
import struct
import threading
from pathlib import Path
from typing import Any

import numpy as np

from landcarbon.io.outputs import remember_sha256

__all__ = ["TILE", "ZSTD_LEVEL", "CogWriter", "level_shapes"]

#: Tile size of every level (pixels).
TILE = 512
#: ZSTD level of the tiles: 1 compresses the float32 flux raster twice as fast as 3 (2.9
#: against 6.3 ns a pixel on dense farmland) to files 2-4 % larger (docs/scale.md).
ZSTD_LEVEL = 1
_ZSTD = 50000  # TIFF compression code of ZSTD (GDAL, libtiff)
_GHOST = ("LAYOUT=IFDS_BEFORE_DATA\nBLOCK_ORDER=ROW_MAJOR\nBLOCK_LEADER=SIZE_AS_UINT4\n"
          "BLOCK_TRAILER=LAST_4_BYTES_REPEATED\nKNOWN_INCOMPATIBLE_EDITION=NO\n ")
#: Tags copied from GDAL's own GeoTIFF header of the raster: photometric, colour map,
#: georeferencing (pixel scale, tie point, transformation, geokeys), GDAL metadata, nodata.
_GDAL_TAGS = (262, 320, 33550, 33922, 34264, 34735, 34736, 34737, 42112, 42113)
_OVERVIEW_TAGS = (262, 320, 42113)  # what overview IFDs carry of them (as GDAL writes)
_local = threading.local()


def level_shapes(height: int, width: int, tile: int = TILE) -> list[tuple[int, int]]:
    """``(height, width)`` of full resolution and of every overview level: each level halves
    the previous one (rounding up) until the smallest fits in one tile (GDAL's COG rule)."""
    shapes = [(height, width)]
    while shapes[-1][0] > tile or shapes[-1][1] > tile:
        h, w = shapes[-1]
        shapes.append(((h + 1) // 2, (w + 1) // 2))
    return shapes


def _compress(tile: np.ndarray) -> bytes:
    comp = getattr(_local, "zstd", None)
    if comp is None:  # a compressor object is not thread-safe: one per thread
        import zstandard

        comp = _local.zstd = zstandard.ZstdCompressor(level=ZSTD_LEVEL)
    return bytes(comp.compress(tile.data))


class CogWriter:
    """A COG of ``height`` x ``width`` pixels of ``dtype`` filled by ``sink[rows, cols] =
    block`` (any rectangles; thread-safe), written to ``path`` by :meth:`finish`.

    Parameters
    ----------
    path : path
        The COG to write; the spool file is ``path`` + ``.tiles`` (deleted by
        :meth:`finish` and :meth:`discard`).
    height, width : int
    dtype : numpy dtype
    nodata : float, optional
        Pixels never written and sparse tiles read as this value.
    resampling : {"nearest", "average"}
        How overview levels are made: ``nearest`` takes the top-left pixel of each 2 x 2
        (class rasters); ``average`` the mean of the pixels that are not nodata (floating-point
        rasters only; integer rasters fall back to ``nearest``).
    """

    def __init__(self, path: str | Path, height: int, width: int, dtype: Any, *,
                 nodata: float | None = None, resampling: str = "nearest") -> None:
        self.path = Path(path)
        self.dtype = np.dtype(dtype)
        self.nodata = nodata
        self.average = resampling == "average" and self.dtype.kind == "f"
        self.shapes = level_shapes(height, width)
        self.fill = np.array(nodata if nodata is not None else 0).astype(self.dtype)
        #: per level: (tile row, tile col) -> (spool offset, size); absent = sparse
        self.index: list[dict[tuple[int, int], tuple[int, int]]] = [{} for _ in self.shapes]
        self._partial: list[dict[tuple[int, int], list[Any]]] = [{} for _ in self.shapes]
        self._one_value: dict[tuple[bytes, tuple[int, int]], bytes] = {}
        self._lock = threading.Lock()
        self._spool_path = self.path.with_name(self.path.name + ".tiles")
        self._fd = os.open(self._spool_path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
        self._end = 0

    # ------------------------------------------------------------ filling
    def __setitem__(self, key: tuple[slice, slice], value: np.ndarray) -> None:
        rows, cols = key
        self._put(0, rows.start or 0, cols.start or 0, np.asarray(value))

    def _put(self, level: int, r0: int, c0: int, block: np.ndarray) -> None:
        """Hand ``block`` (placed at ``r0, c0`` of ``level``) to the tiles it touches."""
        height, width = self.shapes[level]
        h, w = block.shape
        for ty in range(r0 // TILE, (r0 + h - 1) // TILE + 1):
            t0, t1 = ty * TILE, min(height, (ty + 1) * TILE)
            a0, a1 = max(r0, t0), min(r0 + h, t1)
            for tx in range(c0 // TILE, (c0 + w - 1) // TILE + 1):
                u0, u1 = tx * TILE, min(width, (tx + 1) * TILE)
                b0, b1 = max(c0, u0), min(c0 + w, u1)
                piece = block[a0 - r0:a1 - r0, b0 - c0:b1 - c0]
                if (a0, a1, b0, b1) == (t0, t1, u0, u1):
                    self._tile_done(level, ty, tx, piece)
                    continue
                with self._lock:  # a piece of a tile: gather it in the tile's buffer
                    entry = self._partial[level].get((ty, tx))
                    if entry is None:
                        entry = self._partial[level][(ty, tx)] = [
                            np.full((t1 - t0, u1 - u0), self.fill, self.dtype), 0]
                entry[0][a0 - t0:a1 - t0, b0 - u0:b1 - u0] = piece
                with self._lock:
                    entry[1] += piece.size
                    done = entry[1] >= entry[0].size
                    if done:
                        del self._partial[level][(ty, tx)]
                if done:
                    self._tile_done(level, ty, tx, entry[0])

    def _tile_done(self, level: int, ty: int, tx: int, tile: np.ndarray) -> None:
        """Compress a complete tile to the spool and hand its reduction to the next level."""
        one = tile.size > 0 and tile.strides == (0,) * tile.ndim
        if not one and tile.size and self._is_nodata(tile[0, 0]) and self._all_nodata(tile):
            tile, one = np.broadcast_to(tile[0, 0], tile.shape), True
        if not (one and self._is_nodata(tile.flat[0])):
            if one:
                key = (tile.flat[0].tobytes(), tile.shape)
                payload = self._one_value.get(key)
                if payload is None:
                    payload = self._one_value[key] = _compress(self._padded(tile))
            else:
                payload = _compress(self._padded(tile))
            with self._lock:
                offset = self._end
                self._end += len(payload)
            os.pwrite(self._fd, payload, offset)
            self.index[level][(ty, tx)] = (offset, len(payload))
        if level + 1 < len(self.shapes):
            self._put(level + 1, ty * TILE // 2, tx * TILE // 2, self._reduce(tile, one))

    def _is_nodata(self, value: Any) -> bool:
        if self.nodata is None:
            return False
        if self.dtype.kind == "f" and np.isnan(self.nodata):
            return bool(np.isnan(value))
        return bool(value == self.nodata)

    def _all_nodata(self, tile: np.ndarray) -> bool:
        if self.dtype.kind == "f" and np.isnan(self.nodata):  # type: ignore[arg-type]
            return bool(np.isnan(tile).all())
        return bool((tile == self.nodata).all())

    def _padded(self, tile: np.ndarray) -> np.ndarray:
        if tile.shape == (TILE, TILE):
            return np.ascontiguousarray(tile)
        out = np.full((TILE, TILE), self.fill, self.dtype)
        out[: tile.shape[0], : tile.shape[1]] = tile
        return out

    def _reduce(self, tile: np.ndarray, one: bool) -> np.ndarray:
        """The tile at half resolution (2 x 2 pixels -> 1; an odd last row or column alone)."""
        h, w = tile.shape
        shape = ((h + 1) // 2, (w + 1) // 2)
        if one:
            return np.broadcast_to(tile.flat[0], shape)
        if not self.average:
            return tile[::2, ::2]
        from landcarbon.io.overviews import average_2x2, average_2x2_numpy

        if h % 2 or w % 2:  # a last row or column of tiles: rare, in numpy
            return average_2x2_numpy(tile, self.nodata)
        return average_2x2(tile, self.nodata)

    # ------------------------------------------------------------ writing
    def finish(self, header_tags: dict[int, tuple[int, int, bytes]]) -> Path:
        """Write the COG (``header_tags``: GDAL's georeferencing and metadata tags, from
        :func:`gdal_header_tags`) and delete the spool; return the COG's path. Tiles left
        incomplete (pixels never written) are completed with nodata first."""
        try:
            for level in range(len(self.shapes)):
                for (ty, tx), (tile, _) in list(self._partial[level].items()):
                    del self._partial[level][(ty, tx)]
                    self._tile_done(level, ty, tx, tile)
            _write_cog(self.path, self, header_tags)
        finally:
            self.discard()
        return self.path

    def discard(self) -> None:
        """Close and delete the spool (the COG is not written)."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        self._spool_path.unlink(missing_ok=True)

    def read_tile(self, level: int, ty: int, tx: int) -> bytes | None:
        """The compressed bytes of a tile (None: sparse)."""
        where = self.index[level].get((ty, tx))
        return None if where is None else os.pread(self._fd, where[1], where[0])


def gdal_header_tags(crs: Any, transform: Any, dtype: Any, nodata: float | None, *,
                     colormap: dict[int, tuple[int, int, int, int]] | None = None,
                     description: str | None = None, tags: dict[str, str] | None = None
                     ) -> dict[int, tuple[int, int, bytes]]:
    """``code -> (TIFF type, count, value bytes)`` of the georeferencing and metadata tags
    GDAL writes for a raster with these properties (from a 1 x 1 GeoTIFF made by GDAL in
    memory): CRS geokeys, pixel scale and tie point, nodata, metadata, colour table."""
    import io

    import rasterio
    import tifffile
    from rasterio.io import MemoryFile

    with MemoryFile() as mem:
        with mem.open(driver="GTiff", width=1, height=1, count=1, dtype=np.dtype(dtype).name,
                      crs=crs, transform=transform, nodata=nodata) as ds:
            if tags:
                ds.update_tags(**tags)
            if description:
                ds.set_band_description(1, description)
            if colormap:
                ds.write_colormap(1, colormap)
            ds.write(np.zeros((1, 1, 1), dtype))
        raw = mem.read()
    del rasterio
    out = {}
    with tifffile.TiffFile(io.BytesIO(raw)) as tif:
        first = tif.pages[0]
        assert isinstance(first, tifffile.TiffPage)  # the first page is never a frame
        for tag in first.tags.values():
            if tag.code in _GDAL_TAGS:
                size = struct.calcsize("<" + _TYPES[int(tag.dtype)]) * tag.count
                out[tag.code] = (int(tag.dtype), tag.count,
                                 raw[tag.valueoffset:tag.valueoffset + size])
    return out


#: struct format of the TIFF types used (BYTE, ASCII, SHORT, LONG, RATIONAL, SBYTE, UNDEFINED,
#: SSHORT, SLONG, SRATIONAL, FLOAT, DOUBLE, LONG8)
_TYPES = {1: "B", 2: "c", 3: "H", 4: "I", 5: "II", 6: "b", 7: "B", 8: "h", 9: "i", 10: "ii",
          11: "f", 12: "d", 16: "Q"}


def _write_cog(path: Path, w: CogWriter, header_tags: dict[int, tuple[int, int, bytes]]
               ) -> None:
    """Lay out and write the COG of a filled :class:`CogWriter`."""
    shapes = w.shapes
    grids = [((h + TILE - 1) // TILE, (x + TILE - 1) // TILE) for h, x in shapes]
    data_size = sum(n + 8 for idx in w.index for _, n in idx.values())
    big = data_size + 65536 + 16 * sum(a * b for a, b in grids) > 2**32 - 1
    entry, head, word = (20, 16, 8) if big else (12, 8, 4)
    off_type = 16 if big else 4
    fmt = {"u": 1, "i": 2, "f": 3}[w.dtype.kind]

    def short(v: int) -> tuple[int, int, bytes]:
        return 3, 1, struct.pack("<H", v)

    def long_(v: int) -> tuple[int, int, bytes]:
        return 4, 1, struct.pack("<I", v)

    ifds: list[dict[int, tuple[int, int, bytes]]] = []
    for level, ((h, x), (gy, gx)) in enumerate(zip(shapes, grids, strict=True)):
        n = gy * gx
        tags = {256: long_(x), 257: long_(h), 258: short(w.dtype.itemsize * 8),
                259: short(_ZSTD), 262: short(1), 277: short(1), 284: short(1),
                322: short(TILE), 323: short(TILE),
                324: (off_type, n, bytes((8 if big else 4) * n)),
                325: (4, n, bytes(4 * n)), 339: short(fmt)}
        keep = _GDAL_TAGS if level == 0 else _OVERVIEW_TAGS
        tags.update({k: v for k, v in header_tags.items() if k in keep})
        if level:
            tags[254] = long_(1)  # reduced-resolution image
        ifds.append(tags)

    ghost = f"GDAL_STRUCTURAL_METADATA_SIZE={len(_GHOST):06d} bytes\n{_GHOST}".encode()
    pos = head + len(ghost)
    pos += pos % 2
    starts = []
    for tags in ifds:  # IFD, then its values that do not fit in an entry
        starts.append(pos)
        pos += (2 if not big else 8) + entry * len(tags) + word
        pos += sum(len(v[2]) + len(v[2]) % 2 for v in tags.values() if len(v[2]) > word)
    # tile data: smallest overview first, full resolution last, each level row-major
    offsets = [np.zeros(a * b, np.uint64) for a, b in grids]
    counts = [np.zeros(a * b, np.uint32) for a, b in grids]
    order = []
    for level in reversed(range(len(shapes))):
        gx = grids[level][1]
        for (ty, tx), (spool_off, n) in sorted(w.index[level].items()):
            pos += 4
            offsets[level][ty * gx + tx] = pos
            counts[level][ty * gx + tx] = n
            order.append((spool_off, n))
            pos += n + 4
    for level, tags in enumerate(ifds):
        tags[324] = (off_type, len(offsets[level]),
                     offsets[level].astype("<u8" if big else "<u4").tobytes())
        tags[325] = (4, len(counts[level]), counts[level].astype("<u4").tobytes())

    header = bytearray(struct.pack("<2sHHHQ", b"II", 43, 8, 0, starts[0]) if big
                       else struct.pack("<2sHI", b"II", 42, starts[0]))
    header += ghost
    for i, tags in enumerate(ifds):
        header += bytes(starts[i] - len(header))
        nxt = starts[i + 1] if i + 1 < len(ifds) else 0
        ext = starts[i] + (8 if big else 2) + entry * len(tags) + word
        body, values = bytearray(), bytearray()
        body += struct.pack("<Q" if big else "<H", len(tags))
        for code in sorted(tags):
            typ, count, value = tags[code]
            if len(value) <= word:
                inline = value + bytes(word - len(value))
            else:
                inline = struct.pack("<Q" if big else "<I", ext + len(values))
                values += value + bytes(len(value) % 2)
            body += (struct.pack("<HHQ", code, typ, count) if big
                     else struct.pack("<HHI", code, typ, count)) + inline
        body += struct.pack("<Q" if big else "<I", nxt)
        header += body + values
    digest = hashlib.sha256(header)
    with open(path, "wb", buffering=8 << 20) as f:
        f.write(header)
        for spool_off, n in order:  # each piece written and hashed as it goes
            payload = os.pread(w._fd, n, spool_off)
            for piece in (struct.pack("<I", n), payload, payload[-4:]):
                f.write(piece)
                digest.update(piece)
    remember_sha256(path, digest.hexdigest())
