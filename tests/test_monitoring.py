"""Time series and early-warning alerts across dates."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import box

from landcarbon.accounting.conversions import to_output_unit
from landcarbon.accounting.display_units import DisplayUnits
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


TRANS = {(2015, 2023): pd.DataFrame({
    "unit_id": ["u1"], "from_space_type": ["agricultural"],
    "to_space_type": ["construction"], "area_ha": [2.5]})}


def _messages(table: pd.DataFrame) -> dict[tuple[str, str], tuple[str, str]]:
    return {(u, k): (en, zh) for u, k, en, zh in zip(
        table["unit_id"], table["alert"], table["message_en"], table["message_zh"],
        strict=True)}


def test_alert_messages_of_a_plain_run(series) -> None:
    """Canonical display (t, ha): every message by hand, in English and Chinese units."""
    a = alerts(series, transitions=TRANS, conversion_min_ha=0.8,
               display=DisplayUnits("t C", "auto", "ha"))
    assert _messages(a) == _messages(alerts(series, transitions=TRANS, conversion_min_ha=0.8))
    m = _messages(a)
    assert m["u1", "threshold_crossed"] == (
        "net 0.500 t C/ha/yr in 2023 is above the agricultural threshold 0.400 "
        "(was within in 2015, now exceeding)",
        "2023 年净排放 0.500 吨 C/公顷/年 超过阈值 0.400（2015 年为阈值内，现为超过阈值）")
    assert m["u2", "threshold_crossed"] == (
        "net 0.050 t C/ha/yr in 2023 is above the ecological threshold 0.000 "
        "(was net_sink in 2015, now exceeding)",
        "2023 年净排放 0.050 吨 C/公顷/年 超过阈值 0.000（2015 年为净碳汇，现为超过阈值）")
    assert m["u2", "sink_loss"] == (
        "sequestration fell 10.0% from 100.0 to 90.0 t C/yr (2015-2023; alert above 5%)",
        "碳汇量下降 10.0%：100.0 → 90.0 吨 C/年（2015-2023 年，预警线 5%）")
    assert m["u1", "agricultural_to_construction"] == (
        "2.50 ha of agricultural space became construction land (2015-2023; alert above "
        "0.8 ha)", "2.50 公顷农业空间转为建设用地（2015-2023 年，预警线 0.8 公顷）")


def test_alert_messages_follow_the_display_units(series) -> None:
    """万吨 and 亩: densities / 15 (t C/亩/yr), sequestration / 10^4, areas x 15, in the text
    only: value, limit and value_unit are those of the plain run."""
    plain = alerts(series, transitions=TRANS, conversion_min_ha=0.8)
    a = alerts(series, transitions=TRANS, conversion_min_ha=0.8,
               display=DisplayUnits("t C", "wan_t", "mu"))
    cols = ["unit_id", "alert", "year_from", "year_to", "value", "limit", "value_unit"]
    pd.testing.assert_frame_equal(a[cols], plain[cols])
    m = _messages(a)
    # 0.5 / 15 = 0.03333, 0.4 / 15 = 0.02667 t C/亩/yr
    assert m["u1", "threshold_crossed"] == (
        "net 0.0333 t C/mu/yr in 2023 is above the agricultural threshold 0.0267 "
        "(was within in 2015, now exceeding)",
        "2023 年净排放 0.0333 吨 C/亩/年 超过阈值 0.0267（2015 年为阈值内，现为超过阈值）")
    # 0.05 / 15 = 0.00333
    assert m["u2", "threshold_crossed"][1].startswith(
        "2023 年净排放 0.0033 吨 C/亩/年 超过阈值 0.0000（")
    # 100 t = 0.0100 万吨, 90 t = 0.0090 万吨
    assert m["u2", "sink_loss"] == (
        "sequestration fell 10.0% from 0.0100 to 0.0090 10^4 t C/yr (2015-2023; alert "
        "above 5%)", "碳汇量下降 10.0%：0.0100 → 0.0090 万吨 C/年（2015-2023 年，预警线 5%）")
    # 2.5 ha = 37.5 亩, 0.8 ha = 12 亩
    assert m["u1", "agricultural_to_construction"] == (
        "37.50 mu of agricultural space became construction land (2015-2023; alert above "
        "12 mu)", "37.50 亩农业空间转为建设用地（2015-2023 年，预警线 12 亩）")
    # one option at a time: t with 亩, 万吨 with ha
    mu = _messages(alerts(series, display=DisplayUnits("t C", "t", "mu")))
    assert mu["u2", "sink_loss"][1].startswith("碳汇量下降 10.0%：100.0 → 90.0 吨 C/年")
    assert "0.0333 t C/mu/yr" in mu["u1", "threshold_crossed"][0]
    wan = _messages(alerts(series, display=DisplayUnits("t C", "wan_t", "ha")))
    assert "0.500 t C/ha/yr" in wan["u1", "threshold_crossed"][0]
    assert "from 0.0100 to 0.0090 10^4 t C/yr" in wan["u2", "sink_loss"][0]


def test_alert_messages_in_t_co2(series) -> None:
    """As the pipeline does: the series in t CO2 (x 44/12: 100 t C = 366.7 t CO2, 0.5 t C/ha
    = 1.833 t CO2/ha, / 15 = 0.1222 t CO2/亩) with a t CO2 display; value and limit are the
    series' t CO2 per ha. The unit of the text is the series' own, whatever the display says
    (nothing is converted in the alerts)."""
    co2 = to_output_unit(series, "t CO2")
    a = alerts(co2, suffix="tco2", display=DisplayUnits("t CO2", "t", "mu"))
    m = _messages(a)
    assert m["u2", "sink_loss"] == (
        "sequestration fell 10.0% from 366.7 to 330.0 t CO2/yr (2015-2023; alert above 5%)",
        "碳汇量下降 10.0%：366.7 → 330.0 吨 CO₂/年（2015-2023 年，预警线 5%）")
    assert m["u1", "threshold_crossed"][0].startswith(
        "net 0.1222 t CO2/mu/yr in 2023 is above the agricultural threshold 0.0978 ")
    u1 = a[(a["unit_id"] == "u1") & (a["alert"] == "threshold_crossed")].iloc[0]
    assert (u1["value"], u1["limit"], u1["value_unit"]) == (
        pytest.approx(0.5 * 44 / 12), pytest.approx(0.4 * 44 / 12), "t CO2/ha/yr")
    assert _messages(alerts(series, display=DisplayUnits("t CO2", "t", "ha")))[
        "u2", "sink_loss"][0].startswith("sequestration fell 10.0% from 100.0 to 90.0 t C/yr")


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
