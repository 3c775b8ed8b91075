"""Where a run's dask graphs execute: the ``[compute] scheduler`` setting as a context.

Local schedulers ("threads", "processes", "synchronous") are set with ``dask.config``; an
address connects a :class:`distributed.Client` to a running cluster (``dask scheduler`` +
``dask worker tcp://...``), which becomes the default scheduler of every ``compute()`` inside
the context. No parallel engine of our own: the graphs are the same on every scheduler.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator
from typing import Any

from landcarbon.config.compute import LOCAL_SCHEDULERS, ComputeConfig
from landcarbon.exceptions import ConfigError

__all__ = ["beside", "compute_context"]

log = logging.getLogger(__name__)


def _local_scheduler(name: str) -> object:
    """The dask setting for a local scheduler: the scheduler function itself for "threads"
    and "synchronous" while dask.distributed was never imported (no client can exist then).
    Named by a string, dask's ``get_scheduler`` imports dask.distributed at every run's first
    ``compute()`` to look for a client (~0.3 s); given the function, it uses it at once."""
    if "distributed" in sys.modules:
        return name
    from dask import local, threaded

    return {"threads": threaded.get, "synchronous": local.get_sync}.get(name, name)


def _stop_points() -> Any:
    """A dask callback checking, before each task, whether the process was asked to stop
    (:func:`landcarbon.io.outputs.raise_if_stopped`): a signal whose exception was lost in a
    finalizer still stops the run at its next task, not at its end."""
    from dask.callbacks import Callback

    from landcarbon.io.outputs import raise_if_stopped

    class StopPoints(Callback):
        def _pretask(self, key: Any, dsk: Any, state: Any) -> None:
            raise_if_stopped()

    return StopPoints()


@contextlib.contextmanager
def compute_context(settings: ComputeConfig | None) -> Iterator[None]:
    """Run the body with the configured dask scheduler (a no-op when a distributed client is
    already the default and no address is configured)."""
    import dask

    settings = settings or ComputeConfig()
    if settings.scheduler in LOCAL_SCHEDULERS:
        from landcarbon.io.sinks import distributed_client

        if distributed_client() is not None and settings.scheduler == "threads":
            yield  # a client set up by the caller (notebook, batch) stays in charge
            return
        opts: dict[str, object] = {"scheduler": _local_scheduler(settings.scheduler)}
        if settings.num_workers:
            opts["num_workers"] = settings.num_workers
        with dask.config.set(opts), _stop_points():
            yield
        return
    try:
        from distributed import Client
    except ImportError as exc:  # pragma: no cover - distributed is a dependency
        raise ConfigError("[compute] scheduler is an address but dask.distributed is not "
                          "installed: pip install distributed.") from exc
    try:
        client = Client(settings.scheduler, timeout="10s", set_as_default=True)
    except OSError as exc:
        raise ConfigError(
            f"Cannot connect to the dask scheduler at {settings.scheduler!r} ([compute] "
            f"scheduler or --scheduler): {exc}. Start one with `dask scheduler` and workers "
            "with `dask worker tcp://HOST:8786`, or use scheduler = 'threads'.") from None
    log.info("computing on the dask cluster %s (%d workers)", settings.scheduler,
             len(client.scheduler_info().get("workers", {})))
    try:
        with client.as_current():
            yield
    finally:
        client.close()


def beside(func: Any, *args: Any) -> Any:
    """``func(*args)`` started in a thread of its own, beside this one (work that releases
    the GIL: GEOS, pyproj); ``.result()`` of the returned future waits for it (and raises
    what it raised)."""
    from concurrent.futures import ThreadPoolExecutor

    pool = ThreadPoolExecutor(max_workers=1)
    future = pool.submit(func, *args)
    pool.shutdown(wait=False)  # the thread ends with the task
    return future
