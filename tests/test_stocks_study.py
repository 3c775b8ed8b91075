"""Stocks-only studies (``landcarbon stocks``): InVEST Carbon's own test-suite values
(natcap/invest ``tests/test_carbon.py``, InVEST 3.15+, per-hectare rasters), hand-computed
totals, whole-raster totals independent of the units, and the InVEST Willamette sample."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin
from shapely.geometry import box

from landcarbon.change.stocks import valuation_constant
from landcarbon.io.vector import read_units
from landcarbon.pipeline.stocks_study import assess_stocks, run_stocks

WILLAMETTE = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "willamette"


def _raster(path: Path, array: np.ndarray, nodata: float | None, *, pixel: float = 1.0,
            origin: tuple[float, float] = (461261, 4923265)) -> Path:
    """A GeoTIFF in UTM 10N (EPSG:26910) as InVEST's tests make them."""
    with rasterio.open(path, "w", driver="GTiff", height=array.shape[0], width=array.shape[1],
                       count=1, dtype=array.dtype, crs="EPSG:26910", nodata=nodata,
                       transform=from_origin(*origin, pixel, pixel)) as dst:
        dst.write(array, 1)
    return path


def _invest_pools(path: Path) -> Path:
    """InVEST's make_pools_csv (mixed-case headers, the lucode column not first)."""
    path.write_text('C_above,C_below,C_soil,C_dead,lucode,LULC_Name\n'
                    '15,10,60,1,1,"lulc code 1"\n5,3,20,0,2,"lulc code 2"\n'
                    '2,1,5,0,3,"lulc code 3"\n', encoding="utf-8")
    return path


def _invest_case(tmp_path: Path, nodata: float | None = -1) -> tuple[Path, list[Path]]:
    """InVEST's test_carbon_full inputs: 10 x 10 int32 rasters of 1 m pixels filled with 1
    (baseline) and 2 (alternate)."""
    lulc = [_raster(tmp_path / f"lulc_{i}.tif", np.full((10, 10), i, np.int32), nodata)
            for i in (1, 2)]
    return _invest_pools(tmp_path / "pools.csv"), lulc


def _read(path: Path) -> np.ndarray:
    with rasterio.open(path) as src:
        return src.read(1)


def test_invest_carbon_full_through_the_command(tmp_path: Path) -> None:
    """test_carbon_full: c_storage 86 and 28 Mg/ha, c_change -58, npv -3422.079 per ha
    (valuation constant 59.00136), report totals 0.86, 0.28, -0.58 Mg and NPV -34.22."""
    pools, lulc = _invest_case(tmp_path)
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "-m", "landcarbon.cli", "-q", "stocks", str(pools),
                        *map(str, lulc), "-y", "2016", "-y", "2030", "--price", "43",
                        "--rate-change", "2.8", "--discount-rate", "-7.1", "-o", str(out),
                        "--json"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""  # -q: nothing but the result
    doc = json.loads(r.stdout)
    assert doc["schema"] == "landcarbon.result/1" and doc["command"] == "stocks"
    np.testing.assert_allclose(_read(out / "c_storage_2016.tif"), 86, rtol=0, atol=1e-3)
    np.testing.assert_allclose(_read(out / "c_storage_2030.tif"), 28, rtol=0, atol=1e-3)
    np.testing.assert_allclose(_read(out / "c_change_2016_2030.tif"), -58, rtol=0, atol=1e-3)
    np.testing.assert_allclose(_read(out / "npv_2016_2030.tif"), -3422.079, rtol=0, atol=1e-3)
    t = doc["totals"]
    assert [round(d["stock_tc"], 2) for d in t["dates"]] == [0.86, 0.28]
    (change,) = t["changes"]
    assert round(change["stock_change_tc"], 2) == -0.58
    assert round(change["npv"], 2) == -34.22
    assert round(change["valuation_constant"], 5) == 59.00136
    assert set(doc["files"]) >= {"c_storage_2016", "stock_totals", "stock_change_totals",
                                 "manifest"}
    assert json.loads((out / "stocks.json").read_text(encoding="utf-8"))["totals"] == t


def test_invest_zero_rates_and_undefined_nodata(tmp_path: Path) -> None:
    """test_carbon_zero_rates: -58 Mg/ha x 43 = -2494 per ha; test_carbon_full_undefined_
    nodata: rasters without nodata give the same NPV as test_carbon_full."""
    pools, lulc = _invest_case(tmp_path)
    _, files = run_stocks(pools, lulc, tmp_path / "zero", years=[2016, 2030],
                          price_per_tc=43.0)[1:]
    np.testing.assert_allclose(_read(tmp_path / "zero" / files["npv_2016_2030"]), -2494,
                               rtol=0, atol=1e-3)
    (tmp_path / "nd").mkdir()
    pools, lulc = _invest_case(tmp_path / "nd", nodata=None)
    study = assess_stocks(pools, lulc, years=[2016, 2030], price_per_tc=43.0,
                          discount_rate_pct=-7.1, price_change_pct=2.8)
    assert round(study.changes["npv"].iloc[0], 2) == -34.22
    assert study.totals["stocked_ha"].tolist() == [0.01, 0.01]


