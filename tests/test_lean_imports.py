"""``dask.array`` is imported by landcarbon's console script only when a run makes a dask
array (issue 16: it and the scipy modules it brings cost ~0.5 s of the demo). Every check
runs in a fresh interpreter: the deferral changes a process for good."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample_tiles"


def _python(code: str, cwd: Path) -> list[object]:
    """Run ``code`` in a fresh interpreter; the JSON it prints last."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=cwd, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _config(tmp: Path, extra: str = "", name: str = "run.toml") -> Path:
    text = (SAMPLE / "demo.toml").read_text(encoding="utf-8")
    for f in ("landcover_2023.tif", "townships.gpkg", "energy_2023.csv"):
        text = text.replace(f'"{f}"', f'"{(SAMPLE / f).as_posix()}"')
    text = text.replace('rural_settlement = "construction"',
                        f'rural_settlement = "construction"\n{extra}')
    (tmp / name).write_text(text + "\n[output]\nmap = false\n", encoding="utf-8")
    return tmp / name


def test_console_script_demo_never_imports_dask_array(tmp_path: Path) -> None:
    """The console script's entry (``python -m landcarbon.cli``): a demo with its COGs, map,
    report and figures imports neither ``dask.array`` nor the scipy modules it and numba
    would bring."""
    out = tmp_path / "demo"
    code = (
        "import atexit, json, sys\n"
        "atexit.register(lambda: print(json.dumps([m for m in ('dask.array', 'scipy.sparse', "
        "'scipy.fftpack', 'scipy.linalg', 'urllib3') if m in sys.modules] + "
        "[type(sys.modules['requests']).__name__])))\n"
        f"sys.argv = ['landcarbon', '-q', 'demo', '-o', {str(out)!r}]\n"
        "from landcarbon.cli import entry\n"
        "entry()\n")
    # folium's ``requests`` (and urllib3) bound but never executed: the demo fetches no URL
    assert _python(code, tmp_path) == ["_LazyModule"]
    for f in ("units.csv", "net_flux.tif", "map.html", "report.html",
              "figures/map_risk_level.png"):
        assert (out / f).is_file(), f


def test_a_notebook_keeps_xarray_as_it_is(tmp_path: Path) -> None:
    """Without the console script nothing is deferred: xarray imports dask.array at its
    first variable, as it always does."""
    code = ("import json, sys\n"
            "import landcarbon.pipeline, xarray as xr\n"
            "from landcarbon.io._lean_imports import deferred\n"
            "xr.DataArray([1, 2])\n"
            "print(json.dumps([deferred(), 'dask.array' in sys.modules]))\n")
    assert _python(code, tmp_path) == [False, True]


def test_deferred_checks_answer_as_dask_array_would(tmp_path: Path) -> None:
    """After the deferral: numpy data is not a dask array, dask.array stays unimported;
    a dask array made later is recognised by xarray (chunks, lazy arithmetic, compute) and
    ``.rio.to_raster`` writes it through ``dask.array.store`` with the values it holds."""
    tif = tmp_path / "d.tif"
    code = (
        "import json, sys, threading\n"
        "import numpy as np, xarray as xr\n"
        "from landcarbon.io._lean_imports import AnyDaskArray, defer_dask_array\n"
        "first = defer_dask_array()\n"
        "again = defer_dask_array()\n"
        "import rioxarray\n"
        "plain = xr.DataArray(np.arange(4.0).reshape(2, 2), dims=('y', 'x'))\n"
        "before = ['dask.array' in sys.modules, plain.chunks, "
        "isinstance(plain.data, AnyDaskArray)]\n"
        "import dask.array as dsk\n"
        "lazy = xr.DataArray(dsk.from_array(np.arange(16.0).reshape(4, 4), chunks=2),\n"
        "                    dims=('y', 'x'),\n"
        "                    coords={'y': [3.5, 2.5, 1.5, 0.5], 'x': [0.5, 1.5, 2.5, 3.5]})\n"
        "doubled = lazy * 2\n"
        "after = [isinstance(lazy.data, AnyDaskArray), issubclass(dsk.Array, AnyDaskArray),\n"
        "         issubclass(np.ndarray, AnyDaskArray), [list(c) for c in lazy.chunks],\n"
        "         type(doubled.data).__name__, float(doubled.sum().compute())]\n"
        "lazy = lazy.rio.write_crs('EPSG:32649')\n"
        f"lazy.rio.to_raster({str(tif)!r}, lock=threading.Lock())\n"
        "import rasterio\n"
        f"with rasterio.open({str(tif)!r}) as src:\n"
        "    written = src.read(1).tolist()\n"
        "print(json.dumps([first, again, before, after, written]))\n")
    first, again, before, after, written = _python(code, tmp_path)  # type: ignore[misc]
    assert first is True and again is True
    assert before == [False, None, False]
    assert after == [True, True, False, [[2, 2], [2, 2]], "Array", 240.0]
    assert written == [[0.0, 1.0, 2.0, 3.0], [4.0, 5.0, 6.0, 7.0], [8.0, 9.0, 10.0, 11.0],
                       [12.0, 13.0, 14.0, 15.0]]


