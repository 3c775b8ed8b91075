"""Issue 13, data loss: ``--overwrite`` replaces only what landcarbon wrote, never an input;
one writer per output; a batch is resumable. Every case runs the real CLI in a subprocess
and checks the exit code, the cause named in the message, no traceback, nothing half-written
left and every input unchanged (SHA-256 before and after)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from _trust import cli, leftovers, project, refused, start, sums
from shapely.geometry import box

from landcarbon.accounting.risk import risk_levels
from landcarbon.io.locks import output_lock
from landcarbon.io.ownership import MARKER

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample_tiles"


@pytest.fixture
def proj(tmp_path: Path) -> Path:
    """tmp/proj: the inputs, the config and the planner's notes.txt."""
    config = project(tmp_path / "proj")
    (config.parent / "notes.txt").write_text("field notes, not a landcarbon file\n")
    return config


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished (light) run folder to copy: tmp/out next to its project tmp/p."""
    d = tmp_path_factory.mktemp("finished")
    res = cli("run", project(d / "p"), "-o", d / "out")
    assert res.returncode == 0, res.stderr
    return d / "out"


def _copy_run(finished: Path, dest: Path) -> Path:
    shutil.copytree(finished, dest)
    return dest


# --- never delete inputs ----------------------------------------------------------------

@pytest.mark.parametrize("target", ["proj", ".", "proj/../proj", "{tmp}"])
def test_run_overwrite_onto_the_project_or_its_parent_deletes_nothing(
        proj: Path, tmp_path: Path, target: str) -> None:
    before = sums(tmp_path)
    res = cli("run", proj, "-o", target.format(tmp=tmp_path), "--overwrite", cwd=tmp_path)
    refused(res, "input of this run", "never replaces or deletes")
    assert sums(tmp_path) == before and leftovers(tmp_path) == []


@pytest.mark.parametrize("command", [["zone"], ["sweep", "--steps", "3"], ["batch"]])
def test_other_commands_onto_the_project_delete_nothing(proj: Path, tmp_path: Path,
                                                         command: list[str]) -> None:
    before = sums(tmp_path)
    res = cli(command[0], proj, *command[1:], "-o", proj.parent, "--overwrite")
    refused(res, str(proj.parent.name))
    assert ("input of this run" in res.stderr or "did not write" in res.stderr)
    assert sums(tmp_path) == before and leftovers(tmp_path) == []


@pytest.mark.parametrize("command", ["change", "scenario"])
def test_change_and_scenario_onto_their_inputs_delete_nothing(tmp_path: Path,
                                                              command: str) -> None:
    sample = tmp_path / "sample"
    shutil.copytree(SAMPLE, sample, ignore=shutil.ignore_patterns("*.py"))
    before = sums(tmp_path)
    res = cli(command, sample / "demo_change.toml", "-o", sample, "--overwrite")
    refused(res, "input of this run", "carbon_pools_esa_worldcover.csv")
    assert sums(tmp_path) == before and leftovers(tmp_path) == []


def test_demo_onto_a_folder_of_the_user_deletes_nothing(tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.docx").write_bytes(b"PK\x03\x04 not landcarbon")
    res = cli("demo", mine, "--overwrite")
    refused(res, "not written by landcarbon", "thesis.docx", "even with --overwrite")
    assert (mine / "thesis.docx").read_bytes() == b"PK\x03\x04 not landcarbon"
    assert leftovers(tmp_path) == []


def test_folder_of_unrelated_files_is_never_replaced(proj: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    (other / "photos").mkdir(parents=True)
    (other / "photos" / "a.jpg").write_bytes(b"\xff\xd8jpeg")
    (other / "notes.txt").write_text("x")
    before = sums(tmp_path)
    res = cli("run", proj, "-o", other, "--overwrite")
    refused(res, "not written by landcarbon", "notes.txt", "photos")
    assert sums(tmp_path) == before and leftovers(tmp_path) == []


@pytest.mark.parametrize("added", ["notes.txt", "mine/draft.xlsx", ".hidden_notes"])
def test_landcarbon_folder_with_a_file_added_by_hand_is_not_replaced(
        proj: Path, tmp_path: Path, finished: Path, added: str) -> None:
    out = _copy_run(finished, tmp_path / "out")
    (out / added).parent.mkdir(exist_ok=True)
    (out / added).write_text("mine")
    before = sums(tmp_path)
    res = cli("run", proj, "-o", out, "--overwrite")
    refused(res, "landcarbon did not write", added.split("/")[0])
    assert sums(tmp_path) == before and leftovers(tmp_path) == []


@pytest.mark.parametrize("added", ["figures/my_annotated.png", "figures/drafts/x.txt",
                                   "figures/drafts"])
def test_a_file_added_inside_a_sub_folder_of_an_output_is_not_deleted(
        tmp_path: Path, added: str) -> None:
    """The marker names every file of the folder's sub-folders (figures/...): one added by
    hand at any depth refuses --overwrite, and the figures of a map drawn later into the
    folder are landcarbon's."""
    config = project(tmp_path / "p", light=False)
    out = tmp_path / "out"
    assert cli("run", config, "-o", out).returncode == 0
    assert cli("map", out, "--overwrite").returncode == 0  # redraws map, report, figures
    marker = json.loads((out / MARKER).read_text())
    assert marker["files"] and all(f.startswith("figures/") for f in marker["files"])
    res = cli("run", config, "-o", out, "--overwrite")  # nothing added: replaced
    assert res.returncode == 0, res.stderr
    path = out / added
    if added.endswith("drafts"):
        path.mkdir(parents=True)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("mine")
    before = sums(tmp_path)
    res = cli("run", config, "-o", out, "--overwrite")
    refused(res, "landcarbon did not write", added)
    assert sums(tmp_path) == before and leftovers(tmp_path) == [] and path.exists()


