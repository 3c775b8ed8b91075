"""The ``landcarbon`` command group and what every command shares: error handling (exit
codes), logging on stderr at rio-like verbosity (``-v``/``-q``), results on stdout (aligned
file lists or ``--json`` documents), the ``--overwrite`` option and the progress-bar default.

Exit codes: 0 success; 1 input or configuration problem (a one-paragraph message on stderr,
no traceback unless ``--debug``); 2 usage error (click); 130 interrupted (Ctrl-C, SIGINT);
143 terminated (SIGTERM). An interrupted run leaves no output folder behind.
"""

from __future__ import annotations

import errno
import functools
import logging
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from landcarbon.exceptions import LandcarbonError

__all__ = [
    "JSON_SCHEMA",
    "UNIT_SUFFIXES",
    "InputPath",
    "InputPathError",
    "config_argument",
    "configure_logging",
    "emit_result",
    "entry",
    "handle_errors",
    "json_option",
    "log",
    "main",
    "out_option",
    "overwrite_option",
    "progress_default",
    "scheduler_option",
    "verbosity",
    "with_scheduler",
]

log = logging.getLogger("landcarbon")


def handle_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Run a command, turning landcarbon errors into a message and exit code 1 (with
    ``--json``, also an error document on stdout: :func:`_json_failure`)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        ctx = click.get_current_context()
        debug = ctx.find_root().params.get("debug", False)
        try:
            return _environment_errors(fn, *args, **kwargs)
        except LandcarbonError as exc:
            _json_failure(ctx, "error", str(exc), 1)
            if debug:
                raise
            click.echo(f"Error: {exc}", err=True)
            sys.exit(1)
        except KeyboardInterrupt:
            _json_failure(ctx, "interrupted", "Interrupted: no output was written.", 130)
            click.echo("Interrupted: no output was written.", err=True)
            sys.exit(130)
        except click.ClickException:
            raise  # usage errors: click prints them and exits 2
        except SystemExit as exc:  # SIGTERM (see _terminate)
            if isinstance(exc.code, int) and exc.code > 128:
                _json_failure(ctx, "interrupted", "Terminated: the output being written is "
                              "discarded.", exc.code)
            raise
        except Exception as exc:
            message = (f"unexpected {type(exc).__name__}: {exc}. This may be a bug or an "
                       "input landcarbon does not recognise; run again with --debug for the "
                       "traceback and report it.")
            _json_failure(ctx, "error", message, 1)
            if debug:
                raise
            click.echo(f"Error: {message}", err=True)
            sys.exit(1)
    return wrapper


def _json_failure(ctx: click.Context, status: str, message: str, code: int) -> None:
    """With ``--json``, a failed command's document on stdout (so that a script reading
    stdout always gets one): ``status`` ``error`` or ``interrupted``, ``out_dir`` null,
    ``files`` empty, ``totals`` null, plus ``error`` (the message of stderr) and
    ``exit_code``."""
    if not ctx.params.get("as_json"):
        return
    import json

    command = "run" if ctx.info_name == "demo" else ctx.info_name
    doc: dict[str, Any] = {"schema": JSON_SCHEMA, "command": command, "status": status,
                           "out_dir": None, "files": {}, "totals": None, "error": message,
                           "exit_code": code}
    click.echo(json.dumps(doc, ensure_ascii=False, indent=2))


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
    and the exit code is 143. The stop is also noted, so that no output is put in place even
    if this exception is lost (raised while a finalizer runs)."""
    from landcarbon.io.outputs import request_stop

    request_stop(signum)
    click.echo("Terminated: the output being written is discarded.", err=True)
    raise SystemExit(128 + signum)


def _unraisable(info: Any) -> None:
    """Python's report of an exception it cannot raise (one raised in a finalizer or a
    compiled callback), except the stop of a signal handler: that stop is noted and takes
    effect at the next safe point (no traceback for it)."""
    from landcarbon.io.outputs import stop_requested

    if stop_requested() and isinstance(info.exc_value, (SystemExit, KeyboardInterrupt)):
        return
    sys.__unraisablehook__(info)


def _interrupt(signum: int, frame: object) -> None:
    """Ctrl-C: Python's KeyboardInterrupt, the stop noted as for SIGTERM."""
    from landcarbon.io.outputs import request_stop

    request_stop(signum)
    raise KeyboardInterrupt


