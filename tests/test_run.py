"""End to end: config -> run -> output folder; the CLI's exit codes and messages."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import rasterio
from click.testing import CliRunner
from conftest import GRID4_RUN_CONFIG

import landcarbon as lc
from landcarbon.accounting.legends import land_classes
from landcarbon.cli import main

CONFIG = 'title = "tiny <b>test</b>"\nlanguage = "en"\n' + GRID4_RUN_CONFIG + """[output]
map_tiles = ""
"""


@pytest.fixture
def project(tmp_path: Path, grid4_tif: Path, halves_gpkg: Path) -> Path:
    (tmp_path / "run.toml").write_text(CONFIG, encoding="utf-8")
    return tmp_path / "run.toml"


def test_run_writes_every_output(project: Path, tmp_path: Path) -> None:
    before = {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()}
    result = lc.run(lc.load_config(project), tmp_path / "out")
    out = tmp_path / "out"
    for name in ("units.gpkg", "units.csv", "class_areas.csv", "land_class.tif",
                 "space_type.tif", "net_flux.tif", "map.html", "run.json"):
        assert (out / name).is_file(), name
    units = gpd.read_file(out / "units.gpkg", layer="units").set_index("unit_id")
    assert units.loc["W", "unit_name"] == "西单元"
    assert units.loc["W", "net_tc_per_ha"] == pytest.approx((0.01266 + 1.25) / 0.055)
    assert units.loc["W", "space_type"] == "agricultural"  # 0.03 vs 0.025 ha
    assert units.loc["W", "risk_level"] == "severe"  # 22.96 > 0.422 + 0.5 x 0.422
    csv = pd.read_csv(out / "units.csv", encoding="utf-8-sig", dtype={"unit_id": str})
    assert list(csv["unit_id"]) == ["W", "E"]
    manifest = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert manifest["settings"]["cropland_mode"] == "source"
    assert manifest["settings"]["construction"]["method"] == "intensity"
    assert manifest["totals"]["covered_ha"] == pytest.approx(0.15)
    assert set(manifest["inputs_sha256"]) >= {str(tmp_path / "grid4.tif")}
    with rasterio.open(out / "net_flux.tif") as src:
        assert src.tags()["units"] == "t C ha-1 yr-1"
        assert src.profile["tiled"]
        assert "LAYOUT=COG" in " ".join(
            f"{k}={v}" for k, v in src.tags(ns="IMAGE_STRUCTURE").items()) or src.overviews(1) \
            is not None
    with rasterio.open(out / "land_class.tif") as src:
        assert src.colormap(1)[list(land_classes().index).index("cropland") + 1][:3] != (0, 0,
                                                                                         0)
    assert result.files["map"] == "map.html"
    # inputs untouched, no staging folder left
    assert {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir() if p.name in before} == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]


def test_existing_output_needs_overwrite(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    lc.run(lc.load_config(project), out)
    cfg = lc.load_config(project)
    changed = cfg.model_copy(update={"title": "changed"})
    with pytest.raises(lc.OutputExistsError, match="--overwrite"):
        lc.run(changed, out)
    lc.run(changed, out, overwrite=True)
    assert json.loads((out / "run.json").read_text())["config"]["title"] == "changed"
    # a file landcarbon did not write is never deleted, not even with overwrite
    (out / "keep.txt").write_text("x")
    with pytest.raises(lc.OutputExistsError, match=r"keep\.txt"):
        lc.run(cfg, out, overwrite=True)
    assert (out / "keep.txt").read_text() == "x"


def test_failed_run_leaves_nothing(project: Path, tmp_path: Path) -> None:
    text = project.read_text().replace('legend = "esa_worldcover"', 'legend = "clcd"')
    project.write_text(text)
    with pytest.raises(lc.UnmappedCodesError):
        lc.run(lc.load_config(project), tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert not [p for p in tmp_path.iterdir() if "partial" in p.name]


def test_tables_are_reproducible(project: Path, tmp_path: Path) -> None:
    lc.run(lc.load_config(project), tmp_path / "a")
    lc.run(lc.load_config(project), tmp_path / "b")
    for name in ("units.csv", "class_areas.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_config_errors_list_every_problem(tmp_path: Path) -> None:
    (tmp_path / "c.toml").write_text(
        '[landcover]\npath = "x.tif"\nlegnd = "clcd"\n[units]\npath = "u.gpkg"\n'
        '[coefficients]\noutput_unit = "kg"\n[thresholds]\nagricultural = "high"\n')
    with pytest.raises(lc.ConfigError) as err:
        lc.load_config(tmp_path / "c.toml")
    problems = err.value.problems
    assert any("legnd" in p and "did you mean 'legend'" in p for p in problems)
    assert any("output_unit" in p for p in problems)
    assert any("agricultural" in p for p in problems)


def test_cli_exit_codes(project: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(main, ["run", str(project), "-o", str(tmp_path / "o")])
    assert ok.exit_code == 0, ok.output
    assert "map.html" in ok.output
    again = runner.invoke(main, ["run", str(project), "-o", str(tmp_path / "o")])
    assert again.exit_code == 0 and "up to date" in again.output  # nothing changed
    project.write_text(project.read_text().replace("tiny", "small"))
    again = runner.invoke(main, ["run", str(project), "-o", str(tmp_path / "o")])
    assert again.exit_code == 1 and "--overwrite" in again.output
    assert "Traceback" not in again.output
    usage = runner.invoke(main, ["run"])
    assert usage.exit_code == 2
    missing = runner.invoke(main, ["validate", str(tmp_path / "none.toml")])
    assert missing.exit_code == 1 and "does not exist" in missing.output
    good = runner.invoke(main, ["validate", str(project)])
    assert good.exit_code == 0, good.output


def test_validate_lists_all_problems(project: Path, tmp_path: Path) -> None:
    text = (project.read_text().replace('legend = "esa_worldcover"', 'legend = "clcd"')
            .replace('id_field = "code"', 'id_field = "kode"'))
    project.write_text(text)
    result = CliRunner().invoke(main, ["validate", str(project)])
    assert result.exit_code == 1
    assert "kode" in result.output and "does not map" in result.output
    assert "2 error(s)" in result.output


def test_cli_subprocess_no_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[landcover\n")
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    proc = subprocess.run([sys.executable, "-m", "landcarbon.cli", "run", str(bad)],
                          capture_output=True, text=True, env=env, check=False)
    assert proc.returncode == 1
    assert "not valid TOML" in proc.stderr and "Traceback" not in proc.stderr
    debug = subprocess.run([sys.executable, "-m", "landcarbon.cli", "--debug", "run", str(bad)],
                           capture_output=True, text=True, env=env, check=False)
    assert debug.returncode == 1 and "Traceback" in debug.stderr


def test_legends_and_coefficients_commands() -> None:
    runner = CliRunner()
    r = runner.invoke(main, ["legends"])
    assert r.exit_code == 0 and "esa_worldcover" in r.output and "corine" in r.output
    r = runner.invoke(main, ["legends", "esa_worldcover"])
    assert r.exit_code == 0 and "construction" in r.output
    r = runner.invoke(main, ["coefficients", "lai2010"])
    assert r.exit_code == 0 and "+0.422" in r.output and "indirect" in r.output
    r = runner.invoke(main, ["legends", "nope"])
    assert r.exit_code == 1 and "Built-in legends" in r.output


def test_demo_finds_the_sample_tiles_from_any_folder(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from landcarbon.cli._core import _sample_dir

    monkeypatch.chdir(tmp_path)  # no data/sample_tiles below the current folder
    assert (_sample_dir() / "demo.toml").is_file()
    assert (_sample_dir() / "landcover_2023.tif").is_file()
