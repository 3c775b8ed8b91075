"""Reading a finished run folder, and the file formats of its published outputs: HTML text,
PNG text chunks, the QGIS style + provenance metadata of ``units.gpkg`` (what gets published
is decided by :mod:`landcarbon.pipeline.publication`)."""

from __future__ import annotations

import json
import logging
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from landcarbon.config.outputs import name as output_name
from landcarbon.exceptions import InputError
from landcarbon.io.outputs import atomic_path
from landcarbon.io.tables import read_output_csv

if TYPE_CHECKING:
    import geopandas as gpd
    import xarray as xr

log = logging.getLogger(__name__)

__all__ = [
    "RUN_MANIFESTS",
    "FoundRun",
    "RunFolder",
    "find_all_runs",
    "meta_tags",
    "png_with_text",
    "read_manifest",
    "read_raster_preview",
    "read_run",
    "update_manifest",
    "write_gpkg_provenance",
    "write_layer_style",
    "write_text",
]

#: timestamp written into the GeoPackage tables (like ``write_layer``' pinned GDAL date), so
#: that identical runs give byte-identical files
PINNED_TIME = "2000-01-01T00:00:00.000Z"

RASTER_FILES = {k: output_name("run", k) for k in ("land_class", "space_type", "net_flux")}
_UNITS, _MANIFEST = output_name("run", "units_gpkg"), output_name("run", "manifest")


@dataclass
class RunFolder:
    """The published inputs of a finished run (no recomputation needed)."""

    folder: Path
    units: gpd.GeoDataFrame
    manifest: dict[str, Any]
    class_areas: pd.DataFrame | None = None
    rasters: dict[str, Path] = field(default_factory=dict)


def read_run(folder: str | Path) -> RunFolder:
    """Read ``units.gpkg``, ``run.json``, ``class_areas.csv`` and locate the rasters of a run.

    Raises
    ------
    InputError
        When the folder is not a finished run (``units.gpkg`` or ``run.json`` missing).
    """

    folder = Path(folder)
    missing = [n for n in (_UNITS, _MANIFEST) if not (folder / n).is_file()]
    other = next((kind for name, kind in RUN_MANIFESTS.items()
                  if kind != "assessment" and (folder / name).is_file()), None)
    if missing and other is not None:  # another command's folder: its own map and report
        how = ("which has no map" if other == "stocks" else
               f"which draws its own map and report (`landcarbon {other} CONFIG -o {folder} "
               "--overwrite` draws them again)")
        raise InputError(f"{folder} is the output of `landcarbon {other}`, {how}. "
                         "`landcarbon map` redraws the folders of `landcarbon run`, `zone` "
                         "and `demo`.")
    if missing:
        raise InputError(f"{folder} is not a finished landcarbon run: {', '.join(missing)} "
                         "missing. Pass the output folder of `landcarbon run` (or `demo`).")
    manifest = read_manifest(folder / _MANIFEST)
    from landcarbon.io.vector import read_vector

    try:
        units = read_vector(folder / _UNITS, layer="units", what="The run's units")
    except InputError as exc:
        raise InputError(f"The run folder {folder} holds a damaged {_UNITS}: {exc} Run that "
                         "configuration again (landcarbon run CONFIG -o FOLDER --overwrite)."
                         ) from None
    ca = folder / output_name("run", "class_areas_csv")
    class_areas = read_output_csv(ca, dtype={"unit_id": str}) if ca.is_file() else None
    rasters = {k: folder / n for k, n in RASTER_FILES.items() if (folder / n).is_file()}
    return RunFolder(folder, units, manifest, class_areas, rasters)


