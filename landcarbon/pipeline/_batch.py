"""Batch orchestration: many configs, or one config over many regions, in one call.

* Many configs: each is run into ``out_dir/<config name>``.
* One config + a regions layer (e.g. every county of a province): the config's units file
  is read once; each region gets the units whose representative point lies in it (units are
  taken whole, so no slivers appear along region borders), its own window of the land-cover
  raster (a VRT referencing the window: only the region's blocks are read, once) and, for the
  energy method, its rows of the energy table. Runs go to ``out_dir/<region value>``.

A failing run does not stop the batch: its error is recorded and the next run starts.
``summary.csv`` in ``out_dir`` has one row per run (status, error, time, totals, risk
counts). Everything runs under one dask scheduler context (one cluster connection).
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from landcarbon.checks.units import blank_cells, geometry_type_problems
from landcarbon.config.outputs import name as output_name
from landcarbon.config.run import RunConfig
from landcarbon.exceptions import ConfigError, InputError, LandcarbonError

__all__ = ["BatchResult", "batch_configs", "batch_regions", "read_regions", "region_configs",
           "summary_table"]

log = logging.getLogger(__name__)

#: The batch summary's file name (declared in :mod:`landcarbon.config.outputs`).
SUMMARY = output_name("batch", "summary")


@dataclass
class BatchResult:
    """Outcome of a batch: the summary table and where it was written."""

    summary: pd.DataFrame
    out_dir: Path
    failed: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True if every run succeeded."""
        return not self.failed


#: longest file-name stem a run or region gets (UTF-8 bytes; a file name may have 255, and
#: ``_units.gpkg`` and a staging suffix are added)
NAME_BYTES = 120


def _safe_name(value: str) -> str:
    """A file and folder name for a run or region: path characters and spaces as ``_``; a
    long name cut to :data:`NAME_BYTES` and told apart by a digest of the whole."""
    name = re.sub(r'[\\/:*?"<>|\s]+', "_", str(value)).strip("._")
    raw = name.encode("utf-8")
    if len(raw) > NAME_BYTES:
        import hashlib

        digest = hashlib.blake2b(str(value).encode("utf-8"), digest_size=4).hexdigest()
        name = raw[:NAME_BYTES - 9].decode("utf-8", "ignore").rstrip("._") + "_" + digest
    return name or "region"


def _unique(names: list[str]) -> list[str]:
    """``names`` made distinct (``a``, ``a_2``, ``a_3``...; also ignoring case, as some file
    systems do) and never one of the batch folder's own entries (``summary.csv``,
    ``_batch_inputs``, the marker)."""
    from landcarbon.io.ownership import MARKER

    taken = {n.casefold() for n in (SUMMARY, "_batch_inputs", MARKER)}
    out = []
    for n in names:
        name, k = n, 1
        while name.casefold() in taken:
            k += 1
            name = f"{n}_{k}"
        taken.add(name.casefold())
        out.append(name)
    return out


def _write_rows(rows: pd.DataFrame, path: Path) -> None:
    rows.to_csv(path, index=False, encoding="utf-8")


def _write_if_changed(path: Path, write: Callable[[Path], None]) -> None:
    """Write ``path`` with ``write`` unless it already holds the same bytes, so that an
    unchanged batch gives unchanged region inputs (and its runs stay up to date)."""
    from landcarbon.io.outputs import sha256

    tmp = path.with_name(f".{path.name}.partial-{os.getpid()}{path.suffix}")
    tmp.unlink(missing_ok=True)
    try:
        write(tmp)
        if path.is_file() and sha256(path) == sha256(tmp):
            return
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


#: Column of :func:`read_regions`' units: the region each unit belongs to (None: none).
_REGION = "_batch_region"


