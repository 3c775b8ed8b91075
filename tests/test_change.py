"""Transfer matrices, Pontius components, dynamic degrees and flux effects on a hand-checked
4 x 4 raster pair (GRID4 -> GRID4B, 10 m pixels = 0.01 ha)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import GRID4, write_tif
from rasterio.transform import from_origin

from landcarbon.accounting.classification import classify
from landcarbon.accounting.legends import load_legend
from landcarbon.change.summaries import (
    change_summary,
    comprehensive_dynamic_degree,
    flux_effect,
    transfer_matrix,
)
from landcarbon.change.transitions import align_to, category_transitions, check_aligned
from landcarbon.exceptions import InputError
from landcarbon.io.raster import open_landcover
from landcarbon.io.vector import read_units

# second date: 40->50 at (0,1), 10->30 at (1,2), 80->90 at (2,3), 30->50 at (3,2)
GRID4B = np.array([[40, 50, 10, 10],
                   [40, 40, 30, 80],
                   [50, 50, 30, 90],
                   [50, 0, 50, 80]], dtype=np.uint8)
CLASSES = ["cropland", "forest", "grassland", "water", "wetland", "construction"]
# rows = 2015, columns = 2023, in pixels of 0.01 ha
EXPECTED = pd.DataFrame(
    [[3, 0, 0, 0, 0, 1],
     [0, 2, 1, 0, 0, 0],
     [0, 0, 1, 0, 0, 1],
     [0, 0, 0, 2, 1, 0],
     [0, 0, 0, 0, 0, 0],
     [0, 0, 0, 0, 0, 3]], index=CLASSES, columns=CLASSES) * 0.01


def _cats(path: Path, chunks: int | None = None):
    return classify(open_landcover(path, chunks=chunks), load_legend("esa_worldcover"))


@pytest.fixture
def pair(tmp_path: Path):
    a = write_tif(tmp_path / "lc_2015.tif", GRID4)
    b = write_tif(tmp_path / "lc_2023.tif", GRID4B)
    return a, b


@pytest.mark.parametrize("chunks", [None, 2])
def test_whole_area_transfer_matrix_by_hand(pair, chunks) -> None:
    a, b = pair
    t = category_transitions(_cats(a, chunks), _cats(b, chunks))
    m = transfer_matrix(t, "land_class", order=CLASSES)
    np.testing.assert_allclose(m.to_numpy(), EXPECTED.to_numpy(), atol=1e-12)
    assert m.to_numpy().sum() == pytest.approx(0.15)  # 15 pixels with data at both dates
    sm = transfer_matrix(t, "space_type")
    assert sm.loc["agricultural", "construction"] == pytest.approx(0.01)
    assert sm.loc["ecological", "construction"] == pytest.approx(0.01)
    assert sm.loc["ecological", "ecological"] == pytest.approx(0.07)  # 2+1+1+2+1 px
    assert sm.loc["construction", "construction"] == pytest.approx(0.03)


def test_pontius_components_and_dynamic_degree(pair) -> None:
    s = change_summary(EXPECTED, years=8)
    crop, con, grass, wet = (s.loc[c] for c in ("cropland", "construction", "grassland",
                                                "wetland"))
    assert (crop.persistence_ha, crop.gain_ha, crop.loss_ha) == pytest.approx((0.03, 0, 0.01))
    assert crop.net_ha == pytest.approx(-0.01) and crop.swap_ha == pytest.approx(0)
    assert crop.dynamic_degree_pct_per_yr == pytest.approx((0.03 - 0.04) / 0.04 / 8 * 100)
    assert con.gain_ha == pytest.approx(0.02) and con.net_ha == pytest.approx(0.02)
    assert con.dynamic_degree_pct_per_yr == pytest.approx(0.02 / 0.03 / 8 * 100)
    # grassland gains 1 px from forest and loses 1 px to construction: pure swap
    assert (grass.gain_ha, grass.loss_ha, grass.net_ha, grass.swap_ha,
            grass.total_change_ha) == pytest.approx((0.01, 0.01, 0, 0.02, 0.02))
    assert np.isnan(wet.dynamic_degree_pct_per_yr)  # no wetland in 2015
    assert s["gain_ha"].sum() == pytest.approx(s["loss_ha"].sum())  # zero-sum
    assert s["net_ha"].sum() == pytest.approx(0)
    # 0.04 ha changed out of 0.15 ha in 8 years
    assert comprehensive_dynamic_degree(EXPECTED, 8) == pytest.approx(0.04 / 0.15 / 8 * 100)
    with pytest.raises(ValueError, match="years must be > 0"):
        comprehensive_dynamic_degree(EXPECTED, 0)


def test_flux_effect_by_hand() -> None:
    dens = pd.Series({"cropland": 0.422, "forest": -0.644, "grassland": -0.021, "water": -0.253,
                      "wetland": -0.3, "construction": 50.0})
    fx = flux_effect(EXPECTED, dens).set_index(["from", "to"])["flux_change_tc"]
    assert len(fx) == 4  # only changing transitions
    assert fx["cropland", "construction"] == pytest.approx(0.01 * (50 - 0.422))
    assert fx["forest", "grassland"] == pytest.approx(0.01 * (-0.021 + 0.644))
    assert fx["water", "wetland"] == pytest.approx(0.01 * (-0.3 + 0.253))
    assert fx.sum() == pytest.approx(0.49578 + 0.00623 + 0.50021 - 0.00047)
    # without a construction density its transitions have no effect (NaN, not 0)
    fx2 = flux_effect(EXPECTED, dens.drop("construction")).set_index(["from", "to"])
    assert np.isnan(fx2.loc[("cropland", "construction"), "flux_change_tc"])


def test_per_unit_transitions_exact_coverage(pair, halves_gpkg) -> None:
    a, b = pair
    units = read_units(halves_gpkg, layer="units", id_field="code", name_field="name")
    t = category_transitions(_cats(a), _cats(b), units)
    west = transfer_matrix(t[t["unit_id"] == "W"], order=CLASSES)
    east = transfer_matrix(t[t["unit_id"] == "E"], order=CLASSES)
    # W = column 0 + half of column 1 (0.005 ha per half pixel)
    assert west.loc["cropland", "cropland"] == pytest.approx(0.025)
    assert west.loc["cropland", "construction"] == pytest.approx(0.005)
    assert west.loc["construction", "construction"] == pytest.approx(0.025)
    assert west.to_numpy().sum() == pytest.approx(0.055)
    assert east.loc["forest", "grassland"] == pytest.approx(0.01)
    assert east.loc["cropland", "construction"] == pytest.approx(0.005)
    # units tile the raster: per-unit matrices add up to the whole-area matrix
    np.testing.assert_allclose((west + east).to_numpy(), EXPECTED.to_numpy(), atol=1e-12)


def test_misaligned_grids_error_names_both(pair, tmp_path) -> None:
    a, _ = pair
    shifted = write_tif(tmp_path / "shifted.tif", GRID4B,
                        transform=from_origin(500010, 3850000, 10, 10))
    with pytest.raises(InputError) as err:
        check_aligned(_cats(a), _cats(shifted), names=("2015", "2023"))
    msg = str(err.value)
    assert "2015" in msg and "2023" in msg and "origin (500000.000" in msg
    assert "origin (500010.000" in msg and 'resample = "nearest"' in msg
    with pytest.raises(InputError, match="not on the same grid"):
        category_transitions(_cats(a), _cats(shifted))


def test_nearest_resampling_onto_first_grid(pair, tmp_path) -> None:
    a, _ = pair
    fine = write_tif(tmp_path / "fine.tif", np.kron(GRID4B, np.ones((2, 2), np.uint8)),
                     transform=from_origin(500000, 3850000, 5, 5))
    ca, cb = _cats(a), _cats(fine)
    with pytest.raises(InputError):
        align_to(cb, ca)
    aligned = align_to(cb, ca, resample="nearest", names=("2015", "2023"))
    check_aligned(ca, aligned)
    m = transfer_matrix(category_transitions(ca, aligned), order=CLASSES)
    np.testing.assert_allclose(m.to_numpy(), EXPECTED.to_numpy(), atol=1e-12)
