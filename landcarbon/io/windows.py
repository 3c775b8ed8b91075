"""Windows of big rasters without copying them: a VRT that references one window of a
(local or remote) raster (:func:`landcarbon.io.worldcover.save_worldcover` saves such windows
as a Cloud-Optimized GeoTIFF).

Remote rasters (``https://...`` Cloud-Optimized GeoTIFFs, object storage) are read through
GDAL's ``/vsicurl/``: only the header and the internal tiles that a window touches are
fetched, with HTTP range requests.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from xml.sax.saxutils import escape

from landcarbon.engine.grid import bounds_window

__all__ = ["gdal_path", "window_of_bounds", "window_vrt"]


def gdal_path(path: str) -> str:
    """``https://``/``http://`` URLs as GDAL ``/vsicurl/`` paths, ``s3://`` as ``/vsis3/``;
    anything else unchanged."""
    if path.startswith(("http://", "https://")):
        return "/vsicurl/" + path
    if path.startswith("s3://"):
        return "/vsis3/" + path[5:]
    return path


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
    path (in ``folder``, or in the private per-process scratch folder of
    :mod:`landcarbon.io.scratch`). Reading the VRT reads only the window's blocks of the source."""
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
    if folder is None:
        from landcarbon.io.scratch import write_scratch

        return write_scratch(f"window-{digest}.vrt", xml)
    out = Path(folder) / f"landcarbon-window-{digest}.vrt"
    if not out.exists():
        tmp = out.with_name(f"{out.name}.{os.getpid()}.tmp")
        tmp.write_text(xml, encoding="utf-8")
        os.replace(tmp, out)
    return str(out)

