"""Parcel mode: land-use codes carried by polygons (e.g. 三调 survey parcels with GB/T 21010
codes) instead of a raster.

Each parcel is classified from its code attribute through the legend; its area is the
geodesic area of the polygon (ellipsoidal, any CRS: CGCS2000 EPSG:4490 and its Gauss-Krüger
zones included). Parcels are aggregated to coarser units either by intersecting them with a
units layer (a parcel crossing a unit boundary is split by area) or by an attribute of the
parcels (``unit_field``).

Third-survey (三调) layers (``DLTB``) are recognised by their standard fields when the config
does not name them: ``DLBM`` (地类编码, the code as text: ``0101``), ``DLMC`` (地类名称) and
``TBMJ`` (图斑面积, m2), in any letter case, or the Chinese field names. The survey's own
TBMJ is reconciled with landcarbon's ellipsoidal areas (:func:`survey_reconciliation`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from landcarbon.accounting.legends import EXCLUDED, Legend
from landcarbon.engine.areas import geodesic_areas_m2, to_crs_densified
from landcarbon.exceptions import InputError, UnmappedCodesError

__all__ = ["SURVEY_FIELDS", "ParcelFields", "check_parcel_codes", "class_areas_from_parcels",
           "parcel_code_text", "parcel_codes", "parcel_fields", "parcel_pieces",
           "pieces_class_areas", "survey_areas_m2", "survey_messages",
           "survey_reconciliation"]


#: Field names of the 三调 / land-use database DLTB layer, by role, tried in this order
#: (letter case ignored) when the config does not name the field.
SURVEY_FIELDS: dict[str, tuple[str, ...]] = {
    "code": ("DLBM", "地类编码"),
    "name": ("DLMC", "地类名称"),
    "area": ("TBMJ", "图斑面积"),
}

#: A parcel's difference from its TBMJ is reported only above this many m2 (TBMJ is stored
#: to 0.01 m2; slivers of a few m2 would otherwise dominate the relative differences).
PARCEL_DIFF_FLOOR_M2 = 1.0


@dataclass(frozen=True)
class ParcelFields:
    """The attributes of a parcel layer that landcarbon reads: ``code`` (land-use code),
    ``name`` (class name, for messages) and ``area`` (the survey's own area, m2), as found
    in the layer (None: absent)."""

    code: str
    name: str | None = None
    area: str | None = None


def _columns(parcels: gpd.GeoDataFrame) -> list[str]:
    return [str(c) for c in parcels.columns if c != parcels.geometry.name]


def _find(columns: list[str], name: str) -> str | None:
    """``name`` among ``columns``: exact, else the one column equal to it ignoring case."""
    if name in columns:
        return name
    matches = [c for c in columns if c.casefold() == name.casefold()]
    return matches[0] if len(matches) == 1 else None


def parcel_fields(parcels: gpd.GeoDataFrame, code_field: str | None = None,
                  name_field: str | None = None, area_field: str | None = None,
                  *, source: str = "Parcels") -> ParcelFields:
    """Resolve the code, name and area fields of a parcel layer.

    A field named in the config must exist (letter case is ignored when only one field
    matches); an unnamed one is looked up among the 三调 names :data:`SURVEY_FIELDS`.
    ``area_field = ""`` turns the TBMJ reconciliation off.

    Returns
    -------
    ParcelFields
        The column names as spelled in the layer (``name`` / ``area`` None when absent).

    Raises
    ------
    InputError
        A named field is missing, or no code field is named and none of the 三调 names is
        present (``code`` ``field_missing``).
    """
    columns = _columns(parcels)
    found: dict[str, str | None] = {}
    for role, given, key in (("code", code_field, "code_field"), ("name", name_field,
                                                                  "name_field"),
                             ("area", area_field, "area_field")):
        if given == "" and role != "code":
            found[role] = None
            continue
        if given:
            hit = _find(columns, given)
            if hit is None:
                raise InputError(f"{source}: no field {given!r}; fields: "
                                 f"{', '.join(columns)}. Set [parcels] {key} to one of them.",
                                 code="field_missing")
            found[role] = hit
            continue
        found[role] = next((h for n in SURVEY_FIELDS[role] if (h := _find(columns, n))), None)
    if found["code"] is None:
        raise InputError(f"{source}: no land-use code field, none of the third-survey "
                         f"(三调) names {' / '.join(SURVEY_FIELDS['code'])} is among the fields "
                         f"({', '.join(columns)}). Set [parcels] code_field to the field that "
                         "holds the GB/T 21010 code.", code="field_missing")
    return ParcelFields(code=str(found["code"]), name=found["name"], area=found["area"])


def _rows(mask: np.ndarray, limit: int = 10) -> str:
    """1-based feature numbers where ``mask`` holds (the first ``limit``)."""
    rows = np.flatnonzero(mask)
    text = ", ".join(str(r + 1) for r in rows[:limit])
    return ("row " if len(rows) == 1 else "rows ") + text + (", ..." if len(rows) > limit
                                                             else "")


def parcel_code_text(parcels: gpd.GeoDataFrame, code_field: str, *,
                     source: str = "Parcels") -> pd.Series:
    """The land-use codes as text, leading zeros kept (``'0101'``, ``'05H1'``).

    A text field is taken as it is (stripped, upper case). A numeric field has lost the
    leading zeros of the survey's codes when it was saved (``0101`` -> 101): its integers
    are written back with 2 digits below 100 (first-level codes ``01``-``12``) and 4 digits
    otherwise (``0101``-``1207``), which is unambiguous for GB/T 21010, and a warning says
    so. Fractional, negative and empty values are errors.

    Returns
    -------
    pandas.Series
        One code string per parcel (the parcels' index).
    """
    column = parcels[code_field]
    missing = column.isna().to_numpy()
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        values = column.to_numpy(dtype=float)
        with np.errstate(invalid="ignore"):
            bad = ~np.isfinite(values) | (values < 0) | (values % 1 != 0)
        if bad.any():
            raise InputError(
                f"{source}: field {code_field!r} holds {int(bad.sum())} value(s) that are not "
                f"land-use codes ({_rows(bad)}: "
                + ", ".join("(empty)" if np.isnan(v) else repr(float(v))
                            for v in values[bad][:5])
                + "). Save the codes as text (e.g. '0101') and fill the empty ones.",
                code="parcel_values_invalid")
        ints = values.astype(np.int64)
        text = pd.Series(np.where(ints < 100, [f"{v:02d}" for v in ints],
                                  [f"{v:04d}" for v in ints]), index=parcels.index)
        # (the gate of every command warns that the leading zeros were lost: validate's
        # parcel_values_invalid warning)
        return text
    text = column.astype(str).str.strip().str.upper()
    empty = missing | (text == "").to_numpy()
    if empty.any():
        raise InputError(f"{source}: {int(empty.sum())} parcel(s) have an empty {code_field!r} "
                         f"({_rows(empty)}). Fill in their land-use codes or remove those "
                         "parcels.", code="parcel_values_invalid")
    return text


def _numeric_codes(text: pd.Series) -> pd.Series:
    """Integer codes of code strings (``'0101'`` -> 101; letter codes, see
    :func:`parcel_codes`); NaN where a string is not a code. A code written with a leading
    zero is a GB/T 21010 code of 2 or 4 digits (``01``, ``0101``; or ``0``): ``0010``,
    ``001`` or ``010A`` are not codes (read as numbers they became other classes: 10, 1)."""
    text = text.str.replace(r"^(\d{2})[A-Z]\d$", r"\1", regex=True)
    text = text.str.replace(r"^(\d{2,4})[A-Z]+$", r"\1", regex=True)
    ok = text.str.fullmatch(r"[1-9]\d*|0|0[1-9]|0[1-9]\d\d").fillna(False).astype(bool)
    codes = pd.to_numeric(text.where(ok), errors="coerce")
    return codes


def parcel_codes(parcels: gpd.GeoDataFrame, code_field: str, *,
                 source: str = "Parcels") -> pd.Series:
    """Integer land-use codes of the parcels ('0101' -> 101); raises listing bad values.

    Letter codes of the third national land survey (三调) working classification are read as
    numeric classes: a first-level code with a letter sub-class (``05H1`` 商业服务业设施用地,
    ``08H1``, ``08H2``) becomes its first-level class (``05``, ``08``), and an attribute suffix
    (``0201K`` 可调整园地, ``1104A`` 养殖坑塘, ``0307K``) is dropped (``0201``, ``1104``).

    Returns
    -------
    pandas.Series
        int64 codes, the parcels' index.
    """
    if code_field not in parcels.columns:
        raise InputError(f"{source}: no field {code_field!r}; fields: "
                         f"{', '.join(_columns(parcels))}. Set [parcels] code_field.",
                         code="field_missing")
    return _codes_of(parcel_code_text(parcels, code_field, source=source), code_field, source)


def _codes_of(text: pd.Series, code_field: str, source: str, also: str = "") -> pd.Series:
    """:func:`_numeric_codes` of ``text``, or an error listing the strings that are not
    codes (``also``: more problems of the same codes, appended)."""
    codes = _numeric_codes(text)
    bad = codes.isna().to_numpy()
    if bad.any():
        counts = text[bad].value_counts()
        listing = ", ".join(f"{v!r} ({n} parcels)" for v, n in counts.head(20).items())
        raise InputError(f"{source}: {int(bad.sum())} parcel(s) have a {code_field} that is "
                         f"not a numeric land-use code: {listing}; {_rows(bad)}. Fix or remove "
                         "those parcels (三调 letter codes such as 05H1 or 0201K are understood; "
                         "other codes must be numeric GB/T 21010 codes, and a code written "
                         f"with a leading zero must have 2 or 4 digits: 01, 0101).{also}",
                         code="parcel_values_invalid")
    return codes.astype(np.int64)


def check_parcel_codes(parcels: gpd.GeoDataFrame, legend: Legend, fields: ParcelFields, *,
                       exclude_codes: Iterable[int] = (), source: str = "Parcels",
                       text: pd.Series | None = None) -> pd.Series:
    """Integer codes of the parcels, every one mapped by ``legend`` or excluded.

    ``text``: the codes as text (:func:`parcel_code_text`) when already read.

    Returns
    -------
    pandas.Series
        int64 codes, the parcels' index.

    Raises
    ------
    UnmappedCodesError
        Naming each unknown code as written in the layer (leading zeros kept), its class
        name (DLMC) when the layer has one, its parcel count and rows; ``counts`` maps the
        integer codes to parcel counts.
    """
    if text is None:
        if fields.code not in parcels.columns:
            parcel_codes(parcels, fields.code, source=source)  # raises naming the fields
        text = parcel_code_text(parcels, fields.code, source=source)
    known = set(legend.table["code"].astype(int)) | {int(c) for c in exclude_codes}
    numeric = _numeric_codes(text)
    if numeric.isna().any():  # the codes that are not numbers, and those the legend lacks
        lacking = numeric.notna().to_numpy() & ~numeric.isin(list(known)).to_numpy()
        also = (f" Also {int(lacking.sum())} parcel(s) carry numeric codes that legend "
                f"{legend.name!r} does not map: "
                f"{', '.join(map(str, pd.unique(text[lacking])[:20]))}." if lacking.any()
                else "")
        _codes_of(text, fields.code, source, also=also)
    codes = numeric.astype(np.int64)
    unknown = ~codes.isin(list(known)).to_numpy()
    if unknown.any():
        parts = []
        for value in pd.unique(text[unknown])[:20]:
            at = unknown & (text == value).to_numpy()
            name = ""
            if fields.name is not None:
                names = parcels.loc[at, fields.name].dropna().astype(str).unique()
                name = f" {names[0]}" if len(names) else ""
            parts.append(f"{value}{name} ({int(at.sum())} parcels, {_rows(at, 5)})")
        counts = codes[unknown].value_counts()
        raise UnmappedCodesError(
            f"{source}: {int(unknown.sum())} parcel(s) carry {fields.code} codes that legend "
            f"{legend.name!r} does not map: " + "; ".join(parts) + ". Check the code (a "
            "typing error?), use the right legend, extend a custom legend CSV, or list the "
            "codes in [parcels] exclude_codes.",
            {int(c): int(n) for c, n in counts.items()})
    return codes


def survey_areas_m2(parcels: gpd.GeoDataFrame, area_field: str, *,
                    source: str = "Parcels") -> np.ndarray:
    """The survey's own parcel areas (TBMJ, m2) as floats.

    Returns
    -------
    numpy.ndarray
        float64, one per parcel.

    Raises
    ------
    InputError
        Naming the column, the rows and the values that are not positive numbers (text such
        as ``'1,234.5'`` or ``'约200'``, empty cells, zero or negative areas).
    """
    column = parcels[area_field]
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        values = column.to_numpy(dtype=float)
    else:
        values = pd.to_numeric(column.astype("string").str.strip(), errors="coerce").to_numpy(
            dtype=float, na_value=np.nan)
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(values) | (values <= 0)
    if bad.any():
        shown = ", ".join("(empty)" if pd.isna(v) else f"{v:g}" if isinstance(
            v, (int, float, np.number)) else repr(str(v)) for v in column.to_numpy()[bad][:5])
        raise InputError(f"{source}: column {area_field!r} (the survey's parcel area, m2) has "
                         f"{int(bad.sum())} value(s) that are not positive numbers ({_rows(bad)}: "
                         f"{shown}). Correct them in the layer, or set [parcels] area_field = "
                         "\"\" to skip the comparison with the survey's areas.",
                         code="parcel_values_invalid")
    return values


def parcel_pieces(
    parcels: gpd.GeoDataFrame,
    legend: Legend,
    fields: ParcelFields | str,
    *,
    units: gpd.GeoDataFrame | None = None,
    unit_field: str | None = None,
    exclude_codes: Iterable[int] = (),
    source: str = "Parcels",
) -> gpd.GeoDataFrame:
    """The classified parcels (or their parts inside each unit), with their areas.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per counted piece (excluded codes dropped): ``unit_id``, ``land_class``,
        ``space_type``, ``code`` (text, leading zeros kept), ``row`` (1-based feature
        number), ``area_ha`` (geodesic) and, when ``fields.area`` is set, ``survey_ha`` (the
        parcel's TBMJ in ha, split between units in proportion to the pieces' areas).
    """
    if isinstance(fields, str):
        fields = ParcelFields(code=fields)
    if fields.code not in parcels.columns:
        parcel_codes(parcels, fields.code, source=source)  # raises naming the fields
    text = parcel_code_text(parcels, fields.code, source=source)
    codes = check_parcel_codes(parcels, legend, fields, exclude_codes=exclude_codes,
                               source=source, text=text)
    excluded = {int(c) for c in exclude_codes}
    table = legend.table.set_index("code")
    work = gpd.GeoDataFrame({
        "code": text.to_numpy(),
        "row": np.arange(1, len(parcels) + 1),
        "land_class": codes.map(table["land_class"]).to_numpy(),
        "space_type": codes.map(table["space_type"]).to_numpy(),
    }, geometry=parcels.geometry.to_numpy(), crs=parcels.crs, index=parcels.index)
    if fields.area is not None:
        work["survey_ha"] = survey_areas_m2(parcels, fields.area, source=source) / 10_000.0
    work.loc[codes.isin(list(excluded)).to_numpy(), "space_type"] = EXCLUDED
    work = work[work["space_type"] != EXCLUDED]
    if units is not None:
        if fields.area is not None:
            work["parcel_ha"] = geodesic_areas_m2(work.geometry, work.crs) / 10_000.0
        pieces = gpd.overlay(work, to_crs_densified(units[["unit_id", "geometry"]], work.crs),
                             how="intersection", keep_geom_type=True)
    elif unit_field is not None:
        if unit_field not in parcels.columns:
            raise InputError(f"{source}: no field {unit_field!r} to aggregate by; set "
                             "[parcels] unit_field to an existing field or give [units].",
                             code="field_missing")
        pieces = work.assign(unit_id=parcels.loc[work.index, unit_field].astype(str))
    else:
        pieces = work.assign(unit_id=(work.index.to_series() + 1).astype(str).to_numpy())
    pieces = pieces.assign(area_ha=geodesic_areas_m2(pieces.geometry, pieces.crs) / 10_000.0)
    if "parcel_ha" in pieces.columns:  # a parcel split by units: TBMJ split by area
        share = (pieces["area_ha"] / pieces["parcel_ha"]).where(pieces["parcel_ha"] > 0, 0.0)
        pieces = pieces.assign(survey_ha=pieces["survey_ha"] * share).drop(columns="parcel_ha")
    return pieces.reset_index(drop=True)


def pieces_class_areas(pieces: pd.DataFrame) -> pd.DataFrame:
    """Long table ``unit_id, land_class, space_type, area_ha`` of :func:`parcel_pieces`."""
    out = (pieces.groupby(["unit_id", "land_class", "space_type"], sort=True)["area_ha"].sum()
           .reset_index())
    return out[out["area_ha"] > 0].reset_index(drop=True)


def class_areas_from_parcels(
    parcels: gpd.GeoDataFrame,
    legend: Legend,
    code_field: str,
    *,
    units: gpd.GeoDataFrame | None = None,
    unit_field: str | None = None,
    exclude_codes: Iterable[int] = (),
) -> pd.DataFrame:
    """Class areas per unit from coded parcels.

    Parameters
    ----------
    parcels : geopandas.GeoDataFrame
        Polygons with a land-use code attribute, any CRS.
    legend : Legend
        Legend of the codes (e.g. ``gbt21010``).
    code_field : str
        Attribute holding the code.
    units : geopandas.GeoDataFrame, optional
        Units (with ``unit_id``) to aggregate to, by polygon intersection.
    unit_field : str, optional
        Parcel attribute to aggregate by when ``units`` is not given.

    Returns
    -------
    pandas.DataFrame
        Long table ``unit_id, land_class, space_type, area_ha``.
    """
    return pieces_class_areas(parcel_pieces(parcels, legend, code_field, units=units,
                                            unit_field=unit_field,
                                            exclude_codes=exclude_codes))


def survey_reconciliation(pieces: pd.DataFrame, tolerance: float, *, field: str = "TBMJ"
                          ) -> tuple[pd.DataFrame, dict[str, Any]]:
    """landcarbon's ellipsoidal areas against the survey's own areas (TBMJ).

    Parameters
    ----------
    pieces : pandas.DataFrame
        :func:`parcel_pieces` with ``survey_ha``.
    tolerance : float
        Largest accepted ``|area - TBMJ| / TBMJ`` of a unit (and of a parcel whose
        difference is also over :data:`PARCEL_DIFF_FLOOR_M2`).
    field : str
        Name of the area field (for the record).

    Returns
    -------
    tuple
        Per unit (index ``unit_id``): ``tbmj_ha`` (sum of the survey's areas of the counted
        parcels, ha), ``tbmj_diff_ha`` (ellipsoidal area - TBMJ, ha) and ``tbmj_diff_rel``
        (that difference / ``tbmj_ha``); and the summary for ``run.json``: totals, the units
        and parcels over the tolerance (the 10 largest parcel differences).
    """
    by_unit = pieces.groupby("unit_id", sort=True)[["area_ha", "survey_ha"]].sum()
    table = pd.DataFrame({"tbmj_ha": by_unit["survey_ha"],
                          "tbmj_diff_ha": by_unit["area_ha"] - by_unit["survey_ha"]})
    table["tbmj_diff_rel"] = table["tbmj_diff_ha"] / table["tbmj_ha"].where(
        table["tbmj_ha"] > 0)
    over_units = table[table["tbmj_diff_rel"].abs() > tolerance]
    parcels = pieces.groupby("row", sort=True).agg(
        code=("code", "first"), area_ha=("area_ha", "sum"), survey_ha=("survey_ha", "sum"))
    diff_m2 = (parcels["area_ha"] - parcels["survey_ha"]) * 10_000.0
    rel = diff_m2 / (parcels["survey_ha"] * 10_000.0)
    over = parcels[(rel.abs() > tolerance) & (diff_m2.abs() > PARCEL_DIFF_FLOOR_M2)]
    worst = diff_m2[over.index].abs().sort_values(ascending=False).index[:10]
    total_area, total_survey = float(by_unit["area_ha"].sum()), float(by_unit["survey_ha"].sum())
    summary: dict[str, Any] = {
        "field": field, "field_unit": "m2", "tolerance_rel": tolerance,
        "parcels": len(parcels), "area_ha": total_area, "tbmj_ha": total_survey,
        "diff_ha": total_area - total_survey,
        "diff_rel": (total_area - total_survey) / total_survey if total_survey else None,
        "units_over_tolerance": [
            {"unit_id": str(u), "tbmj_ha": float(r.tbmj_ha), "diff_ha": float(r.tbmj_diff_ha),
             "diff_rel": float(r.tbmj_diff_rel)} for u, r in over_units.iterrows()],
        "parcels_over_tolerance": len(over),
        "largest_parcel_differences": [
            {"row": int(r), "code": str(parcels.loc[r, "code"]),
             "area_m2": round(float(parcels.loc[r, "area_ha"]) * 10_000.0, 2),
             "tbmj_m2": round(float(parcels.loc[r, "survey_ha"]) * 10_000.0, 2),
             "diff_m2": round(float(diff_m2[r]), 2)} for r in worst],
        "method": "area_ha: geodesic area of each parcel polygon (edges straight in its CRS) "
                  "on its CRS's ellipsoid (GRS 80 for CGCS2000); TBMJ split between units "
                  "in proportion to the parts' areas",
    }
    return table, summary


def survey_messages(survey: dict[str, Any], source: str) -> list[str]:
    """The units and parcels whose areas differ from the survey's own (TBMJ) beyond the
    tolerance, as sentences (the run's log and ``validate``'s ``area_mismatch``).

    Returns
    -------
    list of str
        Up to two sentences (units, parcels); empty when every area is within tolerance.
    """
    tol, field = survey["tolerance_rel"] * 100, survey["field"]
    prefix = f"{source}: " if source else ""
    lines = []
    over = survey["units_over_tolerance"]
    if over:
        listed = ", ".join(f"{u['unit_id']} ({u['diff_ha']:+.4f} ha, "
                           f"{u['diff_rel'] * 100:+.3f} %)" for u in over[:10])
        lines.append(f"{prefix}{len(over)} unit(s) differ from the survey's own areas "
                     f"({field}) by more than {tol:.2g} %: {listed} (ellipsoidal area - "
                     f"{field}; see tbmj_diff_ha in the units table and "
                     f"totals.survey_areas in run.json)")
    if survey["parcels_over_tolerance"]:
        worst = ", ".join(f"row {p['row']} {p['code']} ({p['diff_m2']:+.2f} m2)"
                          for p in survey["largest_parcel_differences"][:5])
        lines.append(f"{prefix}{survey['parcels_over_tolerance']} parcel(s) differ from "
                     f"their {field} by more than {tol:.2g} % (and 1 m2); largest: {worst}")
    return lines
