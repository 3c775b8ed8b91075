"""Giving freed memory back to the operating system.

A pass over a large raster allocates and frees hundreds of megabytes in its worker threads;
glibc keeps much of that in its per-thread arenas, so the process's resident size stays at
its high-water mark while the tables and maps that follow allocate more. :func:`release_freed`
asks the C library to return the free pages (``malloc_trim``; a few milliseconds), which
keeps a run's peak memory that of its largest step rather than the sum of its steps.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import sys
from typing import Any

__all__ = ["release_freed"]


@functools.cache
def _libc() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc if hasattr(libc, "malloc_trim") else None  # glibc, not musl
    except OSError:  # pragma: no cover
        return None


def release_freed() -> bool:
    """Return freed heap memory to the operating system where the C library can (glibc);
    returns whether it was asked."""
    libc = _libc()
    if libc is None:
        return False
    libc.malloc_trim(0)
    return True
