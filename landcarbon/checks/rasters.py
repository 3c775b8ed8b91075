"""Checks of a raster's header against the legend: the nodata value. Pure: values in,
:class:`~landcarbon.checks.problems.Problem` records out."""

from __future__ import annotations

from typing import Any

import numpy as np

from landcarbon.checks.problems import Problem

__all__ = ["jsonable", "nodata_problems", "without_nodata"]


def without_nodata(dtype: Any) -> str:
    """What is read from a raster of ``dtype`` that declares no nodata value."""
    return ("NaN pixels are treated as nodata; any other value is read as a class code"
            if np.dtype(dtype).kind == "f" else "every pixel value, 0 included, is read as a "
            "class code")


def nodata_problems(nodata: float | None, dtype: Any, legend: Any, exclude_codes: list[int],
                    where: str) -> list[Problem]:
    """``nodata_missing`` (warning) and ``nodata_is_class`` (error: the pixels of a real
    class would be dropped as nodata)."""
    if nodata is None:
        return [Problem("nodata_missing", "warning", where,
                        f"The raster declares no nodata value: {without_nodata(dtype)}.",
                        "Set [landcover] nodata = <value> if the product has one (e.g. 0 for "
                        "ESA WorldCover, 255 for many 8-bit products).")]
    if isinstance(nodata, float) and np.isnan(nodata):
        return []
    table = legend.table
    rows = table[(table["code"] == nodata) & (table["space_type"] != "excluded")
                 & ~table["code"].isin(exclude_codes)]
    if len(rows):
        r = rows.iloc[0]
        return [Problem("nodata_is_class", "error", where,
                        f"The nodata value {jsonable(nodata)} is also class "
                        f"{int(r.code)} ({r.name_en}, {r.land_class}) of legend {legend.name!r}: "
                        "its pixels would be dropped as nodata.",
                        "Set [landcover] nodata to the product's real nodata value, or use the "
                        "legend of the product that made the raster.",
                        {"nodata": jsonable(nodata), "land_class": r.land_class})]
    return []


def jsonable(value: Any) -> Any:
    """A nodata value for JSON: None, an int when integral, a float, or "nan"."""
    if value is None:
        return None
    value = float(value)
    if np.isnan(value):
        return "nan"
    return int(value) if value.is_integer() else value
