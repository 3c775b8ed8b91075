"""Whether landcarbon runs in a process of its own or in a user's session.

The console script (:func:`landcarbon.cli._base.entry`) and the figure worker
(:mod:`landcarbon.pipeline.figure_worker`) are processes landcarbon starts and ends: there it
may trade what only an interactive user would see for speed (e.g.
:func:`landcarbon.publish._mpl.import_for_drawing` with short ``set()`` docstrings). A
notebook or a script importing landcarbon keeps every library as the library made it.
"""

from __future__ import annotations

__all__ = ["claim", "own"]

_own = False


def claim() -> None:
    """Mark this process as landcarbon's own (called first by its entry points)."""
    global _own
    _own = True


def own() -> bool:
    """Whether :func:`claim` was called in this process."""
    return _own
