"""The declared outputs: every file a landcarbon command writes, in one place.

Each :class:`Output` has a ``folder`` (the kind of folder it goes into: ``run`` for
``run`` / ``zone`` / ``demo`` / each ``batch`` region, ``change``, ``scenario``, ``stocks``,
``sweep``, ``batch``, ``portal``), an ``id`` (the role under which the writers return it and
``run.json`` / ``change.json`` list it in ``files``; unique within its folder), the file name
(or a pattern such as ``units_{year}.csv``), its kind, units, a description, the commands
that write it and, for optional outputs, the condition ("only with ...").

The writers (:mod:`~landcarbon.pipeline.run_outputs`, :mod:`~landcarbon.pipeline.zoning_outputs`,
:mod:`~landcarbon.pipeline.change_outputs`, :mod:`~landcarbon.pipeline.stock_outputs`,
:mod:`~landcarbon.pipeline.publication`) take their file names from here (:func:`name`), the
manifests list what :func:`declared` accepts, the fingerprint reads the manifest named here,
the readers of finished folders (:mod:`landcarbon.io.publication`, :mod:`landcarbon.io.ownership`)
find the files by the names declared here, and the README's output tables are generated from it
(``docs/gen_reference.py``, :func:`readme_table`). A new output file is one row here plus its
writer.

A data module below every layer: it imports nothing from landcarbon, so io, the pipeline and
publish all read the same names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["MARKER", "OUTPUTS", "Output", "declared", "name", "output", "readme_table"]

#: Marker file of every folder landcarbon writes: ``{"landcarbon_output": kind, "entries": [..]}``
#: (:mod:`landcarbon.io.ownership` reads and writes it).
MARKER = ".landcarbon-output.json"

Kind = Literal["table", "vector", "raster", "json", "xml", "html", "figure", "folder"]


@dataclass(frozen=True)
class Output:
    """One declared output file (see the module docstring)."""

    folder: str
    id: str
    file: str
    kind: Kind
    units: str
    description: str
    commands: tuple[str, ...]
    condition: str = ""

    def name(self, **fields: object) -> str:
        """The file name, the pattern's ``{fields}`` filled in."""
        return self.file.format(**fields) if fields else self.file

    def matches(self, file_name: str) -> bool:
        """True if ``file_name`` is this output (a pattern matches any filling)."""
        import re

        pattern = re.escape(self.file)
        pattern = re.sub(r"\\\{[a-z0-9_]+\\\}", r"[^/]+", pattern)
        return re.fullmatch(pattern, file_name) is not None


_RUN = ("run", "zone", "demo", "batch")
_MAP = ("run", "zone", "demo", "batch", "map")
_ZONE = ("run", "zone")
_CHANGE = ("change",)
_SCEN = ("scenario",)
_STOCKS = ("stocks",)
_IF_MAP = "`output.map`, on by default"
_IF_RASTERS = "raster mode and `output.rasters`, on by default"

