"""The rasters a run derives from the land cover, and how they reach their sinks.

``land_class``, ``space_type`` and ``net_flux`` are functions of the pixel's code (the net flux
also of the construction intensity). When the intensity is a constant (or there is none) all
three are a look-up of the category, and :func:`pass_rasters` hands them to
:func:`landcarbon.engine.landcover_pass.landcover_pass`, which makes them from the same block reads
as the zonal areas. The net flux of the ``energy`` method depends on each unit's balance: it is
stored after the balance by :func:`store_late_rasters` (a second pass over the land cover).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from landcarbon.accounting.coefficients import CoefficientSet
from landcarbon.accounting.conversions import OutputUnit
from landcarbon.pipeline.records import Assessment, flux_raster

if TYPE_CHECKING:

    from landcarbon.engine.landcover_pass import RasterSink

__all__ = ["DERIVED_RASTERS", "SinkOpener", "derived_raster", "pass_rasters",
           "store_late_rasters"]

#: Rasters that :func:`landcarbon.pipeline.assess` can hand to sinks, in this order.
DERIVED_RASTERS = ("land_class", "space_type", "net_flux")

#: ``opener(template) -> sink``: gets the lazy raster (grid, dtype, nodata, attrs).
SinkOpener = Callable[[xr.DataArray], "RasterSink"]


def derived_raster(a: Assessment, name: str) -> xr.DataArray:
    """The lazy ``land_class``, ``space_type`` or ``net_flux`` raster of a raster-mode
    assessment."""
    from landcarbon.accounting.classification import land_class_raster, space_type_raster

    if name == "net_flux":
        return a.flux_raster()
    assert a.categories is not None
    if name == "land_class":
        return land_class_raster(a.categories)
    if name == "space_type":
        return space_type_raster(a.categories)
    raise ValueError(f"unknown raster {name!r}; expected one of {', '.join(DERIVED_RASTERS)}")


def pass_rasters(raster_sinks: Mapping[str, SinkOpener], categories: xr.DataArray,
                 coefficients: CoefficientSet, construction: Mapping[str, Any],
                 output_unit: OutputUnit) -> dict[str, tuple[np.ndarray, RasterSink]]:
    """``name -> (value of each category, opened sink)`` of the requested rasters that
    depend on the code alone (all but the net flux of the ``energy`` method). Empty when
    tasks run in other processes (a dask.distributed cluster, the ``processes`` scheduler):
    sinks stay in this process, the rasters follow the pass."""
    from landcarbon.accounting.classification import (
        categories_of,
        land_class_raster,
        land_class_values,
        space_type_raster,
        space_type_values,
    )
    from landcarbon.accounting.conversions import output_factor
    from landcarbon.accounting.flux import category_flux_table
    from landcarbon.io.sinks import sinks_stay_here

    unknown = sorted(set(raster_sinks) - set(DERIVED_RASTERS))
    if unknown:
        raise ValueError(f"unknown raster(s) {unknown}; expected {', '.join(DERIVED_RASTERS)}")
    if sinks_stay_here():
        return {}
    cats = categories_of(categories)
    out: dict[str, tuple[np.ndarray, RasterSink]] = {}
    for name in DERIVED_RASTERS:
        if name not in raster_sinks:
            continue
        if name == "net_flux":
            if construction.get("method") == "energy" or construction.get("late_flux"):
                continue
            intensity = construction.get("intensity_tc_per_ha")
            values, _ = category_flux_table(cats, coefficients, intensity)
            values = (values * np.float32(output_factor(output_unit))).astype(np.float32)
            template = flux_raster(categories, coefficients, construction, output_unit)
        else:
            values = np.zeros(256, np.uint8)
            pick = land_class_values if name == "land_class" else space_type_values
            values[: len(cats)] = pick(cats)
            template = (land_class_raster if name == "land_class"
                        else space_type_raster)(categories)
        out[name] = (values, raster_sinks[name](template))
    return out


def store_late_rasters(a: Assessment, raster_sinks: Mapping[str, SinkOpener],
                       fed: set[str], *, progress: bool = False) -> None:
    """Open and fill, in one pass, the sinks of the rasters the land-cover pass did not
    feed."""
    from landcarbon.io.raster import raster_read_errors
    from landcarbon.io.sinks import store_blocks

    pairs = []
    for name in DERIVED_RASTERS:
        if name in raster_sinks and name not in fed:
            raster = derived_raster(a, name)
            pairs.append((raster, raster_sinks[name](raster)))
    assert a.codes is not None
    from landcarbon.pipeline.progress import dask_bar

    with raster_read_errors(a.codes), dask_bar("rasters", progress):
        store_blocks(pairs)
