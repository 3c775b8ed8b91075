"""Carbon stocks and valuation: hand-computed 4 x 4 values, the InVEST formula, and the
Willamette sample of InVEST Carbon (real data, skipped when absent)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from conftest import GRID4, shared, write_tif
from shapely.geometry import Polygon, box
from test_change import GRID4B

from landcarbon.change.stocks import (
    stock_change,
    stock_density,
    total_density,
    unit_stocks,
    validate_pool_table,
    valuation_constant,
)
from landcarbon.exceptions import InputError
from landcarbon.io.pools import read_pool_table
from landcarbon.io.raster import open_landcover
from landcarbon.io.vector import read_units

# totals (Mg C/ha): 10 -> 95, 30 -> 45, 40 -> 62, 50 -> 20, 80 -> 0, 90 -> 111
POOLS_CSV = """lucode,LULC_Name,C_above,C_below,C_soil,C_dead
10,forest,50,10,30,5
30,grassland,2,3,40,0
40,cropland,1,1,60,0
50,built-up,0,0,20,0
80,water,0,0,0,0
90,wetland,5,5,100,1
"""


@pytest.fixture
def pools(tmp_path: Path) -> pd.DataFrame:
    path = tmp_path / "pools.csv"
    path.write_text(POOLS_CSV, encoding="utf-8")
    return read_pool_table(path)


@pytest.fixture(params=[None, 2], ids=["numpy", "dask"])
def pair(tmp_path: Path, request):
    return (open_landcover(write_tif(tmp_path / "a.tif", GRID4), chunks=request.param),
            open_landcover(write_tif(tmp_path / "b.tif", GRID4B), chunks=request.param))


def _invest_sum(years: int, r: float, c: float, price: float) -> float:
    """The user's-guide form: V / n * sum_{t=0}^{n-1} 1 / ((1 + r/100)^t (1 + c/100)^t)."""
    return price / years * sum(1 / ((1 + r / 100) ** t * (1 + c / 100) ** t)
                               for t in range(years))


def test_pool_table_is_case_insensitive_and_totals(pools) -> None:
    assert list(pools.columns[:4]) == ["c_above", "c_below", "c_soil", "c_dead"]
    assert total_density(pools).to_dict() == {10: 95, 30: 45, 40: 62, 50: 20, 80: 0, 90: 111}


