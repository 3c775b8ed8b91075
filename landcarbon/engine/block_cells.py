"""The boundary cells of a raster block and their exact coverage by the units, kept for reuse.

The geometry half of the block zonal engine (:mod:`landcarbon.engine.coverage` counts the
pixel values): the units' rings are turned into edge pieces in the block's pixel coordinates
(split at every grid line they cross), and the cells those pieces cross get each unit's exact
coverage fraction (:func:`landcarbon.engine.boundary_kernels.boundary_cells`). None of it
reads a pixel value, so rasters on the same grid and units (the dates of a change run,
scenarios, Monte Carlo draws) can share it: :data:`COVERAGE` keeps it, under keys naming the units
(:func:`units_token`), the block's transform and its shape, while a caller holds
:meth:`CoverageCache.reusing`.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
from affine import Affine

__all__ = [
    "COVERAGE",
    "CoverageCache",
    "Pieces",
    "block_cells",
    "clipped_pieces",
    "no_cells",
    "units_token",
]

#: per edge piece: owner, row, col, partial contribution to its own cell, full contribution
#: (``-dx``) to the cells above
Pieces = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def _edges(geoms: np.ndarray, owners: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Edges (x0, y0, x1, y1) of every ring of ``geoms`` (pixel coordinates, oriented to a
    positive signed area) and the owner of each edge."""
    import shapely

    geoms = shapely.orient_polygons(geoms, exterior_cw=False)
    parts, part_idx = shapely.get_parts(geoms, return_index=True)
    rings, ring_idx = shapely.get_rings(parts, return_index=True)
    coords, cidx = shapely.get_coordinates(rings, return_index=True)
    if coords.shape[0] < 2:
        return np.zeros((0, 4)), np.zeros(0, dtype=np.int64)
    same = cidx[1:] == cidx[:-1]
    edges = np.hstack([coords[:-1][same], coords[1:][same]])
    edge_owner = owners[part_idx[ring_idx[cidx[:-1][same]]]]
    return edges, edge_owner


def _pieces(edges: np.ndarray, owner: np.ndarray) -> Pieces:
    """Split edges at every integer x and y they cross; return per piece: owner, row, col,
    partial contribution to its own cell, full contribution (``-dx``) to the cells above
    (compiled: :func:`landcarbon.engine.boundary_kernels.edge_pieces`)."""
    from landcarbon.engine.boundary_kernels import edge_pieces

    return edge_pieces(np.ascontiguousarray(edges, dtype=np.float64),
                       np.ascontiguousarray(owner, dtype=np.int64))


def clipped_pieces(geoms: np.ndarray, shape: tuple[int, int]) -> Pieces | None:
    """The edge pieces (:data:`Pieces`) of ``geoms`` (pixel coordinates) clipped to a grid of
    ``shape`` (height, width); None when no polygon reaches the grid. Owners index
    ``geoms``."""
    import shapely

    h, w = shape
    try:
        clipped = shapely.clip_by_rect(geoms, 0.0, 0.0, float(w), float(h))
    except shapely.errors.GEOSException:
        # a sliver collapsed by the move to pixel coordinates (a ring of 3 distinct points:
        # a zone reprojected along a unit's edge): its polygonal part, or nothing
        from landcarbon.engine.shapes import polygonal

        bad = ~shapely.is_valid(geoms)
        geoms = geoms.copy()
        geoms[bad] = [polygonal(g) for g in shapely.make_valid(geoms[bad])]
        clipped = shapely.clip_by_rect(geoms, 0.0, 0.0, float(w), float(h))
    ok = ~shapely.is_empty(clipped)
    if not ok.any():
        return None
    edges, eowner = _edges(clipped[ok], np.nonzero(ok)[0])
    if len(edges) == 0:
        return None
    return _pieces(edges, eowner)


def block_cells(geoms: np.ndarray, transform: Affine, shape: tuple[int, int],
                cache_key: Any = None) -> tuple[np.ndarray, ...] | None:
    """The boundary cells of a block of ``shape`` and their exact coverage by ``geoms``
    (:func:`landcarbon.engine.boundary_kernels.boundary_cells`), from :data:`COVERAGE` when
    ``cache_key`` names them (see
    :func:`landcarbon.engine.coverage.block_bucket_areas`); None when no unit edge reaches
    the block (or there are no units)."""
    import shapely

    from landcarbon.engine.boundary_kernels import boundary_cells

    h, w = shape

    def coverage() -> tuple[np.ndarray, ...] | None:
        if not len(geoms):
            return None
        inv = ~transform
        pix = shapely.transform(geoms, lambda xy: np.column_stack(inv * (xy[:, 0], xy[:, 1])))
        pieces = clipped_pieces(pix, (h, w))
        return None if pieces is None else boundary_cells(*pieces, h, w)

    return (coverage() if cache_key is None
            else COVERAGE.get((cache_key, tuple(transform)[:6], h, w), coverage))


def no_cells(shape: tuple[int, int]) -> tuple[np.ndarray, ...]:
    """:func:`block_cells` of a block no unit edge reaches: no crossed cell, so every cell
    is counted by the scanline sweep (as outside every unit)."""
    from landcarbon.engine.boundary_kernels import boundary_cells

    return boundary_cells(*(np.zeros(0, np.int64),) * 3, *(np.zeros(0),) * 2, *shape)


