"""The pre-flight checks of ``[parcels]`` (``landcarbon validate``, and the gate of every
command): a layer of polygons, its code / name / area fields, survey areas and codes that
parse and that the legend maps, a unit id in ``unit_field`` for every parcel, no
overlapping parcels (their overlap would be counted twice), and with a ``[units]`` file no
unit that no parcel reaches (it would get no land at all).

Called by :class:`landcarbon.pipeline.validate._Checker`; problems go into its report.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from landcarbon.checks.problems import Problem, problem_code
from landcarbon.exceptions import LandcarbonError, UnmappedCodesError

__all__ = ["check_parcels"]


def check_parcels(checker: Any, units: Any, legend: Any) -> None:
    """``[parcels]``: the layer reads and holds polygons, its fields exist, survey areas and
    codes parse, a unit id in ``unit_field`` for every parcel, no overlapping parcels."""
    from landcarbon.checks.units import crs_problems, geometry_type_problems, overlaps
    from landcarbon.pipeline._compute import beside

    pc = checker.config.parcels
    assert pc is not None
    where = f"[parcels] {pc.path}"
    gdf = checker.layer(where, pc.path, layer=pc.layer, what="Parcels")
    if gdf is None:
        return
    kinds = geometry_type_problems(gdf, where, "parcels") + crs_problems(gdf, where)
    for p in kinds:
        checker.add(p)
    if units is not None and not kinds:
        _units_without_parcels(checker, units, gdf, where)
    # pairs of overlapping parcels (GEOS, the GIL released: beside the checks below; ~1.7 s
    # at 100,000 parcels), named by their rows
    rows = gdf[["geometry"]].assign(unit_id=[f"row {i}" for i in range(1, len(gdf) + 1)])
    pending = beside(overlaps, rows)
    try:
        _fields_and_codes(checker, gdf, units, legend, where)
    finally:
        _parcel_overlaps(checker, rows, where, pending.result())


def _units_without_parcels(checker: Any, units: Any, gdf: Any, where: str) -> None:
    """``unit_without_parcels`` (error): units that no parcel reaches (in raster mode, a
    unit off the raster is an error for the same reason: it would get no land at all)."""
    from landcarbon.checks.units import units_problem, units_reached

    reached = units_reached(units, gdf)
    if reached is None:
        return
    kept = units_reached(gdf, units)  # (the same query the other way round)
    if kept is not None:
        real = ~(gdf.geometry.isna() | gdf.geometry.is_empty).to_numpy()
        outside = np.flatnonzero(real & ~kept)
        if len(outside):
            rows = [int(i) + 1 for i in outside]
            checker.add(Problem(
                "polygons_outside_units", "warning", where,
                f"{len(rows)} parcel(s) overlap no unit (rows "
                f"{', '.join(map(str, rows[:10]))}{' and more' if len(rows) > 10 else ''}): "
                "their land is counted in no unit (nor in the totals).",
                "Nothing to do if the parcels reach beyond the study area on purpose; "
                "otherwise check that the units cover them (and the CRS of both files).",
                {"rows": rows}))
    alone = ~reached
    if alone.any():
        checker.add(units_problem(
            "unit_without_parcels", "error", units, alone, "[units]",
            "{n} of {total} unit(s) overlap no parcel of " + where.replace("{", "{{").replace(
                "}", "}}") + ": they would get no land at all.",
            "Use the parcels of the whole study area, or check the CRS of both files (a "
            "wrong CRS puts the units far away)."))


def _fields_and_codes(checker: Any, gdf: Any, units: Any, legend: Any, where: str) -> None:
    """The parcels' fields, their unit ids, survey areas and codes."""
    from landcarbon.engine.parcels import check_parcel_codes, parcel_fields, survey_areas_m2

    pc = checker.config.parcels
    if units is not None:
        checker.crs_pair(units.crs, gdf.crs, "[units]", "[parcels]")
    source = "Parcels"  # ``where`` names the file
    fields = checker.step("field_missing", where, lambda: parcel_fields(
        gdf, pc.code_field, pc.name_field, pc.area_field, source=source))
    if fields is None:
        return
    checker.report.summary["parcel_fields"] = {"code": fields.code, "name": fields.name,
                                            "area": fields.area}
    import pandas as pd

    column = gdf[fields.code]
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        checker.add(Problem(  # (the gate of every command reports it as well)
            "parcel_values_invalid", "warning", f"{where}: field {fields.code!r}",
            "The code field is numeric, so the leading zeros of its codes were lost when it "
            "was saved (0101 -> 101): codes are read as GB/T 21010 codes of 2 or 4 digits "
            "(1-12 as 01-12, 101-1207 as 0101-1207).",
            "Save the field as text to keep the survey's codes."))
    if units is None and pc.unit_field:  # the parcels' units come from this field
        _parcel_units(checker, gdf, where, pc.unit_field)
    if fields.area is not None:
        area = fields.area
        checker.step("parcel_values_invalid", f"{where}: field {area!r}",
                     lambda: survey_areas_m2(gdf, area, source=source))
    if legend is None:
        return
    try:
        check_parcel_codes(gdf, legend, fields, exclude_codes=pc.exclude_codes,
                           source=source)
    except UnmappedCodesError as exc:
        checker.add(Problem(
            "unmapped_codes", "error", f"{where}: field {fields.code!r}", str(exc),
            "Use the right legend, add the codes to a custom legend CSV, or list them in "
            "[parcels] exclude_codes.",
            {"parcels": {str(k): int(v) for k, v in exc.counts.items()}}))
    except LandcarbonError as exc:
        checker.add(Problem(problem_code(exc, "parcel_values_invalid"), "error", where,
                            str(exc)))
    else:
        if checker.scan and fields.area is not None and checker.report.ok:
            _survey_areas(checker, gdf, units, legend, fields, where)


