"""The ``landcarbon`` command group and how every command runs: error handling (exit codes,
and an error document with ``--json``), logging on stderr at rio-like verbosity
(``-v``/``-q``/``--debug``, before or after the command's name), signals, the console script.
The options and results the commands share are in :mod:`landcarbon.cli._options`.

Exit codes: 0 success; 1 input or configuration problem (a one-paragraph message on stderr,
no traceback unless ``--debug``); 2 usage error (click); 130 interrupted (Ctrl-C, SIGINT);
143 terminated (SIGTERM); 141 when the reader of stdout went away (quietly, as a process
ended by SIGPIPE). An interrupted run leaves no output folder behind.
"""

from __future__ import annotations

import functools
import logging
import os
import signal
import sys
from collections.abc import Callable
from typing import Any

import click

from landcarbon.cli._options import echo_document, os_error_message
from landcarbon.exceptions import LandcarbonError

__all__ = ["configure_logging", "entry", "handle_errors", "interrupt_notes", "log", "main",
           "verbosity"]

log = logging.getLogger("landcarbon")


#: What an interrupted command says (:func:`interrupt_notes` for commands that write into an
#: existing folder file by file)
_NOTES = {"interrupted": "Interrupted: no output was written.",
          "terminated": "Terminated: the output being written is discarded."}


def interrupt_notes(what: str) -> None:
    """Say, if the running command is interrupted, that ``what`` (e.g. "some of map.html,
    report.html and the figures may be new and others old; run landcarbon map --overwrite
    again") instead of "no output was written"."""
    _NOTES["interrupted"] = f"Interrupted: {what}"
    _NOTES["terminated"] = f"Terminated: {what}"


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
            _json_failure(ctx, "interrupted", _NOTES["interrupted"], 130)
            click.echo(_NOTES["interrupted"], err=True)
            sys.exit(130)
        except click.ClickException:
            raise  # usage errors: click prints them and exits 2
        except BrokenPipeError:
            if not _stdout_closed():
                raise
            # the reader of stdout went away (``landcarbon legends | head``): quietly, with
            # the exit code of a process ended by SIGPIPE
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(128 + signal.SIGPIPE)
        except SystemExit as exc:  # SIGTERM (see _terminate)
            if isinstance(exc.code, int) and exc.code > 128:
                _json_failure(ctx, "interrupted", _NOTES["terminated"], exc.code)
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


def _stdout_closed() -> bool:
    """Whether stdout is a pipe whose reader has closed it."""
    try:
        import select

        poll = select.poll()
        poll.register(sys.stdout.fileno(), select.POLLOUT)
        return any(events & select.POLLERR for _, events in poll.poll(0))
    except (OSError, ValueError, AttributeError):  # no poll (Windows), stdout not a file
        return False


def _json_failure(ctx: click.Context, status: str, message: str, code: int) -> None:
    """With ``--json``, a failed command's document on stdout (so that a script reading
    stdout always gets one): ``status`` ``error`` or ``interrupted``, ``out_dir`` null,
    ``files`` empty, ``totals`` null, plus ``error`` (the message of stderr) and
    ``exit_code``."""
    if ctx.params.get("as_json"):
        echo_document("run" if ctx.info_name == "demo" else str(ctx.info_name), status, None,
                      {}, None, error=message, exit_code=code)


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


def _terminate(signum: int, frame: object) -> None:
    """SIGTERM (a batch scheduler, ``kill``) unwinds like Ctrl-C: staging folders are removed
    and the exit code is 143. The stop is also noted, so that no output is put in place even
    if this exception is lost (raised while a finalizer runs)."""
    from landcarbon.io.outputs import request_stop

    request_stop(signum)
    click.echo(_NOTES["terminated"], err=True)
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

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """``landcarbon`` alone prints its help on stdout with exit 0 (as ``rio`` and
        ``landcarbon --help``), not click's usage error (exit 2)."""
        if not args and not ctx.resilient_parsing:
            click.echo(ctx.get_help(), color=ctx.color)
            ctx.exit(0)
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        """A usage error of a command given ``--json`` also gets its error document on
        stdout (exit 2), as every other failure: a script reading stdout always gets one."""
        words = [*getattr(ctx, "protected_args", []), *ctx.args]  # (invoke empties them)
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            command = str(words[0]) if words else ""
            if command in self.commands and "--json" in words and "as_json" in {
                    p.name for p in self.commands[command].params}:
                from landcarbon.cli._options import echo_document

                echo_document("run" if command == "demo" else command, "error", None, {},
                              None, error=exc.format_message(), exit_code=exc.exit_code)
            raise

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


def cache_bytecode() -> int:
    """Write the bytecode cache of each landcarbon module this process imported that has
    none, or an older one than its source, when Python writes none itself
    (``PYTHONDONTWRITEBYTECODE``, ``python -B``); return how many were written.

    An editable install (``pip install -e .``) has no bytecode of landcarbon until Python
    writes it; with ``PYTHONDONTWRITEBYTECODE`` set (as on some build machines) every
    command compiled ~150 modules from source again, ~0.1 s of each run. The cache goes
    where Python puts it (the package's ``__pycache__``, beside numba's compiled kernels);
    an install that cannot be written is left as it is, as Python does. Only landcarbon's
    own modules: other packages' folders are not touched.
    """
    if not sys.dont_write_bytecode:
        return 0
    import importlib.util
    import py_compile

    written = 0
    for name, module in list(sys.modules.items()):
        if name.partition(".")[0] != "landcarbon":  # (the name first: an attribute of a
            continue  # module whose import is deferred would import it)
        source = getattr(module, "__file__", None)
        if not source or not source.endswith(".py"):
            continue
        try:
            cached = importlib.util.cache_from_source(source)
            if (os.path.exists(cached)
                    and os.stat(cached).st_mtime >= os.stat(source).st_mtime):
                continue
            py_compile.compile(source, cfile=cached, doraise=True)
            written += 1
        except (OSError, ValueError, py_compile.PyCompileError):
            continue  # a read-only install or a source gone: as Python, without a cache
    return written


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
    cache_bytecode()
    atexit._run_exitfuncs()
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed or broken pipe: as Python reports it
            code = code or 120
    os._exit(code)
