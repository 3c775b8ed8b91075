"""Nothing lost, safe outputs: runs killed midway (real subprocesses, real signals), stale
staging folders, inputs never modified, finished runs not redone, identical outputs for
identical inputs, every user string escaped in HTML, config paths used as given."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
from _trust import CONFIG, interrupted_after, start
from conftest import GRID4, write_tif
from rasterio.transform import from_origin
from shapely.geometry import box

import landcarbon as lc
from landcarbon.io.outputs import STAGE_SENTINEL, remove_stale_stages

PAYLOAD = "<img src=x onerror=alert(1)>"
NASTY = f"{PAYLOAD} \"q\" 'a' </script><script>alert(2)</script> 西单元"


def _small(d: Path, names: tuple[str, str] = ("西单元", "东单元"), title: str = "t",
           extra: str = "", light: bool = False) -> Path:
    """The 4 x 4 px project; ``light``: tables and manifest only (no map, atlas, rasters)."""
    write_tif(d / "lc.tif", GRID4)
    gpd.GeoDataFrame({"code": ["W", "E"], "name": list(names), "note": [extra, extra]},
                     geometry=[box(500000, 3849960, 500015, 3850000),
                               box(500015, 3849960, 500040, 3850000)],
                     crs="EPSG:32649").to_file(d / "u.gpkg")
    (d / "energy.csv").write_text("unit_id,raw_coal_t\nW,10\nE,25.5\n", encoding="utf-8")
    text = CONFIG.replace("TITLE", title.replace('"', '\\"'))
    (d / "run.toml").write_text(text + ("map = false\nrasters = false\n" if light else ""),
                                encoding="utf-8")
    return d / "run.toml"


def _state(d: Path) -> dict[str, tuple[str, int]]:
    return {str(p.relative_to(d)): (hashlib.sha256(p.read_bytes()).hexdigest(),
                                    p.stat().st_mtime_ns)
            for p in sorted(d.rglob("*")) if p.is_file()}


def _hidden(d: Path) -> list[str]:
    return sorted(p.name for p in d.iterdir() if p.name.startswith(".out."))


# --- killed midway ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def big_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """600 x 600 px, 4 units: writing its outputs (rasters, map, atlas) takes seconds."""
    d = tmp_path_factory.mktemp("big")
    n = 600
    rng = np.random.default_rng(1)
    codes = np.array([10, 20, 30, 40, 50, 60, 80], np.uint8)
    a = codes[(np.add.outer(np.arange(n) // 37, np.arange(n) // 53)
               + rng.integers(0, 2, (n, n))) % 7]
    write_tif(d / "lc.tif", a, transform=from_origin(500000, 3850000, 10, 10))
    half = n * 10 / 2
    gpd.GeoDataFrame({"code": list("abcd"), "name": list("abcd")}, geometry=[
        box(500000 + i * half, 3850000 - (j + 1) * half, 500000 + (i + 1) * half,
            3850000 - j * half) for i in range(2) for j in range(2)],
        crs="EPSG:32649").to_file(d / "u.gpkg")
    (d / "energy.csv").write_text("unit_id,raw_coal_t\na,1\nb,2\nc,3\nd,4\n")
    (d / "run.toml").write_text(CONFIG.replace("TITLE", "big"), encoding="utf-8")
    return d


def _start(project: Path, out: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    # a background shell may start children with SIGINT ignored: restore the default so
    # Python turns SIGINT into KeyboardInterrupt as in a terminal
    return subprocess.Popen(
        [sys.executable, "-m", "landcarbon.cli", "run", str(project / "run.toml"), "-o",
         str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def _wait_for_stage(proc: subprocess.Popen[str], parent: Path, timeout: float = 300) -> Path:
    """The staging folder, once the run has written at least one output file into it."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        for stage in parent.glob(f".out.partial-{proc.pid}"):
            if any(stage.iterdir()):
                return stage
        if proc.poll() is not None:
            pytest.fail(f"run ended before it could be interrupted: {proc.communicate()}")
        time.sleep(0.01)
    proc.kill()
    pytest.fail("the run never started writing")


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_interrupted_run_leaves_nothing(big_project: Path, tmp_path: Path, sig: int,
                                        code: int) -> None:
    out = tmp_path / "out"
    before = _state(big_project)
    proc = _start(big_project, out)
    stage = _wait_for_stage(proc, tmp_path)
    assert stage.name.startswith(".")  # hidden: never looks like a finished output
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == code, err
    assert "Traceback" not in err
    assert ("Interrupted" if sig == signal.SIGINT else "Terminated") in err
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []  # staging removed too
    assert _state(big_project) == before


