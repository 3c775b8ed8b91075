"""Access to the package data files (legends, coefficient sets, threshold presets)."""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["available", "data_path", "read_csv", "read_toml"]


def data_path(*parts: str) -> Path:
    """Return the path of a file shipped in ``landcarbon/data``."""
    return Path(str(resources.files("landcarbon").joinpath("data", *parts)))


def available(folder: str, suffix: str) -> list[str]:
    """Names (file stems) of the package data files of one kind, sorted."""
    root = data_path(folder)
    return sorted(p.stem for p in root.glob(f"*{suffix}"))


def read_csv(path: str | Path, **kwargs: Any) -> pd.DataFrame:
    """Read a UTF-8 CSV with every column as string (callers convert and validate)."""
    return pd.read_csv(
        path, dtype=str, keep_default_na=False, encoding="utf-8-sig", skipinitialspace=True,
        **kwargs,
    )


def read_toml(path: str | Path) -> dict[str, Any]:
    """Read a TOML file."""
    with open(path, "rb") as fh:
        return tomllib.load(fh)
