"""Dynamic carbon risk between two dates (动态识别国土空间碳风险地区): emission growth against
the region (R2), sink loss and conversion to construction land (R3), a risk level moving up
against fixed limits, carbon intensity against the base year and Tapio decoupling.

Every flag is evaluated for each unit with classified land at both dates (True/False, never
empty); units without land at one of the dates get ``<NA>``. Notation per unit: E emission
(>= 0), S sequestration (>= 0, the size of the sink), G GDP; 0 = earlier date, 1 = later date,
b = base (first) date.

* **R2** emission growing faster than the region's: ``g_i = (E1_i - E0_i) / E0_i`` and
  ``g = (sum E1 - sum E0) / sum E0`` over the units with data at both dates; raised when
  ``g_i > 0`` and ``g_i > g`` (a unit with ``E0 = 0 < E1`` has ``g_i = +inf``).
* **R3** sink loss or conversion: ``S0 - S1 > sink_loss_share x S0`` (methodology §6: the
  sink may fall by at most 5 %), or more than ``conversion_min_ha`` of ecological or
  agricultural space became construction space between the dates.
* **Risk level up** (``risk_level_rise``): the level's rank moved up and the later level is
  ``approaching``, ``exceeding`` or ``severe`` (ranks: net_sink and within 0, approaching 1,
  exceeding 2, severe 3), each date judged against the run's thresholds (the same numbers
  unless the target pathway gives each year its own limit).
* **Carbon intensity** ``I = E / G`` (output unit per 10^4 CNY); ``intensity_change_pct =
  100 (I1 / Ib - 1)`` against the base date; ``intensity_rise`` when it is above 0.
* **Tapio decoupling** (Tapio 2005, Transport Policy 12(2):137-151): elasticity
  ``e = (dE / E0) / (dG / G0)`` and one of eight states (:data:`TAPIO_STATES`) from the signs
  of dE and dG and the breakpoints 0.8 and 1.2; ``negative_decoupling`` is raised for
  expansive negative decoupling (emissions grow more than 1.2 times as fast as GDP) and
  strong negative decoupling (emissions grow while GDP falls).

A unit **moves into risk** over the period (``dynamic_risk``) when any of R2, R3, the risk-level
rise, the intensity rise and negative decoupling is raised; ``dynamic_risk_flags`` lists them
and ``dynamic_risk_reason_en`` / ``_zh`` give the figures.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from landcarbon.accounting.conversions import OUTPUT_UNITS
from landcarbon.accounting.display_units import DisplayUnits
from landcarbon.accounting.legends import space_types
from landcarbon.accounting.risk import risk_levels

__all__ = ["DYNAMIC_COLUMNS", "DYNAMIC_FLAGS", "TAPIO_STATES", "dynamic_risk",
           "emission_growth_flags", "sink_loss_flags", "tapio_elasticity", "tapio_states"]

#: The eight Tapio (2005) decoupling states, GDP growing first, then GDP falling.
TAPIO_STATES = ("strong_decoupling", "weak_decoupling", "expansive_coupling",
                "expansive_negative_decoupling", "strong_negative_decoupling",
                "weak_negative_decoupling", "recessive_coupling", "recessive_decoupling")
TAPIO_ZH = {"strong_decoupling": "强脱钩", "weak_decoupling": "弱脱钩",
            "expansive_coupling": "扩张连接", "expansive_negative_decoupling": "扩张负脱钩",
            "strong_negative_decoupling": "强负脱钩", "weak_negative_decoupling": "弱负脱钩",
            "recessive_coupling": "衰退连接", "recessive_decoupling": "衰退脱钩",
            "undetermined": "无法判定"}
#: The conditions that make a unit move into risk, in reporting order.
DYNAMIC_FLAGS = ("R2", "R3", "risk_level_rise", "intensity_rise", "negative_decoupling")
#: The columns :func:`dynamic_risk` returns, in order.
DYNAMIC_COLUMNS = ("change_from_year", "change_to_year", "emission_growth_pct",
                   "region_emission_growth_pct",
                   "flag_r2", "sequestration_change_pct", "converted_to_construction_ha",
                   "flag_r3", "risk_level_before", "risk_level_rise",
                   "emission_intensity_change_pct", "intensity_rise", "tapio_elasticity",
                   "tapio_state", "negative_decoupling", "dynamic_risk", "dynamic_risk_flags",
                   "dynamic_risk_reason_en", "dynamic_risk_reason_zh")
_RANK = {"net_sink": 0, "within": 0, "approaching": 1, "exceeding": 2, "severe": 3}



def _flags(values: np.ndarray, known: np.ndarray) -> pd.arrays.BooleanArray:
    """Nullable booleans: ``values`` where ``known``, ``<NA>`` elsewhere."""
    return pd.arrays.BooleanArray(np.asarray(values, dtype=bool),
                                  ~np.asarray(known, dtype=bool))


def _pct(x: float) -> str:
    return "n/a" if not math.isfinite(x) else f"{x:+.1f} %"


def emission_growth_flags(e0: np.ndarray, e1: np.ndarray) -> tuple[np.ndarray, float, np.ndarray]:
    """R2: each unit's emission growth against the region's.

    Parameters
    ----------
    e0, e1 : numpy.ndarray
        Emissions (>= 0) at the earlier and the later date; NaN = no data at that date.

    Returns
    -------
    (numpy.ndarray, float, pandas.arrays.BooleanArray)
        Unit growth rates (fractions; ``+inf`` for ``E0 = 0 < E1``, 0 for ``E0 = E1 = 0``,
        NaN without data), the regional growth rate over the units with data at both dates,
        and the flag (``<NA>`` without data).
    """
    e0, e1 = np.asarray(e0, dtype=np.float64), np.asarray(e1, dtype=np.float64)
    ok = np.isfinite(e0) & np.isfinite(e1)
    rate = np.full(e0.shape, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate[ok] = np.where(e0[ok] > 0, (e1[ok] - e0[ok]) / e0[ok],
                            np.where(e1[ok] > 0, np.inf, 0.0))
    total0, total1 = float(e0[ok].sum()), float(e1[ok].sum())
    region = (total1 - total0) / total0 if total0 > 0 else (np.inf if total1 > 0 else 0.0)
    flag = (rate > 0) & (rate > region)
    return rate, region, _flags(flag, ok)


def sink_loss_flags(s0: np.ndarray, s1: np.ndarray, converted_ha: np.ndarray, *,
                    sink_loss_share: float = 0.05, conversion_min_ha: float = 1.0
                    ) -> tuple[np.ndarray, pd.api.extensions.ExtensionArray]:
    """R3: sink loss beyond ``sink_loss_share`` or conversion to construction land.

    Parameters
    ----------
    s0, s1 : numpy.ndarray
        Sequestration (>= 0) at the earlier and later date; NaN = no data.
    converted_ha : numpy.ndarray
        Ecological or agricultural space converted to construction space between the dates
        (ha; NaN = not known, counted as 0 where the sinks are known).
    sink_loss_share, conversion_min_ha : float
        Allowed relative fall of the sink; converted area above which the unit is flagged.

    Returns
    -------
    (numpy.ndarray, pandas.arrays.BooleanArray)
        Relative change of the sink ``(S1 - S0) / S0`` (NaN when ``S0 = 0``) and the flag.
    """
    s0, s1 = np.asarray(s0, dtype=np.float64), np.asarray(s1, dtype=np.float64)
    conv = np.nan_to_num(np.asarray(converted_ha, dtype=np.float64), nan=0.0)
    ok = np.isfinite(s0) & np.isfinite(s1)
    with np.errstate(divide="ignore", invalid="ignore"):
        change = np.where(ok & (s0 > 0), (s1 - s0) / s0, np.nan)
    flag = ((s0 - s1) > sink_loss_share * s0) | (conv > conversion_min_ha)
    return change, pd.array(np.where(ok, flag, None), dtype="boolean")


def tapio_elasticity(e0: np.ndarray, e1: np.ndarray, g0: np.ndarray, g1: np.ndarray
                     ) -> np.ndarray:
    """Tapio's decoupling elasticity ``(dE / E0) / (dG / G0)``; NaN when E0 <= 0, G0 <= 0,
    dG = 0 or a value is missing."""
    e0, e1, g0, g1 = (np.asarray(x, dtype=np.float64) for x in (e0, e1, g0, g1))
    ok = (e0 > 0) & (g0 > 0) & np.isfinite(e1) & np.isfinite(g1) & (g1 != g0)
    out = np.full(e0.shape, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        out[ok] = ((e1 - e0) / e0)[ok] / ((g1 - g0) / g0)[ok]
    return out


def tapio_states(e0: np.ndarray, e1: np.ndarray, g0: np.ndarray, g1: np.ndarray, *,
                 low: float = 0.8, high: float = 1.2) -> np.ndarray:
    """Tapio (2005) decoupling state of emissions against GDP.

    With GDP growing: dE < 0 strong decoupling; ``0 <= e < low`` weak decoupling; ``low <=
    e <= high`` expansive coupling; ``e > high`` expansive negative decoupling. With GDP
    falling: dE > 0 strong negative decoupling; ``0 <= e < low`` weak negative decoupling;
    ``low <= e <= high`` recessive coupling; ``e > high`` recessive decoupling. A value at a
    breakpoint belongs to the coupling band. ``undetermined`` when the elasticity is not
    defined (no emission or GDP at the earlier date, GDP unchanged, missing values).

    Returns
    -------
    numpy.ndarray
        State names (object array).
    """
    # rounded to 9 decimals: an elasticity of 0.8 computed as 0.7999999999999999 is 0.8
    e = np.round(tapio_elasticity(e0, e1, g0, g1), 9)
    de = np.asarray(e1, dtype=np.float64) - np.asarray(e0, dtype=np.float64)
    dg = np.asarray(g1, dtype=np.float64) - np.asarray(g0, dtype=np.float64)
    ok = np.isfinite(e)
    grow, fall = ok & (dg > 0), ok & (dg < 0)
    band = np.select([e < low, e <= high], ["weak", "coupling"], default="high")
    return np.select(
        [grow & (de < 0), grow & (band == "weak"), grow & (band == "coupling"), grow,
         fall & (de > 0), fall & (band == "weak"), fall & (band == "coupling"), fall],
        list(TAPIO_STATES), default="undetermined").astype(object)


def _rank(levels: pd.Series) -> np.ndarray:
    return levels.map(_RANK).to_numpy(dtype=np.float64)


def dynamic_risk(before: pd.DataFrame, after: pd.DataFrame, *, year_from: int, year_to: int,
                 base: pd.DataFrame | None = None, converted_ha: pd.Series | None = None,
                 suffix: str = "tc", sink_loss_share: float = 0.05,
                 conversion_min_ha: float = 1.0, gdp_column: str = "gdp",
                 display: DisplayUnits | None = None) -> pd.DataFrame:
    """Dynamic carbon risk of every unit of ``after`` against ``before`` (and ``base``).

    Parameters
    ----------
    before, after : pandas.DataFrame
        Assessed units of the earlier and the later date, indexed by unit_id: ``covered_ha``,
        ``emission_<suffix>``, ``sequestration_<suffix>``, ``risk_level``, ``space_type``
        and, for intensity and Tapio, ``gdp_column`` (10^4 CNY).
    year_from, year_to : int
        The two dates (written in the reasons).
    base : pandas.DataFrame, optional
        The base date for the intensity change (default: ``before``).
    converted_ha : pandas.Series, optional
        Per unit_id, ecological + agricultural space converted to construction space (ha).
    suffix : {"tc", "tco2"}
        Unit of the flux columns.
    sink_loss_share, conversion_min_ha : float
        R3 settings (``[change.monitoring]``).
    display : DisplayUnits, optional
        Output unit and area unit of the reasons (t C / t CO2 per 10^4 CNY, ha or 亩); text
        only. Default: the unit of ``suffix``, ha.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``after``: ``change_from_year``, ``change_to_year``,
        ``emission_growth_pct``,
        ``region_emission_growth_pct``, ``flag_r2``, ``sequestration_change_pct``,
        ``converted_to_construction_ha``, ``flag_r3``, ``risk_level_before``,
        ``risk_level_rise``, ``emission_intensity_change_pct`` (vs base), ``intensity_rise``,
        ``tapio_elasticity``, ``tapio_state``, ``negative_decoupling``, ``dynamic_risk``,
        ``dynamic_risk_flags``, ``dynamic_risk_reason_en``, ``dynamic_risk_reason_zh``.
        Booleans are nullable (``<NA>`` = not evaluated).
    """
    ids = after.index
    b = before.reindex(ids)
    base = before if base is None else base
    bs = base.reindex(ids)
    has0 = (b["covered_ha"].astype(float) > 0).to_numpy()
    has1 = (after["covered_ha"].astype(float) > 0).to_numpy()
    both = has0 & has1
    em, sq = f"emission_{suffix}", f"sequestration_{suffix}"

    def col(t: pd.DataFrame, c: str) -> np.ndarray:
        v = t[c].to_numpy(dtype=np.float64) if c in t else np.full(len(ids), np.nan)
        return np.where(both, v, np.nan)

    e0, e1, s0, s1 = col(b, em), col(after, em), col(b, sq), col(after, sq)
    rate, region, r2 = emission_growth_flags(e0, e1)
    conv = (converted_ha.reindex(ids).to_numpy(dtype=np.float64) if converted_ha is not None
            else np.full(len(ids), np.nan))
    conv = np.where(both, np.nan_to_num(conv, nan=0.0), np.nan)
    sink_change, r3 = sink_loss_flags(s0, s1, conv, sink_loss_share=sink_loss_share,
                                      conversion_min_ha=conversion_min_ha)
    r0, r1 = _rank(b["risk_level"]), _rank(after["risk_level"])
    lev_ok = both & np.isfinite(r0) & np.isfinite(r1)
    rise = _flags((r1 > r0) & (r1 >= 1), lev_ok)
    g0, g1, gb, eb = col(b, gdp_column), col(after, gdp_column), col(bs, gdp_column), col(bs, em)
    with np.errstate(divide="ignore", invalid="ignore"):
        i1 = np.where(g1 > 0, e1 / g1, np.nan)
        ib = np.where(gb > 0, eb / gb, np.nan)
        ichange = np.where(ib > 0, 100.0 * (i1 / ib - 1.0), np.nan)
    irise = _flags(ichange > 0, np.isfinite(ichange))
    elasticity = tapio_elasticity(e0, e1, g0, g1)
    state = tapio_states(e0, e1, g0, g1)
    neg = _flags(np.isin(state, ["expansive_negative_decoupling",
                                 "strong_negative_decoupling"]), state != "undetermined")
    out = pd.DataFrame({
        "change_from_year": year_from,
        "change_to_year": year_to,
        "emission_growth_pct": 100.0 * rate,
        "region_emission_growth_pct": np.where(both, 100.0 * region, np.nan),
        "flag_r2": r2,
        "sequestration_change_pct": 100.0 * sink_change,
        "converted_to_construction_ha": conv,
        "flag_r3": r3,
        "risk_level_before": b["risk_level"].to_numpy(),
        "risk_level_rise": rise,
        "emission_intensity_change_pct": ichange,
        "intensity_rise": irise,
        "tapio_elasticity": elasticity,
        "tapio_state": np.where(both, state.astype(object), np.array(None)),
        "negative_decoupling": neg,
    }, index=ids)
    flags = pd.DataFrame({"R2": r2, "R3": r3, "risk_level_rise": rise,
                          "intensity_rise": irise, "negative_decoupling": neg}, index=ids)
    raised = flags.fillna(False).astype(bool)
    evaluated = flags.notna().any(axis=1).to_numpy()
    out["dynamic_risk"] = pd.array(np.where(evaluated, raised.any(axis=1), None),
                                   dtype="boolean")
    out["dynamic_risk_flags"] = [",".join(f for f, r in zip(DYNAMIC_FLAGS, row, strict=True)
                                          if r) for row in raised.to_numpy()]
    en, zh = _reasons(out, after, raised, year_from, year_to, sink_loss_share,
                      conversion_min_ha, display or DisplayUnits(OUTPUT_UNITS[suffix]))
    out["dynamic_risk_reason_en"], out["dynamic_risk_reason_zh"] = en, zh
    return out


def _reasons(out: pd.DataFrame, after: pd.DataFrame, raised: pd.DataFrame, y0: int, y1: int,
             share: float, min_ha: float, shown: DisplayUnits
             ) -> tuple[list[str], list[str]]:
    """One sentence per raised condition, with its figures (English and Chinese); units
    in the display's output unit (the figures themselves are unit-free shares)."""
    unit = shown.output_unit
    zh_level = dict(risk_levels()["name_zh"].items())
    zh_space = dict(space_types()["name_zh"].items())
    en_all, zh_all = [""] * len(out), [""] * len(out)  # no condition raised: no reason
    # plain records of the units with a raised condition, and of the columns read here: one
    # pandas .loc per unit would cost ~0.1 ms each (thousands of units)
    flags_all = raised.to_numpy()
    rows = np.flatnonzero(flags_all.any(axis=1))
    used = [c for c in ("emission_growth_pct", "region_emission_growth_pct",
                        "sequestration_change_pct", "converted_to_construction_ha",
                        "risk_level_before", "emission_intensity_change_pct", "tapio_state",
                        "tapio_elasticity") if c in out.columns]
    records = out.iloc[rows][used].to_dict("records")
    levels = after["risk_level"].astype(str).to_numpy()[rows]
    spaces = after["space_type"].astype(str).to_numpy()[rows]
    for i, r, flags, lev1, st in zip(rows, records, flags_all[rows], levels, spaces,
                                     strict=True):
        en: list[str] = []
        zh: list[str] = []
        if flags[0]:
            en.append(f"R2: emission {_pct(r['emission_growth_pct'])} {y0}-{y1}, region "
                      f"{_pct(r['region_emission_growth_pct'])}")
            zh.append(f"R2：{y0}-{y1} 年碳排放变化 {_pct(r['emission_growth_pct'])}，高于全区 "
                      f"{_pct(r['region_emission_growth_pct'])}")
        if flags[1]:
            parts_en, parts_zh = [], []
            sc = r["sequestration_change_pct"]
            if math.isfinite(sc) and -sc > 100 * share:
                parts_en.append(f"sink {_pct(sc)} (allowed -{share:.0%})")
                parts_zh.append(f"碳汇量变化 {_pct(sc)}（允许 -{share:.0%}）")
            ha = r["converted_to_construction_ha"]
            if ha > min_ha:
                area = f"{shown.area(ha):,.1f}"
                parts_en.append(f"{area} {shown.area_label('en')} of ecological/agricultural "
                                "space became construction land")
                parts_zh.append(f"{area} {shown.area_label('zh')}生态/农业空间转为建设用地")
            en.append("R3: " + "; ".join(parts_en))
            zh.append("R3：" + "；".join(parts_zh))
        if flags[2]:
            en.append(f"risk level {r['risk_level_before']} -> {lev1} against the "
                      f"{st} limit")
            zh.append(f"风险等级由{zh_level.get(str(r['risk_level_before']), '')}升为"
                      f"{zh_level.get(lev1, lev1)}（{zh_space.get(st, st)}阈值）")
        if flags[3]:
            en.append(f"carbon intensity {_pct(r['emission_intensity_change_pct'])} against "
                      f"the base year ({unit}/10^4 CNY)")
            zh.append(f"碳排放强度较基准年变化 {_pct(r['emission_intensity_change_pct'])}")
        if flags[4]:
            state = str(r["tapio_state"])
            en.append(f"Tapio: {state.replace('_', ' ')} (e = {r['tapio_elasticity']:.2f})")
            zh.append(f"Tapio 脱钩状态：{TAPIO_ZH[state]}（弹性 {r['tapio_elasticity']:.2f}）")
        en_all[i] = "; ".join(en)
        zh_all[i] = "；".join(zh)
    return en_all, zh_all
