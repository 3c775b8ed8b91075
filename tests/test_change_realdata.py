"""Change over time on real land cover (skipped when ../shared/data is absent)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import shared
from pyproj import CRS

from landcarbon.accounting.classification import classify
from landcarbon.accounting.legends import NODATA_CATEGORY, load_legend
from landcarbon.change.transitions import align_to, check_aligned, transition_areas_ha
from landcarbon.engine.areas import row_areas_m2
from landcarbon.exceptions import InputError
from landcarbon.io.raster import open_landcover

pytestmark = pytest.mark.realdata


def test_worldcover_principe_numpy_equals_dask_and_areas_add_up() -> None:
    """Geographic grid (ellipsoidal row areas): block row offsets must be right for dask."""
    a_path = shared("worldcover", "worldcover_2020_v100_principe_crop.tif")
    b_path = shared("worldcover", "worldcover_2021_v200_principe_crop.tif")
    legend = load_legend("esa_worldcover")
    ca, cb = (classify(open_landcover(p, chunks=None), legend) for p in (a_path, b_path))
    n = int(max(ca.max(), cb.where(cb != NODATA_CATEGORY).max())) + 1
    m = transition_areas_ha(ca, cb, n, nodata=NODATA_CATEGORY)
    da, db = (classify(open_landcover(p, chunks=700), legend) for p in (a_path, b_path))
    np.testing.assert_allclose(transition_areas_ha(da, db, n, nodata=NODATA_CATEGORY), m,
                               rtol=1e-10)
    # independent: row areas x pixel counts of pixels valid at both dates
    va, vb = np.asarray(ca.values), np.asarray(cb.values)
    both = (va != NODATA_CATEGORY) & (vb != NODATA_CATEGORY)
    rows = row_areas_m2(ca.rio.transform(), ca.sizes["y"],
                        CRS.from_user_input(ca.rio.crs)) / 10_000
    expected_total = float((both.sum(axis=1) * rows).sum())
    assert m.sum() == pytest.approx(expected_total, rel=1e-10)
    forest = legend.categories.index[legend.categories["land_class"] == "forest"][0]
    from_forest = float(((va == forest) & both).sum(axis=1) @ rows)
    assert m[forest].sum() == pytest.approx(from_forest, rel=1e-10)
    assert m.sum() > 1000  # Principe island: more than 10 km2 of land


def test_corine_lausanne_grids_differ_and_nearest_resampling() -> None:
    a = open_landcover(shared("corine_lausanne", "ls100_06.tif"))
    b = open_landcover(shared("corine_lausanne", "ls100_12.tif"))
    with pytest.raises(InputError) as err:
        check_aligned(a, b, names=("2006", "2012"))
    assert "EPSG:2056" in str(err.value) and "pixel 100.005" in str(err.value)
    aligned = align_to(b, a, resample="nearest", names=("2006", "2012"))
    check_aligned(a, aligned)
    legend = load_legend("corine")
    ca, cb = classify(a, legend), classify(aligned, legend)
    n = len(legend.categories)
    m = transition_areas_ha(ca, cb, n, nodata=NODATA_CATEGORY)
    # most land persists over 6 years; the resampled grid keeps the area of the first grid
    assert np.trace(m) / m.sum() > 0.9
    px_ha = (100.00512429624578 ** 2) / 10_000
    both = (np.asarray(ca.values) != NODATA_CATEGORY) & (np.asarray(cb.values)
                                                         != NODATA_CATEGORY)
    assert m.sum() == pytest.approx(both.sum() * px_ha, rel=1e-10)
