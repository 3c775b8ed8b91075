"""Reading land units and parcels (GeoPackage, Shapefile, GeoJSON, FlatGeobuf) and writing
unit tables."""

from __future__ import annotations

import os
from pathlib import Path

import geopandas as gpd

from landcarbon.exceptions import InputError

__all__ = ["read_units", "read_vector", "write_units"]


def read_vector(path: str | os.PathLike[str], *, layer: str | None = None,
                what: str = "Land units") -> gpd.GeoDataFrame:
    """Read a vector layer with a clear error for missing files, layers and CRS."""
    import pyogrio

    p = Path(path)
    if not p.exists() and "://" not in str(path):
        raise InputError(f"{what} file {str(path)!r} does not exist. Check the path (relative "
                         "paths are relative to the config file).")
    try:
        if layer is not None:
            layers = [name for name, _ in pyogrio.list_layers(path)]
            if layer not in layers:
                raise InputError(f"{what} file {path}: layer {layer!r} not found; layers: "
                                 f"{', '.join(layers)}. Set the layer name in the config.")
        gdf = gpd.read_file(path, layer=layer)
    except InputError:
        raise
    except Exception as exc:
        raise InputError(f"Cannot read {what.lower()} from {path}: {exc}. Give a GeoPackage, "
                         "Shapefile, GeoJSON or FlatGeobuf file.") from exc
    if len(gdf) == 0:
        raise InputError(f"{what} file {path}" + (f" (layer {layer})" if layer else "")
                         + " has no features.")
    if gdf.crs is None:
        raise InputError(f"{what} file {path} has no CRS. Define it (e.g. with QGIS or "
                         "ogr2ogr -a_srs) before running landcarbon.")
    return gdf


def read_units(path: str | os.PathLike[str], *, layer: str | None = None,
               id_field: str | None = None, name_field: str | None = None) -> gpd.GeoDataFrame:
    """Read land units as a GeoDataFrame with ``unit_id`` and ``unit_name`` (strings) first.

    ``id_field`` defaults to the row number (1-based) and ``name_field`` to the id. Other
    attributes are kept. Ids must be unique and non-empty.
    """
    gdf = read_vector(path, layer=layer)
    for field, role in ((id_field, "id_field"), (name_field, "name_field")):
        if field is not None and field not in gdf.columns:
            raise InputError(f"Land units {path}: {role} {field!r} is not a field; fields: "
                             f"{', '.join(c for c in gdf.columns if c != 'geometry')}.")
    ids = (gdf[id_field].astype(str) if id_field else
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


def write_units(units: gpd.GeoDataFrame, path: str | os.PathLike[str], *,
                layer: str = "units") -> None:
    """Write a units table to a GeoPackage layer (the file must not exist yet).

    The file is byte-identical for identical tables: GDAL's ``last_change`` timestamp is
    pinned (``OGR_CURRENT_DATE``) for the duration of the write.
    """
    import pyogrio

    previous = pyogrio.get_gdal_config_option("OGR_CURRENT_DATE")
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": "2000-01-01T00:00:00.000Z"})
    try:
        units.to_file(path, layer=layer, driver="GPKG")
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": previous})
