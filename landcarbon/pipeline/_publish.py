"""Publishing orchestration: a finished run folder -> maps, atlas report, figures, QGIS style
(no recomputation); a workspace of runs -> the monitoring portal ``index.html``."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from landcarbon._resources import package_version
from landcarbon.config.outputs import name
from landcarbon.exceptions import InputError, OutputExistsError

__all__ = ["build_portal", "publish_run"]

log = logging.getLogger(__name__)

_PUBLISHED = (name("run", "map"), name("run", "report"))


def publish_run(run_dir: str | Path, *, language: Literal["zh", "en"] | None = None,
                offline: bool | None = None, tiles: str | None = None,
                overwrite: bool = False, progress: bool = False
                ) -> dict[str, str]:
    """Rebuild the web map, atlas report, figures and gpkg style of a finished run.

    Parameters
    ----------
    run_dir : path
        Output folder of ``landcarbon run`` (``units.gpkg``, ``run.json``, rasters).
    language : {"zh", "en"}, optional
        Default: the run's configured language.
    offline : bool, optional
        Write a map that makes no external request (vendored Leaflet inlined, no tiles).
        Default: the run's ``output.map_offline``.
    tiles : str, optional
        Basemap key (``data/basemaps.csv``) or folium tile name. Default: the run's setting.
    overwrite : bool
        Replace an existing ``map.html`` / ``report.html``.
    progress : bool
        A bar over the stages (map, figures, report) on stderr when it is a terminal.

    Returns
    -------
    dict
        ``{role: file name}`` written; ``run.json`` records their checksums.
    """
    from landcarbon.io.locks import output_lock

    with output_lock(Path(run_dir)):
        return _publish_run(run_dir, language, offline, tiles, overwrite, progress)


def _publish_run(run_dir: str | Path, language: Literal["zh", "en"] | None,
                 offline: bool | None, tiles: str | None, overwrite: bool,
                 progress: bool = False) -> dict[str, str]:
    from landcarbon.io.publication import read_run, update_manifest
    from landcarbon.pipeline.publication import write_publication

    run = read_run(run_dir)
    _check_own(run.folder)
    existing = [n for n in _PUBLISHED if (run.folder / n).exists()]
    if existing and not overwrite:
        raise OutputExistsError(f"{run.folder} already has {', '.join(existing)}; pass "
                                "--overwrite to rebuild them.")
    cfg = run.manifest.get("config", {})
    language = language or cfg.get("language") or "zh"
    if language not in ("zh", "en"):
        raise InputError(f"language must be 'zh' or 'en', not {language!r}.")
    if tiles is None:
        tiles = (cfg.get("output") or {}).get("map_tiles") or None
    if offline is None:
        offline = bool((cfg.get("output") or {}).get("map_offline", False))
    from landcarbon.accounting.display_units import from_display

    # the tables were written in the run's display units (万吨 / 亩); drawn from t and ha
    files = write_publication(run.folder, from_display(run.units), run.manifest,
                              class_areas=None if run.class_areas is None
                              else from_display(run.class_areas), rasters=run.rasters,
                              language=language, tiles=tiles, offline=offline,
                              progress=progress)
    manifest = run.manifest
    manifest["published"] = {"language": language, "offline": offline, "tiles": tiles,
                             "at": datetime.now(UTC).isoformat(timespec="seconds")}
    update_manifest(run.folder, manifest, [*files.values(), name("run", "units_gpkg")])
    return files


def _check_own(folder: Path) -> None:
    """Refuse to write the map, report, figures and styles into a folder landcarbon did not
    write (no marker: a run's manifest copied into a folder of one's own), or over files
    there that it did not write.

    Raises
    ------
    UnsafeOutputError
        Naming the folder or the files, and what to do.
    """
    from landcarbon.config.outputs import MARKER, PUBLISHED
    from landcarbon.exceptions import UnsafeOutputError
    from landcarbon.io.ownership import check_no_links, foreign_entries

    foreign = foreign_entries(folder)
    if foreign is None:
        raise UnsafeOutputError(
            f"{folder} holds a run's manifest but no landcarbon marker ({MARKER}): landcarbon "
            "did not write this folder (or its marker was removed), and `landcarbon map` "
            "writes only into folders it wrote. Run the assessment into a new folder "
            "(landcarbon run CONFIG -o NEW), or copy the whole run folder, marker included.")
    check_no_links(folder, *sorted(PUBLISHED), name("run", "units_gpkg"))  # named as links
    clash = sorted(f for f in foreign  # (figures: a folder that is not landcarbon's)
                   if f in PUBLISHED | {"figures", name("run", "units_gpkg")})
    if clash:
        raise UnsafeOutputError(
            f"{folder} holds {', '.join(clash[:6])}, which landcarbon did not write; "
            "`landcarbon map` would replace them. Move them elsewhere, then run it again.")


def build_portal(workspace: str | Path, *, language: Literal["zh", "en"] = "zh",
                 title: str | None = None) -> Path:
    """Write ``WORKSPACE/index.html`` linking every run found one or two levels down:
    assessments and zoning (``run.json``), change (``change.json``), scenario
    (``scenario.json``) and stocks (``stocks.json``) runs, each with its kind and data
    year(s); a run whose manifest is damaged is listed as damaged (with the reason, logged
    as skipped), never stopping the portal.

    Assessment runs without an atlas report get one (``publish_run``). Newest run (manifest
    modification time) first; the newest with a static risk map up front.

    Returns
    -------
    pathlib.Path
        The index file.
    """
    from landcarbon.io.locks import output_lock
    from landcarbon.io.ownership import check_file_replaceable

    index = Path(workspace) / name("portal", "index")
    check_file_replaceable(index)
    with output_lock(index, what="Portal index"):
        return _build_portal(index.parent, language, title)


def _build_portal(workspace: Path, language: Literal["zh", "en"], title: str | None) -> Path:
    from landcarbon.io.publication import write_text
    from landcarbon.pipeline.portal import portal_rows
    from landcarbon.publish.portal import portal_index

    runs = portal_rows(workspace, language, publish_run)
    if not runs:
        raise InputError(f"no run found in {workspace}: expected sub-folders with run.json, "
                         "change.json, scenario.json or stocks.json (outputs of `landcarbon "
                         "run`, `change`, `scenario`, `stocks`).")
    index = write_text(workspace / name("portal", "index"), portal_index(
        runs, language=language, title=title, version=package_version()))
    log.info("portal: %d runs -> %s", len(runs), index)
    return index
