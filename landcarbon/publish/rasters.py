"""Per-pixel rasters (land class, space type, net flux) as web-map image overlays.

A raster is downsampled to at most ``max_size`` pixels on its long side (nearest: class values
stay classes), reprojected to Web Mercator (the image is stretched between its lat/lon bounds
in Web Mercator by Leaflet, so this is what makes it line up), coloured with the vocabulary
colours or a diverging ramp, and embedded as a PNG ``data:`` URI (no request, works offline).
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from landcarbon.publish._html import esc, fmt, swatches, ui, vocab
from landcarbon.publish._png import encode_png
from landcarbon.publish.palettes import DIVERGING_SINK, DIVERGING_SOURCE

if TYPE_CHECKING:
    import folium
    import xarray as xr

__all__ = ["RASTER_KINDS", "raster_overlay"]

RasterKind = Literal["land_class", "space_type", "net_flux"]
RASTER_KINDS: tuple[str, ...] = ("land_class", "space_type", "net_flux")


def _rgb(colour: str) -> tuple[int, int, int]:
    c = colour.lstrip("#")
    return int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16)


def downsample(da: xr.DataArray, max_size: int) -> xr.DataArray:
    """``da`` (a single band; a band dimension of length 1 is dropped) with every n-th
    pixel in x and y, n chosen so that neither side exceeds ``max_size``.

    Returns
    -------
    xarray.DataArray
        2-D (``y``, ``x``), at least one pixel each way (a raster one pixel wide or tall
        keeps its ``x`` and ``y``).
    """
    extra = [d for d in da.dims if d not in ("y", "x") and da.sizes[d] == 1]
    if extra:
        da = da.squeeze(extra, drop=True)
    step = int(np.ceil(max(da.sizes["x"], da.sizes["y"]) / max_size))
    return da.isel(x=slice(None, None, step), y=slice(None, None, step)) if step > 1 else da


def ramp(values: np.ndarray) -> tuple[float, float]:
    """Symmetric-around-0 limits of a diverging ramp (2nd/98th percentiles of finite values)."""
    v = values[np.isfinite(values)]
    if v.size == 0:
        return -1.0, 1.0
    lo, hi = np.percentile(v, [2, 98]) if v.size >= 50 else (v.min(), v.max())
    lo, hi = min(float(lo), -1e-9), max(float(hi), 1e-9)
    return lo, hi


#: share of the colour bar given to the sinks when there are both sinks and sources
SINK_SHARE = 0.25


def _stops(lo: float, hi: float) -> list[tuple[float, float, str]]:
    """``(value, position 0-1 on the bar, colour)`` of the net ramp: sinks on the first
    :data:`SINK_SHARE` of the bar, a hard break at 0, sources on the rest."""
    share = SINK_SHARE if lo < 0 < hi else (1.0 if hi <= 0 else 0.0)
    out = []
    if lo < 0:
        out += [(lo, 0.0, DIVERGING_SINK[0]), (0.0, share, DIVERGING_SINK[1])]
    if hi > 0:
        out += [(0.0, share, DIVERGING_SOURCE[0]), (hi / 2, (1 + share) / 2, DIVERGING_SOURCE[1]),
                (hi, 1.0, DIVERGING_SOURCE[2])]
    return out


def _diverging_rgba(values: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """RGBA of the net ramp broken at 0 (transparent where not finite)."""
    v = np.clip(np.where(np.isfinite(values), values, 0.0), lo, hi)
    out = np.zeros((*values.shape, 4), dtype=np.uint8)
    for side, pick in ((_stops(lo, hi)[:2], v <= 0), (_stops(lo, hi)[-3:], v > 0)):
        xs = np.array([x for x, _, _ in side])
        rgb = np.array([_rgb(c) for _, _, c in side], dtype=float)
        for k in range(3):
            out[..., k] = np.where(pick, np.interp(v, xs, rgb[:, k]).round(), out[..., k])
    out[..., 3] = np.where(np.isfinite(values), 255, 0)
    return out


def net_colour_bar(lo: float, hi: float, title: str) -> str:
    """Legend of the net ramp as HTML: a CSS gradient with the hard break at 0 and ticks at
    the ends, at 0 (always) and at the middle of the sources."""
    stops = _stops(lo, hi)
    grad = ", ".join(f"{c} {100 * p:.2f}%" for _, p, c in stops)
    ticks = {(round(100 * p, 2), fmt(v) if v else "0") for v, p, _ in stops}
    tick_html = "".join(
        f'<span style="position:absolute;left:{p:.1f}%;transform:translateX(-{min(p, 100):.0f}%)'
        f';white-space:nowrap">{esc(t)}</span>' for p, t in sorted(ticks))
    zero = next(100 * p for v, p, _ in stops if v == 0)
    return (f"<div class='lc-h'>{esc(title)}</div><div style='position:relative;height:12px;"
            f"width:240px;background:linear-gradient(to right, {grad})'><span style='position:"
            f"absolute;left:{zero:.2f}%;top:-3px;height:18px;border-left:2px solid #111'>"
            f"</span></div><div style='position:relative;height:14px;width:240px;"
            f"font-size:11px'>{tick_html}</div>")


def _warp_to_gcj02(rgba: np.ndarray, bounds: tuple[float, float, float, float]
                   ) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    """Resample a Web Mercator image (WGS-84 datum) onto a Web Mercator grid of GCJ-02
    coordinates, pixel by pixel (nearest): the offset varies by ~100 m over 100 km, so a
    single shift would not do for large rasters."""
    from pyproj import Transformer

    from landcarbon.publish.gcj02 import wgs84_to_gcj02

    to_ll = Transformer.from_crs(3857, 4326, always_xy=True)
    to_m = Transformer.from_crs(4326, 3857, always_xy=True)
    h, w = rgba.shape[:2]
    x0, y0, x1, y1 = bounds
    # envelope of the shifted image
    ex = np.linspace(x0, x1, 17)
    ey = np.linspace(y0, y1, 17)
    gx, gy = np.meshgrid(ex, ey)
    lon, lat = to_ll.transform(gx.ravel(), gy.ravel())
    mx, my = to_m.transform(*wgs84_to_gcj02(lon, lat))
    nx0, nx1, ny0, ny1 = float(np.min(mx)), float(np.max(mx)), float(np.min(my)), float(np.max(my))
    # centre of every output pixel, in GCJ-02 lon/lat, back to WGS-84 (fixed-point inverse)
    cx = nx0 + (np.arange(w) + 0.5) * (nx1 - nx0) / w
    cy = ny1 - (np.arange(h) + 0.5) * (ny1 - ny0) / h
    px, py = np.meshgrid(cx, cy)
    glon, glat = to_ll.transform(px.ravel(), py.ravel())
    wlon, wlat = np.asarray(glon), np.asarray(glat)
    for _ in range(2):
        slon, slat = wgs84_to_gcj02(wlon, wlat)
        wlon, wlat = wlon - (slon - glon), wlat - (slat - glat)
    sx, sy = to_m.transform(wlon, wlat)
    col = np.floor((np.asarray(sx) - x0) / (x1 - x0) * w).astype(np.int64)
    row = np.floor((y1 - np.asarray(sy)) / (y1 - y0) * h).astype(np.int64)
    inside = (col >= 0) & (col < w) & (row >= 0) & (row < h)
    out = np.zeros_like(rgba).reshape(-1, 4)
    out[inside] = rgba[row[inside], col[inside]]
    return out.reshape(rgba.shape), (nx0, ny0, nx1, ny1)


def raster_overlay(
    da: xr.DataArray,
    kind: RasterKind,
    *,
    language: Literal["zh", "en"] = "zh",
    units_label: str = "t C/ha/yr",
    gcj02: bool = False,
    max_size: int = 1024,
    opacity: float = 0.8,
    pane: str | None = None,
) -> tuple[folium.raster_layers.ImageOverlay, str]:
    """An image overlay of a class or flux raster and its legend section (HTML).

    Parameters
    ----------
    da : xarray.DataArray
        2-D raster with a CRS (rioxarray). ``land_class``: values 1..n in the order of
        ``data/land_classes.csv``, 0 = nodata; ``space_type``: 1 agricultural, 2 construction,
        3 ecological, 0 = nodata; ``net_flux``: t C (or t CO2)/ha/yr, NaN = nodata.
    kind : {"land_class", "space_type", "net_flux"}
    language : {"zh", "en"}
    units_label : str
        Unit shown in the flux legend.
    gcj02 : bool
        Shift the image bounds WGS-84 -> GCJ-02 (for Chinese basemaps).
    max_size : int
        Longest side of the displayed image, pixels (larger rasters are downsampled).
    opacity : float
    pane : str, optional
        Leaflet pane of the image (e.g. one below the unit polygons).

    Returns
    -------
    (folium.raster_layers.ImageOverlay, str)
        The overlay (not yet added to a map) and its legend HTML.
    """
    import folium
    from pyproj import Transformer
    from rasterio.enums import Resampling

    from landcarbon.accounting.legends import SPACE_TYPES

    if kind not in RASTER_KINDS:
        raise ValueError(f"kind must be one of {RASTER_KINDS}, not {kind!r}")
    zh = language == "zh"
    small = downsample(da, max_size)
    if kind == "net_flux":
        small = small.astype("float32").rio.write_nodata(np.nan)
        web = small.rio.reproject("EPSG:3857", resampling=Resampling.nearest)
        values = np.asarray(web.values, dtype=float)
        lo, hi = ramp(values)
        rgba = _diverging_rgba(values, lo, hi)
        legend = net_colour_bar(lo, hi, f"{ui('net_flux_raster', language)} ({units_label})")
    else:
        keys = list(vocab("land_classes")) if kind == "land_class" else list(SPACE_TYPES)
        table = vocab("land_classes" if kind == "land_class" else "space_types")
        small = small.fillna(0).astype("uint8").rio.write_nodata(0)
        web = small.rio.reproject("EPSG:3857", resampling=Resampling.nearest, nodata=0)
        values = np.asarray(web.values)
        lut = np.zeros((256, 4), dtype=np.uint8)
        for i, key in enumerate(keys, start=1):
            lut[i] = (*_rgb(table[key][2]), 255)
        rgba = lut[values]
        present = set(np.unique(values).tolist())
        legend = swatches(ui(f"{kind}_raster", language),
                          [(table[k][zh], table[k][2]) for i, k in enumerate(keys, start=1)
                           if i in present])
    x0, y0, x1, y1 = web.rio.bounds()
    if gcj02:
        rgba, (x0, y0, x1, y1) = _warp_to_gcj02(rgba, (x0, y0, x1, y1))
    to_ll = Transformer.from_crs(3857, 4326, always_xy=True)
    (w, e), (s, n) = to_ll.transform([x0, x1], [y0, y1])
    pane_kw: dict[str, Any] = {"pane": pane} if pane else {}
    # encoded here (exact pixels, zlib level 3): branca's level 9 took most of a map's time
    url = "data:image/png;base64," + base64.b64encode(encode_png(rgba)).decode("ascii")
    overlay = folium.raster_layers.ImageOverlay(
        image=url, bounds=[[s, w], [n, e]], opacity=opacity, interactive=False,
        mercator_project=False, name=ui(f"{kind}_raster", language),
        **pane_kw)
    return overlay, legend
