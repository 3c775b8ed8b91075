"""Differentiated thresholds per space type and the risk level of each unit.

Thresholds are net carbon densities in t C/ha/yr, one per space type. A value is a number or
a regional statistic written ``"p75"`` (75th percentile) / ``"median"`` of ``net_tc_per_ha``
over the units of that space type in the run. Named presets ship in
``landcarbon/data/thresholds/``.

Risk bands compare a unit's net density with its limit. With ``scale = max(|limit|,
scale_floor)``: net > limit + severe_margin x scale -> ``severe``; net > limit -> ``exceeding``;
otherwise net < 0 -> ``net_sink``; net > limit - approaching_margin x scale -> ``approaching``;
else ``within``. Units without classified land get ``no_data``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import cache
from typing import Literal

import numpy as np
import pandas as pd

from landcarbon._resources import available, data_path, read_csv, read_toml
from landcarbon.accounting.conversions import OutputUnit, output_factor, output_suffix
from landcarbon.accounting.display_units import DisplayUnits
from landcarbon.accounting.legends import SPACE_TYPES, space_types
from landcarbon.exceptions import ConfigError

__all__ = [
    "RiskBands",
    "assess_risk",
    "list_threshold_presets",
    "load_threshold_preset",
    "resolve_thresholds",
    "risk_level_counts",
    "risk_level_of",
    "risk_levels",
    "risk_levels_vs_limit",
]

ThresholdSpec = dict[str, float | str]
_PCT = re.compile(r"^p(\d{1,2}(?:\.\d+)?)$")


@cache
def risk_levels() -> pd.DataFrame:
    """Risk-level vocabulary (names in English and Chinese, colours, ``vs_limit``), indexed by
    key, in order: ``landcarbon/data/risk_levels.csv``, the one source of the risk levels."""
    return read_csv(data_path("risk_levels.csv")).set_index("risk_level")


@cache
def risk_levels_vs_limit(side: Literal["below", "above"]) -> tuple[str, ...]:
    """The risk levels of units whose net is below (or at) their limit (``net_sink``,
    ``within``, ``approaching``) or above it (``exceeding``, ``severe``), in vocabulary
    order (column ``vs_limit`` of the vocabulary; ``no_data`` is neither)."""
    table = risk_levels()
    return tuple(table.index[table["vs_limit"] == side])


def risk_level_counts(levels: pd.Series) -> dict[str, int]:
    """Units per risk level present (the ``risk_levels`` of run totals), most frequent
    first."""
    return {str(k): int(v) for k, v in levels.value_counts().items()}


def list_threshold_presets() -> list[str]:
    """Names of the built-in threshold presets."""
    return available("thresholds", ".toml")


def load_threshold_preset(name: str) -> dict[str, dict[str, object]]:
    """Load a preset: ``{space_type: {"value": ..., "rationale": ..., "source": ...}}``."""
    if name not in list_threshold_presets():
        raise ConfigError(f"Threshold preset {name!r} does not exist; presets: "
                          f"{', '.join(list_threshold_presets())}. Or set agricultural, "
                          "construction and ecological in [thresholds].")
    doc = read_toml(data_path("thresholds", f"{name}.toml"))
    return {st: doc[st] for st in SPACE_TYPES}


def parse_threshold(value: float | str) -> float | str:
    """Validate one threshold: a number, ``"median"`` or ``"pNN"``; returns it normalised."""
    if isinstance(value, bool):
        raise ValueError("a threshold is a number in t C/ha/yr or 'pNN' / 'median'")
    if isinstance(value, int | float):
        if not np.isfinite(value):
            raise ValueError("threshold must be finite")
        return float(value)
    text = str(value).strip().lower()
    if text == "median":
        return "p50"
    if _PCT.match(text):
        return text
    raise ValueError(f"threshold {value!r} is neither a number (t C/ha/yr) nor 'pNN' / 'median'")


def resolve_thresholds(spec: ThresholdSpec, table: pd.DataFrame, *, components: bool = False
                       ) -> dict[str, float]:
    """Turn a threshold spec into numbers (t C/ha/yr) for every space type.

    ``"pNN"`` values are the NN-th percentile of ``net_tc_per_ha`` over the units of
    ``table`` whose ``space_type`` is that space type. With ``components=True`` they are the
    percentile of ``net_<space>_tc_per_ha`` (the density of that space's own land) over all
    units holding land of that space: the limits of the per-space cap test. Numeric values
    are the same either way.
    """
    out: dict[str, float] = {}
    for st in SPACE_TYPES:
        if st not in spec:
            raise ConfigError(f"No threshold for {st} space: set [thresholds] {st} (t C/ha/yr) "
                              "or choose a preset.")
        value = parse_threshold(spec[st])
        if isinstance(value, float):
            out[st] = value
            continue
        q = float(value[1:])
        if components:
            sample = table[f"net_{st}_tc_per_ha"].dropna()
        else:
            sample = table.loc[table["space_type"] == st, "net_tc_per_ha"].dropna()
        out[st] = float(np.percentile(sample, q)) if len(sample) else np.nan
    return out


@dataclass(frozen=True)
class RiskBands:
    """Band margins, as fractions of ``max(|limit|, scale_floor_tc_per_ha)``."""

    approaching_margin: float = 0.1
    severe_margin: float = 0.5
    scale_floor_tc_per_ha: float = 0.1


def _fmt(x: float) -> str:
    if not math.isfinite(x):  # math, not numpy: 19,000 calls for 4,761 units
        return "n/a"
    return f"{x:,.2f}" if abs(x) >= 0.1 or x == 0 else f"{x:.3g}"


def risk_level_of(net: np.ndarray, limit: np.ndarray, bands: RiskBands, *,
                  factor: float = 1.0) -> np.ndarray:
    """Risk level of net densities against limits (same unit; ``factor`` converts the scale
    floor from t C), without the reasons: the vectorised core of :func:`assess_risk`."""
    scale = np.maximum(np.abs(limit), bands.scale_floor_tc_per_ha * factor)
    return np.select(
        [~np.isfinite(net) | ~np.isfinite(limit),
         net > limit + bands.severe_margin * scale,
         net > limit,
         net < 0,
         net > limit - bands.approaching_margin * scale],
        ["no_data", "severe", "exceeding", "net_sink", "approaching"],
        default="within",
    )


def assess_risk(table: pd.DataFrame, thresholds: dict[str, float],
                bands: RiskBands | None = None, *, output_unit: OutputUnit = "t C",
                component_thresholds: dict[str, float] | None = None,
                full: bool = False, display: DisplayUnits | None = None) -> pd.DataFrame:
    """Risk level and reason of every unit.

    Parameters
    ----------
    table : pandas.DataFrame
        Needs ``space_type`` and the net density ``net_tc_per_ha`` (``net_tco2_per_ha`` when
        ``output_unit`` is t CO2).
    thresholds : dict
        Numeric limit per space type in **t C/ha/yr** (from :func:`resolve_thresholds`);
        converted to ``output_unit`` here.
    bands : RiskBands, optional
        Band margins.
    output_unit : {"t C", "t CO2"}
        Unit of the table's flux columns (the pipeline passes its canonical t C table; t CO2
        is for a table a user converted). The reasons are written in ``display``'s output
        unit (default: this one).
    component_thresholds : dict, optional
        Limits (t C/ha/yr) of the per-space cap test (see
        ``resolve_thresholds(..., components=True)``); default: ``thresholds``.
    full : bool
        Return ``table`` with the risk columns joined (replacing columns of the same name)
        instead of the risk columns alone.
    display : DisplayUnits, optional
        Units of the numbers in the reasons (t C or t CO2, per ha or per 亩, English and
        Chinese unit names); only the text follows it, the levels and columns do not.
        Default: ``output_unit`` per ha.

    Returns
    -------
    pandas.DataFrame
        Same index: ``threshold_tc_per_ha`` (or ``threshold_tco2_per_ha``), ``risk_level``,
        ``risk_reason_en``, ``risk_reason_zh`` and ``exceeded_spaces`` (the space types whose
        own land inside the unit is over that space's limit: the per-space cap test).
    """
    bands = bands or RiskBands()
    suffix = output_suffix(output_unit)
    factor = output_factor(output_unit)
    shown = display or DisplayUnits(output_unit)
    # the reasons show the display's output unit: a t C table (the pipeline's canonical one)
    # with a t CO2 display gets its numbers x 44/12 in the text only
    to_shown = shown.factor / factor
    label_en, label_zh = shown.density_label("en"), shown.density_label("zh")
    net = table[f"net_{suffix}_per_ha"].to_numpy(dtype=float)
    st = table["space_type"].to_numpy()
    limit = np.array([thresholds.get(s, np.nan) for s in st], dtype=float) * factor
    level = risk_level_of(net, limit, bands, factor=factor)
    names = space_types()
    levels = risk_levels()
    en, zh = [], []
    # plain dicts: one pandas .loc lookup per unit cost ~0.1 ms (0.5 s for 2500 units)
    st_en = {k: str(v).lower() for k, v in names["name_en"].items()}
    st_zh = dict(names["name_zh"].items())
    lev_en = {k: str(v).lower() for k, v in levels["name_en"].items()}
    lev_zh = dict(levels["name_zh"].items())
    # Python floats and strings (numpy scalars compare and format ~3x slower); a limit is
    # one of a few values: each written once
    lim_text: dict[float, str] = {}
    for s, n, lim, lev, n_shown, lim_shown in zip(
            st.tolist(), net.tolist(), limit.tolist(), level.tolist(),
            shown.per_area(net * to_shown).tolist(), shown.per_area(limit * to_shown).tolist(),
            strict=True):
        if lev == "no_data":
            en.append("no classified land or no threshold for this unit")
            zh.append("单元内无有效地类或无对应阈值")
            continue
        op = ">" if n > lim else "≤"
        n_s = _fmt(n_shown)
        lim_s = lim_text.get(lim_shown)
        if lim_s is None:
            lim_s = lim_text[lim_shown] = _fmt(lim_shown)
        en.append(f"{st_en.get(s, s)} unit: net {n_s} {label_en} {op} limit {lim_s} "
                  f"({lev_en[lev]})")
        zh_op = "高于" if n > lim else "不高于"
        zh.append(f"{st_zh.get(s, s)}单元：净排放 {n_s} {label_zh}，{zh_op}阈值 {lim_s}"
                  f"（{lev_zh[lev]}）")
    risk = pd.DataFrame({
        f"threshold_{suffix}_per_ha": limit,
        "risk_level": level,
        "risk_reason_en": en,
        "risk_reason_zh": zh,
        "exceeded_spaces": _exceeded_spaces(table, component_thresholds or thresholds, suffix,
                                            factor),
    }, index=table.index)
    if not full:
        return risk
    return table.drop(columns=[c for c in risk.columns if c in table.columns]).join(risk)


def _exceeded_spaces(table: pd.DataFrame, thresholds: dict[str, float], suffix: str,
                     factor: float) -> list[str]:
    """Per unit, the space types whose OWN land inside the unit is over that space's limit
    (``net_<space>_per_ha`` > threshold), comma-separated; empty when none or when the
    table has no space components."""
    flags = []
    for st in SPACE_TYPES:
        col = f"net_{st}_{suffix}_per_ha"
        if col in table.columns and st in thresholds:
            limit = thresholds[st] * factor
            # a relative tolerance so that land exactly at its limit is not "over" by rounding
            over = table[col].to_numpy(dtype=float) > limit + 1e-9 * max(1.0, abs(limit))
            flags.append(np.where(over, st, ""))
    if not flags:
        return [""] * len(table)
    return [",".join(p for p in parts if p) for parts in zip(*flags, strict=True)]
