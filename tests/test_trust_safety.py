"""Issue 13, safety of outputs: strict JSON manifests, links that never carry a scheme,
private temporary files, ``serve`` confined to its workspace, CSV cells that cannot run as
formulas, damaged runs skipped, and environment faults (read-only folder, full disk, file-size
limit, a path over the OS limit, a busy port, SIGTERM) each with its own message and nothing
half-written. Real subprocesses of the CLI throughout."""

from __future__ import annotations

import json
import math
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import numpy as np
import pandas as pd
import pytest
from _trust import cli, interrupted_after, leftovers, project, refused, start, sums
from conftest import write_tif
from rasterio.transform import from_origin

from landcarbon.io.outputs import strict_json
from landcarbon.io.tables import neutralise_cells, read_output_csv

ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def _strict(text: str) -> object:
    def bad(name: str) -> None:
        raise ValueError(f"not JSON: {name}")
    return json.loads(text, parse_constant=bad)


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("finished")
    res = cli("run", project(d / "p"), "-o", d / "out")
    assert res.returncode == 0, res.stderr
    return d / "out"


# --- strict JSON ------------------------------------------------------------------------------

def test_every_manifest_is_strict_json(finished: Path) -> None:
    # the 2-unit project has space types without units: their limits were NaN before
    run = _strict((finished / "run.json").read_text())
    assert isinstance(run, dict) and "null" in (finished / "run.json").read_text()
    _strict((finished / ".landcarbon-output.json").read_text())


@pytest.mark.parametrize("value, expected", [
    (float("nan"), None), (float("inf"), None), (-math.inf, None),
    (np.float32("nan"), None), (np.array([1.5, np.nan]), [1.5, None]),
    ({"a": {"b": [np.int64(3), math.nan]}}, {"a": {"b": [3, None]}}),
])
def test_strict_json_turns_non_finite_numbers_into_null(value: object,
                                                        expected: object) -> None:
    out = strict_json(value)
    assert out == expected
    _strict(json.dumps(out, allow_nan=False))


# --- links, temporary files, serve ---------------------------------------------------------------

class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.links += [v for k, v in attrs if k in ("href", "src") and v]


@pytest.mark.parametrize("name", ["javascript:alert(1)", "data:text,x#y?z&w", "%2e%2e a b"])
def test_portal_links_are_relative_encoded_and_never_a_scheme(tmp_path: Path, finished: Path,
                                                              name: str) -> None:
    ws = tmp_path / "ws"
    shutil.copytree(finished, ws / name)
    res = cli("portal", ws)
    assert res.returncode == 0, res.stderr
    parser = _Links()
    parser.feed((ws / "index.html").read_text(encoding="utf-8"))
    run_links = [u for u in parser.links if "report.html" in u or "map.html" in u]
    assert len(run_links) >= 2
    for url in run_links:
        assert url.startswith("./"), url
        assert ":" not in url.split("/")[1], url  # no scheme anywhere in the path
        assert unquote(url.split("/")[1]) == name  # the link leads to the folder
    assert not re.search(r'(href|src)="\s*(javascript|data):', (ws / "index.html").read_text())


def test_report_links_to_files_are_relative_and_encoded(tmp_path: Path,
                                                          finished: Path) -> None:
    """``landcarbon map`` lists every file of the run in its report, a file the user added
    too: a file named ``javascript:alert(1)`` is a link to that file, never a script."""
    run = tmp_path / "run"
    shutil.copytree(finished, run)
    (run / "javascript:alert(1)").write_text("x")
    assert cli("map", run).returncode == 0
    html = (run / "report.html").read_text(encoding="utf-8")
    parser = _Links()
    parser.feed(html)
    files = [u for u in parser.links if not u.startswith("data:")]
    assert "./javascript%3Aalert%281%29" in files
    for url in files:
        assert url.startswith("./") and ":" not in url, url


def test_map_never_writes_through_links(tmp_path: Path, finished: Path) -> None:
    """``landcarbon map`` into a run whose ``figures`` or ``units.gpkg`` is a symbolic link
    is refused (nothing written there, the link kept); a ``units.gpkg`` hard-linked into a
    backup (``cp -al``) gets content of its own before its style is written: the backup's
    bytes stay."""
    mine = tmp_path / "my_figures"
    mine.mkdir()
    (mine / "map_risk_level.png").write_bytes(b"mine")
    run = tmp_path / "run"
    shutil.copytree(finished, run)
    (run / "figures").symlink_to(mine)
    refused(cli("map", run, "--overwrite"), "figures", "symbolic link")
    assert (mine / "map_risk_level.png").read_bytes() == b"mine"
    assert (run / "figures").is_symlink() and not (run / "map.html").exists()
    (run / "figures").unlink()
    kept = tmp_path / "units_final.gpkg"
    (run / "units.gpkg").rename(kept)
    (run / "units.gpkg").symlink_to(kept)
    before = sums(tmp_path, skip=("run",))
    refused(cli("map", run, "--overwrite"), "units.gpkg", "symbolic link")
    assert sums(tmp_path, skip=("run",)) == before
    (run / "units.gpkg").unlink()
    os.link(kept, run / "units.gpkg")  # a backup sharing the file
    res = cli("map", run, "--overwrite")
    assert res.returncode == 0, res.stderr
    assert sums(tmp_path, skip=("run",)) == before
    assert os.stat(run / "units.gpkg").st_nlink == 1 and (run / "map.html").is_file()


