"""Heavy libraries are imported only by the features that use them (issue 16): a tables-only
run imports neither mapclassify nor esda/libpysal nor matplotlib; quantile classes are
mapclassify's, computed with numpy."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from landcarbon.zoning.quadrants import graded_classes, quantile_bins

HEAVY = ("mapclassify", "esda", "libpysal", "matplotlib", "sklearn", "folium")


def test_tables_only_run_imports_no_heavy_library(tmp_path: Path) -> None:
    """``landcarbon run`` of the demo's sample with ``rasters = false, map = false``."""
    sample = Path(__file__).resolve().parents[1] / "data" / "sample_tiles"
    text = (sample / "demo.toml").read_text(encoding="utf-8")
    for name in ("landcover_2023.tif", "townships.gpkg", "energy_2023.csv"):
        text = text.replace(f'"{name}"', f'"{(sample / name).as_posix()}"')
    config = tmp_path / "tables.toml"
    config.write_text(text + "\n[output]\nrasters = false\nmap = false\n", encoding="utf-8")
    code = (
        "import sys, json\n"
        "from landcarbon.cli import main\n"
        "try:\n"
        f"    main(['run', {str(config)!r}, '-o', {str(tmp_path / 'out')!r}])\n"
        "except SystemExit as exc:\n"
        "    assert not exc.code, exc.code\n"
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, cwd=tmp_path)
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []
    assert (tmp_path / "out" / "units.csv").exists()
    assert not (tmp_path / "out" / "map.html").exists()


#: what the demo (map, report and figures included) never needs
DEMO_UNNEEDED = ("mapclassify", "esda", "libpysal", "sklearn", "IPython", "distributed",
                 "folium.plugins", "matplotlib.pyplot", "exactextract", "networkx",
                 "scipy.spatial", "scipy.ndimage", "scipy.stats")


def test_demo_imports_no_library_it_does_not_need(tmp_path: Path) -> None:
    """``landcarbon demo``: no classification or spatial-statistics library, no dask
    cluster client, no pyplot (figures draw on Agg canvases), no folium plugin collection."""
    code = (
        "import sys, json\n"
        "from landcarbon.cli import main\n"
        "try:\n"
        f"    main(['-q', 'demo', '-o', {str(tmp_path / 'demo')!r}])\n"
        "except SystemExit as exc:\n"
        "    assert not exc.code, exc.code\n"
        f"print(json.dumps([m for m in {DEMO_UNNEEDED!r} if m in sys.modules]))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, cwd=tmp_path, timeout=600)
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []
    assert (tmp_path / "demo" / "figures" / "map_risk_level.png").is_file()
    assert done.stderr == ""  # -q: nothing but errors (no font or library warning)


@pytest.mark.parametrize("k", [2, 3, 5, 6, 7])
def test_quantile_bins_are_mapclassify_bins(k: int) -> None:
    mapclassify = pytest.importorskip("mapclassify")
    rng = np.random.default_rng(k)
    for y in (rng.normal(size=101), rng.integers(0, 9, 50).astype(float),
              np.arange(1000.0), rng.lognormal(size=7)):
        ours = quantile_bins(y, k)
        theirs = mapclassify.Quantiles(y, k=k).bins
        assert np.array_equal(ours, theirs)
        classes, _ = graded_classes(pd.Series(y), method="quantiles", k=k)
        if len(np.unique(y)) >= k:
            assert np.array_equal(classes.to_numpy() - 1, mapclassify.Quantiles(y, k=k).yb)


def test_quantile_bins_by_hand() -> None:
    # percentiles 25, 50, 75, 100 of 0..4: indices 1, 2, 3, 4
    assert quantile_bins(np.array([4.0, 0, 3, 1, 2]), 4).tolist() == [1.0, 2.0, 3.0, 4.0]
    # of 0, 10: 0.25 -> 2.5, 0.5 -> 5, 0.75 -> 7.5, 10
    assert quantile_bins(np.array([0.0, 10.0]), 4).tolist() == [2.5, 5.0, 7.5, 10.0]


def test_first_run_says_it_compiles(tmp_path: Path) -> None:
    """With an empty numba cache, the first import of the kernels logs what it is doing;
    the second one (cache warm) says nothing."""
    code = ("import logging; logging.basicConfig(level=logging.INFO)\n"
            "import numpy as np\n"
            "from landcarbon.engine import kernels\n"
            "out = np.zeros((1, 1), np.int64)\n"
            "kernels.tiles_of_one_value(np.zeros((4, 4), np.uint8), 4, 4, out)\n"
            "assert out[0, 0] == 1\n")
    env = {**__import__("os").environ, "NUMBA_CACHE_DIR": str(tmp_path / "cache")}
    runs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           env=env, check=True, timeout=600) for _ in range(2)]
    assert "first run: compiling" in runs[0].stderr
    assert "compiling" not in runs[1].stderr
    assert list((tmp_path / "cache").rglob("*.nbi"))  # numba's cache index is on disk


