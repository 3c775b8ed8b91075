"""Parcel mode: land-use codes carried by polygons (e.g. 三调 survey parcels with GB/T 21010
codes) instead of a raster.

Each parcel is classified from its code attribute through the legend; its area is the
geodesic area of the polygon (ellipsoidal, any CRS). Parcels are aggregated to coarser units
either by intersecting them with a units layer (a parcel crossing a unit boundary is split by
area) or by an attribute of the parcels (``unit_field``).
"""

from __future__ import annotations

from collections.abc import Iterable

import geopandas as gpd
import numpy as np
import pandas as pd

from landcarbon.accounting.legends import EXCLUDED, Legend
from landcarbon.engine.areas import geodesic_areas_m2, to_crs_densified
from landcarbon.exceptions import InputError, UnmappedCodesError

__all__ = ["class_areas_from_parcels", "parcel_codes"]


def parcel_codes(parcels: gpd.GeoDataFrame, code_field: str) -> pd.Series:
    """Integer land-use codes of the parcels ('0101' -> 101); raises listing bad values.

    Letter codes of the third national land survey (三调) working classification are read as
    numeric classes: a first-level code with a letter sub-class (``05H1`` 商业服务业设施用地,
    ``08H1``, ``08H2``) becomes its first-level class (``05``, ``08``), and an attribute suffix
    (``0201K`` 可调整园地, ``1104A`` 养殖坑塘, ``0307K``) is dropped (``0201``, ``1104``).
    """
    if code_field not in parcels.columns:
        raise InputError(f"Parcels have no field {code_field!r}; fields: "
                         f"{', '.join(c for c in parcels.columns if c != 'geometry')}. Set "
                         "[parcels] code_field.")
    text = parcels[code_field].astype(str).str.strip().str.upper()
    text = text.str.replace(r"^(\d{2})[A-Z]\d$", r"\1", regex=True)
    text = text.str.replace(r"^(\d{2,4})[A-Z]+$", r"\1", regex=True)
    codes = pd.to_numeric(text, errors="coerce")
    missing = parcels[code_field].isna().to_numpy()
    text = text.where(~missing, "(empty)")
    bad = text[codes.isna().to_numpy() | (codes % 1 != 0).to_numpy() | missing]
    if len(bad):
        counts = bad.value_counts(dropna=False)
        listing = ", ".join(f"{v!r} ({n} parcels)" for v, n in counts.head(20).items())
        rows = np.flatnonzero(parcels.index.isin(bad.index))[:10] + 1
        listing += f"; features {', '.join(map(str, rows))}" + (", ..." if len(bad) > 10
                                                                 else "")
        raise InputError(f"{len(bad)} parcel(s) have a {code_field} that is not a numeric "
                         f"land-use code: {listing}. Fix or remove those parcels (三调 letter "
                         "codes such as 05H1 or 0201K are understood; other codes must be numeric "
                         "GB/T 21010 codes).")
    return codes.astype(np.int64)


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
    codes = parcel_codes(parcels, code_field)
    excluded = {int(c) for c in exclude_codes}
    table = legend.table.set_index("code")
    unknown = codes[~codes.isin(table.index) & ~codes.isin(list(excluded))]
    if len(unknown):
        counts = unknown.value_counts()
        raise UnmappedCodesError(
            f"{len(unknown)} parcel(s) carry codes that legend {legend.name!r} does not map: "
            + ", ".join(f"{c:04d} ({n} parcels)" for c, n in counts.items())
            + ". Use the right legend, extend a custom legend CSV, or list the codes in "
            "[parcels] exclude_codes.", {int(c): int(n) for c, n in counts.items()})
    work = parcels[["geometry"]].copy()
    work["land_class"] = codes.map(table["land_class"]).to_numpy()
    work["space_type"] = codes.map(table["space_type"]).to_numpy()
    work.loc[codes.isin(list(excluded)).to_numpy(), "space_type"] = EXCLUDED
    work = work[work["space_type"] != EXCLUDED]
    if units is not None:
        pieces = gpd.overlay(work, to_crs_densified(units[["unit_id", "geometry"]], work.crs),
                             how="intersection", keep_geom_type=True)
    elif unit_field is not None:
        if unit_field not in parcels.columns:
            raise InputError(f"Parcels have no field {unit_field!r} to aggregate by; set "
                             "[parcels] unit_field to an existing field or give [units].")
        pieces = work.assign(unit_id=parcels.loc[work.index, unit_field].astype(str))
    else:
        pieces = work.assign(unit_id=(work.index.to_series() + 1).astype(str).to_numpy())
    pieces = pieces.assign(area_ha=geodesic_areas_m2(pieces.geometry, pieces.crs) / 10_000.0)
    out = (pieces.groupby(["unit_id", "land_class", "space_type"], sort=True)["area_ha"].sum()
           .reset_index())
    return out[out["area_ha"] > 0].reset_index(drop=True)
