"""Static figures (matplotlib PNG bytes) for the atlas report, slides and print: balance charts,
net per ha against each threshold, and static maps with legend and scale bar.

Every figure is drawn with the bundled CJK font (:mod:`landcarbon.publish.fonts`, a subset of
Noto Sans SC under the SIL OFL), registered with matplotlib whatever fonts the machine has: no
missing-glyph boxes and no glyph warnings on a machine without CJK fonts. PNGs are 300 dpi.
"""

from __future__ import annotations

import functools
import io
import math
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, ParamSpec

import numpy as np
import pandas as pd

from landcarbon.publish._html import NO_DATA, label, per_ha_unit, total_unit, ui, vocab
from landcarbon.publish.fonts import matplotlib_family
from landcarbon.publish.palettes import EMISSION_COLOUR, SINK_COLOUR

if TYPE_CHECKING:
    import geopandas as gpd
    from matplotlib.figure import Figure

__all__ = ["DPI", "balance_by_land_class", "balance_by_space_type", "cjk_font",
           "net_vs_threshold", "static_map", "sweep_figure"]

Lang = Literal["zh", "en"]
P = ParamSpec("P")
#: resolution of every PNG figure (print quality)
DPI = 300


def cjk_font() -> str:
    """Family name of the bundled CJK font, registered with matplotlib."""
    return matplotlib_family()


