"""Windows of big rasters without copying them: a VRT that references one window of a
(local or remote) raster (:func:`landcarbon.io.worldcover.save_worldcover` saves such windows
as a Cloud-Optimized GeoTIFF).

Remote rasters (``https://...`` Cloud-Optimized GeoTIFFs, object storage) are read through
GDAL's ``/vsicurl/``: only the header and the internal tiles that a window touches are
fetched, with HTTP range requests.
"""

from __future__ import annotations

import hashlib
import math
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

if TYPE_CHECKING:
    from affine import Affine

__all__ = ["EDGE_TOLERANCE_PX", "bounds_window", "gdal_path", "window_of_bounds", "window_vrt"]


def gdal_path(path: str) -> str:
    """``https://``/``http://`` URLs as GDAL ``/vsicurl/`` paths, ``s3://`` as ``/vsis3/``;
    anything else unchanged."""
    if path.startswith(("http://", "https://")):
        return "/vsicurl/" + path
    if path.startswith("s3://"):
        return "/vsis3/" + path[5:]
    return path


#: Bound coordinates within this fraction of a pixel of a pixel edge count as on the edge
#: (floating-point noise of reprojected or computed bounds does not add a row or column).
EDGE_TOLERANCE_PX = 1e-9


def bounds_window(transform: Affine, width: int, height: int,
                  bounds: tuple[float, float, float, float]
                  ) -> tuple[int, int, int, int] | None:
    """Pixel rows and columns ``(row_start, row_stop, col_start, col_stop)`` of a north-up
    grid covering ``bounds`` (``minx, miny, maxx, maxy`` in the grid's CRS).

    The one rounding rule of landcarbon's windows and crops: snapped outwards to whole pixels
    (every pixel that the bounds reach into is kept), except that a bound within
    :data:`EDGE_TOLERANCE_PX` of a pixel edge counts as on that edge; then cut to the grid.
    ``None`` if the bounds do not overlap the grid.
    """
    inv = ~transform
    cols, rows = zip(*(inv * (x, y) for x in (bounds[0], bounds[2])
                       for y in (bounds[1], bounds[3])), strict=True)
    r0 = max(0, math.floor(min(rows) + EDGE_TOLERANCE_PX))
    r1 = min(height, math.ceil(max(rows) - EDGE_TOLERANCE_PX))
    c0 = max(0, math.floor(min(cols) + EDGE_TOLERANCE_PX))
    c1 = min(width, math.ceil(max(cols) - EDGE_TOLERANCE_PX))
    if r1 <= r0 or c1 <= c0:
        return None
    return r0, r1, c0, c1


def window_of_bounds(path: str, bounds: tuple[float, float, float, float],
                     bounds_crs: object = None) -> tuple[int, int, int, int] | None:
    """Pixel window ``(col_off, row_off, width, height)`` of ``path`` covering ``bounds``
    (in ``bounds_crs``, default the raster's CRS), rounded by :func:`bounds_window`;
    ``None`` if they do not overlap."""
    import rasterio
    from rasterio.warp import transform_bounds

    with rasterio.open(gdal_path(path)) as src:
        if bounds_crs is not None and src.crs is not None:
            bounds = transform_bounds(bounds_crs, src.crs, *bounds, densify_pts=21)
        window = bounds_window(src.transform, src.width, src.height, bounds)
    if window is None:
        return None
    r0, r1, c0, c1 = window
    return c0, r0, c1 - c0, r1 - r0


def window_vrt(path: str, window: tuple[int, int, int, int], folder: str | None = None) -> str:
    """Write a VRT exposing ``window`` of ``path`` (referenced, not copied) and return its
    path. Reading the VRT reads only the window's blocks of the source."""
    import rasterio

    source = gdal_path(path)
    col, row, width, height = window
    with rasterio.open(source) as src:
        tr = src.transform
        dtype = src.dtypes[0]
        nodata = src.nodata
        crs_wkt = src.crs.to_wkt() if src.crs else ""
        by, bx = src.block_shapes[0]
    left, top = tr * (col, row)
    gdal_type = {"uint8": "Byte", "int8": "Int8", "uint16": "UInt16", "int16": "Int16",
                 "uint32": "UInt32", "int32": "Int32", "float32": "Float32",
                 "float64": "Float64"}[dtype]
    name = source if "://" in path or source.startswith("/vsi") else os.path.abspath(source)
    band = [f'<VRTRasterBand dataType="{gdal_type}" band="1">']
    if nodata is not None:
        band.append(f"<NoDataValue>{nodata!r}</NoDataValue>")
    band.append(
        "<SimpleSource>"
        f'<SourceFilename relativeToVRT="0">{escape(name)}</SourceFilename>'
        "<SourceBand>1</SourceBand>"
        f'<SourceProperties RasterXSize="{src.width}" RasterYSize="{src.height}" '
        f'DataType="{gdal_type}" BlockXSize="{bx}" BlockYSize="{by}"/>'
        f'<SrcRect xOff="{col}" yOff="{row}" xSize="{width}" ySize="{height}"/>'
        f'<DstRect xOff="0" yOff="0" xSize="{width}" ySize="{height}"/>'
        "</SimpleSource></VRTRasterBand>")
    xml = (f'<VRTDataset rasterXSize="{width}" rasterYSize="{height}">'
           f"<SRS>{escape(crs_wkt)}</SRS>"
           f"<GeoTransform>{left!r}, {tr.a!r}, {tr.b!r}, {top!r}, {tr.d!r}, {tr.e!r}"
           "</GeoTransform>" + "".join(band) + "</VRTDataset>")
    digest = hashlib.sha1(xml.encode()).hexdigest()[:16]
    out = Path(folder or tempfile.gettempdir()) / f"landcarbon-window-{digest}.vrt"
    if not out.exists():
        tmp = out.with_name(f"{out.name}.{os.getpid()}.tmp")
        tmp.write_text(xml, encoding="utf-8")
        os.replace(tmp, out)
    return str(out)

