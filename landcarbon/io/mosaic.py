"""Mosaics of land-cover tiles: one VRT over tiles of one product on one grid (same CRS,
pixel size, data type and nodata; origins a whole number of pixels apart), refused when they
differ, or when overlapping tiles hold different codes where both have data (which one
counted would depend on the order of the list)."""

from __future__ import annotations

import hashlib
import os
from typing import Any
from xml.sax.saxutils import escape

import numpy as np

from landcarbon.exceptions import InputError

__all__ = ["mosaic_vrt"]


def _same_nodata(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return bool(a == b or (np.isnan(a) and np.isnan(b)))


def _overlapping(infos: list[tuple[Any, ...]]) -> list[tuple[int, int, tuple[int, int, int, int]]]:
    """Pairs of tiles (on one grid) that share pixels: ``(i, j, (row0, row1, col0, col1))``
    in the first tile's pixel grid."""
    tr0 = infos[0][2]
    boxes = []
    for _p, _crs, tr, w, h, *_ in infos:
        c0, r0 = round((tr.c - tr0.c) / tr0.a), round((tr.f - tr0.f) / tr0.e)
        boxes.append((r0, r0 + h, c0, c0 + w))
    b = np.array(boxes, np.int64).reshape(-1, 4)
    pairs = []
    for i in range(len(b) - 1):  # (each tile against the later ones at once: many tiles)
        rest = b[i + 1:]
        lo_r, hi_r = np.maximum(rest[:, 0], b[i, 0]), np.minimum(rest[:, 1], b[i, 1])
        lo_c, hi_c = np.maximum(rest[:, 2], b[i, 2]), np.minimum(rest[:, 3], b[i, 3])
        for k in np.flatnonzero((lo_r < hi_r) & (lo_c < hi_c)):
            pairs.append((i, i + 1 + int(k), (int(lo_r[k]), int(hi_r[k]), int(lo_c[k]),
                                               int(hi_c[k]))))
    return pairs


def _overlap_problems(infos: list[tuple[Any, ...]]) -> list[str]:
    """Overlapping tiles that hold different codes where both have data: which one counts
    would depend on their order."""
    import rasterio
    from rasterio.windows import Window

    tr0, nodata = infos[0][2], infos[0][6]
    problems = []
    for i, j, (r0, r1, c0, c1) in _overlapping(infos):
        values = []
        for k in (i, j):
            tr = infos[k][2]
            dr, dc = round((tr.f - tr0.f) / tr0.e), round((tr.c - tr0.c) / tr0.a)
            with rasterio.open(infos[k][0]) as src:
                values.append(src.read(1, window=Window(c0 - dc, r0 - dr, c1 - c0, r1 - r0)))
        a, b = values
        both = np.ones(a.shape, bool)
        for v in (a, b):
            if nodata is not None:
                both &= ~(np.isnan(v) if np.isnan(nodata) else v == nodata)
            if v.dtype.kind == "f":
                both &= ~np.isnan(v)
        differ = int((both & (a != b)).sum())
        if differ:
            problems.append(f"{infos[i][0]} and {infos[j][0]} overlap over "
                            f"{(r1 - r0) * (c1 - c0):,} pixels and hold different codes in "
                            f"{differ:,} of them (which tile counts would depend on their "
                            "order)")
    return problems


def mosaic_vrt(paths: list[str]) -> str:
    """Write a VRT that mosaics ``paths`` (same CRS, resolution and data type) and return its
    path. The tiles are referenced, not copied."""
    import rasterio

    infos = []
    for p in paths:
        with rasterio.open(p) as src:
            infos.append((p, src.crs, src.transform, src.width, src.height, src.dtypes[0],
                          src.nodata, src.block_shapes[0]))
    crs0, tr0, dtype0, nd0 = infos[0][1], infos[0][2], infos[0][5], infos[0][6]
    problems = []
    for p, crs, tr, _w, _h, dtype, nd, _b in infos[1:]:
        if crs != crs0:
            problems.append(f"{p}: CRS {crs} differs from {crs0}")
        if not _same_nodata(nd, nd0):  # the mosaic has one: the other tile's would be data
            problems.append(f"{p}: nodata {nd} differs from {nd0}")
        same_size = np.isclose(tr.a, tr0.a, rtol=1e-9) and np.isclose(tr.e, tr0.e, rtol=1e-9)
        if not same_size:
            problems.append(f"{p}: pixel size {(tr.a, tr.e)} differs from {(tr0.a, tr0.e)}")
        if dtype != dtype0:
            problems.append(f"{p}: data type {dtype} differs from {dtype0}")
        # the same grid: the origin a whole number of pixels from the first tile's (a tile
        # off by a fraction of a pixel would be moved onto the grid, its pixels misplaced)
        shift = ((tr.c - tr0.c) / tr0.a, (tr.f - tr0.f) / tr0.e)
        off = max(abs(v - round(v)) for v in shift)
        if (same_size and off > 1e-3) or tr.b or tr.d:
            problems.append(f"{p}: its pixels are not on the grid of {infos[0][0]} (origin "
                            f"{off:.3f} pixel off, or rotated)")
    if not problems:
        problems = _overlap_problems(infos)
    if problems:
        raise InputError("Land-cover tiles cannot be mosaicked: " + "; ".join(problems)
                         + ". Give tiles of one product on one grid (with one nodata value, "
                         "not overlapping or agreeing where they overlap), or warp them first.")
    res_x, res_y = tr0.a, tr0.e
    left = min(i[2].c for i in infos)
    top = max(i[2].f for i in infos)
    right = max(i[2].c + i[3] * res_x for i in infos)
    bottom = min(i[2].f + i[4] * res_y for i in infos)
    width = round((right - left) / res_x)
    height = round((bottom - top) / res_y)
    nodata = infos[0][6]
    band = [f'<VRTRasterBand dataType="{_gdal_type(dtype0)}" band="1">']
    if nodata is not None:
        band.append(f"<NoDataValue>{nodata!r}</NoDataValue>")
    # overlapping tiles (checked to agree where both have data): a tile's nodata must not
    # cover another's data, so each source's nodata is transparent (a ComplexSource)
    kind = "ComplexSource" if nodata is not None and len(_overlapping(infos)) else "SimpleSource"
    for p, _crs, tr, w, h, _d, _nd, block in infos:
        xoff = round((tr.c - left) / res_x)
        yoff = round((tr.f - top) / res_y)
        band.append(
            f"<{kind}>"
            f'<SourceFilename relativeToVRT="0">{escape(os.path.abspath(p))}</SourceFilename>'
            "<SourceBand>1</SourceBand>"
            f'<SourceProperties RasterXSize="{w}" RasterYSize="{h}" DataType="{_gdal_type(dtype0)}"'
            f' BlockXSize="{block[1]}" BlockYSize="{block[0]}"/>'
            f'<SrcRect xOff="0" yOff="0" xSize="{w}" ySize="{h}"/>'
            f'<DstRect xOff="{xoff}" yOff="{yoff}" xSize="{w}" ySize="{h}"/>'
            + (f"<NODATA>{nodata!r}</NODATA>" if kind == "ComplexSource" else "")
            + f"</{kind}>"
        )
    band.append("</VRTRasterBand>")
    xml = (
        f'<VRTDataset rasterXSize="{width}" rasterYSize="{height}">'
        f"<SRS>{escape(crs0.to_wkt())}</SRS>"
        f"<GeoTransform>{left!r}, {res_x!r}, 0.0, {top!r}, 0.0, {res_y!r}</GeoTransform>"
        + "".join(band) + "</VRTDataset>"
    )
    digest = hashlib.sha1(xml.encode()).hexdigest()[:16]
    from landcarbon.io.scratch import write_scratch

    return write_scratch(f"mosaic-{digest}.vrt", xml)


def _gdal_type(dtype: str) -> str:
    return {"uint8": "Byte", "int8": "Int8", "uint16": "UInt16", "int16": "Int16",
            "uint32": "UInt32", "int32": "Int32", "float32": "Float32",
            "float64": "Float64"}[dtype]
