"""Time series and early-warning alerts across dates."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import box

from landcarbon.change.monitoring import alerts, alerts_layer, timeseries, timeseries_layer


def _table(net_per_ha, seq, risk):
    return pd.DataFrame({
        "unit_id": ["u1", "u2", "u3"], "unit_name": ["甲", "乙", "丙"],
        "space_type": ["agricultural", "ecological", "construction"],
        "covered_ha": [100.0] * 3, "emission_tc": [50.0, 10.0, 500.0],
        "sequestration_tc": seq, "net_tc": [n * 100 for n in net_per_ha],
        "net_tc_per_ha": net_per_ha, "threshold_tc_per_ha": [0.4, 0.0, 6.0],
        "risk_level": risk})


@pytest.fixture
def series():
    return timeseries({
        2023: _table([0.5, 0.05, 4.0], [10.0, 90.0, 1.0], ["exceeding", "exceeding", "within"]),
        2015: _table([0.3, -0.8, 5.5], [10.0, 100.0, 1.0], ["within", "net_sink",
                                                             "approaching"]),
    })


def test_timeseries_long_and_sorted(series) -> None:
    assert list(series["year"]) == [2015, 2023] * 3
    assert list(series.columns[:3]) == ["year", "unit_id", "unit_name"]
    assert series.loc[(series["unit_id"] == "u2") & (series["year"] == 2015),
                      "sequestration_tc"].item() == 100.0


def test_alerts_threshold_sink_and_conversion(series) -> None:
    trans = {(2015, 2023): pd.DataFrame({
        "unit_id": ["u1", "u1", "u2", "u3"],
        "from_space_type": ["agricultural", "ecological", "ecological", "agricultural"],
        "to_space_type": ["construction", "construction", "construction", "construction"],
        "area_ha": [2.5, 0.5, 1.0, 0.9]})}
    a = alerts(series, transitions=trans, sink_loss_share=0.05, conversion_min_ha=0.8)
    got = set(zip(a["unit_id"], a["alert"], strict=True))
    assert got == {("u1", "threshold_crossed"), ("u2", "threshold_crossed"),
                   ("u2", "sink_loss"), ("u1", "agricultural_to_construction"),
                   ("u2", "ecological_to_construction"),
                   ("u3", "agricultural_to_construction")}
    loss = a[(a["unit_id"] == "u2") & (a["alert"] == "sink_loss")].iloc[0]
    assert loss["value"] == pytest.approx(0.10) and loss["limit"] == 0.05
    assert "fell 10.0%" in loss["message_en"] and "下降 10.0%" in loss["message_zh"]
    u1 = a[(a["unit_id"] == "u1") & (a["alert"] == "threshold_crossed")].iloc[0]
    assert (u1["value"], u1["limit"], u1["year_from"], u1["year_to"]) == (0.5, 0.4, 2015, 2023)
    assert "within" not in u1["message_zh"] and "现为" in u1["message_zh"]  # names, not keys
    # u1's 0.5 ha ecological -> construction is below the minimum; u3 stays within (no alert)
    assert not ((a["unit_id"] == "u1") & (a["alert"] == "ecological_to_construction")).any()
    # a 10 % loss does not alert at a 20 % share
    assert "sink_loss" not in set(alerts(series, sink_loss_share=0.2)["alert"])


def test_map_layers(series) -> None:
    units = gpd.GeoDataFrame({"unit_id": ["u1", "u2", "u3"], "unit_name": ["甲", "乙", "丙"]},
                             geometry=[box(i, 0, i + 1, 1) for i in range(3)], crs="EPSG:4326")
    layer = alerts_layer(units, alerts(series))
    assert len(layer) == 3 and layer.crs == units.crs
    assert layer.loc[layer["unit_id"] == "u2", "geometry"].iloc[0].bounds == (1, 0, 2, 1)
    wide = timeseries_layer(units, series)
    assert {"net_tc_2015", "net_tc_2023", "risk_level_2015", "risk_level_2023"} <= set(
        wide.columns)
    assert wide.set_index("unit_id").loc["u2", "risk_level_2015"] == "net_sink"
