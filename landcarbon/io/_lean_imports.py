"""Imports the console script leaves out or defers (issue 16: a warm ``landcarbon demo``
within seconds, large runs that start sooner).

* ``dask.array`` is imported when a run makes a dask array, not when xarray first looks for
  one: with dask installed, xarray imports it at its first variable (to ask whether the data
  is a dask array). :func:`defer_dask_array` gives xarray's answer for "dask" without the
  import: the same module and version, and as array type :class:`AnyDaskArray`, whose
  ``isinstance`` and ``issubclass`` are those of ``dask.array.Array`` once it is imported
  and false before (no dask array exists before its module is imported, so every answer is
  the one xarray would give). A demo, whose raster is read whole, never imports it.
* :data:`TRIMMED`: modules imported only for features landcarbon never uses are left out
  while the module importing them executes (in that thread only): scipy's sparse matrices,
  FFT and BLAS, and ``dask.array`` for rioxarray's raster writer (which then gets the two
  names that import binds).
* :data:`NUMBA_CACHE`: numba loads compiled functions from its disk cache without first
  loading every registry it compiles with (:func:`_cache_loads`).
* :data:`DEFERRED`: modules imported at the top of a library only for a feature landcarbon
  never uses are bound, while that library's module executes, as modules that execute at
  their first use (``requests`` in folium: fetching GeoJSON from a URL).

All are for landcarbon's own processes (the console script:
:func:`landcarbon._resources.claim_process`); in a notebook every library imports as it
always does. When xarray's internals differ from what is expected (another version),
nothing is changed.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import sys
import threading
from collections.abc import Callable
from types import ModuleType
from typing import Any

__all__ = ["DEFERRED", "NUMBA_CACHE", "PYCOMPAT", "TRIMMED", "AnyDaskArray", "defer_dask_array",
           "deferred"]

_state = {"deferred": False, "numba_cache": False}


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
    """Whether xarray's check for dask arrays is deferred in this process
    (:func:`defer_dask_array`, once xarray is imported)."""
    return _state["deferred"]


#: module -> modules it imports only for features landcarbon never uses, left out while it
#: executes in a thread of the console script: ``dask.array`` registers scipy's sparse
#: matrices as chunk types and wraps scipy's FFT; numba's array functions look for scipy's
#: BLAS when numba starts (then ``np.vdot``-like functions in compiled code use numba's own
#: loop; ``np.dot`` and ``@`` import the BLAS when a function using them is compiled, as
#: esda's hot-spot permutations do); rioxarray's raster writer imports ``dask.array`` for
#: writing dask arrays; dask's HTML views of task graphs (notebooks) import jinja2 (~25 ms;
#: ``dask.widgets`` then holds dask's own stand-in, which says what to install if a view is
#: asked for). ~0.4 s of every large run's start, ~0.6 s of the demo's.
TRIMMED: dict[str, tuple[str, ...]] = {
    "dask.array": ("scipy.sparse", "scipy.fftpack"),
    "numba.np.arraymath": ("scipy.linalg",),
    "rioxarray.raster_writer": ("dask.array",),  # then given its names: _writer_names
    "dask.widgets.widgets": ("jinja2",),
}


#: module -> modules it imports at the top for a feature landcarbon never uses, bound there
#: as modules that execute at their first use (:class:`importlib.util.LazyLoader`) while it
#: executes in a thread of the console script: folium's features module imports
#: ``requests`` (and urllib3, charset_normalizer, idna, certifi) to fetch GeoJSON given as a
#: URL; landcarbon hands it data. ~0.06-0.09 s of every run that writes a web map.
DEFERRED: dict[str, tuple[str, ...]] = {
    "folium.features": ("requests",),
}


#: the xarray module whose cache of array modules :func:`defer_dask_array` fills
PYCOMPAT = "xarray.namedarray.pycompat"


class _Trimmed(importlib.abc.MetaPathFinder):
    """While a module of :data:`TRIMMED` executes in a thread, the modules it lists cannot be
    imported there (they import as usual in other threads, once it is imported, or when they
    already were); while a module of :data:`DEFERRED` executes, the modules it lists are
    bound as modules that execute at their first use; once :data:`PYCOMPAT` has executed,
    xarray's check for dask is deferred."""

    def __init__(self) -> None:
        self.local = threading.local()

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        hidden: tuple[str, ...] = getattr(self.local, "hidden", ())
        if name in hidden:
            raise ImportError(f"{name}: left out by landcarbon (see landcarbon.io."
                              "_lean_imports.TRIMMED)")
        lazy = name in getattr(self.local, "lazy", ())
        if not lazy and name not in TRIMMED and name not in _AFTER and name not in DEFERRED:
            return None
        from importlib.machinery import PathFinder

        spec = PathFinder.find_spec(name, path)
        loader = getattr(spec, "loader", None)
        run = getattr(loader, "exec_module", None)
        if spec is None or run is None:
            return None
        if lazy:  # executes at the first use of one of its attributes
            from importlib.util import LazyLoader

            spec.loader = LazyLoader(spec.loader)  # type: ignore[arg-type]  # has exec_module
            return spec
        local = self.local

        def exec_module(module: ModuleType) -> None:
            before = getattr(local, "hidden", ())
            deferred = getattr(local, "lazy", ())
            local.hidden = (*before, *TRIMMED.get(name, ()))
            local.lazy = (*deferred, *DEFERRED.get(name, ()))
            try:
                run(module)
            finally:
                local.hidden = before
                local.lazy = deferred
            after = _AFTER.get(name)
            if after is not None:
                with contextlib.suppress(Exception):  # never fail the import itself
                    after(module)

        loader.exec_module = exec_module  # type: ignore[union-attr]  # this spec's loader
        return spec


