"""Short text and HTML reprs of the change and scenario results (notebooks): totals per
date / scenario, counts and where the data came from."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_change_pipeline import project  # noqa: F401  (fixture)

from landcarbon.config.run import load_config
from landcarbon.pipeline import assess_change, assess_scenarios


def test_change_result_reprs(project: Path) -> None:  # noqa: F811
    r = assess_change(load_config(project))
    text = repr(r)
    nets = {y: r.dates[y].totals()["net_tc"] for y in (2015, 2023)}
    assert text.startswith("ChangeResult(2 dates 2015-2023, 2 units; net t C/yr ")
    assert f"2015: {nets[2015]:,.1f}" in text and f"2023: {nets[2023]:,.1f}" in text
    assert f"{len(r.alerts)} alerts" in text
    # whole-raster stocks 6.83 -> 6.77 t C (4 x 4 px of 0.01 ha), where the rasters are
    assert "stock 6.8 -> 6.8 t C (whole raster)" in text
    assert text.endswith("from lc_2015.tif, lc_2023.tif)") and len(text) < 400
    html = r._repr_html_()
    assert html.count("<tr>") == 3 and "lc_2023.tif" in html and "<code>.transfer</code>" in html
    assert "whole raster" in html and len(html) < 3000


def test_scenario_result_reprs(project: Path) -> None:  # noqa: F811
    r = assess_scenarios(load_config(project))
    t = r.totals()
    text = repr(r)
    base = t["baseline"]["net_tc"]
    assert text.startswith(f"ScenarioResult(baseline net {base:,.1f} t C/yr, 2 scenario(s): ")
    green = t["scenarios"]["green"]
    assert f"green: {green['net_tc']:,.1f} ({green['net_tc_delta']:+,.1f})" in text
    assert f"{len(r.edits)} edit(s)" in text and "2 units" in text
    assert "from " in text and "lc_2023.tif" in text and "scenario rasters lc_2015.tif" in text
    assert len(text) < 400
    html = r._repr_html_()
    assert html.count("<tr>") == 4  # header, baseline, two scenarios
    assert "back_to_2015" in html and "<code>.deltas</code>" in html and len(html) < 3000
    assert green["net_tc_delta"] == pytest.approx(green["net_tc"] - base)
