"""Zoning end to end: config sections -> run outputs; `landcarbon zone` and `landcarbon
sweep`; error paths with exit codes; real data (a 1 km grid over São Tomé)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from rasterio.transform import from_origin
from shapely.geometry import box

import landcarbon as lc
from landcarbon.cli import main
from landcarbon.zoning.hotspots import grid_cells
from tests.conftest import shared, write_tif

BASE = """
title = "zoning test"
language = "en"

[landcover]
path = "lc.tif"
legend = "esa_worldcover"

[units]
path = "units.gpkg"
layer = "units"
id_field = "code"
name_field = "name"

[construction]
method = "intensity"
intensity_tc_per_ha = 20.0

[thresholds]
agricultural = 0.422
construction = 8.0
ecological = 0.0

[output]
rasters = false
map = false
"""

ZONING = """
[statistics]
path = "stats.csv"
id_column = "code"

[zoning]
ratio_threshold = 5.0

[hotspots]
on = "both"
cell_size_m = 300
permutations = 99

[sink_zones]
window_m = 30
min_area_ha = 1.0
corridor_width_m = 60

[compensation]
price_per_tco2 = 50.0

[uncertainty]
draws = 200
sweep_steps = 5
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """60 x 60 pixels of 30 m (0.09 ha) in 9 units of 20 x 20 pixels: forest in the west
    with a river, cropland in the middle, a town in the east."""
    codes = np.full((60, 60), 40, dtype=np.uint8)
    codes[:, :20] = 10
    codes[:, 8:10] = 80
    codes[20:40, 40:60] = 50
    codes[0:20, 45:60] = 50
    write_tif(tmp_path / "lc.tif", codes, transform=from_origin(500000, 3850000, 30, 30))
    cells = [box(500000 + c * 600, 3850000 - (r + 1) * 600, 500600 + c * 600,
                 3850000 - r * 600) for r in range(3) for c in range(3)]
    ids = [f"U{r}{c}" for r in range(3) for c in range(3)]
    gpd.GeoDataFrame({"code": ids, "name": [f"单元{i}" for i in ids]}, geometry=cells,
                     crs="EPSG:32649").to_file(tmp_path / "units.gpkg", layer="units")
    pd.DataFrame({"code": ids, "gdp_10k_cny": [10, 20, 900, 10, 30, 1500, 5, 20, 400],
                  "population": [100] * 9}).to_csv(tmp_path / "stats.csv", index=False)
    (tmp_path / "base.toml").write_text(BASE, encoding="utf-8")
    (tmp_path / "zoning.toml").write_text(BASE + ZONING, encoding="utf-8")
    return tmp_path


def test_no_zoning_section_adds_nothing(project: Path) -> None:
    a = lc.assess(lc.load_config(project / "base.toml"))
    assert a.zoning == {} and "esc" not in a.units


