"""Writing rasters as Cloud-Optimized GeoTIFFs, block by block.

:class:`CogSet` opens one tiled temporary GeoTIFF per raster and hands out a *sink* for each
(``sink[rows, cols] = block``, thread-safe): a computation fills them as it goes (e.g.
:func:`landcarbon.engine.landcover_pass.landcover_pass`, during its pass over the land cover), then
:meth:`CogSet.finish` copies each into a COG (DEFLATE, internal overviews) with its colour
table, class names, units and provenance. Memory stays bounded by the block size; nothing
is left behind if the work fails.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any
from xml.sax.saxutils import escape

import numpy as np
import xarray as xr

__all__ = ["CogSet", "write_cogs", "write_raster"]


#: GeoTIFF/COG creation options: blocks that hold only nodata are not written (sea, outside
#: the study area: readers get nodata back) and DEFLATE runs on every core. 2.6x faster on a
#: 36000 x 36000 WorldCover tile, files 3x smaller.
_FAST_WRITE = {"SPARSE_OK": True, "NUM_THREADS": "ALL_CPUS"}


class _WindowWriter:
    """``__setitem__`` target for :func:`dask.array.store` writing windows to a dataset."""

    def __init__(self, dataset: Any) -> None:
        self.dataset = dataset
        self.lock = threading.Lock()

    def __setitem__(self, key: tuple[slice, slice], value: np.ndarray) -> None:
        from rasterio.windows import Window

        ys, xs = key
        window = Window(xs.start, ys.start, xs.stop - xs.start, ys.stop - ys.start)
        with self.lock:
            self.dataset.write(value, 1, window=window)


class CogSet:
    """Rasters written block by block into temporary GeoTIFFs, then copied to COGs.

    Use as a context manager: :meth:`open` a sink per raster, fill the sinks, then call
    :meth:`finish`. Leaving the context without :meth:`finish` (an error) closes and deletes
    the temporary files and writes no COG.
    """

    def __init__(self) -> None:
        self._stack = contextlib.ExitStack()
        self._jobs: list[dict[str, Any]] = []

    def __enter__(self) -> CogSet:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stack.close()
        for job in self._jobs:
            job["tmp"].unlink(missing_ok=True)

    def open(self, path: str | Path, template: xr.DataArray, *, nodata: float | None = None,
             colormap: dict[int, tuple[int, int, int, int]] | None = None,
             band_description: str | None = None, category_names: list[str] | None = None,
             tags: dict[str, str] | None = None) -> _WindowWriter:
        """A sink for the raster to be written at ``path`` on the grid, dtype and CRS of
        ``template`` (its data are not computed)."""
        import rasterio

        path = Path(path)
        tmp = path.with_name(path.name + ".part.tif")
        profile = {
            "driver": "GTiff", "width": template.sizes["x"], "height": template.sizes["y"],
            "count": 1, "dtype": str(template.dtype), "crs": template.rio.crs,
            "transform": template.rio.transform(), "nodata": nodata,
            "tiled": True, "blockxsize": 512, "blockysize": 512, "BIGTIFF": "IF_SAFER",
            # the temporary file is read once by the COG copy: fast ZSTD, not DEFLATE
            "compress": "ZSTD", "ZSTD_LEVEL": 1, **_FAST_WRITE,
        }
        self._jobs.append({"path": path, "tmp": tmp, "colormap": colormap,
                           "category_names": category_names})
        dst = self._stack.enter_context(rasterio.open(tmp, "w", **profile))
        self._jobs[-1]["dataset"] = dst
        if tags:
            dst.update_tags(**tags)
        if band_description:
            dst.set_band_description(1, band_description)
        if colormap:
            dst.write_colormap(1, colormap)
        return _WindowWriter(dst)

    def tag(self, path: str | Path, tags: dict[str, str]) -> None:
        """Add metadata tags to the raster opened for ``path`` (before :meth:`finish`)."""
        for job in self._jobs:
            if job["path"] == Path(path):
                job["dataset"].update_tags(**tags)
                return
        raise KeyError(f"no raster opened for {path}")

    def finish(self) -> list[Path]:
        """Close the temporary files and copy each into its COG; return the COG paths."""
        import rasterio.shutil

        self._stack.close()
        for job in self._jobs:
            rasterio.shutil.copy(job["tmp"], job["path"], driver="COG", compress="DEFLATE",
                                 overview_resampling=("NEAREST" if job["colormap"]
                                                      else "AVERAGE"),
                                 BIGTIFF="IF_SAFER", **_FAST_WRITE)
            if job["category_names"]:
                _write_category_names(job["path"], job["category_names"])
            job["tmp"].unlink(missing_ok=True)
        return [job["path"] for job in self._jobs]


def write_raster(
    da: xr.DataArray,
    path: str | os.PathLike[str],
    *,
    nodata: float | None = None,
    colormap: dict[int, tuple[int, int, int, int]] | None = None,
    tags: dict[str, str] | None = None,
    band_description: str | None = None,
    category_names: list[str] | None = None,
    progress: bool = False,
) -> None:
    """Write a 2-D DataArray (numpy or dask) to a Cloud-Optimized GeoTIFF.

    The data are streamed chunk by chunk into a tiled temporary GeoTIFF beside ``path`` and
    then copied into a COG (DEFLATE, internal overviews), so memory stays bounded. ``tags``
    (e.g. units, provenance) go into the dataset metadata; ``colormap`` and
    ``category_names`` make class rasters open coloured and named in QGIS.
    """
    write_cogs([{"da": da, "path": path, "nodata": nodata, "colormap": colormap,
                    "tags": tags, "band_description": band_description,
                    "category_names": category_names}], progress=progress)


def write_cogs(jobs: Sequence[dict[str, Any]], *, progress: bool = False) -> None:
    """Write several rasters (each a dict of :func:`write_raster`'s arguments) in one pass:
    dask-backed rasters derived from the same inputs (e.g. land class, space type and flux
    of one category raster) share their reads and intermediate blocks, which are computed
    once per block instead of once per raster."""
    from landcarbon.io.raster import store_blocks

    with CogSet() as cogs:
        pairs = []
        for job in jobs:
            options = {k: job.get(k) for k in ("nodata", "colormap", "band_description",
                                               "category_names", "tags")}
            pairs.append((job["da"], cogs.open(job["path"], job["da"], **options)))
        store_blocks(pairs, progress=progress)
        cogs.finish()


def _write_category_names(path: Path, names: list[str]) -> None:
    """Store class names as a GDAL PAM sidecar (``.aux.xml``), read by QGIS and GDAL."""
    cats = "".join(f"<Category>{escape(n)}</Category>" for n in names)
    xml = (f'<PAMDataset><PAMRasterBand band="1"><CategoryNames>{cats}</CategoryNames>'
           "</PAMRasterBand></PAMDataset>\n")
    Path(str(path) + ".aux.xml").write_text(xml, encoding="utf-8")
