"""The space type of a land unit, from the shares of space types inside it.

Rule: overrides are tried in order and the first whose share condition holds wins (e.g.
"construction if its share >= 0.4", the usual rule for urban townships); otherwise the
dominant (largest-share) space type, ties broken in the order agricultural, construction,
ecological. Units with no classified land get ``unclassified``. Shares within
:data:`SHARE_TOLERANCE` of each other are a tie, and a share within it of an override's
``min_share`` reaches it; with the units' ``covered_ha`` areas within :data:`TIE_M2` (1 m2)
are equal too: the same land measured in another CRS (areas equal to the last bits, or a
zone layer reprojected from degrees) gets the same space type.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from landcarbon.accounting.legends import SPACE_TYPES

__all__ = ["UNCLASSIFIED", "SpaceTypeOverride", "SpaceTypeRule", "unit_space_types"]

UNCLASSIFIED = "unclassified"
#: Shares (0-1) closer than this are equal (1e-9 of a 10,000 km2 unit is 10 m2, a tenth of a
#: 10 m pixel): rounding of the areas never decides a space type.
SHARE_TOLERANCE = 1e-9
#: With the units' ``covered_ha``: areas closer than this (m2) are equal too (a planning
#: layer reprojected from degrees moves its edges by millimetres: 1e-7 of a 1 ha unit).
TIE_M2 = 1.0


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
    tol = np.full(len(balance), SHARE_TOLERANCE)
    if "covered_ha" in balance:  # areas within TIE_M2 are equal, whatever the unit's size
        covered = balance["covered_ha"].to_numpy(dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            tol = np.fmax(tol, np.where(covered > 0, TIE_M2 / 1e4 / covered, 0.0))
    top = shares.max(axis=1, keepdims=True) if len(shares) else shares
    # the first space type (in SPACE_TYPES order) whose share ties the largest
    result = np.array(SPACE_TYPES, dtype=object)[
        np.argmax(shares >= top - tol[:, None], axis=1)]
    decided = np.zeros(len(balance), dtype=bool)
    for ov in rule.overrides:
        share = balance[f"share_{ov.space_type}"].to_numpy(dtype=float)
        hit = ~decided & (share >= ov.min_share - tol)
        result[hit] = ov.space_type
        decided |= hit
    result[shares.sum(axis=1) <= 0] = UNCLASSIFIED
    return pd.Series(result, index=balance.index, name="space_type")
