"""Progress bars only on a terminal, step timings with -v (here --debug), nothing with -q
(issue 16). Real CLI subprocesses, stderr on a pseudo-terminal or a pipe."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from landcarbon.pipeline import progress

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample_tiles"


def _config(tmp_path: Path) -> Path:
    text = (SAMPLE / "demo.toml").read_text(encoding="utf-8")
    for name in ("landcover_2023.tif", "townships.gpkg", "energy_2023.csv"):
        text = text.replace(f'"{name}"', f'"{(SAMPLE / name).as_posix()}"')
    # dask chunks, as for rasters over 16.7 M pixels (the bars follow dask's tasks)
    text = text.replace('legend = "esa_worldcover"', 'legend = "esa_worldcover"\nchunk_size = 256')
    config = tmp_path / "run.toml"
    config.write_text(text + "\n[output]\nmap = false\n", encoding="utf-8")
    return config


def _run(tmp_path: Path, *flags: str, tty: bool) -> str:
    """stderr of ``landcarbon [flags] run`` (on a pseudo-terminal when ``tty``)."""
    return _stderr([*flags, "run", str(_config(tmp_path)), "-o", str(tmp_path / "out"),
                    "--overwrite"], tty=tty)


def _stderr(cli_args: list[str], *, tty: bool) -> str:
    """stderr of ``landcarbon *cli_args`` (on a pseudo-terminal when ``tty``)."""
    args = [sys.executable, "-m", "landcarbon.cli", *cli_args]
    env = {**os.environ, "COLUMNS": "100"}
    if not tty:
        done = subprocess.run(args, capture_output=True, text=True, env=env, timeout=300)
        assert done.returncode == 0, done.stderr
        return done.stderr
    import pty

    leader, follower = pty.openpty()
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=follower, env=env)
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(leader)
    assert proc.wait(timeout=300) == 0
    return b"".join(chunks).decode("utf-8", "replace")


@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")
def test_bars_on_a_terminal_only(tmp_path: Path) -> None:
    on_tty = _run(tmp_path, tty=True)
    assert "land-cover pass" in on_tty and "task" in on_tty
    assert "writing outputs" in on_tty and "units.gpkg" in on_tty  # tables and COGs stage bar
    piped = _run(tmp_path, tty=False)
    assert "land-cover pass" not in piped and "\r" not in piped
    assert "writing outputs" not in piped
    assert "finished in" in piped  # the summary line still comes
    quiet = _run(tmp_path, "-q", tty=True)
    assert "land-cover pass" not in quiet and "finished in" not in quiet
    assert quiet.strip() == ""


@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")
def test_change_bars_on_a_terminal_only(tmp_path: Path) -> None:
    """``landcarbon change`` (two dates, with its map): a bar over the pass of every date and
    one over writing the outputs (tables, map and report, manifest), on a terminal only."""
    config = _config(tmp_path)
    raster = (SAMPLE / "landcover_2023.tif").as_posix()
    text = config.read_text(encoding="utf-8").replace("map = false", "map = true")
    config.write_text(text + f'\n[[change.dates]]\nyear = 2018\nlandcover = "{raster}"\n'
                      f'\n[[change.dates]]\nyear = 2023\nlandcover = "{raster}"\n',
                      encoding="utf-8")
    args = ["change", str(config), "-o", str(tmp_path / "changed"), "--overwrite"]
    on_tty = _stderr(args, tty=True)
    assert "every date and period" in on_tty
    assert "writing outputs" in on_tty and "map, report" in on_tty and "manifest" in on_tty
    piped = _stderr(args, tty=False)
    assert "writing outputs" not in piped and "\r" not in piped
    assert _stderr(["-q", *args], tty=True).strip() == ""


@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")
def test_validate_bar_on_a_terminal_only(tmp_path: Path) -> None:
    """``landcarbon validate`` reads every pixel of the units' extent: a bar on a terminal."""
    args = ["validate", str(_config(tmp_path))]
    assert "checking the land cover" in _stderr(args, tty=True)
    assert "checking the land cover" not in _stderr(args, tty=False)


