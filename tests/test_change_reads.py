"""How often multi-date and scenario runs read each land-cover raster: every window read of
the pixel data (rioxarray's reads of dask chunks) is counted, with real rasters and the real
computation."""

from __future__ import annotations

import sys
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio
import rasterio.io
from conftest import GRID4
from rasterio.transform import from_origin
from test_change import GRID4B
from test_change_pipeline import CONFIG
from test_stocks import POOLS_CSV

from landcarbon.config.run import load_config
from landcarbon.pipeline import assess_change, assess_scenarios


class WindowReads:
    """Counts rioxarray's window reads of every GeoTIFF (``DatasetReader.read`` called from
    rioxarray; the file checks of :func:`landcarbon.io.raster.open_landcover` are not data
    passes), by file name and window. The reads themselves are rasterio's, unchanged."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.reads: Counter[tuple[str, str]] = Counter()
        lock = threading.Lock()
        original = rasterio.io.DatasetReader.read

        def read(src: rasterio.io.DatasetReader, *args: Any, **kwargs: Any) -> Any:
            frame, by_rioxarray = sys._getframe(1), False
            for _ in range(8):
                if frame is None:
                    break
                by_rioxarray |= "rioxarray" in frame.f_code.co_filename
                frame = frame.f_back
            if by_rioxarray:
                with lock:
                    self.reads[(Path(src.name).name, str(kwargs.get("window")))] += 1
            return original(src, *args, **kwargs)

        monkeypatch.setattr(rasterio.io.DatasetReader, "read", read)

    def by_file(self) -> dict[str, list[int]]:
        """File name -> read count of each of its windows (chunks), in window order."""
        out: dict[str, list[int]] = {}
        for (name, _), n in sorted(self.reads.items()):
            out.setdefault(name, []).append(n)
        return out


def _striped_tif(path: Path, array: np.ndarray) -> None:
    """A GeoTIFF in strips of one row: ``chunk_size = 2`` reads it in chunks of 2 x 4."""
    with rasterio.open(path, "w", driver="GTiff", width=4, height=4, count=1, dtype="uint8",
                       crs="EPSG:32649", transform=from_origin(500000, 3850000, 10, 10),
                       nodata=0, blockysize=1) as dst:
        dst.write(array, 1)


@pytest.fixture
def chunked(tmp_path: Path, halves_gpkg: Path) -> Path:
    """The change-test project (two dates, stocks, Markov, a scenario raster and edits) with
    a second edit scenario, read in dask chunks: two chunks a date."""
    _striped_tif(tmp_path / "lc_2015.tif", GRID4)
    _striped_tif(tmp_path / "lc_2023.tif", GRID4B)
    (tmp_path / "pools.csv").write_text(POOLS_CSV, encoding="utf-8")
    text = CONFIG.format(resample="error", later="lc_2023.tif").replace(
        'legend = "esa_worldcover"\n', 'legend = "esa_worldcover"\nchunk_size = 2\n', 1)
    text += ('[[change.edits]]\nscenario = "wet"\ntype = "restore_wetland"\n'
             "distance_m = 10.0\n")
    path = tmp_path / "change.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_change_run_reads_each_date_twice(chunked: Path, monkeypatch: pytest.MonkeyPatch
                                          ) -> None:
    counter = WindowReads(monkeypatch)
    r = assess_change(load_config(chunked))
    # each chunk: once in the date's assessment (codes and zonal areas), once for all the
    # rest (transitions of every period, per unit and whole; stocks per unit and per period)
    assert counter.by_file() == {"lc_2015.tif": [2, 2], "lc_2023.tif": [2, 2]}
    assert r.stocks is not None and r.markov is not None
    assert r.stock_totals[0]["stock_from_tc"] == pytest.approx(6.83)


def test_scenario_run_reads_each_raster_once_more_at_most(
        chunked: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    counter = WindowReads(monkeypatch)
    r = assess_scenarios(load_config(chunked))
    # baseline 2023: its assessment, then once into memory for both edit scenarios; the
    # scenario raster 2015: once (code counts and zonal areas in one pass)
    assert counter.by_file() == {"lc_2015.tif": [1, 1], "lc_2023.tif": [2, 2]}
    assert set(r.units) == {"back_to_2015", "green", "wet"}
    d = r.deltas.set_index(["scenario", "unit_id"])
    assert d.loc[("back_to_2015", "W"), "net_tc_delta"] == pytest.approx(0.005 * (0.422 - 50))
