"""Pre-flight check of a run: every problem at once, with counts and locations, before any
output is written.

Each check runs independently, so one broken input does not hide the others. The result is a
list of :class:`~landcarbon.checks.problems.Problem` records (``error`` blocks a run, ``warning``
does not) and a summary (unit and covered areas). Checks: the config schema; files that must
exist and be readable (damaged rasters included); the legend, the coefficient set (units of
measure) and the thresholds of every space type; the units file (fields, unique non-empty
ids, empty / invalid / sliver geometries with the repair applied, overlaps); the CRSs
(equivalent CRSs written differently are fine); the raster's nodata and its class codes
against the legend (one pass, pixel counts); units outside or partly outside the raster;
rasters of different dates on different grids; the energy statistics; the
``[planning_zones]`` layer (CRS, field, polygon geometries, known zone values); and, with the raster
scan, area reconciliation (each unit's area inside the raster vs. its classified area).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from landcarbon.checks.problems import Problem, problem_code
from landcarbon.checks.rasters import jsonable, nodata_problems
from landcarbon.config.run import RunConfig, load_config
from landcarbon.exceptions import (
    ConfigError,
    InputProblemsError,
    LandcarbonError,
    UnmappedCodesError,
)
from landcarbon.pipeline import resolve
from landcarbon.pipeline._validate_parcels import check_parcels
from landcarbon.pipeline._validate_tables import (
    check_crops,
    check_energy,
    check_output_encoding,
    check_statistics,
)
from landcarbon.pipeline._validate_zoning import check_zoning

__all__ = ["ValidationReport", "gate", "validate_config"]

log = logging.getLogger(__name__)

T = TypeVar("T")



@dataclass
class ValidationReport:
    """Problems of a config and a summary of its inputs.

    Attributes
    ----------
    problems : list of Problem
    summary : dict
        ``units``, ``unit_area_ha``, ``covered_ha`` (with the raster scan) and the raster's
        size, CRS and nodata.
    """

    config: str
    problems: list[Problem] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def ok(self) -> bool:
        """True when there is no error (warnings allowed)."""
        return not self.errors

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``config, ok, errors, warnings, problems, summary``."""
        return {"config": self.config, "ok": self.ok, "errors": len(self.errors),
                "warnings": len(self.warnings),
                "problems": [p.to_dict() for p in self.problems], "summary": self.summary}


def validate_config(path: str | Path, *, scan_raster: bool = True) -> ValidationReport:
    """Check the config file at ``path`` and its inputs; nothing is written.

    Parameters
    ----------
    path : str or Path
        TOML config.
    scan_raster : bool
        Read every pixel: unmapped codes with pixel counts, and area reconciliation (the
        zonal step of a run). Without it only headers are read.

    Returns
    -------
    ValidationReport
        ``report.ok`` is False if any problem is an error.
    """
    report = ValidationReport(config=str(path))
    try:
        config = load_config(path)
    except ConfigError as exc:
        for line in exc.problems or [str(exc)]:
            field_, _, msg = line.partition(": ")
            where = f"{path}: {field_}" if msg else str(path)
            report.problems.append(Problem("config_invalid", "error", where, msg or line,
                                           "Fix the config (see the README config reference)."))
        report.problems += _missing_files(Path(path))
        return report
    _Checker(config, report, scan_raster).run()
    return report


#: input file keys of a config, checked even when the config itself does not validate
_PATH_KEYS = (("landcover", "path"), ("units", "path"), ("parcels", "path"),
              ("construction", "energy_table"), ("coefficients", "crop_table"),
              ("statistics", "path"), ("planning_zones", "path"))


def _missing_files(path: Path) -> list[Problem]:
    """``file_missing`` for the input files a config names that do not exist, read from its
    TOML alone: listed with its config errors, so that one ``validate`` shows both (when the
    TOML itself does not parse, nothing)."""
    import glob
    import tomllib

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return []
    found = []
    for section, key in _PATH_KEYS:
        value = (data.get(section) or {}).get(key) if isinstance(data.get(section),
                                                                   dict) else None
        for one in value if isinstance(value, list) else [value]:
            if not isinstance(one, str) or not one or "://" in one or one.startswith("/vsi"):
                continue
            full = one if Path(one).is_absolute() else str(path.parent / one)
            if not (glob.has_magic(full) and glob.glob(full)) and not Path(full).is_file():
                found.append(Problem("file_missing", "error", f"[{section}] {key} = {one!r}",
                                     f"{one!r} does not exist (relative paths are relative "
                                     "to the config file).", "Check the path."))
    return found


