"""``dask.array`` imported when a run makes a dask array, not when xarray or rioxarray first
look for one (issue 16: a warm ``landcarbon demo`` within seconds).

With dask installed, xarray imports ``dask.array`` the first time it builds a variable (to
ask whether the data is a dask array), and rioxarray imports it with its raster writer.
``dask.array`` brings ``scipy.sparse`` and ``scipy.fftpack``: ~0.5 s of a ~4 s demo, for a
run whose rasters are small enough to be read whole (no dask array is ever made); a large
run, which needs ``dask.array``, imports it without those two scipy modules.

:func:`defer_dask_array` gives xarray's answer for "dask" without importing ``dask.array``:
the same module and version, and as array type :class:`AnyDaskArray`, whose ``isinstance``
and ``issubclass`` are those of ``dask.array.Array`` once ``dask.array`` is imported and
false before (no dask array can exist before its module is imported, so every answer is the
one xarray would give). :func:`import_rioxarray` imports rioxarray while ``dask.array`` is
hidden from this thread, then hands its raster writer the names that import would have bound
(``dask``, ``is_dask_collection``), read when it writes a dask array.

Both are for landcarbon's own processes (the console script:
:func:`landcarbon._resources.claim_process`); in a notebook, xarray and rioxarray stay as
they are. When xarray's internals differ from what is expected (another version), nothing
is changed.
"""

from __future__ import annotations

import importlib.abc
import sys
import threading
from types import ModuleType
from typing import Any

__all__ = ["SCIPY_EXTRAS", "AnyDaskArray", "defer_dask_array", "deferred", "import_rioxarray"]

_state = {"deferred": False}


class _DaskArrayType(type):
    """``isinstance`` / ``issubclass`` of ``dask.array.Array`` once it is imported."""

    def __instancecheck__(cls, obj: Any) -> bool:
        array = getattr(sys.modules.get("dask.array"), "Array", None)
        return array is not None and isinstance(obj, array)

    def __subclasscheck__(cls, sub: type) -> bool:
        array = getattr(sys.modules.get("dask.array"), "Array", None)
        return array is not None and issubclass(sub, array)


class AnyDaskArray(metaclass=_DaskArrayType):
    """Stands for ``dask.array.Array`` in xarray's type checks (see the module text)."""


def deferred() -> bool:
    """Whether :func:`defer_dask_array` took effect in this process."""
    return _state["deferred"]


#: modules ``dask.array`` imports only to support their arrays as chunks (sparse matrices)
#: or functions (FFT); landcarbon uses neither: ~0.25 s of a large run's start
SCIPY_EXTRAS = ("scipy.sparse", "scipy.fftpack")


class _DaskArrayAlone(importlib.abc.MetaPathFinder):
    """While ``dask.array`` executes in a thread, :data:`SCIPY_EXTRAS` cannot be imported
    there (``dask.array`` then registers no scipy chunk type and keeps numpy's FFT; they
    import as usual once it is imported, or when they already were)."""

    def __init__(self) -> None:
        self.local = threading.local()

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        depth: int = getattr(self.local, "depth", 0)
        if name in SCIPY_EXTRAS and depth > 0:
            raise ImportError(f"{name}: not imported with dask.array (landcarbon)")
        if name != "dask.array":
            return None
        from importlib.machinery import PathFinder

        spec = PathFinder.find_spec(name, path)
        loader = getattr(spec, "loader", None)
        run = getattr(loader, "exec_module", None)
        if spec is None or run is None:
            return None
        local = self.local

        def exec_module(module: ModuleType) -> None:
            local.depth = getattr(local, "depth", 0) + 1
            try:
                run(module)
            finally:
                local.depth -= 1

        loader.exec_module = exec_module  # type: ignore[union-attr]  # this spec's loader
        return spec


def defer_dask_array() -> bool:
    """Let xarray check for dask arrays without importing ``dask.array``, and let
    ``dask.array``, when a run imports it, leave out :data:`SCIPY_EXTRAS`.

    Returns
    -------
    bool
        True when done (now or before); False when ``dask.array`` is already imported,
        xarray already checked for dask, dask or xarray is missing, or xarray's internals
        are not the expected ones (nothing changed then).
    """
    if _state["deferred"]:
        return True
    if "dask.array" in sys.modules:
        return False
    try:
        import dask
        from packaging.version import Version
        from xarray.namedarray import pycompat
    except ImportError:  # pragma: no cover - both are dependencies
        return False
    cache = getattr(pycompat, "_cached_duck_array_modules", None)
    module_type = getattr(pycompat, "DuckArrayModule", None)
    if not isinstance(cache, dict) or not isinstance(module_type, type) or "dask" in cache:
        return False
    entry: Any = object.__new__(module_type)  # its __init__ imports dask.array
    entry.module = dask
    entry.version = Version(dask.__version__)
    entry.type = (AnyDaskArray,)
    entry.available = True
    cache["dask"] = entry
    if not any(isinstance(f, _DaskArrayAlone) for f in sys.meta_path):
        sys.meta_path.insert(0, _DaskArrayAlone())
    _state["deferred"] = True
    return True


class _Hidden(importlib.abc.MetaPathFinder):
    """``import dask.array`` fails in one thread (other threads import as usual)."""

    def __init__(self) -> None:
        self.thread = threading.get_ident()

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if name == "dask.array" and threading.get_ident() == self.thread:
            raise ImportError("dask.array deferred by landcarbon")
        return None


def import_rioxarray() -> ModuleType:
    """``import rioxarray`` (registers the ``.rio`` accessor); when :func:`defer_dask_array`
    took effect and neither is imported yet, without importing ``dask.array``.

    Returns
    -------
    module
        rioxarray.
    """
    if "rioxarray" in sys.modules or not _state["deferred"] or "dask.array" in sys.modules:
        import rioxarray

        return rioxarray
    hidden = _Hidden()
    sys.meta_path.insert(0, hidden)
    try:
        import rioxarray
    finally:
        sys.meta_path.remove(hidden)
    writer = sys.modules.get("rioxarray.raster_writer")
    if writer is not None and "dask" not in vars(writer):
        import dask
        from dask.base import is_dask_collection

        writer.dask = dask  # type: ignore[attr-defined]  # dask.array.store, once imported
        writer.is_dask_collection = is_dask_collection  # type: ignore[attr-defined]
    return rioxarray
