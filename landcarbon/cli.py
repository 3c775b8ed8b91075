"""The ``landcarbon`` command line (click). Thin: parse, call the pipeline, map errors to
exit codes.

Exit codes: 0 success; 1 input or configuration problem (a one-paragraph message on stderr,
no traceback unless ``--debug``); 2 usage error (click). Logs go to stderr.
"""

from __future__ import annotations

import functools
import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from landcarbon.exceptions import LandcarbonError

log = logging.getLogger("landcarbon")


def _handle_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        debug = click.get_current_context().find_root().params.get("debug", False)
        try:
            return fn(*args, **kwargs)
        except LandcarbonError as exc:
            if debug:
                raise
            click.echo(f"Error: {exc}", err=True)
            sys.exit(1)
        except KeyboardInterrupt:
            click.echo("Interrupted: no output was written.", err=True)
            sys.exit(130)
        except Exception as exc:
            if debug:
                raise
            click.echo(f"Error: unexpected {type(exc).__name__}: {exc}. This may be a bug or an "
                       "input landcarbon does not recognise; run again with --debug for the "
                       "traceback and report it.", err=True)
            sys.exit(1)
    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logs.")
@click.option("-q", "--quiet", is_flag=True, help="Only print errors.")
@click.version_option(package_name="landcarbon")
def main(debug: bool, quiet: bool) -> None:
    """Territorial-space carbon balance: land cover + land units -> sources, sinks,
    differentiated thresholds and carbon-risk zones.

    \b
    Example:
      landcarbon demo                      # run the bundled synthetic sample
      landcarbon validate config.toml      # list every problem of a config
      landcarbon run config.toml -o out/   # full run
    """
    level = logging.DEBUG if debug else (logging.ERROR if quiet else logging.INFO)
    logging.basicConfig(level=level, stream=sys.stderr, format="%(levelname)s: %(message)s",
                        force=True)
    for noisy in ("rasterio", "fiona", "pyogrio", "numexpr", "matplotlib"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


def _progress_default() -> bool:
    return sys.stderr.isatty()


def _execute(config_path: Path, out: Path, overwrite: bool) -> None:
    from landcarbon.config import load_config
    from landcarbon.pipeline import run

    config = load_config(config_path)
    start = time.perf_counter()
    result = run(config, out, overwrite=overwrite, progress=_progress_default())
    totals = result.assessment.totals()
    s = result.assessment.suffix
    unit = config.coefficients.output_unit
    log.info("finished in %.1f s: %d units, net %.1f %s/yr (emission %.1f, sequestration %.1f)",
             time.perf_counter() - start, totals["units"], totals[f"net_{s}"], unit,
             totals[f"emission_{s}"], totals[f"sequestration_{s}"])
    for role, name in result.files.items():
        click.echo(f"{role:16s} {result.out_dir / name}")


@main.command()
@click.argument("config", type=click.Path(path_type=Path, dir_okay=False))
@click.option("-o", "--out", type=click.Path(path_type=Path, file_okay=False),
              help="Output folder (default: ./<config name>_out).")
@click.option("--overwrite", is_flag=True, help="Replace an existing output folder.")
@_handle_errors
def run(config: Path, out: Path | None, overwrite: bool) -> None:
    """Run the configured assessment and write tables, rasters, map and manifest.

    \b
    Example:
      landcarbon run zhengzhou.toml -o out/zhengzhou_2023 --overwrite
    """
    _execute(config, out or Path(f"{config.stem}_out"), overwrite)


@main.command()
@click.argument("config", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--no-scan", is_flag=True, help="Skip the pass over the raster that checks "
              "class codes.")
@_handle_errors
def validate(config: Path, no_scan: bool) -> None:
    """List every problem of a config and its inputs (exit 1 if any).

    \b
    Example:
      landcarbon validate zhengzhou.toml
    """
    from landcarbon.validate import validate_config

    problems = validate_config(config, scan_raster=not no_scan)
    if problems:
        click.echo(f"{config}: {len(problems)} problem(s)", err=True)
        for i, p in enumerate(problems, 1):
            click.echo(f"  {i}. {p}", err=True)
        sys.exit(1)
    click.echo(f"{config}: OK")


def _sample_dir() -> Path:
    here = Path(__file__).resolve().parent.parent / "data" / "sample_tiles"
    for cand in (here, Path.cwd() / "data" / "sample_tiles"):
        if (cand / "demo.toml").is_file():
            return cand
    raise LandcarbonError(
        "The sample tiles were not found (data/sample_tiles/demo.toml). Run `landcarbon demo` "
        "from a clone of the landcarbon repository (pip install -e .), or regenerate them with "
        "python data/sample_tiles/make_sample_tiles.py.")


@main.command()
@click.argument("out", required=False, type=click.Path(path_type=Path, file_okay=False))
@click.option("--overwrite", is_flag=True, help="Replace an existing output folder.")
@_handle_errors
def demo(out: Path | None, overwrite: bool) -> None:
    """Run the bundled SYNTHETIC Zhengzhou-like sample (default output: ./landcarbon-demo).

    \b
    Example:
      landcarbon demo /tmp/demo --overwrite
    """
    _execute(_sample_dir() / "demo.toml", out or Path("landcarbon-demo"), overwrite)


@main.command()
@click.argument("name", required=False)
@_handle_errors
def legends(name: str | None) -> None:
    """List the built-in legends, or show one (codes -> land class, space type).

    \b
    Example:
      landcarbon legends esa_worldcover
    """
    from landcarbon.legends import land_classes, list_legends, load_legend

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
@_handle_errors
def coefficients(name: str | None) -> None:
    """List the built-in coefficient sets, or show one (t C/ha/yr, with sources).

    \b
    Example:
      landcarbon coefficients lai2010
    """
    from landcarbon.coefficients import list_coefficient_sets, load_coefficients

    if name is None:
        for n in list_coefficient_sets():
            click.echo(n)
        return
    table = load_coefficients(name).table
    click.echo("land_class          t C/ha/yr  source")
    for lc, r in table.iterrows():
        value = "indirect" if r.tc_per_ha != r.tc_per_ha else f"{r.tc_per_ha:+.3f}"
        click.echo(f"{lc:18s} {value:>10s}  {r.source}")


if __name__ == "__main__":  # pragma: no cover
    main()
