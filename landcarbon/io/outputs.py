"""Safe output folders and the run manifest.

A run writes into a hidden staging folder beside the target and renames it into place only
when everything is written, so an interrupted or failed run never leaves a folder that looks
complete. An existing target is replaced only with ``overwrite=True``.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import json
import logging
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from landcarbon.exceptions import OutputExistsError

__all__ = [
    "atomic_path",
    "check_output_target",
    "remove_stale_stages",
    "sha256",
    "staged_output_dir",
    "write_json",
]

log = logging.getLogger(__name__)


def check_output_target(target: str | os.PathLike[str], *, overwrite: bool = False,
                        why: str = "") -> None:
    """Refuse an output folder that is a file, or exists and is not empty without
    ``overwrite``. Commands call it before computing, so they fail before the long part.

    Raises
    ------
    OutputExistsError
        Naming the folder (and ``why``, e.g. why an existing run cannot be reused).
    """
    target = Path(target)
    if target.exists() and not target.is_dir():
        raise OutputExistsError(f"Output {target} exists and is a file; give a folder path "
                                "with -o.")
    if target.exists() and any(target.iterdir()) and not overwrite:
        raise OutputExistsError(
            f"Output folder {target} already exists and is not empty{why}. Choose another "
            "folder with -o, or pass --overwrite to replace it.")


@contextlib.contextmanager
def staged_output_dir(target: str | os.PathLike[str], *, overwrite: bool = False
                      ) -> Iterator[Path]:
    """Yield a staging folder that becomes ``target`` when the block ends without error.

    Raises
    ------
    OutputExistsError
        If ``target`` exists and is not empty and ``overwrite`` is false.
    """
    target = Path(target).absolute()
    check_output_target(target, overwrite=overwrite)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_stages(target)
    stage = target.parent / f".{target.name}.partial-{os.getpid()}"
    if stage.exists():
        shutil.rmtree(stage)
    stage.mkdir()
    try:
        yield stage
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    old = target.parent / f".{target.name}.old-{os.getpid()}"
    if target.exists():
        target.rename(old)
    stage.rename(target)
    if old.exists():
        shutil.rmtree(old, ignore_errors=True)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        return True
    return True


def remove_stale_stages(target: str | os.PathLike[str]) -> list[Path]:
    """Delete staging leftovers of ``target`` whose process no longer runs.

    A run killed hard (SIGKILL, power loss) cannot clean up: it leaves a hidden
    ``.<name>.partial-<pid>`` (or ``.<name>.old-<pid>``) folder beside the target, never the
    target itself. The next run for the same target removes the leftovers of dead processes
    (on this machine; a folder of a live process is left alone). Returns the removed paths.
    """
    target = Path(target).absolute()
    removed = []
    if not target.parent.is_dir():
        return removed
    for kind in ("partial", "old"):
        for cand in target.parent.glob(f".{glob.escape(target.name)}.{kind}-*"):
            pid = cand.name.rsplit("-", 1)[-1]
            if cand.is_dir() and pid.isdigit() and not _pid_alive(int(pid)):
                shutil.rmtree(cand, ignore_errors=True)
                removed.append(cand)
                log.info("removed %s left by an interrupted run (process %s)", cand, pid)
    return removed


def sha256(path: str | os.PathLike[str], chunk: int = 1 << 22) -> str:
    """SHA-256 of a file (streamed)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a hidden temporary path beside ``path``; it replaces ``path`` (atomically, same
    folder) only if the block ends without error, else it is deleted. For single files
    written into an existing folder (``publish_run``, portal index), where a staged folder
    does not apply::

        with atomic_path(folder / "map.html") as tmp:
            m.save(str(tmp))
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.partial-{os.getpid()}{path.suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_json(data: dict[str, Any], path: str | os.PathLike[str]) -> None:
    """Write JSON (UTF-8, sorted keys, indented) atomically."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True, default=str)
                   + "\n", encoding="utf-8")
    os.replace(tmp, path)
