"""Shared fixtures: tiny real GeoTIFFs and GeoPackages whose areas are hand-computable."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin
from shapely.geometry import box


def _default_logging() -> None:
    """Logging as a fresh interpreter has it, except pytest's own capture handlers."""
    root = logging.getLogger()
    for h in list(root.handlers):
        if type(h).__module__ != "_pytest.logging":
            root.removeHandler(h)
    root.setLevel(logging.WARNING)
    logging.captureWarnings(False)
    for name in list(logging.Logger.manager.loggerDict):
        lg = logging.getLogger(name)
        if name == "landcarbon" or name.startswith("landcarbon.") or name == "py.warnings":
            lg.setLevel(logging.NOTSET)
            lg.propagate = True
            lg.handlers[:] = []


@pytest.fixture(autouse=True)
def _landcarbon_logger_restored() -> Iterator[None]:
    """An in-process CLI call (-q, --debug; possibly in a module-scoped fixture) configures the
    root and 'landcarbon' loggers; every test starts and ends with the default logging so
    that caplog sees landcarbon's warnings whatever ran before."""
    _default_logging()
    yield
    _default_logging()

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data"


def write_tif(path: Path, array: np.ndarray, *, crs: str = "EPSG:32649",
              transform: object = None, nodata: float | None = 0) -> Path:
    """Write a single-band GeoTIFF."""
    transform = transform or from_origin(500000, 3850000, 10, 10)
    with rasterio.open(path, "w", driver="GTiff", width=array.shape[1], height=array.shape[0],
                       count=1, dtype=array.dtype, crs=crs, transform=transform,
                       nodata=nodata) as dst:
        dst.write(array, 1)
    return path


# 4 x 4 ESA WorldCover codes, 10 m pixels (100 m2 = 0.01 ha each), origin (500000, 3850000)
#   40 40 10 10
#   40 40 10 80
#   50 50 30 80
#   50  0 30 80      (0 = nodata)
GRID4 = np.array([[40, 40, 10, 10],
                  [40, 40, 10, 80],
                  [50, 50, 30, 80],
                  [50, 0, 30, 80]], dtype=np.uint8)


#: A run config over GRID4 (grid4.tif) and the two halves (halves.gpkg): construction at 50 t C
#: per ha, thresholds 0.422 / 8 / 0 t C/ha/yr. Tests add their own title and [output].
GRID4_RUN_CONFIG = """[landcover]
path = "grid4.tif"
legend = "esa_worldcover"
[units]
path = "halves.gpkg"
layer = "units"
id_field = "code"
name_field = "name"
[construction]
method = "intensity"
intensity_tc_per_ha = 50.0
[thresholds]
agricultural = 0.422
construction = 8.0
ecological = 0.0
"""


@pytest.fixture
def grid4_tif(tmp_path: Path) -> Path:
    return write_tif(tmp_path / "grid4.tif", GRID4)


@pytest.fixture
def halves_gpkg(tmp_path: Path) -> Path:
    """Two units splitting the 4x4 grid at x = 500015 (through the middle of column 1)."""
    gdf = gpd.GeoDataFrame(
        {"code": ["W", "E"], "name": ["西单元", "东单元"]},
        geometry=[box(500000, 3849960, 500015, 3850000), box(500015, 3849960, 500040, 3850000)],
        crs="EPSG:32649")
    path = tmp_path / "halves.gpkg"
    gdf.to_file(path, layer="units")
    return path


def shared(*parts: str) -> Path:
    """Path in ../shared/data, skipping the test when it is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real data not available: {path}")
    return path


# fixtures of the bad-input battery (tests/test_battery*.py); imported last: _battery uses the
# helpers above
from _battery import battery_project, fails  # noqa: E402, F401