def _survey_areas(checker: Any, gdf: Any, units: Any, legend: Any, fields: Any,
                  where: str) -> None:
    """``area_mismatch`` (warning, with the scan): the units and parcels whose ellipsoidal
    areas differ from the survey's own (TBMJ) beyond ``area_tolerance``, as the run logs
    them."""
    from landcarbon.engine.parcels import (
        parcel_pieces,
        survey_messages,
        survey_reconciliation,
    )

    pc = checker.config.parcels
    try:
        pieces = parcel_pieces(gdf, legend, fields, units=units, unit_field=pc.unit_field,
                               exclude_codes=pc.exclude_codes, source="Parcels")
    except LandcarbonError:  # (what stops the pieces is reported by its own check)
        return
    summary = survey_reconciliation(pieces, pc.area_tolerance, field=fields.area)[1]
    checker.report.summary["survey_areas"] = {
        k: summary[k] for k in ("field", "parcels", "area_ha", "tbmj_ha", "diff_ha")}
    lines = survey_messages(summary, "")  # (the problem's place names the file)
    if lines:
        checker.add(Problem(
            "area_mismatch", "warning", f"{where}: field {fields.area!r}",
            ". ".join(lines) + ".",
            "Check that the area field holds the survey's areas in m2 and that the parcels' "
            "CRS is right; raise [parcels] area_tolerance if the differences are expected."))


def _parcel_units(checker: Any, gdf: Any, where: str, field: str) -> None:
    """``[parcels] unit_field``: present, and a unit id in every parcel (a parcel without
    one would belong to no unit: its land would be left out)."""
    if field not in gdf.columns:
        fields = [c for c in gdf.columns if c != "geometry"]
        checker.add(Problem("field_missing", "error", f"{where}: unit_field = {field!r}",
                            f"unit_field {field!r} is not a field of the parcels file.",
                            f"Use one of: {', '.join(fields)}.", {"fields": fields}))
        return
    from landcarbon.checks.units import blank_cells

    missing = blank_cells(gdf[field])
    if missing.any():
        rows = [int(i) + 1 for i in np.flatnonzero(missing)]
        checker.add(Problem("unit_id_missing", "error", f"{where}: field {field!r}",
                            f"{len(rows)} parcel(s) have no unit id in {field!r} (rows "
                            f"{', '.join(map(str, rows[:10]))}): their land would belong to "
                            "no unit.", f"Fill in {field!r} for every parcel.",
                            {"rows": rows}))


def _parcel_overlaps(checker: Any, rows: Any, where: str, table: Any) -> None:
    """Parcels must not overlap: the overlap would be counted twice (an error above 1 % of
    the smaller parcel, as for units; ``rows``: the parcels with their row as unit id,
    ``table``: their :func:`~landcarbon.checks.units.overlaps`)."""
    from landcarbon.checks.units import overlap_problems

    for p in overlap_problems(rows, where, table):
        checker.add(replace(
            p, message=p.message.replace("pair(s) of units", "pair(s) of parcels").replace(
                "of the smaller unit", "of the smaller parcel").replace(
                "in both units", "in both parcels"),
            fix="Parcels must not overlap: clean the layer (QGIS: Vector > Geometry Tools "
                "> Check Validity / topology checker); a land survey's parcels partition "
                "the land."))