def test_nothing_is_deferred_once_dask_array_is_imported(tmp_path: Path) -> None:
    code = ("import json, sys\n"
            "import dask.array\n"
            "from landcarbon.io._lean_imports import defer_dask_array, deferred\n"
            "from xarray.namedarray.pycompat import array_type\n"
            "print(json.dumps([defer_dask_array(), deferred(), "
            "array_type('dask') == (dask.array.Array,)]))\n")
    assert _python(code, tmp_path) == [False, False, True]


def test_chunked_run_from_the_console_script_matches_a_whole_read(tmp_path: Path) -> None:
    """A run read in 64-px dask chunks by the console script (dask.array imported then)
    gives the same table as the same run read whole, and both write their rasters."""
    results = {}
    for label, extra in (("whole", ""), ("chunked", "chunk_size = 64")):
        config = _config(tmp_path, extra, f"{label}.toml")
        out = tmp_path / label
        code = (
            "import atexit, json, sys\n"
            "atexit.register(lambda: print(json.dumps([m for m in ('dask.array', "
            "'scipy.sparse', 'scipy.fftpack', 'scipy.linalg') if m in sys.modules])))\n"
            f"sys.argv = ['landcarbon', '-q', 'run', {str(config)!r}, '-o', {str(out)!r}]\n"
            "from landcarbon.cli import entry\n"
            "entry()\n")
        results[label] = _python(code, tmp_path)
        assert (out / "net_flux.tif").is_file() and (out / "land_class.tif").is_file()
    # dask.array imported for the chunks, without the scipy modules only its sparse chunks
    # and FFT need
    assert results == {"whole": [], "chunked": ["dask.array"]}
    whole = pd.read_csv(tmp_path / "whole" / "units.csv")
    chunked = pd.read_csv(tmp_path / "chunked" / "units.csv")
    pd.testing.assert_frame_equal(whole, chunked, check_exact=False, rtol=1e-12)


def test_dask_array_imported_without_scipy_extras(tmp_path: Path) -> None:
    """After the deferral, ``dask.array`` imports without ``scipy.sparse`` and
    ``scipy.fftpack``; it works (FFT on numpy's), and both import as usual afterwards."""
    code = (
        "import json, sys\n"
        "import xarray\n"
        "from landcarbon.io._lean_imports import defer_dask_array\n"
        "defer_dask_array()\n"
        "import dask.array as da\n"
        "absent = [m not in sys.modules for m in ('scipy.sparse', 'scipy.fftpack')]\n"
        "total = float(da.ones((4, 4), chunks=2).sum().compute())\n"
        "spectrum = da.fft.fft(da.arange(8.0, chunks=8)).compute()\n"
        "import scipy.sparse, scipy.fftpack\n"
        "same = bool(abs(spectrum - scipy.fftpack.fft(list(range(8)))).max() < 1e-9)\n"
        "print(json.dumps([absent, total, same, scipy.sparse.eye(2).nnz]))\n")
    assert _python(code, tmp_path) == [[True, True], 16.0, True, 2]


def test_scipy_extras_hidden_only_in_the_importing_thread(tmp_path: Path) -> None:
    """While one thread imports dask.array, another imports scipy.sparse as usual."""
    code = (
        "import json, sys, threading\n"
        "import xarray\n"
        "from landcarbon.io._lean_imports import _Trimmed, defer_dask_array\n"
        "defer_dask_array()\n"
        "finder = next(f for f in sys.meta_path if isinstance(f, _Trimmed))\n"
        "finder.local.hidden = ('scipy.sparse',)  # as while dask.array executes here\n"
        "try:\n"
        "    import scipy.sparse\n"
        "    here = 'imported'\n"
        "except ImportError:\n"
        "    here = 'hidden'\n"
        "there = []\n"
        "def other():\n"
        "    import scipy.sparse\n"
        "    there.append(scipy.sparse.eye(3).nnz)\n"
        "t = threading.Thread(target=other)\n"
        "t.start()\n"
        "t.join()\n"
        "finder.local.hidden = ()\n"
        "print(json.dumps([here, there]))\n")
    assert _python(code, tmp_path) == ["hidden", [3]]


