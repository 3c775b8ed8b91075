"""Writing the zoning layers and tables of a run (see :mod:`landcarbon.pipeline._zoning`).

Files (only those computed): ``hotspot_grid.gpkg`` (layer ``hotspot_grid``),
``sink_zones.gpkg`` (layer ``sink_zones``), ``compensation.csv`` (unit-to-unit flows),
``uncertainty.csv``, ``sweep.csv`` + ``sweep.png`` and ``zoning.json`` (class breaks,
compensation totals, counts, timings).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from landcarbon.config.outputs import name
from landcarbon.io.outputs import write_json
from landcarbon.io.tables import write_csv

if TYPE_CHECKING:
    from landcarbon.pipeline.records import Assessment

__all__ = ["write_zoning_outputs"]


def write_zoning_outputs(a: Assessment, folder: Path) -> dict[str, str]:
    """Write the zoning outputs of ``a`` into ``folder``; return ``{role: file name}``."""
    z = a.zoning
    files: dict[str, str] = {}
    if not z or "summary" not in z:
        return files
    for key in ("hotspot_grid", "sink_zones"):
        layer = z.get(key)
        if layer is not None and len(layer):
            files[key] = name("run", key)
            layer.to_file(folder / files[key], layer=key, driver="GPKG")
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
