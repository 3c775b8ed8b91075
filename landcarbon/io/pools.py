"""Reading InVEST-format carbon pool tables (lucode, c_above, c_below, c_soil, c_dead)."""

from __future__ import annotations

import os

import pandas as pd

from landcarbon._resources import csv_text
from landcarbon.exceptions import InputError
from landcarbon.io.paths import require_file
from landcarbon.io.tables import encoding_message

__all__ = ["read_pool_table"]


def read_pool_table(path: str | os.PathLike[str], encoding: str | None = None
                    ) -> pd.DataFrame:
    """Read and validate a carbon pool table (CSV: UTF-8 with or without BOM, or GBK/GB18030,
    detected unless ``encoding`` names it).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``lucode``; pool columns in Mg C/ha (see
        :func:`landcarbon.change.stocks.validate_pool_table`).
    """
    from landcarbon.change.stocks import validate_pool_table

    p = require_file(path, "Carbon pool table")
    try:
        raw = pd.read_csv(csv_text(p, encoding, what="Carbon pool table"),
                          keep_default_na=False, na_values=[""])
    except (UnicodeDecodeError, LookupError) as exc:
        raise InputError(encoding_message("Carbon pool table", path, encoding, exc)) from None
    except InputError:  # an Excel workbook, named
        raise
    except Exception as exc:
        raise InputError(f"Carbon pool table {path} cannot be read as CSV: {exc}.") from exc
    return validate_pool_table(raw, str(path))
