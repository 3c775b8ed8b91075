"""What the commands share besides the group (:mod:`landcarbon.cli._base`): the
``--overwrite``, ``--scheduler``, ``--json`` and ``-o`` options, input paths checked as click
parameters, and results on stdout (aligned file lists or ``--json`` documents)."""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

__all__ = [
    "JSON_SCHEMA",
    "UNIT_SUFFIXES",
    "InputPath",
    "InputPathError",
    "config_argument",
    "echo_document",
    "emit_result",
    "json_option",
    "os_error_message",
    "out_option",
    "overwrite_option",
    "print_files",
    "progress_default",
    "scheduler_option",
    "with_scheduler",
]

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


def progress_default() -> bool:
    """Progress bars only when stderr is a terminal and no ``-q`` was given."""
    from landcarbon.pipeline.progress import bars_shown

    return bars_shown()


overwrite_option = click.option(
    "--overwrite", is_flag=True,
    help="Replace an existing output folder that landcarbon wrote (never one holding files "
         "landcarbon did not write, nor one holding an input of the run).")


def finite(ctx: click.Context, param: click.Parameter, value: float | None) -> float | None:
    """A number option that must be finite: ``nan`` passes click's ranges (every comparison
    with it is false), so it is a usage error here (exit 2), as other bad values are."""
    import math

    if value is not None and not math.isfinite(value):
        raise click.BadParameter(f"{value!r} is not a finite number.")
    return value


def _scheduler_value(ctx: click.Context, param: click.Parameter, value: str | None
                     ) -> str | None:
    """``--scheduler`` checked as ``[compute] scheduler`` is (a usage error, exit 2)."""
    if not value:
        return value
    from pydantic import ValidationError

    from landcarbon.config.compute import ComputeConfig

    try:
        ComputeConfig(scheduler=value)
    except ValidationError as exc:
        msg = str(exc.errors()[0].get("msg", exc)).removeprefix("Value error, ")
        raise click.BadParameter(msg) from None
    return value


