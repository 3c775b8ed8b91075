"""The ``batch`` command: many configs, or one config over many regions, in one call."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from landcarbon.cli._base import (
    handle_errors,
    interrupt_notes,
    main,
)
from landcarbon.cli._options import (
    UNIT_SUFFIXES,
    InputPath,
    emit_result,
    json_option,
    overwrite_option,
    progress_default,
    scheduler_option,
    with_scheduler,
)


@main.command()
@click.argument("configs", nargs=-1, required=True,
                type=InputPath(dir_okay=False, suffixes=(".toml",)))
@click.option("-o", "--out", type=InputPath(file_okay=False),
              default=Path("batch_out"), show_default=True,
              help="Folder of the runs (one sub-folder each) and summary.csv.")
@click.option("--regions", type=InputPath(dir_okay=False, suffixes=UNIT_SUFFIXES),
              help="Regions layer (e.g. counties): run the one CONFIG once per region.")
@click.option("--region-field", help="Field of --regions naming each region.")
@overwrite_option
@scheduler_option
@json_option
@handle_errors
def batch(configs: tuple[Path, ...], out: Path, regions: Path | None, region_field: str | None,
          overwrite: bool, scheduler: str | None, as_json: bool) -> None:
    """Run many configs, or one config for every region, and write summary.csv.

    A failing run is reported and the batch goes on; the exit code is 1 if any run failed.

    \b
    Example:
      landcarbon batch zhengzhou_2015.toml zhengzhou_2023.toml -o out/batch
      landcarbon batch henan.toml --regions counties.gpkg --region-field name -o out/henan
    """
    from landcarbon.config.compute import ComputeConfig
    from landcarbon.config.run import load_config
    from landcarbon.exceptions import ConfigError
    from landcarbon.pipeline import batch_configs, batch_regions

    interrupt_notes(f"the runs finished so far are kept in {out} (the one under way is "
                    "discarded) and summary.csv is not written; run the same batch again to "
                    "finish it (up-to-date runs are kept).")
    compute = None
    if scheduler:
        try:
            compute = ComputeConfig(scheduler=scheduler)
        except ValueError as exc:
            raise ConfigError(f"--scheduler {scheduler!r}: {exc}") from None
    if regions is not None or region_field is not None:
        if regions is None or region_field is None:
            raise click.UsageError("--regions and --region-field go together: give both "
                                   "(--region-field names the field of --regions holding "
                                   "each region's name).")
        if len(configs) != 1:
            raise click.UsageError(f"With --regions give exactly one CONFIG "
                                   f"(got {len(configs)}).")
        config = with_scheduler(load_config(configs[0]), scheduler)
        result = batch_regions(config, regions, region_field, out, overwrite=overwrite,
                               progress=progress_default(), scheduler=compute)
    else:
        result = batch_configs(list(configs), out, overwrite=overwrite,
                               progress=progress_default(), scheduler=compute)
    s = result.summary
    if as_json:
        runs = s.astype(object).where(s.notna(), None).to_dict("records")
        emit_result("batch", result.out_dir, {"summary": "summary.csv"}, as_json=True,
                    status="failed" if result.failed else "ok",
                    extra={"runs": runs, "failed": list(result.failed)})
    else:
        for row in s.itertuples():
            click.echo(f"{row.status:10s} {row.seconds:8.1f}s  {row.run}"
                       + (f"  {row.error}" if row.status == "failed" else ""))
        click.echo(f"summary  {result.out_dir / 'summary.csv'}")
    if result.failed:
        click.echo(f"{len(result.failed)} of {len(s)} run(s) failed: "
                   f"{', '.join(result.failed)}", err=True)
        sys.exit(1)