def _region_holders(units: gpd.GeoDataFrame, regions: gpd.GeoDataFrame, field: str
                    ) -> list[list[str]]:
    """The region(s) of each unit: those holding its representative point; a point on a
    shared edge (or a unit whose point is in no region) goes to the region overlapping the
    unit most, so that no unit falls between two regions."""
    points = units.geometry.representative_point()
    holders: list[list[str]] = [[] for _ in range(len(units))]
    for value, geom in zip(regions[field], regions.geometry, strict=True):
        for i in np.flatnonzero(points.within(geom).to_numpy()):
            holders[i].append(str(value))
    for k in (k for k, held in enumerate(holders) if not held):
        shared = regions.geometry.intersection(units.geometry.iloc[k]).area.to_numpy()
        if shared.size and shared.max() > 0:
            holders[k].append(str(regions[field].iloc[int(np.argmax(shared))]))
    return holders


def read_regions(config: RunConfig, regions_path: str, region_field: str
                 ) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """``config``'s units and the regions of ``regions_path`` dissolved by ``region_field``
    (in the units' CRS), checked: polygons, the field present, a name in every feature.
    Each unit belongs to the region holding its representative point, or (a point on a
    shared edge) to the region it overlaps most: column ``_batch_region``. Units that
    overlap no region are logged (they are in no run).

    Raises
    ------
    ConfigError, InputError
        Not a raster-mode config; unreadable regions; points or lines; no such field; a
        feature without a region name (its units would silently be in no run).
    """
    from landcarbon.io.vector import read_units, read_vector

    if config.units is None or config.landcover is None:
        raise ConfigError("Batch over regions needs a raster-mode config with [landcover] and "
                          "[units]; parcel-mode configs can be batched as separate configs.")
    u = config.units
    units = read_units(config.path(u.path), layer=u.layer, id_field=u.id_field,
                       name_field=u.name_field)
    regions = read_vector(regions_path, what="Regions")
    for problem in geometry_type_problems(regions, f"--regions {regions_path}", "regions"):
        raise InputError(f"{problem.where}: {problem.message} {problem.fix}",
                         code=problem.code)
    if region_field not in regions.columns:
        raise InputError(f"Regions {regions_path}: no field {region_field!r}; fields: "
                         f"{', '.join(c for c in regions.columns if c != 'geometry')}. Pass "
                         "--region-field with one of them.")
    nameless = blank_cells(regions[region_field])
    if nameless.any():
        rows = [int(i) + 1 for i in np.flatnonzero(nameless)]
        raise InputError(f"Regions {regions_path}: {len(rows)} feature(s) have no value in "
                         f"{region_field!r} (rows {', '.join(map(str, rows[:10]))}): their "
                         "units would be in no run. Fill in a region name for every feature "
                         "(or delete the features).", code="field_missing")
    regions = regions[[region_field, "geometry"]].to_crs(units.crs)
    regions[region_field] = regions[region_field].astype(str)
    regions = regions.dissolve(by=region_field, as_index=False)
    holders = _region_holders(units, regions, region_field)
    twice = [(uid, held) for uid, held in zip(units["unit_id"], holders, strict=True)
             if len(held) > 1]
    if twice:  # each such unit would be counted in two runs
        listing = "; ".join(f"{uid} in {' and '.join(held)}" for uid, held in twice[:10])
        raise InputError(f"Regions {regions_path} overlap: {len(twice)} unit(s) of {u.path} "
                         f"lie in more than one region (by representative point), and the "
                         f"batch would count them in each: {listing}. Make the regions not "
                         "overlap (e.g. fix their shared boundaries).", code="units_overlap")
    inside = np.array([bool(held) for held in holders], bool)
    if not inside.all():
        left = units["unit_id"].to_numpy()[~inside]
        log.warning("%d unit(s) of %s overlap no region of %s and are in no run: %s",
                    len(left), u.path, regions_path, ", ".join(map(str, left[:10])))
    units = units.assign(**{_REGION: [held[0] if held else None for held in holders]})
    return units, regions


