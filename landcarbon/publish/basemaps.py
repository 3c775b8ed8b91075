"""Basemaps of the web maps (package data ``landcarbon/data/basemaps.csv``).

A basemap is a key of that table (``plain``, ``osm``, ``positron``, ``gaode``,
``gaode_satellite``), any tile name folium knows, or a tile URL template with ``{z}``,
``{x}`` and ``{y}`` (credited to its server). Basemaps whose ``crs`` is ``gcj02`` (Chinese
web maps) need the data shifted WGS-84 -> GCJ-02 (:mod:`landcarbon.publish.gcj02`).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

import folium

from landcarbon.exceptions import InputError

__all__ = ["add_basemaps", "basemap_crs", "basemaps"]


@cache
def basemaps() -> dict[str, dict[str, str]]:
    """The basemap table, ``{key: row}`` (columns of ``data/basemaps.csv``)."""
    from landcarbon._resources import data_path, read_csv

    return {r["key"]: r for r in read_csv(data_path("basemaps.csv")).to_dict("records")}


def basemap_crs(keys: Sequence[str]) -> str:
    """``"gcj02"`` when the (first) basemap is a GCJ-02 one, else ``"wgs84"``.

    Raises
    ------
    InputError
        When GCJ-02 and WGS-84 tile basemaps are mixed (the data cannot match both).
    """
    table = basemaps()
    crs = {table[k]["crs"] for k in keys if k in table and table[k]["tiles"]}
    crs |= {"wgs84" for k in keys if k not in table}
    if len(crs) > 1:
        raise InputError(
            f"basemaps {list(keys)} mix GCJ-02 (Chinese web maps) and WGS-84 tiles; the data "
            "can be shifted to match only one datum. Choose GCJ-02 basemaps only (gaode, "
            "gaode_satellite) or WGS-84 ones only (osm, positron, any folium tile name).")
    return crs.pop() if crs else "wgs84"


def add_basemaps(m: folium.Map, keys: Sequence[str], lang: str) -> None:
    """Add the basemaps to ``m`` as switchable base layers (the first one shown) plus the plain
    background (no tiles), so the map can always be viewed without tile requests."""
    table = basemaps()
    zh = lang == "zh"
    keys = [*keys, *(["plain"] if "plain" not in keys else [])]
    for n, key in enumerate(keys):
        row = table.get(key)
        name = (row["name_zh"] if zh else row["name_en"]) if row else key
        if row is not None and not row["tiles"]:  # plain: an empty base layer
            folium.FeatureGroup(name=name, overlay=False, show=n == 0).add_to(m)
            continue
        tiles = row["tiles"] if row else key
        kwargs: dict[str, Any] = ({"attr": row["attribution"]}
                                  if row and row["attribution"] else {})
        if row and row["subdomains"]:
            kwargs["subdomains"] = row["subdomains"]
        if row is None and "{z}" in key:  # a tile URL template: credited to its server
            from urllib.parse import urlsplit

            kwargs["attr"] = urlsplit(key).netloc or key
        try:
            layer = folium.TileLayer(tiles=tiles, name=name, overlay=False, show=n == 0,
                                     control=True, max_zoom=int(row["max_zoom"]) if row else 19,
                                     **kwargs)
        except ValueError as exc:  # neither a provider folium knows nor a URL template
            raise InputError(
                f"Basemap {key!r} is not one landcarbon knows ({', '.join(table)}), nor a tile "
                f"name folium knows, nor a tile URL template with {{z}}, {{x}} and {{y}} "
                f"({exc}). Use one of those names ([output] map_tiles, or map --tiles), e.g. "
                "osm, or plain for no tiles (offline).", code="config_invalid") from None
        layer.add_to(m)