def gate(config: RunConfig) -> ValidationReport:
    """The one gate of every command that computes (run, zone, change, scenario, sweep,
    batch): the checks of ``landcarbon validate`` on the headers (no pass over the pixels;
    the commands check the pixels' codes during their own pass).

    Warnings are logged; errors stop the command before anything is computed or written.

    Returns
    -------
    ValidationReport
        The report (warnings only) when there is no error.

    Raises
    ------
    InputProblemsError
        Listing every error in one paragraph (``.problems`` holds the records, ``.code`` the
        first error's code).
    """
    report = ValidationReport(config=config.base_dir)
    _Checker(config, report, scan=False).run()
    stop_on_errors(report.problems)
    return report


def stop_on_errors(problems: list[Problem], hint: str = "`landcarbon validate CONFIG` lists "
                   "every problem") -> None:
    """Raise :class:`InputProblemsError` listing every error of ``problems`` in one
    paragraph (``hint``: where to see them all); log the warnings when there is none."""
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        listing = " ".join(f"({i}) {_sentence(p)}" for i, p in enumerate(errors, 1))
        raise InputProblemsError(
            f"Stopped before computing anything: the inputs have {len(errors)} error(s) "
            f"(found by the checks of `landcarbon validate`): {listing} Fix "
            f"them and run again ({hint}).", problems)
    for problem in problems:
        log.warning("%s", problem)


def _sentence(problem: Problem) -> str:
    text = f"{problem.where}: {problem.message}"
    if problem.fix:
        text += ("" if text.endswith((".", "!", "?", ")")) else ".") + f" {problem.fix}"
    return text if text.endswith((".", "!", "?", ")")) else text + "."


