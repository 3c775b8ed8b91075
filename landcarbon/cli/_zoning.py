"""Zoning commands: ``zone`` (indicators, zones, hot spots, sink zones, compensation,
uncertainty as a separate step) and ``sweep`` (threshold sensitivity)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from landcarbon.cli._base import (
    handle_errors,
    log,
    main,
    out_option,
    overwrite_option,
    print_files,
    progress_default,
)
from landcarbon.exceptions import ConfigError
from landcarbon.io.fingerprint import protected_inputs
from landcarbon.io.outputs import check_output_target

if TYPE_CHECKING:
    from landcarbon.config.run import RunConfig


def _load(source: Path) -> tuple[RunConfig, Path]:
    """Config of a TOML file or of a finished run folder (its run.json), and a default
    output folder."""
    from landcarbon.config.run import config_from_dict, load_config

    if source.is_dir():
        manifest = source / "run.json"
        if not manifest.is_file():
            raise ConfigError(f"{source} is a folder without run.json: give a config file or "
                              "the output folder of a finished `landcarbon run`.")
        from landcarbon.io.publication import read_manifest

        data = read_manifest(manifest).get("config")
        if not isinstance(data, dict):
            raise ConfigError(f"{manifest} holds no run configuration (key 'config'); give "
                              "the config file, or run it again with `landcarbon run`.")
        return config_from_dict(data, data.get("base_dir") or "."), source / "zoning"
    return load_config(source), Path(f"{source.stem}_zoning")


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
    from landcarbon.io.outputs import staged_output_dir
    from landcarbon.pipeline import assess
    from landcarbon.pipeline._zoning import with_all
    from landcarbon.pipeline.run_outputs import write_run_outputs

    config, default_out = _load(source)
    target = out or default_out
    inputs = protected_inputs(config)
    check_output_target(target, overwrite=overwrite, inputs=inputs)
    with staged_output_dir(target, overwrite=overwrite, inputs=inputs, kind="zoning") as stage:
        a = assess(with_all(config), progress=progress_default())
        # every output of a run (tables, zoning layers, rasters, run.json) and, unless
        # output.map = false, the map and the report with the zoning layers and section
        files = write_run_outputs(a, stage, progress=progress_default())
    summary = a.zoning["summary"]
    for key, counts in summary.get("counts", {}).items():
        log.info("%s: %s", key, ", ".join(f"{k} {v}" for k, v in counts.items()))
    print_files(target.absolute(), files)


@main.command()
@click.argument("config", type=click.Path(path_type=Path, dir_okay=False))
@out_option("./<config name>_sweep")
@click.option("--range", "relative_range", type=float, default=None,
              help="Vary each threshold by +/- this fraction (default: [uncertainty] "
              "sweep_relative_range, 0.5).")
@click.option("--steps", type=int, default=None, help="Thresholds per space type (default 21).")
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
    from landcarbon.accounting.risk import RiskBands
    from landcarbon.config.run import load_config
    from landcarbon.config.zoning import UncertaintyConfig
    from landcarbon.io.outputs import staged_output_dir
    from landcarbon.io.tables import write_csv
    from landcarbon.pipeline import assess
    from landcarbon.publish.figures import sweep_figure
    from landcarbon.zoning.uncertainty import threshold_sweep

    cfg = load_config(config)
    target = out or Path(f"{config.stem}_sweep")
    inputs = protected_inputs(cfg)
    check_output_target(target, overwrite=overwrite, inputs=inputs)
    uc = cfg.uncertainty or UncertaintyConfig()
    base = cfg.model_copy(update={k: None for k in ("zoning", "hotspots", "sink_zones",
                                                    "compensation", "uncertainty")})
    a = assess(base, progress=progress_default())
    r = cfg.risk
    table = threshold_sweep(
        a.units, a.thresholds, RiskBands(r.approaching_margin, r.severe_margin,
                                         r.scale_floor_tc_per_ha),
        relative_range=relative_range if relative_range is not None else uc.sweep_relative_range,
        steps=steps if steps is not None else uc.sweep_steps,
        floor_tc_per_ha=r.scale_floor_tc_per_ha, output_unit=cfg.coefficients.output_unit)
    with staged_output_dir(target, overwrite=overwrite, inputs=inputs, kind="sweep") as stage:
        write_csv(table, stage / "sweep.csv", encoding=cfg.output.csv_encoding)
        sweep_figure(table, language=cfg.language).savefig(stage / "sweep.png", dpi=120)
    for st, sub in table.groupby("space_type", sort=False):
        log.info("%s: up to %d of %d unit(s) change risk level", st,
                 int(sub["units_changed"].max()), int(sub["units_of_space_type"].iloc[0]))
    click.echo(f"sweep_csv  {target.absolute() / 'sweep.csv'}")
    click.echo(f"sweep_plot {target.absolute() / 'sweep.png'}")
