"""Overlapping units (double counting) found from the edges a coverage check flags, and
remembered for the same units (a run's gate and its assessment ask twice)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely.geometry import box

import landcarbon.checks.units as checks
from landcarbon.checks.units import overlaps


def _units(geoms: list[object]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"unit_id": [f"u{i}" for i in range(len(geoms))]},
                            geometry=geoms, crs="EPSG:32649")


def _grid(noise: float = 0.0) -> list[object]:
    """A 4 x 4 coverage of 100 m squares whose shared vertical edges are densified (many
    vertices, as survey boundaries); ``noise`` pushes the right edge of the first square
    into its neighbour."""
    cells = []
    for i in range(4):
        for j in range(4):
            x, y = 500000 + 100 * j, 3850000 + 100 * i
            cells.append(shapely.segmentize(box(x, y, x + 100, y + 100), 1.0))
    if noise:
        cells[0] = shapely.segmentize(box(500000, 3850000, 500100 + noise, 3850100), 1.0)
    return cells


def test_clean_coverage_has_no_overlap() -> None:
    assert overlaps(_units(_grid())).empty


def test_noise_along_one_border_is_one_pair_with_its_area() -> None:
    table = overlaps(_units(_grid(noise=0.5)))
    assert list(zip(table["unit_a"], table["unit_b"], strict=True)) == [("u0", "u1")]
    # 0.5 m x 100 m = 50 m2, geodesic on UTM 49N near its central meridian: / k0^2
    assert table["overlap_ha"].iloc[0] == pytest.approx(50 / 0.9996**2 / 1e4, rel=1e-3)
    assert table["share_of_smaller"].iloc[0] == pytest.approx(50 / 10_000, rel=1e-3)


def test_a_gap_is_not_an_overlap() -> None:
    cells = _grid()
    cells[0] = shapely.segmentize(box(500000, 3850000, 500099.5, 3850100), 1.0)
    assert overlaps(_units(cells)).empty


def test_same_units_are_checked_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    compute = checks._overlaps
    monkeypatch.setattr(checks, "_overlaps", lambda u: calls.append(1) or compute(u))
    units = _units(_grid(noise=0.25))
    first = overlaps(units)
    first.loc[0, "overlap_ha"] = -1.0  # the caller's copy
    again = overlaps(units.copy())
    assert len(calls) == 1
    assert again["overlap_ha"].iloc[0] > 0
    moved = units.copy()
    moved.loc[0, "unit_id"] = "renamed"  # other ids: checked again
    assert overlaps(moved)["unit_a"].tolist() == ["renamed"] and len(calls) == 2


def test_a_check_in_progress_is_waited_for(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two threads asking for the same units' overlaps at once (the gate's check beside its
    other checks, the run's preparation): one computation, both get the table; a check that
    fails is not remembered."""
    import threading

    calls: list[int] = []
    started, release = threading.Event(), threading.Event()
    compute = checks._overlaps

    def slow(u: gpd.GeoDataFrame) -> object:
        calls.append(1)
        started.set()
        release.wait(10)
        return compute(u)

    monkeypatch.setattr(checks, "_overlaps", slow)
    units = _units(_grid(noise=0.75))
    got: list[object] = []
    first = threading.Thread(target=lambda: got.append(overlaps(units)))
    first.start()
    assert started.wait(10)
    second = threading.Thread(target=lambda: got.append(overlaps(units.copy())))
    second.start()
    release.set()
    first.join(10)
    second.join(10)
    assert len(calls) == 1 and len(got) == 2
    assert got[0].equals(got[1]) and got[0] is not got[1]

    def broken(u: gpd.GeoDataFrame) -> object:
        calls.append(1)
        raise RuntimeError("GEOS failed")

    monkeypatch.setattr(checks, "_overlaps", broken)
    other = _units(_grid(noise=0.3))
    for _ in range(2):
        with pytest.raises(RuntimeError, match="GEOS failed"):
            overlaps(other)
    assert len(calls) == 3  # tried again, not remembered


def test_slivers_in_lon_lat_are_measured_in_the_equal_area_projection() -> None:
    """Units in EPSG:4326: the long strip is a sliver with its compactness measured in the
    local equal-area projection; squares far from the threshold are not slivers."""
    from landcarbon.checks.units import SLIVER_COMPACTNESS, _equal_area, repair_geometries

    squares = [shapely.segmentize(box(113.60 + 0.01 * i, 34.70, 113.61 + 0.01 * i, 34.71),
                                  1e-4) for i in range(5)]
    strip = box(113.60, 34.72, 113.65, 34.72004)  # ~4.6 km x 4.4 m
    units = gpd.GeoDataFrame({"unit_id": [f"s{i}" for i in range(5)] + ["strip"]},
                             geometry=[*squares, strip], crs="EPSG:4326")
    _, problems = repair_geometries(units)
    (sliver,) = [p for p in problems if p.code == "geometry_sliver"]
    assert sliver.details["unit_ids"] == ["strip"]
    exact = gpd.GeoSeries([strip], crs="EPSG:4326").to_crs(_equal_area(units))
    expected = 4 * np.pi * exact.area.iloc[0] / exact.length.iloc[0] ** 2
    assert sliver.details["compactness"] == [pytest.approx(expected, rel=1e-12)]
    assert expected < SLIVER_COMPACTNESS