def _cjk(fn: Callable[P, bytes]) -> Callable[P, bytes]:
    """Run a figure function with the bundled CJK font (matplotlib's global settings
    untouched)."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> bytes:
        import matplotlib as mpl

        with mpl.rc_context({"font.family": "sans-serif", "axes.unicode_minus": False,
                             "font.sans-serif": [cjk_font(), "DejaVu Sans"]}):
            return fn(*args, **kwargs)
    return wrapper


def _figure(w: float, h: float) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(w, h), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": "landcarbon"},
                bbox_inches="tight", pad_inches=0.15)
    return buf.getvalue()


def _short(v: float) -> str:
    """A bar-end value: 3 significant figures, thousands separated."""
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}"


def _per_ha(unit: str, lang: Lang) -> str:
    return per_ha_unit(unit, lang)


def _bars(fig: Figure, names: list[str], emission: np.ndarray, sequestration: np.ndarray,
          unit: str, lang: Lang, title: str) -> bytes:
    ax = fig.add_subplot()
    y = np.arange(len(names))
    ax.barh(y, emission, color=EMISSION_COLOUR, label=ui("emission", lang))
    ax.barh(y, -sequestration, color=SINK_COLOUR, label=ui("sequestration", lang))
    span = float(max(np.max(emission, initial=0), np.max(sequestration, initial=0))) or 1.0
    for k, (e, q) in enumerate(zip(emission, sequestration, strict=True)):
        if e > 0:  # values at the bar ends: small sinks stay readable next to large sources
            ax.annotate(_short(e), (e, k), xytext=(3, 0), textcoords="offset points",
                        va="center", ha="left", fontsize=7, color=EMISSION_COLOUR)
        if q > 0:
            ax.annotate("−" + _short(q), (-q, k), xytext=(-3, 0), textcoords="offset points",
                        va="center", ha="right", fontsize=7, color=SINK_COLOUR)
    ax.set_xlim(-1.25 * max(float(np.max(sequestration, initial=0)), 0.05 * span),
                1.2 * max(float(np.max(emission, initial=0)), 0.05 * span))
    label_unit, scale = total_unit(unit, lang)
    emission, sequestration = emission / scale, sequestration / scale
    net = emission - sequestration
    ax.scatter(net, y, color="black", marker="D", s=18, zorder=3, label=ui("net", lang))
    ax.axvline(0, color="#555555", lw=0.8)
    ax.set_yticks(y, names)
    ax.invert_yaxis()
    from matplotlib.ticker import FuncFormatter

    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.4g}"))
    ax.set_xlabel(label_unit)
    ax.set_title(title)
    ax.legend(loc="best", fontsize=8)
    ax.grid(axis="x", alpha=0.3)
    return _png(fig)


@_cjk
def balance_by_land_class(class_areas: pd.DataFrame, coefficients_tc_per_ha: dict[str, Any],
                          indirect_tc: float, *, unit: str = "t C", factor: float = 1.0,
                          language: Lang = "zh") -> bytes:
    """Bar chart of emission / sequestration / net by land class (PNG bytes).

    Direct classes: area (ha) x coefficient (t C/ha/yr); land classes with an indirect
    coefficient (construction, rural settlements) get ``indirect_tc`` (the construction
    emission of the units table) as one bar. ``factor`` converts t C to the output unit.
    """
    areas = class_areas.groupby("land_class")["area_ha"].sum()
    lc = vocab("land_classes")
    rows = []
    for key, area in areas.items():
        coef = coefficients_tc_per_ha.get(key)
        if coef is None or (isinstance(coef, float) and math.isnan(coef)):
            continue
        rows.append((label("land_classes", key, language), area * float(coef) * factor))
    indirect = [k for k in areas.index if coefficients_tc_per_ha.get(k) is None and k in lc]
    if indirect:
        rows.append((" + ".join(label("land_classes", k, language) for k in indirect),
                     indirect_tc))
    rows.sort(key=lambda r: -abs(r[1]))
    flux = np.array([r[1] for r in rows], dtype=float)
    return _bars(_figure(7.5, 0.45 * len(rows) + 1.4), [r[0] for r in rows],
                 np.clip(flux, 0, None), np.clip(-flux, 0, None), unit, language,
                 ui("balance_by_land_class", language))


@_cjk
def balance_by_space_type(units: pd.DataFrame, sfx: str, *, unit: str = "t C",
                          language: Lang = "zh") -> bytes:
    """Bar chart of emission / sequestration / net by unit space type (PNG bytes)."""
    g = units.groupby("space_type")[[f"emission_{sfx}", f"sequestration_{sfx}"]].sum()
    order = [k for k in vocab("space_types") if k in g.index]
    g = g.loc[order]
    return _bars(_figure(7.5, 0.5 * len(g) + 1.5),
                 [label("space_types", k, language) for k in g.index],
                 g[f"emission_{sfx}"].to_numpy(float), g[f"sequestration_{sfx}"].to_numpy(float),
                 unit, language, ui("balance_by_space_type", language))


@_cjk
def net_vs_threshold(units: pd.DataFrame, sfx: str, *, unit: str = "t C",
                     language: Lang = "zh") -> bytes:
    """One panel per space type: each unit's net per ha (dots coloured by risk level) and the
    space type's threshold (dashed line) (PNG bytes)."""
    kinds = [k for k in vocab("space_types") if k in set(units["space_type"])]
    fig = _figure(7.5, 1.2 * max(len(kinds), 1) + 1.0)
    axes = fig.subplots(max(len(kinds), 1), 1, squeeze=False)[:, 0]
    risk = vocab("risk_levels")
    rng = np.random.default_rng(0)
    for ax, kind in zip(axes, kinds, strict=False):
        sub = units[units["space_type"] == kind]
        x = pd.to_numeric(sub[f"net_{sfx}_per_ha"], errors="coerce").to_numpy(float)
        colours = [risk.get(r, ("", "", NO_DATA))[2] for r in sub["risk_level"]]
        ax.scatter(x, rng.uniform(-0.3, 0.3, len(x)), c=colours, s=22, edgecolors="#333333",
                   linewidths=0.4)
        ax.axvline(0.0, color="#888888", lw=0.8)
        thr = pd.to_numeric(sub[f"threshold_{sfx}_per_ha"], errors="coerce").dropna()
        if len(thr):
            ax.axvline(float(thr.iloc[0]), color="black", ls="--", lw=1.2)
            ax.annotate(f"{ui('threshold', language)} {float(thr.iloc[0]):.3g}",
                        (float(thr.iloc[0]), 0.42), fontsize=8, ha="left")
        ax.set_yticks([])
        ax.set_ylim(-0.5, 0.6)
        ax.set_ylabel(label("space_types", kind, language), rotation=0, ha="right",
                      va="center")
        ax.grid(axis="x", alpha=0.3)
    axes[-1].set_xlabel(f"{ui('net_per_ha', language)} ({_per_ha(unit, language)})")
    axes[0].set_title(ui("net_vs_threshold", language))
    from matplotlib.lines import Line2D

    present = set(units["risk_level"])
    handles = [Line2D([], [], ls="", marker="o", markersize=6, markerfacecolor=v[2],
                      markeredgecolor="#333333", label=v[language == "zh"])
               for k, v in risk.items() if k in present]
    handles.append(Line2D([], [], color="black", ls="--", label=ui("threshold", language)))
    fig.legend(handles=handles, loc="outside lower center", ncol=min(len(handles), 6),
               fontsize=8, frameon=False)
    return _png(fig)


def _nice(length: float) -> float:
    exp = 10 ** math.floor(math.log10(length))
    return max(m * exp for m in (1, 2, 5) if m * exp <= length)


def _place_labels(fig: Figure, ax: Any, points: list[tuple[float, float, str]],
                  fontsize: float) -> int:
    """Write the unit names at their points, largest units first, leaving out any name that
    would overlap one already written (never an illegible pile); returns how many were
    written."""
    import matplotlib.patheffects as pe
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = fig.canvas
    assert isinstance(canvas, FigureCanvasAgg)  # _figure gives every figure an Agg canvas
    renderer = canvas.get_renderer()
    taken: list[Any] = []
    for x, y, text in points:
        t = ax.text(x, y, text, fontsize=fontsize, ha="center", va="center", color="#111111",
                    path_effects=[pe.withStroke(linewidth=2.2, foreground="white")])
        box = t.get_window_extent(renderer).expanded(1.08, 1.15)
        if any(box.overlaps(b) for b in taken):
            t.remove()
        else:
            taken.append(box)
    return len(taken)


