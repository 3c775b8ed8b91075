"""Writing rasters as Cloud-Optimized GeoTIFFs, block by block.

:class:`CogSet` hands out a *sink* for each raster (``sink[rows, cols] = block``,
thread-safe; a :class:`~landcarbon.io.cog_writer.CogWriter`): a computation fills them as it
goes (e.g. :func:`landcarbon.engine.landcover_pass.landcover_pass`, during its pass over the land
cover), each sink compresses its tiles and builds its overview levels from the blocks as they
arrive, then :meth:`CogSet.finish` lays out each COG (ZSTD, internal overviews) with its
colour table, class names, units and provenance. Memory stays bounded by the block size;
nothing is left behind if the work fails.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any
from xml.sax.saxutils import escape

import xarray as xr

from landcarbon.io.cog_writer import CogWriter, gdal_header_tags

__all__ = ["CogSet", "write_cogs", "write_raster"]


class CogSet:
    """Rasters written block by block as COGs.

    Use as a context manager: :meth:`open` a sink per raster, fill the sinks, then call
    :meth:`finish`. Leaving the context without :meth:`finish` (an error) deletes the
    spooled tiles and writes no COG.
    """

    def __init__(self) -> None:
        self._jobs: list[dict[str, Any]] = []

    def __enter__(self) -> CogSet:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        for job in self._jobs:
            job["writer"].discard()

    def open(self, path: str | Path, template: xr.DataArray, *, nodata: float | None = None,
             colormap: dict[int, tuple[int, int, int, int]] | None = None,
             band_description: str | None = None, category_names: list[str] | None = None,
             tags: dict[str, str] | None = None) -> CogWriter:
        """A sink for the raster to be written at ``path`` on the grid, dtype and CRS of
        ``template`` (its data are not computed). Overviews: nearest for rasters with a
        colour table (classes), the average of valid pixels otherwise."""
        path = Path(path)
        writer = CogWriter(path, template.sizes["y"], template.sizes["x"], template.dtype,
                           nodata=nodata, resampling="nearest" if colormap else "average")
        self._jobs.append({
            "path": path, "writer": writer, "crs": template.rio.crs,
            "transform": template.rio.transform(), "nodata": nodata, "colormap": colormap,
            "description": band_description, "category_names": category_names,
            "tags": dict(tags or {})})
        return writer

    def tag(self, path: str | Path, tags: dict[str, str]) -> None:
        """Add metadata tags to the raster opened for ``path`` (before :meth:`finish`)."""
        for job in self._jobs:
            if job["path"] == Path(path):
                job["tags"].update(tags)
                return
        raise KeyError(f"no raster opened for {path}")

    def finish(self) -> list[Path]:
        """Write each COG from its tiles; return the COG paths. The COGs are laid out in
        threads of their own (copying tiles from the spool, writing and hashing the file
        release the GIL); each file's SHA-256, computed on the bytes as they are written, is
        remembered (:func:`~landcarbon.io.outputs.remember_sha256`) so that a manifest does
        not read the file again."""
        from concurrent.futures import ThreadPoolExecutor

        headers = [gdal_header_tags(job["crs"], job["transform"], job["writer"].dtype,
                                    job["nodata"], colormap=job["colormap"],
                                    description=job["description"], tags=job["tags"])
                   for job in self._jobs]
        with ThreadPoolExecutor(max(1, len(self._jobs))) as pool:
            done = [pool.submit(job["writer"].finish, header)
                    for job, header in zip(self._jobs, headers, strict=True)]
            for future in done:
                future.result()
        for job in self._jobs:
            if job["category_names"]:
                _write_category_names(job["path"], job["category_names"])
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

    The data are streamed chunk by chunk into the COG's tiles and overview levels
    (:class:`CogSet`: ZSTD, internal overviews), so memory stays bounded. ``tags``
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
    from landcarbon.io.sinks import store_blocks

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
