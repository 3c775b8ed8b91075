"""Safe output folders and the run manifest.

A run writes into a hidden staging folder beside the target and renames it into place only
when everything is written, so an interrupted or failed run never leaves a folder that looks
complete. An existing target is replaced only with ``overwrite=True``, and only if
landcarbon wrote all of it and it holds no input of the run
(:mod:`landcarbon.io.ownership`); one process at a time writes a target
(:mod:`landcarbon.io.locks`). Manifests are strict JSON (``null`` for NaN).
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import json
import logging
import math
import os
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from landcarbon.exceptions import LandcarbonError
from landcarbon.io.locks import (
    explain_failed_write,
    output_lock,
    output_write_error,
    pid_alive,
    raise_write_error,
)
from landcarbon.io.ownership import check_replaceable, foreign_entries, mark_folder

__all__ = [
    "atomic_path",
    "check_output_target",
    "raise_if_stopped",
    "remember_sha256",
    "remove_stale_stages",
    "sha256",
    "staged_output_dir",
    "stop_requested",
    "strict_json",
    "unshare",
    "write_json",
]

log = logging.getLogger(__name__)


def check_output_target(target: str | os.PathLike[str], *, overwrite: bool = False,
                        why: str = "", inputs: Iterable[str | os.PathLike[str]] = ()) -> None:
    """Refuse an output folder that may not be written: one that holds an input of the run
    or anything landcarbon did not write (even with ``overwrite``), a link or a file, or a
    non-empty landcarbon folder without ``overwrite``. Commands call it before computing, so
    they fail before the long part (:func:`staged_output_dir` checks again).

    Raises
    ------
    OutputExistsError
        Naming the folder (and ``why``, e.g. why an existing run cannot be reused);
        :class:`~landcarbon.exceptions.UnsafeOutputError` when it must never be replaced.
    OutputWriteError
        The location cannot be examined (path too long, permission denied).
    """
    try:
        check_replaceable(target, overwrite=overwrite, inputs=inputs, why=why)
    except OSError as exc:
        raise_write_error(exc, target)


#: the signal a command-line handler was given (SIGINT, SIGTERM), or None. A handler's
#: exception can be lost: raised while a finalizer or a weakref callback runs, Python reports
#: it ("Exception ignored in ...") and goes on; a staged output is never put in place after
#: a stop was asked (:func:`staged_output_dir` looks before it renames)
_STOP: list[int] = []


def request_stop(signum: int) -> None:
    """Note that the process was asked to stop (a signal handler calls it before raising)."""
    _STOP.append(signum)


def clear_stop() -> None:
    """Forget earlier stop requests (a command starting in a process that goes on)."""
    _STOP.clear()


def stop_requested() -> bool:
    """Whether a stop was asked (:func:`request_stop`) since the command started."""
    return bool(_STOP)


def raise_if_stopped() -> None:
    """Raise ``SystemExit(128 + signal)`` if a stop was asked (:func:`request_stop`): the safe
    points where a stop whose exception was lost (raised while a finalizer or a compiled
    callback ran, which Python reports and ignores) takes effect."""
    if _STOP:
        raise SystemExit(128 + _STOP[0])


@contextlib.contextmanager
def _signals_deferred() -> Iterator[None]:
    """Hold SIGINT/SIGTERM during the few renames that swap a finished output into place."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    sigs = {signal.SIGINT, signal.SIGTERM}
    old = signal.pthread_sigmask(signal.SIG_BLOCK, sigs)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _ours(exc: OSError, places: tuple[Path, ...]) -> bool:
    """Whether a failed operation concerns the output (not the reading of an input)."""
    names = [n for n in (exc.filename, getattr(exc, "filename2", None)) if n]
    if not names:
        return True
    return any(Path(os.path.abspath(n)).is_relative_to(p) for n in names for p in places)


@contextlib.contextmanager
def staged_output_dir(target: str | os.PathLike[str], *, overwrite: bool = False,
                      inputs: Iterable[str | os.PathLike[str]] = (), kind: str = "output",
                      why: str = "") -> Iterator[Path]:
    """Yield a staging folder that becomes ``target`` when the block ends without error.

    The target's lock (:func:`~landcarbon.io.locks.output_lock`) is held throughout, the
    target is checked before and again just before it is replaced
    (:func:`~landcarbon.io.ownership.check_replaceable`), and the finished folder gets
    landcarbon's marker (``kind``: run, zoning, change...). On any error, Ctrl-C or SIGTERM
    the staging folder is removed and the target is left as it was.

    Raises
    ------
    OutputExistsError
        If ``target`` exists and is not empty and ``overwrite`` is false;
        :class:`~landcarbon.exceptions.UnsafeOutputError` if it must never be replaced;
        :class:`~landcarbon.exceptions.OutputBusyError` if another process writes it.
    OutputWriteError
        Read-only folder, full disk, file-size limit, path too long.
    """
    target = Path(target).absolute()
    inputs = list(inputs)
    check_output_target(target, overwrite=overwrite, inputs=inputs, why=why)
    with output_lock(target):
        check_output_target(target, overwrite=overwrite, inputs=inputs, why=why)
        remove_stale_stages(target)
        stage = target.parent / f".{target.name}.partial-{os.getpid()}"
        places = (stage, target, target.parent / f".{target.name}.old-{os.getpid()}")
        try:
            if stage.exists():
                shutil.rmtree(stage)
            stage.mkdir()
            (stage / STAGE_SENTINEL).write_bytes(b"")  # names it landcarbon's (see below)
            yield stage
            (stage / STAGE_SENTINEL).unlink()
            mark_folder(stage, kind)
            check_output_target(target, overwrite=overwrite, inputs=inputs, why=why)
            with _signals_deferred():
                raise_if_stopped()  # asked before the signals were held: never put in place
                old = places[2]
                if target.exists():
                    target.rename(old)
                stage.rename(target)
            if old.exists():
                shutil.rmtree(old, ignore_errors=True)
        except OSError as exc:
            shutil.rmtree(stage, ignore_errors=True)
            if not _ours(exc, places):
                raise
            raise_write_error(exc, target)
        except Exception as exc:
            code = None if isinstance(exc, LandcarbonError) else explain_failed_write(exc, stage)
            shutil.rmtree(stage, ignore_errors=True)
            if code is None:
                raise
            raise output_write_error(exc, target, code) from exc
        except BaseException:
            shutil.rmtree(stage, ignore_errors=True)
            raise


