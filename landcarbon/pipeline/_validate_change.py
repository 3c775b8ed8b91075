"""The pre-flight checks of ``[change]`` (``landcarbon change`` and ``scenario``): the
rasters of every date on one grid, every date's energy table, the carbon pool table (read,
and with the pixel scan: every code of every date listed), the scenario rasters, the
polygon files of scenarios and edits, and the land classes named by edits and multipliers.

Called by :class:`landcarbon.pipeline.validate._Checker`; problems go into its report.
"""

from __future__ import annotations

from typing import Any

from landcarbon.checks.problems import Problem
from landcarbon.pipeline._validate_tables import check_energy, check_statistics

__all__ = ["check_change"]


def check_change(checker: Any, units: Any) -> None:
    """Add the problems of ``checker.config.change`` (if any) to ``checker``'s report."""
    config = checker.config
    section = getattr(config, "change", None)
    if section is None or not section.dates:
        return
    if len(section.dates) < 2:
        checker.add(Problem(
            "change_one_date", "warning", "[change] dates",
            "The [change] section has one date: `landcarbon change` needs at least two (a "
            "period to compare); `landcarbon scenario` works with one.",
            "Add a second [[change.dates]] (an earlier or later land cover) to run "
            "`landcarbon change`."))
    opened = _dates(checker, units, section)
    counted: dict[str, Any] = {}  # the code counts of each date, scanned once
    legend = _legend(config)
    _date_codes(checker, section, opened, counted, legend)
    _stocks(checker, section, opened, counted)
    _scenarios(checker, section, opened, units, legend, counted)
    _land_classes(checker, section, legend)
    if units is not None:
        known = set(units["unit_id"])
        for e in section.edits:
            stray = [u for u in e.units or [] if u not in known]
            if stray:
                checker.add(Problem(
                    "unit_id_unknown", "error", f"[[change.edits]] {e.scenario}: units",
                    f"{len(stray)} unit id(s) are not in the units file: "
                    f"{', '.join(stray[:10])}.", "Use ids of [units] id_field.",
                    {"unit_ids": stray}))


def _open(checker: Any, spec: str | list[str], where: str) -> Any:
    from landcarbon.io.raster import open_landcover

    lc = checker.config.landcover
    paths = [spec] if isinstance(spec, str) else spec
    return checker.step("file_unreadable", where, lambda: open_landcover(
        [checker.config.path(p) for p in paths], chunks=1024,
        nodata=lc.nodata if lc else None, crs=lc.crs if lc else None))


def _dates(checker: Any, units: Any, section: Any) -> dict[str, Any]:
    """Open every date (headers), check its energy table and the grids' alignment."""
    opened = {}
    for d in section.dates:
        spec = [d.landcover] if isinstance(d.landcover, str) else d.landcover
        da = _open(checker, d.landcover, f"[change] dates {d.year}: {', '.join(spec)}")
        if da is not None:
            opened[str(d.year)] = da
        c = checker.config.construction
        if d.energy_table and c.method == "energy":
            check_energy(checker, units, d.energy_table,
                         f"[change] dates {d.year}: energy_table")
        if getattr(d, "statistics", None):
            check_statistics(checker, units, d.statistics,
                             f"[change] dates {d.year}: statistics")
    labels = list(opened)
    for other in labels[1:]:
        _aligned(checker, section, opened[labels[0]], opened[other], (labels[0], other),
                 f"[change] dates {labels[0]} / {other}")
    if units is not None and len(opened) > 1:
        _coverage(checker, units, opened, f"[change] dates {', '.join(labels)}")
    return opened


def _aligned(checker: Any, section: Any, first: Any, other: Any, names: tuple[str, str],
             where: str) -> None:
    """``grid_mismatch``: an error, or a warning when ``resample = "nearest"``."""
    from landcarbon.change.transitions import check_aligned

    before = len(checker.report.problems)
    checker.step("grid_mismatch", where, lambda: check_aligned(first, other, names=names))
    if len(checker.report.problems) > before:
        p = checker.report.problems.pop()
        nearest = section.resample == "nearest"
        checker.add(Problem(
            "grid_mismatch", "warning" if nearest else "error", p.where, p.message,
            f"resample = 'nearest' is set: {names[1]} is resampled." if nearest
            else "Warp the rasters onto one grid, or set [change] resample = 'nearest'.",
            {"dates": list(names)}))