def test_run_writes_zoning_columns_and_layers(project: Path) -> None:
    result = CliRunner().invoke(main, ["-q", "run", str(project / "zoning.toml"), "-o",
                                       str(project / "out")])
    assert result.exit_code == 0, result.output
    out = project / "out"
    for name in ("hotspot_grid.gpkg", "sink_zones.gpkg", "compensation.csv",
                 "uncertainty.csv", "sweep.csv", "sweep.png", "zoning.json"):
        assert (out / name).is_file(), name
        assert str(out.absolute() / name) in result.output
    units = pd.read_csv(out / "units.csv", encoding="utf-8-sig", dtype={"unit_id": str})
    for col in ("source_sink_ratio", "compensation_rate", "esc", "ecc", "gdp",
                "emission_intensity_tc_per_10k_cny", "carbon_zone", "compensation_tc",
                "compensation_role", "compensation_value", "gi_z", "gi_class",
                "moran_cluster", "net_tc_per_ha_class", "flag_r1", "risk_flags",
                "carbon_risk_zone", "net_tc_p5", "net_tc_p95", "p_exceed"):
        assert col in units.columns, col
    # forest units emit nothing: ECC = ESC = +inf (x/0 rule) -> low-carbon maintenance;
    # cropland units have no sink (ESC = 0) and little GDP -> high-carbon optimisation
    by_id = units.set_index("unit_id")
    west = by_id.loc[["U00", "U10", "U20"]]
    assert (west["esc"] == np.inf).all() and (west["ecc"] == np.inf).all()
    assert (west["carbon_zone"] == "low_carbon_maintenance").all()
    assert (west["compensation_role"] == "receiver").all()
    assert (by_id.loc[["U01", "U11", "U21"], "carbon_zone"] == "high_carbon_optimisation").all()
    assert abs(units["compensation_tc"].sum()) <= 1e-9 * units["emission_tc"].sum()
    assert abs(units["compensation_value"].sum()) <= 1e-6
    # the ESC identity on the written table
    e, s = units["emission_tc"], units["sequestration_tc"]
    esc = (s / s.sum()) / (e / e.sum())
    finite = np.isfinite(esc)
    assert units["esc"][finite].tolist() == pytest.approx(esc[finite].tolist())
    grid = gpd.read_file(out / "hotspot_grid.gpkg", layer="hotspot_grid")
    assert len(grid) == 36 and {"gi_z", "gi_class", "coverage"} <= set(grid.columns)
    assert grid.geometry.area.round().eq(90_000).all()
    zones = gpd.read_file(out / "sink_zones.gpkg", layer="sink_zones")
    assert set(zones["kind"]) == {"zone", "corridor"}
    forest = zones[zones["kind"] == "zone"].iloc[0]
    # 60 rows x 20 columns of 0.09 ha; closing bridges the 2-pixel river (-0.253)
    assert forest["area_ha"] == pytest.approx(60 * 20 * 0.09)
    assert forest["sink_tc"] == pytest.approx(60 * 0.09 * (18 * 0.644 + 2 * 0.253))
    summary = json.loads((out / "zoning.json").read_text(encoding="utf-8"))
    assert abs(summary["compensation"]["transfers_sum_tc"]) < 1e-6
    assert summary["compensation"]["paid"] == pytest.approx(summary["compensation"]["received"])
    manifest = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert "zoning_hotspots_grid" in manifest["timings_s"]
    flows = pd.read_csv(out / "compensation.csv", encoding="utf-8-sig")
    assert flows["value"].sum() == pytest.approx(summary["compensation"]["paid"])


def test_zoning_is_reproducible_and_tco2(project: Path) -> None:
    cfg = lc.load_config(project / "zoning.toml")
    a = lc.assess(cfg)
    b = lc.assess(cfg)
    cols = ["gi_z", "gi_p", "p_exceed", "net_tc_p50", "compensation_value"]
    pd.testing.assert_frame_equal(a.units[cols], b.units[cols])
    co2 = lc.assess(cfg.model_copy(update={"coefficients": cfg.coefficients.model_copy(
        update={"output_unit": "t CO2"})}))
    assert co2.units["compensation_tco2"].tolist() == pytest.approx(
        (a.units["compensation_tc"] * 44 / 12).tolist())
    assert co2.units["esc"].tolist() == pytest.approx(a.units["esc"].tolist())
    assert co2.units["p_exceed"].tolist() == a.units["p_exceed"].tolist()
    assert co2.zoning["sink_zones"]["sink_tc"].tolist() == pytest.approx(
        a.zoning["sink_zones"]["sink_tc"].tolist(), rel=1e-5)


def test_apply_zoning_with_a_previous_period(project: Path) -> None:
    a = lc.assess(lc.load_config(project / "zoning.toml"))
    prev = a.units.set_index("unit_id")[["emission_tc", "sequestration_tc"]] * 0.5
    prev["converted_to_construction_ha"] = 0.0
    lc.apply_zoning(a, previous=prev)
    # every unit's emission doubled: growth 100 %, the region's too: not faster than it
    assert a.units["flag_r2"].notna().all() and a.units["flag_r3"].notna().all()
    assert not a.units["flag_r2"].any()
    assert not a.units["flag_r3"].any()        # sinks doubled, nothing converted
    assert list(a.units.columns).count("esc") == 1