def test_a_map_redrawn_into_the_folder_does_not_adopt_a_users_figure(tmp_path: Path) -> None:
    """``landcarbon map`` records only the files it writes: a figure the user put into
    figures/ before it still refuses the next --overwrite."""
    config = project(tmp_path / "p", light=False)
    out = tmp_path / "out"
    assert cli("run", config, "-o", out).returncode == 0
    mine = out / "figures" / "mine.png"
    mine.write_text("mine")
    assert cli("map", out, "--overwrite").returncode == 0
    assert "figures/mine.png" not in json.loads((out / MARKER).read_text())["files"]
    res = cli("run", config, "-o", out, "--overwrite")
    refused(res, "landcarbon did not write", "figures/mine.png")
    assert mine.read_text() == "mine"


def test_an_output_of_an_older_version_keeps_its_sub_folders_replaceable(
        tmp_path: Path) -> None:
    """A marker written before markers named the files in sub-folders: its figures/ is
    taken as landcarbon's, as that version did."""
    config = project(tmp_path / "p", light=False)
    out = tmp_path / "out"
    assert cli("run", config, "-o", out).returncode == 0
    marker = json.loads((out / MARKER).read_text())
    del marker["files"]
    (out / MARKER).write_text(json.dumps(marker))
    res = cli("run", config, "-o", out, "--overwrite")
    assert res.returncode == 0, res.stderr


def test_landcarbon_folder_is_replaced_with_overwrite(proj: Path, tmp_path: Path,
                                                      finished: Path) -> None:
    out = _copy_run(finished, tmp_path / "out")
    proj.write_text(proj.read_text().replace('title = "t"', 'title = "second"'))
    before = sums(proj.parent)
    res = cli("run", proj, "-o", out)
    refused(res, "--overwrite", str(out))
    res = cli("run", proj, "-o", out, "--overwrite")
    assert res.returncode == 0, res.stderr
    assert json.loads((out / "run.json").read_text())["config"]["title"] == "second"
    marker = json.loads((out / MARKER).read_text())
    assert marker["landcarbon_output"] == "run" and "run.json" in marker["entries"]
    assert sums(proj.parent) == before and leftovers(tmp_path) == []


def test_output_that_is_a_symbolic_link_is_not_followed(proj: Path, tmp_path: Path,
                                                        finished: Path) -> None:
    real = _copy_run(finished, tmp_path / "real")
    (tmp_path / "link").symlink_to(real, target_is_directory=True)
    before = sums(real)
    res = cli("run", proj, "-o", tmp_path / "link", "--overwrite")
    refused(res, "symbolic link")
    assert sums(real) == before and (tmp_path / "link").is_symlink()