OUTPUTS: tuple[Output, ...] = (
    # --- a run's folder
    Output("run", "units_gpkg", "units.gpkg", "vector", "see columns below",
           "the assessed units table with geometry (layer `units`), CRS of the units file; "
           "opens in QGIS coloured by risk level (default style in the `layer_styles` table) "
           "with the provenance as layer metadata", _RUN),
    Output("run", "units_csv", "units.csv", "table", "see columns below",
           "the same table without geometry (UTF-8 with BOM, opens in Excel; GBK with "
           "`[output] csv_encoding`)", _RUN),
    Output("run", "class_areas_csv", "class_areas.csv", "table", "ha",
           "long table `unit_id, land_class, space_type, area_ha`: area of every land class "
           "and space type in every unit", _RUN),
    Output("run", "land_class", "land_class.tif", "raster", "class",
           "land class of each pixel (1 = cropland ... 12 = snow_ice, 0 = nodata; names and "
           "colours inside, list in the `classes` tag)", _RUN,
           _IF_RASTERS),
    Output("run", "space_type", "space_type.tif", "raster", "class",
           "space type of each pixel: 1 agricultural, 2 construction, 3 ecological, 0 = "
           "nodata / excluded", _RUN, _IF_RASTERS),
    Output("run", "land_class_names", "land_class.tif.aux.xml", "xml", "",
           "class names of land_class.tif, read by GDAL and QGIS with the raster (GDAL's "
           "sidecar file)", _RUN, _IF_RASTERS),
    Output("run", "space_type_names", "space_type.tif.aux.xml", "xml", "",
           "space-type names of space_type.tif (GDAL's sidecar file)", _RUN, _IF_RASTERS),
    Output("run", "net_flux", "net_flux.tif", "raster", "t C ha-1 yr-1 (or t CO2)",
           "net carbon flux density of each pixel (construction pixels carry their unit's "
           "energy-based density); NaN = nodata", _RUN, _IF_RASTERS),
    Output("run", "map", "map.html", "html", "",
           "interactive map: units by risk level, space type, net / emission / sequestration "
           "per ha (switchable layers), the three rasters as image overlays, legend, popups, "
           "unit-name search, scale bar, fullscreen", _MAP, _IF_MAP),
    Output("run", "report", "report.html", "html", "",
           "atlas report: totals, space types, risk levels, top units, charts and links to "
           "the map and files (opens offline)", _MAP, _IF_MAP),
    Output("run", "figure_map_risk_level", "figures/map_risk_level.png", "figure", "",
           "static map of the units by risk level", _MAP, _IF_MAP),
    Output("run", "figure_map_space_type", "figures/map_space_type.png", "figure", "",
           "static map of the units by space type", _MAP, _IF_MAP),
    Output("run", "figure_balance_by_space_type", "figures/balance_by_space_type.png",
           "figure", "t C/yr", "emission, sequestration and net by space type", _MAP,
           _IF_MAP),
    Output("run", "figure_net_vs_threshold", "figures/net_vs_threshold.png", "figure",
           "t C/ha/yr", "net density of every unit against its threshold", _MAP,
           _IF_MAP),
    Output("run", "figure_balance_by_land_class", "figures/balance_by_land_class.png",
           "figure", "t C/yr", "flux of every land class", _MAP, _IF_MAP),
    Output("run", "zoning_summary", "zoning.json", "json", "",
           "zoning summary: class breaks, compensation totals, counts", _ZONE,
           "zoning settings, see [Differentiated zoning](#differentiated-zoning)"),
    Output("run", "hotspot_grid", "hotspot_grid.gpkg", "vector", "",
           "Getis-Ord Gi* hot-spot grid, layer `hotspot_grid`", _ZONE, "`[hotspots]`"),
    Output("run", "sink_zones", "sink_zones.gpkg", "vector", "",
           "carbon-sink function zones and corridors, layer `sink_zones`", _ZONE,
           "`[sink_zones]`"),
    Output("run", "compensation_flows", "compensation.csv", "table", "t C/yr",
           "horizontal carbon-compensation flows between units", _ZONE, "`[compensation]`"),
    Output("run", "uncertainty", "uncertainty.csv", "table", "t C/yr",
           "Monte Carlo percentiles of every unit's net and its probability of exceeding the "
           "threshold", _ZONE, "`[uncertainty]`"),
    Output("run", "sweep", "sweep.csv", "table", "",
           "threshold sweep: units changing risk level as each threshold varies", _ZONE,
           "`[uncertainty]`"),
    Output("run", "sweep_plot", "sweep.png", "figure", "", "plot of the threshold sweep",
           _ZONE, "`[uncertainty]`"),
    Output("run", "marker", MARKER, "json", "",
           "hidden marker: this folder and the entries listed were written by landcarbon "
           "(what `--overwrite` may replace, see [Validation and robustness]"
           "(#validation-and-robustness))", _MAP),
    Output("run", "manifest", "run.json", "json", "",
           "manifest: landcarbon version, the full resolved config, SHA-256 of every input "
           "and output, settings used (coefficients, cropland sign with the net both ways per "
           "space type, display units, construction method with the grid factor and its "
           "source, thresholds with method, rule and source per space "
           "type), totals, timings", _RUN),
    # --- landcarbon sweep
    Output("sweep", "sweep_csv", "sweep.csv", "table", "",
           "units changing risk level as each space type's threshold varies", ("sweep",)),
    Output("sweep", "sweep_plot", "sweep.png", "figure", "", "plot of the sweep",
           ("sweep",)),
    # --- landcarbon change
    Output("change", "units_{year}", "units_{year}.csv", "table",
           "as the units table; growth and change in %",
           "the assessed units table of each date; every later date also carries its dynamic "
           "carbon risk against the date before (see below)", _CHANGE),
    Output("change", "transfer_matrix", "transfer_matrix.csv", "table", "ha",
           "transfer matrices of the study extent (the raster inside the units' bounding box, "
           "as a run reads it; pixels with data at both dates; rows = earlier date), by land "
           "class and space type",
           _CHANGE),
    Output("change", "transitions_units", "transitions_units.csv", "table", "ha",
           "per-unit transitions (exact coverage; pixels with data at both dates)", _CHANGE),
    Output("change", "change_summary", "change_summary.csv", "table", "ha, %/yr",
           "Pontius components per class (persistence, gain, loss, net, swap) and the single "
           "dynamic degree", _CHANGE),
    Output("change", "dynamic_degree", "dynamic_degree.csv", "table", "%/yr",
           "comprehensive dynamic degree per unit and for the study extent", _CHANGE),
    Output("change", "flux_effect", "flux_effect.csv", "table", "t C/yr",
           "flux effect of each conversion, Σ M_ij (e_j − e_i)", _CHANGE),
    Output("change", "timeseries", "timeseries.csv", "table", "t C/yr, t C/ha/yr",
           "every unit's balance, risk level, GDP, emission intensity and dynamic carbon risk "
           "at every date", _CHANGE),
    Output("change", "timeseries_gpkg", "timeseries.gpkg", "vector", "t C/yr, t C/ha/yr",
           "the same as a layer (`timeseries`: one column per date)", _CHANGE),
    Output("change", "alerts", "alerts.csv", "table", "",
           "early warnings: threshold crossed, sink loss, agricultural/ecological land "
           "converted to construction (`[change.monitoring]`)", _CHANGE),
    Output("change", "alerts_gpkg", "alerts.gpkg", "vector", "",
           "the alerts as a layer (`alerts`: unit polygons)", _CHANGE, "alerts"),
    Output("change", "stocks", "stocks.csv", "table", "t C",
           "carbon stocks per unit and date (InVEST-compatible pools)", _CHANGE,
           "`[change.stocks]`"),
    Output("change", "stock_change", "stock_change.csv", "table", "t C",
           "per unit and period: each date's stock and the change on the pixels valid at "
           "both dates (a pixel nodata at one date is no loss), net present value", _CHANGE,
           "`[change.stocks]`"),
    Output("change", "carbon_stock_{year}", "carbon_stock_{year}.tif", "raster", "Mg C/ha",
           "stock density of each date", _CHANGE, "`[change.stocks]`"),
    Output("change", "carbon_stock_change_{year_from}_{year_to}",
           "carbon_stock_change_{year_from}_{year_to}.tif", "raster", "Mg C/ha",
           "stock change of each period", _CHANGE, "`[change.stocks]`"),
    Output("change", "markov", "markov.csv", "table", "ha",
           "Markov projection of the land", _CHANGE, "`[change.markov]`"),
    Output("change", "markov_units", "markov_units.csv", "table", "ha",
           "the assessed projected units", _CHANGE, "`[change.markov]`"),
    Output("change", "map", "map.html", "html", "",
           "change map (one risk-level layer per date, the change of net emission per unit "
           "between the first and last date on a ramp diverging at 0, the units entering "
           "carbon risk outlined, alerts on top; each unit's popup lists every alert, the "
           "conditions raised and why, the carbon-intensity change and the Tapio state)",
           _CHANGE, _IF_MAP),
    Output("change", "report", "report.html", "html", "",
           "change report (summary first, totals per date, the units whose net emission "
           "changed most, units entering risk and why, alerts, transfer matrices, stocks; "
           "万吨 / 万元 / 公顷 in Chinese, A4 print layout)", _CHANGE, _IF_MAP),
    Output("change", "manifest", "change.json", "json", "", "manifest", _CHANGE),
    # --- landcarbon scenario
    Output("scenario", "scenario_deltas", "scenario_deltas.csv", "table", "t C/yr",
           "per-unit values in baseline and scenario and their difference", _SCEN),
    Output("scenario", "risk_transitions", "risk_transitions.csv", "table", "",
           "units by risk level in the baseline and each scenario", _SCEN),
    Output("scenario", "scenario_units", "scenario_units.gpkg", "vector", "",
           "the assessed units, one layer per scenario (and `baseline`)", _SCEN),
    Output("scenario", "scenario_{scenario}", "scenario_{scenario}_land_class.tif", "raster",
           "class", "land class of an edited scenario", _SCEN, "`[[change.edits]]`"),
    Output("scenario", "map", "map.html", "html", "",
           "scenario map: per scenario a layer of the change of net emission per unit "
           "(diverging at 0, with a \"no change\" class) and a layer of the risk-level change "
           "(lower / unchanged / higher); popups give each scenario's level before → after",
           _SCEN, _IF_MAP),
    Output("scenario", "report", "report.html", "html", "",
           "scenario report: summary, totals per scenario with its edits, risk-level "
           "transition matrices, the units changing risk level, the largest falls", _SCEN,
           _IF_MAP),
    Output("scenario", "manifest", "scenario.json", "json", "", "manifest", _SCEN),
    # --- landcarbon batch (each run in its own sub-folder, a run folder) and portal
    Output("batch", "summary", "summary.csv", "table", "t C/yr",
           "one row per run: status, error, seconds, totals, units per risk level (every "
           "level always a column)", ("batch",)),
    Output("portal", "index", "index.html", "html", "",
           "portal page linking every run of a workspace (map, report, key figures)",
           ("portal",)),
    # --- landcarbon stocks
    Output("stocks", "c_storage_{date}", "c_storage_{date}.tif", "raster", "Mg C/ha",
           "total stock density of each date (InVEST 3.15+ `c_storage_bas/alt.tif`)",
           _STOCKS),
    Output("stocks", "c_change_{date_from}_{date_to}", "c_change_{date_from}_{date_to}.tif",
           "raster", "Mg C/ha", "its change (InVEST `c_change_bas_alt.tif`); NaN where "
           "either date has no data", _STOCKS),
    Output("stocks", "npv_{date_from}_{date_to}", "npv_{date_from}_{date_to}.tif", "raster",
           "currency/ha", "net present value of the change (InVEST `npv_alt.tif`)", _STOCKS,
           "`--price`"),
    Output("stocks", "stock_totals", "stock_totals.csv", "table", "t C (= Mg C), ha",
           "**whole raster**, per date and pool: every pixel with a code, whatever the units "
           "cover", _STOCKS),
    Output("stocks", "stock_change_totals", "stock_change_totals.csv", "table",
           "t C, currency", "per period: stocks, change on the pixels valid at both dates, "
           "`valuation_constant`, `npv`", _STOCKS),
    Output("stocks", "unit_stocks", "unit_stocks.csv", "table", "t C",
           "stocks per unit and date (exact partial-pixel coverage)", _STOCKS, "`--units`"),
    Output("stocks", "unit_stock_change", "unit_stock_change.csv", "table", "t C, currency",
           "per unit and period: each date's stock and the change on the pixels valid at "
           "both dates (as stock_change_totals.csv)", _STOCKS, "`--units`"),
    Output("stocks", "manifest", "stocks.json", "json", "",
           "manifest: inputs, CRS, totals (the `totals` of `--json`)", _STOCKS),
)

