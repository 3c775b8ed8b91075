"""A private scratch folder for the files a run writes only for itself (VRT mosaics and
windows of rasters).

It is created by :func:`tempfile.mkdtemp` (a unique name, readable and writable by the
current user only), once per process, and removed when the process exits. Nothing in it is
reused by another run or another user: a VRT another local user could rewrite would change
the results.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

__all__ = ["scratch_dir", "write_scratch"]

_DIR: dict[int, Path] = {}


def scratch_dir() -> Path:
    """This process's private scratch folder (created on first use, removed at exit)."""
    pid = os.getpid()
    path = _DIR.get(pid)
    if path is None or not path.is_dir():
        path = Path(tempfile.mkdtemp(prefix="landcarbon-"))
        _DIR[pid] = path
        atexit.register(shutil.rmtree, path, True)
    return path


def write_scratch(name: str, text: str) -> str:
    """Write ``text`` to ``name`` in the scratch folder (atomically) and return its path."""
    path = scratch_dir() / name
    if not path.is_file():
        tmp = path.with_name(f".{name}.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    return str(path)