def region_configs(config: RunConfig, regions_path: str, region_field: str,
                   work_dir: Path, *,
                   read: tuple[gpd.GeoDataFrame, gpd.GeoDataFrame] | None = None
                   ) -> list[tuple[str, RunConfig | Exception]]:
    """One config per region value (or the error that prevents it), inputs cut from the
    shared ones; ``work_dir`` receives each region's units (and energy table) files.
    ``read``: what :func:`read_regions` gave for these arguments (else read here)."""
    from landcarbon.io.raster import expand_paths
    from landcarbon.io.vector import write_layer
    from landcarbon.io.windows import window_of_bounds, window_vrt

    units, regions = read or read_regions(config, regions_path, region_field)
    assert config.units is not None and config.landcover is not None
    u = config.units
    raster = None
    spec = config.landcover.path
    if isinstance(spec, str):
        paths = expand_paths(config.path(spec))
        raster = paths[0] if len(paths) == 1 else None
    energy = None
    c = config.construction
    if c.method == "energy" and c.energy_table:
        from landcarbon.io.tables import read_table

        energy = read_table(config.path(c.energy_table), id_column=c.id_column,
                            encoding=config.csv_encoding,
                            what="Energy table")
    # absolute: the regions' configs read these files relative to the config's folder
    work_dir = work_dir.absolute()
    work_dir.mkdir(parents=True, exist_ok=True)
    out: list[tuple[str, RunConfig | Exception]] = []
    # each region's files a name of their own ('A/B' and 'A_B' are both A_B on disk), the
    # names of their run folders (_run_all)
    names = _unique([_safe_name(v) for v in regions[region_field]])
    for value, name in zip(regions[region_field], names, strict=True):
        subset = units[(units[_REGION] == value).to_numpy()].drop(columns=_REGION)
        if subset.empty:
            out.append((value, InputError(f"Region {value!r} ({region_field}) holds no unit of "
                                          f"{u.path}: none lies inside it (by representative "
                                          "point) or overlaps it most.")))
            continue
        units_file = work_dir / f"{name}_units.gpkg"
        _write_if_changed(units_file, functools.partial(write_layer, subset))
        update: dict[str, Any] = {"units": u.model_copy(update={
            "path": str(units_file), "layer": "units", "id_field": "unit_id",
            "name_field": "unit_name"})}
        title = f"{config.title} — {value}" if config.title else str(value)
        update["title"] = title
        if raster is not None:
            window = window_of_bounds(raster, tuple(subset.total_bounds), subset.crs)
            if window is None:
                out.append((value, InputError(f"Region {value!r}: its units do not overlap the "
                                              f"land-cover raster {raster}.")))
                continue
            update["landcover"] = config.landcover.model_copy(
                update={"path": window_vrt(raster, window, str(work_dir))})
        if energy is not None:
            rows = energy[energy[c.id_column].astype(str).isin(set(subset["unit_id"]))]
            table = work_dir / f"{name}_energy.csv"
            _write_if_changed(table, functools.partial(_write_rows, rows))
            update["construction"] = c.model_copy(update={"energy_table": str(table)})
        out.append((value, config.model_copy(update=update)))
    return out


