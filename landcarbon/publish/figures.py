"""Static figures (matplotlib PNG bytes) for the atlas report, slides and print: balance charts,
net per ha against each threshold, and static maps with legend and scale bar.

Chinese text uses the Noto CJK font (Debian ``fonts-noto-cjk``), registered explicitly so that
no glyph falls back to a missing-glyph box.
"""

from __future__ import annotations

import functools
import io
import math
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any, Literal, ParamSpec

import numpy as np
import pandas as pd

from landcarbon.publish._html import NO_DATA, label, ui, vocab

if TYPE_CHECKING:
    import geopandas as gpd
    from matplotlib.figure import Figure

__all__ = ["balance_by_land_class", "balance_by_space_type", "net_vs_threshold",
           "static_map"]

Lang = Literal["zh", "en"]
P = ParamSpec("P")
_CJK_FILES = ("NotoSansCJK-Regular.ttc", "NotoSansCJKsc-Regular.otf", "NotoSerifCJK-Regular.ttc")


#: CJK families used as they are when matplotlib already knows them (Windows, macOS, a
#: user's registered fonts), in order of preference
_CJK_FAMILIES = ("Noto Sans CJK SC", "Source Han Sans SC", "SimHei", "Microsoft YaHei")


@cache
def cjk_font() -> str | None:
    """A CJK font family for matplotlib: one it already knows, else the system's Noto CJK
    registered with it (None if there is none: Chinese labels fall back to English)."""
    from matplotlib import font_manager

    known = {f.name for f in font_manager.fontManager.ttflist}
    for family in _CJK_FAMILIES:
        if family in known:
            return family
    found = {p.rsplit("/", 1)[-1]: p for p in font_manager.findSystemFonts()}
    for name in _CJK_FILES:  # in order of preference: sans serif first
        if name in found:
            font_manager.fontManager.addfont(found[name])
            return font_manager.FontProperties(fname=found[name]).get_name()
    return None


def _cjk(fn: Callable[P, bytes]) -> Callable[P, bytes]:
    """Run a figure function with the CJK font (matplotlib's global settings untouched)."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> bytes:
        import matplotlib as mpl

        family = cjk_font()
        rc = {"font.family": "sans-serif", "axes.unicode_minus": False}
        if family:
            rc["font.sans-serif"] = [family, "DejaVu Sans"]
        with mpl.rc_context(rc):
            return fn(*args, **kwargs)
    return wrapper


def _figure(w: float, h: float) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(w, h), dpi=110, layout="constrained")


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, metadata={"Software": "landcarbon"},
                bbox_inches="tight", pad_inches=0.15)
    return buf.getvalue()


def _bars(fig: Figure, names: list[str], emission: np.ndarray, sequestration: np.ndarray,
          unit: str, lang: Lang, title: str) -> bytes:
    ax = fig.add_subplot()
    y = np.arange(len(names))
    ax.barh(y, emission, color="#d73027", label=ui("emission", lang))
    ax.barh(y, -sequestration, color="#1a9850", label=ui("sequestration", lang))
    net = emission - sequestration
    ax.scatter(net, y, color="black", marker="D", s=18, zorder=3, label=ui("net", lang))
    ax.axvline(0, color="#555555", lw=0.8)
    ax.set_yticks(y, names)
    ax.invert_yaxis()
    from matplotlib.ticker import FuncFormatter

    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.set_xlabel(f"{unit}/yr")
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
    axes[-1].set_xlabel(f"{ui('net_per_ha', language)} ({unit}/ha/yr)")
    axes[0].set_title(ui("net_vs_threshold", language))
    return _png(fig)


def _nice(length: float) -> float:
    exp = 10 ** math.floor(math.log10(length))
    return max(m * exp for m in (1, 2, 5) if m * exp <= length)


@_cjk
def static_map(units: gpd.GeoDataFrame, column: str = "risk_level", *, language: Lang = "zh",
               title: str | None = None) -> bytes:
    """A static map of the units (PNG bytes): class colours, legend, scale bar, north arrow.

    Parameters
    ----------
    units : geopandas.GeoDataFrame
        Assessed units table, any CRS (drawn in its UTM zone / metric CRS).
    column : {"risk_level", "space_type"}
    language : {"zh", "en"}
    title : str, optional
    """
    from matplotlib.patches import Patch, Rectangle

    if units.crs is not None and not units.crs.is_projected:
        units = units.to_crs(units.estimate_utm_crs())
    table = vocab("risk_levels" if column == "risk_level" else "space_types")
    fig = _figure(9, 7)
    ax = fig.add_subplot()
    colours = [table[v][2] if v in table else NO_DATA for v in units[column]]
    units.plot(ax=ax, color=colours, edgecolor="#555555", linewidth=0.4)
    ax.set_axis_off()
    ax.set_aspect("equal")
    zh = language == "zh"
    present = set(units[column])
    handles = [Patch(facecolor=c, edgecolor="#555555", label=v[zh]) for k, v in table.items()
               if k in present for c in [v[2]]]
    ax.legend(handles=handles, title=ui(column, language), loc="upper left", fontsize=9,
              bbox_to_anchor=(1.01, 1.0), title_fontsize=10, frameon=False)
    x0, y0, x1, y1 = units.total_bounds
    bar = _nice((x1 - x0) / 5)
    bx, by, h = x0, y0 - (y1 - y0) * 0.04, (y1 - y0) * 0.012
    for k in range(2):
        ax.add_patch(Rectangle((bx + k * bar / 2, by), bar / 2, h, facecolor="black" if k == 0
                               else "white", edgecolor="black", lw=0.8))
    unit_txt = f"{bar / 1000:g} km" if bar >= 1000 else f"{bar:g} m"
    ax.text(bx, by + 1.6 * h, "0", fontsize=8, ha="center")
    ax.text(bx + bar, by + 1.6 * h, unit_txt, fontsize=8, ha="center")
    ax.annotate("N", xy=(x1, y1), xytext=(x1, y1 - (y1 - y0) * 0.08), ha="center",
                fontsize=11,
                arrowprops={"arrowstyle": "-|>", "color": "black", "lw": 1.5})
    ax.set_ylim(by - 2 * h, None)
    if title:
        ax.set_title(title, fontsize=13)
    return _png(fig)
