"""Single-date orchestration: config -> steps -> outputs.

:func:`assess` runs every computing step in memory (rasters stay lazy) and returns an
:class:`Assessment` whose fields are the intermediates a notebook user can inspect;
:func:`run` also writes the outputs of a run into one folder atomically. Step functions live in
their own modules and know nothing of configs or files.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from landcarbon.accounting.balance import unit_balance
from landcarbon.accounting.classification import check_codes, classify
from landcarbon.accounting.spaces import SpaceTypeRule, unit_space_types
from landcarbon.checks.units import overlaps, repair_geometries
from landcarbon.config.run import RunConfig
from landcarbon.engine.areas import geodesic_areas_m2
from landcarbon.exceptions import InputError
from landcarbon.pipeline import resolve
from landcarbon.pipeline._construction import construction_of
from landcarbon.pipeline._crops import crop_sink_of, cropland_record, with_crop_sink
from landcarbon.pipeline._rasters import (
    SinkOpener,
    pass_rasters,
    store_late_rasters,
)
from landcarbon.pipeline._thresholds import risk_table, threshold_set
from landcarbon.pipeline.progress import bars_shown, dask_bar, lap, step
from landcarbon.pipeline.records import Assessment, RunResult
from landcarbon.pipeline.resolve import display_units, risk_bands, space_type_rule

__all__ = ["assemble_units", "assess", "run", "study_landcover", "study_units",
           "units_share_cells"]

log = logging.getLogger(__name__)


def assess(config: RunConfig, *, progress: bool = False,
           raster_sinks: Mapping[str, SinkOpener] | None = None,
           check_inputs: bool = True,
           measured: tuple[Any, pd.Series, pd.DataFrame] | None = None,
           prepared: PreparedUnits | None = None, codes: Any = None) -> Assessment:
    """Run every computing step of ``config`` and return the results (nothing is written).

    Parameters
    ----------
    config : RunConfig
    progress : bool
        Progress bars on stderr.
    raster_sinks : mapping, optional
        ``name -> opener`` for any of the derived rasters
        (``land_class``, ``space_type``, ``net_flux``): ``opener(template)`` gets the lazy
        raster (grid, dtype, nodata, attrs) and returns a sink (``sink[rows, cols] =
        block``, thread-safe) that receives every block of it. They are computed in the same
        pass over the land cover as the zonal areas (each chunk read once); the net flux of
        the ``energy`` construction method depends on the balance and follows in a second
        pass. Raster mode only.
    check_inputs : bool
        Run the checks of ``landcarbon validate`` first (:func:`landcarbon.pipeline.validate.gate`)
        and stop on their errors; False only when the caller has just run them.
    measured : (xarray.DataArray, pandas.Series, pandas.DataFrame), optional
        The land cover as :func:`study_landcover` opens it and what
        :func:`landcarbon.engine.landcover_pass.landcover_pass` (``units_overlap=False``) gave
        for it: used instead of this run's own pass (a change run computes every date's
        pass and the transitions together, reading each block once). Raster mode, without
        ``raster_sinks``.
    prepared : PreparedUnits, optional
        ``config``'s units as :func:`prepare_units` read and measured them: used instead of
        reading them again (a change run reads and measures its units once for every date).
    codes : xarray.DataArray, optional
        The land cover to assess instead of opening ``[landcover] path`` (a change run's
        date resampled onto the first date's grid, :func:`landcarbon.pipeline._change_pass.
        dates_codes`); raster mode.

    Returns
    -------
    Assessment
        ``.table_tc`` (GeoDataFrame in t C: one row per unit with its balance, space type,
        threshold and risk level; the canonical table), ``.units`` (the same in the output
        unit), ``.class_areas`` (long table, ha), ``.totals()`` (dict), the lazy
        rasters (``.codes``, ``.categories``) and the settings used.

    Raises
    ------
    InputProblemsError
        When the checks find errors (nothing is computed).
    """
    from landcarbon.io.raster import raster_read_errors
    from landcarbon.io.vector import read_vector, reading_once

    with reading_once():  # the gate and the run read the units file once
        if check_inputs:
            from landcarbon.pipeline.validate import gate

            gate(config)
        ready = None if config.units is None else prepared or prepare_units(config)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    repairs: list[dict[str, Any]] = []
    cc = config.coefficients
    crop_sink = crop_sink_of(config)
    coefficients = resolve.coefficient_set(config)
    units = unit_area_m2 = None
    if ready is not None:
        # the gate has logged these problems and stopped on the errors among them
        units, overlap_check, unit_area_m2 = ready.units, ready.overlaps, ready.area_m2
        repairs += [{"problem": p.code, "where": p.where, "message": p.message,
                     **{k: v for k, v in p.details.items() if k != "reasons"}}
                    for p in ready.problems if p.code == "geometry_invalid"]
    given, codes, categories, counts = codes, None, None, None
    survey_table: pd.DataFrame | None = None
    survey: dict[str, Any] = {}
    if config.landcover is not None:
        lc = config.landcover
        legend = resolve.legend(config)
        codes = (measured[0] if measured is not None else given if given is not None
                 else study_landcover(config, units))
        t0 = lap(timings, "read", t0)
        categories = classify(codes, legend, lc.exclude_codes)
        from landcarbon.engine.landcover_pass import landcover_pass

        assert units is not None
        construction, con_kwargs = construction_of(config, units)
        if crop_sink is not None:  # the cropland density is known after the pass
            construction["late_flux"] = True
        outputs = pass_rasters(raster_sinks or {}, categories, coefficients, construction,
                               cc.output_unit)
        with raster_read_errors(codes), dask_bar("land-cover pass", progress):
            # one pass: code counts, zonal areas and the derived rasters share every chunk
            # read (unmapped codes count as nodata meanwhile and are refused right after);
            # the block engine assumes the units do not overlap ...
            if measured is None:
                counts, areas = landcover_pass(
                    codes, units, legend, lc.exclude_codes, pixel_area=lc.pixel_area,
                    rasters=outputs, units_overlap=False)
            else:
                assert not outputs, "a measured pass has fed no raster sink"
                counts, areas = measured[1], measured[2]
            overlap_table = _overlap_repair(overlap_check.result(), config, repairs)
            if units_share_cells(overlap_table, codes):
                # ... units that share a cell or more are counted again by exactextract (the
                # rasters, which do not depend on the units, were written by the first pass)
                counts, areas = landcover_pass(
                    codes, units, legend, lc.exclude_codes, pixel_area=lc.pixel_area,
                    units_overlap=True)
        fed = set(outputs)
        files = lc.path if isinstance(lc.path, str) else ", ".join(lc.path)
        check_codes(counts, legend, lc.exclude_codes,
                    source=f"The land-cover raster {files!r}")
        if not len(areas):
            raise InputError(
                f"No classified land inside any of the {len(units)} unit(s): the units lie "
                "outside the land-cover raster, or every pixel under them is nodata or an "
                "excluded class. Check that the raster covers the units and that both files "
                "have the right CRS (run `landcarbon validate` for the details).")
        t0 = lap(timings, "zonal", t0)

        def measure(pieces: gpd.GeoDataFrame) -> pd.DataFrame:
            return landcover_pass(codes, pieces, legend, lc.exclude_codes,
                                  pixel_area=lc.pixel_area, units_overlap=False)[1]
    else:
        from landcarbon.engine.parcels import (
            parcel_fields,
            parcel_pieces,
            pieces_class_areas,
            survey_reconciliation,
        )

        pc = config.parcels
        assert pc is not None
        if units is not None:
            _overlap_repair(overlap_check.result(), config, repairs)
        legend = resolve.legend(config)
        parcels = read_vector(config.path(pc.path), layer=pc.layer, what="Parcels")
        source = f"Parcels {pc.path}"
        fields = parcel_fields(parcels, pc.code_field, pc.name_field, pc.area_field,
                               source=source)
        pieces = parcel_pieces(parcels, legend, fields, units=units, unit_field=pc.unit_field,
                               exclude_codes=pc.exclude_codes, source=source)
        areas = pieces_class_areas(pieces)
        if fields.area is not None:
            survey_table, survey = survey_reconciliation(pieces, pc.area_tolerance,
                                                         field=fields.area)
            _warn_survey(survey, source)
        if units is None:
            units = _units_from_parcels(parcels, pc.unit_field or "")
        t0 = lap(timings, "parcels", t0)

        def measure(pieces: gpd.GeoDataFrame) -> pd.DataFrame:
            return pieces_class_areas(parcel_pieces(
                parcels, legend, fields, units=pieces, exclude_codes=pc.exclude_codes,
                source=source))

    if config.landcover is None:
        construction, con_kwargs = construction_of(config, units)
    plan_columns = None
    planning: dict[str, Any] = {}
    if config.planning_zones is not None:  # planned space types replace the land cover's
        from landcarbon.pipeline._planning import planned_areas

        areas, plan_columns, planning = planned_areas(config, units, areas, measure)
        t0 = lap(timings, "planning_zones", t0)
    by_unit: dict[str, pd.Series] = {}
    if crop_sink is not None:
        coefficients, by_unit = with_crop_sink(config, crop_sink, areas)
    balance = unit_balance(areas, coefficients, unit_ids=units["unit_id"],
                           density_by_unit=by_unit, **con_kwargs)
    cropland = cropland_record(balance, config, coefficients, by_unit, crop_sink, areas)
    if construction.get("method") == "energy":
        per_ha = balance["construction_emission_tc"] / balance["construction_ha"].where(
            balance["construction_ha"] > 0)
        construction["intensity_tc_per_ha_by_unit"] = per_ha
        unallocated = balance.loc[balance["construction_ha"] <= 0, "construction_emission_tc"]
        construction["unallocated_tc"] = float(unallocated.sum())
        if construction["unallocated_tc"] > 0:
            log.warning("%d unit(s) report energy use but hold no construction land (%.1f t C "
                        "counted in their totals, not mapped on the flux raster): %s",
                        int((unallocated > 0).sum()), construction["unallocated_tc"],
                        ", ".join(unallocated[unallocated > 0].index[:10]))
    balance["space_type"] = unit_space_types(balance, space_type_rule(config))
    if plan_columns is not None:
        balance = balance.join(_landcover_view(plan_columns, space_type_rule(config)))
    limits = threshold_set(config, balance, areas)
    thresholds = limits.limits
    risk = risk_table(balance, limits, risk_bands(config),
                      cropland_tc_per_ha=float(coefficients.tc_per_ha.get("cropland", 0.0)),
                      display=display_units(config))
    table = assemble_units(units, balance.join(risk),
                           None if unit_area_m2 is None else unit_area_m2.result())
    if survey_table is not None:
        table = _with_survey_columns(table, survey_table)
    lap(timings, "balance_and_risk", t0)
    table.attrs["language"] = config.language  # explore_units follows the run's language
    table.attrs["display"] = display_units(config).record()  # and its display units
    result = Assessment(config=config, legend=legend, coefficients=coefficients, table_tc=table,
                        class_areas=areas, thresholds=thresholds, threshold_set=limits,
                        cropland=cropland,
                        codes=codes,
                        categories=categories, code_counts=counts, construction=construction,
                        timings=timings, planning=planning, repairs=repairs, survey=survey)
    from landcarbon.pipeline._zoning import apply_zoning

    apply_zoning(result, progress=progress)  # no-op unless a zoning section is configured
    if raster_sinks and categories is not None:
        store_late_rasters(result, raster_sinks, fed)
    return result


def study_units(config: RunConfig) -> tuple[gpd.GeoDataFrame, list[Any]]:
    """The units of ``config`` as a run uses them (read, invalid geometries repaired) and the
    problems of the repair (:func:`landcarbon.checks.units.repair_geometries`)."""
    from landcarbon.io.vector import read_units

    u = config.units
    assert u is not None
    units = read_units(config.path(u.path), layer=u.layer, id_field=u.id_field,
                       name_field=u.name_field)
    return repair_geometries(units, f"units {u.path}")


@dataclass(frozen=True)
class PreparedUnits:
    """The units of a run, read once: ``units`` and the ``problems`` of their repair (as
    :func:`study_units` returns them), and two futures started beside the land-cover pass
    (``.result()`` waits): ``overlaps`` (:func:`landcarbon.checks.units.overlaps`) and
    ``area_m2`` (geodesic area of each unit, m2)."""

    units: gpd.GeoDataFrame
    problems: list[Any]
    overlaps: Any
    area_m2: Any


def prepare_units(config: RunConfig) -> PreparedUnits:
    """Read ``config``'s units (:func:`study_units`) and start their pairwise overlap check
    (GEOS) and geodesic areas (pyproj) in threads of their own: both release the GIL, so they
    run beside the land-cover pass. Returns a :class:`PreparedUnits`."""
    from landcarbon.pipeline._compute import beside

    units, problems = study_units(config)
    return PreparedUnits(units, problems, beside(overlaps, units),
                         beside(geodesic_areas_m2, units.geometry, units.crs))


def study_landcover(config: RunConfig, units: gpd.GeoDataFrame | None) -> Any:
    """The land cover of ``config`` as a run reads it: opened lazily and cropped to the
    bounding box of ``units`` (chunk-aligned)."""
    from landcarbon.io.raster import open_landcover

    lc = config.landcover
    assert lc is not None
    codes = open_landcover(_paths(config, lc.path), chunks=lc.chunk_size, nodata=lc.nodata,
                           crs=lc.crs)
    if units is not None:
        from landcarbon.engine.extent import crop_to_units

        codes = crop_to_units(codes, units)
    return codes


def _landcover_view(columns: pd.DataFrame, rule: SpaceTypeRule) -> pd.DataFrame:
    """The ``[planning_zones]`` columns plus ``space_type_landcover``: the space type the
    unit would have by its land cover alone."""
    shares = columns.rename(columns=lambda c: c.removesuffix("_landcover"))
    out = columns.copy()
    out["space_type_landcover"] = unit_space_types(shares.fillna(0.0), rule).where(
        shares.notna().all(axis=1), "unclassified")
    return out


def units_share_cells(overlap_table: pd.DataFrame, codes: Any) -> bool:
    """Whether two units of an :func:`overlaps` table share at least the area of the
    smallest cell of ``codes`` (the land cover): the block engine then does not apply and
    such units are measured by exactextract."""
    from landcarbon.engine.landcover_pass import smallest_cell_m2

    return bool(len(overlap_table)) and (float(overlap_table["overlap_ha"].max()) * 1e4
                                         >= smallest_cell_m2(codes))


def _overlap_repair(table: pd.DataFrame, config: RunConfig, repairs: list[dict[str, Any]]
                    ) -> pd.DataFrame:
    """Record the overlaps of an :func:`overlaps` table (the gate refused them unless
    ``[units] allow_overlaps`` accepts them, or they are small) in ``repairs``; return the
    table."""
    if len(table):
        assert config.units is not None
        repairs.append({
            "problem": "units_overlap", "where": f"[units] {config.units.path}",
            "accepted_by": "[units] allow_overlaps = true" if config.units.allow_overlaps
            else "overlaps under 1 % of the smaller unit (a warning)",
            "pairs": len(table),
            "double_counted_ha": float(table["overlap_ha"].sum()),
            "message": "each unit counts its whole area: the overlap is counted in both "
                       "units of every pair"})
    return table


def _warn_survey(survey: dict[str, Any], source: str) -> None:
    """Log the units and parcels whose areas differ from the survey's beyond the
    tolerance."""
    from landcarbon.engine.parcels import survey_messages

    for line in survey_messages(survey, source):
        log.warning("%s", line)


def _with_survey_columns(table: gpd.GeoDataFrame, survey: pd.DataFrame) -> gpd.GeoDataFrame:
    """``table`` with the TBMJ comparison columns right after ``covered_ha``."""
    joined = table.join(survey, on="unit_id")
    cols = [c for c in table.columns if c not in survey.columns]
    at = cols.index("covered_ha") + 1
    order = cols[:at] + list(survey.columns) + cols[at:]
    return gpd.GeoDataFrame(joined[order], geometry=table.geometry.name, crs=table.crs)


def _paths(config: RunConfig, spec: str | list[str]) -> list[str]:
    return [config.path(p) for p in ([spec] if isinstance(spec, str) else spec)]


def _units_from_parcels(parcels: gpd.GeoDataFrame, unit_field: str) -> gpd.GeoDataFrame:
    if unit_field:
        keyed = parcels[[unit_field, "geometry"]].assign(unit_id=parcels[unit_field].astype(str))
        merged = keyed.dissolve(by="unit_id", as_index=False)
        return merged.assign(unit_name=merged["unit_id"])[["unit_id", "unit_name", "geometry"]]
    ids = (parcels.index.to_series() + 1).astype(str).to_numpy()
    return gpd.GeoDataFrame({"unit_id": ids, "unit_name": ids}, geometry=parcels.geometry.values,
                            crs=parcels.crs)


def assemble_units(units: gpd.GeoDataFrame, table: pd.DataFrame,
                   area_m2: np.ndarray | None = None) -> gpd.GeoDataFrame:
    """Units (id, name, geometry) + area_ha + the computed columns, in documented order.
    ``area_m2``: the units' geodesic areas if already computed."""
    if area_m2 is None:
        area_m2 = geodesic_areas_m2(units.geometry, units.crs)
    area_ha = area_m2 / 10_000.0
    base = pd.DataFrame({"unit_id": units["unit_id"].to_numpy(),
                         "unit_name": units["unit_name"].to_numpy(), "area_ha": area_ha})
    merged = base.join(table, on="unit_id")
    order = ["unit_id", "unit_name", "space_type", "risk_level", "area_ha", "covered_ha"]
    order += [c for c in merged.columns if c.startswith("share_")]
    order += [c for c in merged.columns if c.startswith("area_") and c != "area_ha"]
    order += [c for c in merged.columns if c not in order]
    return gpd.GeoDataFrame(merged[order], geometry=units.geometry.values, crs=units.crs)


def run(config: RunConfig, out_dir: str | Path, *, overwrite: bool = False,
        progress: bool = False, kind: str = "run") -> RunResult:
    """Assess and write all outputs of a run into ``out_dir`` (atomically).

    Outputs: ``units.gpkg`` (layer ``units``), ``units.csv``, ``class_areas.csv``, rasters
    ``land_class.tif``, ``space_type.tif``, ``net_flux.tif`` (COGs), ``map.html`` and the
    ``run.json`` manifest.

    If ``out_dir`` holds a finished run with the same fingerprint (version, settings, SHA-256
    of every input; :mod:`landcarbon.io.fingerprint`) and intact outputs, nothing is
    recomputed and the result has ``up_to_date=True``; ``overwrite=True`` always recomputes.
    ``kind`` is the kind of folder recorded in its ownership marker (``zone`` passes
    ``"zoning"``).

    Returns
    -------
    RunResult
        ``.assessment`` (the :class:`Assessment`, None when up to date), ``.out_dir``
        (absolute path), ``.files`` (``{role: file name}``) and ``.up_to_date``.
    """
    from landcarbon.io.fingerprint import one_hash_per_input

    # the fingerprint and run.json's inputs_sha256 share one digest of each input file
    with one_hash_per_input():
        return _run(config, Path(out_dir), overwrite=overwrite, progress=progress, kind=kind)


def _run(config: RunConfig, target: Path, *, overwrite: bool, progress: bool,
         kind: str) -> RunResult:
    from landcarbon.config.outputs import name
    from landcarbon.io.cogs import CogSet
    from landcarbon.io.fingerprint import (
        protected_inputs,
        run_fingerprint,
        stamp_manifest,
        up_to_date,
    )
    from landcarbon.io.outputs import check_output_target, staged_output_dir
    from landcarbon.pipeline.run_outputs import open_raster_sinks, write_run_outputs

    pending = None
    if target.is_dir() and any(target.iterdir()) and not overwrite:
        fingerprint = run_fingerprint(config)
        done = up_to_date(target, fingerprint, manifest=name("run", "manifest"))
        if done is not None:
            log.debug("%s is up to date (same inputs, settings and version): nothing to do",
                     target)
            return RunResult(assessment=None, out_dir=target.absolute(), files=done,
                             up_to_date=True)
    else:  # needed for run.json only: the inputs are hashed beside the run (the GIL released)
        import contextvars

        from landcarbon.pipeline._compute import beside

        pending = beside(contextvars.copy_context().run, run_fingerprint, config)
    inputs = protected_inputs(config)
    why = " (and does not hold this run with unchanged inputs and settings)"
    check_output_target(target, overwrite=overwrite, why=why, inputs=inputs)
    started = time.perf_counter()
    from landcarbon.pipeline._compute import compute_context
    from landcarbon.pipeline.figure_worker import prestarted

    # the figure worker imports matplotlib on the second core while this one computes
    with (prestarted(config.output.map), compute_context(config.compute),
          staged_output_dir(target, overwrite=overwrite, inputs=inputs, kind=kind,
                            why=why) as stage, CogSet() as cogs):
        # the rasters are written during the pass over the land cover (one read per chunk)
        sinks = (open_raster_sinks(stage, cogs)
                 if config.output.rasters and config.landcover is not None else None)
        result = assess(config, progress=progress, raster_sinks=sinks)
        with step("write outputs", result.timings):
            files = write_run_outputs(result, stage, progress=bars_shown(progress),
                                      elapsed_s=time.perf_counter() - started,
                                      cogs=cogs if sinks else None)
        if pending is not None:
            fingerprint = pending.result()
        stamp_manifest(stage, fingerprint, files, manifest=name("run", "manifest"))
    return RunResult(assessment=result, out_dir=target.absolute(), files=files)
