"""Publishing commands: ``map`` (maps + atlas report of a finished run), ``portal`` (index of
a workspace of runs) and ``serve`` (local preview of a workspace)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import click

from landcarbon.cli._base import (
    handle_errors,
    interrupt_notes,
    log,
    main,
)
from landcarbon.cli._options import (
    InputPath,
    overwrite_option,
    print_files,
    progress_default,
)


@main.command(name="map")
@click.argument("run_dir", type=InputPath(exists=True, file_okay=False))
@click.option("--language", type=click.Choice(["zh", "en"]), default=None,
              help="Language of labels (default: the run's setting).")
@click.option("--offline/--online", default=None, help="--offline: map that works without "
              "internet access (Leaflet and plugins inlined, no basemap tiles, no external "
              "request). Default: the run's output.map_offline.")
@click.option("--tiles", default=None, help="Basemap: plain, osm, positron, gaode, "
              "gaode_satellite (GCJ-02: data shifted to match) or a folium tile name.")
@overwrite_option
@handle_errors
def map_(run_dir: Path, language: Literal["zh", "en"] | None, offline: bool | None,
         tiles: str | None, overwrite: bool) -> None:
    """Rebuild the web map, atlas report, figures and QGIS style of a finished run
    (reads units.gpkg, rasters and run.json; nothing is recomputed).

    \b
    Example:
      landcarbon map out/zhengzhou_2023 --language zh --offline --overwrite
    """
    from landcarbon.pipeline import publish_run

    interrupt_notes(f"some of the map, report, figures and run.json of {run_dir} may be "
                    "redrawn and others not (each file is whole). Run `landcarbon map "
                    f"{run_dir} --overwrite` again to redraw them all.")
    files = publish_run(run_dir, language=language, offline=offline,
                        tiles=tiles, overwrite=overwrite, progress=progress_default())
    print_files(run_dir, files)


@main.command()
@click.argument("workspace", type=InputPath(exists=True, file_okay=False))
@click.option("--language", type=click.Choice(["zh", "en"]), default="zh", show_default=True,
              help="Language of the index page.")
@click.option("--title", default=None, help="Title of the index page.")
@handle_errors
def portal(workspace: Path, language: Literal["zh", "en"], title: str | None) -> None:
    """Write WORKSPACE/index.html linking every run in WORKSPACE (assessment, zoning,
    change, scenario, stocks; with its data years; a damaged run listed as such), static
    files for any intranet web server; assessment runs without a report get one.

    \b
    Example:
      landcarbon portal out/ --title "郑州市国土空间碳监测"
    """
    from landcarbon.pipeline import build_portal

    index = build_portal(workspace, language=language, title=title)
    click.echo(str(index))


@main.command()
@click.argument("workspace", type=InputPath(exists=True, file_okay=False))
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True,
              help="Port on 127.0.0.1 (0 = any free port).")
@click.option("--language", type=click.Choice(["zh", "en"]), default="zh", show_default=True,
              help="Language of the index page if it has to be built.")
@handle_errors
def serve(workspace: Path, port: int, language: Literal["zh", "en"]) -> None:
    """Preview a workspace (its portal index, reports and maps) at http://127.0.0.1:PORT/,
    building index.html first if missing. Local only, and only files inside WORKSPACE (a
    link pointing outside it is not served); stop with Ctrl+C.

    \b
    Example:
      landcarbon serve out/ --port 8080
    """
    from landcarbon.pipeline import build_portal
    from landcarbon.publish.server import make_server

    if not (workspace / "index.html").is_file():
        build_portal(workspace, language=language)
    with make_server(workspace, port) as httpd:
        host, bound = httpd.server_address[:2]
        host = host.decode() if isinstance(host, bytes) else host
        click.echo(f"Serving {workspace} at http://{host}:{bound}/ (Ctrl+C to stop)", err=True)
        log.debug("serving %s", workspace.resolve())
        try:
            httpd.serve_forever()
        except KeyboardInterrupt:
            click.echo("stopped", err=True)
