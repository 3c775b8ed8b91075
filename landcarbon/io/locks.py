"""One writer per output: a lock file beside the output, and what a failed write means.

:func:`output_lock` holds an exclusive lock (``fcntl.flock``) on ``.<name>.lock`` beside the
output for as long as it is written; the file holds the writer's process id, host and start
time. A second landcarbon process that wants to write the same output is refused at once
with a message naming the first. The operating system releases the lock when its process
dies (even SIGKILL), so a lock file left by a dead process is stale and simply taken over.

:func:`output_write_error` turns the operating system's write errors (read-only folder, full
disk, file-size limit, path too long) into :class:`~landcarbon.exceptions.OutputWriteError`
with the cause and the fix.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path

from landcarbon.exceptions import OutputBusyError, OutputWriteError, UnsafeOutputError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "explain_failed_write",
    "is_lock_text",
    "lock_path",
    "os_error_cause",
    "output_lock",
    "output_write_error",
    "pid_alive",
    "raise_write_error",
]


def lock_path(target: str | os.PathLike[str]) -> Path:
    """The lock file of ``target``: ``.<name>.lock`` in the same folder."""
    target = Path(target).absolute()
    return target.parent / f".{target.name}.lock"


def _holder(fd: int) -> str:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        text = os.read(fd, 200).decode("utf-8", "replace").split()
    except OSError:
        return "another process"
    if len(text) >= 3:
        return f"process {text[0]} on {text[1]}, since {text[2]}"
    return "another process"


#: What :func:`output_lock` writes into a lock file (a lock file left by a killed run is
#: taken over; any other file of that name is not landcarbon's and is never overwritten)
_LOCK_TEXT = re.compile(rb"\A\d+ \S+ \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d([+-]\d{4})?\n\Z")


def is_lock_text(data: bytes) -> bool:
    """Whether ``data`` is what landcarbon writes into a lock file (or nothing: a lock file
    just created)."""
    return not data or _LOCK_TEXT.match(data) is not None


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` runs on this machine."""
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):  # no such process (or no such number)
        return False
    except PermissionError:
        return True
    return True


def _try_lock(fd: int, path: Path) -> bool:
    """Take the lock on ``fd``; False if someone else holds it."""
    if fcntl is not None:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True
    # no flock (Windows): the lock file's process id decides, a dead one is stale
    text = os.read(fd, 50).decode("utf-8", "replace").split()  # pragma: no cover
    return not (text and text[0].isdigit() and int(text[0]) != os.getpid()
                and pid_alive(int(text[0])))  # pragma: no cover


@contextlib.contextmanager
def output_lock(target: str | os.PathLike[str], *, what: str = "Output") -> Iterator[Path]:
    """Hold the write lock of ``target`` (creating its parent folder if needed).

    Raises
    ------
    OutputBusyError
        Another process holds it (the message names the process).
    OutputWriteError
        The lock cannot be created (read-only folder, full disk, path too long).
    """
    target = Path(target).absolute()
    path = lock_path(target)
    fd = -1
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        while True:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
                         | getattr(os, "O_CLOEXEC", 0), 0o644)
            if not _try_lock(fd, path):
                holder = _holder(fd)
                os.close(fd)
                fd = -1
                raise OutputBusyError(
                    f"{what} {target} is being written by another landcarbon run ({holder}; "
                    f"lock file {path}). Wait for it to finish, or write to another folder "
                    "with -o. Two runs never write one output at the same time.")
            try:  # the file may have been removed by the previous holder: lock the current one
                same = os.path.samestat(os.fstat(fd), os.stat(path, follow_symlinks=False))
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
            fd = -1
        os.lseek(fd, 0, os.SEEK_SET)
        before = os.read(fd, 4096)
        if not is_lock_text(before):
            os.close(fd)
            fd = -1
            raise UnsafeOutputError(
                f"{path} is in the way: it is where landcarbon keeps the lock of {target}, and "
                "landcarbon did not write it (its lock files hold a process id, a host name and "
                "a time). Move or rename that file, or write to another folder with -o.")
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, f"{os.getpid()} {socket.gethostname()} {stamp}\n".encode())
    except OSError as exc:
        if fd >= 0:
            os.close(fd)
        raise_write_error(exc, target)
    try:
        yield path
    finally:
        with contextlib.suppress(OSError):
            os.unlink(path)
        os.close(fd)