def _seed(pycompat: ModuleType) -> bool:
    """Put xarray's answer for "dask" (module, version, :class:`AnyDaskArray`) in
    ``pycompat``'s cache; False, changing nothing, when it is not the expected cache or
    already answers for dask."""
    cache = getattr(pycompat, "_cached_duck_array_modules", None)
    module_type = getattr(pycompat, "DuckArrayModule", None)
    if (not isinstance(cache, dict) or not isinstance(module_type, type) or "dask" in cache
            or "dask.array" in sys.modules):
        return False
    import dask
    from packaging.version import Version

    entry: Any = object.__new__(module_type)  # its __init__ imports dask.array
    entry.module = dask
    entry.version = Version(dask.__version__)
    entry.type = (AnyDaskArray,)
    entry.available = True
    cache["dask"] = entry
    _state["deferred"] = True
    return True


def _writer_names(writer: ModuleType) -> bool:
    """Give rioxarray's raster writer, imported without ``dask.array``, the two names that
    import binds (``dask``, ``is_dask_collection``): it reads them only when it writes a dask
    array, which cannot exist before ``dask.array`` is imported. False when it has them."""
    if "dask" in vars(writer):
        return False
    import dask
    from dask.base import is_dask_collection

    writer.dask = dask  # type: ignore[attr-defined]  # dask.array.store, once imported
    writer.is_dask_collection = is_dask_collection  # type: ignore[attr-defined]
    return True


def _cache_loads(caching: ModuleType) -> bool:
    """Let numba load a compiled function from its disk cache without first loading the
    registries it compiles with (see :data:`NUMBA_CACHE`); False, changing nothing, when
    ``caching.Cache`` is not the expected class."""
    cache = getattr(caching, "Cache", None)
    if not isinstance(cache, type) or not all(
            callable(getattr(cache, name, None)) for name in
            ("load_overload", "_load_overload", "_guard_against_spurious_io_errors")):
        return False

    def load_overload(self: Any, sig: Any, target_context: Any) -> Any:
        """numba's ``Cache.load_overload`` with the runtime initialised (the memory
        functions the loaded code calls) instead of the whole ``target_context.refresh()``."""
        from numba.core.runtime import rtsys

        rtsys.initialize(target_context)
        with self._guard_against_spurious_io_errors():
            return self._load_overload(sig, target_context)
        return None  # the guard swallowed an error (numba: Windows only): compile instead

    setattr(cache, "load_overload", load_overload)  # noqa: B010  (a class of numba)
    _state["numba_cache"] = True
    return True


#: The module whose ``Cache.load_overload`` :func:`_cache_loads` replaces. numba's own
#: refreshes its target context before every load from its disk cache: the first time it
#: imports and registers the typing and lowering of every feature numba compiles (~0.1 s of
#: every process, a fixed cost of each run). Loading compiled code does not use them (the
#: code is machine code and its calls into numba's runtime); only compiling does, and
#: numba's compiler refreshes both contexts itself when it starts (a kernel compiled for a
#: new code type, a cache that does not match). What loading needs of the refresh, the
#: runtime (NRT: allocation and reference counts of arrays made in compiled code), is
#: initialised before each load.
NUMBA_CACHE = "numba.core.caching"


#: what runs once a module has executed (an error there is ignored: the import stands)
_AFTER: dict[str, Callable[[ModuleType], bool]] = {
    PYCOMPAT: _seed,
    "rioxarray.raster_writer": _writer_names,
    NUMBA_CACHE: _cache_loads,
}


def defer_dask_array() -> bool:
    """Let xarray check for dask arrays without importing ``dask.array`` (now if xarray is
    imported, else as soon as it is: a command that never builds an xarray variable, such as
    ``landcarbon --version``, imports neither), and let the modules of :data:`TRIMMED`,
    when a run imports them, leave out what they list. Nothing here fails an import: a
    step that does not apply (another xarray) is skipped.

    Returns
    -------
    bool
        False, changing nothing, when ``dask.array`` is already imported, or xarray already
        checked for dask, or its internals are not the expected ones; True otherwise.
    """
    if not _state["deferred"]:
        if "dask.array" in sys.modules:
            return False
        pycompat = sys.modules.get(PYCOMPAT)
        if pycompat is not None and not _seed(pycompat):
            return False
    if not any(isinstance(f, _Trimmed) for f in sys.meta_path):
        sys.meta_path.insert(0, _Trimmed())
    return True