def test_mosaic_vrt_is_private_per_process_and_removed_at_exit(tmp_path: Path) -> None:
    for i in range(2):
        write_tif(tmp_path / f"t{i}.tif", np.full((4, 4), 10, np.uint8),
                  transform=from_origin(500000 + 40 * i, 3850000, 10, 10))
    code = ("import os, stat, sys\n"
            "from landcarbon.io.raster import mosaic_vrt\n"
            "p = mosaic_vrt(sys.argv[1:])\n"
            "print(p, oct(stat.S_IMODE(os.stat(os.path.dirname(p)).st_mode)))\n")
    paths = [str(tmp_path / "t0.tif"), str(tmp_path / "t1.tif")]
    runs = [subprocess.run([sys.executable, "-c", code, *paths], capture_output=True,
                           text=True, check=True).stdout.split() for _ in range(2)]
    (first, mode), (second, _) = runs
    assert mode == "0o700" and first != second  # private, a new folder per process
    assert Path(first).parent.name.startswith("landcarbon-")
    assert not Path(first).exists() and not Path(first).parent.exists()  # removed at exit


@pytest.fixture
def served(tmp_path: Path, finished: Path) -> Iterator[tuple[str, Path]]:
    ws = tmp_path / "ws"
    shutil.copytree(finished, ws / "r1")
    (tmp_path / "secret.txt").write_text("private")
    (ws / "escape").symlink_to(tmp_path, target_is_directory=True)
    (ws / "leak.txt").symlink_to(tmp_path / "secret.txt")
    proc = start("serve", ws, "--port", "0")
    line = ""
    end = time.monotonic() + 120
    while "http://" not in line and time.monotonic() < end:
        line = proc.stderr.readline() if proc.stderr else ""
    url = re.search(r"http://[\d.]+:\d+/", line)
    assert url, line
    try:
        yield url.group(0), ws
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)


@pytest.mark.parametrize("path", ["escape/secret.txt", "leak.txt", "r1/../../secret.txt",
                                  "%2e%2e/secret.txt"])
def test_serve_refuses_what_resolves_outside_the_workspace(served: tuple[str, Path],
                                                           path: str) -> None:
    base, _ = served
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(base + path, timeout=30)
    assert err.value.code == 404
    with urllib.request.urlopen(base + "r1/run.json", timeout=30) as ok:  # inside: served
        assert ok.status == 200 and b"totals" in ok.read()


def test_serve_on_a_busy_port_names_the_port(tmp_path: Path, finished: Path) -> None:
    ws = tmp_path / "ws"
    shutil.copytree(finished, ws / "r1")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        res = cli("serve", ws, "--port", port, timeout=120)
    refused(res, f"port {port}", "already in use", "--port")


# --- spreadsheet cells ------------------------------------------------------------------------

@pytest.mark.parametrize("cell, written", [
    ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"), ("+1+1", "'+1+1"),
    ("-2+3", "'-2+3"), ("@SUM(A1)", "'@SUM(A1)"), ("\tcmd", "'\tcmd"),
    ("\r=1", "'\n=1"), ("\n=1", "'\n=1"),
    ("-5.2", "-5.2"), ("+3", "+3"), ("1e-3", "1e-3"), ("西单元", "西单元"),
])
def test_text_cells_that_would_run_as_formulas_are_quoted(cell: str, written: str) -> None:
    assert neutralise_cells(pd.DataFrame({"name": [cell]}))["name"][0] == written


@pytest.mark.parametrize("rows", [3, 30_000])  # the joined and the compiled writers
def test_categorical_text_cells_are_neutralised_too(tmp_path: Path, rows: int) -> None:
    """Categorical columns (the change run's transition tables; an analyst's frame) are
    written with the same neutralised, quoted cells as text columns."""
    from landcarbon.io.tables import write_csv

    cells = ["=1+2", "a,b", "西单元"]
    values = [cells[k % 3] for k in range(rows)]
    table = pd.DataFrame({"name": pd.Categorical(values), "plain": values,
                          "x": np.arange(rows, dtype=float)})
    write_csv(table, tmp_path / "t.csv")
    lines = (tmp_path / "t.csv").read_text(encoding="utf-8-sig").splitlines()
    assert lines[:4] == ["name,plain,x", "'=1+2,'=1+2,0.000000", '"a,b","a,b",1.000000',
                         "西单元,西单元,2.000000"]
    assert len(lines) == rows + 1
    missing = table.assign(name=pd.Categorical([None, *values[1:]]))
    write_csv(missing, tmp_path / "m.csv")
    assert (tmp_path / "m.csv").read_text(encoding="utf-8-sig").splitlines()[1] == \
        ",'=1+2,0.000000"


