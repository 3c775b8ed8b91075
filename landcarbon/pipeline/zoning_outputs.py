"""Writing the zoning layers and tables of a run (see :mod:`landcarbon.pipeline._zoning`).

Files (only those computed): ``hotspot_grid.gpkg`` (layer ``hotspot_grid``),
``sink_zones.gpkg`` (layer ``sink_zones``), ``compensation.csv`` (unit-to-unit flows),
``uncertainty.csv``, ``sweep.csv`` + ``sweep.png`` and ``zoning.json`` (class breaks,
compensation totals, counts, timings).

The layers are computed in t C (``net_tc_per_ha``, ``carbon_tc``, ``net_tc_p5``...); they are
converted to the output unit here, at the edge (:func:`zoning_in_output_unit`), like the
units table. ``sweep.csv`` keeps its thresholds in t C/ha/yr (the unit of the settings).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from landcarbon.accounting.conversions import (
    output_factor,
    output_name,
    to_output_unit,
    totals_in_output_unit,
)
from landcarbon.config.outputs import name
from landcarbon.io.outputs import write_json
from landcarbon.io.tables import write_csv
from landcarbon.io.vector import write_layer

if TYPE_CHECKING:
    from landcarbon.pipeline.records import Assessment

__all__ = ["write_zoning_outputs", "zoning_in_output_unit"]

#: the zoning layers holding t C quantities (converted when written)
_FLUX_LAYERS = ("hotspot_grid", "compensation_flows", "uncertainty")


def zoning_in_output_unit(zoning: dict[str, Any], output_unit: Any) -> dict[str, Any]:
    """``Assessment.zoning`` (canonical t C) with its layers, compensation totals and class
    breaks of flux columns in ``output_unit`` (a new dict; the record is not changed)."""
    z = dict(zoning)
    if "summary" not in z:
        return z
    for key in _FLUX_LAYERS:
        if z.get(key) is not None:
            z[key] = to_output_unit(z[key], output_unit)
    summary = dict(z["summary"])
    if "compensation" in summary:
        summary["compensation"] = totals_in_output_unit(summary["compensation"], output_unit)
    if "class_breaks" in summary:
        breaks = {}
        for col, values in summary["class_breaks"].items():
            shown = output_name(col, output_unit)
            if shown is not None and shown != col:
                factor = output_factor(output_unit)
                breaks[shown] = [v * factor for v in values]
            else:
                breaks[col] = values
        summary["class_breaks"] = breaks
    z["summary"] = summary
    return z


def write_zoning_outputs(a: Assessment, folder: Path) -> dict[str, str]:
    """Write the zoning outputs of ``a`` into ``folder``; return ``{role: file name}``."""
    z = zoning_in_output_unit(a.zoning, a.config.coefficients.output_unit)
    files: dict[str, str] = {}
    if not z or "summary" not in z:
        return files
    for key in ("hotspot_grid", "sink_zones"):
        layer = z.get(key)
        if layer is not None and len(layer):
            files[key] = name("run", key)
            write_layer(layer, folder / files[key], layer=key)
    for key in ("compensation_flows", "uncertainty", "sweep"):
        table = z.get(key)
        if table is not None:
            files[key] = name("run", key)
            write_csv(table, folder / files[key], encoding=a.config.output.csv_encoding)
    if z.get("sweep") is not None and len(z["sweep"]):
        from landcarbon.publish.figures import sweep_figure

        fig = sweep_figure(z["sweep"], language=z.get("language", "en"))
        files["sweep_plot"] = name("run", "sweep_plot")
        fig.savefig(folder / files["sweep_plot"], dpi=120)
    files["zoning_summary"] = name("run", "zoning_summary")
    write_json(z["summary"], folder / files["zoning_summary"])
    return files