def test_config_kept_inside_a_previous_output_is_not_deleted(tmp_path: Path,
                                                             finished: Path) -> None:
    out = _copy_run(finished, tmp_path / "out")
    src = project(tmp_path / "p")
    text = src.read_text()
    for name in ("lc.tif", "u.gpkg", "energy.csv"):
        text = text.replace(f'"{name}"', json.dumps(str(src.parent / name)))
    (out / "again.toml").write_text(text)
    before = sums(tmp_path)
    res = cli("run", out / "again.toml", "-o", out, "--overwrite")
    refused(res, "input of this run")
    assert sums(tmp_path) == before


@pytest.mark.parametrize("form", ["path", "file URL", "file URL, localhost"])
def test_raster_of_a_previous_run_used_as_input_is_not_deleted(tmp_path: Path,
                                                                form: str) -> None:
    first = project(tmp_path / "p", light=False)
    out = tmp_path / "out"
    assert cli("run", first, "-o", out).returncode == 0
    second = tmp_path / "p" / "second.toml"
    raster = (out / "land_class.tif").as_posix()
    given = {"path": raster, "file URL": "file://" + raster,
             "file URL, localhost": "file://localhost" + raster}[form]
    second.write_text(first.read_text().replace('"lc.tif"', json.dumps(given)))
    before = sums(tmp_path)
    res = cli("run", second, "-o", out, "--overwrite")
    refused(res, "land_class.tif", "input of this run")
    assert sums(tmp_path) == before


def test_empty_existing_folder_is_used(proj: Path, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    before = sums(proj.parent)
    res = cli("run", proj, "-o", tmp_path / "empty")
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "empty" / "run.json").is_file()
    assert sums(proj.parent) == before and leftovers(tmp_path) == []


def test_portal_never_replaces_an_index_html_it_did_not_write(tmp_path: Path,
                                                              finished: Path) -> None:
    ws = tmp_path / "ws"
    _copy_run(finished, ws / "r1")
    (ws / "index.html").write_text("<h1>our intranet home page</h1>")
    res = cli("portal", ws)
    refused(res, "index.html", "not written by landcarbon")
    assert (ws / "index.html").read_text() == "<h1>our intranet home page</h1>"
    (ws / "index.html").unlink()
    assert cli("portal", ws).returncode == 0
    res = cli("portal", ws, "--language", "en")  # its own index is rebuilt
    assert res.returncode == 0, res.stderr
    assert leftovers(ws) == []


# --- one writer at a time -----------------------------------------------------------------

