"""Zoning commands: ``zone`` (indicators, zones, hot spots, sink zones, compensation,
uncertainty as a separate step) and ``sweep`` (threshold sensitivity). Both call one
pipeline function (:mod:`landcarbon.pipeline._zone_runs`) and report what it wrote."""

from __future__ import annotations

from pathlib import Path

import click

from landcarbon.cli._base import (
    handle_errors,
    log,
    main,
)
from landcarbon.cli._options import (
    InputPath,
    finite,
    out_option,
    overwrite_option,
    print_files,
    progress_default,
)


@main.command()
@click.argument("source", type=click.Path(path_type=Path))
@out_option("RUN_DIR/zoning or ./<config name>_zoning")
@overwrite_option
@handle_errors
def zone(source: Path, out: Path | None, overwrite: bool) -> None:
    """Carbon-balance zoning of a config or a finished run folder: indicators, ECC/ESC zones,
    carbon-risk overlay, Gi* hot spots (units and grid), sink-function zones, horizontal
    compensation and Monte Carlo uncertainty. Sections absent from the config run with their
    defaults. Writes every output of a run (units.gpkg/csv with the new columns, the zoning
    layers, rasters, run.json) and the map and report with the zoning layers.

    \b
    Example:
      landcarbon zone zhengzhou.toml -o out/zoning
      landcarbon zone out/zhengzhou_2023 --overwrite     # writes out/zhengzhou_2023/zoning
    """
    from landcarbon.pipeline._zone_runs import run_zoning

    result = run_zoning(source, out, overwrite=overwrite, progress=progress_default())
    if result.up_to_date:
        click.echo(f"{result.out_dir}: up to date (inputs, settings and version unchanged; "
                   "pass --overwrite to recompute)")
        return
    summary = result.assessment.zoning["summary"] if result.assessment is not None else {}
    for key, counts in summary.get("counts", {}).items():
        log.info("%s: %s", key, ", ".join(f"{k} {v}" for k, v in counts.items()))
    print_files(result.out_dir, result.files)


@main.command()
@click.argument("config", type=InputPath(dir_okay=False, suffixes=(".toml",)))
@out_option("./<config name>_sweep")
@click.option("--range", "relative_range", default=None,
              type=click.FloatRange(0, 1, min_open=True), callback=finite,
              help="Vary each threshold by +/- this fraction, above 0 and at most 1 (default: "
              "[uncertainty] sweep_relative_range, 0.5).")
@click.option("--steps", type=click.IntRange(2, 201), default=None,
              help="Thresholds per space type, 2-201 (default 21).")
@overwrite_option
@handle_errors
def sweep(config: Path, out: Path | None, relative_range: float | None, steps: int | None,
          overwrite: bool) -> None:
    """Threshold sensitivity: how many units change risk level as each space type's
    threshold varies (sweep.csv and the plot sweep.png).

    \b
    Example:
      landcarbon sweep zhengzhou.toml --range 0.3 --steps 13 -o out/sweep
    """
    from landcarbon.config.run import load_config
    from landcarbon.pipeline._zone_runs import run_sweep

    table, folder, files = run_sweep(
        load_config(config), out or Path(f"{config.stem}_sweep"),
        relative_range=relative_range, steps=steps, overwrite=overwrite,
        progress=progress_default())
    for st, sub in table.groupby("space_type", sort=False):
        log.info("%s: up to %d of %d unit(s) change risk level", st,
                 int(sub["units_changed"].max()), int(sub["units_of_space_type"].iloc[0]))
    click.echo(f"sweep_csv  {folder / files['sweep_csv']}")
    click.echo(f"sweep_plot {folder / files['sweep_plot']}")