def test_units_csv_neutralises_hostile_names_but_not_numbers(tmp_path: Path) -> None:
    config = project(tmp_path / "p", names=("=1+2", "@SUM(A1:A9)"))
    res = cli("run", config, "-o", tmp_path / "out")
    assert res.returncode == 0, res.stderr
    text = (tmp_path / "out" / "units.csv").read_text(encoding="utf-8-sig")
    assert "'=1+2" in text and "'@SUM(A1:A9)" in text
    table = pd.read_csv(tmp_path / "out" / "units.csv", encoding="utf-8-sig")
    assert (table["net_tc"] < 0).any() or (table["net_tc"] > 0).any()
    assert pd.api.types.is_float_dtype(table["net_tc"])  # numbers are never quoted
    back = read_output_csv(tmp_path / "out" / "units.csv")
    assert sorted(back["unit_name"]) == ["=1+2", "@SUM(A1:A9)"]


def test_batch_summary_neutralises_a_run_named_like_a_formula(tmp_path: Path) -> None:
    config = project(tmp_path / "p", name="=cmd.toml")
    res = cli("batch", config, "-o", tmp_path / "b")
    assert res.returncode == 0, res.stderr
    text = (tmp_path / "b" / "summary.csv").read_text(encoding="utf-8-sig")
    assert text.splitlines()[1].startswith("'=cmd,ok,")


# --- damaged runs -------------------------------------------------------------------------------

def _damaged(finished: Path, ws: Path) -> Path:
    shutil.copytree(finished, ws / "good")
    bad = shutil.copytree(finished, ws / "bad")
    text = (bad / "run.json").read_text()
    (bad / "run.json").write_text(text[: len(text) // 2])  # truncated by a full disk
    return bad


def test_portal_skips_a_damaged_run_and_names_it(tmp_path: Path, finished: Path) -> None:
    ws = tmp_path / "ws"
    bad = _damaged(finished, ws)
    res = cli("portal", ws)
    assert res.returncode == 0, res.stderr
    assert "skipped" in res.stderr and str(bad) in res.stderr and "not valid JSON" in res.stderr
    index = (ws / "index.html").read_text(encoding="utf-8")
    assert "./good/report.html" in index and "./bad/" not in index


@pytest.mark.parametrize("command", [["map"], ["zone"]])
def test_map_and_zone_of_a_damaged_run_name_its_manifest(tmp_path: Path, finished: Path,
                                                         command: list[str]) -> None:
    bad = _damaged(finished, tmp_path / "ws")
    before = sums(bad)
    res = cli(*command, bad)
    refused(res, "run.json", "not valid JSON", "again")
    assert sums(bad) == before and leftovers(bad) == []


@pytest.mark.parametrize("key, value", [("totals", "x"), ("config", []),
                                        ("outputs_sha256", 3)])
def test_a_manifest_edited_into_other_types_is_a_damaged_run(
        tmp_path: Path, finished: Path, key: str, value: object) -> None:
    """Valid JSON whose objects became other types (edited by hand): ``map`` names the key
    and writes nothing; the portal lists the others and names the damaged one."""
    import json

    ws = tmp_path / "ws"
    shutil.copytree(finished, ws / "good")
    bad = shutil.copytree(finished, ws / "bad")
    data = json.loads((bad / "run.json").read_text(encoding="utf-8"))
    data[key] = value
    (bad / "run.json").write_text(json.dumps(data), encoding="utf-8")
    before = sums(bad)
    res = cli("map", bad, "--overwrite")
    refused(res, "run.json", repr(key), "should be a JSON object")
    assert sums(bad) == before and leftovers(bad) == []
    res = cli("portal", ws)
    assert res.returncode == 0, res.stderr
    assert "skipped" in res.stderr and repr(key) in res.stderr
    assert "./good/report.html" in (ws / "index.html").read_text(encoding="utf-8")


def test_map_of_a_run_with_a_truncated_units_gpkg(tmp_path: Path, finished: Path) -> None:
    """units.gpkg cut to a third (an interrupted copy): ``map`` (which draws from it) names the
    file and says to run again, not a GDAL message reported as unexpected. (``zone`` computes
    the run again from its inputs.)"""
    bad = shutil.copytree(finished, tmp_path / "bad")
    data = (bad / "units.gpkg").read_bytes()
    (bad / "units.gpkg").write_bytes(data[: len(data) // 3])
    before = sums(bad)
    res = cli("map", bad)
    refused(res, "units.gpkg", "damaged", "again")
    assert "unexpected" not in res.stderr
    assert sums(bad) == before and leftovers(bad) == []


# --- environment faults ---------------------------------------------------------------------------

@pytest.fixture
def mount(tmp_path: Path) -> Iterator[Path]:
    """A mount point for a small tmpfs (root only; skipped otherwise)."""
    if not ROOT or not shutil.which("mount"):
        pytest.skip("mounting a small tmpfs needs root")
    point = tmp_path / "mnt"
    point.mkdir()
    yield point
    subprocess.run(["umount", "-l", str(point)], check=False, capture_output=True)


def _mount(point: Path, options: str) -> None:
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(point)],
                         capture_output=True, text=True)
    if res.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {res.stderr.strip()}")


def test_read_only_output_folder(tmp_path: Path, mount: Path) -> None:
    _mount(mount, "size=1m,ro")
    config = project(tmp_path / "p")
    before = sums(tmp_path / "p")
    res = cli("run", config, "-o", mount / "out")
    refused(res, "read-only", str(mount / "out"), "-o")
    assert os.listdir(mount) == [] and sums(tmp_path / "p") == before


def test_full_disk_leaves_nothing_and_says_so(tmp_path: Path, mount: Path) -> None:
    _mount(mount, "size=256k")
    config = project(tmp_path / "p", light=False)
    before = sums(tmp_path / "p")
    res = cli("run", config, "-o", mount / "out")
    refused(res, "disk is full", "free space")
    assert os.listdir(mount) == [] and sums(tmp_path / "p") == before  # no stage, no lock


def _small_files() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of being killed
    resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))


