"""The package as a user installs it: an sdist built from the sources, a wheel built from that
sdist, installed (not editable) into a fresh virtual environment, and ``landcarbon demo`` run
from an unrelated temporary folder. Dependencies come from the running environment through a
``.pth`` line (no network); landcarbon itself only from the wheel."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def _sources(dest: Path) -> Path:
    """A copy of what an sdist is built from (the build writes build/ and *.egg-info)."""
    src = dest / "src"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build")
    shutil.copytree(ROOT / "landcarbon", src / "landcarbon", ignore=ignore)
    shutil.copytree(ROOT / "data" / "sample_tiles", src / "data" / "sample_tiles",
                    ignore=ignore)
    for name in ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, src / name)
    return src


def _run(args: list[str], cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # nothing but the wheel
    r = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)
    assert r.returncode == 0, f"{args} failed:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    return r


def test_wheel_from_sdist_installs_and_runs_the_demo_anywhere(tmp_path: Path) -> None:
    pytest.importorskip("wheel")
    src = _sources(tmp_path)
    _run([sys.executable, "setup.py", "-q", "sdist", "-d", str(tmp_path / "dist")], src)
    (sdist,) = (tmp_path / "dist").glob("landcarbon-*.tar.gz")
    with tarfile.open(sdist) as tar:
        names = tar.getnames()
    assert any(n.endswith("data/sample_tiles/landcover_2023.tif") for n in names)
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
          "--no-index", "-q", "-w", str(tmp_path / "wheels"), str(sdist)], tmp_path)
    (whl,) = (tmp_path / "wheels").glob("landcarbon-*.whl")
    with zipfile.ZipFile(whl) as z:
        shipped = {n for n in z.namelist() if "/sample_tiles/" in n}
        licence = [n for n in z.namelist() if n.endswith(".dist-info/licenses/LICENSE")]
        assert licence and b"MIT License" in z.read(licence[0])
        assert "License-Expression: MIT" in z.read(
            next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))).decode()
    assert "landcarbon/data/sample_tiles/demo.toml" in shipped
    assert not any(n.endswith(".py") for n in shipped)  # data only, not the generator

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], tmp_path)
    py = venv / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
    site = _run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                tmp_path).stdout.strip()
    # reuse the running environment's dependencies (a plain path line: its own .pth files,
    # e.g. an editable landcarbon, are not processed)
    Path(site, "_landcarbon_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run([str(py), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(whl)],
         tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    where = _run([str(py), "-c", "import landcarbon; print(landcarbon.__file__)"],
                 elsewhere).stdout
    assert str(venv) in where  # the installed copy, not the clone
    exe = venv / ("Scripts/landcarbon.exe" if sys.platform == "win32" else "bin/landcarbon")
    r = _run([str(exe), "-q", "demo"], elsewhere)
    manifest = elsewhere / "landcarbon-demo" / "run.json"
    assert manifest.is_file() and str(manifest) in r.stdout
    assert json.loads(manifest.read_text(encoding="utf-8"))
    assert (elsewhere / "landcarbon-demo" / "units.csv").is_file()