def test_killed_run_leaves_only_a_hidden_stage_that_the_next_run_removes(
        big_project: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = _start(big_project, out)
    stage = _wait_for_stage(proc, tmp_path)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert not out.exists()
    # the dead writer's lock file is left, but no longer held: the next run takes it over
    assert _hidden(tmp_path) == [".out.lock", stage.name]
    assert not (stage / "run.json").exists()
    # a live process's stage is left alone; a dead one's is removed by the next run
    live = tmp_path / f".out.partial-{os.getpid()}"
    live.mkdir()
    assert remove_stale_stages(out) == [stage]
    assert _hidden(tmp_path) == [".out.lock", live.name]
    live.rmdir()
    stage.mkdir()
    (stage / STAGE_SENTINEL).touch()  # as a run creates it
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    result = lc.run(lc.load_config(_small(inputs, light=True)), out)
    assert (out / "run.json").is_file() and result.files
    assert _hidden(tmp_path) == []


def test_folders_of_the_user_named_like_leftovers_are_kept(tmp_path: Path) -> None:
    """Only folders landcarbon made are leftovers: a user's ``.out.old-20240101`` backup or
    ``.out.partial-777777`` folder (no process of that number runs) stays, with its files;
    a dead run's stage and an older output that landcarbon moved aside are removed."""
    out = tmp_path / "out"
    backup = tmp_path / ".out.old-20240101"
    partial = tmp_path / ".out.partial-777777"
    for folder in (backup, partial):
        folder.mkdir()
        (folder / "IMPORTANT.xlsx").write_bytes(b"the user's")
    stage = tmp_path / ".out.partial-999998"
    stage.mkdir()
    (stage / STAGE_SENTINEL).touch()
    (stage / "units.csv").write_text("half")
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    previous = tmp_path / "previous"
    lc.run(lc.load_config(_small(inputs, light=True)), previous)
    moved = previous.rename(tmp_path / ".out.old-999997")
    assert sorted(remove_stale_stages(out)) == sorted([stage, moved])
    assert (backup / "IMPORTANT.xlsx").read_bytes() == b"the user's"
    assert (partial / "IMPORTANT.xlsx").read_bytes() == b"the user's"
    lc.run(lc.load_config(_small(inputs, light=True)), out)
    assert backup.is_dir() and partial.is_dir() and not stage.exists()
    assert not list(out.rglob(STAGE_SENTINEL))  # never left in a finished output


# --- inputs, re-runs, determinism ------------------------------------------------------

def test_inputs_never_modified(tmp_path: Path) -> None:
    config = _small(tmp_path)
    before = _state(tmp_path)
    from landcarbon.pipeline.validate import validate_config

    assert validate_config(config).ok
    lc.run(lc.load_config(config), tmp_path / "out")
    after = {k: v for k, v in _state(tmp_path).items() if not k.startswith("out/")}
    assert after == before


def test_finished_run_is_up_to_date_until_an_input_changes(tmp_path: Path) -> None:
    config = _small(tmp_path, light=True)
    out = tmp_path / "out"
    first = lc.run(lc.load_config(config), out)
    assert not first.up_to_date
    manifest = json.loads((out / "run.json").read_text(encoding="utf-8"))
    fp = manifest["fingerprint"]
    assert set(fp["inputs_sha256"]) == {str(tmp_path / n) for n in ("lc.tif", "u.gpkg",
                                                                     "energy.csv")}
    state = _state(out)
    # same inputs, settings and version: nothing recomputed, nothing rewritten
    again = lc.run(lc.load_config(config), out)
    assert again.up_to_date and again.assessment is None and again.files == first.files
    assert _state(out) == state
    # rewriting an input with the same bytes changes nothing (content, not mtime, counts)
    (tmp_path / "energy.csv").write_bytes((tmp_path / "energy.csv").read_bytes())
    assert lc.run(lc.load_config(config), out).up_to_date
    # a changed input is not silently skipped nor silently overwritten
    (tmp_path / "energy.csv").write_text("unit_id,raw_coal_t\nW,11\nE,25.5\n")
    with pytest.raises(lc.OutputExistsError, match="--overwrite"):
        lc.run(lc.load_config(config), out)
    assert _state(out) == state
    redone = lc.run(lc.load_config(config), out, overwrite=True)
    assert not redone.up_to_date
    assert json.loads((out / "run.json").read_text())["fingerprint"] != fp
    # a damaged output folder is not "up to date"
    (out / "units.csv").unlink()
    with pytest.raises(lc.OutputExistsError):
        lc.run(lc.load_config(config), out)


def _count_file_hashes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every file the package hashes from now on (absolute paths, one entry per hash): our
    ``io.outputs.sha256`` wrapped wherever a landcarbon module holds it."""
    import landcarbon.io.outputs as outputs

    real = outputs.sha256
    hashed: list[str] = []

    def counting(path: str | os.PathLike[str], chunk: int = 1 << 22) -> str:
        hashed.append(os.path.abspath(path))
        return real(path, chunk)

    for name, module in list(sys.modules.items()):
        if name.startswith("landcarbon") and getattr(module, "sha256", None) is real:
            monkeypatch.setattr(module, "sha256", counting)
    return hashed


def test_a_run_hashes_each_input_file_once(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    config = lc.load_config(_small(tmp_path, light=True))
    import landcarbon.pipeline.run_outputs  # noqa: F401  (loaded before the count starts)

    hashed = _count_file_hashes(monkeypatch)
    lc.run(config, tmp_path / "out")
    inputs = [str(tmp_path / n) for n in ("energy.csv", "lc.tif", "u.gpkg")]
    assert sorted(p for p in hashed if p in inputs) == inputs  # once each, not twice
    manifest = json.loads((tmp_path / "out" / "run.json").read_text(encoding="utf-8"))
    for p in inputs:  # the fingerprint and the manifest still record each file's digest
        digest = hashlib.sha256(Path(p).read_bytes()).hexdigest()
        assert manifest["fingerprint"]["inputs_sha256"][p] == digest
        assert manifest["inputs_sha256"][p] == digest


def test_input_digests_are_kept_for_one_run_only(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from landcarbon.io.fingerprint import input_sha256, one_hash_per_input

    hashed = _count_file_hashes(monkeypatch)
    table = tmp_path / "t.csv"
    table.write_text("a\n1\n", encoding="utf-8")
    with one_hash_per_input():
        first = input_sha256(table)
        assert input_sha256(str(table)) == first and len(hashed) == 1
        with one_hash_per_input():  # a nested block shares the run's digests
            assert input_sha256(table) == first and len(hashed) == 1
        table.write_text("a\n22\n", encoding="utf-8")  # changed: hashed again
        assert input_sha256(table) == hashlib.sha256(b"a\n22\n").hexdigest() != first
        assert len(hashed) == 2
    input_sha256(table)  # outside a run nothing is kept
    input_sha256(table)
    assert len(hashed) == 4


#: Outputs whose bytes still vary between identical runs (the report's "generated at"
#: minute). Everything else must be byte-identical: ``units.gpkg`` (pinned GDAL and style
#: timestamps) and ``map.html`` (folium's random element ids made sequential) too.
VARIABLE = {"report.html"}


def test_same_inputs_same_outputs(tmp_path: Path) -> None:
    config = lc.load_config(_small(tmp_path))
    lc.run(config, tmp_path / "a")
    lc.run(config, tmp_path / "b")
    a = json.loads((tmp_path / "a" / "run.json").read_text(encoding="utf-8"))
    b = json.loads((tmp_path / "b" / "run.json").read_text(encoding="utf-8"))
    names = set(a["outputs_sha256"])
    assert {"units.csv", "class_areas.csv", "land_class.tif", "net_flux.tif", "units.gpkg",
            "map.html"} <= names
    for name in sorted(names - VARIABLE):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    for doc in (a, b):
        doc.pop("timings_s")
        for name in VARIABLE:
            doc["outputs_sha256"].pop(name, None)
    assert a == b


# --- safe outputs ----------------------------------------------------------------------

def test_user_strings_are_escaped_in_every_html(tmp_path: Path) -> None:
    config = _small(tmp_path, names=(NASTY, "东单元 \"quoted\" & <b>bold</b>"), title=NASTY,
                    extra=PAYLOAD)
    units = gpd.read_file(tmp_path / "u.gpkg")
    units["<b>field</b>"] = [PAYLOAD, "ok"]  # a hostile field name and value
    units.to_file(tmp_path / "u.gpkg")
    out = tmp_path / "out"
    lc.run(lc.load_config(config), out)
    lc.build_portal(tmp_path, title=NASTY)  # the workspace index links the run's atlas
    pages = sorted(tmp_path.rglob("*.html"))
    assert {p.name for p in pages} >= {"map.html", "report.html", "index.html"}
    for page in pages:
        text = page.read_text(encoding="utf-8")
        for raw in ("<img src=x", "<script>alert(2)", "<b>bold</b>", "<b>field</b>"):
            assert raw not in text, f"{page.name}: unescaped {raw!r}"
        # the strings are there, escaped (not dropped): Chinese raw or as JSON escapes
        assert "西单元" in text or "\\u897f\\u5355\\u5143" in text, page.name


@pytest.mark.parametrize("name", ["$HOME.tif", "${HOME}.tif", "`id`.tif", "$(id).tif",
                                  "%HOME%.tif", "a;b.tif"])
def test_config_paths_are_used_as_given(tmp_path: Path, name: str) -> None:
    config = _small(tmp_path, light=True)
    (tmp_path / name).write_bytes((tmp_path / "lc.tif").read_bytes())
    (tmp_path / "lc.tif").unlink()
    config.write_text(config.read_text().replace('path = "lc.tif"',
                                                 f"path = {json.dumps(name)}"))
    result = lc.run(lc.load_config(config), tmp_path / "out")
    inputs = json.loads((tmp_path / "out" / "run.json").read_text())["inputs_sha256"]
    assert str(tmp_path / name) in inputs
    assert result.assessment is not None
    assert result.assessment.totals()["covered_ha"] == pytest.approx(0.15)


def test_missing_path_is_reported_literally(tmp_path: Path) -> None:
    config = _small(tmp_path)
    config.write_text(config.read_text().replace('path = "lc.tif"', 'path = "$HOME/lc.tif"'))
    with pytest.raises(lc.InputError, match=r"\$HOME/lc\.tif"):
        lc.run(lc.load_config(config), tmp_path / "out")


def test_atomic_path_replaces_only_when_complete(tmp_path: Path) -> None:
    from landcarbon.io.outputs import atomic_path

    target = tmp_path / "map.html"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("interrupted")
    assert target.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == [
        "map.html"]
    with atomic_path(target) as tmp:
        assert tmp.name.startswith(".") and tmp.parent == tmp_path
        tmp.write_text("new")
    assert target.read_text() == "new" and len(list(tmp_path.iterdir())) == 1


def test_runs_reading_urls_are_never_up_to_date(tmp_path: Path) -> None:
    from landcarbon.config.outputs import name
    from landcarbon.io.fingerprint import run_fingerprint, stamp_manifest, up_to_date

    config = lc.load_config(_small(tmp_path, light=True))
    result = lc.run(config, tmp_path / "out")
    fp = run_fingerprint(config)
    manifest = name("run", "manifest")
    assert fp["remote_inputs"] == []
    assert up_to_date(tmp_path / "out", fp, manifest=manifest) == result.files
    remote = {**fp, "remote_inputs": ["https://example.org/lc.tif"]}
    stamp_manifest(tmp_path / "out", remote, result.files, manifest=manifest)
    assert up_to_date(tmp_path / "out", remote, manifest=manifest) is None


def test_overlapping_units_stop_the_run_unless_allowed(tmp_path: Path,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    """Overlaps over 1 % of a unit stop the run (the gate); ``[units] allow_overlaps`` accepts
    them with a warning and run.json reports the hectares counted twice."""
    import json

    config = _small(tmp_path, light=True)
    gpd.GeoDataFrame({"code": ["W", "E"], "name": ["w", "e"]},
                     geometry=[box(500000, 3849960, 500020, 3850000),
                               box(500015, 3849960, 500040, 3850000)],
                     crs="EPSG:32649").to_file(tmp_path / "u.gpkg")
    with pytest.raises(lc.InputError, match="W/E: 1 pair") as exc:
        lc.run(lc.load_config(config), tmp_path / "out")
    assert exc.value.code == "units_overlap"
    assert not (tmp_path / "out").exists()
    config.write_text(config.read_text(encoding="utf-8").replace(
        "[units]\n", "[units]\nallow_overlaps = true\n"), encoding="utf-8")
    # on landcarbon's logger: an in-process CLI call of an earlier test (-q) may have set it
    # to ERROR, which would hide the warning from the root logger's capture
    with caplog.at_level("WARNING", logger="landcarbon"):
        lc.run(lc.load_config(config), tmp_path / "out")
    assert any("W/E" in r.getMessage() and "counted twice" in r.getMessage()
               for r in caplog.records)
    manifest = json.loads((tmp_path / "out" / "run.json").read_text(encoding="utf-8"))
    (repair,) = [r for r in manifest["repairs"] if r["problem"] == "units_overlap"]
    # a 5 m x 40 m strip (column 1's right half): 200 m2
    assert repair["double_counted_ha"] == pytest.approx(0.02, rel=1e-2)
    assert repair["pairs"] == 1


def test_no_code_path_evaluates_or_shells_out() -> None:
    """Config values are data: nothing in the package evaluates text or runs a shell."""
    import re

    root = Path(lc.__file__).parent
    pattern = re.compile(r"\b(eval|exec)\(|shell=True|expandvars|os\.system\(|os\.popen\(")
    hits = [f"{p.relative_to(root)}:{i}" for p in root.rglob("*.py")
            for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
            if pattern.search(line)]
    assert hits == []


def test_an_interrupted_batch_says_what_it_keeps(big_project: Path, tmp_path: Path) -> None:
    """A batch interrupted after its first run keeps that run (it said "no output was
    written"): the message names the folder and how to finish; run again, the batch
    finishes and writes summary.csv."""
    out = tmp_path / "batch"
    second = big_project / "again.toml"
    second.write_text((big_project / "run.toml").read_text(encoding="utf-8"),
                      encoding="utf-8")
    args = ["batch", big_project / "run.toml", second, "-o", out]
    err = interrupted_after(start(*args), (out / "run" / "run.json").is_file)
    assert f"the runs finished so far are kept in {out}" in err
    assert "run the same batch again" in err
    assert (out / "run" / "run.json").is_file() and not (out / "summary.csv").exists()
    done = start(*args)
    _, err = done.communicate(timeout=300)
    assert done.returncode == 0, err
    assert (out / "summary.csv").is_file() and (out / "again" / "run.json").is_file()