def test_kernels_compile_and_match_without_scipy_blas(tmp_path: Path) -> None:
    """numba imported as the console script imports it (no scipy BLAS): the land-cover
    kernels compile there from scratch (a cache of their own) and give the same class areas
    as in this process."""
    from landcarbon.config.run import load_config
    from landcarbon.pipeline import assess

    config = _config(tmp_path)
    expected = assess(load_config(config)).class_areas
    expected.to_csv(tmp_path / "expected.csv", index=False)
    code = (
        "import json, os, sys\n"
        "import xarray\n"
        "from landcarbon.io._lean_imports import defer_dask_array\n"
        "defer_dask_array()\n"
        "import numba.np.arraymath as am\n"
        "from landcarbon.config.run import load_config\n"
        "from landcarbon.pipeline import assess\n"
        f"a = assess(load_config({str(config)!r}))\n"
        f"a.class_areas.to_csv({str(tmp_path / 'got.csv')!r}, index=False)\n"
        "print(json.dumps([am._HAVE_BLAS, 'scipy.linalg' in sys.modules]))\n")
    env_cache = tmp_path / "numba_cache"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=tmp_path, timeout=900,
                          env={**__import__("os").environ,
                               "NUMBA_CACHE_DIR": str(env_cache)})
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == [False, False]
    assert any(env_cache.rglob("*.nbi"))  # compiled there, not loaded from this cache
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "got.csv"),
                                  pd.read_csv(tmp_path / "expected.csv"), check_exact=True)


def test_light_commands_import_no_xarray(tmp_path: Path) -> None:
    """``landcarbon --version`` through the console script's entry: the deferral waits for
    xarray instead of importing it (and dask) for every command."""
    code = ("import atexit, json, sys\n"
            "atexit.register(lambda: print(json.dumps([m for m in ('xarray', 'dask', "
            "'geopandas', 'numba') if m in sys.modules])))\n"
            "sys.argv = ['landcarbon', '--version']\n"
            "from landcarbon.cli import entry\n"
            "entry()\n")
    assert _python(code, tmp_path) == []


def test_deferral_set_before_xarray_is_imported(tmp_path: Path) -> None:
    code = ("import json, sys\n"
            "from landcarbon.io._lean_imports import deferred, defer_dask_array\n"
            "first = [defer_dask_array(), deferred(), 'xarray' in sys.modules]\n"
            "import numpy as np, xarray as xr\n"
            "xr.DataArray(np.zeros(3))\n"
            "print(json.dumps([first, deferred(), 'dask.array' in sys.modules]))\n")
    assert _python(code, tmp_path) == [[True, False, False], True, False]


def test_a_failing_step_after_an_import_never_fails_the_import(tmp_path: Path) -> None:
    """A step run once a module has executed (xarray's cache, rioxarray's writer) that does
    not apply (another version of the library) is skipped: the import stands."""
    (tmp_path / "probe_mod.py").write_text("VALUE = 7\n", encoding="utf-8")
    code = ("import json, sys\n"
            "from landcarbon.io import _lean_imports as lean\n"
            "lean.defer_dask_array()\n"
            "calls = []\n"
            "def broken(module):\n"
            "    calls.append(module.VALUE)\n"
            "    raise RuntimeError('not the expected internals')\n"
            "lean._AFTER['probe_mod'] = broken\n"
            "lean.TRIMMED['probe_mod'] = ()\n"
            "import probe_mod\n"
            "import rioxarray.raster_writer as writer\n"
            "print(json.dumps([calls, probe_mod.VALUE, 'dask' in vars(writer), "
            "'dask.array' in sys.modules]))\n")
    assert _python(code, tmp_path) == [[7], 7, True, False]


