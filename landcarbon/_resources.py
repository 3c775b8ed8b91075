"""Access to the package data files (legends, coefficient sets, threshold presets) and the
package version (light: pandas is imported when a table is read)."""

from __future__ import annotations

import tomllib
from importlib import resources
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["available", "data_path", "package_version", "read_csv", "read_toml"]


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


def read_csv(path: str | Path, **kwargs: Any) -> pd.DataFrame:
    """Read a UTF-8 CSV with every column as string (callers convert and validate)."""
    import pandas as pd

    return pd.read_csv(
        path, dtype=str, keep_default_na=False, encoding="utf-8-sig", skipinitialspace=True,
        **kwargs,
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