#: The empty file that names a staging folder landcarbon made (removed before the folder is
#: put in place): only folders holding it are staging leftovers (:func:`remove_stale_stages`).
STAGE_SENTINEL = ".landcarbon-stage"


def _is_stale_stage(folder: Path, kind: str) -> bool:
    """Whether ``folder`` (``.<name>.<kind>-<pid>``, a real folder) is landcarbon's: a staging
    folder holds :data:`STAGE_SENTINEL`; a previous output moved aside is a folder of
    landcarbon's own (its marker lists everything in it)."""
    if folder.is_symlink() or not folder.is_dir():
        return False
    if kind == "partial":
        return (folder / STAGE_SENTINEL).is_file()
    return foreign_entries(folder) == []


def remove_stale_stages(target: str | os.PathLike[str]) -> list[Path]:
    """Delete staging leftovers of ``target`` whose process no longer runs.

    A run killed hard (SIGKILL, power loss) cannot clean up: it leaves a hidden
    ``.<name>.partial-<pid>`` (or ``.<name>.old-<pid>``) folder beside the target, never the
    target itself. The next run for the same target removes the leftovers of dead processes
    (on this machine; a folder of a live process is left alone), and only folders landcarbon
    made (:func:`_is_stale_stage`): a user's ``.results.old-20240101`` backup stays. Returns
    the removed paths.
    """
    target = Path(target).absolute()
    removed: list[Path] = []
    if not target.parent.is_dir():
        return removed
    for kind in ("partial", "old"):
        for cand in target.parent.glob(f".{glob.escape(target.name)}.{kind}-*"):
            pid = cand.name.rsplit("-", 1)[-1]
            if (pid.isdigit() and not pid_alive(int(pid))
                    and _is_stale_stage(cand, kind)):
                shutil.rmtree(cand, ignore_errors=True)
                removed.append(cand)
                log.info("removed %s left by an interrupted run (process %s)", cand, pid)
    return removed


#: SHA-256 of files this process wrote and hashed as it wrote them: (path, size, mtime in ns)
#: -> digest (:func:`remember_sha256`)
_WRITTEN: dict[tuple[str, int, int], str] = {}


def _file_key(path: str | os.PathLike[str]) -> tuple[str, int, int]:
    stat = os.stat(path)
    return os.path.realpath(path), stat.st_size, stat.st_mtime_ns


def remember_sha256(path: str | os.PathLike[str], digest: str) -> None:
    """Record the SHA-256 of a file just written (computed on the bytes written, e.g. a COG
    laid out from its tiles): :func:`sha256` returns it without reading the file again as long
    as the file keeps its path, size and modification time."""
    _WRITTEN[_file_key(path)] = digest


def sha256(path: str | os.PathLike[str], chunk: int = 1 << 22) -> str:
    """SHA-256 of a file (streamed; a digest recorded by :func:`remember_sha256` for the
    same path, size and modification time is returned without reading the file)."""
    known = _WRITTEN.get(_file_key(path))
    if known is not None:
        return known
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def unshare(path: str | os.PathLike[str]) -> None:
    """Give ``path`` content of its own when it is a hard link of other names (a backup made
    with ``cp -al``), before landcarbon changes the file in place: a copy replaces it, and
    the other names keep the content they had."""
    path = Path(path)
    if path.stat().st_nlink > 1:
        with atomic_path(path) as tmp:
            shutil.copy2(path, tmp)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a hidden temporary path beside ``path``; it replaces ``path`` (atomically, same
    folder) only if the block ends without error, else it is deleted. For single files
    written into an existing folder (``publish_run``, portal index), where a staged folder
    does not apply::

        with atomic_path(folder / "map.html") as tmp:
            m.save(str(tmp))

    Raises
    ------
    OutputWriteError
        Read-only folder, full disk, file-size limit, path too long.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.partial-{os.getpid()}{path.suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    except OSError as exc:
        if not _ours(exc, (tmp, path)):
            raise
        raise_write_error(exc, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def strict_json(value: Any) -> Any:
    """``value`` with every NaN or infinite float (also numpy's) replaced by None, numpy
    scalars and arrays as plain Python values: what strict JSON can hold (``null``)."""
    if isinstance(value, dict):
        return {str(k): strict_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [strict_json(v) for v in value]
    if hasattr(value, "tolist") and not isinstance(value, str):  # numpy scalar or array
        return strict_json(value.tolist())
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, str | int | bool):
        return value
    return str(value)


def write_json(data: dict[str, Any], path: str | os.PathLike[str]) -> None:
    """Write strict JSON (UTF-8, sorted keys, indented; NaN and infinities as ``null``)
    atomically."""
    text = json.dumps(strict_json(data), ensure_ascii=False, indent=2, sort_keys=True,
                      allow_nan=False) + "\n"
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
