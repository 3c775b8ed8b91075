"""unit_change_summaries: every unit's change summary and comprehensive dynamic degree at once,
the same numbers as change_summary(transfer_matrix(...)) unit by unit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from landcarbon.change.summaries import (
    change_summary,
    comprehensive_dynamic_degree,
    transfer_matrix,
    unit_change_summaries,
)


def _transitions(seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    classes = ["cropland", "forest", "grassland", "construction", "water"]
    spaces = ["agricultural", "ecological", "construction"]
    n = 400
    t = pd.DataFrame({
        "unit_id": rng.choice([f"u{i}" for i in range(30)], n),
        "from_land_class": rng.choice(classes, n), "from_space_type": rng.choice(spaces, n),
        "to_land_class": rng.choice(classes, n), "to_space_type": rng.choice(spaces, n),
        "area_ha": rng.uniform(0.01, 5.0, n)})
    t.loc[t["unit_id"] == "u3", "to_land_class"] = t.loc[t["unit_id"] == "u3",
                                                         "from_land_class"]  # no change
    return t


@pytest.mark.parametrize("by", ["land_class", "space_type"])
def test_same_as_unit_by_unit(by: str) -> None:
    t = _transitions(1)
    summary, degree = unit_change_summaries(t, by, 8.0)  # type: ignore[arg-type]
    parts = []
    for uid, sub in t.groupby("unit_id", sort=False):
        m = transfer_matrix(sub, by)  # type: ignore[arg-type]
        parts.append(change_summary(m, 8.0).reset_index().assign(unit_id=uid))
        assert degree[uid] == pytest.approx(comprehensive_dynamic_degree(m, 8.0), rel=1e-12)
    expected = pd.concat(parts, ignore_index=True)
    got = summary[expected.columns]
    assert list(got["unit_id"]) == list(expected["unit_id"])
    assert list(got["class"]) == list(expected["class"])
    pd.testing.assert_frame_equal(got, expected, rtol=1e-12, check_dtype=False)
    assert degree["u3"] == 0.0 if by == "land_class" else True


def test_by_hand() -> None:
    # one unit: 2 ha cropland stays, 1 ha cropland -> construction, over 2 years
    t = pd.DataFrame({"unit_id": ["a", "a"], "from_land_class": ["cropland", "cropland"],
                      "to_land_class": ["cropland", "construction"], "area_ha": [2.0, 1.0]})
    s, d = unit_change_summaries(t, "land_class", 2.0)
    row = s.set_index("class").loc["cropland"]
    assert (row["area_from_ha"], row["area_to_ha"], row["loss_ha"]) == (3.0, 2.0, 1.0)
    assert row["dynamic_degree_pct_per_yr"] == pytest.approx(-1 / 3 / 2 * 100)
    assert np.isnan(s.set_index("class").loc["construction", "dynamic_degree_pct_per_yr"])
    assert d["a"] == pytest.approx(2.0 / (2 * 3.0) / 2 * 100)