def test_pool_table_errors(tmp_path) -> None:
    with pytest.raises(InputError, match=r"missing column\(s\) c_dead"):
        validate_pool_table(pd.DataFrame({"lucode": [1], "c_above": [1], "c_below": [1],
                                          "c_soil": [1]}))
    bad = pd.DataFrame({"lucode": [1, 1, "x"], "c_above": [1, "n/a", 2], "c_below": [0] * 3,
                        "c_soil": [0] * 3, "c_dead": [0] * 3})
    with pytest.raises(InputError) as err:
        validate_pool_table(bad, "p.csv")
    msg = str(err.value)
    assert "3 problem(s)" in msg and "line 4: lucode 'x'" in msg
    assert "line 3: c_above 'n/a'" in msg and "duplicate lucode(s): 1" in msg
    with pytest.raises(InputError, match="does not exist"):
        read_pool_table(tmp_path / "nope.csv")
    # a negative stock, and an empty cell named as such (not a numpy repr)
    (tmp_path / "neg.csv").write_text("lucode,c_above,c_below,c_soil,c_dead\n1,10,2,-70,0\n"
                                      "2,5,,3,0\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        read_pool_table(tmp_path / "neg.csv")
    msg = str(err.value)
    assert "2 problem(s)" in msg and "line 2: c_soil -70 is negative" in msg
    assert "line 3: c_below (empty) is not a number" in msg and "np.float64" not in msg
    # a header without rows (an IndexError deep in the stock pass before)
    (tmp_path / "hdr.csv").write_text("lucode,c_above,c_below,c_soil,c_dead\n",
                                      encoding="utf-8")
    with pytest.raises(InputError, match="has a header but no rows"):
        read_pool_table(tmp_path / "hdr.csv")


def test_stock_density_raster(pair, pools) -> None:
    dens = stock_density(pair[0], pools).compute()
    assert dens.dtype == np.float32 and dens.rio.nodata == -1
    assert dens.values[0].tolist() == [62, 62, 95, 95]
    assert dens.values[3, 1] == -1  # nodata stays nodata


def test_stock_change_raster(pair, pools) -> None:
    from landcarbon.change.stocks import stock_change_raster

    d = stock_change_raster(stock_density(pair[0], pools), stock_density(pair[1], pools))
    v = np.asarray(d.values)
    assert v[0, 1] == 20 - 62 and v[2, 3] == 111 and v[0, 0] == 0
    assert np.isnan(v[3, 1]) and np.isnan(d.rio.nodata)
    assert np.nansum(v) * 0.01 == pytest.approx(-0.06)


def test_unknown_code_is_refused(tmp_path, pools) -> None:
    codes = open_landcover(write_tif(tmp_path / "c.tif", np.where(GRID4 == 30, 20, GRID4)
                                     .astype(np.uint8)))
    with pytest.raises(InputError, match=r"1 code\(s\) that the carbon pool table does not "
                                         r"list: 20 \(2 px\)"):
        stock_density(codes, pools)


def test_stock_change_and_valuation_by_hand(pair, pools) -> None:
    r = stock_change(*pair, pools, year_from=2015, year_to=2023, price_per_tc=43.0,
                     discount_rate_pct=7.0, price_change_pct=0.0)
    assert r["stock_from_tc"] == pytest.approx(6.83)  # (4*62 + 3*95 + 3*20 + 2*45) * 0.01 ha
    assert r["stock_to_tc"] == pytest.approx(6.77)
    # 40->50 (-42), 10->30 (-50), 80->90 (+111), 30->50 (-25), 0.01 ha each
    assert r["stock_change_tc"] == pytest.approx(-0.06)
    k = _invest_sum(8, 7.0, 0.0, 43.0)
    assert r["valuation_constant"] == pytest.approx(k, rel=1e-12)
    assert r["npv"] == pytest.approx(-0.06 * k, rel=1e-6)
    # price rising as fast as the discount rate: the sum of n ones
    assert valuation_constant(2000, 2010, 0.0, 0.0, 10.0) == pytest.approx(10.0)
    assert valuation_constant(2000, 2030, 5.0, -3.0, 20.0) == pytest.approx(
        _invest_sum(30, 5.0, -3.0, 20.0), rel=1e-12)
    with pytest.raises(ValueError, match="year_to > year_from"):
        valuation_constant(2020, 2020, 7, 0, 1)


def test_unit_stocks_exact_coverage(pair, pools, halves_gpkg) -> None:
    units = read_units(halves_gpkg, layer="units", id_field="code", name_field="name")
    s = unit_stocks(pair[0], pools, units)
    # W: column 0 (62, 62, 20, 20) + half of column 1 (62, 62, 20, nodata)
    assert s.loc["W", "stock_tc"] == pytest.approx(1.64 + 0.72)
    assert s.loc["E", "stock_tc"] == pytest.approx(6.83 - 2.36)
    assert s.loc["W", "stock_c_soil_tc"] == pytest.approx((60 * 2 + 20 * 2) * 0.01
                                                          + (60 * 2 + 20) * 0.005)
    assert s.loc["W", "stocked_ha"] == pytest.approx(0.055)
    cols = [f"stock_{p}_tc" for p in ("c_above", "c_below", "c_soil", "c_dead")]
    np.testing.assert_allclose(s[cols].sum(axis=1), s["stock_tc"])


# Willamette (InVEST Carbon sample data): our totals against InVEST's pixel algorithm
# (carbon.py: float32 pool maps summed, float32 delta, float64 sums x pixel area in ha,
# npv = float32 delta x valuation constant) re-implemented independently on the raw arrays,
# and against the totals natcap.invest 3.20.2 itself reported for the same inputs.
@pytest.mark.realdata
def test_willamette_matches_invest_formula() -> None:
    import rasterio

    cur, fut = shared("willamette", "lulc_samp_cur.tif"), shared("willamette",
                                                                 "lulc_samp_fut.tif")
    table_path = shared("willamette", "carbon_pools_willamette.csv")
    pools = read_pool_table(table_path)
    r = stock_change(open_landcover(cur), open_landcover(fut), pools, year_from=2000,
                     year_to=2030, price_per_tc=43.0, discount_rate_pct=7.0,
                     price_change_pct=0.0)
    # independent: InVEST's pixel algorithm on the raw arrays
    raw = pd.read_csv(table_path).rename(columns=str.lower).set_index("lucode")
    lut = np.full(256, np.nan, np.float32)
    for code, row in raw.iterrows():
        lut[code] = (np.float32(row.c_above) + np.float32(row.c_below)
                     + np.float32(row.c_soil) + np.float32(row.c_dead))
    with rasterio.open(cur) as a, rasterio.open(fut) as b:
        ca, cb = a.read(1), b.read(1)
        px_ha = abs(a.transform.a * a.transform.e) / 10_000
    va, vb = ca != 255, cb != 255
    tot_cur = lut[ca][va].sum(dtype=np.float64) * px_ha
    tot_fut = lut[cb][vb].sum(dtype=np.float64) * px_ha
    delta = (lut[cb] - lut[ca]).astype(np.float32)[va & vb]
    k = _invest_sum(30, 7.0, 0.0, 43.0)
    npv = (delta * np.float32(k)).astype(np.float32).sum(dtype=np.float64) * px_ha
    assert r["stock_from_tc"] == pytest.approx(tot_cur, rel=1e-12)
    assert r["stock_to_tc"] == pytest.approx(tot_fut, rel=1e-12)
    assert r["stock_change_tc"] == pytest.approx(delta.sum(dtype=np.float64) * px_ha,
                                                 rel=1e-12)
    assert r["npv"] == pytest.approx(npv, rel=1e-9)
    # natcap.invest 3.20.2 carbon model, raster_values_summary.csv, same inputs (lulc_bas =
    # lulc_samp_cur.tif 2000, lulc_alt = lulc_samp_fut.tif 2030, price 43, discount 7 %,
    # rate_change 0 %), run in a scratch venv on 2026-11-25
    assert r["stock_from_tc"] == pytest.approx(41401390.815, rel=1e-12)
    assert r["stock_to_tc"] == pytest.approx(37875295.71, rel=1e-12)
    assert r["stock_change_tc"] == pytest.approx(-3526095.105, rel=1e-12)
    assert r["npv"] == pytest.approx(-67106284.230036624, rel=1e-12)
    # ... and with discount 5 %, rate_change 2 %
    r2 = stock_change(open_landcover(cur), open_landcover(fut), pools, year_from=2000,
                      year_to=2030, price_per_tc=43.0, discount_rate_pct=5.0,
                      price_change_pct=2.0)
    assert r2["npv"] == pytest.approx(-66499736.58878906, rel=1e-12)


def test_nodata_at_one_date_only(tmp_path, pools) -> None:
    later = GRID4B.copy()
    later[0, 0] = 0  # cropland (62) in 2015, no data in 2023
    r = stock_change(open_landcover(write_tif(tmp_path / "a.tif", GRID4)),
                     open_landcover(write_tif(tmp_path / "c.tif", later)), pools)
    assert r["stock_from_tc"] == pytest.approx(6.83)
    assert r["stock_to_tc"] == pytest.approx(6.77 - 0.62)
    assert r["stock_change_tc"] == pytest.approx(-0.06)  # only pixels valid at both dates
    assert r["npv"] is None and r["valuation_constant"] is None


def test_unit_stock_change_leaves_out_pixels_nodata_at_one_date(tmp_path, pools,
                                                                halves_gpkg) -> None:
    """Pixel (0, 0) of W is cropland (62 t C/ha, 0.01 ha) in 2015 and nodata in 2023: it is
    neither a loss nor a gain (it counted as a loss of 0.62 t C), so the units' changes add
    up to the whole-area change on the pixels valid at both dates (-0.06)."""
    import landcarbon as lc
    from landcarbon.change.stocks import unit_stock_change

    later = GRID4B.copy()
    later[0, 0] = 0
    a = open_landcover(write_tif(tmp_path / "a.tif", GRID4), chunks=2)
    b = open_landcover(write_tif(tmp_path / "c.tif", later), chunks=2)
    units = read_units(halves_gpkg, layer="units", id_field="code", name_field="name")
    s0, s1 = unit_stocks(a, pools, units), unit_stocks(b, pools, units)
    ch = unit_stock_change(a, b, pools, units)
    assert ch.loc["W", "stock_change_tc"] == pytest.approx(
        s1.loc["W", "stock_tc"] - (s0.loc["W", "stock_tc"] - 0.62))
    assert ch.loc["E", "stock_change_tc"] == pytest.approx(
        s1.loc["E", "stock_tc"] - s0.loc["E", "stock_tc"])
    assert ch.loc["W", "common_ha"] == pytest.approx(s0.loc["W", "stocked_ha"] - 0.01)
    assert ch["stock_change_tc"].sum() == pytest.approx(-0.06)
    # the same through `landcarbon stocks --units` (assess_stocks) and its valuation
    study = lc.assess_stocks(pools, [tmp_path / "a.tif", tmp_path / "c.tif"],
                             years=[2015, 2023], units=units, price_per_tc=10.0)
    per_unit = study.unit_changes.set_index("unit_id")
    assert per_unit["stock_change_tc"].sum() == pytest.approx(
        study.changes.loc[0, "stock_change_tc"]) == pytest.approx(-0.06)
    assert per_unit["npv"].sum() == pytest.approx(study.changes.loc[0, "npv"], rel=1e-6)


@pytest.mark.parametrize("case, words", [
    ("points", ("must be polygons",)),
    ("empty", ("empty or missing geometry",)),
    ("far", ("outside",)),
])
def test_units_of_stocks_are_checked_as_a_runs_are(tmp_path: Path, grid4_tif: Path,
                                                   case: str, words: tuple[str, ...]) -> None:
    """``landcarbon stocks --units`` refuses what a run's gate refuses (points, empty
    geometries, units off the raster: before, each got a stock of 0 with exit 0)."""
    import subprocess
    import sys

    from shapely.geometry import Point

    (tmp_path / "pools.csv").write_text(POOLS_CSV, encoding="utf-8")
    geoms = {"points": [box(500000, 3849960, 500015, 3850000), Point(500020, 3849980)],
             "empty": [box(500000, 3849960, 500015, 3850000), Polygon()],
             "far": [box(600000, 3849960, 600015, 3850000)] * 2}[case]
    gpd.GeoDataFrame({"code": ["W", "E"]}, geometry=geoms, crs="EPSG:32649").to_file(
        tmp_path / "u.gpkg")
    res = subprocess.run([sys.executable, "-m", "landcarbon.cli", "stocks",
                          str(tmp_path / "pools.csv"), str(grid4_tif), "--units",
                          str(tmp_path / "u.gpkg"), "--id-field", "code", "-o",
                          str(tmp_path / "out")], capture_output=True, text=True, timeout=300)
    assert res.returncode == 1 and "Traceback" not in res.stderr
    for word in words:
        assert word in res.stderr, res.stderr
    assert not (tmp_path / "out").exists()


def test_stocks_never_replaces_a_folder_holding_its_inputs(tmp_path: Path,
                                                           grid4_tif: Path) -> None:
    """``landcarbon stocks ... -o F --overwrite`` where F (a previous output) holds one of
    this run's rasters: refused, the raster kept."""
    import hashlib
    import subprocess
    import sys

    (tmp_path / "pools.csv").write_text(POOLS_CSV, encoding="utf-8")
    out = tmp_path / "out"

    def stocks(raster: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "landcarbon.cli", "stocks",
                               str(tmp_path / "pools.csv"), str(raster), "-o", str(out),
                               "--overwrite"], capture_output=True, text=True, timeout=300)

    assert stocks(grid4_tif).returncode == 0
    inside = next(out.glob("c_storage_*.tif"))  # written by landcarbon: replaceable but for
    digest = hashlib.sha256(inside.read_bytes()).hexdigest()
    res = stocks(inside)  # ... being an input now
    assert res.returncode == 1 and "input of this run" in res.stderr, res.stderr
    assert hashlib.sha256(inside.read_bytes()).hexdigest() == digest


def test_fractional_codes_are_named_as_they_are() -> None:
    """Pixel values 10.5 and 10.2 of a float raster are not code 10: the error names them as
    they are (it printed '10 (1 px), 10 (2 px)' although 10 is listed)."""
    from landcarbon.change.stocks import check_pool_codes
    from landcarbon.exceptions import InputError

    with pytest.raises(InputError) as err:
        check_pool_codes(pd.Series([1, 2, 3], index=[10.5, 10.2, 10.0]), np.array([10]))
    assert "holds 2 code(s)" in str(err.value) and "10.5 (1 px), 10.2 (2 px)" in str(err.value)
