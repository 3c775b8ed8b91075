"""The run's static figures drawn in a second process while this one writes the map and the
report (issue 16: a warm ``landcarbon demo`` within seconds on two cores).

:func:`prestarted` starts the worker when a run begins (a fresh interpreter,
``python -c`` on a pipe: it imports matplotlib, geopandas and the figure code and loads the
bundled font while the run reads and computes); :func:`draw` hands it the figure jobs and
returns at once; :meth:`Pending.result` collects the PNG bytes. The worker runs only
:mod:`landcarbon.publish.figures` functions named in :data:`JOBS`, with pickled arguments
over its own pipes, and never imports the caller's ``__main__`` (a script without a
``__name__`` guard is safe). Warnings and log records of the worker are replayed here (so
``-q`` silences them as any other). On a machine with one core, or when the worker cannot
start or fails, or while the machine is busy (:func:`second_core_free`), the figures are
drawn in this process, with the same result.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import subprocess
import sys
import threading
import warnings
from collections.abc import Collection, Iterator, Sequence
from pathlib import Path
from typing import Any

__all__ = ["JOBS", "Pending", "draw", "main", "prestarted", "second_core_free",
           "start_worker"]

log = logging.getLogger(__name__)

#: figure functions a job may name (``landcarbon.publish.figures``)
JOBS = ("static_maps", "balance_by_land_class", "balance_by_space_type", "net_vs_threshold")
#: most figure workers a run starts, one a core beside the run's own: the static maps in
#: one, the charts in the other. On two cores a second worker importing matplotlib beside
#: the run and the first worker made the warm demo slower (5.3-6.3 s against 4.6-5.7 s):
#: there the charts are drawn by the run's process once its web map is written.
WORKERS = 2
_lock = threading.Lock()
_idle: list[subprocess.Popen[bytes]] = []


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover  (macOS, Windows)
        return os.cpu_count() or 1


def _others_running(loadavg: str = "/proc/loadavg") -> float:
    """How many other tasks are running or ready to run now: Linux's count of runnable
    tasks (``/proc/loadavg``, 4th field) less this process; elsewhere the 1-minute load
    average. The count is what a second process would compete with at this moment; the
    average still carries the runs that just ended (a benchmark's previous row, the
    command run just before)."""
    try:
        with open(loadavg, encoding="ascii") as fh:
            return max(int(fh.read().split()[3].split("/")[0]) - 1, 0)
    except (OSError, ValueError, IndexError):
        try:
            return os.getloadavg()[0]
        except (AttributeError, OSError):  # pragma: no cover  (Windows)
            return 0.0


def second_core_free(loadavg: str = "/proc/loadavg") -> bool:
    """Whether a second process would run beside this one: two cores or more, and no more
    other tasks running now than leave one of them free (:func:`_others_running`; on a
    busy machine a worker only takes time from the run)."""
    cores = _cores()
    return cores >= 2 and _others_running(loadavg) <= cores - 2


def start_worker() -> subprocess.Popen[bytes] | None:
    """A new worker process (``None`` if it cannot be started); :func:`prestarted` starts
    one when it pays off."""
    root = str(Path(__file__).resolve().parents[2])  # the folder holding the package
    code = (f"import sys; sys.path.insert(0, {root!r}); "
            "from landcarbon.pipeline.figure_worker import main; main()")
    try:
        return subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except OSError as exc:  # pragma: no cover  (no interpreter to start)
        log.debug("figure worker not started (%s): figures drawn in this process", exc)
        return None


@contextlib.contextmanager
def prestarted(wanted: bool = True, workers: int | None = None) -> Iterator[None]:
    """Start ``workers`` figure workers (default: :data:`WORKERS`, at most one a core beside
    this process) for the body, when ``wanted`` and :func:`second_core_free`; those left
    unused at the end are stopped."""
    if workers is None:
        workers = min(WORKERS, _cores() - 1)
    procs: list[subprocess.Popen[bytes]] = []
    for _ in range(workers if wanted and second_core_free() else 0):
        proc = start_worker()
        if proc is None:
            break
        procs.append(proc)
        with _lock:
            _idle.append(proc)
    try:
        yield
    finally:
        for proc in procs:
            with _lock:
                unused = proc in _idle
                if unused:
                    _idle.remove(proc)
            if unused:
                proc.kill()
                proc.communicate()


class Pending:
    """Figures being drawn: :meth:`result` returns ``{key: PNG bytes}``.

    ``proc``: no worker (everything is drawn here, at :meth:`result`), one worker or several.
    ``shares``: the keys each worker draws, in order (default: one share of every key not in
    ``here``); the keys of no share, those in ``here`` and the shares no worker takes are
    drawn by this process at :meth:`result`, while the workers draw theirs (the run's process
    is idle once its web map is written). A worker that fails has its share drawn here."""

    def __init__(self, jobs: dict[str, tuple[str, tuple[Any, ...], dict[str, Any]]],
                 proc: subprocess.Popen[bytes] | Sequence[subprocess.Popen[bytes]] | None,
                 here: Collection[str] = (),
                 shares: Sequence[Collection[str]] | None = None) -> None:
        procs = ([] if proc is None else [proc] if isinstance(proc, subprocess.Popen)
                 else list(proc))
        self.jobs = jobs
        if shares is None:
            shares = [[k for k in jobs if k not in here]]
        #: per busy worker: its keys, the thread talking to it and its (stdout, stderr)
        self._busy: list[tuple[list[str], threading.Thread, list[tuple[bytes, bytes]]]] = []
        sent: set[str] = set()
        for i, worker in enumerate(procs):
            keys = [k for k in (shares[i] if i < len(shares) else ())
                    if k in jobs and k not in here and k not in sent]
            try:
                payload = pickle.dumps({k: jobs[k] for k in keys},
                                       protocol=pickle.HIGHEST_PROTOCOL) if keys else None
            except Exception as exc:  # an argument that cannot travel: drawn here
                log.debug("figure jobs not sent to a worker (%s): drawing here", exc)
                payload = None
            if payload is None:  # nothing (that can travel) to draw: stopped
                worker.kill()
                worker.communicate()
                continue
            box: list[tuple[bytes, bytes]] = []
            thread = threading.Thread(target=lambda w=worker, b=box, d=payload: b.append(
                w.communicate(d)), name="landcarbon-figures", daemon=True)
            thread.start()
            self._busy.append((keys, thread, box))
            sent.update(keys)
        self.here = {k: v for k, v in jobs.items() if k not in sent}

    def result(self) -> dict[str, Any]:
        """The figures (a failed worker's share drawn here)."""
        drawn = _run_jobs(self.here)  # this process's share, while the workers draw
        for keys, thread, box in self._busy:
            thread.join()
            out, err = box[0] if box else (b"", b"")
            try:
                status, value, records = pickle.loads(out)
            except Exception:  # the worker died: say why at debug level, draw here
                log.debug("figure worker failed: %s", err.decode("utf-8", "replace")[-2000:])
                status, value = "died", None
            else:
                _replay(records)
            if status == "ok":
                drawn.update(value)
            else:
                if status != "died":
                    log.debug("figure worker failed (%s): drawing here", value)
                drawn.update(_run_jobs({k: self.jobs[k] for k in keys}))
        return {k: drawn[k] for k in self.jobs}


def draw(jobs: dict[str, tuple[str, tuple[Any, ...], dict[str, Any]]],
         here: Collection[str] = (), shares: Sequence[Collection[str]] | None = None
         ) -> Pending:
    """Start drawing ``jobs`` (``{key: (function name in JOBS, args, kwargs)}``) in the
    prestarted workers: each of ``shares`` (default: every key not in ``here``) in a worker
    of its own while there are idle ones; the rest (``here``, the shares left without a
    worker) is drawn by this process at :meth:`Pending.result` (everything is, when there is
    no worker)."""
    for name, _, _ in jobs.values():
        if name not in JOBS:
            raise ValueError(f"not a figure job: {name!r} (one of {JOBS})")
    wanted = len(shares) if shares is not None else 1
    with _lock:
        procs = [_idle.pop() for _ in range(min(wanted, len(_idle)))]
    return Pending(jobs, procs, here, shares)


def _run_jobs(jobs: dict[str, tuple[str, tuple[Any, ...], dict[str, Any]]]
              ) -> dict[str, Any]:
    if not jobs:
        return {}
    from landcarbon import _resources
    from landcarbon.publish._mpl import import_for_drawing

    import_for_drawing(short_set_docs=_resources.own_process())
    from landcarbon.publish import figures

    return {key: getattr(figures, name)(*args, **kwargs)
            for key, (name, args, kwargs) in jobs.items()}


def _replay(records: list[tuple[str, str, int, str]]) -> None:
    """Warnings (``("warning", category, 0, text)``) and log records (``("log", logger,
    level, text)``) of the worker, issued here."""
    import builtins

    for kind, where, level, text in records:
        if kind == "warning":
            category = getattr(builtins, where, UserWarning)
            warnings.warn(text, category if isinstance(category, type)
                          and issubclass(category, Warning) else UserWarning, stacklevel=2)
        else:
            logging.getLogger(where).log(level, "%s", text)


class _Collect(logging.Handler):
    def __init__(self, into: list[tuple[str, str, int, str]]) -> None:
        super().__init__(logging.WARNING)
        self.into = into

    def emit(self, record: logging.LogRecord) -> None:
        self.into.append(("log", record.name, record.levelno, record.getMessage()))


def main() -> None:
    """The worker: import and warm up, read the jobs (pickle) on stdin, write
    ``(status, figures or error, records)`` (pickle) on stdout."""
    records: list[tuple[str, str, int, str]] = []
    logging.getLogger().addHandler(_Collect(records))
    out = sys.stdout.buffer
    sys.stdout = sys.stderr  # anything a library prints stays out of the answer
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        try:
            from landcarbon import _resources
            from landcarbon.publish._mpl import import_for_drawing, warm_up

            _resources.claim_process()
            import_for_drawing(short_set_docs=True)
            import geopandas  # noqa: F401  (the units arrive as a GeoDataFrame)

            from landcarbon.publish import figures

            warm_up()
            del figures
            jobs = pickle.loads(sys.stdin.buffer.read())
            result: tuple[str, Any] = ("ok", _run_jobs(jobs))
        except Exception as exc:
            result = ("error", f"{type(exc).__name__}: {exc}")
    records += [("warning", w.category.__name__, 0, str(w.message)) for w in caught]
    out.write(pickle.dumps((*result, records), protocol=pickle.HIGHEST_PROTOCOL))
    out.flush()
    sys.stderr.flush()
    # the answer is out: end now (the run reads until this process exits; Python's teardown
    # of matplotlib, pandas and friends would add ~0.3 s to every run with figures)
    os._exit(0)
