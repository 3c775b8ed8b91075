"""The config reference (docs/config.md, the README's key table): every key of a run config
with its type, unit, default and meaning, read from the pydantic models' fields and
descriptions (one declared spec drives validation and the docs)."""

from __future__ import annotations

import re
import types
import typing
from typing import Any, Literal

from pydantic import BaseModel

__all__ = ["REQUIRED_SECTIONS", "reference_table"]

_UNIT_SUFFIXES = (("_tc_per_ha", "t C/ha/yr"), ("_tco2_per_ha", "t CO2/ha/yr"),
                  ("_kg_co2_per_kwh", "kg CO2/kWh"), ("_per_tco2", "currency/t CO2"),
                  ("_per_tc", "currency/t C"), ("_tc", "t C"), ("_tco2", "t CO2"),
                  ("_ha", "ha"), ("_km", "km"), ("_m", "m"), ("_s", "s"), ("_share", "0-1"),
                  ("_margin", "fraction"), ("_pct", "%"), ("_years", "year"), ("_year", "year"))
_UNIT_IN_TEXT = re.compile(r"t CO2/ha/yr|t C/ha/yr|kg CO2/kWh|t C/yr|t CO2/yr")


def _type_name(ann: Any) -> str:
    origin, args = typing.get_origin(ann), typing.get_args(ann)
    if origin is Literal:
        return " | ".join(repr(a) for a in args)
    if origin in (typing.Union, types.UnionType):
        return " | ".join(_type_name(a) for a in args)
    if ann is type(None):
        return "None"
    if origin is not None:
        return f"{getattr(origin, '__name__', origin)}[{', '.join(map(_type_name, args))}]"
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return "table"
    return getattr(ann, "__name__", str(ann))


def _models_in(ann: Any) -> list[type[BaseModel]]:
    found = [ann] if isinstance(ann, type) and issubclass(ann, BaseModel) else []
    for arg in typing.get_args(ann):
        found += _models_in(arg)
    return found


def _unit(name: str, field: Any) -> str:
    extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
    if "unit" in extra:
        return str(extra["unit"])
    for suffix, unit in _UNIT_SUFFIXES:
        if name.endswith(suffix):
            return unit
    match = _UNIT_IN_TEXT.search(field.description or "")
    return match.group(0) if match else ""


#: Top-level sections a run config must have (RunConfig's checks), marked in the reference.
REQUIRED_SECTIONS = {
    "landcover": "required, or [parcels]",
    "parcels": "required, or [landcover]",
    "units": "required with [landcover], or [parcels] unit_field",
    "thresholds": "optional (default: carrying capacity)",
}


def _section_meaning(model: type[BaseModel]) -> str:
    """First paragraph of a section model's docstring, without its ````[name]``: ```` lead."""
    para = " ".join((model.__doc__ or "").strip().split("\n\n")[0].split())
    return re.sub(r"^``\[[^\]]+\]``:\s*", "", para)


def _reference_rows(model: type[BaseModel], prefix: str) -> list[str]:
    rows = []
    for name, field in model.model_fields.items():
        if name == "base_dir":
            continue
        key = f"{prefix}{name}"
        nested = _models_in(field.annotation)
        if nested:
            is_list = typing.get_origin(field.annotation) is list
            if is_list:
                rows.append(_row(key, field, name, "list of tables"))
            elif not prefix:  # a section: say whether a config must have it
                rows.append(f"| `[{key}]` | section |  | "
                            f"{REQUIRED_SECTIONS.get(key, 'optional')} | "
                            f"{_section_meaning(nested[0])} |")
            rows += _reference_rows(nested[0], f"{key}[]." if is_list else f"{key}.")
            continue
        rows.append(_row(key, field, name, _type_name(field.annotation)))
    return rows


def _row(key: str, field: Any, name: str, type_name: str) -> str:
    default = "required" if field.is_required() else repr(
        field.default_factory() if field.default_factory else field.default)
    cells = [f"`{key}`", type_name, _unit(name, field), default, field.description or ""]
    return "| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |"


def reference_table() -> str:
    """Markdown table of every config key with its type, unit, default and description.

    Units come from ``json_schema_extra={"unit": ...}`` on the field, else from the key's
    suffix (``_tc_per_ha`` -> t C/ha/yr, ``_ha``, ``_share``...), else from the description.
    Keys of list-of-table fields are written ``section.field[].key``.
    """
    rows = ["| key | type | unit | default | meaning |", "|---|---|---|---|---|"]
    from landcarbon.config.run import RunConfig

    return "\n".join(rows + _reference_rows(RunConfig, ""))
