"""A change run measures every date and every period's transitions in one pass over the
dates' blocks (``pipeline/_change_pass.py``): each chunk of every date is read once, and the
numbers are those of assessing date by date and counting the transitions after."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from conftest import GRID4
from test_change import EXPECTED, GRID4B
from test_change_pipeline import CONFIG
from test_change_reads import WindowReads, _striped_tif

import landcarbon.pipeline._change as change_module
from landcarbon.config.run import load_config
from landcarbon.engine.block_cells import COVERAGE
from landcarbon.pipeline import assess, assess_change
from landcarbon.pipeline._change import date_config


@pytest.fixture
def three_dates(tmp_path: Path, halves_gpkg: Path) -> Path:
    """GRID4 (2015), GRID4B (2023) and GRID4 again (2031), read in two chunks a date, no
    stocks (their whole-raster totals are a pass of their own)."""
    _striped_tif(tmp_path / "lc_2015.tif", GRID4)
    _striped_tif(tmp_path / "lc_2023.tif", GRID4B)
    _striped_tif(tmp_path / "lc_2031.tif", GRID4)
    head = CONFIG.format(resample="error", later="lc_2023.tif").split("[change.stocks]")[0]
    text = head.replace('legend = "esa_worldcover"\n',
                        'legend = "esa_worldcover"\nchunk_size = 2\n', 1)
    text += ('[[change.dates]]\nyear = 2031\nlandcover = "lc_2031.tif"\n'
             "[change.monitoring]\nsink_loss_share = 0.05\nconversion_min_ha = 0.004\n")
    path = tmp_path / "change.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_each_chunk_of_every_date_read_once(three_dates: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    counter = WindowReads(monkeypatch)
    computed, reused = COVERAGE.computed, COVERAGE.reused
    kept: list[int] = []
    one_pass = change_module.dates_in_one_pass

    def spy(*args: object, **kwargs: object) -> object:
        out = one_pass(*args, **kwargs)  # type: ignore[arg-type]
        kept.append(COVERAGE.nbytes)  # what the change run still holds after the pass
        return out

    monkeypatch.setattr(change_module, "dates_in_one_pass", spy)
    r = assess_change(load_config(three_dates))
    # the dates' code counts and class areas and the three periods' transitions (per unit
    # and whole area) from one read of each chunk
    assert counter.by_file() == {"lc_2015.tif": [1, 1], "lc_2023.tif": [1, 1],
                                 "lc_2031.tif": [1, 1]}
    # the units' coverage of each of the two blocks computed once, for the one sweep of
    # the block that counts every date and period
    assert COVERAGE.computed - computed == 2
    assert COVERAGE.reused - reused == 0
    # each block dropped after its last use (no stocks, no Markov to read it later)
    assert kept == [0]
    assert set(r.transitions) == {(2015, 2023), (2023, 2031), (2015, 2031)}



@pytest.mark.parametrize("one_pass", [True, False])
def test_the_units_read_and_measured_once(three_dates: Path, one_pass: bool,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Every date is assessed on the units the change run read once: the pass and the three
    dates share one read and one geodesic area of each unit, and so do the three dates
    assessed one by one where the one pass does not apply."""
    if not one_pass:
        monkeypatch.setattr(change_module, "dates_in_one_pass", lambda *a, **k: None)
    import landcarbon.io.vector as vector
    import landcarbon.pipeline._assess as assess_module

    reads: list[str] = []
    areas: list[int] = []
    read_units, geodesic = vector.read_units, assess_module.geodesic_areas_m2

    def counting_read(path: object, *args: object, **kwargs: object) -> object:
        reads.append(Path(str(path)).name)
        return read_units(path, *args, **kwargs)  # type: ignore[arg-type]

    def counting_areas(geoms: object, crs: object) -> object:
        areas.append(len(geoms))  # type: ignore[arg-type]
        return geodesic(geoms, crs)  # type: ignore[arg-type]

    monkeypatch.setattr(vector, "read_units", counting_read)
    monkeypatch.setattr(assess_module, "geodesic_areas_m2", counting_areas)
    r = assess_change(load_config(three_dates))
    assert reads == ["halves.gpkg"]  # once for the pass and the three dates
    assert areas == [2]  # both units, once for the three dates
    for a in r.dates.values():
        assert a.units["area_ha"].tolist() == r.dates[2015].units["area_ha"].tolist()


