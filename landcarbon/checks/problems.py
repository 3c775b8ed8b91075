"""Problem records of the pre-flight check (``landcarbon validate``).

A :class:`Problem` says what is wrong (``code``, ``message``), how bad (``severity``:
``error`` stops a run, ``warning`` does not), where (file, field, unit ids, class code) and
how to fix it, with machine-readable ``details`` (counts, ids, shares) for ``--json``.

Problem codes (stable, used by scripts reading ``--json``):

==========================  =====================================================
config_invalid              the config file itself (unknown keys, types, TOML)
file_missing / file_unreadable  an input that does not exist or cannot be read
raster_damaged              corrupt, truncated or absurd raster
crs_missing / crs_mismatch  no CRS; units and raster in different CRSs
grid_mismatch               rasters of different dates on different grids
nodata_missing / nodata_is_class  no nodata declared; nodata is a legend class
no_data_pixels              the raster holds no classified pixel
unmapped_codes              raster codes the legend does not map (pixel / parcel counts)
parcel_values_invalid       parcel codes or survey areas (TBMJ) that are empty or not numbers
unit_outside_raster / unit_partly_outside  units beyond the raster (uncovered share)
units_overlap               overlapping units (double counting: pairs, area)
geometry_invalid / geometry_empty / geometry_sliver  unit geometries (repair applied)
unit_id_duplicate / unit_id_missing / field_missing  unit ids and fields
statistics_invalid / statistics_missing / statistics_unknown_ids  statistics tables
coefficients_invalid        coefficient set (unit not recognised, bad values)
legend_invalid              legend file
threshold_missing           no threshold for a space type
area_mismatch               unit areas vs. covered pixel area (reconciliation)
==========================  =====================================================
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

__all__ = ["Problem", "Severity"]

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Problem:
    """One problem found by the pre-flight check.

    Attributes
    ----------
    code : str
        Stable identifier (see the module docstring).
    severity : {"error", "warning"}
        ``error`` makes ``landcarbon validate`` exit 1 (the run would fail or be wrong);
        ``warning`` is reported but does not block.
    where : str
        File, config field, unit ids or class code concerned.
    message : str
        What is wrong, with counts.
    fix : str
        How to fix it.
    details : dict
        JSON-serialisable figures (pixel counts, unit ids, shares, areas in ha).
    """

    code: str
    severity: Severity
    where: str
    message: str
    fix: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        text = f"[{self.severity}] {self.where}: {self.message}"
        if self.fix:
            text += ("" if text.endswith((".", "!", "?", ")")) else ".") + f" {self.fix}"
        return text

    def to_dict(self) -> dict[str, Any]:
        """A plain dict (for JSON)."""
        return asdict(self)
