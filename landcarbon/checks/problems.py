"""Problem records of the pre-flight check (``landcarbon validate``).

A :class:`Problem` says what is wrong (``code``, ``message``), how bad (``severity``:
``error`` stops a run, ``warning`` does not), where (file, field, unit ids, class code) and
how to fix it, with machine-readable ``details`` (counts, ids, shares) for ``--json``.

Problem codes (stable, used by scripts reading ``--json``; every one is produced by a bad
input in ``tests/test_validate_codes.py``):

========================  ============================================================
config_invalid            the config file itself (unknown keys, types, TOML)
file_missing              an input file that does not exist (or a pattern matching none)
file_unreadable           an input that cannot be read (damaged, wrong format, a folder)
raster_damaged            corrupt, truncated or absurd raster
raster_bands              a raster of several bands (e.g. an RGB picture), not class codes
raster_scaled             a land-cover raster declaring a scale or offset (codes ambiguous)
raster_geotransform       no georeferencing, a zero pixel size, a rotated or south-up grid
http_no_range             a remote raster whose server ignores HTTP Range requests
crs_missing               an input without a CRS
crs_wrong                 coordinates impossible in the declared CRS (metres labelled degrees)
crs_mismatch              units and raster in different CRSs (warning: reprojected)
grid_mismatch             rasters of different dates (or a scenario) on different grids
change_one_date           a [change] section of one date (`change` needs two; warning)
nodata_missing            no nodata declared (warning)
nodata_is_class           the nodata value is a class code of the legend
nodata_invalid            a configured nodata value the raster's data type cannot hold
no_data_pixels            the raster holds no classified pixel
unmapped_codes            raster or parcel codes the legend does not map (counts)
parcel_values_invalid     parcel codes or survey areas (TBMJ) that are empty or not numbers
pool_codes_missing        raster codes the carbon pool table does not list
unit_outside_raster       units wholly outside the raster
unit_without_parcels      units that no parcel reaches (parcel mode with [units])
unit_partly_outside       units partly outside the raster (uncovered share; warning)
date_coverage_differs     units the rasters of the [change] dates or scenarios do not cover alike
polygons_outside_units    scenario mask or protected polygons that overlap no unit (parcels:
                          a warning)
units_overlap             overlapping units (double counting: pairs, area)
units_not_polygons        unit features that are points or lines
geometry_invalid          invalid unit geometries (repair applied; warning)
geometry_empty            empty or missing unit geometries
geometry_sliver           sliver units (Polsby-Popper < 0.01; warning)
geometry_missing          a vector file without geometry (e.g. a CSV)
geometry_not_polygon      planning-zone features that are not polygons
layer_missing             the configured layer is not in the file
layer_ambiguous           a file of several layers and no ``layer`` setting
layer_empty               a layer without features
text_encoding_guessed     a shapefile's text read in an encoding it does not declare (warning)
unit_id_duplicate         unit ids used more than once
unit_id_missing           features without a unit id
unit_id_unknown           unit ids named by the config that the units file lacks
field_missing             a configured field that the file lacks
statistics_invalid        unparseable, negative or missing values of a statistics table
statistics_missing        units without a row in a statistics table (warning)
energy_rows_missing       units without a row in an energy table
statistics_unknown_ids    table rows whose unit id is not a unit
coefficients_invalid      coefficient set or distributions (units, values)
legend_invalid            legend file
land_class_unknown        a land class named by the config that does not exist
zone_unknown              planning-zone values that map to no space type
zone_missing              planning zones without a value
column_unknown            a zoning setting naming a column the table will not have
output_encoding           unit ids or names the chosen [output] csv_encoding cannot encode
area_mismatch             unit areas vs. covered pixel area, or parcels vs. their survey
                          areas (TBMJ) (reconciliation; warning)
========================  ============================================================
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

__all__ = ["GENERIC_CODES", "Problem", "Severity", "problem_code"]

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


#: The class-level codes of :mod:`landcarbon.exceptions` that say only "some input / config
#: error": a check reporting such an error uses its own, more specific code instead.
GENERIC_CODES = frozenset({"error", "input_invalid", "config_invalid"})


def problem_code(exc: BaseException, default: str) -> str:
    """The problem code of an error caught by a check: the ``code`` the error was raised
    with (see :mod:`landcarbon.exceptions`), or ``default`` (the check's own code) when the
    error carries only a generic one or none. Never derived from the message text."""
    code = getattr(exc, "code", None)
    return code if isinstance(code, str) and code not in GENERIC_CODES else default
