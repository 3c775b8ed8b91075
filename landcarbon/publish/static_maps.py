"""Static maps of the units (PNG bytes, 300 dpi) for the atlas report and print: class
colours, a complete legend with counts, unit names, and below the data a scale bar, a north
arrow and a block saying the source, the CRS and the date.

:func:`static_maps` draws several columns (risk level, space type): the units are
projected, turned into paths and their name points found once for all the maps.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from landcarbon.engine.areas import utm_crs
from landcarbon.publish._html import NO_DATA, ui, vocab
from landcarbon.publish._mpl import cjk, figure, png

if TYPE_CHECKING:
    import geopandas as gpd
    from matplotlib.figure import Figure
    from matplotlib.path import Path

__all__ = ["projected", "static_map", "static_maps"]

Lang = Literal["zh", "en"]


def projected(units: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """``units`` in a metric CRS: as they are when projected (or without CRS), else in their
    UTM zone."""
    if units.crs is not None and not units.crs.is_projected:
        return units.to_crs(utm_crs(units))
    return units


def _nice(length: float) -> float:
    exp = 10 ** math.floor(math.log10(length))
    return max(m * exp for m in (1, 2, 5) if m * exp <= length)


def _unit_paths(geoms: Any) -> list[Path]:
    """One compound path per geometry (every polygon part and hole; empty for others)."""
    from matplotlib.path import Path

    out = []
    for g in geoms:
        polys = [] if g is None or g.is_empty else (
            list(g.geoms) if g.geom_type == "MultiPolygon" else
            [g] if g.geom_type == "Polygon" else
            [p for p in getattr(g, "geoms", []) if p.geom_type == "Polygon"])
        verts, codes = [], []
        for poly in polys:
            for ring in (poly.exterior, *poly.interiors):
                xy = np.asarray(ring.coords)[:, :2]
                c = np.full(len(xy), Path.LINETO, dtype=Path.code_type)
                c[0], c[-1] = Path.MOVETO, Path.CLOSEPOLY
                verts.append(xy)
                codes.append(c)
        out.append(Path(np.concatenate(verts), np.concatenate(codes)) if verts
                   else Path(np.empty((0, 2))))
    return out


def _choose_labels(fig: Figure, ax: Any, points: list[tuple[float, float, str]],
                   prop: Any) -> list[int]:
    """Which unit names to write (indices into ``points``): largest units first, leaving out
    any name that would overlap one already kept (never an illegible pile).

    A name's box is measured from its characters' advances (each character laid out once,
    then summed: thousands of names cost a few hundred font layouts, not one each) and
    tested against the boxes kept so far in one array comparison."""
    fig.draw_without_rendering()  # lay the figure out (no pixels drawn)
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    advance: dict[str, float] = {}

    def width(text: str) -> float:
        total = 0.0
        for ch in text:
            if ch not in advance:
                advance[ch] = renderer.get_text_width_height_descent(ch, prop, ismath=False)[0]
            total += advance[ch]
        return total

    _, height, _ = renderer.get_text_width_height_descent("国Ag", prop, ismath=False)
    half_h = 0.5 * height * 1.15
    centres = ax.transData.transform(np.array([(x, y) for x, y, _ in points], dtype=float)
                                     .reshape(-1, 2))
    boxes = np.empty((len(points), 4))  # x0, y0, x1, y1 of the names kept (display units)
    kept: list[int] = []
    for i, ((cx, cy), (_, _, text)) in enumerate(zip(centres, points, strict=True)):
        half_w = 0.5 * width(text) * 1.08
        x0, x1, y0, y1 = cx - half_w, cx + half_w, cy - half_h, cy + half_h
        k = len(kept)
        if k and bool(np.any((boxes[:k, 0] < x1) & (boxes[:k, 2] > x0)
                             & (boxes[:k, 1] < y1) & (boxes[:k, 3] > y0))):
            continue
        boxes[k] = (x0, y0, x1, y1)
        kept.append(i)
    return kept


def _label_outlines(points: list[tuple[float, float, str]], kept: list[int], prop: Any
                    ) -> tuple[np.ndarray, list[Path]]:
    """The kept names' glyph outlines (points, centred on their box) and their places (data
    coordinates): made once, drawn on every map of the call."""
    from matplotlib.path import Path
    from matplotlib.textpath import TextPath

    outlines = []
    for i in kept:
        glyphs = TextPath((0, 0), points[i][2], prop=prop)
        xy, codes = glyphs.vertices, glyphs.codes
        drawn = xy if codes is None else xy[codes != Path.CLOSEPOLY]  # (not a place)
        middle = (drawn.min(axis=0) + drawn.max(axis=0)) / 2 if len(drawn) else 0.0
        outlines.append(Path(xy - middle, codes))  # curves' control points bound them
    return np.array([points[i][:2] for i in kept], dtype=float).reshape(-1, 2), outlines


def _draw_labels(fig: Figure, ax: Any, places: np.ndarray, outlines: list[Path]) -> None:
    """The names as two path collections: a white halo (2.2 pt stroke) under every name, then
    the dark glyphs (what a text with a ``withStroke`` effect draws, in two calls instead of
    two per name)."""
    from matplotlib.collections import PathCollection
    from matplotlib.transforms import Affine2D

    points_to_pixels = Affine2D().scale(fig.dpi / 72.0)
    for face, edge, width in (("white", "white", 2.2), ("#111111", "none", 0.0)):
        ax.add_collection(PathCollection(
            outlines, offsets=places, offset_transform=ax.transData,
            transform=points_to_pixels, facecolors=face, edgecolors=edge, linewidths=width,
            zorder=3), autolim=False)


def _make_labels(fig: Figure, ax: Any, points: list[tuple[float, float, str]],
                 fontsize: float) -> tuple[np.ndarray, list[Path]]:
    """The unit names that fit (:func:`_choose_labels`) as places and outlines
    (:func:`_label_outlines`), ready for :func:`_draw_labels` on every map of the call."""
    from matplotlib.font_manager import FontProperties

    prop = FontProperties(size=fontsize)
    return _label_outlines(points, _choose_labels(fig, ax, points, prop), prop)


def _decorations(fig: Figure, ax: Any, bounds: np.ndarray, crs: str, zh: bool,
                 language: Lang, source: str | None) -> None:
    """Scale bar, north arrow and the source / CRS / date block below the data."""
    from matplotlib.patches import FancyArrow, Rectangle

    x0, y0, x1, y1 = bounds
    h_data = y1 - y0
    strip = 0.13 * h_data  # a band below the data for the scale bar and the north arrow
    ax.set_xlim(x0 - 0.01 * (x1 - x0), x1 + 0.01 * (x1 - x0))
    ax.set_ylim(y0 - strip, y1 + 0.01 * h_data)
    bar = _nice((x1 - x0) / 5)
    bx, by, h = x0, y0 - 0.75 * strip, 0.1 * strip
    for k in range(2):
        ax.add_patch(Rectangle((bx + k * bar / 2, by), bar / 2, h, facecolor="black" if k == 0
                               else "white", edgecolor="black", lw=0.8))
    unit_txt = f"{bar / 1000:g} km" if bar >= 1000 else f"{bar:g} m"
    ax.text(bx, by + 1.6 * h, "0", fontsize=8, ha="center")
    ax.text(bx + bar, by + 1.6 * h, unit_txt, fontsize=8, ha="center")
    ax.text(bx + bar / 2, by - 1.2 * h, ui("scale", language), fontsize=8, ha="center",
            va="top")
    ax.add_patch(FancyArrow(x1 - 0.03 * (x1 - x0), y0 - 0.9 * strip, 0, 0.55 * strip,
                            width=0.012 * (x1 - x0), head_width=0.035 * (x1 - x0),
                            head_length=0.22 * strip, color="black",
                            length_includes_head=True))
    # regular weight: the bundled font has one weight (bold would make matplotlib warn)
    ax.text(x1 - 0.03 * (x1 - x0), y0 - 0.3 * strip, "N" if not zh else "北", fontsize=11,
            ha="center", va="bottom")
    stamp = datetime.now().astimezone().strftime("%Y-%m-%d")
    parts = [f"{'数据来源' if zh else 'Source'}: {source or 'landcarbon'}",
             f"{'坐标系' if zh else 'CRS'}: {crs}", f"{'制图日期' if zh else 'Date'}: {stamp}"]
    fig.text(0.01, 0.005, " · ".join(parts), fontsize=7, color="#444444", ha="left",
             va="bottom")


@cjk
def static_maps(units: gpd.GeoDataFrame, columns: tuple[str, ...] = ("risk_level",
                                                                      "space_type"), *,
                language: Lang = "zh", title: str | None = None, source: str | None = None,
                labels: bool = True) -> dict[str, bytes]:
    """Static maps of the units, one per column (PNG bytes, 300 dpi).

    Parameters
    ----------
    units : geopandas.GeoDataFrame
        Assessed units table, any CRS (drawn in its UTM zone / metric CRS, see
        :func:`projected`).
    columns : tuple of {"risk_level", "space_type"}
        The columns mapped (class colours and names of ``risk_levels`` / ``space_types``).
    language : {"zh", "en"}
    title : str, optional
    source : str, optional
        Data source line (e.g. land-cover product and year); landcarbon when omitted.
    labels : bool
        Write the unit names (those that fit without overlapping).

    Returns
    -------
    dict
        ``{column: PNG bytes}``.
    """
    from matplotlib.collections import PathCollection
    from matplotlib.patches import Patch

    units = projected(units)
    paths = _unit_paths(units.geometry)
    crs = units.crs.to_string() if units.crs is not None else "?"
    zh = language == "zh"
    points: list[tuple[float, float, str]] = []
    if labels and "unit_name" in units:
        order = units.geometry.area.sort_values(ascending=False).index
        pts = units.geometry.representative_point()
        names = units["unit_name"].where(units["unit_name"].notna(), units.get("unit_id"))
        points = [(pts[i].x, pts[i].y, str(names[i])) for i in order
                  if isinstance(names[i], str) and names[i]]
    out: dict[str, bytes] = {}
    labels_made: tuple[np.ndarray, list[Path]] | None = None
    for column in columns:  # a figure each: every map as it would be drawn alone
        table = vocab("risk_levels" if column == "risk_level" else "space_types")
        fig = figure(9, 7.4, layout=None)  # fixed axes, cropped to the content when saved
        ax = fig.add_axes((0.02, 0.06, 0.78, 0.86))
        ax.add_collection(PathCollection(
            paths, facecolor=[table[v][2] if v in table else NO_DATA for v in units[column]],
            edgecolor="#555555", linewidth=0.4), autolim=False)
        ax.set_axis_off()
        ax.set_aspect("equal")
        counts = units[column].value_counts()
        n_missing = int(units[column].map(lambda v, t=table: v not in t).sum())
        handles = [Patch(facecolor=v[2], edgecolor="#555555",
                         label=f"{v[zh]} ({int(counts.get(k, 0))})") for k, v in table.items()]
        if not any(v[2] == NO_DATA for v in table.values()):
            handles.append(Patch(facecolor=NO_DATA, edgecolor="#555555",
                                 label=f"{ui('no_data', language)} ({n_missing})"))
        ax.legend(handles=handles, title=ui(column, language), loc="upper left", fontsize=9,
                  bbox_to_anchor=(1.01, 1.0), title_fontsize=10, frameon=False)
        _decorations(fig, ax, units.total_bounds, crs, zh, language, source)
        if title:
            ax.set_title(title, fontsize=13)
        if points and labels_made is None:  # the same axes on every map: names once
            labels_made = _make_labels(fig, ax, points, 6 if len(units) > 40 else 7.5)
        if labels_made is not None:
            _draw_labels(fig, ax, *labels_made)
        out[column] = png(fig)
    return out


def static_map(units: gpd.GeoDataFrame, column: str = "risk_level", *, language: Lang = "zh",
               title: str | None = None, source: str | None = None,
               labels: bool = True) -> bytes:
    """A static map of one column of the units (PNG bytes, 300 dpi); see
    :func:`static_maps`.

    Returns
    -------
    bytes
        The PNG file.
    """
    return static_maps(units, (column,), language=language, title=title, source=source,
                       labels=labels)[column]