#: Third-party loggers that are only ever useful at WARNING (numba logs every bytecode
#: instruction at DEBUG: thousands of lines that drown landcarbon's own debug log).
_QUIET_LIBRARIES = ("numba", "rasterio", "fiona", "pyogrio", "numexpr", "matplotlib", "PIL",
                    "distributed", "asyncio", "urllib3", "fsspec", "pyproj", "h5py", "fontTools")


def verbosity() -> int:
    """``-v`` count minus ``-q`` count of the running command (2 with ``--debug``, 0 outside
    a command)."""
    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return 0
    params = ctx.find_root().params
    if params.get("debug"):
        return 2
    return int(params.get("verbose") or 0) - int(params.get("quiet") or 0)


def configure_logging(level: int) -> None:
    """Logging on stderr at a verbosity like rio's: ``level`` = ``-v`` count - ``-q`` count.

    * ``<= -1`` (``-q``): errors only, as rio's ``-q``;
    * ``0``: landcarbon's progress lines (INFO);
    * ``1``: also library warnings (mapclassify, pyogrio, pyproj...: their ``warnings.warn``
      calls are captured into the ``py.warnings`` logger) and libraries' logged warnings;
    * ``>= 2``: also landcarbon's debug log (``--debug`` adds tracebacks); other libraries
      stay at WARNING (numba's debug log is thousands of bytecode lines).
    """
    own = (logging.ERROR if level <= -1 else logging.INFO if level in (0, 1) else
           logging.DEBUG)
    others = logging.WARNING if level >= 1 else logging.ERROR
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    root.addHandler(handler)
    root.setLevel(others)
    logging.captureWarnings(True)
    for name in ("py.warnings", *_QUIET_LIBRARIES):
        logging.getLogger(name).setLevel(others)
    log.setLevel(own)


class _Group(click.Group):
    """The command group; every command also takes ``-v``/``-q``/``--debug`` after its name
    (``landcarbon run config.toml -q``), adding to those given before it."""

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        taken = {opt for p in cmd.params for opt in getattr(p, "opts", ())}
        for option in _late_options():
            if not taken & set(option.opts):
                cmd.params.append(option)
        super().add_command(cmd, name)


def _late_verbosity(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    """A command's own ``-v``/``-q``/``--debug``: added to the group's, logging set again."""
    if not value or param.name is None:
        return
    root = ctx.find_root().params
    root[param.name] = True if param.name == "debug" else int(root.get(param.name) or 0) + value
    _apply_verbosity()


def _late_options() -> tuple[click.Option, ...]:
    """New ``-v``/``-q``/``--debug`` options for one command (see :class:`_Group`)."""
    return (
        click.Option(["-v", "--verbose"], count=True, expose_value=False, is_eager=True,
                     callback=_late_verbosity, help="As landcarbon -v."),
        click.Option(["-q", "--quiet"], count=True, expose_value=False, is_eager=True,
                     callback=_late_verbosity, help="As landcarbon -q."),
        click.Option(["--debug"], is_flag=True, expose_value=False, is_eager=True,
                     callback=_late_verbosity, help="As landcarbon --debug."),
    )


def _apply_verbosity() -> None:
    """Logging and progress at the running command's :func:`verbosity`."""
    from landcarbon.pipeline.progress import set_verbosity

    level = verbosity()
    configure_logging(level)
    # progress's scale: 0 = -q (no bars), 1 = default, 2 = -v (step timings)
    set_verbosity(0 if level < 0 else 1 if level == 0 else 2)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", count=True, help="More on stderr: -v adds library warnings, "
              "-vv landcarbon's debug log (also after the command's name).")
@click.option("-q", "--quiet", count=True, help="Only errors on stderr (no progress, log "
              "lines or warnings). Results on stdout are unchanged. Also after the command's "
              "name.")
@click.option("--debug", is_flag=True, help="landcarbon's debug log and the traceback of an "
              "error.")