def _counts(da: Any, year: str, counted: dict[str, Any]) -> Any:
    """The code counts of the date ``year`` (a pass over its raster, once)."""
    if year not in counted:
        from landcarbon.accounting.classification import code_counts
        from landcarbon.io.raster import raster_read_errors

        with raster_read_errors(da):
            counted[year] = code_counts(da)
    return counted[year]


def _legend(config: Any) -> Any:
    """The run's legend, or None (no [landcover], or a legend the [landcover] check reports as
    a problem)."""
    if config.landcover is None:
        return None
    from landcarbon.pipeline import resolve

    try:
        return resolve.legend(config)
    except Exception:  # named by the [landcover] check
        return None


def _date_codes(checker: Any, section: Any, opened: dict[str, Any],
                counted: dict[str, Any], legend: Any) -> None:
    """With the scan: every date's codes are mapped by the legend (``unmapped_codes``, as the
    [landcover] raster's are; ``landcarbon change`` refuses them after its pass otherwise)."""
    config = checker.config
    lc = config.landcover
    if lc is None:
        return
    main = lc.path if isinstance(lc.path, list) else [lc.path]
    for d in section.dates:
        year = str(d.year)
        spec = d.landcover if isinstance(d.landcover, list) else [d.landcover]
        if year not in opened or [config.path(p) for p in spec] == [config.path(p)
                                                                     for p in main]:
            continue  # not opened, or the [landcover] raster, already checked
        _scan_codes(checker, opened[year], year, f"[change] dates {year}: {', '.join(spec)}",
                    f"The land-cover raster of {year}", legend, counted)


def _scan_codes(checker: Any, da: Any, key: str, where: str, source: str, legend: Any,
                counted: dict[str, Any]) -> None:
    """With the scan: the codes of raster ``da`` (counted once under ``key``) are mapped by
    the legend (``unmapped_codes``; the command refuses them after its pass otherwise)."""
    lc = checker.config.landcover
    if not checker.scan or lc is None or legend is None:
        return
    from landcarbon.accounting.classification import check_codes

    checker.step("unmapped_codes", f"{where} (legend {legend.name})", lambda: check_codes(
        _counts(da, key, counted), legend, lc.exclude_codes, source=source))


def _stocks(checker: Any, section: Any, opened: dict[str, Any],
            counted: dict[str, Any]) -> None:
    """The pool table reads and validates; with the scan, it lists every code of every
    date (what ``landcarbon change`` refuses otherwise after its pass)."""
    if section.stocks is None:
        return
    from landcarbon.io.pools import read_pool_table

    where = f"[change.stocks] pools = {section.stocks.pools!r}"
    pools = checker.step("file_unreadable", where,
                         lambda: read_pool_table(checker.config.path(section.stocks.pools),
                                                 checker.config.csv_encoding))
    if pools is None or not checker.scan:
        return
    from landcarbon.change.stocks import check_pool_codes

    for year, da in opened.items():
        def scan(da: Any = da, year: str = year) -> None:
            check_pool_codes(_counts(da, year, counted), pools.index.to_numpy(),
                             what=f"land-cover raster of {year}")
        checker.step("pool_codes_missing", f"{where} / date {year}", scan)