def _transfer(r, y0: int, y1: int) -> pd.DataFrame:
    t = r.transfer
    t = t[(t["year_from"] == y0) & (t["year_to"] == y1) & (t["by"] == "land_class")]
    return t.pivot_table(index="from", columns="to", values="area_ha", aggfunc="sum")


def test_one_pass_equals_date_by_date(three_dates: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    config = load_config(three_dates)
    one = assess_change(config)
    monkeypatch.setattr(change_module, "dates_in_one_pass", lambda *a, **k: None)
    apart = assess_change(config)
    for y in (2015, 2023, 2031):
        a, b = one.dates[y], apart.dates[y]
        pd.testing.assert_frame_equal(a.class_areas, b.class_areas, check_exact=True)
        pd.testing.assert_frame_equal(a.units.drop(columns="geometry"),
                                      b.units.drop(columns="geometry"), check_exact=True)
        pd.testing.assert_series_equal(a.code_counts, b.code_counts, check_exact=True)
        # and a single-date assessment of that date gives the same class areas
        alone = assess(date_config(config, y), check_inputs=False)
        pd.testing.assert_frame_equal(a.class_areas, alone.class_areas, check_exact=True)
    for period in one.transitions:
        pd.testing.assert_frame_equal(one.transitions[period], apart.transitions[period],
                                      check_exact=True)
        pd.testing.assert_frame_equal(one.whole_transitions[period],
                                      apart.whole_transitions[period], check_exact=True)
    for name in ("transfer", "summary", "dynamic_degree", "flux_effect", "timeseries",
                 "alerts"):
        pd.testing.assert_frame_equal(getattr(one, name), getattr(apart, name),
                                      check_exact=True)


def test_a_pass_per_date_where_one_sweep_does_not_apply(three_dates: Path,
                                                      monkeypatch: pytest.MonkeyPatch
                                                      ) -> None:
    """Without the one sweep (codes it does not take), each date's land-cover pass and the
    periods' sweep share each chunk's read and the block's coverage: the same numbers."""
    import landcarbon.change.transition_pass as tp

    config = load_config(three_dates)
    one = assess_change(config)
    monkeypatch.setattr(tp, "dates_and_periods", lambda *a, **k: None)
    counter = WindowReads(monkeypatch)
    computed, reused = COVERAGE.computed, COVERAGE.reused
    passes = assess_change(config)
    assert counter.by_file() == {"lc_2015.tif": [1, 1], "lc_2023.tif": [1, 1],
                                 "lc_2031.tif": [1, 1]}
    # computed once a block; reused by the two other dates and the period sweep
    assert (COVERAGE.computed - computed, COVERAGE.reused - reused) == (2, 2 * 3)
    for y in (2015, 2023, 2031):
        pd.testing.assert_frame_equal(one.dates[y].class_areas, passes.dates[y].class_areas,
                                      check_exact=True)
        pd.testing.assert_series_equal(one.dates[y].code_counts, passes.dates[y].code_counts,
                                       check_exact=True)
    for period in one.transitions:
        pd.testing.assert_frame_equal(one.transitions[period], passes.transitions[period],
                                      check_exact=True)
        pd.testing.assert_frame_equal(one.whole_transitions[period],
                                      passes.whole_transitions[period], check_exact=True)


def test_one_pass_values_by_hand(three_dates: Path) -> None:
    r = assess_change(load_config(three_dates))
    # 10 m pixels: 0.01 ha each; the transfer matrix of GRID4 -> GRID4B as counted by hand
    m = _transfer(r, 2015, 2023).reindex(index=EXPECTED.index, columns=EXPECTED.columns)
    pd.testing.assert_frame_equal(m.fillna(0.0), EXPECTED, check_names=False, atol=1e-12)
    # 2015 -> 2031 is GRID4 -> GRID4: nothing changes (the diagonal = each class's pixels)
    back = _transfer(r, 2015, 2031)
    for lc in back.index:
        for to in back.columns:
            if lc != to:
                assert back.loc[lc, to] == 0.0
    assert back.loc["forest", "forest"] == pytest.approx(0.03, abs=1e-12)  # code 10: 3 px
    assert back.loc["cropland", "cropland"] == pytest.approx(0.04, abs=1e-12)  # 40: 4 px
    # per date and unit: the forest (3 px) lies in the eastern unit in 2015 and 2031
    for y in (2015, 2031):
        areas = r.dates[y].class_areas.set_index(["unit_id", "land_class"])["area_ha"]
        assert areas[("E", "forest")] == pytest.approx(0.03, abs=1e-12)
        assert ("W", "forest") not in areas.index


def test_byte_pairs_equal_uint16_keys(three_dates: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Legends of up to 15 categories count the pairs as bytes; more take ``uint16`` keys
    and a 65,536-entry table: the same tables."""
    import landcarbon.change.transition_pass as tp

    config = load_config(three_dates)
    monkeypatch.setattr(tp, "dates_and_periods", lambda *a, **k: None)  # the period path
    small = assess_change(config)
    monkeypatch.setattr(tp, "BYTE_PAIRS", 0)
    keys = assess_change(config)
    for period in small.transitions:
        pd.testing.assert_frame_equal(small.transitions[period], keys.transitions[period],
                                      check_exact=True)
        pd.testing.assert_frame_equal(small.whole_transitions[period],
                                      keys.whole_transitions[period], check_exact=True)


def test_an_unknown_code_in_one_date_is_refused_as_alone(three_dates: Path,
                                                         monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    """A code the legend does not know, in one date of the one pass: refused as a
    single-date run refuses it (the same message: file, code, pixels)."""
    import numpy as np

    from landcarbon.exceptions import InputError

    odd = GRID4.copy()
    odd[1, 1] = 77  # not a WorldCover code
    _striped_tif(three_dates.parent / "lc_2031.tif", odd)
    config = load_config(three_dates)
    with pytest.raises(InputError, match="77") as caught:
        assess_change(config)
    alone = None
    try:
        assess(date_config(config, 2031), check_inputs=False)
    except InputError as exc:
        alone = str(exc)
    assert alone is not None and str(caught.value) == alone
    assert "'lc_2031.tif'" in alone and "77 (1 px)" in alone
    assert np.count_nonzero(odd == 77) == 1


def test_the_pass_reuses_the_gates_overlap_check(three_dates: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Whether the units share a cell is answered by the overlap check the run started beside
    its gate (as in a single-date run): the one pass runs no pairwise check of its own."""
    import landcarbon.engine.coverage as coverage

    calls: list[int] = []
    real = coverage.units_overlap

    def counting(geoms: object, cell_area: float = 0.0) -> bool:
        calls.append(len(geoms))  # type: ignore[arg-type]
        return real(geoms, cell_area)  # type: ignore[arg-type]

    monkeypatch.setattr(coverage, "units_overlap", counting)
    r = assess_change(load_config(three_dates))
    assert calls == []
    assert set(r.transitions) == {(2015, 2023), (2023, 2031), (2015, 2031)}


def test_units_sharing_cells_take_the_date_by_date_path(three_dates: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Units overlapping by a whole column of cells (accepted by ``allow_overlaps``): the one
    pass declines (its block engine assumes units that share no cell), and the dates are
    assessed one by one with each unit counting its whole area."""
    import geopandas as gpd
    from shapely.geometry import box

    gpd.GeoDataFrame({"code": ["W", "E"], "name": ["西", "东"]},
                     geometry=[box(500000, 3849960, 500025, 3850000),
                               box(500015, 3849960, 500040, 3850000)],
                     crs="EPSG:32649").to_file(three_dates.parent / "overlap.gpkg",
                                               layer="units")
    text = three_dates.read_text(encoding="utf-8").replace("halves.gpkg", "overlap.gpkg")
    assert "overlap.gpkg" in text
    text = text.replace("[units]\n", "[units]\nallow_overlaps = true\n", 1)
    three_dates.write_text(text, encoding="utf-8")
    answers: list[object] = []
    one_pass = change_module.dates_in_one_pass

    def spy(*args: object, **kwargs: object) -> object:
        answers.append(one_pass(*args, **kwargs))  # type: ignore[arg-type]
        return answers[-1]

    monkeypatch.setattr(change_module, "dates_in_one_pass", spy)
    r = assess_change(load_config(three_dates))
    assert answers == [None]
    for year in (2015, 2023, 2031):
        a = r.dates[year]
        areas = a.units.set_index("unit_id")["area_ha"]
        # 25 m x 40 m each (0.1 ha on the grid, UTM's scale factor on the ellipsoid)
        assert abs(areas["W"] / areas["E"] - 1) < 1e-9 and abs(areas["W"] / 0.1 - 1) < 1e-3
        # classified land (GRID4's nodata cell lies in column 1, shared by both): the strip
        # x 500015-500025 counted in both units, 0.185 ha on a grid of 0.15 ha classified
        measured = a.class_areas.groupby("unit_id")["area_ha"].sum().round(9)
        assert measured.to_dict() == {"E": 0.095, "W": 0.09}