def test_font_subset_cached_on_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The embedded font subset of a page's text is made once and read back afterwards."""
    from landcarbon.publish import fonts

    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path))
    fonts._subset_woff.cache_clear()
    first = fonts.font_face_css("碳收支 示例")
    files = list((tmp_path / "landcarbon" / "fonts").glob("*.woff"))
    assert len(files) == 1 and files[0].stat().st_size > 1000
    fonts._subset_woff.cache_clear()
    assert fonts.font_face_css("碳收支 示例") == first  # from the disk
    fonts._subset_woff.cache_clear()


@pytest.mark.parametrize(("command", "config"), [("run", "demo.toml"),
                                                 ("change", "demo_change.toml")])
def test_dask_runs_do_not_import_dask_distributed(tmp_path: Path, command: str, config: str
                                                  ) -> None:
    """Rasters read in dask chunks (``chunk_size = 256``): with no cluster configured, dask's
    first ``compute()`` does not import dask.distributed to look for a client (~0.3 s), and
    the change run honours ``[compute]`` like ``run``."""
    sample = Path(__file__).resolve().parents[1] / "data" / "sample_tiles"
    shutil.copytree(sample, tmp_path / "s")
    path = tmp_path / "s" / config
    text = path.read_text(encoding="utf-8").replace(
        'legend = "esa_worldcover"', 'legend = "esa_worldcover"\nchunk_size = 256', 1)
    path.write_text(text + "\n[output]\nrasters = false\nmap = false\n", encoding="utf-8")
    code = (
        "import sys, json\n"
        "from landcarbon.cli import main\n"
        "import landcarbon.io.raster as r\n"
        "chunks = []\n"
        "orig = r.open_landcover\n"
        "r.open_landcover = lambda *a, **k: chunks.append(orig(*a, **k)) or chunks[-1]\n"
        "try:\n"
        f"    main(['-q', {command!r}, {str(path)!r}, '-o', {str(tmp_path / 'out')!r}])\n"
        "except SystemExit as exc:\n"
        "    assert not exc.code, exc.code\n"
        "print(json.dumps(['distributed' in sys.modules, "
        "[type(c.data).__module__ for c in chunks]]))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, cwd=tmp_path, timeout=600)
    imported, modules = json.loads(done.stdout.strip().splitlines()[-1])
    assert not imported
    assert any(m.startswith("dask") for m in modules)  # the dask path did run


def test_figure_worker_imports_only_what_figures_need(tmp_path: Path) -> None:
    """The figure worker's modules (and the packages holding them) import neither the
    run's steps (xarray, numba, rasterio) nor the web map's folium: the worker is ready to
    draw ~1 s sooner."""
    code = ("import json, sys\n"
            "import landcarbon.pipeline.figure_worker, landcarbon.publish.figures\n"
            "import landcarbon.publish._mpl\n"
            "print(json.dumps([m for m in ('xarray', 'numba', 'rasterio', 'folium', "
            "'landcarbon.pipeline._assess', 'landcarbon.publish.maps') if m in sys.modules]))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, cwd=tmp_path)
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


def test_lazy_packages_resolve_every_public_name() -> None:
    import landcarbon.pipeline as pipeline
    import landcarbon.publish as publish

    for name in pipeline.__all__:
        assert getattr(pipeline, name).__name__ == name, name
    assert publish.explore_units.__module__ == "landcarbon.publish.maps"
    assert set(pipeline.__all__) <= set(dir(pipeline))
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        pipeline.nothing  # noqa: B018
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        publish.nothing  # noqa: B018
