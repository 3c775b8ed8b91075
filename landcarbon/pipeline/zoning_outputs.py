"""Writing the zoning layers and tables of a run (see :mod:`landcarbon.pipeline._zoning`).

Files (only those computed): ``hotspot_grid.gpkg`` (layer ``hotspot_grid``),
``sink_zones.gpkg`` (layer ``sink_zones``), ``compensation.csv`` (unit-to-unit flows),
``uncertainty.csv``, ``sweep.csv`` + ``sweep.png`` and ``zoning.json`` (class breaks,
compensation totals, counts, timings).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

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
            layer.to_file(folder / f"{key}.gpkg", layer=key, driver="GPKG")
            files[key] = f"{key}.gpkg"
    for key, name in (("compensation_flows", "compensation.csv"),
                      ("uncertainty", "uncertainty.csv"), ("sweep", "sweep.csv")):
        table = z.get(key)
        if table is not None:
            write_csv(table, folder / name, encoding=a.config.output.csv_encoding)
            files[key] = name
    if z.get("sweep") is not None and len(z["sweep"]):
        from landcarbon.publish.figures import sweep_figure

        fig = sweep_figure(z["sweep"], language=z.get("language", "en"))
        fig.savefig(folder / "sweep.png", dpi=120)
        files["sweep_plot"] = "sweep.png"
    write_json(z["summary"], folder / "zoning.json")
    files["zoning_summary"] = "zoning.json"
    return files
