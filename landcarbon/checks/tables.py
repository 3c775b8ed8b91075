"""Checks of per-unit statistics tables (GDP, population...): columns present, values
numeric and non-negative, one row per unit, ids matching the units. Pure: a DataFrame in,
:class:`~landcarbon.checks.problems.Problem` records out."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from landcarbon.checks.problems import Problem

__all__ = ["lower_columns", "not_positive", "require_columns", "spreadsheet_row",
           "statistics_problems"]


def statistics_problems(table: pd.DataFrame, *, id_column: str, columns: Sequence[str],
                        unit_ids: Sequence[str] | None = None, where: str = "statistics"
                        ) -> list[Problem]:
    """Problems of a statistics table.

    ``field_missing`` (error) for an absent column; ``statistics_invalid`` (error for
    non-numeric, infinite, zero or negative values and duplicate ids, warning for empty
    cells);
    ``statistics_unknown_ids`` and ``statistics_missing`` (warnings) against ``unit_ids``.
    """
    problems: list[Problem] = []
    ids = table[id_column].astype(str).str.strip()
    blank = (table[id_column].isna() | (ids == "") | ids.isna()).to_numpy()
    if blank.any():  # (a blank id crashed the listings below)
        lines = [spreadsheet_row(table.index, i) for i in np.flatnonzero(blank)]
        problems.append(Problem(
            "statistics_invalid", "error", f"{where}: {id_column}",
            f"{len(lines)} row(s) have no unit id (line(s) "
            f"{', '.join(map(str, lines[:10]))}).",
            "Fill in the unit id of each row (the ids of [units] id_field), or delete the "
            "rows.", {"lines": lines}))
        table, ids = table[~blank], ids[~blank]
    for col in columns:
        if col not in table.columns:
            problems.append(Problem(
                "field_missing", "error", f"{where}: column {col!r}",
                f"The statistics table has no column {col!r}.",
                f"Columns: {', '.join(map(str, table.columns))}; rename the column or set it "
                "in the config.", {"columns": [str(c) for c in table.columns]}))
            continue
        raw = table[col]
        # GDP and population divide the emission (intensity, per capita): 0 and inf would
        # write inf and NaN into every indicator and the zones ranked on them
        bad = not_positive(raw)
        empty = raw.isna()
        if bad.any() or empty.any():
            flagged = np.flatnonzero((bad | empty).to_numpy())
            rows = {str(ids.iloc[i]): ("" if empty.iloc[i] else str(raw.iloc[i]))
                    for i in flagged}
            listing = ", ".join(f"row {spreadsheet_row(table.index, i)} ({ids.iloc[i]}) = "
                                + ("(empty)" if empty.iloc[i] else repr(str(raw.iloc[i])))
                                for i in flagged[:10])
            problems.append(Problem(
                "statistics_invalid", "error" if bad.any() else "warning",
                f"{where}: column {col!r}",
                f"{int(bad.sum())} non-numeric, infinite, zero or negative and "
                f"{int(empty.sum())} empty "
                f"value(s) in {col!r} (spreadsheet rows, header = row 1): {listing}.",
                "Give plain positive numbers (no thousands separators, no text such as "
                "'n/a' or '#N/A'); leave the cell empty for a unit without a value (no GDP or "
                "no population): that unit gets no indicator (never 0).",
                {"values": rows, "rows": [spreadsheet_row(table.index, i) for i in flagged]}))
    dup = ids[ids.duplicated(keep=False)].value_counts()
    if len(dup):
        problems.append(Problem(
            "statistics_invalid", "error", f"{where}: {id_column}",
            f"{len(dup)} unit id(s) appear more than once: {', '.join(dup.index[:10])}.",
            "Give each unit one row.", {"duplicates": {str(k): int(v) for k, v in
                                                      dup.items()}}))
    if unit_ids is None:
        return problems
    known = set(unit_ids)
    for code, listed, text in (
            ("statistics_unknown_ids", sorted(set(ids) - known), "are not in the units file"),
            ("statistics_missing", sorted(known - set(ids)), "have no statistics row")):
        if listed:
            problems.append(Problem(
                code, "warning", f"{where}: {id_column}",
                f"{len(listed)} unit id(s) {text}: {', '.join(listed[:10])}.",
                f"The {id_column} column must hold the ids of [units] id_field.",
                {"unit_ids": listed}))
    return problems


def not_positive(raw: pd.Series) -> pd.Series:
    """The cells of ``raw`` that hold something other than a positive finite number (text,
    0, a negative, inf); empty cells are not among them."""
    values = pd.to_numeric(raw, errors="coerce")
    return (values.isna() & raw.notna()) | ~(values > 0) & values.notna() | np.isinf(values)


def require_columns(table: pd.DataFrame, needed: Sequence[str], what: str, expected: str
                    ) -> None:
    """Raise :class:`~landcarbon.exceptions.InputError` naming the columns of ``needed``
    that ``table`` lacks and those it has (``what``: the table, ``expected``: what such a
    table holds); a header read as one column holding ``;`` or tabs is named as a file that
    is not comma-separated (Excel's CSV in some locales)."""
    missing = [c for c in needed if c not in table.columns]
    if not missing:
        return
    from landcarbon.exceptions import InputError

    found = [str(c) for c in table.columns]
    hint = ""
    if len(found) == 1 and (";" in found[0] or "\t" in found[0]):
        hint = (" Its header is one column holding ';' or tabs: save the file as "
                "comma-separated CSV (Excel: CSV UTF-8, comma delimited).")
    raise InputError(f"{what}: missing column(s) {', '.join(missing)}; found "
                     f"{', '.join(found)}.{hint} {expected}")


def lower_columns(table: pd.DataFrame, what: str) -> pd.DataFrame:
    """``table`` with its column names stripped and lower-cased (tables whose columns are
    read case-insensitively: legends, InVEST pool tables).

    Raises
    ------
    InputError
        When two columns become one name (``C_above`` and ``c_above``): naming both.
    """
    from landcarbon.exceptions import InputError

    names = [str(c).strip().lower() for c in table.columns]
    seen: dict[str, str] = {}
    for original, low in zip(map(str, table.columns), names, strict=True):
        if low in seen:
            raise InputError(f"{what}: columns {seen[low]!r} and {original!r} are the same "
                             "column (names are read without case): keep one of them and "
                             "rename or delete the other.")
        seen[low] = original
    return table.set_axis(names, axis=1)


def spreadsheet_row(index: pd.Index, i: int | np.integer) -> int:
    """The spreadsheet row (header = row 1) of the ``i``-th row of a table read by
    :func:`landcarbon.io.tables.read_table` (its index keeps each row's position)."""
    label = index[i]
    return int(label) + 2 if isinstance(label, int | np.integer) else i + 2