def test_numba_linear_algebra_still_compiles(tmp_path: Path) -> None:
    """numba started without scipy's BLAS: ``@``, ``np.dot`` and ``np.vdot`` in compiled code
    still compile (the first two import the BLAS then) and give numpy's numbers."""
    code = ("import json, sys\n"
            "from landcarbon.io._lean_imports import defer_dask_array\n"
            "defer_dask_array()\n"
            "import numpy as np\n"
            "from numba import njit\n"
            "import numba.np.arraymath as am\n"
            "started = [am._HAVE_BLAS, 'scipy.linalg' in sys.modules]\n"
            "@njit\n"
            "def f(a, b):\n"
            "    return a @ b, np.dot(a, b), np.vdot(a[1], b)\n"
            "a = np.arange(9.0).reshape(3, 3)\n"
            "b = np.array([1.0, -2.0, 0.5])\n"
            "mv, dot, vdot = f(a, b)\n"
            "print(json.dumps([started, mv.tolist(), dot.tolist(), vdot]))\n")
    started, mv, dot, vdot = _python(code, tmp_path)  # type: ignore[misc]
    assert started == [False, False]
    assert mv == dot == [-1.0, -2.5, -4.0]  # rows of 0..8 against (1, -2, 0.5)
    assert vdot == -2.5


def test_deferred_module_executes_at_its_first_use(tmp_path: Path) -> None:
    """folium's ``requests`` (:data:`DEFERRED`) is bound without executing; its first
    attribute use executes it whole (folium's URL reading works, ``requests.adapters``
    imports); in a notebook it imports as always."""
    code = ("import json, sys, importlib.metadata as md\n"
            "from landcarbon.io._lean_imports import defer_dask_array\n"
            "defer_dask_array()\n"
            "import folium.features\n"
            "before = [type(sys.modules['requests']).__name__, 'urllib3' in sys.modules]\n"
            "version = folium.features.requests.__version__\n"
            "import requests.adapters\n"
            "after = [type(sys.modules['requests']).__name__, 'urllib3' in sys.modules,\n"
            "         version == md.version('requests'),\n"
            "         callable(requests.adapters.HTTPAdapter), callable(requests.get)]\n"
            "print(json.dumps([before, after]))\n")
    before, after = _python(code, tmp_path)
    assert before == ["_LazyModule", False]
    assert after == ["module", True, True, True, True]
    notebook = ("import json, sys\n"
                "import folium\n"
                "print(json.dumps([type(sys.modules['requests']).__name__, "
                "'urllib3' in sys.modules]))\n")
    assert _python(notebook, tmp_path) == ["module", True]


CACHED_MODULE = '''
import numpy as np
from numba import njit

@njit(cache=True)
def spread(a, k):
    if k < 0:
        raise ValueError("negative k", k)
    out = np.zeros(k)
    total = 0.0
    for i in range(k):
        out[i] = a[i % a.size] * 2
        total += np.sqrt(out[i])
    seen = {}
    seen[1] = total
    return out, seen[1], np.sort(out)[::-1].copy()
'''


def test_cached_functions_load_without_numba_s_registries(tmp_path: Path) -> None:
    """In the console script numba loads compiled functions from its disk cache without
    refreshing its target context (no typing or lowering registry is loaded: ~0.1 s of each
    run); what they compute, raise and allocate is the same as when numba loads them its own
    way, and a new type still compiles (the compiler refreshes the contexts itself)."""
    (tmp_path / "cachedmod.py").write_text(CACHED_MODULE, encoding="utf-8")
    code = ("import json, sys\n"
            "from landcarbon.io._lean_imports import defer_dask_array, _state\n"
            "LEAN = defer_dask_array() if sys.argv[1] == 'lean' else False\n"
            "import numpy as np\n"
            "import numba.core.base as base\n"
            "calls = []\n"
            "refresh = base.BaseContext.refresh\n"
            "def counted(self):\n"
            "    calls.append(1)\n"
            "    return refresh(self)\n"
            "base.BaseContext.refresh = counted\n"
            "import cachedmod\n"
            "out, total, desc = cachedmod.spread(np.arange(5.0), 7)\n"
            "loaded = len(calls)\n"
            "try:\n"
            "    cachedmod.spread(np.arange(5.0), -1)\n"
            "    raised = None\n"
            "except ValueError as exc:\n"
            "    raised = list(exc.args)\n"
            "kind = np.int16 if LEAN else np.int32  # int16: never compiled before\n"
            "small = cachedmod.spread(np.arange(5, dtype=kind), 3)[0].tolist()\n"
            "print(json.dumps([_state['numba_cache'], loaded, len(calls) > loaded,\n"
            "                  out.tolist(), total, desc.tolist(), raised, small]))\n")
    env = {**__import__("os").environ, "NUMBA_CACHE_DIR": str(tmp_path / "cache")}

    def run(mode: str) -> list[object]:
        done = subprocess.run([sys.executable, "-c", code, mode], capture_output=True,
                              text=True, cwd=tmp_path, timeout=900, env=env)
        assert done.returncode == 0, done.stderr[-3000:]
        return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]

    compiled = run("numba")  # compiles and writes the cache
    assert compiled[:3] == [False, compiled[1], True] and compiled[1] > 0
    lean = run("lean")  # loads from the cache, as the console script does
    own = run("numba")  # loads from the cache, numba's way
    assert lean[:3] == [True, 0, True]  # no refresh to load; int16 compiled (refreshed)
    assert own[0] is False and own[1] > 0  # numba's way: a refresh before every load
    assert lean[3:] == own[3:] == compiled[3:]
    assert lean[3] == [0.0, 2.0, 4.0, 6.0, 8.0, 0.0, 2.0]
    assert lean[6] == ["negative k", -1] and lean[7] == [0.0, 2.0, 4.0]


