"""The command line as a rio user expects it, in real subprocesses: results on stdout
(file lists aligned, ``--json`` documents parsed here, validation problems), diagnostics on
stderr; ``-q`` silences stderr, ``-v`` shows library warnings, ``--debug`` shows landcarbon's
debug log without numba's bytecode dumps; "up to date" printed once."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import GRID4, write_tif
from test_change import GRID4B
from test_change_pipeline import CONFIG as CHANGE_CONFIG
from test_run import CONFIG as RUN_CONFIG
from test_stocks import POOLS_CSV


def lc(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m landcarbon.cli ARGS`` with the environment's warnings settings untouched."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"}
    return subprocess.run([sys.executable, "-m", "landcarbon.cli", *args], capture_output=True,
                          text=True, timeout=600, cwd=cwd, env=env)


@pytest.fixture
def project(tmp_path: Path, grid4_tif: Path, halves_gpkg: Path) -> Path:
    (tmp_path / "run.toml").write_text(RUN_CONFIG, encoding="utf-8")
    return tmp_path / "run.toml"


def _json(stdout: str) -> dict:
    doc = json.loads(stdout)  # the whole of stdout is one document
    assert doc["schema"] == "landcarbon.result/1"
    assert set(doc) >= {"command", "status", "out_dir", "files", "totals"}
    return doc


def test_run_json_streams_and_up_to_date_once(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    r = lc("run", str(project), "-o", str(out), "--json")
    assert r.returncode == 0, r.stderr
    doc = _json(r.stdout)
    assert doc["command"] == "run" and doc["status"] == "ok"
    assert doc["out_dir"] == str(out.absolute())
    assert Path(doc["files"]["manifest"]).is_file() and Path(doc["files"]["map"]).is_file()
    assert doc["totals"]["units"] == 2 and doc["totals"]["unit"] == "t C"
    assert "INFO: finished" in r.stderr  # progress on stderr, never in the JSON
    again = lc("run", str(project), "-o", str(out))
    assert again.returncode == 0
    assert (again.stdout + again.stderr).count("up to date") == 1
    assert "up to date" in again.stdout
    doc = _json(lc("-q", "run", str(project), "-o", str(out), "--json").stdout)
    assert doc["status"] == "up_to_date" and doc["totals"] is None
    assert Path(doc["files"]["units_csv"]).is_file()


def test_file_list_is_aligned_and_quiet_means_quiet(project: Path, tmp_path: Path) -> None:
    r = lc("-q", "run", str(project), "-o", str(tmp_path / "out"))
    assert r.returncode == 0 and r.stderr == ""
    lines = r.stdout.splitlines()
    assert len(lines) >= 6
    starts = {line.index(str(tmp_path)) for line in lines}
    assert len(starts) == 1  # one path column even with long keys (figure_...)
    assert all(re.match(r"^\S+ {2,}/", line) for line in lines)


def test_validate_problems_are_the_result_on_stdout(project: Path) -> None:
    bad = project.read_text(encoding="utf-8").replace('id_field = "code"', 'id_field = "kode"')
    project.write_text(bad, encoding="utf-8")
    r = lc("validate", str(project))
    assert r.returncode == 1
    assert "kode" in r.stdout and "1 error(s)" in r.stdout
    assert "kode" not in r.stderr
    doc = json.loads(lc("validate", str(project), "--json").stdout)
    assert doc["problems"] and doc["problems"][0]["severity"] == "error"


def test_change_and_batch_json(project: Path, tmp_path: Path) -> None:
    write_tif(tmp_path / "lc_2015.tif", GRID4)
    write_tif(tmp_path / "lc_2023.tif", GRID4B)
    (tmp_path / "pools.csv").write_text(POOLS_CSV, encoding="utf-8")
    change = tmp_path / "change.toml"
    change.write_text(CHANGE_CONFIG.format(resample="error", later="lc_2023.tif"),
                      encoding="utf-8")
    r = lc("-q", "change", str(change), "-o", str(tmp_path / "ch"), "--json")
    assert r.returncode == 0, r.stderr
    doc = _json(r.stdout)
    assert doc["command"] == "change" and set(doc["totals"]["by_year"]) == {"2015", "2023"}
    assert Path(doc["files"]["manifest"]).name == "change.json"
    r = lc("-q", "batch", str(project), "-o", str(tmp_path / "b"), "--json")
    assert r.returncode == 0, r.stderr
    doc = _json(r.stdout)
    assert doc["command"] == "batch" and doc["status"] == "ok" and doc["failed"] == []
    assert [run["status"] for run in doc["runs"]] == ["ok"]
    assert Path(doc["files"]["summary"]).is_file()


def test_json_document_on_failure(project: Path, tmp_path: Path) -> None:
    """A failing command with --json still prints one document on stdout (status, the
    message of stderr, the exit code); without --json stdout stays empty."""
    bad = tmp_path / "bad.toml"
    bad.write_text(project.read_text(encoding="utf-8").replace("[units]", "[units]\nbogus = 1"),
                   encoding="utf-8")
    for command in ("run", "change"):
        r = lc(command, str(tmp_path / "missing.toml"), "-o", str(tmp_path / "o"), "--json")
        assert r.returncode == 1, r.stderr
        doc = _json(r.stdout)
        assert doc["command"] == command and doc["status"] == "error"
        assert doc["exit_code"] == 1 and "missing.toml" in doc["error"]
        assert doc["out_dir"] is None and doc["files"] == {} and doc["totals"] is None
        assert doc["error"] in r.stderr and "Traceback" not in r.stderr
    r = lc("run", str(bad), "-o", str(tmp_path / "o"), "--json")
    assert r.returncode == 1 and _json(r.stdout)["status"] == "error"
    assert not (tmp_path / "o").exists()
    r = lc("run", str(tmp_path / "missing.toml"), "-o", str(tmp_path / "o"))
    assert r.returncode == 1 and r.stdout == ""
    # usage errors too (exit 2): a bad option, a bad --scheduler choice
    for args in (("run", str(project), "--json", "--bogus"),
                 ("batch", str(project), "--json", "--scheduler", "bogus")):
        r = lc(*args)
        assert r.returncode == 2, r.stderr
        doc = _json(r.stdout)
        assert doc["command"] == args[0] and doc["status"] == "error"
        assert doc["exit_code"] == 2 and doc["error"] in r.stderr
    r = lc("run", str(project), "--bogus")
    assert r.returncode == 2 and r.stdout == ""


def test_closed_stdout_ends_quietly(tmp_path: Path) -> None:
    """``landcarbon legends | head -1``: the reader closes stdout; the command ends quietly
    with SIGPIPE's exit code (141), not an 'unexpected BrokenPipeError'."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"}
    proc = subprocess.Popen([sys.executable, "-m", "landcarbon.cli", "legends"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # before the command writes its first line
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141
    assert err == ""


def test_debug_shows_own_log_without_numba_dumps(project: Path, tmp_path: Path) -> None:
    r = lc("--debug", "run", str(project), "-o", str(tmp_path / "out"))
    assert r.returncode == 0, r.stderr[-2000:]
    assert "DEBUG:" in r.stderr
    assert "numba" not in r.stderr.lower() and "bytecode" not in r.stderr.lower()
    assert len(r.stderr.splitlines()) < 500


_WARN = """
import sys, warnings
from landcarbon.cli._base import configure_logging
configure_logging(int(sys.argv[1]))
warnings.warn("a library warning", UserWarning)
import logging
logging.getLogger("landcarbon").info("own progress line")
logging.getLogger("numba.core.byteflow").debug("bytecode dump")
"""


@pytest.mark.parametrize(("level", "shown"), [(-1, set()), (0, {"own"}),
                                              (1, {"own", "library"}), (2, {"own", "library"})])
def test_library_warnings_only_at_verbose(level: int, shown: set[str]) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"}
    r = subprocess.run([sys.executable, "-c", _WARN, str(level)], capture_output=True,
                       text=True, timeout=120, env=env)
    assert r.returncode == 0, r.stderr
    got = {name for name, text in (("own", "own progress line"),
                                   ("library", "a library warning")) if text in r.stderr}
    assert got == shown
    assert "bytecode dump" not in r.stderr


def test_verbosity_flags_are_repeatable() -> None:
    r = lc("-vv", "-q", "legends")
    assert r.returncode == 0 and "esa_worldcover" in r.stdout
    r = lc("--help")
    assert "-v, --verbose" in r.stdout and "-q, --quiet" in r.stdout


def test_no_arguments_prints_the_help() -> None:
    """``landcarbon`` alone: the help on stdout, exit 0 (as ``--help``); options without a
    command stay a usage error (exit 2)."""
    r, help_ = lc(), lc("--help")
    assert (r.returncode, r.stdout, r.stderr) == (0, help_.stdout, "")
    r = lc("-v")
    assert r.returncode == 2 and "Missing command" in r.stderr


def test_assessment_reprs_are_short_and_explore_follows_the_language(project: Path) -> None:
    import landcarbon
    from landcarbon.publish import explore_units

    a = landcarbon.assess(landcarbon.load_config(project))  # language = "en"
    text = repr(a)
    assert text.startswith("Assessment(2 units") and "grid4.tif" in text and len(text) < 400
    html = a._repr_html_()
    assert "<table>" in html and len(html) < 3000
    assert a.units.attrs["language"] == "en"
    page = explore_units(a.units, tiles=None).get_root().render()
    assert "Risk level" in page or "risk level" in page.lower()
    assert "风险等级" not in page


@pytest.mark.parametrize("command", ["run", "batch"])
def test_a_bad_scheduler_option_is_a_usage_error(tmp_path: Path, command: str) -> None:
    """``--scheduler`` is checked as ``[compute] scheduler`` is, before anything is read:
    click's usage message naming the option and the allowed values, exit 2."""
    config = tmp_path / "c.toml"
    config.write_text("", encoding="utf-8")
    r = lc(command, str(config), "-o", str(tmp_path / "o"), "--scheduler", "bogus")
    assert r.returncode == 2, r.stderr
    assert "Invalid value for '--scheduler'" in r.stderr and "threads" in r.stderr
    assert "pydantic" not in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "o").exists()


def test_demo_takes_o_like_every_command_and_usage_errors_exit_2(tmp_path: Path) -> None:
    """``demo -o DIR`` works as ``run -o``; two different folders are a usage error (exit 2,
    click's usage message, no 'unexpected error')."""
    r = lc("demo", str(tmp_path / "a"), "-o", str(tmp_path / "b"))
    assert r.returncode == 2
    assert "two output folders" in r.stderr and "unexpected" not in r.stderr
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
    r = lc("-q", "demo", "-o", str(tmp_path / "b"), "--json")
    assert r.returncode == 0, r.stderr
    assert _json(r.stdout)["out_dir"] == str(tmp_path / "b")
    assert (tmp_path / "b" / "run.json").is_file()


@pytest.mark.parametrize("args, fragments", [
    (["run", "{d}/configs"], ["CONFIG", "is a folder", "a.toml, b.toml", "configs/a.toml"]),
    (["validate", "{d}/empty"], ["CONFIG", "is a folder", "Give the path of the file"]),
    (["batch", "{d}/configs"], ["CONFIGS", "is a folder", "a.toml", "configs/*.toml"]),
    (["run", "{d}/configs/a.toml", "-o", "{d}/notes.txt"],
     ["-o/--out", "is a file, but a folder is needed", "leaves this one as it is"]),
    (["demo", "{d}/notes.txt"], ["OUT", "is a file"]),
    (["run", "{d}/configs/a.toml", "-o", "{d}/notes.txt/sub/out"],
     ["-o/--out", "cannot be created", "notes.txt' is a file", "leaves the file as it is"]),
    (["demo", "{d}/notes.txt/out"], ["OUT", "cannot be created", "is a file, not a folder"]),
    (["map", "{d}/nowhere"], ["RUN_DIR", "does not exist", "current folder"]),
    (["map", "{d}/notes.txt"], ["RUN_DIR", "is a file", "Give the folder itself"]),
    (["map", "{d}/" + "x" * 300], ["longer than this system allows"]),
    (["stocks", "{d}/configs", "x.tif"], ["POOLS", "is a folder"]),
    (["stocks", "{d}/pools.csv", "x.tif", "--units", "{d}/layers"],
     ["--units", "is a folder", "units.gpkg"]),
])
def test_paths_of_the_wrong_kind_are_bad_input(tmp_path: Path, args: list[str],
                                               fragments: list[str]) -> None:
    """A folder given for a file, a file for a folder, a missing run folder: one paragraph
    that says how to fix it, exit 1 (bad input, not click's usage error), nothing written,
    the file named left as it was."""
    (tmp_path / "configs").mkdir()
    for name in ("b.toml", "a.toml", "notes.md"):
        (tmp_path / "configs" / name).write_text("", encoding="utf-8")
    (tmp_path / "empty").mkdir()
    (tmp_path / "layers").mkdir()
    (tmp_path / "layers" / "units.gpkg").write_bytes(b"")
    (tmp_path / "notes.txt").write_text("keep me", encoding="utf-8")
    (tmp_path / "pools.csv").write_text(POOLS_CSV, encoding="utf-8")
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    r = lc(*[a.format(d=tmp_path) for a in args])
    assert r.returncode == 1, r.stderr
    message = " ".join(r.stderr.split())
    assert message.startswith("Error: ") and r.stderr.count("Error:") == 1
    assert "Usage:" not in r.stderr and "Traceback" not in r.stderr
    for fragment in fragments:
        assert fragment in message
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before
    assert (tmp_path / "notes.txt").read_text(encoding="utf-8") == "keep me"


QUICK_EXIT = """
import atexit, sys
from pathlib import Path
marker = Path(sys.argv[1])
atexit.register(lambda: marker.write_text("exit handlers ran"))
from landcarbon.cli import entry
sys.argv = ["landcarbon", *sys.argv[2:]]
entry()
raise AssertionError("entry() returned")
"""


@pytest.mark.parametrize(("args", "code"), [(["--version"], 0), (["no-such-command"], 2),
                                            (["validate", "missing.toml"], 1)])
def test_console_entry_ends_quickly_with_the_command_s_code(tmp_path: Path, args: list[str],
                                                           code: int) -> None:
    """The console script ends with ``os._exit`` after the command: same exit code, exit
    handlers run (scratch folders), stdout complete when it is a file or pipe."""
    marker = tmp_path / "marker"
    proc = subprocess.run([sys.executable, "-c", QUICK_EXIT, str(marker), *args],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == code, proc.stderr
    assert marker.read_text() == "exit handlers ran"
    assert "entry() returned" not in proc.stderr
    if code == 0:
        assert re.search(r"\d+\.\d+", proc.stdout)
    if code == 1:
        assert "missing.toml" in proc.stdout + proc.stderr


def test_console_entry_flushes_a_long_result_into_a_file(project: Path, tmp_path: Path
                                                         ) -> None:
    """Results printed just before the quick exit all reach a file (block-buffered)."""
    out = tmp_path / "stdout.json"
    with out.open("w") as fh:
        proc = subprocess.run([sys.executable, "-m", "landcarbon.cli", "-q", "run",
                               str(project), "-o", str(tmp_path / "o"), "--json"], stdout=fh,
                              stderr=subprocess.PIPE, text=True, timeout=600, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    doc = _json(out.read_text())
    assert doc["status"] == "ok" and len(doc["files"]) >= 3


MALLOC_PROBE = """
import ctypes, sys
from landcarbon.cli._base import tune_allocator
libc = ctypes.CDLL("libc.so.6")
class Info(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks",
                                                "hblkhd", "usmblks", "fsmblks", "uordblks",
                                                "fordblks", "keepcost")]
libc.mallinfo2.restype = Info
libc.malloc.restype = ctypes.c_void_p
tuned = tune_allocator() if sys.argv[1] == "tune" else None
before = libc.mallinfo2().hblkhd
block = libc.malloc(16 << 20)
print(tuned, libc.mallinfo2().hblkhd - before)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
@pytest.mark.parametrize(("how", "env", "tuned", "mapped"),
                         [("plain", {}, "None", 16 << 20), ("tune", {}, "True", 0),
                          ("tune", {"MALLOC_MMAP_THRESHOLD_": "131072"}, "False", 16 << 20)])
def test_allocator_serves_block_sized_arrays_from_the_heap(how: str, env: dict[str, str],
                                                           tuned: str, mapped: int) -> None:
    """The CLI's process serves a 16 MB block from the heap (no fresh pages to fault in per
    block), unless the user tuned glibc themselves; glibc's default maps it on its own."""
    import os

    environ = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    proc = subprocess.run([sys.executable, "-c", MALLOC_PROBE, how], capture_output=True,
                          text=True, timeout=120, env={**environ, **env})
    assert proc.returncode == 0, proc.stderr
    flag, delta = proc.stdout.split()
    assert flag == tuned
    assert int(delta) >= mapped if mapped else int(delta) == 0


def test_an_empty_path_is_a_usage_error(tmp_path: Path) -> None:
    """``-o ""`` was taken as the current folder (and an empty CONFIG as one too)."""
    for args in (("run", "x.toml", "-o", ""), ("validate", "")):
        r = lc(*args)
        assert r.returncode == 2 and "is empty: give a path" in r.stderr, r.stderr
        assert "Traceback" not in r.stderr
