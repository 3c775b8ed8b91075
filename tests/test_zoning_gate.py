"""Zoning settings are checked before computing (issue 13: "validate says OK, then zone
fails"), and ``sweep`` holds its output's lock from before computing, as run and zone do."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from _battery import config, make_project, run_cli, units
from shapely.geometry import box

from landcarbon.config.run import load_config
from landcarbon.io.locks import output_lock
from landcarbon.pipeline import assess
from landcarbon.pipeline._validate_zoning import gradable_columns
from landcarbon.pipeline._zoning import with_all
from landcarbon.pipeline.validate import validate_config

OUTPUT = "[output]"


def _zoning_project(d: Path, extra: str = "") -> Path:
    make_project(d)
    (d / "stats.csv").write_text("unit_id,gdp_10k_cny,population\nW,5,10\nE,7,20\n",
                                 encoding="utf-8")
    return config(d, (OUTPUT, '[statistics]\npath = "stats.csv"\n[hotspots]\non = "units"\n'
                      f"local_moran = true\n{extra}" + OUTPUT))


def test_gradable_columns_are_the_numeric_columns_at_the_grading_step(tmp_path: Path) -> None:
    """The prediction from the config equals what a real zone run has when it grades: every
    numeric column then is predicted; the predicted ones a run lacks are land classes absent
    from the data."""
    cfg = with_all(load_config(_zoning_project(tmp_path)))
    a = assess(cfg)
    graded_at = list(a.units.columns).index("net_tc_per_ha_class")
    numeric = {c for c in a.units.columns[:graded_at]
               if pd.api.types.is_numeric_dtype(a.units[c])}
    predicted = set(gradable_columns(cfg))
    assert numeric - predicted == set()
    assert all(c.startswith("area_") and c.endswith("_ha") for c in predicted - numeric)
    assert {"gi_z", "moran_p", "ecc", "emission_tc_per_capita", "compensation_tc"} <= numeric


def test_gradable_columns_follow_the_output_unit_and_sections(tmp_path: Path) -> None:
    make_project(tmp_path)
    cfg = load_config(config(tmp_path, (OUTPUT, '[coefficients]\noutput_unit = "t CO2"\n'
                                         + OUTPUT)))
    cols = gradable_columns(cfg)
    assert "net_tco2_per_ha" in cols and "net_tc_per_ha" not in cols
    assert not {"gi_z", "ecc", "compensation_tco2"} & set(cols)


def test_absent_land_class_is_graded_as_zero(tmp_path: Path) -> None:
    """Validate accepts area_<any land class>_ha; a run whose data lacks the class grades it
    as 0 ha instead of failing after computing."""
    path = _zoning_project(tmp_path, '[zoning]\ngraded_columns = ["area_wetland_ha"]\n')
    assert validate_config(path).ok
    a = assess(load_config(path))
    assert "area_wetland_ha" not in a.units
    assert a.units["area_wetland_ha_class"].tolist() == [1, 1]


@pytest.mark.parametrize("command", ["sweep", "run", "zone"])
def test_lock_is_taken_before_computing(tmp_path: Path, command: str) -> None:
    """With the output's lock held by another writer, the command is refused at once, before
    the gate looks at the (here broken: overlapping) units."""
    make_project(tmp_path)
    units(tmp_path / "halves.gpkg", geoms=[box(500000, 3849960, 500020, 3850000),
                                           box(500015, 3849960, 500040, 3850000)])
    with output_lock(tmp_path / "out"):
        result = run_cli([command, "run.toml", "-o", "out"], tmp_path)
    text = " ".join((result.stderr + result.stdout).split())
    assert result.returncode == 1, text
    assert "being written by another landcarbon run" in text and "Traceback" not in text
    assert "overlap" not in text  # refused before the gate (the checks) ran
    assert not (tmp_path / "out").exists()
