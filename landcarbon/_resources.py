"""Access to the package data files (legends, coefficient sets, threshold presets), the
package version (light: pandas is imported when a table is read) and the process landcarbon
runs in (:func:`claim_process`).

The console script (:func:`landcarbon.cli._base.entry`) and the figure worker
(:mod:`landcarbon.pipeline.figure_worker`) are processes landcarbon starts and ends. There it
tunes what is the process's to tune and may trade what only an interactive user would see
for speed:

* Python's cyclic garbage collector runs a young collection every ``GC_THRESHOLDS[0]``
  net allocations instead of 700 (mypy's command line does the same): a run allocates
  millions of small objects that reference counting frees, and with the default the collector
  walked them ~630 times, and every object of pandas, GDAL's bindings and numba 4 times in
  full, for ~0.36 s of a 3-date change run on 268 M px; 7 young collections cost ~0.12 s.
  Peak memory stayed the same (602 / 604 MB).
* :func:`landcarbon.publish._mpl.import_for_drawing` writes short ``set()`` docstrings.

A notebook or a script importing landcarbon keeps every library as the library made it."""

from __future__ import annotations

import io
import tomllib
from importlib import resources
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["GC_THRESHOLDS", "available", "claim_process", "csv_text", "data_path",
           "detect_encoding", "own_process", "package_version", "read_csv", "read_toml"]

#: :func:`gc.set_threshold` of landcarbon's own processes
GC_THRESHOLDS = (50_000, 20, 20)
_own = False


def claim_process() -> None:
    """Mark this process as landcarbon's own and tune its garbage collector (called first by
    its entry points)."""
    import gc

    global _own
    _own = True
    gc.set_threshold(*GC_THRESHOLDS)


def own_process() -> bool:
    """Whether :func:`claim_process` was called in this process."""
    return _own


def package_version() -> str:
    """The installed landcarbon version (``0+unknown`` in a source tree without metadata)."""
    try:
        return version("landcarbon")
    except PackageNotFoundError:  # pragma: no cover - source tree without metadata
        return "0+unknown"


def data_path(*parts: str) -> Path:
    """Return the path of a file shipped in ``landcarbon/data``."""
    return Path(str(resources.files("landcarbon").joinpath("data", *parts)))


def available(folder: str, suffix: str) -> list[str]:
    """Names (file stems) of the package data files of one kind, sorted."""
    root = data_path(folder)
    return sorted(p.stem for p in root.glob(f"*{suffix}"))


def detect_encoding(raw: bytes) -> str:
    """Encoding of a text table as offices save them: ``utf-8-sig`` (UTF-8 with BOM, Excel's
    "CSV UTF-8"), ``utf-8``, else ``gb18030`` (GBK and its superset GB18030: Excel/WPS "CSV"
    on a Chinese Windows). GBK text is practically never valid UTF-8, so the order decides.

    Raises
    ------
    UnicodeDecodeError
        When the bytes are neither UTF-8 nor GB18030.
    """
    if raw.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    try:
        raw.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        try:
            raw.decode("gb18030")
        except UnicodeDecodeError:
            raise exc from None
        return "gb18030"


#: The first bytes of Excel workbooks: .xlsx (a zip archive) and .xls (an OLE2 file).
_WORKBOOK_MAGIC = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0")


def csv_text(path: str | Path, encoding: str | None = None, *, what: str = "Table"
             ) -> io.StringIO:
    """The text of a CSV file, decoded with ``encoding`` (e.g. ``"gbk"``) or the one
    :func:`detect_encoding` finds (a BOM is dropped either way).

    Raises
    ------
    InputError
        When the file is an Excel workbook (named with ``what``: how to save it as CSV).
    UnicodeDecodeError
        When the bytes do not decode.
    LookupError
        For an unknown ``encoding`` name.
    """
    raw = Path(path).read_bytes()
    if raw.startswith(_WORKBOOK_MAGIC):
        from landcarbon.exceptions import InputError

        raise InputError(f"{what} {path} is an Excel workbook, not a CSV file. In Excel: File "
                         "> Save As > CSV UTF-8 (comma delimited), and give that file.",
                         code="file_unreadable")
    text = raw.decode(encoding or detect_encoding(raw))
    return io.StringIO(text.removeprefix("\ufeff"))


def read_csv(path: str | Path, encoding: str | None = None, *, what: str = "Table",
             **kwargs: Any) -> pd.DataFrame:
    """Read a CSV (UTF-8 with or without BOM, or GBK/GB18030; see :func:`csv_text`) with
    every column as string (callers convert and validate)."""
    import pandas as pd

    return pd.read_csv(
        csv_text(path, encoding, what=what), dtype=str, keep_default_na=False,
        skipinitialspace=True, **kwargs,
    )


def read_toml(path: str | Path) -> dict[str, Any]:
    """Read a TOML file."""
    with open(path, "rb") as fh:
        return tomllib.load(fh)


def user_cache_dir(*parts: str) -> Path | None:
    """``landcarbon/<parts>`` in the user's cache folder (``NUMBA_CACHE_DIR`` if set, else
    ``XDG_CACHE_HOME``, else ``~/.cache``), created; None when it cannot be created (no home,
    read-only): callers then compute again instead of caching."""
    import os

    base = os.environ.get("NUMBA_CACHE_DIR") or os.environ.get("XDG_CACHE_HOME")
    try:
        folder = Path(base or Path.home() / ".cache").joinpath("landcarbon", *parts)
        folder.mkdir(parents=True, exist_ok=True)
    except (OSError, RuntimeError):
        return None
    return folder