def test_zone_command_on_a_run_folder_and_on_a_config(project: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(main, ["-q", "run", str(project / "base.toml"), "-o",
                                str(project / "plain")]).exit_code == 0
    result = runner.invoke(main, ["-q", "zone", str(project / "plain")])
    assert result.exit_code == 0, result.output
    units = pd.read_csv(project / "plain" / "zoning" / "units.csv", encoding="utf-8-sig")
    assert {"gi_class", "compensation_role", "p_exceed", "carbon_risk_zone"} <= set(units)
    assert "carbon_zone" not in units                     # no statistics: no ECC
    assert (project / "plain" / "zoning" / "sink_zones.gpkg").is_file()
    # a zoning run is a run: its map and report carry the zoning layers and section
    zoned = project / "plain" / "zoning"
    assert (zoned / "run.json").is_file()
    published = runner.invoke(main, ["-q", "map", str(zoned), "--offline", "--overwrite"])
    assert published.exit_code == 0, published.output
    page = (zoned / "map.html").read_text(encoding="utf-8")
    assert "碳排放冷热点" in page or "Emission hot spots" in page
    assert 'id="zoning"' in (zoned / "report.html").read_text(encoding="utf-8")
    # zone's run.json carries the fingerprint of its inputs and settings, as run's does
    fingerprint = json.loads((zoned / "run.json").read_text(encoding="utf-8"))["fingerprint"]
    assert set(fingerprint["inputs_sha256"]) and fingerprint["config_sha256"]
    stamp = (zoned / "units.csv").stat().st_mtime_ns
    again = runner.invoke(main, ["-q", "zone", str(project / "plain")])
    assert again.exit_code == 0 and "up to date" in again.output
    assert (zoned / "units.csv").stat().st_mtime_ns == stamp      # nothing rewritten
    (project / "plain" / "zoning" / "units.csv").write_text("edited", encoding="utf-8")
    again = runner.invoke(main, ["-q", "zone", str(project / "plain")])
    assert again.exit_code == 1 and "already exists" in again.output   # an output changed
    result = runner.invoke(main, ["-q", "zone", str(project / "zoning.toml"), "-o",
                                  str(project / "z2")])
    assert result.exit_code == 0, result.output
    assert "carbon_zone" in pd.read_csv(project / "z2" / "units.csv", encoding="utf-8-sig")
    # the run's zoning (zone's default output inside it) goes with the run it was made
    # from: `run --overwrite` replaces the folder, zoning included
    again = runner.invoke(main, ["-q", "run", str(project / "base.toml"), "-o",
                                 str(project / "plain"), "--overwrite"])
    assert again.exit_code == 0, again.output
    assert not (project / "plain" / "zoning").exists()


def test_sweep_command(project: Path) -> None:
    result = CliRunner().invoke(main, ["-q", "sweep", str(project / "base.toml"), "--steps",
                                       "3", "--range", "0.5", "-o", str(project / "sw")])
    assert result.exit_code == 0, result.output
    sweep = pd.read_csv(project / "sw" / "sweep.csv", encoding="utf-8-sig")
    agri = sweep[sweep["space_type"] == "agricultural"]
    assert agri["threshold_tc_per_ha"].tolist() == pytest.approx([0.211, 0.422, 0.633])
    assert agri["units_changed"].iloc[1] == 0
    assert (project / "sw" / "sweep.png").stat().st_size > 10_000
    # (NaN passes click's range: refused as not finite, a usage error as the others)
    for option, value in (("--steps", "1"), ("--range", "-0.5"), ("--range", "1e9"),
                          ("--range", "nan")):
        bad = CliRunner().invoke(main, ["sweep", str(project / "base.toml"), option, value,
                                        "-o", str(project / "sw2")])
        assert bad.exit_code == 2 and f"Invalid value for '{option}'" in bad.output
        assert not (project / "sw2").exists()
    assert "nan is not a finite number" in bad.output
    from landcarbon.config.run import load_config
    from landcarbon.exceptions import ConfigError
    from landcarbon.pipeline import run_sweep

    with pytest.raises(ConfigError, match=r"--steps \(\[uncertainty\] sweep_steps\) = 1"):
        run_sweep(load_config(project / "base.toml"), project / "sw3", steps=1)
    assert not (project / "sw3").exists()


@pytest.mark.parametrize(("extra", "message"), [
    ('[statistics]\npath = "absent.csv"\n', "Statistics table"),
    ('[statistics]\npath = "stats.csv"\n', "has no column 'unit_id'"),
    ('[statistics]\npath = "stats.csv"\nid_column = "code"\ngdp_column = "gdp"\n',
     "has no column 'gdp'"),
    ('[statistics]\npath = "stats.csv"\nid_column = "code"\n[compensation]\n'
     'correction_column = "k"\n', "correction_column = 'k'"),
    ('[compensation]\nprice = 3\n', "compensation.price: unknown key"),
    ('[uncertainty]\ncoefficients = "nope.csv"\n', "not a built-in table"),
    ('[zoning]\ngraded_columns = ["gdp_growth"]\n', "'gdp_growth' is not a column"),
])
def test_zoning_errors_exit_1(project: Path, extra: str, message: str) -> None:
    (project / "bad.toml").write_text(BASE + extra, encoding="utf-8")
    result = CliRunner().invoke(main, ["run", str(project / "bad.toml"), "-o",
                                       str(project / "bad_out")])
    assert result.exit_code == 1, result.output
    assert message in result.output
    assert not (project / "bad_out").exists()


def test_zone_rejects_a_folder_without_manifest(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["zone", str(tmp_path)])
    assert result.exit_code == 1 and "without run.json" in result.output


@pytest.mark.realdata
def test_real_worldcover_with_a_1km_grid_of_units(tmp_path: Path) -> None:
    # Príncipe (2760 x 2040 px of 10 m); the São Tomé crop (21 M px, 1824 cells) takes
    # about 4 x longer: run times in the issue report
    raster = shared("worldcover", "worldcover_2021_v200_principe_crop.tif")
    import rasterio

    with rasterio.open(raster) as src:
        bounds = gpd.GeoDataFrame(geometry=[box(*src.bounds)], crs=src.crs)
    cells = grid_cells(bounds, 1000.0).to_crs("EPSG:4326")
    cells.rename(columns={"cell_id": "code"}).to_file(tmp_path / "grid.gpkg", layer="units")
    config = f"""
[landcover]
path = "{raster}"
legend = "esa_worldcover"
[units]
path = "grid.gpkg"
id_field = "code"
[construction]
method = "intensity"
intensity_tc_per_ha = 20.0
[thresholds]
agricultural = 0.422
construction = 8.0
ecological = 0.0
[output]
rasters = false
map = false
[zoning]
[hotspots]
on = "both"
permutations = 999
[sink_zones]
[compensation]
price_per_tco2 = 60.0
[uncertainty]
draws = 200
sweep = false
"""
    (tmp_path / "st.toml").write_text(config, encoding="utf-8")
    start = time.perf_counter()
    a = lc.assess(lc.load_config(tmp_path / "st.toml"))
    elapsed = time.perf_counter() - start
    u = a.units
    land = u[u["covered_ha"] > 0]
    assert len(land) > 100
    assert abs(u["compensation_tc"].sum()) <= 1e-9 * u["emission_tc"].sum()
    assert (land["gi_class"] != "not_significant").any()
    assert len(a.zoning["sink_zones"]) > 0 and (a.zoning["sink_zones"]["sink_tc"] > 0).all()
    assert len(a.zoning["hotspot_grid"]) > 100
    print(f"Príncipe 1 km grid: {len(u)} units, {elapsed:.1f} s, {a.timings}")


def test_parcel_mode_zoning_without_rasters(tmp_path: Path, caplog) -> None:
    codes = ["0301", "0301", "0101", "0301", "0101", "0501", "0101", "0501", "0501"]
    parcels = gpd.GeoDataFrame(
        {"dlbm": codes, "town": [f"T{i}" for i in range(9)]},
        geometry=[box((11360 + i % 3) / 100, (3475 + i // 3) / 100,
                      (11361 + i % 3) / 100, (3476 + i // 3) / 100) for i in range(9)],
        crs="EPSG:4326")
    parcels.to_file(tmp_path / "parcels.gpkg", layer="parcels")
    (tmp_path / "p.toml").write_text("""
[parcels]
path = "parcels.gpkg"
code_field = "dlbm"
legend = "gbt21010"
unit_field = "town"
[construction]
method = "intensity"
intensity_tc_per_ha = 20.0
[thresholds]
agricultural = 0.422
construction = 8.0
ecological = 0.0
[hotspots]
on = "both"
permutations = 0
[sink_zones]
[compensation]
[uncertainty]
draws = 100
""", encoding="utf-8")
    a = lc.assess(lc.load_config(tmp_path / "p.toml"))
    assert "sink_zones" not in a.zoning and "hotspot_grid" not in a.zoning
    assert "parcel mode has no flux raster" in caplog.text
    # the centre neighbours every unit: its Gi* is the regional mean, z undefined (NaN)
    assert a.units["gi_z"].drop(index=4).notna().all() and np.isnan(a.units["gi_z"][4])
    assert a.units["gi_class"][4] == "not_significant"
    # queen contiguity on the 3 x 3 block: the centre has 8 neighbours
    from landcarbon.zoning.hotspots import spatial_weights

    assert spatial_weights(a.units).cardinalities[4] == 8
    forest = a.units[a.units["unit_id"].isin(["T0", "T1", "T3"])]
    assert (forest["compensation_role"] == "receiver").all()
    assert abs(a.units["compensation_tc"].sum()) <= 1e-9 * a.units["emission_tc"].sum()
    assert (forest["p_exceed"] == 0).all()


def test_zone_refuses_a_run_whose_inputs_changed(tmp_path: Path) -> None:
    """``landcarbon zone RUN`` recomputes from the run's inputs: once one of them changed
    since the run, it would not be that run's zoning; refused, naming the file, and nothing
    written. Unchanged inputs zone as before."""
    import subprocess
    import sys

    from _battery import make_project
    from conftest import GRID4, write_tif

    make_project(tmp_path)

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "landcarbon.cli", *args], cwd=tmp_path,
                              capture_output=True, text=True)

    assert cli("run", "run.toml", "-o", "r1").returncode == 0
    changed = GRID4.copy()
    changed[0, 0] = 10
    write_tif(tmp_path / "grid4.tif", changed)
    r = cli("zone", "r1")
    assert r.returncode == 1 and "changed since it ran" in r.stderr and "grid4.tif" in r.stderr
    assert "Traceback" not in r.stderr and not (tmp_path / "r1" / "zoning").exists()
    write_tif(tmp_path / "grid4.tif", GRID4)  # the same bytes again
    r = cli("zone", "r1")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "r1" / "zoning" / "units.csv").is_file()


def test_zone_of_an_area_without_sinks_skips_compensation(project: Path) -> None:
    """All built-up (no unit has a sink): `zone` stopped ("Disable [compensation]", a
    section the config did not have and zone switches on); it now writes everything else,
    says so in a warning and in zoning.json, and writes no compensation.csv."""
    write_tif(project / "lc.tif", np.full((60, 60), 50, np.uint8),
              transform=from_origin(500000, 3850000, 30, 30))
    result = CliRunner().invoke(main, ["zone", str(project / "base.toml"), "-o",
                                       str(project / "z")])
    assert result.exit_code == 0, result.output
    assert "compensation skipped: no unit has a carbon sink" in result.output
    summary = json.loads((project / "z" / "zoning.json").read_text(encoding="utf-8"))
    assert "sequestration is 0" in summary["compensation"]["skipped"]
    assert not (project / "z" / "compensation.csv").exists()
    assert (project / "z" / "units.csv").is_file()
