"""Publishing orchestration: a finished run folder -> maps, atlas report, figures, QGIS style
(no recomputation); a workspace of runs -> the monitoring portal ``index.html``."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from landcarbon._resources import package_version
from landcarbon.exceptions import InputError, OutputExistsError

__all__ = ["build_portal", "publish_run"]

log = logging.getLogger(__name__)

_PUBLISHED = ("map.html", "report.html")


def publish_run(run_dir: str | Path, *, language: Literal["zh", "en"] | None = None,
                offline: bool | None = None, tiles: str | None = None,
                overwrite: bool = False
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

    Returns
    -------
    dict
        ``{role: file name}`` written; ``run.json`` records their checksums.
    """
    from landcarbon.io.locks import output_lock

    with output_lock(Path(run_dir)):
        return _publish_run(run_dir, language, offline, tiles, overwrite)


def _publish_run(run_dir: str | Path, language: Literal["zh", "en"] | None,
                 offline: bool | None, tiles: str | None, overwrite: bool) -> dict[str, str]:
    from landcarbon.io.publication import read_run, update_manifest
    from landcarbon.pipeline.publication import write_publication

    run = read_run(run_dir)
    existing = [n for n in _PUBLISHED if (run.folder / n).exists()]
    if existing and not overwrite:
        raise OutputExistsError(f"{run.folder} already has {', '.join(existing)}; pass "
                                "--overwrite (overwrite=True) to rebuild them.")
    cfg = run.manifest.get("config", {})
    language = language or cfg.get("language") or "zh"
    if language not in ("zh", "en"):
        raise InputError(f"language must be 'zh' or 'en', not {language!r}.")
    if tiles is None:
        tiles = (cfg.get("output") or {}).get("map_tiles") or None
    if offline is None:
        offline = bool((cfg.get("output") or {}).get("map_offline", False))
    files = write_publication(run.folder, run.units, run.manifest,
                              class_areas=run.class_areas, rasters=run.rasters,
                              language=language, tiles=tiles, offline=offline)
    manifest = run.manifest
    manifest["published"] = {"language": language, "offline": offline, "tiles": tiles,
                             "at": datetime.now(UTC).isoformat(timespec="seconds")}
    update_manifest(run.folder, manifest, [*files.values(), "units.gpkg"])
    return files


def build_portal(workspace: str | Path, *, language: Literal["zh", "en"] = "zh",
                 title: str | None = None) -> Path:
    """Write ``WORKSPACE/index.html`` linking every run found one or two levels down.

    Runs without an atlas report get one (``publish_run``). Newest run (``run.json``
    modification time) first, its static risk map up front.

    Returns
    -------
    pathlib.Path
        The index file.
    """
    from landcarbon.io.locks import output_lock
    from landcarbon.io.ownership import check_file_replaceable

    workspace = Path(workspace)
    check_file_replaceable(workspace / "index.html")
    with output_lock(workspace / "index.html", what="Portal index"):
        return _build_portal(workspace, language, title)


def _href(path: str) -> str:
    """A link to ``path`` (relative, ``/``-separated): percent-encoded and starting with
    ``./``, so that no folder name (``javascript:...``, ``//host``) becomes a scheme or a
    host."""
    from urllib.parse import quote

    return "./" + quote(path, safe="/")


def data_years(manifest: dict[str, Any]) -> str:
    """The year(s) a run's data describe (not when it ran): the thresholds' year, the dates
    of a change run, else the 4-digit years in the land-cover path(s) and the title;
    ``–`` when none is known."""
    import re

    config = manifest.get("config", {})
    found: set[int] = set()
    year = (config.get("thresholds") or {}).get("year")
    if isinstance(year, int):
        found.add(year)
    for key in ("dates", "years"):
        for d in config.get(key) or []:
            y = d.get("year") if isinstance(d, dict) else d
            if isinstance(y, int):
                found.add(y)
    if not found:
        text = json.dumps([(config.get("landcover") or {}).get("path"), config.get("title")],
                          ensure_ascii=False)
        found = {int(y) for y in re.findall(r"(?<!\d)((?:19|20)\d{2})(?!\d)", text)}
    return "、".join(str(y) for y in sorted(found)) if found else "–"


def _build_portal(workspace: Path, language: Literal["zh", "en"], title: str | None) -> Path:
    from landcarbon.accounting.conversions import flux_suffix, unit_label
    from landcarbon.accounting.risk import risk_levels_vs_limit
    from landcarbon.exceptions import LandcarbonError
    from landcarbon.io.publication import find_runs, write_text
    from landcarbon.publish._html import fmt, label
    from landcarbon.publish.portal import PortalRun, portal_index

    runs = []
    for folder, manifest, _mtime in find_runs(workspace):
        if not (folder / "report.html").exists():
            try:
                publish_run(folder, language=language)
            except LandcarbonError as exc:
                log.warning("skipped %s: %s", folder, exc)
                continue
        totals = manifest.get("totals", {})
        sfx = flux_suffix(totals) or "tc"
        unit = unit_label(sfx, display=True)
        levels = totals.get("risk_levels", {})
        risk = " · ".join(f"{label('risk_levels', k, language)} {v}" for k, v in levels.items()
                          if k in risk_levels_vs_limit("above") and v)
        rel = folder.relative_to(workspace).as_posix()
        image = f"{rel}/figures/map_risk_level.png"
        runs.append(PortalRun(
            name=rel, title=manifest.get("config", {}).get("title", ""),
            date=data_years(manifest),
            units=f"{totals.get('units', '')}", net=f"{fmt(totals.get(f'net_{sfx}'))} {unit}/yr",
            risk=risk or "–", report=_href(f"{rel}/report.html"), map=_href(f"{rel}/map.html"),
            image=_href(image) if (workspace / image).is_file() else None))
    if not runs:
        raise InputError(f"no run found in {workspace}: expected sub-folders with run.json "
                         "(outputs of `landcarbon run`).")
    index = write_text(workspace / "index.html", portal_index(
        runs, language=language, title=title, version=package_version()))
    log.info("portal: %d runs -> %s", len(runs), index)
    return index