_BY_ID = {(o.folder, o.id): o for o in OUTPUTS}
#: What publishing a run draws (again): its map, report and figures (``landcarbon map``, the
#: portal for a run without a report)
PUBLISHED = frozenset(o.file for o in OUTPUTS if o.folder == "run" and (
    o.kind == "html" or o.file.startswith("figures/")))


def output(folder: str, id: str) -> Output:
    """The declared output ``id`` of a ``folder`` kind.

    Raises
    ------
    KeyError
        If it is not declared (add it to :data:`OUTPUTS`).
    """
    return _BY_ID[(folder, id)]


def name(folder: str, id: str, **fields: object) -> str:
    """The file name of output ``id`` of ``folder`` (pattern fields filled in)."""
    return output(folder, id).name(**fields)


def declared(folder: str, files: dict[str, str]) -> dict[str, str]:
    """``files`` (``{role: file name}`` returned by a writer), after checking that every
    file is a declared output of ``folder``.

    Raises
    ------
    ValueError
        Naming an undeclared file (a writer bug: declare it in :data:`OUTPUTS`).
    """
    rows = [o for o in OUTPUTS if o.folder == folder]
    stray = sorted(f for f in files.values() if not any(o.matches(f) for o in rows))
    if stray:
        raise ValueError(f"undeclared {folder} output file(s): {', '.join(stray)} (declare "
                         "them in landcarbon/config/outputs.py)")
    return files


def readme_table(folder: str) -> str:
    """The README table (Markdown) of the outputs of a ``folder`` kind: file, what, units;
    optional outputs say "only with ..."."""
    rows = ["| file | what | units |", "|---|---|---|"]
    figures = [o for o in OUTPUTS if o.folder == folder and o.file.startswith("figures/")]
    for o in OUTPUTS:
        if o.folder != folder or o in figures[1:]:
            continue
        if o in figures[:1]:  # the figures folder: one row
            what = ("PNG figures of the report: " + ", ".join(
                f.description for f in figures)).replace("|", "\\|")
            rows.append(f"| `figures/` | {what} (only with {o.condition}) | |")
            continue
        what = o.description + (f" (only with {o.condition})" if o.condition else "")
        file = o.file.replace("{", "<").replace("}", ">")
        units = f" {o.units} " if o.units else " "
        rows.append(f"| `{file}` | {what.replace('|', chr(92) + '|')} |{units}|")
    return "\n".join(rows)
