"""Core commands: run, validate, demo, legends, coefficients."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from landcarbon.cli._base import (
    handle_errors,
    log,
    main,
)
from landcarbon.cli._options import (
    InputPath,
    config_argument,
    emit_result,
    json_option,
    out_option,
    overwrite_option,
    progress_default,
    scheduler_option,
    with_scheduler,
)
from landcarbon.exceptions import LandcarbonError


def _execute(config_path: Path, out: Path, overwrite: bool, scheduler: str | None = None,
             as_json: bool = False) -> None:
    from landcarbon.config.run import load_config
    from landcarbon.pipeline import run

    config = with_scheduler(load_config(config_path), scheduler)
    start = time.perf_counter()
    result = run(config, out, overwrite=overwrite, progress=progress_default())
    if result.assessment is None:
        if as_json:
            emit_result("run", result.out_dir, result.files, as_json=True, status="up_to_date")
        else:
            click.echo(f"{result.out_dir}: up to date (inputs, settings and version "
                       "unchanged; pass --overwrite to recompute)")
        return
    totals = result.assessment.totals()
    s = result.assessment.suffix
    unit = config.coefficients.output_unit
    log.info("finished in %.1f s: %d units, net %.1f %s/yr (emission %.1f, sequestration %.1f)",
             time.perf_counter() - start, totals["units"], totals[f"net_{s}"], unit,
             totals[f"emission_{s}"], totals[f"sequestration_{s}"])
    emit_result("run", result.out_dir, result.files, as_json=as_json,
                totals={**totals, "unit": unit})


@main.command()
@config_argument
@out_option("./<config name>_out")
@overwrite_option
@scheduler_option
@json_option
@handle_errors
def run(config: Path, out: Path | None, overwrite: bool, scheduler: str | None,
        as_json: bool) -> None:
    """Run the configured assessment and write tables, rasters, map and manifest.

    \b
    Example:
      landcarbon run zhengzhou.toml -o out/zhengzhou_2023 --overwrite
      landcarbon run henan.toml --scheduler tcp://10.0.0.5:8786   # on a dask cluster
      landcarbon -q run zhengzhou.toml --json > result.json       # for scripts
    """
    _execute(config, out or Path(f"{config.stem}_out"), overwrite, scheduler, as_json)


@main.command()
@config_argument
@click.option("--no-scan", is_flag=True, help="Read raster headers only: skip the pass over "
              "the pixels (class codes with pixel counts, area reconciliation).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON on stdout "
              "(problems with code, severity, where, message, fix, details; and a summary).")
@handle_errors
def validate(config: Path, no_scan: bool, as_json: bool) -> None:
    """List every problem of a config and its inputs at once (exit 1 if any error;
    warnings do not fail).

    \b
    Example:
      landcarbon validate zhengzhou.toml
      landcarbon validate zhengzhou.toml --json > problems.json
    """
    import json

    from landcarbon.pipeline.validate import validate_config

    report = validate_config(config, scan_raster=not no_scan)
    if as_json:
        from landcarbon.io.outputs import strict_json

        click.echo(json.dumps(strict_json(report.to_dict()), ensure_ascii=False, indent=2,
                              allow_nan=False))
    else:
        s = report.summary
        if "covered_ha" in s:
            click.echo(f"{config}: {s.get('units', 0)} units, {s['unit_area_ha']:.6g} ha, "
                       f"{s['covered_ha']:.6g} ha classified")
        for i, p in enumerate(report.problems, 1):
            click.echo(f"  {i}. {p}")
        click.echo(f"{config}: {len(report.errors)} error(s), {len(report.warnings)} "
                   f"warning(s)" + ("" if report.problems else " - OK"))
    if not report.ok:
        sys.exit(1)


def _sample_dir() -> Path:
    """The bundled sample folder: ``landcarbon/data/sample_tiles`` of an installed package
    (the wheel carries it, see setup.py), else ``data/sample_tiles`` of the clone the package
    is imported from (editable install), else below the current folder."""
    from landcarbon._resources import data_path

    clone = Path(__file__).resolve().parents[2] / "data" / "sample_tiles"
    for cand in (data_path("sample_tiles"), clone, Path.cwd() / "data" / "sample_tiles"):
        if (cand / "demo.toml").is_file():
            return cand
    raise LandcarbonError(
        "The sample tiles were not found (landcarbon/data/sample_tiles/demo.toml in the "
        "installed package, or data/sample_tiles/demo.toml of a clone). Reinstall landcarbon "
        "from its wheel or sdist (pip install landcarbon-<version>.whl), or from a clone "
        "regenerate them with python data/sample_tiles/make_sample_tiles.py.")


@main.command()
@click.argument("out", required=False, type=InputPath(file_okay=False))
@click.option("-o", "--out", "out_option", type=InputPath(file_okay=False),
              help="Output folder, as for the other commands (same as the OUT argument).")
@overwrite_option
@json_option
@handle_errors
def demo(out: Path | None, out_option: Path | None, overwrite: bool, as_json: bool) -> None:
    """Run the bundled SYNTHETIC Zhengzhou-like sample (default output: ./landcarbon-demo).

    \b
    Example:
      landcarbon demo /tmp/demo --overwrite
      landcarbon demo -o /tmp/demo
    """
    if out is not None and out_option is not None and out != out_option:
        raise click.UsageError(f"two output folders given ({out} and -o {out_option}); "
                               "give one.")
    _execute(_sample_dir() / "demo.toml", out or out_option or Path("landcarbon-demo"),
             overwrite, as_json=as_json)


@main.command()
@click.argument("name", required=False)
@handle_errors
def legends(name: str | None) -> None:
    """List the built-in legends, or show one (codes -> land class, space type).

    \b
    Example:
      landcarbon legends esa_worldcover
    """
    from landcarbon.accounting.legends import land_classes, list_legends, load_legend

    if name is None:
        for n in list_legends():
            click.echo(f"{n:16s} {len(load_legend(n).table):4d} codes")
        click.echo("\nland classes: " + ", ".join(land_classes().index))
        return
    table = load_legend(name).table
    for r in table.itertuples():
        click.echo(f"{r.code:>6}  {r.land_class or '-':17s} {r.space_type:13s} "
                   f"{r.name_en} / {r.name_zh}")


@main.command()
@click.argument("name", required=False)
@handle_errors
def coefficients(name: str | None) -> None:
    """List the built-in coefficient sets, or show one (t C/ha/yr, with sources).

    \b
    Example:
      landcarbon coefficients lai2010
    """
    from landcarbon.accounting.coefficients import list_coefficient_sets, load_coefficients

    if name is None:
        for n in list_coefficient_sets():
            click.echo(n)
        return
    table = load_coefficients(name).table
    click.echo("land_class          t C/ha/yr  source")
    for lc, r in table.iterrows():
        value = "indirect" if r.tc_per_ha != r.tc_per_ha else f"{r.tc_per_ha:+.3f}"
        click.echo(f"{lc:18s} {value:>10s}  {r.source}")