def _scenarios(checker: Any, section: Any, opened: dict[str, Any], units: Any, legend: Any,
               counted: dict[str, Any]) -> None:
    """Scenario rasters open, sit on the baseline grid, cover the units as the baseline
    does and (with the scan) hold only codes the legend maps; polygon files read, hold
    polygons in a plausible CRS, and reach some unit."""
    year = str(section.baseline_year or section.dates[-1].year)
    base = opened.get(year)
    rasters = {} if base is None else {f"baseline {year}": base}
    for s in section.scenarios:
        spec = [s.landcover] if isinstance(s.landcover, str) else s.landcover
        where = f"[[change.scenarios]] {s.name}: {', '.join(spec)}"
        da = _open(checker, s.landcover, where)
        if da is not None and base is not None:
            _aligned(checker, section, base, da, (f"baseline {year}", f"scenario {s.name}"),
                     where)
            rasters[f"scenario {s.name}"] = da
            _scan_codes(checker, da, f"scenario {s.name}", where,
                        f"The land-cover raster of scenario {s.name}", legend, counted)
    if units is not None and len(rasters) > 1:
        _coverage(checker, units, rasters, "[[change.scenarios]]")
    polygons = [(f"[[change.scenarios]] {s.name}: protected", s.protected)
                for s in section.scenarios]
    for e in section.edits:
        polygons += [(f"[[change.edits]] {e.scenario}: mask", e.mask),
                     (f"[[change.edits]] {e.scenario}: protected", e.protected)]
    from landcarbon.checks.units import crs_problems, geometry_type_problems

    for where, path in polygons:
        if path:
            label = f"{where} = {path!r}"
            gdf = checker.layer(label, path, what="Mask polygons")
            if gdf is None:
                continue
            # points or lines cover no land, impossible coordinates none of the units': the
            # mask would do nothing, the protection protect nothing
            kinds = geometry_type_problems(gdf, label, "mask polygons") + crs_problems(gdf,
                                                                                       label)
            for p in kinds:
                checker.add(p)
            if units is not None and not kinds:
                _reaches_units(checker, units, gdf, label)


def _reaches_units(checker: Any, units: Any, gdf: Any, where: str) -> None:
    """``polygons_outside_units`` (error): mask or protected polygons that overlap no unit."""
    from landcarbon.checks.units import units_reached

    reached = units_reached(units, gdf)
    if reached is None or reached.any():
        return
    checker.add(Problem(
        "polygons_outside_units", "error", where,
        f"None of the {len(gdf)} polygon(s) overlaps a unit (or all are empty): as a mask it "
        "would change nothing, as a protection protect nothing.",
        "Use polygons of the study area, and check their CRS (coordinates in metres "
        "labelled EPSG:4326 put them far away).", {"polygons": len(gdf)}))


def _coverage(checker: Any, units: Any, rasters: dict[str, Any], where: str) -> None:
    """``date_coverage_differs`` for rasters compared with each other (dates, scenarios)."""
    from shapely.geometry import box

    from landcarbon.checks.footprint import date_coverage_problems

    footprints = {name: (box(*da.rio.bounds()), da.rio.crs) for name, da in rasters.items()}
    for p in checker.step("date_coverage_differs", where, lambda: date_coverage_problems(
            units, footprints, where)) or []:
        checker.add(p)


def _land_classes(checker: Any, section: Any, legend: Any) -> None:
    """Land classes named by edits and Markov multipliers exist."""
    from landcarbon.accounting.legends import land_classes

    known = set(land_classes().index)
    named = [(f"[[change.edits]] {e.scenario}: to_land_class", e.to_land_class)
             for e in section.edits if e.type == "reduce_construction"]
    for e in section.edits:
        named += [(f"[[change.edits]] {e.scenario}: from_land_classes", c)
                  for c in e.from_land_classes or []]
    for m in (section.markov.multipliers if section.markov else []):
        named += [("[change.markov] multipliers: from_land_class", m.from_land_class),
                  ("[change.markov] multipliers: to_land_class", m.to_land_class)]
    for where, name in named:
        if name not in known:
            checker.add(Problem("land_class_unknown", "error", where,
                                f"{name!r} is not a land class.",
                                f"Use one of: {', '.join(sorted(known))}.",
                                {"land_class": name}))
    _restored_classes(checker, section, known, legend)


def _restored_classes(checker: Any, section: Any, known: set[str], legend: Any) -> None:
    """``reduce_construction`` edits turn construction land into (to_land_class, ecological):
    the legend must have that category (the scenario stops on it otherwise, after the
    assessment)."""
    edits = [e for e in section.edits
             if e.type == "reduce_construction" and e.to_land_class in known]
    if not edits or legend is None:
        return
    cats = legend.categories
    ecological = sorted(set(cats.loc[cats["space_type"] == "ecological", "land_class"]))
    for e in edits:
        if e.to_land_class not in ecological:
            checker.add(Problem(
                "land_class_unknown", "error",
                f"[[change.edits]] {e.scenario}: to_land_class",
                f"{e.to_land_class!r} is not ecological land in legend {legend.name!r}: a "
                "reduce_construction edit turns construction land into ecological land.",
                f"Use one of: {', '.join(ecological)}.",
                {"land_class": e.to_land_class, "scenario": e.scenario}))