def test_dask_imports_without_jinja2_and_jinja2_still_imports(tmp_path: Path) -> None:
    """dask's HTML views of task graphs (:data:`TRIMMED`: ``dask.widgets.widgets``) leave
    jinja2 out in the console script; dask's own stand-in says what to install if a view is
    asked for, and jinja2 imports as usual afterwards (folium's pages use it)."""
    code = ("import json, sys\n"
            "from landcarbon.io._lean_imports import defer_dask_array\n"
            "defer_dask_array()\n"
            "import dask, dask.highlevelgraph, dask.widgets\n"
            "before = 'jinja2' in sys.modules\n"
            "try:\n"
            "    dask.widgets.get_template('highlevelgraph.html.j2')\n"
            "    view = 'rendered'\n"
            "except ImportError as exc:\n"
            "    view = 'install' if 'pip install' in str(exc) else str(exc)\n"
            "import jinja2\n"
            "text = jinja2.Template('{{ a }}+{{ b }}').render(a=1, b='二')\n"
            "print(json.dumps([before, view, text]))\n")
    assert _python(code, tmp_path) == [False, "install", "1+二"]
    notebook = ("import json, sys\n"
                "import dask.widgets\n"
                "t = dask.widgets.get_template('highlevelgraph.html.j2')\n"
                "print(json.dumps(['jinja2' in sys.modules, type(t).__name__]))\n")
    assert _python(notebook, tmp_path) == [True, "Template"]


def test_console_script_caches_its_own_bytecode(tmp_path: Path) -> None:
    """With ``PYTHONDONTWRITEBYTECODE`` set, the console script writes the bytecode cache of
    the landcarbon modules it imported (once: a second run finds them fresh), none of the
    modules it did not import, and nothing in other packages; in-process ``main`` (notebooks,
    tests) writes none."""
    import importlib.util
    import os
    import shutil

    import landcarbon

    package = tmp_path / "landcarbon"
    shutil.copytree(Path(landcarbon.__file__).parent, package,
                    ignore=shutil.ignore_patterns("__pycache__"))
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "PYTHONDONTWRITEBYTECODE": "1"}

    def cached(module: str) -> Path:
        return Path(importlib.util.cache_from_source(
            str(package / (module.replace(".", "/") + ".py"))))

    run_main = ("import sys; sys.argv = ['landcarbon', '--version']\n"
                "from landcarbon.cli import main\n"
                "try:\n    main()\nexcept SystemExit:\n    pass\n")
    subprocess.run([sys.executable, "-c", run_main], env=env, check=True, cwd=tmp_path,
                   capture_output=True)
    assert not list(package.rglob("*.pyc"))  # in process: Python's setting is kept
    entry = ("import sys; sys.argv = ['landcarbon', '--version']\n"
             "from landcarbon.cli import entry\nentry()\n")
    proc = subprocess.run([sys.executable, "-c", entry], env=env, cwd=tmp_path,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    for module in ("__init__", "cli/__init__", "cli/_base", "cli/_core"):
        assert cached(module.replace("/", ".")).exists(), module
    assert not cached("zoning.hotspots").exists()  # not imported by --version
    stamps = {p: p.stat().st_mtime_ns for p in package.rglob("*.pyc")}
    assert all(str(p).startswith(str(package)) for p in stamps)
    subprocess.run([sys.executable, "-c", entry], env=env, check=True, cwd=tmp_path,
                   capture_output=True)
    assert {p: p.stat().st_mtime_ns for p in package.rglob("*.pyc")} == stamps