@_cjk
def static_map(units: gpd.GeoDataFrame, column: str = "risk_level", *, language: Lang = "zh",
               title: str | None = None, source: str | None = None,
               labels: bool = True) -> bytes:
    """A static map of the units (PNG bytes, 300 dpi): class colours, complete legend with
    counts, unit names, and below the data a scale bar, a north arrow and a block saying the
    source, the CRS and the date.

    Parameters
    ----------
    units : geopandas.GeoDataFrame
        Assessed units table, any CRS (drawn in its UTM zone / metric CRS).
    column : {"risk_level", "space_type"}
    language : {"zh", "en"}
    title : str, optional
    source : str, optional
        Data source line (e.g. land-cover product and year); landcarbon when omitted.
    labels : bool
        Write the unit names (those that fit without overlapping).

    Returns
    -------
    bytes
        The PNG file.
    """
    from matplotlib.patches import FancyArrow, Patch, Rectangle

    if units.crs is not None and not units.crs.is_projected:
        units = units.to_crs(units.estimate_utm_crs())
    table = vocab("risk_levels" if column == "risk_level" else "space_types")
    fig = _figure(9, 7.4)
    ax = fig.add_subplot()
    colours = [table[v][2] if v in table else NO_DATA for v in units[column]]
    units.plot(ax=ax, color=colours, edgecolor="#555555", linewidth=0.4)
    ax.set_axis_off()
    ax.set_aspect("equal")
    zh = language == "zh"
    counts = units[column].value_counts()
    n_missing = int(units[column].map(lambda v: v not in table).sum())
    handles = [Patch(facecolor=v[2], edgecolor="#555555",
                     label=f"{v[zh]} ({int(counts.get(k, 0))})") for k, v in table.items()]
    if not any(v[2] == NO_DATA for v in table.values()):
        handles.append(Patch(facecolor=NO_DATA, edgecolor="#555555",
                             label=f"{ui('no_data', language)} ({n_missing})"))
    ax.legend(handles=handles, title=ui(column, language), loc="upper left", fontsize=9,
              bbox_to_anchor=(1.01, 1.0), title_fontsize=10, frameon=False)
    x0, y0, x1, y1 = units.total_bounds
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
    ax.text(x1 - 0.03 * (x1 - x0), y0 - 0.3 * strip, "N" if not zh else "北", fontsize=10,
            ha="center", va="bottom", fontweight="bold")
    if labels and "unit_name" in units:
        fig.canvas.draw()
        order = units.geometry.area.sort_values(ascending=False).index
        pts = units.geometry.representative_point()
        names = units["unit_name"].where(units["unit_name"].notna(), units.get("unit_id"))
        _place_labels(fig, ax, [(pts[i].x, pts[i].y, str(names[i])) for i in order
                                if isinstance(names[i], str) and names[i]],
                      fontsize=6 if len(units) > 40 else 7.5)
    crs = units.crs.to_string() if units.crs is not None else "?"
    stamp = datetime.now().astimezone().strftime("%Y-%m-%d")
    parts = [f"{'数据来源' if zh else 'Source'}: {source or 'landcarbon'}",
             f"{'坐标系' if zh else 'CRS'}: {crs}", f"{'制图日期' if zh else 'Date'}: {stamp}"]
    fig.text(0.01, 0.005, " · ".join(parts), fontsize=7, color="#444444", ha="left",
             va="bottom")
    if title:
        ax.set_title(title, fontsize=13)
    return _png(fig)


def sweep_figure(sweep: pd.DataFrame, *, language: str = "en") -> Figure:
    """One panel per space type: units changing level and units exceeding vs threshold."""
    from matplotlib.figure import Figure

    from landcarbon.accounting.legends import space_types

    names = space_types()
    kinds = list(dict.fromkeys(sweep["space_type"])) if len(sweep) else []
    fig = Figure(figsize=(4.2 * max(1, len(kinds)), 3.6), layout="constrained")
    axes = fig.subplots(1, max(1, len(kinds)), squeeze=False)[0]
    family = cjk_font() if language == "zh" else None
    zh = family is not None
    font = {"family": [family, "DejaVu Sans"]} if family else {}
    for ax, st in zip(axes, kinds, strict=False):
        sub = sweep[sweep["space_type"] == st]
        ax.plot(sub["threshold_tc_per_ha"], sub["units_changed"], "o-", color="#d73027",
                label="单元风险等级变化数" if zh else "units changing level")
        ax.plot(sub["threshold_tc_per_ha"], sub["units_exceeding"], "s--", color="#4575b4",
                label="超阈值单元数" if zh else "units exceeding (all)")
        ax.axvline(float(sub["baseline_tc_per_ha"].iloc[0]), color="grey", lw=1)
        label = names.loc[st, "name_zh" if zh else "name_en"] if st in names.index else st
        ax.set_title(label, fontdict=font)
        ax.set_xlabel("阈值 (t C/ha/yr)" if zh else "threshold (t C/ha/yr)", fontdict=font)
        ax.set_ylabel("单元数" if zh else "units", fontdict=font)
        ax.grid(alpha=0.3)
    axes[0].legend(prop={**font, "size": 8})
    return fig