def _stored_totals(out_dir: Path) -> dict[str, Any]:
    """Totals of a finished run from its ``run.json`` (for runs that were up to date)."""
    try:
        data = json.loads((out_dir / output_name("run", "manifest")).read_text(
            encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    totals = data.get("totals") if isinstance(data, dict) else None
    return totals if isinstance(totals, dict) else {}


def _summary_row(name: str, started: float, result: Any = None,
                 error: BaseException | None = None) -> dict[str, Any]:
    row: dict[str, Any] = {"run": name, "status": "ok", "seconds": round(
        time.perf_counter() - started, 2), "out_dir": "", "error": ""}
    if error is not None:
        row["status"] = "failed"
        row["error"] = (str(error) if isinstance(error, LandcarbonError)
                        else f"unexpected {type(error).__name__}: {error}")
        return row
    row["out_dir"] = str(result.out_dir)
    if result.assessment is None:
        row["status"] = "up_to_date"
        totals = _stored_totals(Path(result.out_dir))
    else:
        totals = result.assessment.totals()
    for key, value in totals.items():
        if key == "risk_levels" and isinstance(value, dict):
            row.update({f"units_{k}": v for k, v in value.items()})
        elif not isinstance(value, dict | list):
            row[key] = value
    return row


def summary_table(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The batch summary: fixed columns (run, status, seconds, units, covered_ha, the flux
    totals, ``units_<level>`` for every risk level, out_dir, error); counts are integers, a
    level without units is 0; a failed run has empty totals."""
    from landcarbon.accounting.risk import risk_levels

    suffixes = sorted({k[4:] for r in rows for k in r if k.startswith("net_")}) or ["tc"]
    flux = [f"{kind}_{s}" for s in suffixes for kind in ("emission", "sequestration", "net")]
    levels = [f"units_{k}" for k in risk_levels().index]
    extra = sorted({k for r in rows for k in r if k.startswith("units_")} - set(levels))
    columns = ["run", "status", "seconds", "units", "covered_ha", *flux, *levels, *extra,
               "out_dir", "error"]
    table = pd.DataFrame(rows, columns=columns)
    done = table["status"] != "failed"
    for col in ["units", *levels, *extra]:
        values = pd.to_numeric(table[col], errors="coerce")
        values[done] = values[done].fillna(0)
        table[col] = values.round().astype("Int64")
    return table


def _check_batch_folder(out_dir: Path) -> None:
    """Refuse a batch folder holding anything landcarbon did not write."""
    from landcarbon.exceptions import UnsafeOutputError
    from landcarbon.io.ownership import foreign_entries, output_kind

    if out_dir.is_symlink() or (out_dir.exists() and not out_dir.is_dir()):
        raise UnsafeOutputError(f"Batch output {out_dir} is a file or a link; give a folder "
                                "path with -o.")
    if not out_dir.is_dir() or not any(out_dir.iterdir()):
        return
    kind = output_kind(out_dir)
    if kind not in (None, "batch"):  # a batch would add its runs into another command's
        raise UnsafeOutputError(
            f"Batch output folder {out_dir} holds the output of `landcarbon "
            f"{ {'zoning': 'zone'}.get(kind, kind)}`, not a "
            "batch: a batch writes its runs and summary.csv only into a new folder or a "
            "batch folder (it never adds them into another command's output, even with "
            "--overwrite). Choose another folder with -o.")
    foreign = foreign_entries(out_dir)
    if foreign is None:
        foreign = sorted(e.name for e in out_dir.iterdir()
                         if not (e.is_dir() and foreign_entries(e) == []))
    if foreign:
        raise UnsafeOutputError(
            f"Batch output folder {out_dir} holds {', '.join(foreign[:6])}"
            f"{' and more' if len(foreign) > 6 else ''}, which landcarbon did not write; a "
            "batch writes its runs and summary.csv only into a new folder or one it wrote. "
            "Choose another folder with -o.")


@contextlib.contextmanager
def _batch_folder(out_dir: Path) -> Iterator[Path]:
    """Hold the batch folder's lock; it must be new or landcarbon's; it gets the marker."""
    from landcarbon.io.locks import output_lock, raise_write_error
    from landcarbon.io.ownership import mark_folder

    with output_lock(out_dir, what="Batch output"):
        _check_batch_folder(out_dir)
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
            mark_folder(out_dir, "batch", [*os.listdir(out_dir), SUMMARY,
                                           "_batch_inputs"])
        except OSError as exc:
            raise_write_error(exc, out_dir)
        yield out_dir


def _run_all(jobs: list[tuple[str, RunConfig | Exception]], out_dir: Path, *,
             overwrite: bool, progress: bool, scheduler: Any) -> BatchResult:
    from landcarbon.io.outputs import atomic_path
    from landcarbon.io.tables import write_csv
    from landcarbon.pipeline._assess import run
    from landcarbon.pipeline._compute import compute_context

    rows = []
    failed = []
    names = _unique([_safe_name(n) for n, _ in jobs])
    with compute_context(scheduler):
        for i, ((label, job), name) in enumerate(zip(jobs, names, strict=True), 1):
            started = time.perf_counter()
            log.info("batch: run %s (%d of %d)", label, i, len(jobs))
            try:
                if isinstance(job, Exception):
                    raise job
                result = run(job, out_dir / name, overwrite=overwrite, progress=progress)
                rows.append(_summary_row(label, started, result))
            except KeyboardInterrupt:
                raise
            except Exception as exc:  # one failing run must not stop the batch
                log.error("batch: run %s failed: %s", label, exc)
                rows.append(_summary_row(label, started, error=exc))
                failed.append(label)
    summary = summary_table(rows)
    encodings = {job.output.csv_encoding for _, job in jobs if isinstance(job, RunConfig)}
    with atomic_path(out_dir / SUMMARY) as tmp:  # the runs' encoding if they agree
        write_csv(summary, tmp, encoding=encodings.pop() if len(encodings) == 1
                  else "utf-8-sig")
    return BatchResult(summary=summary, out_dir=out_dir.absolute(), failed=failed)


def _run_name(path: Path, configs: list[str | Path]) -> str:
    """A config's run name: its file name without ``.toml``; with its folder's name first
    when another config of the batch has the same file name (``in/demo.toml`` and
    ``in2/demo.toml``: ``in_demo``, ``in2_demo``, whatever their order)."""
    same = [Path(c) for c in configs if Path(c).stem == path.stem]
    if len({c.absolute() for c in same}) < 2:
        return path.stem
    return f"{path.absolute().parent.name}_{path.stem}"


def batch_configs(configs: list[str | Path], out_dir: str | Path, *, overwrite: bool = False,
                  progress: bool = False, scheduler: Any = None) -> BatchResult:
    """Run every config file into ``out_dir/<config name>``; see the module docstring.

    Parameters
    ----------
    configs : list of paths
        TOML config files; one that does not load is reported as a failed run.
    scheduler : ComputeConfig, optional
        Dask scheduler for the whole batch (default: each config's ``[compute]``).

    Returns
    -------
    BatchResult
        ``.summary`` (DataFrame: one row per run with status, seconds, totals, error),
        ``.out_dir`` and ``.failed`` (names of the failed runs); ``summary.csv`` is written.
    """
    from landcarbon.config.run import load_config

    jobs: list[tuple[str, RunConfig | Exception]] = []
    for path in configs:
        name = _run_name(Path(path), configs)
        try:
            jobs.append((name, load_config(path)))
        except LandcarbonError as exc:
            jobs.append((name, exc))
    with _batch_folder(Path(out_dir)) as out:
        return _run_all(jobs, out, overwrite=overwrite, progress=progress,
                        scheduler=scheduler)


def batch_regions(config: RunConfig, regions_path: str | Path, region_field: str,
                  out_dir: str | Path, *, overwrite: bool = False, progress: bool = False,
                  scheduler: Any = None) -> BatchResult:
    """Run ``config`` once per region of ``regions_path`` (field ``region_field``) into
    ``out_dir/<region>``; see the module docstring.

    Returns
    -------
    BatchResult
        ``.summary`` (DataFrame: one row per run with status, seconds, totals, error),
        ``.out_dir`` and ``.failed`` (names of the failed runs); ``summary.csv`` is written.
    """
    read = read_regions(config, str(regions_path), region_field)  # before any folder
    with _batch_folder(Path(out_dir)) as out:
        jobs = region_configs(config, str(regions_path), region_field, out / "_batch_inputs",
                              read=read)
        from landcarbon.io.ownership import mark_folder

        # the regions' inputs are landcarbon's: a marker of their own lists them
        if (out / "_batch_inputs").is_dir():
            mark_folder(out / "_batch_inputs", "batch_inputs")
        return _run_all(jobs, out, overwrite=overwrite, progress=progress,
                        scheduler=scheduler or config.compute)