_POOLS = ("lucode,LULC_Name,C_above,C_below,C_soil,C_dead\n"
          + "".join(f"{code},c{code},{code % 7},1,{code // 2},0\n"
                    for code in (0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 100)))


@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")
def test_stocks_bar_on_a_terminal_only(tmp_path: Path) -> None:
    """``landcarbon stocks``: a bar over its pass through the rasters, on a terminal only."""
    pools = tmp_path / "pools.csv"
    pools.write_text(_POOLS, encoding="utf-8")
    raster = str(SAMPLE / "landcover_2023.tif")
    args = ["stocks", str(pools), raster, raster, "-y", "2015", "-y", "2025", "-o",
            str(tmp_path / "stocks"), "--overwrite"]
    assert "carbon stocks" in _stderr(args, tty=True)
    assert "carbon stocks" not in _stderr(args, tty=False)


def test_step_timings_when_verbose(tmp_path: Path) -> None:
    assert "step " not in _run(tmp_path, tty=False)
    verbose = _run(tmp_path, "--debug", tty=False)
    for name in ("read", "zonal", "balance_and_risk", "write outputs"):
        assert f"step {name}" in verbose


def test_verbosity_after_the_command_name(tmp_path: Path) -> None:
    """``-q`` / ``-v`` / ``--debug`` after the command's name do what they do before it; the
    counts add up (``-v run ... -q`` is the default)."""
    config = str(_config(tmp_path))
    out = ["-o", str(tmp_path / "out"), "--overwrite"]
    quiet = _stderr(["run", config, *out, "-q"], tty=True)
    assert quiet.strip() == ""
    verbose = _stderr(["run", config, *out, "-v"], tty=False)
    for name in ("read", "zonal", "balance_and_risk", "write outputs"):
        assert f"step {name}" in verbose
    both = _stderr(["-v", "run", config, *out, "-q"], tty=False)
    assert "step " not in both and "finished in" in both
    debug = subprocess.run([sys.executable, "-m", "landcarbon.cli", "run",
                            str(tmp_path / "missing.toml"), "--debug"],
                           capture_output=True, text=True, timeout=300)
    assert debug.returncode == 1 and "Traceback" in debug.stderr
    plain = subprocess.run([sys.executable, "-m", "landcarbon.cli", "run",
                            str(tmp_path / "missing.toml")], capture_output=True, text=True,
                           timeout=300)
    assert plain.returncode == 1 and "Traceback" not in plain.stderr


def test_step_records_and_logs(caplog: pytest.LogCaptureFixture) -> None:
    timings: dict[str, float] = {}
    try:
        progress.set_verbosity(2)
        with caplog.at_level("INFO", logger="landcarbon.steps"), progress.step("x", timings):
            pass
        assert "step x" in caplog.text and timings["x"] >= 0
        progress.set_verbosity(1)
        caplog.clear()
        with progress.step("y"):
            pass
        assert "step y" not in caplog.text
    finally:
        progress.set_verbosity(1)
    assert progress.bar([1, 2], "d") == [1, 2]  # pytest's stderr is no terminal


@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")
def test_publication_and_monte_carlo_bars_on_a_terminal_only(tmp_path: Path) -> None:
    """``landcarbon zone`` of the sample (every zoning section, Monte Carlo included) with its
    map: a bar over the Monte Carlo blocks and one over the publication's stages, on a
    terminal only, never with -q."""
    config = _config(tmp_path)
    config.write_text(config.read_text(encoding="utf-8").replace("map = false", "map = true")
                      + "\n[uncertainty]\ndraws = 200\n", encoding="utf-8")
    args = ["zone", str(config), "-o", str(tmp_path / "zoned"), "--overwrite"]
    on_tty = _stderr(args, tty=True)
    assert "Monte Carlo" in on_tty and "block" in on_tty
    assert "map, report, figures" in on_tty and "stage" in on_tty
    piped = _stderr(args, tty=False)
    assert "Monte Carlo" not in piped and "map, report, figures" not in piped
    assert "\r" not in piped
    quiet = _stderr(["-q", *args], tty=True)
    assert quiet.strip() == ""
