"""The pre-flight checks of the statistics tables a config names (``landcarbon validate``,
and the gate of every command): the crop table of the crop-yield sink, the construction
energy table and ``[statistics]`` (also each ``[[change.dates]]``'s tables): each reads,
its values parse, its ids match the units.

Called by :class:`landcarbon.pipeline.validate._Checker` (and the change checks) with the
checker, whose ``step`` and ``add`` put the problems into its report.
"""

from __future__ import annotations

from typing import Any

from landcarbon.checks.problems import Problem, Severity

__all__ = ["check_crops", "check_energy", "check_statistics"]


def check_crops(checker: Any, path: str, units: Any = None) -> None:
    """The crop table reads, holds rows, every value is a non-negative production; its ids
    against the units' (warnings: a unit without a row gets the region-wide density, a row
    of no unit is not used)."""
    from landcarbon.accounting.crops import crop_yield_sink
    from landcarbon.io.tables import read_table

    cc = checker.config.coefficients
    where = f"[coefficients] crop_table = {path!r}"
    table = checker.step("file_unreadable", where, lambda: read_table(
        checker.config.path(path), id_column=cc.crop_id_column, what="Crop table",
        encoding=checker.config.csv_encoding))
    if table is None:
        return
    sink = checker.step("statistics_invalid", where, lambda: crop_yield_sink(
        table, id_column=cc.crop_id_column, where=f"Crop table {path}"))
    if sink is not None and units is not None:
        _ids_against_units(
            checker, sink.index, units, f"{where}: {cc.crop_id_column}", "crop table",
            cc.crop_id_column, severity="warning", missing_code="statistics_missing",
            missing_means="Their cropland gets the region-wide sink density of the units "
            "that have one.", missing_fix="Add a row for each unit with cropland")


def check_energy(checker: Any, units: Any, path: str,
                 label: str = "[construction] energy_table") -> None:
    """The energy table reads, its values parse, and its ids are those of the units (unknown
    ids and units without a row: errors; as for an empty cell, no use is written as 0)."""
    from landcarbon.accounting.energy import construction_emissions
    from landcarbon.io.tables import read_table

    c = checker.config.construction
    where = f"{label} = {path!r}"
    table = checker.step("file_unreadable", where, lambda: read_table(
        checker.config.path(path), id_column=c.id_column, what="Energy table",
        encoding=checker.config.csv_encoding))
    if table is None:
        return
    result = checker.step("statistics_invalid", where, lambda: construction_emissions(
        table, id_column=c.id_column, electricity=c.electricity,
        grid_factor_kg_co2_per_kwh=(c.grid_factor_kg_co2_per_kwh
                                    if c.electricity == "grid_factor" else None)))
    if result is None or units is None:
        return
    _ids_against_units(
        checker, result.index, units, f"{where}: {c.id_column}", "energy table", c.id_column,
        severity="error", missing_code="energy_rows_missing",
        missing_means="Their construction emission would be unknown, not 0.",
        missing_fix="Add a row for each unit (0 in every column for a unit with no energy "
        "use)")


def _ids_against_units(checker: Any, ids: Any, units: Any, where: str, table: str,
                       column: str, *, severity: Severity, missing_code: str, missing_means: str,
                       missing_fix: str) -> None:
    """``statistics_unknown_ids`` (rows of no unit) and ``missing_code`` (units without a
    row) of a table's unit ids, both at ``severity``."""
    known = {i for i in units["unit_id"] if i != ""}  # rows without an id: their own error
    stray = sorted(set(ids) - known)
    if stray:
        checker.add(Problem("statistics_unknown_ids", severity, where,
                            f"{len(stray)} unit id(s) of the {table} are not in the units "
                            f"file{'' if severity == 'error' else ' and are not used'}: "
                            f"{', '.join(stray[:10])}.",
                            f"The {column} column must hold the ids of [units] id_field.",
                            {"unit_ids": stray}))
    missing = sorted(known - set(ids))
    if missing:
        checker.add(Problem(missing_code, severity, where,
                            f"{len(missing)} of the {len(known)} unit(s) have no row in the "
                            f"{table}: {', '.join(missing[:10])}"
                            + (" and more" if len(missing) > 10 else "") + f". {missing_means}",
                            f"{missing_fix}, or check that the id column holds the units' "
                            "ids.", {"unit_ids": missing}))


def check_statistics(checker: Any, units: Any, path: str | None = None,
                     label: str = "[statistics] path") -> None:
    """``[statistics]`` (or a date's ``statistics`` table, with the columns of
    ``[statistics]``): columns present, values numeric and >= 0, one row per unit."""
    from landcarbon.checks.tables import statistics_problems
    from landcarbon.config.zoning import StatisticsConfig
    from landcarbon.io.tables import read_table

    st = checker.config.statistics or StatisticsConfig.model_validate(
        {"path": path, "population_column": None})
    path = path or st.path
    where = f"{label} = {path!r}"
    table = checker.step("file_unreadable", where, lambda: read_table(
        checker.config.path(path), id_column=st.id_column, what="Statistics table",
        encoding=checker.config.csv_encoding))
    if table is not None:
        for p in statistics_problems(
                table, id_column=st.id_column,
                columns=[c for c in (st.gdp_column, st.population_column) if c],
                unit_ids=None if units is None else [i for i in units["unit_id"] if i != ""],
                where=where):
            checker.add(p)


def check_output_encoding(checker: Any, gdf: Any, where: str) -> None:
    """``[output] csv_encoding = "gbk"``: every unit id and name can be written in GBK (a
    text it cannot encode would stop the run when it writes units.csv, after computing)."""
    encoding = checker.config.output.csv_encoding
    if encoding != "gbk":  # UTF-8 and GB18030 encode every character
        return
    u = checker.config.units
    for field in dict.fromkeys(f for f in (u.id_field, u.name_field) if f in gdf.columns):
        for row, value in enumerate(gdf[field], start=1):
            text = str(value) if value is not None else ""
            try:
                text.encode(encoding)
            except UnicodeEncodeError as exc:
                bad = text[exc.start:exc.end]
                checker.add(Problem(
                    "output_encoding", "error", f"{where}: field {field!r}, row {row}",
                    f"{text!r} has the character {bad!r}, which GBK cannot encode: the "
                    "tables could not be written with [output] csv_encoding = \"gbk\".",
                    "Set [output] csv_encoding = \"gb18030\" (GBK's bytes for every GBK "
                    "character, encodes all others) or \"utf-8-sig\" (the default), or "
                    "change that text in the units file."))
                return