_CAUSES = {
    errno.ENOSPC: ("the disk is full", "Free space on that disk, or write to another disk "
                   "with -o"),
    errno.EDQUOT: ("the disk quota is exhausted", "Free space in your quota, or write to "
                   "another disk with -o"),
    errno.EFBIG: ("a file would exceed the size limit of this system or process (ulimit -f, "
                  "or a FAT32 disk's 4 GB)", "Raise the limit, or write to another disk "
                  "with -o"),
    errno.EROFS: ("the file system is read-only", "Write to a writable folder with -o"),
    errno.EACCES: ("permission denied", "Check that you may read the inputs and write the "
                   "output folder (its permissions), or write to another folder with -o"),
    errno.EPERM: ("the operation is not permitted there", "Check the permissions, or write "
                  "to another folder with -o"),
    errno.ENAMETOOLONG: ("the path is longer than this system allows (a name over 255 bytes "
                         "or a path over 4096)", "Use a shorter output path with -o"),
}
_TEXT = {"No space left on device": errno.ENOSPC, "Disk quota exceeded": errno.EDQUOT,
         "File too large": errno.EFBIG, "Read-only file system": errno.EROFS,
         "Permission denied": errno.EACCES, "File name too long": errno.ENAMETOOLONG}


def os_error_cause(exc: BaseException) -> int | None:
    """The errno of a write failure (also when GDAL reports it only as text), or None."""
    code = getattr(exc, "errno", None)
    if code in _CAUSES:
        return code
    text = str(exc)
    return next((c for t, c in _TEXT.items() if t in text), None)


def output_write_error(exc: BaseException, target: str | os.PathLike[str],
                       code: int | None = None) -> BaseException:
    """:class:`OutputWriteError` for a write failure of ``target`` with a known cause
    (``code``, default: the cause of ``exc``), else ``exc`` itself (to be re-raised)."""
    known = os_error_cause(exc)
    code = code or known
    if code is None:
        return exc
    cause, fix = _CAUSES[code]
    where = getattr(exc, "filename", None) or target
    detail = "" if known else f"; the library reported: {exc}"
    return OutputWriteError(
        f"Cannot write the output {target}: {cause} (at {where}{detail}). Nothing was "
        f"written there (no partial output is left). {fix}.")


def explain_failed_write(exc: BaseException, folder: str | os.PathLike[str]) -> int | None:
    """The errno explaining why writing into ``folder`` failed, also when a library hid it
    (SQLite, GDAL): a known cause of ``exc``, else a full disk (under 1 MiB free) or a file
    in ``folder`` that reached the process's file-size limit (``ulimit -f``); None if
    neither."""
    import shutil

    code = os_error_cause(exc)
    if code is not None:
        return code
    folder = Path(folder)
    try:
        if shutil.disk_usage(folder if folder.exists() else folder.parent).free < 1 << 20:
            return errno.ENOSPC
    except OSError:
        pass
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return None
    soft = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
    if soft != resource.RLIM_INFINITY and folder.is_dir():
        for p in folder.rglob("*"):
            if p.is_file() and p.stat().st_size >= soft - (1 << 16):
                return errno.EFBIG
    return None


def raise_write_error(exc: BaseException, target: str | os.PathLike[str]) -> None:
    """Raise :func:`output_write_error` of ``exc`` (or ``exc`` itself if its cause is not a
    known write failure)."""
    err = output_write_error(exc, target)
    if err is exc:
        raise exc
    raise err from exc
