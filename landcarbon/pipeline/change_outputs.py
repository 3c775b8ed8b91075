"""Writing the outputs of a multi-date run (:func:`landcarbon.pipeline.run_change`) and of a
scenario run (:func:`landcarbon.pipeline.run_scenarios`) into their (staging) folders.

Change run files: ``units_<year>.csv`` (assessed units of each date), ``transfer_matrix.csv``
(whole area, long), ``transitions_units.csv`` (per unit and category), ``change_summary.csv``
(Pontius components and single dynamic degree, whole area and per unit),
``dynamic_degree.csv``, ``flux_effect.csv``, ``timeseries.csv``, ``timeseries.gpkg`` (layer
``timeseries``: one column per date), ``alerts.csv`` + ``alerts.gpkg`` (layer ``alerts``),
``stocks.csv``, ``stock_change.csv``, ``carbon_stock_<year>.tif`` and
``carbon_stock_change_<from>_<to>.tif`` (Mg C/ha),
``markov.csv``, ``markov_units.csv`` and the ``change.json`` manifest.
"""

from __future__ import annotations

import platform
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from landcarbon._resources import package_version
from landcarbon.accounting.display_units import to_display
from landcarbon.config.outputs import declared, name
from landcarbon.io.outputs import sha256, write_json
from landcarbon.io.tables import write_csv, write_csv_parts
from landcarbon.io.vector import write_layer
from landcarbon.pipeline.progress import stages
from landcarbon.pipeline.resolve import display_units

if TYPE_CHECKING:
    from landcarbon.pipeline.records import ChangeResult, ScenarioResult

__all__ = ["write_change_outputs", "write_scenario_outputs"]


def _periods(transitions: dict[tuple[int, int], pd.DataFrame], shown: Any
             ) -> Iterator[pd.DataFrame]:
    """Each period's transitions as ``transitions_units.csv`` writes them (the years first,
    the display's units), one period at a time."""
    for (y0, y1), t in transitions.items():
        part = t.assign(year_from=y0, year_to=y1)
        yield to_display(part[["year_from", "year_to", *[c for c in part.columns if c not in
                                                          ("year_from", "year_to")]]], shown)


def _manifest(config: Any, folder: Path, files: dict[str, str], totals: dict[str, Any],
              timings: dict[str, float], elapsed_s: float | None) -> dict[str, Any]:
    return {
        "landcarbon_version": package_version(),
        "python": platform.python_version(),
        "config": config.model_dump(mode="json"),
        "display": display_units(config).record(),
        "outputs_sha256": {name: sha256(folder / name) for name in sorted(files.values())},
        "totals": totals,
        "timings_s": {**timings, **({"total": round(elapsed_s, 3)} if elapsed_s else {})},
    }


def write_change_outputs(r: ChangeResult, folder: Path, *,
                         elapsed_s: float | None = None) -> dict[str, str]:
    """Write every table, layer and raster of a change run; return ``{role: file name}``.

    The CSVs are written by a thread beside this one (their compiled formatting and the
    writes release the GIL) while this one writes the GeoPackages (which hold it); all are
    written, or the first error raised, before the map, the report and the manifest."""
    from concurrent.futures import Future, ThreadPoolExecutor

    files: dict[str, str] = {}
    writer = ThreadPoolExecutor(max_workers=1)
    pending: list[Future[None]] = []

    def put(id: str, **fields: object) -> Path:
        """Register output ``id`` of the change folder; return its path."""
        files[id.format(**fields)] = name("change", id, **fields)
        return folder / files[id.format(**fields)]

    def csv(table: pd.DataFrame | Iterator[pd.DataFrame] | None, id: str,
            **fields: object) -> None:
        if table is None:
            return
        # a frame of its own (pandas' caches are not shared), or parts made in the writer
        parts = [table.copy(deep=False)] if isinstance(table, pd.DataFrame) else table
        pending.append(writer.submit(write_csv_parts, parts, put(id, **fields),
                                     encoding=r.config.output.csv_encoding))

    with stages("writing outputs", 3 + bool(r.config.output.map)) as advance:
        try:
            _write_tables(r, folder, put, csv)
            advance("GeoPackages, rasters")
        finally:
            writer.shutdown(wait=True)  # nothing left writing into the folder
        for job in pending:
            job.result()  # the first error of a CSV, as if written here
        advance("CSVs")
        return _published("change", r, folder, files, elapsed_s, advance)


