"""Shared helpers of the output-safety batteries (test_trust_*.py): a tiny real project, the
CLI as a real subprocess, input checksums and the checks every refused case makes."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import geopandas as gpd
from conftest import GRID4, write_tif
from shapely.geometry import box

CONFIG = """title = "TITLE"
[landcover]
path = "lc.tif"
[units]
path = "u.gpkg"
id_field = "code"
name_field = "name"
[construction]
method = "energy"
energy_table = "energy.csv"
[thresholds]
preset = "zhengzhou_example"
[output]
map_tiles = ""
"""


def project(d: Path, *, title: str = "t", names: tuple[str, str] = ("西单元", "东单元"),
            light: bool = True, name: str = "run.toml") -> Path:
    """The 4 x 4 px project in ``d`` (GeoTIFF, GeoPackage units, energy CSV, config);
    ``light``: tables and manifest only (no map, atlas, rasters). Returns the config."""
    d.mkdir(parents=True, exist_ok=True)
    write_tif(d / "lc.tif", GRID4)
    gpd.GeoDataFrame({"code": ["W", "E"], "name": list(names)},
                     geometry=[box(500000, 3849960, 500015, 3850000),
                               box(500015, 3849960, 500040, 3850000)],
                     crs="EPSG:32649").to_file(d / "u.gpkg")
    (d / "energy.csv").write_text("unit_id,raw_coal_t\nW,10\nE,25.5\n", encoding="utf-8")
    text = CONFIG.replace("TITLE", title)
    (d / name).write_text(text + ("map = false\nrasters = false\n" if light else ""),
                          encoding="utf-8")
    return d / name


def sums(d: Path, skip: tuple[str, ...] = ()) -> dict[str, str]:
    """SHA-256 of every file below ``d`` (relative paths), except below ``skip`` folders."""
    return {str(p.relative_to(d)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(d.rglob("*")) if p.is_file()
            and not any(p.relative_to(d).parts[0] == s for s in skip)}


def cli(*args: str | Path, cwd: Path | None = None, timeout: float = 300,
        preexec: Callable[[], None] | None = None) -> subprocess.CompletedProcess[str]:
    """``landcarbon ARGS`` as a real subprocess (stdout, stderr as text)."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run([sys.executable, "-m", "landcarbon.cli", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, timeout=timeout, env=env,
                          preexec_fn=preexec)


def start(*args: str | Path, cwd: Path | None = None) -> subprocess.Popen[str]:
    """``landcarbon ARGS`` started in the background (SIGINT at its default)."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.Popen([sys.executable, "-m", "landcarbon.cli", *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd,
                            env=env,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def interrupted_after(proc: subprocess.Popen[str], ready: Callable[[], bool],
                      timeout: float = 300) -> str:
    """Ctrl-C ``proc`` (from :func:`start`) once ``ready()`` holds; assert exit 130, no
    traceback and no claim that nothing was written (the commands that write file by file say
    what they keep); return stderr. Skips the test when the command finished first."""
    import pytest

    deadline = time.monotonic() + timeout
    while not ready() and proc.poll() is None:
        assert time.monotonic() < deadline, "the command never got there"
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    if proc.returncode == 0:
        pytest.skip("the command finished before the signal reached it")
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "no output was written" not in err
    return err


def refused(res: subprocess.CompletedProcess[str], *words: str) -> str:
    """Assert exit 1, one ``Error:`` message naming every word (case-insensitive), no
    traceback, no catch-all; return the message."""
    err = res.stderr
    assert res.returncode == 1, (res.returncode, res.stdout, err)
    assert "Traceback" not in err and "may be a bug" not in err, err
    assert "Error:" in err, err
    for w in words:
        assert w.lower() in err.lower(), (w, err)
    return err


def leftovers(d: Path) -> list[str]:
    """Staging folders, lock files and other half-written things in ``d`` (recursive)."""
    return sorted(str(p.relative_to(d)) for p in d.rglob("*")
                  if ".partial-" in p.name or p.name.endswith((".lock", ".tmp"))
                  or ".old-" in p.name)


@contextlib.contextmanager
def warnings_of(logger: str) -> Iterator[list[str]]:
    """The messages of the WARNING (and above) records of ``logger`` while the block runs
    (whatever the CLI's logging set-up did to propagation)."""
    said: list[str] = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = lambda record: said.append(record.getMessage())  # type: ignore[method-assign]
    log = logging.getLogger(logger)
    log.addHandler(handler)
    try:
        yield said
    finally:
        log.removeHandler(handler)