scheduler_option = click.option(
    "--scheduler", metavar="ADDRESS", callback=_scheduler_value,
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


def print_files(folder: Path, files: dict[str, str]) -> None:
    """Print ``role  path`` for every output file on stdout (what a command produced), the
    paths aligned after the longest role."""
    width = max((len(r) for r in files), default=0)
    for role, name in files.items():
        click.echo(f"{role:{width}s}  {folder / name}")


#: Version of the ``--json`` result documents (README "Scripting with --json").
JSON_SCHEMA = "landcarbon.result/1"


def emit_result(command: str, folder: Path, files: dict[str, str], *, as_json: bool,
                totals: dict[str, Any] | None = None, status: str = "ok",
                extra: dict[str, Any] | None = None) -> None:
    """A command's result on stdout: the aligned file list, or with ``as_json`` one JSON
    document ``{"schema", "command", "status", "out_dir", "files": {role: absolute path},
    "totals", ...extra}`` (``status``: ``ok``, ``up_to_date`` or ``failed``)."""
    if not as_json:
        print_files(folder, files)
        return
    echo_document(command, status, folder, {r: str(folder / n) for r, n in files.items()},
                  totals, **(extra or {}))


def echo_document(command: str, status: str, folder: Path | None, files: dict[str, str],
                  totals: dict[str, Any] | None, **extra: Any) -> None:
    """Print the ``--json`` document (schema :data:`JSON_SCHEMA`) of a command on stdout."""
    import json

    doc: dict[str, Any] = {"schema": JSON_SCHEMA, "command": command, "status": status,
                           "out_dir": None if folder is None else str(folder), "files": files,
                           "totals": totals, **extra}
    click.echo(json.dumps(doc, ensure_ascii=False, indent=2, default=_json_default))


def _json_default(value: Any) -> Any:
    """numpy scalars and arrays, paths and the like as JSON values."""
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


json_option = click.option("--json", "as_json", is_flag=True, help="Print the result as one "
                           "JSON document on stdout (schema landcarbon.result/1: command, "
                           "status, out_dir, files, totals).")


#: File kinds of a vector layer a folder may hold (named when a folder is given for one).
UNIT_SUFFIXES = (".gpkg", ".shp", ".geojson", ".json", ".fgb", ".gml", ".kml", ".zip")


class InputPathError(click.ClickException):
    """A path on the command line that is not what the command needs (a folder where a file
    is read, a file where an output folder goes, a path that does not exist): bad input,
    exit code 1 and one paragraph (click prints ``Error: ...``), not a usage error."""

    exit_code = 1


def _files_inside(folder: Path, suffixes: tuple[str, ...]) -> list[str]:
    """Up to three files of ``folder`` with one of ``suffixes`` (sorted names)."""
    try:
        names = sorted(p.name for p in folder.iterdir()
                       if p.is_file() and p.suffix.lower() in suffixes)
    except OSError:
        return []
    return names[:3]


class InputPath(click.Path):
    """:class:`click.Path` whose refusals say how to fix them and exit 1
    (:class:`InputPathError`): a folder given for a file names the files inside it that
    could be meant (``suffixes``), a file given for an output folder says that it is kept,
    a missing path says where relative paths start from."""

    def __init__(self, *, suffixes: tuple[str, ...] = (), **kwargs: Any) -> None:
        super().__init__(path_type=Path, **kwargs)
        self.suffixes = suffixes

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> Any:
        if isinstance(value, str | bytes) and not os.fsdecode(value).strip():
            self.fail("is empty: give a path (an empty one would be the current folder).",
                      param, ctx)  # a usage error (exit 2)
        path = Path(os.fsdecode(value))
        if isinstance(param, click.Option):
            what = "/".join(param.opts)
        else:
            what = param.human_readable_name if param is not None else "path"
        try:
            is_dir, is_file, exists = path.is_dir(), path.is_file(), path.exists()
        except OSError as exc:  # a name too long for the system, a folder without access...
            known = os_error_message(exc)
            if known is None or not self.exists:
                return super().convert(value, param, ctx)  # the command says what it is
            raise InputPathError(known) from None
        if is_dir and not self.dir_okay:
            inside = _files_inside(path, self.suffixes)
            many = param is not None and param.nargs == -1  # batch CONFIGS...
            hint = (f" It holds {', '.join(inside)}: give "
                    + (f"them, e.g. {path / ('*' + Path(inside[0]).suffix)} (the shell lists "
                       "them)." if many else f"one of these, e.g. {path / inside[0]}.")
                    if inside else " Give the path of the file itself.")
            raise InputPathError(f"{what} {str(path)!r} is a folder, but a file is read "
                                 f"here.{hint}")
        if is_file and not self.file_okay:
            fix = (f"Give the folder itself (here perhaps {str(path.parent)!r}), not a file "
                   "inside it." if self.exists else
                   "Give a folder (an output folder is created if it does not exist; "
                   "landcarbon never writes over a file it did not write, and leaves this "
                   "one as it is).")
            raise InputPathError(f"{what} {str(path)!r} is a file, but a folder is needed "
                                 f"here. {fix}")
        if not exists and not self.file_okay:  # an output folder to create: under a file?
            try:
                above = next((p for p in path.absolute().parents if p.exists()), None)
            except OSError:  # a folder without access on the way: the command says it
                above = None
            if above is not None and not above.is_dir():
                raise InputPathError(
                    f"{what} {str(path)!r} cannot be created: {str(above)!r} is a file, not "
                    "a folder. Give a folder whose parent folders exist or can be created "
                    "(landcarbon leaves the file as it is).")
        if self.exists and not exists:
            raise InputPathError(
                f"{what} {str(path)!r} does not exist. Check the spelling; a relative path "
                f"starts from the current folder ({Path.cwd()}).")
        return super().convert(value, param, ctx)


#: The CONFIG argument of commands that read a TOML run configuration.
config_argument = click.argument("config", type=InputPath(dir_okay=False,
                                                          suffixes=(".toml",)))


def out_option(default: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The ``-o/--out`` output-folder option; ``default`` says what is used without it."""
    return click.option("-o", "--out", type=InputPath(file_okay=False),
                        help=f"Output folder (default: {default}).")