class _Checker:
    """Runs the checks of one config, collecting problems into a report."""

    def __init__(self, config: RunConfig, report: ValidationReport, scan: bool) -> None:
        self.config = config
        self.report = report
        self.scan = scan
        #: the units' overlap check running beside the others: (report position, where,
        #: units, future), see :meth:`units`
        self._overlaps: tuple[int, str, Any, Any] | None = None

    def add(self, problem: Problem) -> None:
        self.report.problems.append(problem)

    def step(self, code: str, where: str, fn: Callable[[], T]) -> T | None:
        try:
            return fn()
        except LandcarbonError as exc:
            details = {"pixels": {str(k): v for k, v in exc.counts.items()}} if isinstance(
                exc, UnmappedCodesError) else {}
            self.add(Problem(problem_code(exc, code), "error", where, str(exc), details=details))
        except Exception as exc:  # one failing check must not hide the others
            self.add(Problem(code, "error", where,
                             f"{type(exc).__name__}: {exc}",
                             "If the input looks right, this may be a bug: run "
                             "`landcarbon --debug run` for the traceback and report it."))
        return None

    def run(self) -> None:
        c = self.config
        cc = c.coefficients
        self.step("coefficients_invalid", f"[coefficients] set = {cc.set!r}",
                  lambda: resolve.coefficient_set(c))
        self.thresholds()
        units = self.units() if c.units is not None else None
        if cc.crop_table:
            check_crops(self, cc.crop_table, units)
        source = c.landcover or c.parcels
        assert source is not None
        legend = self.step("legend_invalid", f"legend {source.legend!r}",
                           lambda: resolve.legend(c))
        if c.landcover is not None:
            self.landcover(units, legend)
        if c.parcels is not None:
            check_parcels(self, units, legend)
        if c.construction.method == "energy" and c.construction.energy_table:
            check_energy(self, units, c.construction.energy_table)
        from landcarbon.pipeline._validate_change import check_change

        check_change(self, units)
        if getattr(c, "statistics", None) is not None:
            check_statistics(self, units)
        check_zoning(self, units)
        from landcarbon.pipeline._planning import check_planning

        for p in check_planning(c):
            self.add(p)
        if c.uncertainty is not None:
            name = c.uncertainty.coefficients
            self.step("coefficients_invalid", f"[uncertainty] coefficients = {name!r}",
                      lambda: resolve.coefficient_ranges(c))
        self.overlap_problems()

    def thresholds(self) -> None:
        """The preset exists and every explicit value parses (the config model requires a
        value for every space type; a preset gives all three)."""
        if self.config.thresholds.resolved_method() in ("pathway", "carrying_capacity"):
            return  # checked by the config model
        self.step("config_invalid", "[thresholds]", self.config.threshold_spec)

    def layer(self, where: str, path: Any, *, layer: str | None = None,
              what: str = "Land units") -> Any:
        """The vector layer at ``path`` (:func:`landcarbon.io.vector.read_vector`), or None
        with its error added; text read in an encoding the file does not declare is added as
        a warning (``text_encoding_guessed``)."""
        from landcarbon.checks.encodings import text_encoding_problems
        from landcarbon.io.vector import TEXT_ENCODING_GUESSED, read_vector

        gdf = self.step("file_unreadable", where, lambda: read_vector(
            self.config.path(path), layer=layer, what=what))
        if gdf is not None:
            for problem in text_encoding_problems(gdf.attrs.get(TEXT_ENCODING_GUESSED), where):
                self.add(problem)
        return gdf

    def units(self) -> Any:
        from landcarbon.checks.units import (
            blank_cells,
            crs_problems,
            geometry_type_problems,
            overlaps,
            repair_geometries,
        )
        from landcarbon.pipeline._compute import beside

        u = self.config.units
        assert u is not None
        where = f"[units] {u.path}"
        gdf = self.layer(where, u.path, layer=u.layer)
        if gdf is None:
            return None
        fields = [col for col in gdf.columns if col != "geometry"]
        for name, role in ((u.id_field, "id_field"), (u.name_field, "name_field")):
            if name is not None and name not in gdf.columns:
                self.add(Problem("field_missing", "error", f"{where}: {role} = {name!r}",
                                 f"{role} {name!r} is not a field of the units file.",
                                 f"Use one of: {', '.join(fields)}.", {"fields": fields}))
        ids = gdf.index.to_series().add(1).astype(str)
        if u.id_field is not None and u.id_field in gdf.columns:
            from landcarbon.io.vector import unit_id_text

            raw = gdf[u.id_field]
            ids = unit_id_text(raw)  # as the run reads them
            missing = blank_cells(raw)
            ids = ids.where(~missing, "")  # text in every row (pandas keeps NaN as NaN)
            if missing.any():
                rows = [int(i) + 1 for i in np.flatnonzero(missing)]
                self.add(Problem("unit_id_missing", "error", f"{where}: field {u.id_field!r}",
                                 f"{len(rows)} feature(s) have no unit id (rows "
                                 f"{', '.join(map(str, rows[:10]))}).",
                                 "Fill in a unique id for every unit.", {"rows": rows}))
            dup = ids[ids.duplicated(keep=False) & ~missing]
            if len(dup):
                counts = dup.value_counts()
                self.add(Problem("unit_id_duplicate", "error", f"{where}: field {u.id_field!r}",
                                 f"{len(counts)} unit id(s) are used more than once: "
                                 + ", ".join(f"{k} ({n}x)" for k, n in counts.head(10).items())
                                 + ".", "Give every unit its own id (or merge the features).",
                                 {"duplicates": {str(k): int(n) for k, n in counts.items()}}))
        check_output_encoding(self, gdf, where)
        gdf = gdf.assign(unit_id=ids.to_numpy())
        kinds = geometry_type_problems(gdf, where) + crs_problems(gdf, where)
        if kinds:
            for p in kinds:
                self.add(p)
            return None
        repaired, problems = repair_geometries(gdf, where)
        for p in problems:
            self.add(p)
        # the overlap check (GEOS, the GIL released) runs beside the other checks; its
        # problems take this place in the report (see :meth:`overlap_problems`)
        self._overlaps = (len(self.report.problems), where, repaired,
                          beside(overlaps, repaired))
        self.report.summary["units"] = len(repaired)
        return repaired

    def overlap_problems(self) -> None:
        """The units' overlap problems (:meth:`units` started the check), put where the units'
        checks left them in the report."""
        if self._overlaps is not None:
            from landcarbon.checks.units import overlap_problems

            at, where, units, pending = self._overlaps
            self._overlaps = None
            allowed = bool(self.config.units and self.config.units.allow_overlaps)
            self.report.problems[at:at] = overlap_problems(units, where, pending.result(),
                                                           allowed=allowed)

    def landcover(self, units: Any, legend: Any) -> None:
        from pyproj import CRS
        from shapely.geometry import box

        from landcarbon.io.raster import open_landcover, raster_read_errors

        lc = self.config.landcover
        assert lc is not None
        spec = [lc.path] if isinstance(lc.path, str) else lc.path
        where = f"[landcover] {', '.join(spec)}"
        codes = self.step("file_unreadable", where, lambda: open_landcover(
            [self.config.path(p) for p in spec], chunks=lc.chunk_size, nodata=lc.nodata,
            crs=lc.crs))
        if codes is None:
            return
        crs = CRS.from_user_input(codes.rio.crs)
        self.report.summary["raster"] = {
            "width": int(codes.sizes["x"]), "height": int(codes.sizes["y"]),
            "crs": crs.to_string(), "nodata": jsonable(codes.rio.nodata),
            "dtype": str(codes.dtype)}
        if legend is not None:
            for p in nodata_problems(codes.rio.nodata, codes.dtype, legend, lc.exclude_codes,
                                     where):
                self.add(p)
        if units is not None:
            self.crs_pair(units.crs, crs, "[units]", "[landcover]")
            from landcarbon.checks.footprint import coverage_problems

            footprint = box(*codes.rio.bounds())
            for p in coverage_problems(units, footprint, crs, f"[units] {self.config.units.path}"
                                       if self.config.units else "units"):
                self.add(p)
        if not self.scan or legend is None:
            return
        from landcarbon.accounting.classification import check_codes, classify

        # like a run, read only the units' extent (codes outside it do not matter)
        study = codes
        if units is not None:
            from landcarbon.engine.extent import crop_to_units

            study = crop_to_units(codes, units)
        # the area reconciliation's zonal pass is computed with the code counts (one read of
        # each chunk); its areas are used only if the codes pass the checks below
        reconcile = units is not None and not any(
            p.code.startswith(("unit_id", "geometry_empty")) for p in self.report.errors)
        cats = classify(study, legend, lc.exclude_codes) if reconcile else None
        counted = self.step("raster_damaged", where, lambda: _counted(
            study, raster_read_errors, cats, units, lc.pixel_area))
        if counted is None:
            return
        counts, areas = counted
        if counts.sum() == 0:
            self.add(Problem("no_data_pixels", "error", where,
                             "The raster holds no pixel with data (all nodata or NaN).",
                             "Check the nodata setting and that the raster covers the area."))
            return
        before = len(self.report.problems)
        self.step("unmapped_codes", f"{where} (legend {legend.name})",
                  lambda: check_codes(counts, legend, lc.exclude_codes))
        if len(self.report.problems) > before:
            return
        if areas is not None:
            self.reconcile(study, units, areas, box(*codes.rio.bounds()))

    def reconcile(self, codes: Any, units: Any, areas: Any, footprint: Any) -> None:
        from landcarbon.checks.footprint import reconciliation

        summary, problems = reconciliation(units, areas, footprint, codes.rio.crs)
        self.report.summary.update(summary)
        for p in problems:
            self.add(p)

    def crs_pair(self, a: Any, b: Any, name_a: str, name_b: str) -> None:
        from pyproj import CRS

        ca, cb = CRS.from_user_input(a), CRS.from_user_input(b)
        if not ca.equals(cb, ignore_axis_order=True):
            self.add(Problem(
                "crs_mismatch", "warning", f"{name_a} / {name_b}",
                f"{name_a} is in {_crs_name(ca)} and {name_b} in {_crs_name(cb)}; the units are "
                "reprojected to the raster's CRS on the fly.",
                "Nothing to do if both CRSs are right; otherwise define the correct CRS of the "
                "file that is wrong.", {"crs_a": ca.to_string(), "crs_b": cb.to_string()}))


def _counted(codes: Any, guard: Any, cats: Any, units: Any, pixel_area: Any
             ) -> tuple[Any, Any]:
    """Code counts of ``codes`` and, with ``cats``, the class areas of ``units`` (None
    otherwise), in one pass over the raster's chunks."""
    import dask

    from landcarbon.accounting.classification import code_counts
    from landcarbon.engine.zonal import class_areas
    from landcarbon.pipeline.progress import dask_bar

    with guard(codes), dask_bar("checking the land cover's codes and areas"):
        if cats is None:
            return code_counts(codes), None
        return dask.compute(code_counts(codes, lazy=True),
                            class_areas(cats, units, pixel_area=pixel_area, lazy=True))


def _crs_name(crs: Any) -> str:
    code = crs.to_epsg()
    return f"EPSG:{code} ({crs.name})" if code else repr(crs.name)
