"""Static figures (matplotlib PNG bytes) for the atlas report, slides and print: balance charts,
net per ha against each threshold, and static maps with legend and scale bar.

Every figure is drawn with the bundled CJK font (:mod:`landcarbon.publish.fonts`, a subset of
Noto Sans SC under the SIL OFL), registered with matplotlib whatever fonts the machine has: no
missing-glyph boxes and no glyph warnings on a machine without CJK fonts. PNGs are 300 dpi.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from landcarbon.publish._html import NO_DATA, label, per_ha_unit, total_unit, ui, vocab
from landcarbon.publish._mpl import DPI, cjk, cjk_font
from landcarbon.publish._mpl import figure as _figure
from landcarbon.publish._mpl import png as _png
from landcarbon.publish.palettes import EMISSION_COLOUR, SINK_COLOUR
from landcarbon.publish.static_maps import static_map, static_maps

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["DPI", "balance_by_land_class", "balance_by_space_type", "cjk_font",
           "net_vs_threshold", "static_map", "static_maps", "sweep_figure"]

Lang = Literal["zh", "en"]


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


@cjk
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


@cjk
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


@cjk
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
