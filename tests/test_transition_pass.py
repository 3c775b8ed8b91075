"""Every period's transitions in one pass over the dates' blocks (issue 16): the same tables,
number for number, as counting each period on its own, with the units' coverage of the grid
computed once (counted with the cache's own counter)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rasterio.transform import from_origin

from landcarbon.accounting.classification import byte_category_table, classify
from landcarbon.accounting.legends import load_legend
from landcarbon.change.transition_pass import pair_lut, period_transitions
from landcarbon.change.transitions import category_transitions
from landcarbon.engine.block_cells import COVERAGE
from landcarbon.io.raster import open_landcover
from tests.conftest import write_tif
from tests.test_coverage_reuse import CODES, _units

GEOGRAPHIC = from_origin(113.2, 34.9, 1 / 12000, 1 / 12000)


def _dates(tmp_path: Path, geographic: bool) -> dict[int, Path]:
    rng = np.random.default_rng(5)
    base = rng.choice(CODES, (100, 120))
    base[:40, :40] = 80  # a chunk of one value (water)
    base[60:, 90:] = 0  # nodata
    out = {}
    for k, year in enumerate((2015, 2020, 2025)):
        a = base.copy()
        flip = rng.random(a.shape) < 0.1 * k
        a[flip] = rng.choice(CODES, int(flip.sum()))
        kw = {"crs": "EPSG:4326", "transform": GEOGRAPHIC} if geographic else {}
        out[year] = write_tif(tmp_path / f"d{year}.tif", a, **kw)
    return out


@pytest.mark.parametrize("geographic", [False, True])
def test_one_pass_equals_period_by_period(tmp_path: Path, geographic: bool) -> None:
    legend = load_legend("esa_worldcover")
    units = _units()
    if geographic:  # the same shapes over the geographic grid
        units = units.set_crs(None, allow_override=True)
        units["geometry"] = units.geometry.affine_transform(
            [1 / 120000, 0, 0, 1 / 120000, 113.2 - 500000 / 120000,
             34.9 - 100 / 12000 - 3849000 / 120000])
        units = units.set_crs("EPSG:4326")
    codes = {y: open_landcover(p, chunks=32) for y, p in _dates(tmp_path, geographic).items()}
    cats = {y: classify(c, legend) for y, c in codes.items()}
    periods = [(2015, 2020), (2020, 2025), (2015, 2025)]
    tables = {y: (c, byte_category_table(legend, (), c.rio.nodata)) for y, c in codes.items()}
    COVERAGE.clear()
    before = COVERAGE.computed
    with COVERAGE.reusing():
        fused = period_transitions(cats, periods, units, codes=tables).compute()
        once = COVERAGE.computed - before
        from_cats = period_transitions(cats, periods, units).compute()
        assert COVERAGE.computed - before == once  # the second pass computed nothing
    assert once > 0
    for p in periods:
        per_unit = category_transitions(cats[p[0]], cats[p[1]], units)
        whole = category_transitions(cats[p[0]], cats[p[1]])
        for result in (fused, from_cats):
            pd.testing.assert_frame_equal(result["transitions"][p], per_unit, check_exact=True)
            pd.testing.assert_frame_equal(result["whole"][p], whole, check_exact=True)
    # the whole area is every cell with data at both dates
    a = np.asarray(cats[2015].values)
    b = np.asarray(cats[2025].values)
    both = int(((a != 255) & (b != 255)).sum())
    if not geographic:
        assert fused["whole"][(2015, 2025)]["area_ha"].sum() == pytest.approx(both * 0.01)


def test_pair_lut_and_byte_table() -> None:
    legend = load_legend("esa_worldcover")
    table = byte_category_table(legend, (), 0)
    assert table[0] == 255 and table[255] == 255 and table[7] == 255  # nodata, unknown
    n = len(legend.categories)
    lut = pair_lut(n, table, table)
    assert lut[(10 << 8) | 40] == table[10] * n + table[40]
    assert lut[(10 << 8) | 0] == n * n and lut[(0 << 8) | 40] == n * n
    ident = pair_lut(n)
    assert ident[(2 << 8) | 3] == 2 * n + 3 and ident[(255 << 8) | 3] == n * n


def test_numpy_rasters_take_the_general_path(tmp_path: Path) -> None:
    legend = load_legend("esa_worldcover")
    cats = {y: classify(open_landcover(p, chunks=None), legend)
            for y, p in _dates(tmp_path, False).items()}
    assert period_transitions(cats, [(2015, 2020)], _units()) is None


def test_change_run_computes_coverage_once_and_matches_the_numpy_path(
        tmp_path: Path, halves_gpkg: Path) -> None:
    from test_change import GRID4B
    from test_change_pipeline import CONFIG
    from test_stocks import POOLS_CSV

    from landcarbon.config.run import load_config
    from landcarbon.pipeline import assess_change
    from tests.conftest import GRID4

    write_tif(tmp_path / "lc_2015.tif", GRID4)
    write_tif(tmp_path / "lc_2023.tif", GRID4B)
    (tmp_path / "pools.csv").write_text(POOLS_CSV, encoding="utf-8")
    text = CONFIG.format(resample="error", later="lc_2023.tif")
    (tmp_path / "numpy.toml").write_text(text, encoding="utf-8")
    (tmp_path / "dask.toml").write_text(
        text.replace("[landcover]\n", "[landcover]\nchunk_size = 2\n", 1), encoding="utf-8")
    plain = assess_change(load_config(tmp_path / "numpy.toml"))
    before = COVERAGE.computed
    lazy = assess_change(load_config(tmp_path / "dask.toml"))
    assert lazy.dates[2015].categories is not None
    assert type(lazy.dates[2015].categories.data).__module__.startswith("dask")
    # the blocks of the grid (2 x 2 chunks of 2 x 2 px) each computed once: by the first
    # date's pass; the second date, the transitions and the Markov projection reuse them
    assert COVERAGE.computed - before <= 4
    assert COVERAGE.nbytes == 0
    for name in ("transfer", "summary", "dynamic_degree", "flux_effect", "timeseries",
                 "markov"):
        pd.testing.assert_frame_equal(getattr(lazy, name), getattr(plain, name),
                                      check_exact=False, rtol=1e-12)
