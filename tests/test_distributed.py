"""The same run on a dask.distributed cluster gives the single-machine results."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from click.testing import CliRunner
from conftest import write_tif
from rasterio.transform import from_origin
from shapely.geometry import box

from landcarbon.cli import main
from landcarbon.config.run import load_config
from landcarbon.pipeline import run

distributed = pytest.importorskip("distributed")


def _inputs(tmp_path: Path) -> Path:
    rng = np.random.default_rng(7)
    codes = rng.choice(np.array([0, 10, 20, 30, 40, 50, 60, 80], dtype=np.uint8), (64, 96))
    write_tif(tmp_path / "lc.tif", codes, crs="EPSG:4326",
              transform=from_origin(113.0, 34.8, 0.0005, 0.0005), nodata=0)
    geoms = [box(113.0 + 0.012 * i + 0.0001, 34.8 - 0.016 * (j + 1) - 0.0002,
                 113.0 + 0.012 * (i + 1) + 0.0001, 34.8 - 0.016 * j - 0.0002)
             for i in range(4) for j in range(2)]
    gpd.GeoDataFrame({"code": [f"T{k}" for k in range(8)], "name": [f"镇{k}" for k in range(8)]},
                     geometry=geoms, crs="EPSG:4326").to_file(tmp_path / "units.gpkg")
    cfg = tmp_path / "run.toml"
    cfg.write_text(
        '[landcover]\npath = "lc.tif"\nchunk_size = 16\n\n'
        '[units]\npath = "units.gpkg"\nid_field = "code"\nname_field = "name"\n\n'
        '[construction]\nmethod = "intensity"\nintensity_tc_per_ha = 12.5\n\n'
        '[thresholds]\npreset = "strict_median"\n\n[output]\nmap = false\n', encoding="utf-8")
    return cfg


def _same_outputs(a: Path, b: Path) -> None:
    ua = pd.read_csv(a / "units.csv").sort_values("unit_id").reset_index(drop=True)
    ub = pd.read_csv(b / "units.csv").sort_values("unit_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(ua, ub, check_exact=False, rtol=1e-12)
    for name in ("land_class.tif", "space_type.tif", "net_flux.tif"):
        with rasterio.open(a / name) as ra, rasterio.open(b / name) as rb:
            np.testing.assert_array_equal(ra.read(1), rb.read(1))


def test_local_cluster_threads_equals_single_machine(tmp_path: Path) -> None:
    cfg = _inputs(tmp_path)
    local = run(load_config(cfg), tmp_path / "local")
    assert local.assessment.codes is not None
    assert local.assessment.codes.chunks is not None  # really chunked: 4 x 6 blocks
    with distributed.LocalCluster(n_workers=3, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        result = CliRunner().invoke(main, ["run", str(cfg), "-o", str(tmp_path / "cluster"),
                                           "--scheduler", cluster.scheduler_address])
        assert result.exit_code == 0, result.output
    _same_outputs(tmp_path / "local", tmp_path / "cluster")
    units = pd.read_csv(tmp_path / "cluster" / "units.csv")
    assert len(units) == 8 and (units["covered_ha"] > 0).all()


def test_local_cluster_two_processes_equals_single_machine(tmp_path: Path) -> None:
    cfg = _inputs(tmp_path)
    run(load_config(cfg), tmp_path / "local")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        text = cfg.read_text(encoding="utf-8")
        cfg.write_text(text + f'\n[compute]\nscheduler = "{cluster.scheduler_address}"\n',
                       encoding="utf-8")
        config = load_config(cfg)
        assert config.compute.scheduler.startswith("tcp://")
        run(config, tmp_path / "cluster")
    _same_outputs(tmp_path / "local", tmp_path / "cluster")


def test_processes_scheduler_equals_threads(tmp_path: Path) -> None:
    """With dask's ``processes`` scheduler the output rasters (whose writers cannot travel to
    other processes) are computed there and written here; the run used to fail pickling the
    open GeoTIFF ("self._hds cannot be converted to a Python object for pickling")."""
    cfg = _inputs(tmp_path)
    run(load_config(cfg), tmp_path / "threads")
    result = CliRunner().invoke(main, ["run", str(cfg), "-o", str(tmp_path / "processes"),
                                       "--scheduler", "processes"])
    assert result.exit_code == 0, result.output
    _same_outputs(tmp_path / "threads", tmp_path / "processes")


def test_bad_scheduler_values(tmp_path: Path) -> None:
    cfg = _inputs(tmp_path)
    result = CliRunner().invoke(main, ["run", str(cfg), "-o", str(tmp_path / "o"),
                                       "--scheduler", "gpu"])
    assert result.exit_code == 2  # a bad option value: click's usage error
    assert "Invalid value for '--scheduler'" in result.output
    assert "'gpu'" in result.output and "tcp://host:8786" in result.output
    cfg.write_text(cfg.read_text(encoding="utf-8") + '\n[compute]\nscheduler = "fast"\n',
                   encoding="utf-8")
    result = CliRunner().invoke(main, ["run", str(cfg), "-o", str(tmp_path / "o")])
    assert result.exit_code == 1
    assert "compute.scheduler" in result.output
