"""Share of each unit outside the raster's footprint (checks.footprint.share_outside): units the
footprint covers get 0 without being measured; the others their geodesic share."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
from shapely.geometry import Polygon, box

from landcarbon.checks.footprint import coverage_problems, share_outside


def test_share_outside_hand_values() -> None:
    footprint = box(10.0, 0.0, 11.0, 1.0)
    units = gpd.GeoDataFrame({"unit_id": ["in", "half", "out", "edge", "empty"]}, geometry=[
        box(10.2, 0.2, 10.4, 0.4),        # inside: 0 exactly
        box(10.9, 0.5, 11.1, 0.6),        # half its longitude span outside: 0.5
        box(12.0, 0.0, 12.5, 0.5),        # wholly outside: 1
        box(10.0, 0.0, 11.0, 1.0),        # the footprint itself (covered): 0
        Polygon(),                        # empty: 0
    ], crs="EPSG:4326")
    share = share_outside(units, footprint, units.crs)
    assert share[0] == 0.0 and share[3] == 0.0 and share[4] == 0.0
    assert abs(share[1] - 0.5) < 1e-9
    assert share[2] == 1.0
    codes = [p.code for p in coverage_problems(units, footprint, units.crs)]
    assert codes == ["unit_outside_raster", "unit_partly_outside"]


def test_many_units_inside_are_zero() -> None:
    cells = [box(x, y, x + 0.01, y + 0.01) for x in np.arange(0, 1, 0.01)
             for y in np.arange(0, 0.5, 0.01)]
    units = gpd.GeoDataFrame({"unit_id": range(len(cells))}, geometry=cells, crs="EPSG:4326")
    share = share_outside(units, box(-0.001, -0.001, 1.001, 0.501), units.crs)
    assert share.shape == (len(cells),) and not share.any()


def test_a_unit_holding_one_pixel_of_a_small_raster_is_not_outside() -> None:
    """A 10 m raster of one pixel inside a 10 km unit: 1e-6 of the unit on the raster, yet
    that pixel is counted, so the unit is partly (not entirely) outside; a unit that only
    touches the raster's edge, or overlaps it by a sliver under 1 m2, is outside."""
    units = gpd.GeoDataFrame({"unit_id": ["big", "touching", "sliver"]}, geometry=[
        box(500000, 3850000, 510000, 3860000),
        box(495000, 3855000, 500000, 3855010),
        box(495000, 3855020, 500000.0001, 3855030),  # 1e-4 m x 10 m = 0.001 m2 inside
    ], crs="EPSG:32649")
    pixel = box(505000, 3855000, 505010, 3855010)
    problems = {p.code: p for p in coverage_problems(units, pixel, units.crs)}
    assert problems["unit_outside_raster"].details["unit_ids"] == ["touching", "sliver"]
    assert list(problems["unit_partly_outside"].details["uncovered_share"]) == ["big"]
