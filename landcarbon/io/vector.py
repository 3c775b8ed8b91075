"""Reading land units and parcels (GeoPackage, Shapefile, GeoJSON, FlatGeobuf) and writing
unit tables."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from landcarbon.exceptions import InputError

__all__ = ["TEXT_ENCODING_GUESSED", "read_units", "read_vector", "reading_once", "unit_id_text",
           "write_layer"]

#: ``attrs`` key of a layer whose text was read in an encoding the file does not declare
#: (a shapefile without ``.cpg``: :func:`landcarbon.io.dbf.undeclared_text_encoding`)
TEXT_ENCODING_GUESSED = "landcarbon_text_encoding_guessed"

#: the layers read inside :func:`reading_once` scopes (innermost last)
_SCOPES: list[dict[tuple[Any, ...], gpd.GeoDataFrame]] = []
_SCOPES_LOCK = threading.Lock()


@contextlib.contextmanager
def reading_once() -> Iterator[None]:
    """Inside, :func:`read_vector` reads a layer once: asked again for the same file (path,
    size, modification time and inode unchanged) and layer, it returns a copy of what it read
    (a run's gate and its assessment both read the units; 102,400 units: ~0.6 s a read)."""
    memo: dict[tuple[Any, ...], gpd.GeoDataFrame] = {}
    with _SCOPES_LOCK:
        _SCOPES.append(memo)
    try:
        yield
    finally:
        with _SCOPES_LOCK:
            _SCOPES.remove(memo)


def read_vector(path: str | os.PathLike[str], *, layer: str | None = None,
                what: str = "Land units") -> gpd.GeoDataFrame:
    """Read a vector layer with a clear error for missing files (and missing parts of a
    shapefile), unreadable files, missing or ambiguous layers, empty layers and no CRS.

    A shapefile whose text encoding is declared nowhere (no ``.cpg``, no code page in its
    ``.dbf``) is read as UTF-8 or GB18030 when its text reads only that way
    (:func:`landcarbon.io.dbf.undeclared_text_encoding`; ``attrs[TEXT_ENCODING_GUESSED]``
    says which). A file with several layers needs ``layer`` (the error lists them), unless
    only one of them has geometry (the others are attribute tables): that one is read. GDAL's
    warnings are not shown: every problem they signal is an error here. Inside
    :func:`reading_once`, a layer read before is not read again.

    Returns
    -------
    geopandas.GeoDataFrame
        The layer's features (at least one), with a CRS.
    """
    with _SCOPES_LOCK:
        memo = _SCOPES[-1] if _SCOPES else None
    remote = "://" in str(path) or str(path).startswith("/vsi")
    try:
        st = None if memo is None or remote else os.stat(path)
    except OSError:  # missing: the read says so
        st = None
    if memo is None or st is None:
        return _read_vector(path, layer=layer, what=what)
    key = (os.path.realpath(path), layer, st.st_size, st.st_mtime_ns, st.st_ino)
    if key not in memo:
        memo[key] = _read_vector(path, layer=layer, what=what)
    return memo[key].copy()


#: Files read without a layer setting (scenario masks and protected areas, batch regions):
#: how to give one of several layers
_ONE_LAYER_FILES = {
    what: ("Save the layer to use as a file of its own (ogr2ogr -f GPKG one_layer.gpkg "
           f"FILE LAYER): {kind} take a file of one layer.")
    for what, kind in (("Mask polygons", "scenario masks and protected areas"),
                       ("Regions", "batch --regions"))}


def _read_vector(path: str | os.PathLike[str], *, layer: str | None,
                 what: str) -> gpd.GeoDataFrame:
    import warnings

    import pyogrio

    p = Path(path)
    remote = "://" in str(path) or str(path).startswith("/vsi")
    if not remote and not p.exists():
        raise InputError(f"{what} file {str(path)!r} does not exist. Check the path (relative "
                         "paths are relative to the config file).", code="file_missing")
    if not remote and p.suffix.lower() == ".shp":
        _check_shapefile_parts(p, what)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            listed = pyogrio.list_layers(path)
        except Exception as exc:
            if not remote and p.is_dir():
                raise InputError(f"{what} path {str(path)!r} is a folder, not a file. Give the "
                                 "file (e.g. townships.gpkg or townships.shp) in the config.",
                                 code="file_unreadable") from exc
            raise InputError(
                f"Cannot read {what.lower()} from {path}: it is not a readable vector file "
                f"({_first_line(exc)}). Give a GeoPackage, Shapefile, GeoJSON or FlatGeobuf "
                "file; an empty, truncated or damaged file must be exported again.",
                code="file_unreadable") from exc
        layers = [str(name) for name, _ in listed]
        kinds = {str(name): str(kind) for name, kind in listed}
        if not layers:
            raise InputError(f"{what} file {path} holds no layer (an empty GeoPackage?). "
                             "Export the units layer into it again.", code="file_unreadable")
        if layer is not None and layer not in layers:
            raise InputError(f"{what} file {path}: layer {layer!r} not found; layers: "
                             f"{_layer_list(layers, kinds)}. Set the layer name in the config "
                             "(or --layer on the command line).",
                             code="layer_missing")
        spatial = [name for name in layers if kinds[name] not in ("None", "")]
        if layer is None and len(layers) > 1 and len(spatial) == 1:
            layer = spatial[0]  # the others are attribute tables (no geometry)
        if layer is None and len(layers) > 1:
            choose = _ONE_LAYER_FILES.get(what, (
                "Say which one to read: set layer = \"<name>\" in the config section of this "
                "file (or --layer <name> on the command line)."))
            raise InputError(f"{what} file {path} has {len(layers)} layers: "
                             f"{_layer_list(layers, kinds)}. {choose}", code="layer_ambiguous")
        encoding = None
        if not remote and p.suffix.lower() == ".shp":
            from landcarbon.io.dbf import undeclared_text_encoding

            encoding = undeclared_text_encoding(p)
        try:
            gdf = gpd.read_file(path, layer=layer,
                                **({"encoding": encoding} if encoding else {}))
        except Exception as exc:
            raise InputError(f"Cannot read {what.lower()} from {path}"
                             + (f" (layer {layer})" if layer else "")
                             + f": {_first_line(exc)}. Export the layer again (a damaged or "
                             "truncated file looks like this).", code="file_unreadable") from exc
    if not isinstance(gdf, gpd.GeoDataFrame) or "geometry" not in gdf.columns:
        raise InputError(f"{what} file {path}" + (f" (layer {layer})" if layer else "")
                         + " has no geometry (a table without shapes, e.g. a CSV). Give the "
                         "polygons as a GeoPackage, Shapefile, GeoJSON or FlatGeobuf file.",
                         code="geometry_missing")
    if len(gdf) == 0:
        raise InputError(f"{what} file {path}" + (f" (layer {layer})" if layer else "")
                         + " has no features.", code="layer_empty")
    if gdf.crs is None:
        raise InputError(f"{what} file {path} has no CRS"
                         + (" (no .prj file beside the .shp)" if p.suffix.lower() == ".shp"
                            else "") + ". Define it (e.g. with QGIS or ogr2ogr -a_srs) before "
                         "running landcarbon.", code="crs_missing")
    if encoding:
        gdf.attrs[TEXT_ENCODING_GUESSED] = encoding
    return gdf


def _check_shapefile_parts(shp: Path, what: str) -> None:
    """A shapefile needs its .shx (index) and .dbf (attributes) beside the .shp."""
    names = {c.name.lower() for c in shp.parent.iterdir()} if shp.parent.is_dir() else set()
    missing = [ext for ext in (".shx", ".dbf")
               if f"{shp.stem}{ext}".lower() not in names]
    if missing:
        roles = {".shx": "the index of the shapes", ".dbf": "the attribute table: fields "
                 "and ids"}
        raise InputError(
            f"{what} shapefile {shp} is incomplete: "
            + ", ".join(f"{shp.stem}{ext} ({roles[ext]})" for ext in missing)
            + " is missing beside it. A shapefile is several files: copy .shp, .shx, .dbf "
            "and .prj together (or use a GeoPackage, one file).", code="file_unreadable")


def _layer_list(layers: list[str], kinds: dict[str, str]) -> str:
    return ", ".join(f"{name!r} ({kinds.get(name, '?')})" for name in layers)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text.split("; It might help")[0].rstrip(". ")


def unit_id_text(column: pd.Series) -> pd.Series:
    """Unit ids as text, as every reader of ids (units, the checks, energy and statistics
    tables) gives them: without surrounding blanks, and whole numbers stored as decimals (a
    shapefile's numeric field with decimals, an id column saved from a spreadsheet:
    410102001.0) without the ``.0``, as the energy and statistics tables write them."""
    if column.dtype.kind == "f":
        values = column.to_numpy()
        finite = np.isfinite(values)
        if finite.any() and (np.abs(values[finite]) < 2.0 ** 53).all() and (
                values[finite] == np.round(values[finite])).all():
            return pd.Series([str(int(v)) if f else str(v) for v, f in zip(values, finite,
                                                                            strict=True)],
                             index=column.index)
    return column.astype(str).str.strip()


def read_units(path: str | os.PathLike[str], *, layer: str | None = None,
               id_field: str | None = None, name_field: str | None = None) -> gpd.GeoDataFrame:
    """Read land units as a GeoDataFrame with ``unit_id`` and ``unit_name`` (strings) first.

    ``id_field`` defaults to the row number (1-based) and ``name_field`` to the id. Other
    attributes are kept. Ids must be unique and non-empty.

    Returns
    -------
    geopandas.GeoDataFrame
        ``unit_id``, ``unit_name``, the file's other attributes and ``geometry``, in the
        file's CRS.
    """
    gdf = read_vector(path, layer=layer)
    for field, role in ((id_field, "id_field"), (name_field, "name_field")):
        if field is not None and field not in gdf.columns:
            raise InputError(f"Land units {path}: {role} {field!r} is not a field; fields: "
                             f"{', '.join(c for c in gdf.columns if c != 'geometry')}.")
    ids = (unit_id_text(gdf[id_field]) if id_field else
           gdf.index.to_series().add(1).astype(str))
    bad = ids[(ids.str.strip() == "") | gdf[id_field].isna()] if id_field else ids.iloc[:0]
    dups = ids[ids.duplicated(keep=False)]
    if len(bad) or len(dups):
        parts = []
        if len(bad):
            parts.append(f"{len(bad)} feature(s) have an empty id (rows "
                         f"{', '.join(map(str, bad.index[:10] + 1))})")
        if len(dups):
            parts.append(f"duplicate ids {', '.join(sorted(set(dups))[:10])}")
        raise InputError(f"Land units {path}: {'; '.join(parts)}. Unit ids in field "
                         f"{id_field!r} must be unique and non-empty.")
    names = gdf[name_field].astype(str) if name_field else ids
    extra = gdf.drop(columns=[c for c in ("unit_id", "unit_name") if c in gdf.columns])
    out = extra.assign(unit_id=ids.to_numpy(), unit_name=names.to_numpy())
    cols = ["unit_id", "unit_name"] + [c for c in extra.columns if c != "geometry"] + ["geometry"]
    return gpd.GeoDataFrame(out[cols], geometry="geometry", crs=gdf.crs)


def write_layer(table: gpd.GeoDataFrame, path: str | os.PathLike[str], *,
                layer: str = "units") -> None:
    """Write ``table`` as GeoPackage layer ``layer`` of ``path`` (a new file, or another
    layer of one landcarbon is writing). Every GeoPackage landcarbon writes goes through here.

    The file is byte-identical for identical tables: GDAL's ``last_change`` timestamp is
    pinned (``OGR_CURRENT_DATE``) for the duration of the write.
    """
    import pyogrio

    previous = pyogrio.get_gdal_config_option("OGR_CURRENT_DATE")
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": "2000-01-01T00:00:00.000Z"})
    try:
        table.to_file(path, layer=layer, driver="GPKG")
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": previous})
