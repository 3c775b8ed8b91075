"""The rows of the monitoring portal: one :class:`~landcarbon.publish.portal.PortalRun` per run
folder of a workspace, whatever command wrote it (``run`` / ``zone``: assessment and zoning,
``change``, ``scenario``, ``stocks``), with the year(s) its data describe. A folder whose
manifest is damaged is listed as such (with the reason) and never stops the portal."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from landcarbon.config.outputs import name as output_name
from landcarbon.exceptions import LandcarbonError
from landcarbon.io.publication import RUN_MANIFESTS, FoundRun, find_all_runs
from landcarbon.publish._html import relative_href

__all__ = ["data_years", "portal_rows"]

log = logging.getLogger(__name__)

_ABOVE = ("exceeding", "severe")
#: kind of run folder -> its folder in the output registry
_FOLDER = {"assessment": "run", "zoning": "run", "change": "change", "scenario": "scenario",
           "stocks": "stocks"}


def _file(kind: str, role: str) -> str:
    """The declared file name of ``role`` in a run folder of ``kind`` ("" if none)."""
    from landcarbon.config.outputs import OUTPUTS

    folder = _FOLDER[kind]
    return next((o.file for o in OUTPUTS if o.folder == folder and o.id == role), "")


def _years(values: Any) -> set[int]:
    out = set()
    for d in values or []:
        y = d.get("year") if isinstance(d, dict) else d
        if isinstance(y, int) and not isinstance(y, bool):
            out.add(y)
    return out


def data_years(manifest: dict[str, Any], kind: str = "assessment") -> str:
    """The year(s) a run's data describe (not when it ran): the dates of a change run, the
    baseline year of a scenario run, the dates of a stocks study, the thresholds' year; else
    the 4-digit years in the land-cover path(s) and the title; ``–`` when none is known."""
    config = manifest.get("config", {}) or {}
    change = config.get("change") or {}
    found: set[int] = set()
    if kind == "change":
        found = _years(change.get("dates")) or _years((manifest.get("totals") or {})
                                                      .get("years"))
    elif kind == "scenario":
        base = change.get("baseline_year")
        dates = sorted(_years(change.get("dates")))
        found = {base} if isinstance(base, int) else ({dates[-1]} if dates else set())
    elif kind == "stocks":
        found = _years((manifest.get("totals") or {}).get("dates"))
    if not found:
        year = (config.get("thresholds") or {}).get("year")
        found = {year} if isinstance(year, int) else set()
        found |= _years(config.get("dates")) | _years(config.get("years"))
    if not found:
        text = json.dumps([(config.get("landcover") or {}).get("path"), config.get("title"),
                           (manifest.get("inputs") or {}).get("landcover")],
                          ensure_ascii=False)
        found = {int(y) for y in re.findall(r"(?<!\d)((?:19|20)\d{2})(?!\d)", text)}
    return "、".join(str(y) for y in sorted(found)) if found else "–"


def _risk(levels: dict[str, Any] | None, language: str) -> str:
    from landcarbon.publish._html import label

    return " · ".join(f"{label('risk_levels', k, language)} {v}"
                      for k, v in (levels or {}).items() if k in _ABOVE and v) or "–"


def _figures(run: FoundRun, language: str, unit: str,
             ) -> tuple[str, float | None, str, str]:
    """Units, net (t), its unit, risk text of one run."""
    from landcarbon.accounting.conversions import flux_suffix, unit_label

    m = run.manifest or {}
    totals = m.get("totals") or {}
    if run.kind == "change":
        by_year = totals.get("by_year") or {}
        last = by_year[max(by_year)] if by_year else {}
        sfx = flux_suffix(last) or "tc"
        levels = last.get("risk_levels") or {}
        return (str(sum(levels.values())) if levels else "", last.get(f"net_{sfx}"),
                unit_label(sfx, display=True), _risk(levels, language))
    if run.kind == "scenario":
        base = totals.get("baseline") or {}
        sfx = flux_suffix(base) or "tc"
        levels = base.get("risk_levels") or {}
        return (str(sum(levels.values())) if levels else "", base.get(f"net_{sfx}"),
                unit_label(sfx, display=True), _risk(levels, language))
    if run.kind == "stocks":
        n = totals.get("units")
        return ("" if n is None else str(n)), None, unit, "–"
    sfx = flux_suffix(totals) or "tc"
    return (f"{totals.get('units', '')}", totals.get(f"net_{sfx}"),
            unit_label(sfx, display=True), _risk(totals.get("risk_levels"), language))


def _publish_missing(run: FoundRun, language: Literal["zh", "en"],
                     publish: Callable[..., Any]) -> str:
    """Publish an assessment run without a report (its map drawn again with it); the error
    text if that fails, or if files its manifest lists are missing."""
    from landcarbon.config.outputs import PUBLISHED

    listed = (run.manifest or {}).get("outputs_sha256") or {}
    redrawn = PUBLISHED if run.kind in ("assessment", "zoning") else frozenset()
    missing = sorted(str(n) for n in listed
                     if str(n) not in redrawn and not (run.folder / str(n)).exists())
    if missing:
        text = (f"{run.folder}: {', '.join(missing[:6])} listed in its manifest "
                f"{'is' if len(missing) == 1 else 'are'} missing")
        log.warning("%s (listed as damaged)", text)
        return text
    if run.kind in ("assessment", "zoning") and not (
            run.folder / output_name("run", "report")).exists():
        try:
            publish(run.folder, language=language, overwrite=True)
        except LandcarbonError as exc:
            log.warning("skipped %s (listed as damaged): %s", run.folder, exc)
            return str(exc)
    return ""


def portal_rows(workspace: Path, language: Literal["zh", "en"],
                publish: Callable[..., Any]) -> list[Any]:
    """One :class:`~landcarbon.publish.portal.PortalRun` per run folder, newest first;
    assessment runs without a report are published with ``publish`` first."""
    from landcarbon.publish._html import ui
    from landcarbon.publish._units import total_column
    from landcarbon.publish.portal import PortalRun

    found = find_all_runs(workspace)
    figures = {}
    errors = {}
    for run in found:
        errors[run.folder] = run.error or _publish_missing(run, language, publish)
        if not errors[run.folder]:
            figures[run.folder] = _figures(run, language, "t C")
    # one unit per column: 万吨 when any net of that unit reaches 10^4 t (Chinese)
    formats = {u: total_column([f[1] for f in figures.values() if f[2] == u], u, language)
               for u in {f[2] for f in figures.values()}}
    rows = []
    for run in found:
        rel = run.folder.relative_to(workspace).as_posix()
        kind = ui(f"kind_{run.kind}", language)

        def link(role: str, rel: str = rel, folder: Path = run.folder,
                 kind_: str = run.kind) -> str:
            file = _file(kind_, role)
            return relative_href(f"{rel}/{file}") if file and (folder / file).is_file() else ""

        if errors[run.folder]:  # a plain sentence; the technical reason as its tooltip
            manifest = next((n for n, k in RUN_MANIFESTS.items() if k == run.kind),
                            output_name("run", "manifest"))
            rows.append(PortalRun(name=rel, title="", date="–", units="", net="", risk="",
                                  report="", map="", kind=kind, broken=True,
                                  note=ui("damaged_note", language).format(
                                      manifest=manifest if run.error
                                      else output_name("run", "report")),
                                  detail=errors[run.folder]))
            continue
        m = run.manifest or {}
        units, net, unit, risk = figures[run.folder]
        lab, f = formats[unit]
        report = link("report") or link("stock_totals")
        rows.append(PortalRun(
            name=rel, title=str((m.get("config") or {}).get("title", "") or ""),
            date=data_years(m, run.kind), units=units,
            net=f"{f(net)} {lab}" if net is not None else "–", risk=risk, report=report,
            map=link("map"), image=link("figure_map_risk_level") or None,
            kind=kind, note=_scenario_note(m, unit, language) if run.kind == "scenario"
            else ""))
    return rows


def _scenario_note(manifest: dict[str, Any], unit: str, language: str) -> str:
    """Each scenario's change of net emission against the baseline, in one line."""
    from landcarbon.accounting.conversions import output_suffix
    from landcarbon.publish._html import ui
    from landcarbon.publish._units import total_column

    scen = (manifest.get("totals") or {}).get("scenarios") or {}
    key = f"net_{output_suffix(unit)}_delta"
    lab, f = total_column([v.get(key) for v in scen.values()], unit, language)
    parts = [f"{name} {'+' if (v.get(key) or 0) > 0 else ''}{f(v.get(key))}"
             for name, v in scen.items() if v.get(key) is not None]
    colon, sep = ("：", "；") if language == "zh" else (": ", "; ")
    return f"{ui('net_change', language)}{colon}{sep.join(parts)} {lab}" if parts else ""
