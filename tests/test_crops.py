"""The crop-yield cropland sink: hand-computed absorption, densities, a demo run with crop
statistics, and the reported cropland sign."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

import pandas as pd
import pytest
from pytest import approx

from landcarbon.accounting.crops import crop_sink_density, crop_yield_sink, load_crop_parameters
from landcarbon.exceptions import ConfigError, InputError

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "sample_tiles"
WHEAT = 0.4853 * (1 - 0.12) / 0.40   # t C per t of wheat
MAIZE = 0.4709 * (1 - 0.13) / 0.40
RICE = 0.4144 * (1 - 0.12) / 0.45


def test_parameters_table_has_sources() -> None:
    p = load_crop_parameters()
    assert list(p.index) == ["wheat", "maize", "rice"]
    assert p.loc["wheat", "carbon_fraction"] == 0.4853
    assert (p["source"].str.len() > 20).all()


def test_crop_yield_sink_by_hand() -> None:
    table = pd.DataFrame({"unit_id": ["A", "B"], "wheat_t": [1000.0, None],
                          "maize_t": [500.0, 200.0], "rice_t": ["", 100.0]})
    sink = crop_yield_sink(table)
    # A: 1000 t wheat x 0.4853 x 0.88 / 0.40 + 500 t maize x 0.4709 x 0.87 / 0.40
    assert sink["A"] == approx(1000 * WHEAT + 500 * MAIZE)
    assert sink["A"] == approx(1067.66 + 512.10375)
    assert sink["B"] == approx(200 * MAIZE + 100 * RICE)
    per_unit, region = crop_sink_density(sink, pd.Series({"A": 500.0, "B": 0.0}))
    assert per_unit.to_dict() == approx({"A": -(1000 * WHEAT + 500 * MAIZE) / 500})
    assert region == approx(per_unit["A"])  # B holds no cropland


@pytest.mark.parametrize("table, match", [
    (pd.DataFrame({"unit_id": ["A"], "barley_t": [1.0]}), "unknown column"),
    (pd.DataFrame({"unit_id": ["A"], "wheat_t": [-1.0]}), r"A / wheat_t = -1\.0"),
    (pd.DataFrame({"unit_id": ["A", "A"], "wheat_t": [1.0, 2.0]}), "repeated"),
    (pd.DataFrame({"code": ["A"], "wheat_t": [1.0]}), "no unit id column"),
])
def test_bad_crop_tables(table: pd.DataFrame, match: str) -> None:
    with pytest.raises(InputError, match=match):
        crop_yield_sink(table)


def test_crop_table_needs_the_sink_mode() -> None:
    from landcarbon.config.run import config_from_dict

    d = tomllib.loads((SAMPLE / "demo.toml").read_text(encoding="utf-8"))
    d["coefficients"]["crop_table"] = "crops.csv"
    with pytest.raises(ConfigError, match="cropland_mode = 'sink'"):
        config_from_dict(d, SAMPLE)


def test_demo_with_crop_statistics(tmp_path: Path) -> None:
    from landcarbon.config.run import load_config
    from landcarbon.pipeline import assess

    for name in ("landcover_2023.tif", "townships.gpkg", "energy_2023.csv"):
        shutil.copy(SAMPLE / name, tmp_path / name)
    d = (SAMPLE / "demo.toml").read_text(encoding="utf-8").replace(
        'cropland_mode = "source"', 'cropland_mode = "sink"\ncrop_table = "crops.csv"')
    (tmp_path / "demo.toml").write_text(d, encoding="utf-8")
    ids = pd.read_csv(SAMPLE / "energy_2023.csv", dtype=str)["unit_id"][:2]
    pd.DataFrame({"unit_id": ids, "wheat_t": [3000.0, 0.0], "maize_t": [2000.0, 500.0]}
                 ).to_csv(tmp_path / "crops.csv", index=False)
    a = assess(load_config(tmp_path / "demo.toml"))
    u = a.units.set_index("unit_id")
    sinks = {ids.iloc[0]: 3000 * WHEAT + 2000 * MAIZE, ids.iloc[1]: 500 * MAIZE}
    ha = u["area_cropland_ha"].fillna(0.0)
    ha_data = sum(ha[i] for i in sinks)
    region = -sum(sinks.values()) / ha_data
    assert a.coefficients.tc_per_ha["cropland"] == approx(region)
    # units with statistics absorb their own crop sink, the others the region-wide density
    assert a.cropland["cropland_flux_tc"] == approx(
        -sum(sinks.values()) + region * (ha.sum() - ha_data))
    rec = a.cropland
    assert rec["crop_sink_tc"] == approx(sum(sinks.values()))
    assert rec["cropland_mode"].startswith("sink")
    # both signs are reported: with cropland as a source the net is higher
    assert rec["net_tc_cropland_as_source"] > rec["net_tc_cropland_as_crop_yield_sink"]
    assert a.coefficients.tc_per_ha["cropland"] < 0


def _grid4_run(tmp_path: Path, name: str, coefficients: str) -> tuple[dict, str]:
    """A CLI run over GRID4 (conftest): 4 cropland pixels (0.04 ha), 3 of them in W."""
    import json
    import subprocess
    import sys

    from conftest import GRID4_RUN_CONFIG

    config = tmp_path / f"{name}.toml"
    config.write_text('language = "en"\n' + GRID4_RUN_CONFIG.replace(
        "[construction]", coefficients + "[construction]") + '[output]\nmap_tiles = ""\n',
        encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "landcarbon.cli", "run", str(config), "-o",
                           str(tmp_path / name)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    manifest = json.loads((tmp_path / name / "run.json").read_text(encoding="utf-8"))
    return manifest["settings"]["cropland"], (tmp_path / name / "report.html").read_text(
        encoding="utf-8")


def test_cropland_both_ways_by_hand_in_run_json_and_report(
        tmp_path: Path, grid4_tif: Path, halves_gpkg: Path) -> None:
    (tmp_path / "crops.csv").write_text("unit_id,wheat_t\nW,1.0\n", encoding="utf-8")
    sink, report = _grid4_run(tmp_path, "sink", '[coefficients]\ncropland_mode = "sink"\n'
                              'crop_table = "crops.csv"\n')
    # W: 1 t of wheat fixes WHEAT t C on its 0.03 ha of cropland; E (0.01 ha, no statistics)
    # gets the region-wide density -WHEAT / 0.03, so all cropland is at -WHEAT / 0.03 t C/ha
    density = -WHEAT / 0.03
    agri = sink["by_space_type"]["agricultural"]
    assert agri["cropland_ha"] == approx(0.04)
    assert agri["cropland_flux_tc"] == approx(0.04 * density)
    # agricultural space holds only cropland here: its net is the cropland flux either way
    assert agri["net_tc_cropland_as_crop_yield_sink"] == approx(0.04 * density)
    assert agri["net_tc_cropland_as_source"] == approx(0.04 * 0.422)
    for st in ("construction", "ecological"):  # no cropland: the same net both ways
        row = sink["by_space_type"][st]
        assert row["cropland_ha"] == 0.0
        assert row["net_tc_cropland_as_source"] == approx(row["net_tc_cropland_as_crop_yield_sink"])
    # total: the source net exceeds the sink net by 0.04 ha x (0.422 + WHEAT / 0.03)
    assert sink["net_tc_cropland_as_source"] - sink["net_tc_cropland_as_crop_yield_sink"] == \
        approx(0.04 * (0.422 - density))
    assert sum(r["net_tc"] for r in sink["by_space_type"].values()) == approx(sink["net_tc"])
    assert sink["sign_used"] == "sink" and sink["crop_sink_tc"] == approx(WHEAT)
    assert "This run counts cropland as a sink by the crop-yield method" in report
    assert "Net (cropland as crop-yield sink)" in report
    assert "Net (cropland as source)" in report and "+0.422 t C/ha/yr" in report

    source, report = _grid4_run(tmp_path, "source", "")
    assert source["sign_used"] == "source"
    assert "net_tc_cropland_as_crop_yield_sink" not in source
    assert source["crop_yield_sink"].startswith("not computed")
    assert source["by_space_type"]["agricultural"]["net_tc"] == approx(0.04 * 0.422)
    assert ("This run counts cropland as a source (+0.422 t C/ha/yr, lai2010). The crop-yield "
            "sink was not computed") in report
    assert "Net (cropland as crop-yield sink)" not in report


def test_validate_names_units_without_a_crop_row_and_an_empty_table(
        tmp_path: Path, grid4_tif: Path, halves_gpkg: Path) -> None:
    """E has no row (it gets the region-wide density: a warning naming it), X is no unit
    (a warning); a header-only table is an error of validate (the run failed later with a
    message about unit ids)."""
    from conftest import GRID4_RUN_CONFIG

    from landcarbon.pipeline.validate import validate_config

    config = tmp_path / "crops.toml"
    config.write_text(GRID4_RUN_CONFIG.replace(
        "[construction]", '[coefficients]\ncropland_mode = "sink"\ncrop_table = "crops.csv"\n'
        "[construction]"), encoding="utf-8")
    (tmp_path / "crops.csv").write_text("unit_id,wheat_t\nW,1.0\nX,2.0\n", encoding="utf-8")
    report = validate_config(config)
    assert report.ok
    by_code = {p.code: p for p in report.problems}
    missing = by_code["statistics_missing"]
    assert missing.severity == "warning" and "1 of the 2 unit(s)" in missing.message
    assert missing.message.split(": ")[1].startswith("E.") and "region-wide" in missing.message
    assert by_code["statistics_unknown_ids"].severity == "warning"
    assert "X" in by_code["statistics_unknown_ids"].message
    (tmp_path / "crops.csv").write_text("unit_id,wheat_t\n", encoding="utf-8")
    report = validate_config(config)
    assert not report.ok
    (p,) = report.errors
    assert p.code == "statistics_invalid" and "no rows" in p.message
