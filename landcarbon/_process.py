"""Whether landcarbon runs in a process of its own or in a user's session.

The console script (:func:`landcarbon.cli._base.entry`) and the figure worker
(:mod:`landcarbon.pipeline.figure_worker`) are processes landcarbon starts and ends. There it
tunes what is the process's to tune and may trade what only an interactive user would see
for speed:

* Python's cyclic garbage collector runs a young collection every :data:`GC_THRESHOLDS`\\[0]
  net allocations instead of 700 (mypy's command line does the same): a run allocates
  millions of small objects that reference counting frees, and with the default the collector
  walked them ~630 times, and every object of pandas, GDAL's bindings and numba 4 times in
  full, for ~0.36 s of a 3-date change run on 268 M px; 7 young collections cost ~0.12 s.
  Peak memory stayed the same (602 / 604 MB).
* :func:`landcarbon.publish._mpl.import_for_drawing` writes short ``set()`` docstrings.

A notebook or a script importing landcarbon keeps every library as the library made it.
"""

from __future__ import annotations

import gc

__all__ = ["GC_THRESHOLDS", "claim", "own"]

#: :func:`gc.set_threshold` of landcarbon's own processes
GC_THRESHOLDS = (50_000, 20, 20)
_own = False


def claim() -> None:
    """Mark this process as landcarbon's own and tune its garbage collector (called first by
    its entry points)."""
    global _own
    _own = True
    gc.set_threshold(*GC_THRESHOLDS)


def own() -> bool:
    """Whether :func:`claim` was called in this process."""
    return _own
