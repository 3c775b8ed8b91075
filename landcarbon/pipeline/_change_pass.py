"""A change run's one pass: every date's land-cover pass and every period's transitions
computed together, so that each block of every date is read (decoded) once.

:func:`dates_in_one_pass` opens each date's land cover as :func:`landcarbon.pipeline.assess`
does, builds the date's :func:`landcarbon.engine.landcover_pass.landcover_pass` (code counts
and per-unit class areas) and the transitions of every period
(:func:`landcarbon.change.transition_pass.period_transitions`) lazily on the same dask chunks,
and computes them in one ``dask.compute``: the graphs share each chunk's read, and the units'
coverage of each block is computed once (:data:`landcarbon.engine.block_cells.COVERAGE`, held by
the change run). Each date is then assessed from its measured pass (``assess(measured=...)``):
the same functions on the same blocks, so the same numbers as a pass per date.
"""

from __future__ import annotations

import contextlib
from typing import Any

from landcarbon.config.run import RunConfig
from landcarbon.pipeline._assess import (
    PreparedUnits,
    assess,
    study_landcover,
    units_share_cells,
)
from landcarbon.pipeline.progress import dask_bar, step, steps_of
from landcarbon.pipeline.records import Assessment

__all__ = ["dates_codes", "dates_in_one_pass"]

Period = tuple[int, int]


def _same_grid(rasters: list[Any]) -> bool:
    """Dask-backed rasters on one grid, in the same chunks."""
    first = rasters[0]
    if not type(first.data).__module__.startswith("dask"):
        return False
    return all(type(r.data).__module__.startswith("dask") and r.shape == first.shape
               and r.data.chunks == first.data.chunks
               and r.rio.transform() == first.rio.transform() and r.rio.crs == first.rio.crs
               for r in rasters[1:])


def dates_codes(date_configs: dict[int, RunConfig], units: Any, resample: str
                ) -> dict[int, Any]:
    """Each date's land cover as a run reads it (:func:`study_landcover`); with ``resample =
    "nearest"`` the dates on another grid resampled onto the first date's (nearest
    neighbour, nodata kept, in its chunks), so that every date's areas, balance and risk and
    every period's transitions are counted on one grid."""
    from landcarbon.change.transitions import align_to

    years = list(date_configs)
    codes = {y: study_landcover(c, units) for y, c in date_configs.items()}
    first = codes[years[0]]
    if resample != "nearest":
        return codes
    for y in years[1:]:
        if _same_grid([first, codes[y]]):
            continue
        on_grid = align_to(codes[y], first, resample="nearest",
                           names=(str(years[0]), str(y)))
        if on_grid is not codes[y] and type(first.data).__module__.startswith("dask"):
            on_grid = on_grid.chunk(dict(zip(first.dims, first.data.chunks, strict=True)))
        codes[y] = on_grid
    return codes


def dates_in_one_pass(config: RunConfig, date_configs: dict[int, RunConfig],
                      periods: list[Period], prepared: PreparedUnits | None, *,
                      progress: bool = False, keep_coverage: bool = True
                      ) -> tuple[dict[int, Assessment], dict[str, Any]] | None:
    """Every date's assessment and every period's transition tables from one pass over the
    dates' blocks.

    Parameters
    ----------
    config : RunConfig
        The change run's config (``[landcover]`` reading options, ``[units]``).
    date_configs : dict
        Year -> the date's single-date config (:func:`landcarbon.pipeline.date_config`).
    periods : list of (year_from, year_to)
    prepared : PreparedUnits or None
        The units of ``config`` read once for the run
        (:func:`landcarbon.pipeline._assess.prepare_units`); None without ``[units]``.
    progress : bool
    keep_coverage : bool
        Keep the units' coverage of every block for later passes (stocks, Markov); False
        drops each block's once every date and the period sweep have used it
        (:meth:`~landcarbon.engine.block_cells.CoverageCache.dropping_after`).

    Returns
    -------
    (dict, dict) or None
        Year -> :class:`Assessment`, and ``{"transitions": {period: table}, "whole":
        {period: table}}`` as :func:`landcarbon.change.transition_pass.period_transitions`
        computes them; None when the dates are not on one grid in the same chunks, or the
        rasters or units need the general path (the caller assesses date by date).
    """
    import dask

    from landcarbon.accounting.classification import byte_category_table, classify
    from landcarbon.change.transition_pass import (
        coverage_uses,
        dates_and_periods,
        period_transitions,
    )
    from landcarbon.engine.block_cells import COVERAGE
    from landcarbon.engine.landcover_pass import compute_frozen, landcover_pass
    from landcarbon.io.raster import raster_read_errors
    from landcarbon.pipeline import resolve

    lc = config.landcover
    if lc is None or prepared is None or config.planning_zones is not None:
        return None
    years = list(date_configs)
    units = prepared.units
    assert config.change is not None
    codes = dates_codes(date_configs, units, config.change.resample)
    if not _same_grid([codes[y] for y in years]):
        return None
    legend = resolve.legend(config)
    # the units' overlap check the run started beside the gate answers whether units share
    # a cell (as in a single-date run), instead of a second pairwise check
    shared = units_share_cells(prepared.overlaps.result(), codes[years[0]])
    # byte codes: every date and period counted in one sweep of each block
    lazy = dates_and_periods(codes, legend, lc.exclude_codes, periods, units,
                             pixel_area=lc.pixel_area, units_overlap=shared)
    uses = 1
    if lazy is None:  # a pass per date, and the periods' sweep on the same reads
        cats = {y: classify(codes[y], legend, lc.exclude_codes) for y in years}
        tables = {y: (codes[y], byte_category_table(legend, lc.exclude_codes,
                                                    codes[y].rio.nodata)) for y in years}
        transitions = period_transitions(cats, periods, units, codes=tables,
                                         pixel_area=lc.pixel_area, units_overlap=shared)
        if transitions is None:  # overlapping units, projected cells measured one by one...
            return None
        passes = {y: landcover_pass(codes[y], units, legend, lc.exclude_codes,
                                    pixel_area=lc.pixel_area, units_overlap=False, lazy=True)
                  for y in years}
        lazy = dask.delayed(lambda p, t: (p, t))(passes, transitions)
        uses = len(years) + coverage_uses(cats, periods)
    with contextlib.ExitStack() as guards:
        for y in years:
            guards.enter_context(raster_read_errors(codes[y]))
        if not keep_coverage:  # each block: dropped after its last use
            guards.enter_context(COVERAGE.dropping_after(uses))
        with (dask_bar("land-cover pass (every date and period)", progress),
              step("pass (every date, period)")):
            measured, computed = compute_frozen(lazy)
    dates = {}
    for y in years:
        with steps_of(str(y)):
            dates[y] = assess(date_configs[y], progress=progress, check_inputs=False,
                              measured=(codes[y], *measured[y]), prepared=prepared)
    return dates, computed