def _nbytes(value: tuple[np.ndarray, ...] | None) -> int:
    """What a kept block counts against :attr:`CoverageCache.max_bytes`."""
    return 64 + (sum(a.nbytes for a in value) if value is not None else 0)


class CoverageCache:
    """Boundary cells of blocks and their exact coverage by the units (geometry only: no
    pixel values), kept for the next raster on the same grid and units while a caller that
    will reuse them holds :meth:`reusing` (a change run, scenarios, Monte Carlo draws);
    otherwise nothing is kept (a single run would only pay the memory). Thread-safe.

    When ``max_bytes`` is reached, later blocks are computed and not kept (the first ones
    stay): rasters passed over block by block in the same order then reuse as many blocks as
    fit, where a least-recently-used cache would evict each block just before the next
    raster needs it. :attr:`computed` counts the computations, :attr:`reused` the reuses.
    """

    def __init__(self, max_bytes: int = 384 << 20) -> None:
        self.max_bytes = max_bytes
        self._items: dict[Any, Any] = {}
        self._bytes = 0
        self._lock = threading.Lock()
        self._holders = 0
        self._pending: dict[Any, threading.Event] = {}  # keys being computed
        self._uses: int | None = None  # see dropping_after
        self._used: dict[Any, int] = {}
        self.computed = 0
        self.reused = 0

    @contextlib.contextmanager
    def reusing(self) -> Iterator[CoverageCache]:
        """Keep the coverage computed inside the ``with`` block (nested blocks share it);
        everything kept is dropped when the outermost block ends."""
        with self._lock:
            self._holders += 1
        try:
            yield self
        finally:
            with self._lock:
                self._holders -= 1
                if not self._holders:
                    self._items.clear()
                    self._used.clear()
                    self._bytes = 0

    @contextlib.contextmanager
    def dropping_after(self, uses: int) -> Iterator[CoverageCache]:
        """Inside the ``with`` block, drop a kept block after its ``uses``-th use (its
        computation counts as the first): a pass that hands each block to a known number of
        rasters (a change run's dates and its period sweep) keeps only the blocks in flight,
        not the whole grid's coverage (~320 MB at 268 Mpx), and reuses every block at any
        size instead of the first ``max_bytes`` worth. A block used fewer times stays until
        :meth:`reusing` ends; one used more often is computed again (the same values)."""
        with self._lock:
            self._uses, self._used = max(int(uses), 1), {}
        try:
            yield self
        finally:
            with self._lock:
                self._uses = None
                self._used.clear()

    def _use(self, key: Any) -> None:
        """Count a use of the kept ``key`` (lock held); drop it at the last expected one."""
        if self._uses is None:
            return
        count = self._used.get(key, 0) + 1
        if count >= self._uses:
            self._used.pop(key, None)
            if key in self._items:
                self._bytes -= _nbytes(self._items.pop(key))
        else:
            self._used[key] = count

    @property
    def nbytes(self) -> int:
        """Bytes of the arrays kept."""
        return self._bytes

    def get(self, key: Any, compute: Callable[[], Any]) -> Any:
        """The kept value of ``key``, or ``compute()`` (kept while :meth:`reusing` is held
        and under ``max_bytes``). While it is kept, a thread asking for a key that another
        thread is computing waits for that value (the dates of a change run pass over the
        same block side by side) instead of computing it too."""
        mine: threading.Event | None = None
        while True:
            with self._lock:
                if key in self._items:
                    self.reused += 1
                    value = self._items[key]
                    self._use(key)
                    return value
                keep = self._holders > 0
                pending = self._pending.get(key) if keep else None
                if pending is None:
                    if keep:
                        mine = self._pending[key] = threading.Event()
                    break
            pending.wait()  # then take the kept value (or compute it if it was not kept)
        try:
            value = compute()
            size = _nbytes(value)
            with self._lock:
                self.computed += 1
                if (keep and self._holders and key not in self._items
                        and self._bytes + size <= self.max_bytes):
                    self._items[key] = value
                    self._bytes += size
                    self._use(key)
        finally:
            if mine is not None:
                with self._lock:
                    self._pending.pop(key, None)
                mine.set()
        return value

    def clear(self) -> None:
        """Drop everything kept (counters stay)."""
        with self._lock:
            self._items.clear()
            self._used.clear()
            self._bytes = 0


#: The process's cache of block coverage (see
#: :func:`landcarbon.engine.coverage.block_bucket_areas`).
COVERAGE = CoverageCache()


def units_token(geoms: np.ndarray) -> str:
    """A digest of the units' geometries (WKB), naming them in :data:`COVERAGE` keys."""
    import hashlib

    import shapely

    digest = hashlib.blake2b(digest_size=16)
    for start in range(0, len(geoms), 2000):  # in chunks: survey boundaries' WKB is big
        for wkb in shapely.to_wkb(geoms[start:start + 2000], hex=False, include_srid=False):
            digest.update(b"" if wkb is None else wkb)
            digest.update(b"|")
    return digest.hexdigest()