def test_invest_missing_landcover_values(tmp_path: Path) -> None:
    """test_carbon_missing_landcover_values: code 200 is not in the table -> exit 1 naming
    it, no output folder."""
    pools = _invest_pools(tmp_path / "pools.csv")
    lulc = _raster(tmp_path / "l.tif", np.full((10, 10), 200, np.int32), -1)
    r = subprocess.run([sys.executable, "-m", "landcarbon.cli", "stocks", str(pools), str(lulc),
                        "-o", str(tmp_path / "out")], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 1 and "200" in r.stderr and "Traceback" not in r.stderr
    assert r.stdout == "" and not (tmp_path / "out").exists()


def test_invest_generate_carbon_map_and_valuation_constant(tmp_path: Path) -> None:
    """test_generate_carbon_map (3.15+: Mg/ha, [[5000, 5000], [60, 120]]) and
    test_calculate_valuation_constant (40.87302)."""
    pools = tmp_path / "p.csv"
    pools.write_text("lucode,c_above,c_below,c_soil,c_dead\n1,5000,0,0,0\n2,60,0,0,0\n"
                     "3,120,0,0,0\n", encoding="utf-8")
    lulc = _raster(tmp_path / "l.tif", np.array([[1, 1], [2, 3]], np.int32), -999,
                   origin=(461251, 4923245))
    study = assess_stocks(pools, [lulc])
    np.testing.assert_array_equal(study.densities["bas"].values,
                                  np.array([[5000, 5000], [60, 120]], np.float32))
    assert round(valuation_constant(2010, 2012, 50, 5, 50), 5) == 40.87302


def test_hand_computed_totals_cover_the_whole_raster_not_the_units(tmp_path: Path) -> None:
    """10 m pixels (0.01 ha). Codes 1 (86 t C/ha) and 2 (28), one nodata pixel; a unit over
    the left two columns only. Whole-raster totals count every pixel with a code."""
    a = np.array([[1, 1, 2, 2], [1, 1, 2, 255], [2, 2, 2, 2]], np.uint8)
    b = np.array([[2, 1, 2, 2], [1, 1, 1, 255], [2, 2, 2, 255]], np.uint8)
    ra = _raster(tmp_path / "a.tif", a, 255, pixel=10, origin=(500000, 4000030))
    rb = _raster(tmp_path / "b.tif", b, 255, pixel=10, origin=(500000, 4000030))
    pools = _invest_pools(tmp_path / "pools.csv")
    gpd.GeoDataFrame({"code": ["W"]}, geometry=[box(500000, 4000000, 500020, 4000030)],
                     crs="EPSG:26910").to_file(tmp_path / "u.gpkg")
    units = read_units(tmp_path / "u.gpkg", id_field="code")
    s = assess_stocks(pools, [ra, rb], years=[2000, 2010], units=units, price_per_tc=10.0)
    # date a: 4 px of 86 + 7 px of 28; date b: 4 px of 86 + 6 px of 28 (two nodata)
    assert s.totals["stock_tc"].tolist() == pytest.approx([(4 * 86 + 7 * 28) * 0.01,
                                                          (4 * 86 + 6 * 28) * 0.01], abs=1e-9)
    assert s.totals["stock_c_soil_tc"].iloc[0] == pytest.approx((4 * 60 + 7 * 20) * 0.01)
    assert s.totals["stocked_ha"].tolist() == pytest.approx([0.11, 0.10])
    ch = s.changes.iloc[0]
    # pixels valid at both: (0,0) 1->2 (-58) and (1,2) 2->1 (+58): change 0; npv 0
    assert ch["stock_change_tc"] == pytest.approx(0.0, abs=1e-9)
    assert ch["valuation_constant"] == pytest.approx(10.0)
    # the unit: left two columns, 6 px: a = 4 x 86 + 2 x 28, b = 3 x 86 + 3 x 28
    u = s.unit_stocks.set_index(["date", "unit_id"])["stock_tc"]
    assert u[("2000", "W")] == pytest.approx((4 * 86 + 2 * 28) * 0.01)
    assert u[("2010", "W")] == pytest.approx((3 * 86 + 3 * 28) * 0.01)
    assert s.unit_changes["stock_change_tc"].iloc[0] == pytest.approx(-0.58)
    assert s.unit_changes["npv"].iloc[0] == pytest.approx(-5.8)
    assert "2000: " in repr(s) and "<table" in s._repr_html_()


def test_years_must_match_the_rasters(tmp_path: Path) -> None:
    pools, lulc = _invest_case(tmp_path)
    from landcarbon.exceptions import ConfigError

    with pytest.raises(ConfigError, match="one --year per raster"):
        assess_stocks(pools, lulc, years=[2016])
    with pytest.raises(ConfigError, match="Valuation"):
        assess_stocks(pools, lulc, price_per_tc=43.0)


def test_stocks_messages_name_what_stocks_takes(tmp_path: Path) -> None:
    """Rasters on two grids: the fix is to warp them (stocks has no [change] resample);
    a --nodata the rasters cannot hold is named as --nodata (not [landcover] nodata)."""
    from landcarbon.exceptions import InputError

    pools, lulc = _invest_case(tmp_path)
    other = _raster(tmp_path / "other.tif", np.full((10, 10), 2, np.int32), -1, pixel=2.0)
    with pytest.raises(InputError) as err:
        assess_stocks(pools, [lulc[0], other])
    assert "not on the same grid" in str(err.value) and "gdalwarp" in str(err.value)
    assert "resample" not in str(err.value)
    small = _raster(tmp_path / "u8.tif", np.full((10, 10), 1, np.uint8), None)
    with pytest.raises(InputError, match=r"^--nodata = 999 cannot occur"):
        assess_stocks(pools, [small], nodata=999)


@pytest.mark.parametrize(("settings", "named"), [
    ({"discount_rate_pct": -100.0}, "discount rate"),  # 1 + r/100 = 0: a division by zero
    ({"price_change_pct": -250.0}, "price change"),
    ({"discount_rate_pct": float("nan")}, "discount rate"),
    ({"price_per_tc": float("inf")}, "price"),
    ({"price_per_tc": -50.0}, "price"),
    ({"nodata": float("nan")}, "nodata"),  # was: cannot convert float NaN to integer
])
def test_valuation_settings_no_study_can_use(tmp_path: Path, settings: dict[str, float],
                                             named: str) -> None:
    pools, lulc = _invest_case(tmp_path)
    from landcarbon.exceptions import ConfigError

    kwargs = {"years": [2000, 2010], "price_per_tc": 43.0, **settings}
    with pytest.raises(ConfigError, match=f"the {named} ") as err:
        assess_stocks(pools, lulc, **kwargs)
    assert "--" in str(err.value)  # names the command's option too
    if "price_per_tc" in settings:  # before (not instead of) the years it also lacks
        with pytest.raises(ConfigError, match=f"the {named} "):
            assess_stocks(pools, lulc[:1], price_per_tc=settings["price_per_tc"])


@pytest.mark.realdata
def test_willamette_whole_raster_totals_equal_the_exact_values(tmp_path: Path) -> None:
    """InVEST's Willamette sample (30 m, integer pools): the exact totals (pixel counts x
    pools x 0.09 ha), which InVEST 3.15+ reproduces: 41,401,390.815 and 37,875,295.710 Mg C,
    change -3,526,095.105 Mg C; NPV at 43/t C, 7 %, 2020 -> 2050: -67,106,284.23."""
    if not WILLAMETTE.is_dir():
        pytest.skip("../shared/data/willamette is absent")
    units = read_units(WILLAMETTE / "watersheds.shp", id_field="ws_id")
    s = assess_stocks(WILLAMETTE / "carbon_pools_willamette.csv",
                      [WILLAMETTE / "lulc_samp_cur.tif", WILLAMETTE / "lulc_samp_fut.tif"],
                      years=[2020, 2050], units=units, price_per_tc=43.0,
                      discount_rate_pct=7.0)
    assert s.totals["stock_tc"].tolist() == pytest.approx([41401390.815, 37875295.710],
                                                          rel=1e-12)
    ch = s.changes.iloc[0]
    assert ch["stock_change_tc"] == pytest.approx(-3526095.105, rel=1e-12)
    assert ch["npv"] == pytest.approx(-67106284.23, rel=1e-10)
    # the watersheds cover part of the raster: their stocks are less than the whole
    per_unit = s.unit_stocks.groupby("date")["stock_tc"].sum()
    assert (per_unit < s.totals.set_index("date")["stock_tc"]).all()


def test_a_raster_without_nodata_is_named_in_a_warning(tmp_path: Path) -> None:
    """A float land cover with NaN and no nodata tag: NaN pixels are left out, as a run does,
    and the study says so (run's validate warns with nodata_missing; stocks did not)."""
    from _trust import warnings_of

    pools = _invest_pools(tmp_path / "pools.csv")
    codes = np.full((10, 10), 1.0, np.float32)
    codes[0, :5] = np.nan
    lulc = _raster(tmp_path / "nan.tif", codes, None)
    with warnings_of("landcarbon.pipeline.stocks_study") as said:
        s = assess_stocks(pools, [lulc])
    assert [m for m in said if "nan.tif declares no nodata value: NaN pixels are treated as "
            "nodata" in m and "--nodata" in m], said
    assert s.totals["stocked_ha"].iloc[0] == pytest.approx(95 * 1e-4)  # 95 of 100 m2 pixels