@click.version_option(package_name="landcarbon")
def main(verbose: int, quiet: int, debug: bool) -> None:
    """Territorial-space carbon balance: land cover + land units -> sources, sinks,
    differentiated thresholds and carbon-risk zones.

    Results (files written, --json documents, validation problems) go to stdout; progress,
    log lines and errors to stderr.

    \b
    Example:
      landcarbon demo                       # run the bundled synthetic sample
      landcarbon validate config.toml       # list every problem of a config
      landcarbon run config.toml -o out/    # full run
      landcarbon run config.toml --json -q  # one JSON document for scripts
    """
    from landcarbon.io.outputs import clear_stop

    clear_stop()
    sys.unraisablehook = _unraisable
    signal.signal(signal.SIGTERM, _terminate)
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, _interrupt)
    _apply_verbosity()
    if log.isEnabledFor(logging.DEBUG):
        import platform

        from landcarbon import __version__

        log.debug("landcarbon %s, Python %s on %s; arguments: %s", __version__,
                  platform.python_version(), platform.platform(), " ".join(sys.argv[1:]))


def progress_default() -> bool:
    """Progress bars only when stderr is a terminal and no ``-q`` was given."""
    from landcarbon.pipeline.progress import bars_shown

    return bars_shown()


overwrite_option = click.option(
    "--overwrite", is_flag=True,
    help="Replace an existing output folder that landcarbon wrote (never one holding files "
         "landcarbon did not write, nor one holding an input of the run).")


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
    import json

    doc: dict[str, Any] = {"schema": JSON_SCHEMA, "command": command, "status": status,
                           "out_dir": str(folder),
                           "files": {r: str(folder / n) for r, n in files.items()},
                           "totals": totals, **(extra or {})}
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


#: glibc ``mallopt`` parameters and the values :func:`tune_allocator` sets.
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
MMAP_THRESHOLD = 32 << 20
TRIM_THRESHOLD = 64 << 20


def tune_allocator() -> bool:
    """Let glibc's ``malloc`` keep freed blocks for the next ones (Linux; the CLI's process).

    A run allocates and frees the same few-MB arrays for every block (chunk codes, boundary
    pieces, tables). glibc serves requests over 128 kB to 32 MB with fresh ``mmap`` pages and
    returns them on ``free``, so every block faults its pages in again (the kernel zeroes
    them, and the two compute threads queue on the process's memory map): 805,000 page faults
    and 2.1 s of system time for a 1.07 G px run. With blocks under 32 MB served from the heap,
    and up to 64 MB of freed heap kept, the same run faults 127,000 times (0.64 s system
    time) for 15 MB more peak memory (``docs/scale.md``). Skipped when the user set
    ``MALLOC_MMAP_THRESHOLD_`` or ``MALLOC_TRIM_THRESHOLD_`` (glibc's own tuning), or the C
    library is not glibc. Returns whether the settings were made.
    """
    if (not sys.platform.startswith("linux") or "MALLOC_MMAP_THRESHOLD_" in os.environ
            or "MALLOC_TRIM_THRESHOLD_" in os.environ):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)
                    and libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    except (OSError, AttributeError):  # not glibc (musl, ...): its defaults
        return False


def entry() -> None:
    """The ``landcarbon`` console script (and ``python -m landcarbon.cli``): the allocator
    tuned for the process (:func:`tune_allocator`), :data:`main`, then a quick exit.

    Once a command has returned, everything it wrote is closed; what is left is the
    interpreter tearing down numba, GDAL, pandas and friends module by module (~0.3-0.4 s
    on two cores, measured on the demo). So the exit handlers (``atexit``: scratch folders),
    the log handlers and stdout/stderr are flushed and closed here, and the process ends with
    ``os._exit`` and the command's exit code. In-process callers (tests, notebooks) call
    :data:`main` itself and keep a normal interpreter.
    """
    import atexit

    from landcarbon import _resources
    from landcarbon.io._lean_imports import defer_dask_array

    _resources.claim_process()  # a process of its own: see landcarbon._resources.claim_process
    defer_dask_array()  # dask.array imported when a dask array is made (small runs: never)
    tune_allocator()
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if isinstance(exc.code, str):
            print(exc.code, file=sys.stderr)
    atexit._run_exitfuncs()
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed or broken pipe: as Python reports it
            code = code or 120
    os._exit(code)