def test_file_size_limit_leaves_nothing_and_says_so(tmp_path: Path) -> None:
    config = project(tmp_path / "p", light=False)
    before = sums(tmp_path / "p")
    res = cli("run", config, "-o", tmp_path / "out", preexec=_small_files)
    refused(res, "size limit")
    assert not (tmp_path / "out").exists() and leftovers(tmp_path) == []
    assert sums(tmp_path / "p") == before


@pytest.mark.parametrize("where", ["output", "config"])
def test_path_over_the_os_limit(tmp_path: Path, where: str) -> None:
    config = project(tmp_path / "p")
    long = "x" * 300
    args = (["run", config, "-o", tmp_path / long] if where == "output"
            else ["run", tmp_path / f"{long}.toml", "-o", tmp_path / "out"])
    res = cli(*args)
    refused(res, "longer than this system allows")
    assert leftovers(tmp_path) == [] and not (tmp_path / "out").exists()


# --- SIGTERM ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """600 x 600 px with rasters, map and atlas: writing takes seconds."""
    d = tmp_path_factory.mktemp("big")
    config = project(d, light=False)
    n = 600
    codes = np.array([10, 20, 30, 40, 50, 60, 80], np.uint8)
    write_tif(d / "lc.tif", codes[np.add.outer(np.arange(n) // 37, np.arange(n) // 53) % 7])
    import geopandas as gpd
    from shapely.geometry import box

    gpd.GeoDataFrame({"code": ["W", "E"], "name": ["w", "e"]},
                     geometry=[box(500000, 3844000, 503000, 3850000),
                               box(503000, 3844000, 506000, 3850000)],
                     crs="EPSG:32649").to_file(d / "u.gpkg")
    return config


def test_sigterm_leaves_no_output_and_releases_the_lock(big: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    before = sums(big.parent)
    proc = start("run", big, "-o", out)
    end = time.monotonic() + 300
    while not any(p.is_dir() and any(p.iterdir()) for p in tmp_path.glob(".out.partial-*")):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < end
        time.sleep(0.01)
    assert (tmp_path / ".out.lock").is_file()  # held while writing
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143 and "Terminated" in err and "Traceback" not in err
    assert not out.exists() and leftovers(tmp_path) == []  # lock released, stage removed
    assert sums(big.parent) == before
    res = cli("run", big, "-o", out)  # the next run is not blocked
    assert res.returncode == 0, res.stderr


def test_an_interrupted_map_says_what_it_left(tmp_path: Path, finished: Path) -> None:
    """Ctrl-C during ``landcarbon map`` (which redraws files of an existing run one by one)
    says that some may be redrawn and how to finish, not 'no output was written'."""
    run = tmp_path / "run"
    shutil.copytree(finished, run)
    err = interrupted_after(start("map", run), (run / "map.html").exists, timeout=120)
    assert f"landcarbon map {run} --overwrite" in " ".join(err.split())
