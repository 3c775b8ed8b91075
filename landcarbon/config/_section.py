"""The base of every config section."""

from __future__ import annotations

import os
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

__all__ = ["Section"]


def _plain(value: Any) -> Any:
    """A path as text and a numpy scalar as the Python number it holds (what a notebook
    passes where a TOML file gives text and numbers); anything else as it is."""
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if type(value).__module__ == "numpy" and getattr(value, "ndim", None) == 0:
        return value.item()
    return value


class Section(BaseModel):
    """A config section: unknown keys are errors, values are frozen, NaN and inf are refused
    in every number (a silent wrong result otherwise), and types are strict (text or
    true/false where a number goes is an error, never read as one). Paths may be given as
    ``pathlib.Path`` and numbers as numpy scalars (notebooks)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, strict=True)

    @field_validator("*", mode="before")
    @classmethod
    def _notebook_values(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [_plain(v) for v in value]
        return _plain(value)
