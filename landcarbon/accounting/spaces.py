"""The space type of a land unit, from the shares of space types inside it.

Rule: overrides are tried in order and the first whose share condition holds wins (e.g.
"construction if its share >= 0.4", the usual rule for urban townships); otherwise the
dominant (largest-share) space type, ties broken in the order agricultural, construction,
ecological. Units with no classified land get ``unclassified``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from landcarbon.accounting.legends import SPACE_TYPES

__all__ = ["UNCLASSIFIED", "SpaceTypeOverride", "SpaceTypeRule", "unit_space_types"]

UNCLASSIFIED = "unclassified"


@dataclass(frozen=True)
class SpaceTypeOverride:
    """Give ``space_type`` to units whose share of it is at least ``min_share`` (0-1)."""

    space_type: str
    min_share: float


@dataclass(frozen=True)
class SpaceTypeRule:
    """Dominant-share rule with ordered overrides."""

    overrides: tuple[SpaceTypeOverride, ...] = field(default_factory=tuple)


def unit_space_types(balance: pd.DataFrame, rule: SpaceTypeRule | None = None) -> pd.Series:
    """Space type of every unit of a balance table (needs ``share_<space_type>`` columns)."""
    rule = rule or SpaceTypeRule()
    shares = balance[[f"share_{st}" for st in SPACE_TYPES]].to_numpy(dtype=float)
    result = np.array(SPACE_TYPES, dtype=object)[np.argmax(shares, axis=1)]
    decided = np.zeros(len(balance), dtype=bool)
    for ov in rule.overrides:
        hit = ~decided & (balance[f"share_{ov.space_type}"].to_numpy() >= ov.min_share)
        result[hit] = ov.space_type
        decided |= hit
    result[shares.sum(axis=1) <= 0] = UNCLASSIFIED
    return pd.Series(result, index=balance.index, name="space_type")