def test_two_runs_started_at_once_never_replace_each_other(proj: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    before = sums(proj.parent)
    procs = [start("run", proj, "-o", out) for _ in range(2)]
    results = [(p.wait(timeout=300), p.communicate()[1]) for p in procs]
    codes = sorted(code for code, _ in results)
    assert codes == [0, 1], results
    err = next(e for code, e in results if code == 1)
    assert "Traceback" not in err
    assert "being written by another landcarbon run" in err or "already exists" in err, err
    assert json.loads((out / "run.json").read_text())["totals"]["units"] == 2
    assert sums(proj.parent) == before and leftovers(tmp_path) == []


def test_two_overwrites_at_once_are_serialised_or_refused(proj: Path, tmp_path: Path,
                                                          finished: Path) -> None:
    out = _copy_run(finished, tmp_path / "out")
    procs = [start("run", proj, "-o", out, "--overwrite") for _ in range(3)]
    results = [(p.wait(timeout=300), p.communicate()[1]) for p in procs]
    assert 0 in [c for c, _ in results], results
    for code, err in results:
        assert "Traceback" not in err
        assert code == 0 or "being written by another landcarbon run" in err, err
    assert json.loads((out / "run.json").read_text())["totals"]["units"] == 2
    assert leftovers(tmp_path) == []


def test_lock_held_by_a_live_process_refuses_and_names_it(proj: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    with output_lock(out):
        res = cli("run", proj, "-o", out)
    refused(res, "being written by another landcarbon run", f"process {os.getpid()}")
    assert not out.exists() and leftovers(tmp_path) == []


def test_stale_lock_of_a_dead_process_is_taken_over(proj: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    (tmp_path / ".out.lock").write_text("999999 elsewhere 2020-01-01T00:00:00\n")
    res = cli("run", proj, "-o", out)
    assert res.returncode == 0, res.stderr
    assert (out / "run.json").is_file() and leftovers(tmp_path) == []


def test_a_file_of_the_user_where_the_lock_goes_is_kept(proj: Path, tmp_path: Path) -> None:
    """A file named like the lock (``.out.lock``) that landcarbon did not write is never
    truncated nor deleted: the run is refused and names it. The same name inside an output
    folder is the user's file too: --overwrite refuses that folder."""
    out = tmp_path / "out"
    mine = tmp_path / ".out.lock"
    mine.write_text("my notes\n")
    refused(cli("run", proj, "-o", out), ".out.lock", "did not write")
    assert mine.read_text() == "my notes\n" and not out.exists()
    mine.unlink()
    assert cli("run", proj, "-o", out).returncode == 0
    (out / ".units.csv.lock").write_text("my notes\n")
    refused(cli("run", proj, "-o", out, "--overwrite"), ".units.csv.lock")
    assert (out / ".units.csv.lock").read_text() == "my notes\n"


def test_two_batches_into_one_folder_at_once(proj: Path, tmp_path: Path) -> None:
    out = tmp_path / "b"
    procs = [start("batch", proj, "-o", out) for _ in range(2)]
    results = [(p.wait(timeout=300), p.communicate()[1]) for p in procs]
    assert 0 in [c for c, _ in results], results
    for code, err in results:
        assert "Traceback" not in err
        assert code == 0 or "being written by another landcarbon run" in err, err
    summary = pd.read_csv(out / "summary.csv", encoding="utf-8-sig")
    assert summary["status"].isin(["ok", "up_to_date"]).all()
    assert leftovers(tmp_path) == []


# --- batch: resumable, fixed summary --------------------------------------------------------

def _regions(proj: Path) -> Path:
    path = proj.parent / "counties.gpkg"
    gpd.GeoDataFrame({"county": ["West", "East"]},
                     geometry=[box(499990, 3849950, 500015, 3850010),
                               box(500015, 3849950, 500050, 3850010)],
                     crs="EPSG:32649").to_file(path)
    return path


def _summary(out: Path) -> tuple[pd.DataFrame, str]:
    text = (out / "summary.csv").read_text(encoding="utf-8-sig")
    return pd.read_csv(out / "summary.csv", encoding="utf-8-sig"), text


def test_region_batch_rerun_is_up_to_date_and_keeps_totals(proj: Path, tmp_path: Path) -> None:
    regions = _regions(proj)
    out = tmp_path / "b"
    before = sums(proj.parent)
    first = cli("batch", proj, "--regions", regions, "--region-field", "county", "-o", out)
    assert first.returncode == 0, first.stderr
    s1, _ = _summary(out)
    again = cli("batch", proj, "--regions", regions, "--region-field", "county", "-o", out)
    assert again.returncode == 0, again.stderr
    s2, _ = _summary(out)
    assert s1["status"].tolist() == ["ok", "ok"]
    assert s2["status"].tolist() == ["up_to_date", "up_to_date"]
    cols = ["run", "units", "covered_ha", "net_tc", "emission_tc", "sequestration_tc"]
    pd.testing.assert_frame_equal(s1[cols], s2[cols])
    assert s2["units"].tolist() == [1, 1]
    assert sums(proj.parent) == before and leftovers(tmp_path) == []


def test_config_batch_rerun_is_up_to_date_and_keeps_totals(proj: Path, tmp_path: Path) -> None:
    second = proj.parent / "second.toml"
    second.write_text(proj.read_text().replace('title = "t"', 'title = "2"'))
    out = tmp_path / "b"
    assert cli("batch", proj, second, "-o", out).returncode == 0
    s1, _ = _summary(out)
    res = cli("batch", proj, second, "-o", out)
    assert res.returncode == 0, res.stderr
    s2, _ = _summary(out)
    assert s2["status"].tolist() == ["up_to_date", "up_to_date"]
    for col in ("units", "net_tc", "covered_ha"):
        assert s2[col].tolist() == s1[col].tolist()
        assert s2[col].notna().all()


def test_summary_has_integer_counts_zeros_and_every_risk_level(proj: Path,
                                                                tmp_path: Path) -> None:
    broken = proj.parent / "broken.toml"
    broken.write_text(proj.read_text().replace('"lc.tif"', '"missing.tif"'))
    out = tmp_path / "b"
    res = cli("batch", proj, broken, "-o", out)
    assert res.returncode == 1 and "1 of 2 run(s) failed: broken" in res.stderr
    table, text = _summary(out)
    levels = [f"units_{k}" for k in risk_levels().index]
    assert set(levels) <= set(table.columns)
    assert table.columns[:3].tolist() == ["run", "status", "seconds"]
    assert table.columns[-2:].tolist() == ["out_dir", "error"]
    ok = table[table["status"] == "ok"].iloc[0]
    assert sum(int(ok[c]) for c in levels) == int(ok["units"]) == 2
    assert 0 in [int(ok[c]) for c in levels]  # a level without units: 0, not blank
    row = text.splitlines()[1].split(",")
    header = text.splitlines()[0].split(",")
    for col in ["units", *levels]:
        assert row[header.index(col)].isdigit(), (col, row)  # 2, not 2.000000
    failed = table[table["status"] == "failed"].iloc[0]
    assert "missing.tif" in failed["error"] and pd.isna(failed["units"])


def test_batch_into_a_folder_of_the_user_is_refused(proj: Path, tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "summary.csv").write_text("my,own,table\n1,2,3\n")
    res = cli("batch", proj, "-o", mine)
    refused(res, "summary.csv", "landcarbon did not write")
    assert (mine / "summary.csv").read_text() == "my,own,table\n1,2,3\n"
    assert sorted(os.listdir(mine)) == ["summary.csv"]


def test_local_inputs_behind_urls_and_gdal_paths_are_known(tmp_path: Path) -> None:
    """What protects inputs from an output folder (and fingerprints them): a ``file://`` URL
    and the archive a GDAL ``/vsizip/`` path reads are local files; remote data is not."""
    from landcarbon.io.fingerprint import _local_name

    archive = tmp_path / "tiles.zip"
    archive.write_bytes(b"PK")
    assert _local_name(f"/vsizip/{archive}/lc.tif") == str(archive)
    assert _local_name("/vsizip//vsicurl/https://example.org/a.zip/lc.tif") is None
    assert _local_name("file:///data/lc%20one.tif") == "/data/lc one.tif"
    assert _local_name("file://server/share/lc.tif") is None
    for remote in ("https://example.org/lc.tif", "/vsicurl/https://example.org/lc.tif",
                   "/vsis3/bucket/lc.tif", f"/vsizip/{tmp_path}/missing.zip/lc.tif"):
        assert _local_name(remote) is None
    assert _local_name("lc.tif") == "lc.tif"


@pytest.mark.parametrize("ids, energy_ids", [(["W ", " E"], ["W", "E"]),
                                             ([1.0, 2.0], ["1", "2"]),
                                             (["W", "E"], [" W", "E "])])
def test_unit_ids_are_read_alike_by_the_checks_the_run_and_the_tables(
        tmp_path: Path, ids: list[object], energy_ids: list[str]) -> None:
    """Blanks around ids and whole-number ids stored as decimals are read the same way by
    validate, the run and the energy table: validate passes and the run joins every unit's
    energy (before, validate passed and the run refused, or the reverse)."""
    import geopandas as gpd

    cfg = project(tmp_path / "p")
    units = gpd.read_file(tmp_path / "p" / "u.gpkg")
    units["code"] = ids
    units.to_file(tmp_path / "p" / "u.gpkg")
    (tmp_path / "p" / "energy.csv").write_text(
        f"unit_id,raw_coal_t\n{energy_ids[0]},10\n{energy_ids[1]},25.5\n", encoding="utf-8")
    assert cli("validate", cfg).returncode == 0
    res = cli("run", cfg, "-o", tmp_path / "out")
    assert res.returncode == 0, res.stderr
    table = pd.read_csv(tmp_path / "out" / "units.csv", dtype={"unit_id": str})
    assert sorted(table["unit_id"]) == sorted(str(i).strip() for i in energy_ids)
    assert (table["construction_emission_tc"] > 0).all()


def test_the_working_folder_and_a_zoned_run_are_never_replaced(proj: Path,
                                                                tmp_path: Path) -> None:
    """``run ... -o . --overwrite`` from inside an output folder, and ``zone RUN -o RUN
    --overwrite`` (the run folder it reads), are refused: nothing replaced."""
    out = tmp_path / "out"
    assert cli("run", proj, "-o", out).returncode == 0
    before = sums(out)
    refused(cli("run", proj, "-o", ".", "--overwrite", cwd=out), "folder this command runs in")
    assert sums(out) == before
    refused(cli("zone", out, "-o", out, "--overwrite"), "input of this run")
    assert sums(out) == before and leftovers(tmp_path) == []


def test_energy_of_a_unit_without_construction_land_is_its_construction_space_net(
        tmp_path: Path) -> None:
    """Energy charged to units of forest alone (no construction land to spread it over) is
    in their construction space's net: the space types' nets add up to each unit's net, and
    run.json's nets by space type to the total."""
    import json

    import numpy as np
    from conftest import write_tif

    cfg = project(tmp_path / "p")
    write_tif(tmp_path / "p" / "lc.tif", np.full((4, 4), 10, np.uint8))
    assert cli("run", cfg, "-o", tmp_path / "out").returncode == 0
    units = pd.read_csv(tmp_path / "out" / "units.csv")
    spaces = units[[f"net_{s}_tc" for s in ("agricultural", "construction",
                                              "ecological")]].fillna(0).sum(axis=1)
    assert (units["construction_emission_tc"] > 0).all()
    np.testing.assert_allclose(spaces, units["net_tc"], atol=1e-6)
    np.testing.assert_allclose(units["net_construction_tc"],
                               units["construction_emission_tc"], atol=1e-6)
    run = json.loads((tmp_path / "out" / "run.json").read_text(encoding="utf-8"))
    by_space = run["settings"]["cropland"]["by_space_type"]
    assert abs(sum(v["net_tc"] for v in by_space.values()) - run["totals"]["net_tc"]) < 1e-6


def test_a_copied_manifest_never_makes_a_users_folder_landcarbons(tmp_path: Path,
                                                                   finished: Path) -> None:
    """A folder of one's own holding a copy of a run's run.json and units.gpkg, and one's
    own report.html and figures: `map --overwrite` took it over (and wrote a marker listing
    every text of run.json, after which `run --overwrite` deleted files named like them).
    Both are refused; every file is kept."""
    share = tmp_path / "share"
    (share / "figures").mkdir(parents=True)
    for name in ("run.json", "units.gpkg"):
        shutil.copy(finished / name, share / name)
    for name in ("report.html", "map.html", "figures/map_risk_level.png", "index.html"):
        (share / name).write_text("mine", encoding="utf-8")
    before = sums(share)
    refused(cli("map", share, "--overwrite"), "no landcarbon marker", str(share))
    assert sums(share) == before and not (share / MARKER).exists()
    config = project(tmp_path / "p")
    refused(cli("run", config, "-o", share, "--overwrite"), "not written by landcarbon")
    assert sums(share) == before


def test_overwrite_keeps_another_output_kept_inside_the_folder(tmp_path: Path) -> None:
    """`run -o r1/nested` then `run -o r1 --overwrite`: the nested run is not r1's own (it
    was deleted silently); a batch is never written into a run folder (it merged into it)."""
    config = project(tmp_path / "p")
    r1 = tmp_path / "r1"
    assert cli("run", config, "-o", r1).returncode == 0
    assert cli("run", config, "-o", r1 / "nested").returncode == 0
    before = sums(r1)
    refused(cli("run", config, "-o", r1, "--overwrite"), "nested", "landcarbon did not write")
    assert sums(r1) == before
    refused(cli("batch", config, "-o", r1 / "nested", "--overwrite"),
            "holds the output of `landcarbon run`, not a batch")
    assert sums(r1) == before