def _published(command: str, r: ChangeResult | ScenarioResult, folder: Path,
               files: dict[str, str], elapsed_s: float | None,
               advance: Callable[[str], None]) -> dict[str, str]:
    """``files`` with the map and report of ``command`` (``write_<command>_publication``,
    when ``[output] map``) and its manifest, written into ``folder`` (``advance(name)``
    after each, for a progress bar)."""
    if r.config.output.map:
        from landcarbon.pipeline import publication

        write = getattr(publication, f"write_{command}_publication")
        files.update(write(folder, r, files))
        advance("map, report")
    manifest = _manifest(r.config, folder, declared(command, files), r.totals(), r.timings,
                         elapsed_s)
    files["manifest"] = name(command, "manifest")
    write_json(manifest, folder / files["manifest"])
    advance("manifest")
    return files


def _write_tables(r: ChangeResult, folder: Path, put: Callable[..., Path],
                  csv: Callable[..., None]) -> None:
    """The tables, layers and rasters of :func:`write_change_outputs` (``put``: register an
    output and get its path; ``csv``: write a table)."""
    from landcarbon.io.cogs import write_raster

    shown = display_units(r.config)  # 万吨 / 亩 columns: only in what is written
    for y, a in r.dates.items():
        csv(to_display(pd.DataFrame(a.units.drop(columns="geometry")), shown),
            "units_{year}", year=y)
    csv(r.transfer, "transfer_matrix")
    csv(_periods(r.transitions, shown), "transitions_units")  # a period at a time
    csv(r.summary, "change_summary")
    csv(r.dynamic_degree, "dynamic_degree")
    csv(r.flux_effect, "flux_effect")
    csv(to_display(r.timeseries, shown), "timeseries")
    write_layer(to_display(r.timeseries_layer(), shown), put("timeseries_gpkg"),
                layer="timeseries")
    csv(r.alerts, "alerts")
    layer = r.alerts_layer()
    if len(layer):
        write_layer(layer, put("alerts_gpkg"), layer="alerts")
    csv(r.stocks, "stocks")
    csv(r.stock_changes, "stock_change")
    for y, raster in r.stock_rasters.items():
        write_raster(raster, put("carbon_stock_{year}", year=y), nodata=-1.0,
                     band_description="total carbon stock density (Mg C/ha)",
                     tags={"units": "Mg C ha-1", "pools": "c_above + c_below + c_soil + c_dead",
                           "year": str(y)})
    if r.stock_rasters:
        from landcarbon.change.stocks import stock_change_raster

        for y0, y1 in r.periods():
            write_raster(stock_change_raster(r.stock_rasters[y0], r.stock_rasters[y1]),
                         put("carbon_stock_change_{year_from}_{year_to}", year_from=y0,
                             year_to=y1), nodata=float("nan"),
                         band_description=f"carbon stock change {y0}-{y1} (Mg C/ha)",
                         tags={"units": "Mg C ha-1", "sign_convention": "positive = stock "
                               "gained (sequestered), negative = stock lost"})
    csv(r.markov, "markov")
    csv(r.markov_units, "markov_units")


def write_scenario_outputs(r: ScenarioResult, folder: Path, *,
                           elapsed_s: float | None = None) -> dict[str, str]:
    """Write the scenario comparison: ``scenario_deltas.csv``, ``risk_transitions.csv``,
    ``scenario_units.gpkg`` (one layer per scenario), ``scenario_<name>_land_class.tif``
    for edited scenarios, ``map.html`` and ``report.html`` (when ``output.map``), and the
    ``scenario.json`` manifest."""
    from landcarbon.accounting.classification import land_class_raster
    from landcarbon.io.cogs import write_raster

    files: dict[str, str] = {}
    enc = r.config.output.csv_encoding
    with stages("writing outputs", 4 + bool(r.config.output.map)) as advance:
        files["scenario_deltas"] = name("scenario", "scenario_deltas")
        write_csv(r.deltas, folder / files["scenario_deltas"], encoding=enc)
        files["risk_transitions"] = name("scenario", "risk_transitions")
        write_csv(r.risk_transitions, folder / files["risk_transitions"], encoding=enc)
        advance("CSVs")
        files["scenario_units"] = name("scenario", "scenario_units")
        gpkg = folder / files["scenario_units"]
        write_layer(r.baseline.units, gpkg, layer="baseline")
        for scenario, table in r.units.items():
            write_layer(table, gpkg, layer=scenario)
        advance("GeoPackage")
        for scenario, cats in r.edited.items():
            fname = name("scenario", "scenario_{scenario}", scenario=scenario)
            write_raster(land_class_raster(cats), folder / fname, nodata=0,
                         band_description=f"land class, scenario {scenario}")
            files[f"scenario_{scenario}"] = fname
        advance("rasters")
        # map.html (delta and risk change per scenario), report.html, scenario.json
        return _published("scenario", r, folder, files, elapsed_s, advance)
