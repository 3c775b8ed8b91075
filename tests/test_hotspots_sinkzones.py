"""Gi* hot spots against esda's own result, grid cells and values, sink-function zones."""

from __future__ import annotations

import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rioxarray
from rasterio.transform import from_origin
from shapely.geometry import box

from landcarbon.exceptions import InputError
from landcarbon.zoning.hotspots import (
    grid_cells,
    grid_values,
    hotspot_classes,
    local_statistics,
    spatial_weights,
)
from landcarbon.zoning.sinkzones import sink_function_zones
from tests.conftest import write_tif


def _lattice(n: int = 10) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(geometry=[box(c, -r - 1, c + 1, -r) for r in range(n)
                                      for c in range(n)], crs="EPSG:3857")


def _hot_block() -> np.ndarray:
    y = np.zeros((10, 10))
    y[2:5, 2:5] = 10.0
    return (y + np.random.default_rng(0).normal(0, 1, (10, 10))).ravel()


def test_gi_star_equals_esda_on_a_lattice_with_a_hot_block():
    import esda
    import libpysal

    y = _hot_block()
    res = local_statistics(pd.Series(y), _lattice(), permutations=999, seed=7)
    w = libpysal.weights.lat2W(10, 10, rook=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = esda.G_Local(y, w, transform="B", star=True, permutations=999, seed=7, n_jobs=1)
    np.testing.assert_array_equal(res["gi_z"].to_numpy(), ref.Zs)
    # the block centre (3, 3) is the hottest cell and significant after FDR
    assert res["gi_z"].idxmax() == 33
    assert res.loc[33, "gi_class"].startswith("hot_")
    assert not res["gi_class"].str.startswith("cold_").iloc[[33, 34, 43]].any()
    # permutation p-values: two-sided 2 x p_sim, then Benjamini-Hochberg
    from scipy.stats import false_discovery_control

    expected = false_discovery_control(np.minimum(1, 2 * ref.p_sim), method="bh")
    np.testing.assert_allclose(res["gi_p"].to_numpy(), expected)
    assert res.loc[33, "moran_cluster"] == "HH"


def test_hotspots_are_seed_reproducible_and_fdr_is_stricter():
    y = pd.Series(_hot_block())
    a = local_statistics(y, _lattice(), permutations=199, seed=1, moran=False)
    b = local_statistics(y, _lattice(), permutations=199, seed=1, moran=False)
    pd.testing.assert_frame_equal(a, b)
    raw = local_statistics(y, _lattice(), permutations=199, seed=1, correction="none",
                           moran=False)
    assert (raw["gi_class"] != "not_significant").sum() > (
        a["gi_class"] != "not_significant").sum()
    assert list(a.columns) == ["gi_z", "gi_p", "gi_class"]


def test_analytic_classes_follow_the_z_thresholds():
    from scipy.stats import norm

    z = np.array([2.6, 2.0, 1.7, 1.6, -1.7, -2.0, -2.6])
    classes, p = hotspot_classes(z, 2 * norm.sf(np.abs(z)), correction="none")
    assert classes.tolist() == ["hot_99", "hot_95", "hot_90", "not_significant", "cold_90",
                                "cold_95", "cold_99"]
    assert p.tolist() == pytest.approx((2 * norm.sf(np.abs(z))).tolist())


def test_nan_values_left_out_and_islands_get_neighbours():
    geoms = _lattice(4)
    geoms.loc[len(geoms)] = box(100, 100, 101, 101)   # an island far away
    y = pd.Series(np.r_[np.arange(16.0), 3.0])
    y[5] = np.nan
    res = local_statistics(y, geoms, permutations=0)
    assert np.isnan(res.loc[5, "gi_z"]) and res.loc[5, "gi_class"] == "not_significant"
    assert np.isfinite(res.drop(index=5)["gi_z"]).all()
    w = spatial_weights(geoms.drop(index=5))
    assert not w.islands and len(w.neighbors[15]) == 8     # the island: 8 nearest
    assert all(isinstance(j, int) for j in w.neighbors[15])
    with pytest.raises(InputError, match="at least 3 units"):
        spatial_weights(geoms.iloc[:2])


def test_grid_cells_cover_the_area():
    area = gpd.GeoDataFrame(geometry=[box(500000, 3840000, 501500, 3841000)], crs="EPSG:32649")
    cells = grid_cells(area, 1000.0, crs="EPSG:32649")
    assert cells["cell_id"].tolist() == ["r0c0", "r0c1"]
    assert cells.geometry.area.tolist() == [1e6, 1e6]
    assert len(grid_cells(area, 500.0, crs="EPSG:32649")) == 6
    with pytest.raises(InputError, match="cell_size_m must be > 0"):
        grid_cells(area, 0)


def test_grid_values_area_weighted_means(tmp_path):
    # 4 x 4 pixels of 10 m; cells of 20 m = 2 x 2 pixel blocks
    values = np.array([[1, 1, 2, 2],
                       [1, 1, 2, np.nan],
                       [3, 3, 4, 4],
                       [3, 3, 4, 4]], dtype=np.float32)
    path = write_tif(tmp_path / "v.tif", values, nodata=np.nan)
    raster = rioxarray.open_rasterio(path, masked=True).squeeze("band", drop=True)
    cells = gpd.GeoDataFrame(geometry=[box(500000 + c * 20, 3850000 - (r + 1) * 20,
                                           500020 + c * 20, 3850000 - r * 20)
                                       for r in range(2) for c in range(2)] + [
        box(600000, 3850000, 600020, 3850020)], crs="EPSG:32649")
    got = grid_values(raster, cells, strip_rows=3)
    assert got["mean"].iloc[:4].tolist() == pytest.approx([1, 2, 3, 4])
    assert np.isnan(got["mean"].iloc[4])
    assert got["coverage"].tolist() == pytest.approx([1, 0.75, 1, 1, 0], abs=1e-3)


def _sink_rasters(tmp_path):
    """60 x 60 pixels of 10 m (0.01 ha): a 20 x 20 forest block (ecological, -0.644), a
    3-pixel water column (-0.253) with 2 pixels of grassland (-0.021) on each side, cropland
    (+0.422, agricultural) elsewhere."""
    flux = np.full((60, 60), 0.422, dtype=np.float32)
    eco = np.zeros((60, 60), dtype=np.uint8)
    water = np.zeros((60, 60), dtype=np.uint8)
    flux[5:25, 5:25] = -0.644
    eco[5:25, 5:25] = 1
    flux[:, 44:46] = flux[:, 49:51] = -0.021
    flux[:, 46:49] = -0.253
    eco[:, 44:51] = 1
    water[:, 46:49] = 1
    t = from_origin(500000, 3850000, 10, 10)
    out = []
    for name, arr in (("flux", flux), ("eco", eco), ("water", water)):
        path = write_tif(tmp_path / f"{name}.tif", arr, transform=t, nodata=None)
        out.append(rioxarray.open_rasterio(path).squeeze("band", drop=True))
    return out[0], out[1].astype(bool), out[2].astype(bool)


def test_sink_zone_and_water_corridor_hand_computed(tmp_path):
    flux, eco, water = _sink_rasters(tmp_path)
    zones = sink_function_zones(flux, eco, water, window_m=10, min_density_tc_per_ha=0.3,
                                min_area_ha=1.0, corridor_width_m=20)
    assert zones["kind"].tolist() == ["zone", "corridor"]
    zone, corridor = zones.iloc[0], zones.iloc[1]
    assert zone["zone_id"] == "Z1" and zone["role"] == "core"
    assert zone["area_ha"] == pytest.approx(4.0)                 # 400 px x 0.01 ha
    assert zone["sink_tc"] == pytest.approx(400 * 0.01 * 0.644, rel=1e-6)
    assert zone.geometry.area == pytest.approx(40_000.0)
    assert zone.geometry.bounds == pytest.approx((500050, 3849750, 500250, 3849950))
    # water (3 px) + grassland within 20 m (2 px each side), 60 rows
    assert corridor["role"] == "belt"
    assert corridor["area_ha"] == pytest.approx(60 * 7 * 0.01)
    assert corridor["sink_tc"] == pytest.approx(60 * 0.01 * (3 * 0.253 + 4 * 0.021), rel=1e-6)
    assert zones.crs.to_epsg() == 32649


def test_sink_zones_filters_and_empty(tmp_path):
    flux, eco, water = _sink_rasters(tmp_path)
    none = sink_function_zones(flux, eco, water, window_m=10, min_area_ha=5.0,
                               corridor_width_m=20)
    assert len(none) == 0 and list(none.columns)[-1] == "geometry"
    smoothed = sink_function_zones(flux, eco, water, window_m=50, min_density_tc_per_ha=0.3,
                                   min_area_ha=1.0, corridor_width_m=0)
    assert smoothed["kind"].tolist() == ["zone"]
    # a 5 x 5 window needs > 0.3 / 0.644 of forest around a pixel: the block shrinks
    assert 2.0 < smoothed["area_ha"].iloc[0] < 4.0
    coarse = sink_function_zones(flux, eco, water, window_m=10, min_area_ha=1.0,
                                 corridor_width_m=0, max_pixels=900)
    # aggregated by 2 x 2 blocks: the block starts on an odd pixel, so its 4 corner blocks
    # hold one forest pixel each (density 0.161 < 0.3, ecological share 0.25) and drop out;
    # every other block's sink is conserved (block mean x block area)
    assert coarse["sink_tc"].iloc[0] == pytest.approx((400 - 4) * 0.01 * 0.644, rel=1e-6)
    # 11 x 11 blocks of 0.04 ha touch the forest, minus the 4 corners
    assert coarse["area_ha"].iloc[0] == pytest.approx((121 - 4) * 0.04,
                                                      rel=1e-6)


@pytest.mark.parametrize("weights", ["queen", "knn"])
def test_cached_permutations_give_esdas_p_values(weights: str) -> None:
    """landcarbon.zoning.crand runs esda's conditional permutations compiled once: for the
    same seed the same pseudo p-values as esda itself (G*: float32; Moran), to the bit, on
    the sample townships (an island-free queen and a k-nearest weights)."""
    import esda
    from libpysal.weights import KNN, Queen

    from landcarbon.zoning.crand import G_STAR, MORAN, pseudo_p_values

    units = gpd.read_file(Path(__file__).resolve().parents[1] / "data" / "sample_tiles"
                          / "townships.gpkg")
    w = (Queen.from_dataframe(units, use_index=False) if weights == "queen"
         else KNN.from_dataframe(units, k=6))
    y = np.random.default_rng(7).gamma(2.0, 50.0, len(units))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g0 = esda.G_Local(y, w, transform="B", star=True, permutations=0, n_jobs=1)
        g = esda.G_Local(y, w, transform="B", star=True, permutations=199, seed=42, n_jobs=1)
        w.transform = "r"
        m0 = esda.Moran_Local(y, w, transformation="r", permutations=0, n_jobs=1)
        m = esda.Moran_Local(y, w, transformation="r", permutations=199, seed=42, n_jobs=1)
    mine = pseudo_p_values(G_STAR, g0.y, g0.w, g0.Gs, 199, 42, scaling=float(g0.y.sum()))
    assert np.array_equal(mine.astype(np.float32), g.p_sim)
    assert np.array_equal(pseudo_p_values(MORAN, m0.z, m0.w, m0.Is, 199, 42), m.p_sim)
    assert mine.min() >= 1 / 200 and mine.max() <= 0.5 + 1 / 200  # directed: folded


def test_draws_that_tie_with_the_observed_value_count_as_extreme() -> None:
    """Sites whose neighbours hold the most extreme values possible, with other sites of the
    same values (ties): esda's count lost the draws equal to the observed statistic but
    computed in another order, and gave p = 1 / (n + 1). The pseudo p-values now follow
    exact enumeration of the draws: site 0 (neighbours 1, 2: 0.3 + 0.3) among {0.3 x 3,
    1.7}: sums {0.6 x 3, 2.0 x 3} -> p = 0.5; site 3 (neighbour 4 = 1.7, the only one) ->
    p = 1/4."""
    import itertools

    import esda
    from libpysal.weights import W

    from landcarbon.zoning.crand import G_STAR, pseudo_p_values

    y = np.array([0.3, 0.3, 0.3, 0.3, 1.7])
    w = W({0: [1, 2], 1: [0, 2], 2: [0, 1], 3: [4], 4: [3]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g0 = esda.G_Local(y, w, transform="B", star=True, permutations=0, n_jobs=1)
    p = pseudo_p_values(G_STAR, g0.y, g0.w, g0.Gs, 999, 7, scaling=float(g0.y.sum()))
    for i in range(len(y)):
        nb = w.neighbors[i]
        others = [j for j in range(len(y)) if j != i]
        sums = np.array([y[list(c)].sum() for c in itertools.combinations(others, len(nb))])
        obs = y[nb].sum()
        exact = min(np.mean(sums >= obs - 1e-9), np.mean(sums <= obs + 1e-9))
        assert abs(p[i] - exact) < 0.05, (i, p[i], exact)
    assert p[0] > 0.4 and 0.2 < p[3] < 0.3
