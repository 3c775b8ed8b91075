"""`landcarbon batch`: many configs, one config over regions, failures, summary.csv."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from click.testing import CliRunner
from conftest import write_tif
from shapely.geometry import box

from landcarbon.cli import main
from landcarbon.config.run import load_config
from landcarbon.pipeline import batch_regions, run

X0, Y0 = 500000, 3850000  # top-left of the 40 x 40 raster of 10 m cells


def _setup(tmp_path: Path) -> Path:
    rng = np.random.default_rng(3)
    codes = rng.choice(np.array([10, 30, 40, 50, 80], dtype=np.uint8), (40, 40))
    write_tif(tmp_path / "lc.tif", codes, nodata=0)
    # 4 units of 200 x 200 m (2 x 2 layout), the eastern ones shifted by half a cell
    geoms = [box(X0 + 200 * i + 5 * i, Y0 - 200 * (j + 1), X0 + 200 * (i + 1), Y0 - 200 * j)
             for i in range(2) for j in range(2)]
    gpd.GeoDataFrame({"code": ["W1", "W2", "E1", "E2"], "name": ["西1", "西2", "东1", "东2"]},
                     geometry=geoms, crs="EPSG:32649").to_file(tmp_path / "units.gpkg")
    gpd.GeoDataFrame({"county": ["West", "East"]},
                     geometry=[box(X0 - 50, Y0 - 450, X0 + 195, Y0 + 50),
                               box(X0 + 195, Y0 - 450, X0 + 450, Y0 + 50)],
                     crs="EPSG:32649").to_file(tmp_path / "counties.gpkg")
    cfg = tmp_path / "prov.toml"
    cfg.write_text(
        'title = "省"\n[landcover]\npath = "lc.tif"\n\n'
        '[units]\npath = "units.gpkg"\nid_field = "code"\nname_field = "name"\n\n'
        '[construction]\nmethod = "intensity"\nintensity_tc_per_ha = 15.0\n\n'
        '[thresholds]\npreset = "strict_median"\n\n[output]\nmap = false\n', encoding="utf-8")
    return cfg


def test_many_configs_continue_past_failure(tmp_path: Path) -> None:
    cfg = _setup(tmp_path)
    broken = tmp_path / "broken.toml"
    broken.write_text(cfg.read_text(encoding="utf-8").replace('"lc.tif"', '"missing.tif"'),
                      encoding="utf-8")
    second = tmp_path / "again.toml"
    second.write_text(cfg.read_text(encoding="utf-8"), encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["batch", str(cfg), str(broken), str(second),
                                       "-o", str(out)])
    assert result.exit_code == 1
    assert "1 of 3 run(s) failed: broken" in result.output
    summary = pd.read_csv(out / "summary.csv")
    assert summary["run"].tolist() == ["prov", "broken", "again"]
    assert summary["status"].tolist() == ["ok", "failed", "ok"]
    assert "missing.tif" in summary.loc[1, "error"]
    assert summary.loc[0, "units"] == 4
    assert summary.loc[0, "net_tc"] == summary.loc[2, "net_tc"]
    assert (out / "prov" / "units.csv").is_file() and (out / "again" / "units.csv").is_file()
    assert not (out / "broken").exists()


def test_regions_equal_the_whole_run(tmp_path: Path) -> None:
    cfg = _setup(tmp_path)
    whole = run(load_config(cfg), tmp_path / "whole").assessment
    assert whole is not None
    res = batch_regions(load_config(cfg), tmp_path / "counties.gpkg", "county",
                        tmp_path / "by_county")
    assert res.ok
    assert sorted(res.summary["run"]) == ["East", "West"]
    parts = pd.concat([pd.read_csv(tmp_path / "by_county" / r / "units.csv")
                       for r in ("West", "East")]).set_index("unit_id").sort_index()
    ref = pd.read_csv(tmp_path / "whole" / "units.csv").set_index("unit_id").sort_index()
    assert parts.index.tolist() == ["E1", "E2", "W1", "W2"]
    for col in ("area_ha", "covered_ha", "emission_tc", "sequestration_tc", "net_tc"):
        np.testing.assert_allclose(parts[col].to_numpy(), ref[col].to_numpy(), rtol=1e-12)
    assert parts.loc["W1", "unit_name"] == "西1"
    # the eastern run reads only its window of the raster (cols 20..40 of 40)
    with rasterio.open(tmp_path / "by_county" / "East" / "land_class.tif") as src:
        assert (src.width, src.height) == (20, 40)
        assert src.transform.c == X0 + 200
    assert res.summary["covered_ha"].sum() == pytest.approx(whole.totals()["covered_ha"],
                                                            rel=1e-12)


def test_region_errors(tmp_path: Path) -> None:
    cfg = _setup(tmp_path)
    out = tmp_path / "o"
    result = CliRunner().invoke(main, ["batch", str(cfg), "--regions",
                                       str(tmp_path / "counties.gpkg"), "--region-field", "nom",
                                       "-o", str(out)])
    assert result.exit_code == 1
    assert "no field 'nom'" in result.output and "county" in result.output
    result = CliRunner().invoke(main, ["batch", str(cfg), str(cfg), "--regions",
                                       str(tmp_path / "counties.gpkg"), "--region-field",
                                       "county"])
    assert result.exit_code == 2  # usage errors
    assert "exactly one CONFIG (got 2)" in result.output
    result = CliRunner().invoke(main, ["batch", str(cfg), "--regions",
                                       str(tmp_path / "counties.gpkg"), "-o", str(out)])
    assert result.exit_code == 2
    assert "--region-field names the field" in result.output and not out.exists()
    # a region without units is a failed run, the others still run
    far = gpd.read_file(tmp_path / "counties.gpkg")
    far.loc[2] = ["Sea", box(X0 + 5000, Y0, X0 + 6000, Y0 + 1000)]
    far.to_file(tmp_path / "counties3.gpkg")
    result = CliRunner().invoke(main, ["batch", str(cfg), "--regions",
                                       str(tmp_path / "counties3.gpkg"), "--region-field",
                                       "county", "-o", str(out)])
    assert result.exit_code == 1
    summary = pd.read_csv(out / "summary.csv").set_index("run")
    assert summary.loc["Sea", "status"] == "failed"
    assert "holds no unit" in summary.loc["Sea", "error"]
    assert (summary.loc[["East", "West"], "status"] == "ok").all()


def test_regions_without_a_name_and_units_in_no_region(tmp_path: Path) -> None:
    """A region feature with no name (NULL or blank) would leave its units out of every run:
    an error naming its row, before any output folder exists; a unit outside every region is
    named in a warning (it is in no run)."""
    cfg = _setup(tmp_path)
    counties = gpd.read_file(tmp_path / "counties.gpkg")
    for blank in (None, " "):
        counties.loc[1, "county"] = blank
        counties.to_file(tmp_path / "nameless.gpkg")
        out = tmp_path / "o"
        result = CliRunner().invoke(main, ["batch", str(cfg), "--regions",
                                           str(tmp_path / "nameless.gpkg"), "--region-field",
                                           "county", "-o", str(out)])
        assert result.exit_code == 1, result.output
        assert "no value in 'county' (rows 2)" in result.output
        assert not out.exists()
    west = gpd.read_file(tmp_path / "counties.gpkg").iloc[[0]]
    west.to_file(tmp_path / "west.gpkg")
    from _trust import warnings_of

    with warnings_of("landcarbon.pipeline._batch") as said:
        res = batch_regions(load_config(cfg), tmp_path / "west.gpkg", "county",
                            tmp_path / "west_only")
    assert res.summary["run"].tolist() == ["West"]
    assert [m for m in said if "2 unit(s) of units.gpkg overlap no region" in m
            and m.endswith("E1, E2")], said


def test_a_unit_whose_point_is_on_a_shared_region_edge_goes_to_the_region_it_overlaps_most(
        ) -> None:
    """A triangle whose representative point (2.5, 5) lies on the vertical edge x = 2.5
    between two regions is within neither (it was left out of every run): it goes to the
    region holding most of it, East (28.125 of its 50 m2; West 21.875)."""
    from shapely.geometry import Polygon

    from landcarbon.pipeline._batch import _region_holders

    units = gpd.GeoDataFrame({"unit_id": ["T", "far"]},
                             geometry=[Polygon([(0, 0), (10, 0), (0, 10)]),
                                       box(100, 100, 110, 110)], crs="EPSG:32649")
    point = units.geometry.representative_point().iloc[0]
    assert (point.x, point.y) == (2.5, 5.0)
    regions = gpd.GeoDataFrame({"county": ["East", "West"]},
                               geometry=[box(2.5, -5, 20, 20), box(-5, -5, 2.5, 20)],
                               crs="EPSG:32649")
    assert _region_holders(units, regions, "county") == [["East"], []]
    swapped = regions.assign(county=["West", "East"]).iloc[::-1]
    assert _region_holders(units, swapped, "county") == [["West"], []]


def test_regions_whose_names_collide_on_disk_keep_their_own_units(tmp_path: Path) -> None:
    """'A/B' and 'A_B' are both A_B as file names: each region's units file (and run folder)
    gets a name of its own, so each run assesses its own units."""
    cfg = _setup(tmp_path)
    gpd.GeoDataFrame({"county": ["A/B", "A_B"]},
                     geometry=[box(X0 - 50, Y0 - 200, X0 + 195, Y0 + 50),  # W1
                               box(X0 - 50, Y0 - 450, X0 + 450, Y0 - 200)],  # W2, E2
                     crs="EPSG:32649").to_file(tmp_path / "clash.gpkg")
    res = batch_regions(load_config(cfg), tmp_path / "clash.gpkg", "county",
                        tmp_path / "by")
    assert res.ok
    assert dict(zip(res.summary["run"], res.summary["units"], strict=True)) == {
        "A/B": 1, "A_B": 2}
    assert sorted(p.name for p in (tmp_path / "by" / "_batch_inputs").glob("*.gpkg")) == [
        "A_B_2_units.gpkg", "A_B_units.gpkg"]


def test_overlapping_regions_are_refused(tmp_path: Path) -> None:
    """A unit whose representative point lies in two regions would be assessed twice (the
    batch's totals then count it twice): an error naming the units and the regions."""
    cfg = _setup(tmp_path)
    gpd.GeoDataFrame({"county": ["West", "East"]},
                     geometry=[box(X0 - 50, Y0 - 450, X0 + 330, Y0 + 50),  # reaches E1, E2
                               box(X0 + 195, Y0 - 450, X0 + 450, Y0 + 50)],
                     crs="EPSG:32649").to_file(tmp_path / "overlap.gpkg")
    result = CliRunner().invoke(main, ["batch", str(cfg), "--regions",
                                       str(tmp_path / "overlap.gpkg"), "--region-field",
                                       "county", "-o", str(tmp_path / "o")])
    assert result.exit_code == 1
    text = " ".join(result.output.split())
    assert "overlap" in text and "E1 in East and West" in text, text
    assert not (tmp_path / "o").exists()


def test_run_folders_never_take_the_batch_folders_own_names(tmp_path: Path) -> None:
    """Regions named like the batch's own entries (summary.csv, _batch_inputs) or like a
    numbered twin of another (a, a, a_2) get folders of their own: every run and the
    summary are written."""
    from landcarbon.pipeline._batch import _unique

    assert _unique(["a", "a", "a_2", "summary.csv", "_batch_inputs", "A"]) == [
        "a", "a_2", "a_2_2", "summary.csv_2", "_batch_inputs_2", "A_3"]
    cfg = _setup(tmp_path)
    gpd.GeoDataFrame({"county": ["summary.csv", "_batch_inputs"]},
                     geometry=[box(X0 - 50, Y0 - 450, X0 + 195, Y0 + 50),
                               box(X0 + 195, Y0 - 450, X0 + 450, Y0 + 50)],
                     crs="EPSG:32649").to_file(tmp_path / "named.gpkg")
    res = batch_regions(load_config(cfg), tmp_path / "named.gpkg", "county", tmp_path / "b")
    assert res.ok and (tmp_path / "b" / "summary.csv").is_file()
    assert (tmp_path / "b" / "summary.csv_2" / "units.csv").is_file()
    assert (tmp_path / "b" / "batch_inputs" / "units.csv").is_file()  # no leading _


def test_regions_with_a_relative_output_folder(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """-o relative to the current folder while the config lies elsewhere: the regions'
    inputs are found (their paths are written absolute)."""
    (tmp_path / "project").mkdir()
    cfg = _setup(tmp_path / "project")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    result = CliRunner().invoke(main, ["batch", str(cfg), "--regions",
                                       str(tmp_path / "project" / "counties.gpkg"),
                                       "--region-field", "county", "-o", "by_county"])
    assert result.exit_code == 0, result.output
    summary = pd.read_csv(work / "by_county" / "summary.csv")
    assert summary["status"].tolist() == ["ok", "ok"]


def test_a_region_with_a_very_long_name_runs(tmp_path: Path) -> None:
    """A 300-character region name (and the run title made from it): the region's files and
    folder get a name cut to 120 bytes and told apart by a digest; the run succeeds."""
    cfg = _setup(tmp_path)
    long = "县" * 100 + "x" * 200
    gpd.GeoDataFrame({"county": [long, "East"]},
                     geometry=[box(X0 - 50, Y0 - 450, X0 + 195, Y0 + 50),
                               box(X0 + 195, Y0 - 450, X0 + 450, Y0 + 50)],
                     crs="EPSG:32649").to_file(tmp_path / "long.gpkg")
    res = batch_regions(load_config(cfg), tmp_path / "long.gpkg", "county", tmp_path / "by")
    assert res.ok, res.summary["error"].tolist()
    folders = [p.name for p in (tmp_path / "by").iterdir()
               if p.is_dir() and p.name != "_batch_inputs"]
    assert sorted(len(f.encode("utf-8")) <= 120 for f in folders) == [True, True]
    assert any(f.startswith("县" * 37) for f in folders)


def test_configs_with_the_same_file_name_get_their_folders_names(tmp_path: Path) -> None:
    """in/prov.toml and in2/prov.toml: runs in_prov and in2_prov whatever their order, so a
    re-run in the other order is up to date (not two runs refused, or results swapped)."""
    cfg = _setup(tmp_path)
    other = tmp_path / "in2"
    other.mkdir()
    text = cfg.read_text(encoding="utf-8").replace('"lc.tif"', '"../lc.tif"').replace(
        '"units.gpkg"', '"../units.gpkg"').replace("15.0", "25.0")
    (other / "prov.toml").write_text(text, encoding="utf-8")
    out = tmp_path / "b"
    first = CliRunner().invoke(main, ["batch", str(cfg), str(other / "prov.toml"), "-o",
                                      str(out)])
    assert first.exit_code == 0, first.output
    s1 = pd.read_csv(out / "summary.csv", encoding="utf-8-sig").set_index("run")
    parent = tmp_path.name
    assert sorted(s1.index) == sorted([f"{parent}_prov", "in2_prov"])
    again = CliRunner().invoke(main, ["batch", str(other / "prov.toml"), str(cfg), "-o",
                                      str(out)])
    assert again.exit_code == 0, again.output
    s2 = pd.read_csv(out / "summary.csv", encoding="utf-8-sig").set_index("run")
    assert set(s2["status"]) == {"up_to_date"}
    assert s2.loc["in2_prov", "net_tc"] == s1.loc["in2_prov", "net_tc"]
    assert s1.loc["in2_prov", "net_tc"] != s1.loc[f"{parent}_prov", "net_tc"]
