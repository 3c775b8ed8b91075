"""The monitoring portal: one static ``index.html`` for a workspace of runs (assessments,
zoning, change, scenarios, stocks; dates and regions), linking each run's report and map, with
the latest risk map up front; a damaged run is listed as such with the reason."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from landcarbon.publish._html import templates, ui
from landcarbon.publish.fonts import embed_font

__all__ = ["PortalRun", "portal_index"]


@dataclass(frozen=True)
class PortalRun:
    """What the index shows of one run (paths relative to the workspace, with ``/``)."""

    name: str
    title: str
    date: str
    units: str
    net: str
    risk: str
    report: str
    map: str
    image: str | None = None
    kind: str = ""
    broken: bool = False
    note: str = ""
    detail: str = ""


def portal_index(runs: Sequence[PortalRun], *, language: Literal["zh", "en"] = "zh",
                 title: str | None = None, version: str = "") -> str:
    """HTML of the portal index; ``runs`` newest first (the newest with a risk map image is
    shown up front).

    Every text is escaped (Jinja2 autoescape)."""
    t = {k: ui(k, language) for k in ("latest", "runs", "run", "title", "date", "units", "net",
                                      "risk_level", "maps", "interactive_map", "report",
                                      "kind", "damaged")}
    shown = [r for r in runs if not r.broken and r.map]
    latest = next((r for r in shown if r.image), shown[0] if shown else None)
    env = templates()
    return embed_font(script=True, html_text=env.get_template("portal.html.j2").render(
        lang=language, t=t, title=title or ui("portal", language), runs=list(runs),
        latest=latest, version=version))
