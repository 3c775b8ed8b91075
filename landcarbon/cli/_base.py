"""The ``landcarbon`` command group and what every command shares: error handling (exit
codes), logging on stderr, the ``--overwrite`` option and the progress-bar default.

Exit codes: 0 success; 1 input or configuration problem (a one-paragraph message on stderr,
no traceback unless ``--debug``); 2 usage error (click); 130 interrupted (Ctrl-C, SIGINT);
143 terminated (SIGTERM). An interrupted run leaves no output folder behind.
"""

from __future__ import annotations

import errno
import functools
import logging
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from landcarbon.exceptions import LandcarbonError

__all__ = [
    "config_argument",
    "handle_errors",
    "log",
    "main",
    "out_option",
    "overwrite_option",
    "progress_default",
    "scheduler_option",
    "with_scheduler",
]

log = logging.getLogger("landcarbon")


def handle_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Run a command, turning landcarbon errors into a message and exit code 1."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        debug = click.get_current_context().find_root().params.get("debug", False)
        try:
            return _environment_errors(fn, *args, **kwargs)
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


def _environment_errors(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call ``fn``; an operating-system error with a known cause (full disk, read-only,
    path too long...) becomes a :class:`LandcarbonError` with its message."""
    try:
        return fn(*args, **kwargs)
    except OSError as exc:
        known = os_error_message(exc)
        if known is None:
            raise
        raise LandcarbonError(known) from exc


def os_error_message(exc: OSError) -> str | None:
    """One paragraph for an operating-system error with a known cause (full disk, quota,
    file-size limit, read-only file system, permission denied, path too long), naming the
    file; None for any other."""
    from landcarbon.io.locks import _CAUSES, os_error_cause

    code = os_error_cause(exc)
    if code is None:
        return None
    cause, fix = _CAUSES[code]
    where = exc.filename or "a file"
    return (f"Cannot use {where}: {cause}. No output was left half-written. {fix}"
            + (" (or shorten the paths of the inputs)" if code == errno.ENAMETOOLONG else "")
            + ".")


def _terminate(signum: int, frame: object) -> None:
    """SIGTERM (a batch scheduler, ``kill``) unwinds like Ctrl-C: staging folders are removed
    and the exit code is 143."""
    click.echo("Terminated: the output being written is discarded.", err=True)
    raise SystemExit(128 + signum)


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
    signal.signal(signal.SIGTERM, _terminate)
    level = logging.DEBUG if debug else (logging.ERROR if quiet else logging.INFO)
    from landcarbon.pipeline.progress import set_verbosity

    set_verbosity(0 if quiet else (2 if debug else 1))
    if quiet:  # -q: errors only, no library warnings either
        import warnings

        warnings.simplefilter("ignore")
    logging.basicConfig(level=level, stream=sys.stderr, format="%(levelname)s: %(message)s",
                        force=True)
    for noisy in ("rasterio", "fiona", "pyogrio", "numexpr", "matplotlib", "fontTools"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


def progress_default() -> bool:
    """Progress bars only when stderr is a terminal (and not ``-q``)."""
    from landcarbon.pipeline.progress import bars_shown

    return bars_shown()


overwrite_option = click.option(
    "--overwrite", is_flag=True,
    help="Replace an existing output folder that landcarbon wrote (never one holding files "
         "landcarbon did not write, nor one holding an input of the run).")


scheduler_option = click.option(
    "--scheduler", metavar="ADDRESS",
    help="Dask scheduler: a dask.distributed address (tcp://host:8786, see `dask scheduler`) "
         "or threads / processes / synchronous; overrides [compute] scheduler.")


def with_scheduler(config: Any, scheduler: str | None) -> Any:
    """``config`` with ``[compute] scheduler`` replaced by the ``--scheduler`` option."""
    if not scheduler:
        return config
    from landcarbon.config.compute import ComputeConfig
    from landcarbon.exceptions import ConfigError

    try:
        compute = ComputeConfig(**{**config.compute.model_dump(), "scheduler": scheduler})
    except ValueError as exc:
        raise ConfigError(f"--scheduler {scheduler!r}: {exc}") from None
    return config.model_copy(update={"compute": compute})


def print_files(folder: Path, files: dict[str, str], width: int = 16) -> None:
    """Print ``role  path`` for every output file (stdout: what a command produced)."""
    for role, name in files.items():
        click.echo(f"{role:{width}s} {folder / name}")


#: The CONFIG argument of commands that read a TOML run configuration.
config_argument = click.argument("config", type=click.Path(path_type=Path, dir_okay=False))


def out_option(default: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The ``-o/--out`` output-folder option; ``default`` says what is used without it."""
    return click.option("-o", "--out", type=click.Path(path_type=Path, file_okay=False),
                        help=f"Output folder (default: {default}).")
