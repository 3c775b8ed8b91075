"""Writing rasters block by block into sinks (``sink[rows, cols] = block``: COG writers,
GeoTIFF windows, reducers): all rasters in one pass over their dask graph, from dask's
threads when local, from this process when the blocks are computed elsewhere (a
dask.distributed client or the ``processes`` scheduler: a sink does not travel)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr

__all__ = ["distributed_client", "sinks_stay_here", "store_blocks"]


def distributed_client() -> Any:
    """The default dask.distributed client, if one is active (none can be while
    dask.distributed was never imported: then it is not imported here, ~0.1-0.5 s)."""
    if "distributed" not in sys.modules:
        return None
    try:
        from distributed import default_client
    except ImportError:  # pragma: no cover
        return None
    try:
        return default_client()
    except ValueError:
        return None


def sinks_stay_here() -> bool:
    """True when dask tasks run in other processes (a dask.distributed client, or the
    ``processes`` local scheduler): sinks (open datasets, locks) cannot travel there, so
    blocks are computed there and written from this process."""
    import dask

    return (distributed_client() is not None
            or dask.config.get("scheduler", None) in ("processes", "multiprocessing"))


def store_blocks(pairs: Sequence[tuple[xr.DataArray, Any]], *, progress: bool = False
                 ) -> None:
    """Compute rasters block by block into their sinks (``sink[rows, cols] = block``), all
    in one pass (rasters derived from the same input share its reads): dask's threads when
    local, this process writing when a dask.distributed client is active (a sink does not
    travel to workers); numpy-backed rasters in one piece."""
    from dask.base import is_dask_collection

    sources, targets = [], []
    for da, sink in pairs:
        if is_dask_collection(da.data):
            sources.append(da.data)
            targets.append(sink)
        else:
            sink[slice(0, da.sizes["y"]), slice(0, da.sizes["x"])] = np.asarray(da.data)
    if not sources:
        return
    if sinks_stay_here():
        # blocks computed in other processes are written here, a few at a time (bounded
        # memory)
        for data, target in zip(sources, targets, strict=True):
            _store_from_client(data, target)
        return
    import dask.array as dsk  # only for dask-backed rasters (~0.5 s to import)

    if progress:
        from dask.diagnostics import ProgressBar

        with ProgressBar(out=__import__("sys").stderr):
            dsk.store(sources, targets, lock=False)
    else:
        dsk.store(sources, targets, lock=False)


def _store_from_client(data: Any, target: Any, batch: int = 8) -> None:
    """Compute the blocks of ``data`` on the active scheduler ``batch`` at a time and write
    each into ``target`` from this process."""
    import dask

    ys = np.cumsum((0, *data.chunks[0]))
    xs = np.cumsum((0, *data.chunks[1]))
    blocks = data.to_delayed()
    keys = [(i, j) for i in range(blocks.shape[0]) for j in range(blocks.shape[1])]
    for start in range(0, len(keys), batch):
        part = keys[start:start + batch]
        values = dask.compute(*[blocks[i, j] for i, j in part])
        for (i, j), value in zip(part, values, strict=True):
            target[slice(ys[i], ys[i + 1]), slice(xs[j], xs[j + 1])] = value
