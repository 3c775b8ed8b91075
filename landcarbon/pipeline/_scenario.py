"""Scenario orchestration: ``[change]`` scenarios and edits -> assessed scenario units,
per-unit deltas against the baseline and the risk-level transition table.

The baseline is the date ``[change] baseline_year`` (default: the last date). Scenario rasters
(``[[change.scenarios]]``, e.g. PLUS/FLUS outputs) are read with the ``[landcover]`` legend and
must lie on the baseline grid (or are resampled with ``resample = "nearest"``); rule-based
edits (``[[change.edits]]``) are applied to the baseline category raster in order, one
scenario per ``scenario`` name. Every scenario is assessed with the baseline's settings and
resolved thresholds (:func:`landcarbon.pipeline._change.rebalance_tc`).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import xarray as xr

from landcarbon.config.run import RunConfig
from landcarbon.engine.areas import PixelAreaMethod
from landcarbon.engine.block_cells import COVERAGE
from landcarbon.exceptions import ConfigError
from landcarbon.pipeline._assess import assess
from landcarbon.pipeline._change import date_config, rebalance_tc
from landcarbon.pipeline._compute import compute_context
from landcarbon.pipeline.progress import dask_bar, step
from landcarbon.pipeline.records import Assessment, ScenarioResult

_log = logging.getLogger("landcarbon")

__all__ = ["assess_scenarios", "run_scenarios"]


def _mask(config: RunConfig, path: str | None, like: xr.DataArray) -> np.ndarray | None:
    if path is None:
        return None
    from landcarbon.change.scenarios import units_mask
    from landcarbon.io.vector import read_vector

    polys = read_vector(config.path(path), what="Mask polygons")
    return units_mask(polys.assign(unit_id=[str(i) for i in range(len(polys))]), like)


def _scenario_areas(config: RunConfig, base: Assessment, landcover: str | list[str],
                    baseline: xr.DataArray, protected: np.ndarray | None,
                    units: gpd.GeoDataFrame, pixel_area: PixelAreaMethod,
                    progress: bool = False) -> pd.DataFrame:
    """Class areas of a scenario raster on the baseline grid (reset to ``baseline`` inside
    ``protected``), its codes checked against the legend.

    The code counts are computed in one ``dask.compute`` with the zonal areas (or, with
    ``protected``, with the in-memory raster that the reset needs): the scenario raster is
    read once. Unmapped codes are classified as nodata meanwhile and refused right after.
    """
    import dask

    from landcarbon.accounting.classification import check_codes, classify, code_counts
    from landcarbon.change.scenarios import protect
    from landcarbon.change.transitions import align_to
    from landcarbon.engine.extent import crop_to_units
    from landcarbon.engine.zonal import class_areas
    from landcarbon.io.raster import open_landcover

    lc = config.landcover
    assert lc is not None and base.categories is not None and config.change is not None
    paths = [config.path(p) for p in ([landcover] if isinstance(landcover, str) else landcover)]
    codes = open_landcover(paths, chunks=lc.chunk_size, nodata=lc.nodata, crs=lc.crs)
    source = f"The scenario land-cover raster {', '.join(paths)!r}"
    # cut to the units' bounding box as the baseline was (assess): the same grid gives the
    # same window, so a scenario raster on the baseline's grid stays aligned with it
    codes = crop_to_units(codes, units)
    cats = align_to(classify(codes, base.legend, lc.exclude_codes), base.categories,
                    resample=config.change.resample, names=("baseline", ", ".join(paths)))
    if protected is None:
        with dask_bar("scenario raster pass", progress):
            counts, areas = dask.compute(code_counts(codes, lazy=True), class_areas(
                cats, units, pixel_area=pixel_area, lazy=True))
        check_codes(counts, base.legend, lc.exclude_codes, source=source)
        return areas
    # unoptimised graphs: the counts and the raster share their chunk reads
    with dask_bar("scenario raster read", progress):
        counts, data = dask.compute(code_counts(codes, lazy=True), cats.data,
                                    optimize_graph=False)
    check_codes(counts, base.legend, lc.exclude_codes, source=source)
    cats = protect(baseline, cats.copy(data=np.asarray(data)), protected)
    return class_areas(cats, units, pixel_area=pixel_area)


def _covers_as_baseline(baseline: pd.DataFrame, scenario: pd.DataFrame, name: str) -> None:
    """Refuse a scenario raster with data where the baseline has none, or none where it has
    (nodata regions inside its footprint): a scenario changes land classes, not the land
    there is; the difference would be counted as land removed or added."""
    from landcarbon.exceptions import InputError

    before = baseline.groupby("unit_id")["area_ha"].sum()
    after = scenario.groupby("unit_id")["area_ha"].sum().reindex(before.index, fill_value=0.0)
    gap = after - before
    bad = gap.abs() > 1e-9 * before.abs() + 1e-6  # (ha: a 10 m pixel is 0.01 ha)
    if bad.any():
        ids = [str(i) for i in gap.index[bad.to_numpy()]]
        worst = gap[bad].abs().sort_values(ascending=False)
        raise InputError(
            f"The raster of scenario {name} covers {len(ids)} unit(s) differently from the "
            f"baseline (nodata where the baseline has land, or land where it has none): "
            + ", ".join(f"{i} ({gap[i]:+,.4f} ha)" for i in worst.index[:10])
            + (f" and {len(ids) - 10} more" if len(ids) > 10 else "")
            + ". A scenario changes land classes, not the land there is: give a scenario "
            "raster with data wherever the baseline has (the same extent and nodata).",
            code="date_coverage_differs")


def _apply_edits(config: RunConfig, base: Assessment, baseline: xr.DataArray,
                 edits: list[Any], log: list[dict[str, Any]]) -> xr.DataArray:
    from landcarbon.change.scenarios import (
        protect,
        reduce_construction,
        restore_wetland,
        units_mask,
    )

    cats = baseline
    pixel_area = config.landcover.pixel_area if config.landcover else "auto"
    for e in edits:
        within = units_mask(base.table_tc, cats, e.units) if e.units else None
        mask = _mask(config, e.mask, cats)
        if mask is not None:
            within = mask if within is None else within & mask
        protected = _mask(config, e.protected, cats)
        if e.type == "reduce_construction":
            kw = {"from_land_classes": e.from_land_classes} if e.from_land_classes else {}
            cats, ha = reduce_construction(cats, e.area_ha, to_land_class=e.to_land_class,
                                           within=within, protected=protected,
                                           pixel_area=pixel_area, **kw)
            if ha > e.area_ha * 1.01:  # whole pixels: the last one overshoots
                _log.warning("scenario %s: reduce_construction converted %.6g ha for the "
                             "%.6g ha asked (+%.1f %%): land is converted in whole pixels; "
                             "the scenario's tables use the %.6g ha converted.", e.scenario,
                             ha, e.area_ha, (ha / e.area_ha - 1) * 100, ha)
        elif e.type == "restore_wetland":
            kw = {"from_land_classes": e.from_land_classes} if e.from_land_classes else {}
            cats, ha = restore_wetland(cats, e.distance_m, protected=protected, within=within,
                                       pixel_area=pixel_area, **kw)
        else:
            assert protected is not None
            before = np.asarray(cats.values) != np.asarray(baseline.values)
            cats = protect(baseline, cats, protected)
            ha = float(np.count_nonzero(before & protected))  # pixels reset
        log.append({"scenario": e.scenario, "type": e.type,
                    ("area_ha" if e.type != "protect" else "pixels_reset"): ha})
        if e.type != "protect" and not ha > 0:
            _log.warning(
                "scenario %s: its %s edit changed nothing (no land of the classes it changes "
                "inside %s): the scenario is the baseline there. Check its units, mask and "
                "from_land_classes.", e.scenario, e.type, " and ".join(
                    w for w, given in (("its units", e.units), ("its mask", e.mask)) if given)
                or "the study area")
    return cats


def assess_scenarios(config: RunConfig, *, progress: bool = False) -> ScenarioResult:
    """Assess the baseline and every scenario of ``config.change`` (nothing written).

    Returns
    -------
    ScenarioResult
        ``.baseline`` (:class:`Assessment`), the assessed scenarios, per-unit deltas and
        risk-level transitions; ``.totals()`` is a dict.
    """
    ch = config.change
    if ch is None or not (ch.scenarios or ch.edits):
        raise ConfigError("`landcarbon scenario` needs a [change] section with at least one "
                          "[[change.scenarios]] raster or [[change.edits]] rule.")
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    year = ch.baseline_year or ch.dates[-1].year
    from landcarbon.pipeline.validate import gate

    with step("check inputs", timings):
        gate(config)  # the dates, the scenario rasters and the edits' polygons at once
    # the units' coverage of the grid: computed by the baseline's pass, reused by every
    # scenario on its grid
    with COVERAGE.reusing():
        return _assess_scenarios(config, year, timings, t0, progress)


def _assess_scenarios(config: RunConfig, year: int, timings: dict[str, float], t0: float,
                      progress: bool) -> ScenarioResult:
    from landcarbon.change.scenarios import compare_scenarios
    from landcarbon.engine.zonal import class_areas

    ch = config.change
    assert ch is not None
    with step("baseline", timings):
        base = assess(date_config(config, year), progress=progress, check_inputs=False)
    assert base.categories is not None
    units = base.table_tc[["unit_id", "unit_name", "geometry"]]
    pixel_area = config.landcover.pixel_area if config.landcover else "auto"
    tables: dict[str, gpd.GeoDataFrame] = {}
    edited: dict[str, xr.DataArray] = {}
    log: list[dict[str, Any]] = []
    masks = {s.name: _mask(config, s.protected, base.categories) for s in ch.scenarios}
    # the baseline categories in memory, read once for every edit and protected area
    baseline = base.categories
    if ch.edits or any(m is not None for m in masks.values()):
        baseline = baseline.copy(data=np.asarray(baseline.values))
    for s in ch.scenarios:
        with step(f"scenario {s.name}", timings):
            areas = _scenario_areas(config, base, s.landcover, baseline, masks[s.name], units,
                                    pixel_area, progress)
            _covers_as_baseline(base.class_areas, areas, s.name)
            tables[s.name] = rebalance_tc(base, areas)
    for name in dict.fromkeys(e.scenario for e in ch.edits):
        with step(f"scenario {name} (edits)", timings):
            cats = _apply_edits(config, base, baseline,
                                [e for e in ch.edits if e.scenario == name], log)
            edited[name] = cats
            tables[name] = rebalance_tc(base, class_areas(cats, units,
                                                          pixel_area=pixel_area))
    result = ScenarioResult(config=config, baseline=base, tables_tc=tables,
                            deltas=pd.DataFrame(), risk_transitions=pd.DataFrame(),
                            edited=edited, edits=log, timings=timings)
    # the deltas are differences of the written numbers: computed on the output-unit views
    result.deltas, result.risk_transitions = compare_scenarios(base.units, result.units,
                                                               suffix=base.suffix)
    timings["total"] = round(time.perf_counter() - t0, 3)
    return result


def run_scenarios(config: RunConfig, out_dir: str | Path, *, overwrite: bool = False,
                  progress: bool = False) -> tuple[ScenarioResult, Path, dict[str, str]]:
    """Assess the scenarios and write their comparison into ``out_dir`` (atomically).

    Returns
    -------
    tuple
        The :class:`ScenarioResult`, the output folder (absolute) and ``{role: file name}``.
    """
    from landcarbon.io.fingerprint import protected_inputs
    from landcarbon.io.outputs import check_output_target, staged_output_dir
    from landcarbon.pipeline.change_outputs import write_scenario_outputs

    target = Path(out_dir)
    inputs = protected_inputs(config)
    check_output_target(target, overwrite=overwrite, inputs=inputs)
    started = time.perf_counter()
    with (staged_output_dir(target, overwrite=overwrite, inputs=inputs,
                            kind="scenario") as stage, compute_context(config.compute)):
        result = assess_scenarios(config, progress=progress)
        with step("write outputs", result.timings):
            files = write_scenario_outputs(result, stage,
                                           elapsed_s=time.perf_counter() - started)
    return result, target.absolute(), files
