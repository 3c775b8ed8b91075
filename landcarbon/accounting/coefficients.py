"""Coefficient sets: annual direct carbon flux per hectare of each land class (family A).

Built-in sets live in ``landcarbon/data/coefficients/`` (README there cites the sources). A
custom set is a CSV with ``land_class, value, unit, source, evidence``; values are converted
to t C/ha/yr on load (:mod:`landcarbon.accounting.conversions`). The cropland sign convention is an
explicit choice (``cropland_mode``) that is carried into every output.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from landcarbon._resources import available, data_path, read_csv
from landcarbon.accounting.conversions import density_factor
from landcarbon.accounting.legends import land_classes
from landcarbon.exceptions import InputError

__all__ = ["CoefficientSet", "CroplandMode", "list_coefficient_sets", "load_coefficients"]

CroplandMode = Literal["source", "sink", "neutral"]


def list_coefficient_sets() -> list[str]:
    """Names of the built-in coefficient sets."""
    return available("coefficients", ".csv")


@dataclass(frozen=True)
class CoefficientSet:
    """Validated direct flux coefficients.

    Attributes
    ----------
    name : str
        Built-in name or source path.
    table : pandas.DataFrame
        Indexed by ``land_class``: ``tc_per_ha`` (t C/ha/yr, NaN = indirect), the original
        ``value`` and ``unit``, ``source``, ``evidence``.
    cropland_mode : {"source", "sink", "neutral"}
        How cropland was treated (reported in every run).
    """

    name: str
    table: pd.DataFrame
    cropland_mode: CroplandMode = "source"

    @property
    def tc_per_ha(self) -> pd.Series:
        """Flux density per land class in t C/ha/yr (NaN = accounted indirectly)."""
        return self.table["tc_per_ha"]

    def indirect_classes(self) -> list[str]:
        """Land classes without a direct coefficient (construction-type land)."""
        return list(self.table.index[self.table["tc_per_ha"].isna()])


def load_coefficients(
    name_or_path: str | Path = "lai2010",
    *,
    overrides: dict[str, float] | None = None,
    cropland_mode: CroplandMode = "source",
    cropland_sink_tc_per_ha: float | None = None,
    encoding: str | None = None,
) -> CoefficientSet:
    """Load a coefficient set and apply the run's choices.

    Parameters
    ----------
    name_or_path : str or Path
        Built-in set name (:func:`list_coefficient_sets`) or path of a CSV.
    overrides : dict, optional
        ``{land_class: value in t C/ha/yr}`` replacing values of the set (e.g. a local
        wetland coefficient). Recorded as source "config override".
    cropland_mode : {"source", "sink", "neutral"}
        ``source``: the set's direct cropland coefficient (a source, e.g. +0.422);
        ``sink``: cropland absorbs ``cropland_sink_tc_per_ha`` (given as a positive magnitude,
        stored as negative); ``neutral``: cropland flux 0.
    cropland_sink_tc_per_ha : float, optional
        Required with ``cropland_mode="sink"``.
    encoding : str, optional
        Encoding of a custom CSV (``gbk``...); detected when None.

    Returns
    -------
    CoefficientSet
        ``.table`` (indexed by land class: ``tc_per_ha`` in t C/ha/yr, NaN for indirect
        classes, and ``source``) and ``.tc_per_ha`` (Series).

    Raises
    ------
    InputError
        Unknown set, unreadable CSV, unknown land classes or units, non-numeric values (every
        problem listed), or inconsistent cropland settings.
    """
    text = str(name_or_path)
    if text in list_coefficient_sets():
        path, name = data_path("coefficients", f"{text}.csv"), text
        encoding = None  # package data: UTF-8
    else:
        path, name = Path(text), text
        if not path.is_file():
            raise InputError(
                f"Coefficient set {text!r} is neither a built-in set nor an existing CSV file. "
                f"Built-in sets: {', '.join(list_coefficient_sets())}. A custom set is a CSV "
                "with columns land_class, value, unit, source."
            )
    try:
        raw = read_csv(path, encoding, what="Coefficient set")
    except InputError:  # an Excel workbook, named
        raise
    except Exception as exc:  # pandas raises many kinds of parse and decoding errors
        raise InputError(f"Coefficient set {name}: cannot be read as CSV ({exc}). Save it as "
                         "UTF-8 CSV with the header land_class,value,unit,source.") from exc
    table = _validate(raw, name)
    if overrides:
        unknown = sorted(set(overrides) - set(land_classes().index))
        if unknown:
            raise InputError(
                f"Coefficient overrides name unknown land class(es) {', '.join(unknown)}; valid "
                f"land classes: {', '.join(land_classes().index)}."
            )
        for lc, value in overrides.items():
            table.loc[lc, ["value", "unit", "tc_per_ha", "source", "evidence"]] = [
                str(value), "t C/ha/yr", float(value), "config override", "user"]
    direct = table["tc_per_ha"].abs() > MAX_DIRECT_TC_PER_HA
    if direct.any():  # a typing or unit error (kg for t, per m2 for per ha) would dominate
        listed = ", ".join(f"{lc} = {v:g} t C/ha/yr ({src})" for lc, v, src in zip(
            table.index[direct], table["tc_per_ha"][direct], table["source"][direct],
            strict=True))
        raise InputError(
            f"Coefficient set {name}: {listed}: beyond +/-{MAX_DIRECT_TC_PER_HA:g} t C/ha/yr, "
            "more than any land's direct flux (forests sink a few t C/ha/yr). Check the value "
            "and its unit (a CSV row's unit column; overrides are in t C/ha/yr).")
    if cropland_mode not in ("source", "sink", "neutral"):
        raise InputError(f"cropland_mode must be 'source', 'sink' or 'neutral', got "
                         f"{cropland_mode!r}.")
    if cropland_mode == "sink":
        if cropland_sink_tc_per_ha is None or not np.isfinite(cropland_sink_tc_per_ha):
            raise InputError(
                "cropland_mode = 'sink' needs cropland_sink_tc_per_ha (the cropland sink "
                "density as a positive number in t C/ha/yr, e.g. from crop productivity); set "
                "it in [coefficients] or use cropland_mode = 'source'."
            )
        table.loc["cropland", ["tc_per_ha", "source", "evidence"]] = [
            -abs(float(cropland_sink_tc_per_ha)), "cropland_mode=sink (user value)", "user"]
    elif cropland_mode == "neutral":
        table.loc["cropland", ["tc_per_ha", "source", "evidence"]] = [
            0.0, "cropland_mode=neutral", "user"]
    elif cropland_sink_tc_per_ha is not None:
        raise InputError("cropland_sink_tc_per_ha is only used with cropland_mode = 'sink'; "
                         "remove it or set cropland_mode = 'sink'.")
    return CoefficientSet(name=name, table=table, cropland_mode=cropland_mode)


#: The largest direct flux density a coefficient may have, t C/ha/yr (either sign): the
#: published direct coefficients are within a few t C/ha/yr (forest sinks -0.4 to -3, the
#: fastest plantations ~-15); construction land's emission is indirect (energy statistics or
#: an intensity), not a coefficient
MAX_DIRECT_TC_PER_HA = 100.0

#: Land classes whose coefficient may be empty in a set (accounted indirectly: energy
#: statistics or an emission intensity, ``[construction]``).
INDIRECT_CLASSES = ("construction", "rural_settlement")


def _validate(raw: pd.DataFrame, name: str) -> pd.DataFrame:
    raw = raw.rename(columns=lambda c: c.strip().lower())
    from landcarbon.checks.tables import require_columns

    require_columns(raw, ("land_class", "value", "unit"), f"Coefficient set {name}",
                    "Expected land_class, value, unit, source, evidence.")
    for col in ("source", "evidence"):
        if col not in raw.columns:
            raw[col] = ""
    known = set(land_classes().index)
    problems: list[str] = []
    values: list[float] = []
    for i, row in enumerate(raw.itertuples(index=False), start=2):
        lc = row.land_class.strip()
        if lc not in known:
            problems.append(f"line {i}: land_class {lc!r} unknown")
        text = str(row.value).strip()
        if text == "":
            if lc not in INDIRECT_CLASSES:
                problems.append(f"line {i} ({lc}): the value is empty; only "
                                f"{' and '.join(INDIRECT_CLASSES)} may be left empty (accounted "
                                "indirectly, from energy statistics); write the flux density "
                                "(0 for none)")
            values.append(np.nan)
            continue
        try:
            value = float(text)
            factor = density_factor(row.unit)
        except ValueError as exc:
            problems.append(f"line {i} ({lc}): {exc}")
            values.append(np.nan)
            continue
        if not np.isfinite(value):
            problems.append(f"line {i} ({lc}): value {text!r} is not a finite number")
        values.append(value * factor)
    table = raw.assign(land_class=raw["land_class"].str.strip(), tc_per_ha=values)
    dup = table["land_class"][table["land_class"].duplicated()]
    if len(dup):
        problems.append(f"duplicate land_class rows: {', '.join(sorted(set(dup)))}")
    absent = [lc for lc in land_classes().index if lc not in set(table["land_class"])]
    if absent:  # a class without a row would count no flux, silently
        problems.append(f"no row for land class(es) {', '.join(absent)}: give every class a "
                        "row (0 for no direct flux; the value of "
                        f"{' and '.join(INDIRECT_CLASSES)} may be empty: accounted indirectly)")
    if problems:
        raise InputError(
            f"Coefficient set {name} has {len(problems)} problem(s): " + "; ".join(problems)
            + f". Valid land classes: {', '.join(land_classes().index)}."
        )
    return table.set_index("land_class")[["value", "unit", "tc_per_ha", "source", "evidence"]]
