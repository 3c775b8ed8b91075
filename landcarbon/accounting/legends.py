"""Legends: crosswalks from raw land-cover class codes to land classes and space types.

A legend is a CSV with the columns ``code, name_en, name_zh, land_class, space_type, note,
source`` (only ``code``, ``land_class`` and ``space_type`` are required in a custom legend).
Built-in legends live in ``landcarbon/data/legends/`` (see its README for the products and
their official legend documents). Every legend is validated on load and every problem is
reported at once.

The vocabulary (land classes and space types, with English and Chinese names and colours) is
package data too: ``landcarbon/data/land_classes.csv`` and ``space_types.csv``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from landcarbon._resources import available, data_path, read_csv
from landcarbon.exceptions import InputError

__all__ = [
    "SPACE_TYPES",
    "Legend",
    "land_classes",
    "list_legends",
    "load_legend",
    "space_types",
]

#: Space types that carry area and flux, in display order.
SPACE_TYPES: tuple[str, ...] = ("agricultural", "construction", "ecological")
EXCLUDED = "excluded"
#: Category value used for nodata, excluded and unmapped pixels.
NODATA_CATEGORY = 255

RuralSettlement = Literal["construction", "agricultural"]


@cache
def land_classes() -> pd.DataFrame:
    """The land-class vocabulary, indexed by ``land_class`` (order = raster class values 1..n)."""
    table = read_csv(data_path("land_classes.csv")).set_index("land_class")
    return table


@cache
def space_types() -> pd.DataFrame:
    """The space-type vocabulary, indexed by ``space_type``."""
    return read_csv(data_path("space_types.csv")).set_index("space_type")


def list_legends() -> list[str]:
    """Names of the built-in legends."""
    return available("legends", ".csv")


@dataclass(frozen=True)
class Legend:
    """A validated crosswalk from raw class codes to (land class, space type).

    Attributes
    ----------
    name : str
        Built-in name or the CSV path it came from.
    table : pandas.DataFrame
        One row per code: ``code`` (int), ``name_en``, ``name_zh``, ``land_class``,
        ``space_type``, ``note``, ``source``.
    rural_settlement : {"construction", "agricultural"}
        Space type given to the ``rural_settlement`` land class.
    """

    name: str
    table: pd.DataFrame
    rural_settlement: RuralSettlement = "construction"

    @property
    def codes(self) -> np.ndarray:
        """All codes of the legend (including excluded ones), sorted."""
        return np.sort(self.table["code"].to_numpy(dtype=np.int64))

    @property
    def categories(self) -> pd.DataFrame:
        """Unique (land_class, space_type) pairs of non-excluded rows; the index is the
        category value written in category rasters (0..n-1)."""
        return self._categories.copy()

    @cached_property
    def _categories(self) -> pd.DataFrame:
        rows = self.table[self.table["space_type"] != EXCLUDED]
        order = {lc: i for i, lc in enumerate(land_classes().index)}
        sorder = {st: i for i, st in enumerate(SPACE_TYPES)}
        pairs = rows[["land_class", "space_type"]].drop_duplicates()
        pairs = pairs.assign(
            _o=pairs["land_class"].map(order), _s=pairs["space_type"].map(sorder)
        ).sort_values(["_o", "_s"])
        return pairs.drop(columns=["_o", "_s"]).reset_index(drop=True)

    @property
    def land_classes(self) -> list[str]:
        """Land classes used by this legend, in vocabulary order."""
        return list(dict.fromkeys(self.categories["land_class"]))

    def category_of_code(self, exclude_codes: tuple[int, ...] = ()) -> pd.Series:
        """Category value of every code (``NODATA_CATEGORY`` for excluded codes)."""
        cats = self.categories
        key = {(r.land_class, r.space_type): i for i, r in enumerate(cats.itertuples())}
        values = [
            key.get((lc, st), NODATA_CATEGORY)
            for lc, st in zip(self.table["land_class"], self.table["space_type"], strict=True)
        ]
        out = pd.Series(values, index=self.table["code"].to_numpy(dtype=np.int64), dtype=np.int64)
        if exclude_codes:
            out.loc[out.index.isin(list(exclude_codes))] = NODATA_CATEGORY
        return out

    def with_rural_settlement(self, space_type: RuralSettlement) -> Legend:
        """A copy with the rural-settlement switch applied."""
        return _apply_rural_switch(self.name, self.table, space_type)


def load_legend(name_or_path: str | Path, rural_settlement: RuralSettlement = "construction",
                *, encoding: str | None = None) -> Legend:
    """Load and validate a built-in legend (by name) or a custom legend CSV (by path).

    Parameters
    ----------
    name_or_path : str or Path
        One of :func:`list_legends` or the path of a CSV file.
    rural_settlement : {"construction", "agricultural"}
        Space type of rural settlements: ``construction`` (default; they carry energy
        emissions) or ``agricultural`` (the planning 三区 convention).
    encoding : str, optional
        Encoding of a custom legend CSV (``gbk``...); detected when None (UTF-8 with or
        without BOM, else GB18030).

    Returns
    -------
    Legend
        ``.table``: one row per code with ``land_class``, ``space_type``, ``name_en``,
        ``name_zh``.

    Raises
    ------
    InputError
        If the legend does not exist or any row is invalid (all problems listed).
    """
    text = str(name_or_path)
    if text in list_legends():
        path = data_path("legends", f"{text}.csv")
        name = text
        encoding = None  # package data: UTF-8
    else:
        path = Path(text)
        name = str(path)
        if not path.is_file():
            raise InputError(
                f"Legend {text!r} is neither a built-in legend nor an existing CSV file. "
                f"Built-in legends: {', '.join(list_legends())}. For a custom legend give the "
                "path of a CSV with the columns code, land_class, space_type (optional: "
                "name_en, name_zh, note, source)."
            )
    try:
        raw = read_csv(path, encoding, what="Legend")
    except InputError:  # an Excel workbook, named
        raise
    except Exception as exc:  # pandas raises many kinds of parse errors
        raise InputError(f"Legend {name}: cannot be read as CSV ({exc}). Save it as UTF-8 CSV "
                         "with a header row.") from exc
    table = _validate(raw, name)
    if rural_settlement not in ("construction", "agricultural"):
        raise InputError(f"rural_settlement must be 'construction' or 'agricultural', got "
                         f"{rural_settlement!r}.")
    return _apply_rural_switch(name, table, rural_settlement)


def _apply_rural_switch(name: str, table: pd.DataFrame, space_type: RuralSettlement) -> Legend:
    table = table.copy()
    table.loc[table["land_class"] == "rural_settlement", "space_type"] = space_type
    return Legend(name=name, table=table, rural_settlement=space_type)


def _validate(raw: pd.DataFrame, name: str) -> pd.DataFrame:
    from landcarbon.checks.tables import lower_columns, require_columns

    raw = lower_columns(raw, f"Legend {name}")
    require_columns(raw, ("code", "land_class", "space_type"), f"Legend {name}",
                    "A legend needs code, land_class and space_type.")
    for col in ("name_en", "name_zh", "note", "source"):
        if col not in raw.columns:
            raw[col] = ""
    known_lc = set(land_classes().index)
    known_st = {*SPACE_TYPES, EXCLUDED}
    problems: list[str] = []
    codes: list[int] = []
    parsed: list[bool] = []
    for i, row in enumerate(raw.itertuples(index=False), start=2):
        code_text = str(row.code).strip()
        try:
            code = int(code_text)
        except ValueError:
            problems.append(f"line {i}: code {code_text!r} is not an integer")
            code = -1
        codes.append(code)
        parsed.append(code_text.lstrip("+-").isdigit())
        lc = str(row.land_class).strip()
        st = str(row.space_type).strip().lower()
        if st not in known_st:
            problems.append(f"line {i} (code {code_text}): space_type {st!r} is not one of "
                            f"{', '.join(sorted(known_st))}")
        if st == EXCLUDED:
            continue
        if lc not in known_lc:
            problems.append(f"line {i} (code {code_text}): land_class {lc!r} is not one of "
                            f"{', '.join(sorted(known_lc))}")
    table = raw.assign(
        code=codes,
        land_class=raw["land_class"].str.strip(),
        space_type=raw["space_type"].str.strip().str.lower(),
    )
    ok = pd.Series(parsed, index=table.index)  # unparsed codes are reported above
    dup = table.loc[table["code"].where(ok).duplicated(keep=False) & ok, "code"]
    if len(dup):
        problems.append(f"duplicate code(s): {', '.join(map(str, sorted(set(dup))))}")
    if problems:
        raise InputError(
            f"Legend {name} has {len(problems)} problem(s): " + "; ".join(problems)
            + ". Fix these rows of the CSV (land classes and space types are listed in "
            "`landcarbon legends`)."
        )
    table.loc[table["space_type"] == EXCLUDED, "land_class"] = ""
    return table[["code", "name_en", "name_zh", "land_class", "space_type", "note", "source"]]