def read_manifest(path: str | Path) -> dict[str, Any]:
    """The manifest (``run.json``) of a finished run.

    Raises
    ------
    InputError
        If it is not a JSON object (truncated by a full disk or an interrupted copy,
        edited by hand).
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        data = None
    except ValueError as exc:
        raise InputError(
            f"{path} is not valid JSON ({exc}): the run's manifest is damaged, e.g. truncated "
            "by a full disk or an interrupted copy. Run that configuration again (landcarbon "
            "run CONFIG -o FOLDER --overwrite) or remove the folder.") from None
    if not isinstance(data, dict):
        raise InputError(
            f"{path} is not a landcarbon run manifest (not a JSON object in UTF-8). Run that "
            "configuration again (landcarbon run CONFIG -o FOLDER --overwrite) or remove the "
            "folder.")
    wrong = [k for k in _OBJECTS if k in data and not isinstance(data[k], dict)]
    if wrong:
        raise InputError(
            f"{path}: {', '.join(repr(k) for k in wrong)} should be a JSON object (as "
            "landcarbon writes it): the run's manifest was edited or damaged. Run that "
            "configuration again (landcarbon run CONFIG -o FOLDER --overwrite) or remove the "
            "folder.")
    return data


#: keys of a manifest that landcarbon writes as JSON objects
_OBJECTS = ("config", "settings", "totals", "display", "inputs_sha256", "outputs_sha256",
            "timings_s")


#: manifest file -> kind of run folder (``run.json`` with ``zoning.json`` beside it: zoning)
RUN_MANIFESTS = {output_name(folder, "manifest"): kind for folder, kind in (
    ("run", "assessment"), ("change", "change"), ("scenario", "scenario"), ("stocks", "stocks"))}


@dataclass(frozen=True)
class FoundRun:
    """A run folder of a workspace: its kind (``assessment``, ``zoning``, ``change``,
    ``scenario``, ``stocks``), its manifest (None when damaged: ``error`` says why) and the
    manifest's modification time (the run's time)."""

    folder: Path
    kind: str
    manifest: dict[str, Any] | None
    mtime: float
    error: str = ""


def find_all_runs(workspace: str | Path) -> list[FoundRun]:
    """Every run folder one or two levels below ``workspace`` (any kind of
    :data:`RUN_MANIFESTS`), newest first; a damaged manifest is returned with its error
    (and logged), never raised."""
    workspace = Path(workspace)
    if not workspace.is_dir():
        raise InputError(f"workspace {workspace} is not a folder; pass a folder holding run "
                         "folders (each with run.json, change.json, scenario.json or "
                         "stocks.json).")
    found: dict[Path, Path] = {}
    for name in RUN_MANIFESTS:  # one manifest per folder, run.json first
        for pattern in (f"*/{name}", f"*/*/{name}"):
            for p in sorted(workspace.glob(pattern)):
                found.setdefault(p.parent, p)
    out = []
    for folder, path in found.items():
        kind = RUN_MANIFESTS[path.name]
        if kind == "assessment" and (folder / output_name("run", "zoning_summary")).is_file():
            kind = "zoning"
        try:
            mtime = path.stat().st_mtime
        except OSError:
            mtime = 0.0
        try:
            out.append(FoundRun(folder, kind, read_manifest(path), mtime))
        except (InputError, OSError) as exc:
            log.warning("skipped %s (listed as damaged): %s", folder, exc)
            out.append(FoundRun(folder, kind, None, mtime, str(exc)))
    return sorted(out, key=lambda r: r.mtime, reverse=True)


def update_manifest(folder: str | Path, manifest: dict[str, Any], files: list[str]) -> None:
    """Record the SHA-256 of ``files`` in ``run.json``; its modification time stays the run's
    time (the portal dates and orders runs by it)."""
    import os

    from landcarbon.io.outputs import sha256, write_json
    from landcarbon.io.ownership import record_entries

    folder = Path(folder)
    hashes = manifest.setdefault("outputs_sha256", {})
    for name in files:
        hashes[name] = sha256(folder / name)
    path = folder / _MANIFEST
    stat = path.stat()
    record_entries(folder, files)
    write_json(manifest, path)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def write_text(path: str | Path, text: str | list[str]) -> Path:
    """Write a UTF-8 text file atomically (replaced only when complete). ``text`` may come
    in pieces (e.g. a map's page and its data), each encoded a few MB at a time: a map of tens
    of megabytes is never copied whole into bytes."""
    pieces = [text] if isinstance(text, str) else text
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as f:
        for piece in pieces:
            for at in range(0, len(piece), _CHARS_AT_ONCE):
                f.write(piece[at:at + _CHARS_AT_ONCE])
    return Path(path)


#: characters encoded and written at a time by :func:`write_text`
_CHARS_AT_ONCE = 1 << 22


def read_raster_preview(path: str | Path, max_size: int = 1024) -> xr.DataArray:
    """Read a raster at most ``max_size`` pixels on its long side (COG overviews make this
    cheap for large rasters); nodata -> 0 for class rasters, NaN for float ones."""
    import numpy as np
    import rasterio
    import rioxarray  # noqa: F401  (registers .rio)
    import xarray as xr
    from rasterio.enums import Resampling

    with rasterio.open(path) as src:
        step = max(1, int(np.ceil(max(src.width, src.height) / max_size)))
        h, w = int(np.ceil(src.height / step)), int(np.ceil(src.width / step))
        floating = np.dtype(src.dtypes[0]).kind == "f"
        data = src.read(1, out_shape=(h, w), resampling=Resampling.nearest,
                        masked=True)
        data = data.filled(np.nan if floating else 0)
        transform = src.transform * src.transform.scale(src.width / w, src.height / h)
        crs = src.crs
    xs = transform.c + transform.a * (np.arange(w) + 0.5)
    ys = transform.f + transform.e * (np.arange(h) + 0.5)
    da = xr.DataArray(data, dims=("y", "x"), coords={"y": ys, "x": xs})
    return da.rio.write_crs(crs).rio.write_transform(transform)


def _geometry_column(con: sqlite3.Connection, layer: str) -> str:
    row = con.execute("SELECT column_name FROM gpkg_geometry_columns WHERE table_name = ?",
                      (layer,)).fetchone()
    return row[0] if row else "geom"


def write_layer_style(gpkg: str | Path, qml: str, sld: str, *, layer: str = "units",
                      name: str = "risk_level", description: str = "") -> None:
    """Store a QGIS style as the default style of ``layer`` (GeoPackage ``layer_styles``)."""
    with sqlite3.connect(gpkg) as con:
        con.execute(
            "CREATE TABLE IF NOT EXISTS layer_styles (id INTEGER PRIMARY KEY AUTOINCREMENT, "
            "f_table_catalog TEXT(256), f_table_schema TEXT(256), f_table_name TEXT(256), "
            "f_geometry_column TEXT(256), styleName TEXT(30), styleQML TEXT, styleSLD TEXT, "
            "useAsDefault BOOLEAN, description TEXT, owner TEXT(30), ui TEXT(30), "
            "update_time DATETIME DEFAULT CURRENT_TIMESTAMP)")
        con.execute("INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, "
                    "last_change) VALUES ('layer_styles', 'attributes', 'layer_styles', ?)",
                    (PINNED_TIME,))
        con.execute("DELETE FROM layer_styles WHERE f_table_name = ? AND styleName = ?",
                    (layer, name))
        con.execute("UPDATE layer_styles SET useAsDefault = 0 WHERE f_table_name = ?", (layer,))
        con.execute(
            "INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, "
            "f_geometry_column, styleName, styleQML, styleSLD, useAsDefault, description, "
            "owner, update_time) VALUES ('', '', ?, ?, ?, ?, ?, 1, ?, 'landcarbon', ?)",
            (layer, _geometry_column(con, layer), name, qml, sld, description, PINNED_TIME))


def write_gpkg_provenance(gpkg: str | Path, tags: dict[str, str], *, layer: str = "units"
                          ) -> None:
    """Attach ``tags`` as layer metadata (GeoPackage metadata extension, the way GDAL stores
    it: QGIS / ``ogrinfo`` show them)."""
    from xml.sax.saxutils import escape, quoteattr

    items = "".join(f"<MDI key={quoteattr(k)}>{escape(str(v))}</MDI>" for k, v in tags.items())
    xml = f"<GDALMultiDomainMetadata><Metadata>{items}</Metadata></GDALMultiDomainMetadata>"
    with sqlite3.connect(gpkg) as con:
        con.execute("CREATE TABLE IF NOT EXISTS gpkg_metadata (id INTEGER CONSTRAINT m_pk "
                    "PRIMARY KEY ASC NOT NULL, md_scope TEXT NOT NULL DEFAULT 'dataset', "
                    "md_standard_uri TEXT NOT NULL, mime_type TEXT NOT NULL DEFAULT "
                    "'text/xml', metadata TEXT NOT NULL DEFAULT '')")
        con.execute("CREATE TABLE IF NOT EXISTS gpkg_metadata_reference (reference_scope "
                    "TEXT NOT NULL, table_name TEXT, column_name TEXT, row_id_value INTEGER, "
                    "timestamp DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),"
                    " md_file_id INTEGER NOT NULL, md_parent_id INTEGER)")
        con.execute("CREATE TABLE IF NOT EXISTS gpkg_extensions (table_name TEXT, column_name "
                    "TEXT, extension_name TEXT NOT NULL, definition TEXT NOT NULL, scope TEXT "
                    "NOT NULL)")
        for table in ("gpkg_metadata", "gpkg_metadata_reference"):
            if not con.execute("SELECT 1 FROM gpkg_extensions WHERE table_name = ? AND "
                               "extension_name = 'gpkg_metadata'", (table,)).fetchone():
                con.execute("INSERT INTO gpkg_extensions VALUES (?, NULL, 'gpkg_metadata', "
                            "'http://www.geopackage.org/spec120/#extension_metadata', "
                            "'read-write')", (table,))
        old = [r[0] for r in con.execute(
            "SELECT md_file_id FROM gpkg_metadata_reference WHERE table_name = ? AND "
            "md_file_id IN (SELECT id FROM gpkg_metadata WHERE md_standard_uri = "
            "'http://gdal.org')", (layer,))]
        for i in old:
            con.execute("DELETE FROM gpkg_metadata_reference WHERE md_file_id = ?", (i,))
            con.execute("DELETE FROM gpkg_metadata WHERE id = ?", (i,))
        cur = con.execute("INSERT INTO gpkg_metadata (md_scope, md_standard_uri, mime_type, "
                          "metadata) VALUES ('dataset', 'http://gdal.org', 'text/xml', ?)",
                          (xml,))
        con.execute("INSERT INTO gpkg_metadata_reference (reference_scope, table_name, "
                    "md_file_id, timestamp) VALUES ('table', ?, ?, ?)",
                    (layer, cur.lastrowid, PINNED_TIME))


def png_with_text(data: bytes, tags: dict[str, str]) -> bytes:
    """Insert ``tags`` as PNG ``iTXt`` chunks (UTF-8 key/value metadata) after the header."""
    import struct
    import zlib

    chunks = b""
    for key, value in tags.items():
        body = key.encode("latin-1")[:79] + b"\0\0\0\0\0" + str(value).encode("utf-8")
        chunks += (struct.pack(">I", len(body)) + b"iTXt" + body
                   + struct.pack(">I", zlib.crc32(b"iTXt" + body) & 0xFFFFFFFF))
    end_of_ihdr = 8 + 4 + 4 + 13 + 4  # signature, IHDR length, type, data, crc
    return data[:end_of_ihdr] + chunks + data[end_of_ihdr:]


def meta_tags(tags: dict[str, str]) -> str:
    from html import escape

    return "".join(f'<meta name="landcarbon:{escape(k)}" content="{escape(str(v))}">'
                   for k, v in tags.items())
