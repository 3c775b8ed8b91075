"""Shared helpers of the bad-input battery (tests/test_battery*.py).

Every case runs the real ``landcarbon`` command in a subprocess on real broken files made in
``tmp_path`` and asserts a clean failure with :func:`fails`: exit code 1, the cause named in
the message (key words), no traceback, no "may be a bug" catch-all, nothing left in the
output folder that looks complete, and every input byte-identical (SHA-256 before / after).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
from conftest import GRID4, GRID4_RUN_CONFIG, ROOT, write_tif
from shapely.geometry import box

#: The tiny project every case breaks: GRID4 (4 x 4 px of 10 m), two units, intensity
#: construction, no map or rasters (fast).
CONFIG = 'title = "battery"\n' + GRID4_RUN_CONFIG + """[output]
map_tiles = ""
rasters = false
map = false
"""
ENERGY_SECTION = 'method = "energy"\nenergy_table = "energy.csv"'
INTENSITY = 'method = "intensity"\nintensity_tc_per_ha = 50.0'
#: A [change] section of two dates on grid4.tif (append to the config).
CHANGE = """
[change]
[[change.dates]]
year = 2015
landcover = "grid4.tif"
[[change.dates]]
year = 2023
landcover = "LATER"
"""
HALVES = [box(500000, 3849960, 500015, 3850000), box(500015, 3849960, 500040, 3850000)]
#: Files whose presence in an output folder means "looks complete".
COMPLETE_MARKERS = ("run.json", "units.csv", "units.gpkg", "summary.csv", "sweep.csv",
                    "manifest.json", "index.html")


def units(path: Path, ids: list[object] | None = None, geoms: list[object] | None = None,
          crs: str | None = "EPSG:32649", layer: str = "units") -> Path:
    """Write land units (fields ``code``, ``name``) to ``path`` (GeoPackage layer or other
    format by suffix)."""
    geoms = geoms if geoms is not None else HALVES
    ids = ids if ids is not None else ["W", "E", "N", "S"][:len(geoms)]
    gdf = gpd.GeoDataFrame({"code": ids, "name": [f"n{i}" for i in range(len(geoms))]},
                           geometry=geoms, crs=crs)
    if path.suffix == ".gpkg":
        gdf.to_file(path, layer=layer)
    else:
        gdf.to_file(path)
    return path


def config(d: Path, *replacements: tuple[str, str], extra: str = "",
           name: str = "run.toml") -> Path:
    """Write the battery config with ``(old, new)`` text replacements and ``extra`` text
    appended."""
    text = CONFIG
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new)
    path = d / name
    path.write_text(text + extra, encoding="utf-8")
    return path


def energy(d: Path, text: str | bytes) -> None:
    """Use the energy method with ``energy.csv`` holding ``text``."""
    config(d, (INTENSITY, ENERGY_SECTION))
    (d / "energy.csv").write_bytes(text.encode("utf-8") if isinstance(text, str) else text)


def raster(d: Path, array: np.ndarray, name: str = "grid4.tif", **kwargs: object) -> Path:
    return write_tif(d / name, array, **kwargs)


def make_project(d: Path) -> Path:
    raster(d, GRID4)
    units(d / "halves.gpkg")
    config(d)
    return d


def _digests(d: Path, skip: Path | None) -> dict[str, str]:
    out = {}
    for p in sorted(d.rglob("*")):
        if p.is_file() and (skip is None or skip not in p.parents):
            out[str(p.relative_to(d))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def run_cli(args: list[str], cwd: Path, timeout: float = 240) -> subprocess.CompletedProcess:
    """``landcarbon ARGS`` in a subprocess (this checkout first on the path)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "PYTHONWARNINGS": "default", "NO_COLOR": "1"}
    return subprocess.run([sys.executable, "-m", "landcarbon.cli", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout, env=env,
                          encoding="utf-8", errors="replace")


Breaker = Callable[[Path], object]


def check_fails(d: Path, args: list[str], keywords: tuple[str, ...], out: str = "out"
                ) -> str:
    """Run ``landcarbon ARGS`` in ``d`` and assert a clean failure; return the message.

    Asserts exit code 1, every keyword (case-insensitive, whitespace-normalised) in the
    output, no traceback, no catch-all "may be a bug", no complete-looking output in
    ``d / out`` and inputs unchanged.
    """
    target = d / out
    existed = target.exists()
    before_out = _digests(target, None) if target.is_dir() else None
    before = _digests(d, target)
    result = run_cli(args, d)
    text = " ".join((result.stderr + "\n" + result.stdout).split())
    assert result.returncode == 1, f"exit {result.returncode}: {text}"
    assert "Traceback" not in result.stderr, result.stderr
    assert "may be a bug" not in text and "Error: unexpected" not in text, text
    for word in keywords:
        assert " ".join(word.split()).lower() in text.lower(), f"{word!r} not in: {text}"
    if not existed:
        assert not target.exists() or not any(
            (target / m).exists() for m in COMPLETE_MARKERS), sorted(target.rglob("*"))
    elif before_out is not None:
        assert _digests(target, None) == before_out
    assert _digests(d, target) == before, "an input changed"
    leftovers = [p.name for p in d.iterdir() if "partial" in p.name or p.name.startswith(
        (".out.", ".landcarbon-"))]
    assert leftovers == []
    return text


@pytest.fixture
def battery_project(tmp_path: Path) -> Path:
    """The tiny project (grid4.tif, halves.gpkg, run.toml) in ``tmp_path``."""
    return make_project(tmp_path)


@pytest.fixture
def fails(battery_project: Path) -> Callable[..., str]:
    """``fails(breaker, *keywords, command="run")``: break the project with ``breaker``, run
    the command on it, assert a clean failure naming the keywords; returns the message."""

    def _fails(breaker: Breaker | None, *keywords: str, command: str = "run",
               args: list[str] | None = None) -> str:
        if breaker is not None:
            breaker(battery_project)
        argv = args if args is not None else (
            ["validate", "run.toml"] if command == "validate"
            else [command, "run.toml", "-o", "out"])
        return check_fails(battery_project, argv, keywords)

    return _fails
