"""Progress bars and step timings of the pipeline, on stderr.

The CLI sets the verbosity once (:func:`set_verbosity`: 0 = ``-q``, errors only; 1 = default;
2 = ``-v``). Then

* :func:`step` times a step of a run; its time is logged at INFO on the ``landcarbon.steps``
  logger, which is shown with ``-v`` only;
* :func:`dask_bar` shows a tqdm bar over the tasks of the dask computations run inside it
  (the pass over the land cover, raster writing, the transition pass), :func:`bar` one over
  any iterable (the Monte Carlo blocks of units) and :func:`stages` one over named stages
  (map, figures, report of a publication), all only when stderr is a terminal and the
  verbosity is not ``-q``.

Library callers (``landcarbon.pipeline.run(..., progress=True)``) get bars with the default
verbosity when stderr is a terminal.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

__all__ = ["bar", "bars_shown", "dask_bar", "lap", "log_step", "set_verbosity", "stages",
           "step", "steps_of", "stoppable", "verbosity"]

T = TypeVar("T")
log = logging.getLogger("landcarbon.steps")
log.setLevel(logging.WARNING)
_verbosity = 1
_label: contextvars.ContextVar[str] = contextvars.ContextVar("landcarbon_step_label",
                                                            default="")


def set_verbosity(level: int) -> None:
    """0: errors only (``-q``), 1: default, 2: step timings (``-v``)."""
    global _verbosity
    _verbosity = int(level)
    log.setLevel(logging.INFO if _verbosity >= 2 else logging.WARNING)


def verbosity() -> int:
    """The verbosity set by :func:`set_verbosity` (1 if never set)."""
    return _verbosity


def bars_shown(progress: bool = True) -> bool:
    """Whether progress bars are drawn: asked for, not ``-q``, and stderr is a terminal."""
    return bool(progress) and _verbosity >= 1 and sys.stderr.isatty()


@contextlib.contextmanager
def step(name: str, timings: dict[str, float] | None = None) -> Iterator[None]:
    """Time the block as step ``name``: logged at INFO (``landcarbon.steps``, shown with
    ``-v``) and stored in ``timings[name]`` (seconds, rounded to ms) when given."""
    _stop_point()
    start = time.perf_counter()
    try:
        yield
    finally:
        seconds = time.perf_counter() - start
        if timings is not None:
            timings[name] = round(timings.get(name, 0.0) + seconds, 3)
        log_step(name, seconds)


def lap(timings: dict[str, float], name: str, start: float) -> float:
    """Record the step ``name`` that began at ``start`` (seconds, rounded to ms) in
    ``timings`` and log it (:func:`log_step`); returns the time now, the next step's start."""
    now = time.perf_counter()
    timings[name] = round(now - start, 3)
    log_step(name, now - start)
    _stop_point()
    return now


def stoppable(items: Iterable[T]) -> Iterator[T]:
    """``items``, checking before each whether the process was asked to stop (a long loop
    of blocks, e.g. Monte Carlo draws: a stop whose exception was lost takes effect at the
    next item)."""
    for item in items:
        _stop_point()
        yield item


def _stop_point() -> None:
    """Where a stop whose exception Python lost takes effect
    (:func:`landcarbon.io.outputs.raise_if_stopped`): before each step and Monte Carlo
    block, after each timed lap."""
    from landcarbon.io.outputs import raise_if_stopped

    raise_if_stopped()


def log_step(name: str, seconds: float) -> None:
    """Log step ``name`` (after the :func:`steps_of` label in force) and its time."""
    log.info("step %-22s %7.2f s", _label.get() + name, seconds)


@contextlib.contextmanager
def steps_of(label: str) -> Iterator[None]:
    """Name the steps logged inside the block ``"<label> <step>"`` (e.g. the year of a
    change run's date); the ``timings`` keys keep the bare step names."""
    token = _label.set(f"{label} ")
    try:
        yield
    finally:
        _label.reset(token)


@contextlib.contextmanager
def dask_bar(description: str, progress: bool = True) -> Iterator[None]:
    """A tqdm bar over the tasks of the dask computations inside the block (local
    schedulers), when :func:`bars_shown`."""
    if not bars_shown(progress):
        yield
        return
    from tqdm.dask import TqdmCallback

    with TqdmCallback(desc=description, file=sys.stderr, leave=False, unit="task",
                      mininterval=0.5, **_size()):
        yield


def bar(items: Iterable[T], description: str, *, total: int | None = None,
        progress: bool = True, unit: str = "it") -> Iterable[T]:
    """``items`` with a tqdm bar on stderr when :func:`bars_shown`; ``items`` itself
    otherwise."""
    if not bars_shown(progress):
        return items
    from tqdm import tqdm

    out: Any = tqdm(items, desc=description, total=total, file=sys.stderr, leave=False,
                    unit=unit, mininterval=0.5, **_size())
    return out


@contextlib.contextmanager
def stages(description: str, total: int, progress: bool = True
           ) -> Iterator[Callable[[str], None]]:
    """A tqdm bar of ``total`` stages (e.g. map, figures, report of a publication) when
    :func:`bars_shown`; yields ``advance(name)``, called after each stage (a no-op without a
    bar)."""
    if not bars_shown(progress):
        yield lambda name: None
        return
    from tqdm import tqdm

    with tqdm(total=total, desc=description, file=sys.stderr, leave=False, unit="stage",
              mininterval=0, **_size()) as shown:

        def advance(name: str) -> None:
            shown.set_postfix_str(name, refresh=False)
            shown.update(1)

        yield advance


def _size() -> dict[str, int]:
    """Columns and rows of the terminal on stderr; 80 x 24 when it reports none (a terminal
    of size 0, e.g. a fresh pseudo-terminal, where tqdm draws nothing)."""
    try:
        size = os.get_terminal_size(sys.stderr.fileno())
        columns, rows = size.columns, size.lines
    except (OSError, ValueError):
        columns = rows = 0
    return {"ncols": columns if columns > 0 else 80, "nrows": rows if rows > 0 else 24}
