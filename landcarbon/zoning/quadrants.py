"""Carbon-balance zoning: ECC/ESC quadrant zones, graded classes and the carbon-risk overlay.

* **Quadrant zones** (methodology section 5): with breakpoints ``b_ecc`` and ``b_esc``
  (default 1: a unit's share of GDP, or of sinks, equals its share of emissions),
  ``ECC >= b_ecc & ESC >= b_esc`` -> 低碳维持区 low-carbon maintenance; ``ECC < b_ecc &
  ESC >= b_esc`` -> 碳汇功能区 carbon-sink function; ``ECC >= b_ecc & ESC < b_esc`` ->
  碳强度控制区 carbon-intensity control; both below -> 高碳优化区 high-carbon optimisation.
  A value exactly at the breakpoint counts as ">=". ``+inf`` (no emission) is ">=";
  ``NaN`` (0/0, no statistics) -> ``undetermined``. Names and colours:
  ``landcarbon/data/zones.csv``.
* **Graded classes** of any column by quantiles, natural breaks (Fisher-Jenks, optimal and
  deterministic) or equal intervals (mapclassify; Rey et al.).
* **Carbon-risk overlay** (碳风险区): flags R1-R5 of ``landcarbon/data/risk_flags.csv``; a unit
  is in the carbon-risk zone when at least ``min_flags`` of the enabled flags are raised.
  R2/R3 compare with an earlier period (:func:`risk_overlay`'s ``previous`` argument, filled
  by the change-over-time step); without it they are ``<NA>`` (not evaluated).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cache
from typing import Literal

import numpy as np
import pandas as pd

from landcarbon._resources import data_path, read_csv
from landcarbon.change.dynamic_risk import emission_growth_flags, sink_loss_flags
from landcarbon.exceptions import ConfigError, InputError

__all__ = [
    "RISK_FLAGS",
    "graded_class_columns",
    "graded_classes",
    "hotspot_class_table",
    "quadrant_zones",
    "risk_flag_table",
    "risk_overlay",
    "zone_layers",
    "zone_table",
]

RISK_FLAGS = ("R1", "R2", "R3", "R4", "R5")
GradingMethod = Literal["quantiles", "natural_breaks", "equal_interval"]


@cache
def zone_table() -> pd.DataFrame:
    """Quadrant-zone vocabulary (names en/zh, colours), indexed by ``zone``."""
    return read_csv(data_path("zones.csv")).set_index("zone")


@cache
def risk_flag_table() -> pd.DataFrame:
    """Risk-flag vocabulary R1-R5 (names en/zh, rule, source), indexed by ``flag``."""
    return read_csv(data_path("risk_flags.csv")).set_index("flag")


@cache
def hotspot_class_table() -> pd.DataFrame:
    """Hot-spot class vocabulary (names en/zh, colours), indexed by ``gi_class``."""
    return read_csv(data_path("hotspot_classes.csv")).set_index("gi_class")


def quadrant_zones(ecc: object, esc: object, *, ecc_breakpoint: float = 1.0,
                   esc_breakpoint: float = 1.0) -> np.ndarray:
    """Quadrant zone key of each unit from its ECC and ESC (see the module docstring).

    Returns
    -------
    numpy.ndarray of str
        ``low_carbon_maintenance``, ``carbon_sink_function``, ``carbon_intensity_control``,
        ``high_carbon_optimisation`` or ``undetermined``.
    """
    ecc = np.asarray(ecc, dtype=np.float64)
    esc = np.asarray(esc, dtype=np.float64)
    hi_g = ecc >= ecc_breakpoint
    hi_s = esc >= esc_breakpoint
    return np.select(
        [np.isnan(ecc) | np.isnan(esc), hi_g & hi_s, ~hi_g & hi_s, hi_g & ~hi_s],
        ["undetermined", "low_carbon_maintenance", "carbon_sink_function",
         "carbon_intensity_control"],
        default="high_carbon_optimisation").astype(object)


def graded_classes(values: pd.Series, *, method: GradingMethod = "quantiles", k: int = 5
                   ) -> tuple[pd.Series, list[float]]:
    """Graded class (1 = lowest .. k) of each value; 0 for NaN / infinite values.

    Parameters
    ----------
    values : pandas.Series
    method : {"quantiles", "natural_breaks", "equal_interval"}
        mapclassify ``Quantiles``, ``FisherJenks`` or ``EqualInterval``.
    k : int
        Number of classes (fewer when there are fewer distinct values).

    Returns
    -------
    (classes, upper_bounds) : (pandas.Series of int, list of float)
    """
    if method not in GRADING_METHODS:
        raise ConfigError(f"[zoning] grading method {method!r} is unknown; use one of "
                          f"{', '.join(GRADING_METHODS)}.")
    y = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64)
    ok = np.isfinite(y)
    out = pd.Series(0, index=values.index, dtype="int64")
    distinct = np.unique(y[ok])
    if len(distinct) == 0:
        return out, []
    k_eff = int(min(k, len(distinct)))
    if k_eff < 2:
        out[ok] = 1
        return out, [float(distinct[0])]
    if method == "quantiles":  # numpy: mapclassify (and scikit-learn) cost 3-4 s to import
        bins = quantile_bins(y[ok], k_eff)
        out[ok] = np.searchsorted(bins, y[ok], side="left") + 1
        return out, [float(b) for b in bins]
    import warnings

    import mapclassify

    classifier = {"natural_breaks": mapclassify.FisherJenks,
                  "equal_interval": mapclassify.EqualInterval}[method]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cls = classifier(y[ok], k=k_eff)
    out[ok] = np.asarray(cls.yb, dtype=np.int64) + 1
    return out, [float(b) for b in cls.bins]


#: Grading methods of :func:`graded_classes`.
GRADING_METHODS = ("quantiles", "natural_breaks", "equal_interval")


def quantile_bins(y: np.ndarray, k: int) -> np.ndarray:
    """Upper bounds of ``k`` quantile classes of ``y`` (finite values), duplicates dropped:
    the bins of mapclassify's ``Quantiles`` (percentiles ``100 / k``, ``200 / k`` .. 100,
    linear interpolation between order statistics as ``scipy.stats.scoreatpercentile``),
    computed with numpy alone.

    Returns
    -------
    numpy.ndarray
        Increasing upper bounds; the last is ``y.max()``.
    """
    v = np.sort(np.asarray(y, dtype=np.float64))
    w = 100.0 / k
    p = np.arange(w, 100 + w, w)
    if p[-1] > 100.0:
        p[-1] = 100.0
    scores = []
    for pct in p:
        idx = pct / 100.0 * (len(v) - 1)
        i = int(idx)
        if i == idx:
            scores.append(v[i])
        else:
            weights = np.array([(i + 1) - idx, idx - i])
            scores.append(np.add.reduce(v[i:i + 2] * weights) / weights.sum())
    return np.unique(np.array(scores))


def _ratio_limit(spec: float | str, ratio: np.ndarray) -> float:
    if isinstance(spec, int | float):
        return float(spec)
    from landcarbon.accounting.risk import parse_threshold

    try:
        value = parse_threshold(spec)
    except ValueError:
        raise ConfigError(f"[zoning] ratio_threshold {spec!r} is neither a number nor "
                          "'pNN' / 'median'.") from None
    if isinstance(value, float):
        return value
    finite = ratio[np.isfinite(ratio)]
    return float(np.percentile(finite, float(value[1:]))) if finite.size else np.inf


def risk_overlay(
    table: pd.DataFrame,
    *,
    suffix: str = "tc",
    flags: Iterable[str] = RISK_FLAGS,
    ratio_threshold: float | str = "p75",
    hotspot_z: float = 1.96,
    previous: pd.DataFrame | None = None,
    sink_loss_tolerance: float = 0.05,
    conversion_min_ha: float = 1.0,
    min_flags: int = 1,
    change_flags: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Carbon-risk flags R1-R5 and the carbon-risk zone of each unit.

    Parameters
    ----------
    table : pandas.DataFrame
        Units with ``unit_id``, ``risk_level``, ``emission_<suffix>``,
        ``sequestration_<suffix>``, ``net_<suffix>``; ``source_sink_ratio`` for R1 and
        ``gi_z`` / ``gi_class`` (unit hot spots) for R5.
    flags : iterable of str
        Enabled flags (subset of R1..R5).
    ratio_threshold : float or str
        R1: source/sink ratio E/S above which a unit is flagged, or ``"pNN"`` / ``"median"``:
        that percentile of the finite ratios of all units (default ``"p75"``: the quarter of
        units with the highest ratio; infinite ratios, units without sinks, are above it).
    hotspot_z : float
        R5: Gi* z-score at or above which a *significant* hot spot is flagged.
    previous : pandas.DataFrame, optional
        The earlier period, indexed by unit_id: ``emission_<suffix>`` (R2, see
        :func:`landcarbon.change.dynamic_risk.emission_growth_flags`: the unit's emission grows and
        grows faster than the region's), ``sequestration_<suffix>`` (R3 sink loss) and
        optionally ``converted_to_construction_ha`` (R3: ecological or agricultural land
        converted to construction land between the periods, ha). Missing columns leave
        R2/R3 ``<NA>``.
    sink_loss_tolerance : float
        R3: allowed relative fall of sequestration (0.05 = 5 %).
    conversion_min_ha : float
        R3: converted area (ha) above which a unit is flagged (default 1 ha, as
        ``[change.monitoring]``).
    min_flags : int
        Raised flags needed for the carbon-risk zone.
    change_flags : pandas.DataFrame, optional
        R2 and R3 already evaluated (``flag_r2``, ``flag_r3`` indexed by unit_id, from
        :func:`landcarbon.change.dynamic_risk.dynamic_risk`: what a change run passes); takes
        precedence over ``previous``.

    Returns
    -------
    pandas.DataFrame
        Same index: ``flag_r1`` .. ``flag_r5`` (nullable boolean; ``<NA>`` = not evaluated),
        ``risk_flags`` (e.g. ``"R1,R4"``), ``risk_flag_count`` and ``carbon_risk_zone``.
    """
    enabled = [f.upper() for f in flags]
    unknown = sorted(set(enabled) - set(RISK_FLAGS))
    if unknown:
        raise ConfigError(f"[zoning] unknown risk flag(s) {', '.join(unknown)}; valid: "
                          f"{', '.join(RISK_FLAGS)}.")
    n = len(table)
    na = pd.array([pd.NA] * n, dtype="boolean")
    out = {f: na.copy() for f in RISK_FLAGS}
    if "R1" in enabled and "source_sink_ratio" in table:
        ratio = table["source_sink_ratio"].to_numpy(dtype=np.float64)
        limit = _ratio_limit(ratio_threshold, ratio)
        out["R1"] = pd.array(np.where(np.isnan(ratio), None, ratio > limit),
                             dtype="boolean")
    if "R4" in enabled:
        from landcarbon.accounting.risk import risk_levels_vs_limit

        out["R4"] = pd.array(table["risk_level"].isin(risk_levels_vs_limit("above"))
                             .to_numpy(), dtype="boolean")
    if "R5" in enabled and "gi_z" in table:
        z = table["gi_z"].to_numpy(dtype=np.float64)
        sig = table["gi_class"].astype(str).str.startswith("hot_").to_numpy()
        out["R5"] = pd.array(np.where(np.isnan(z), None, (z >= hotspot_z) & sig),
                             dtype="boolean")
    ids = table["unit_id"].astype(str)
    if change_flags is not None:
        given = change_flags.copy()
        given.index = given.index.astype(str)
        for f in ("R2", "R3"):
            if f in enabled and f"flag_{f.lower()}" in given:
                out[f] = pd.array(ids.map(given[f"flag_{f.lower()}"]).to_numpy(),
                                  dtype="boolean")
    elif previous is not None:
        prev = previous.copy()
        prev.index = prev.index.astype(str)
        now_s = table[f"sequestration_{suffix}"].to_numpy(dtype=np.float64)
        if "R2" in enabled and f"emission_{suffix}" in prev:
            before = ids.map(prev[f"emission_{suffix}"]).to_numpy(dtype=np.float64)
            out["R2"] = emission_growth_flags(
                before, table[f"emission_{suffix}"].to_numpy(dtype=np.float64))[2]
        if "R3" in enabled and f"sequestration_{suffix}" in prev:
            before = ids.map(prev[f"sequestration_{suffix}"]).to_numpy(dtype=np.float64)
            conv = (ids.map(prev["converted_to_construction_ha"]).to_numpy(dtype=np.float64)
                    if "converted_to_construction_ha" in prev else np.zeros(n))
            out["R3"] = sink_loss_flags(before, now_s, conv,
                                        sink_loss_share=sink_loss_tolerance,
                                        conversion_min_ha=conversion_min_ha)[1]
    frame = pd.DataFrame({f"flag_{f.lower()}": out[f] for f in RISK_FLAGS}, index=table.index)
    raised = frame.fillna(False).astype(bool)
    frame["risk_flags"] = [",".join(f for f, r in zip(RISK_FLAGS, row, strict=True) if r)
                           for row in raised.to_numpy()]
    frame["risk_flag_count"] = raised.sum(axis=1).astype("int64")
    frame["carbon_risk_zone"] = frame["risk_flag_count"] >= max(1, int(min_flags))
    return frame


@cache
def _map_categories() -> pd.DataFrame:
    return read_csv(data_path("map_categories.csv"))


def _labels(table: pd.DataFrame) -> dict[str, dict[str, str]]:
    return {k: {"en": r.name_en, "zh": r.name_zh, "color": r.color}
            for k, r in table.iterrows()}


def graded_class_columns(units: pd.DataFrame) -> list[str]:
    """The graded zoning columns of ``units``: the one rule for which ``*_class`` columns are
    map layers (used by :func:`zone_layers` and so by every map of publish/).

    A ``<column>_class`` column (other than ``gi_class``) is a graded layer when its dtype is
    numeric and at least one unit has a value. Text columns (``soil_class`` of the user's
    units file) and all-empty columns (an attribute left blank in the units file, read as all
    missing) are not: landcarbon's graded columns are numeric, and a layer with no value
    anywhere would only show "no value".
    """
    return [str(c) for c in units.columns
            if str(c).endswith("_class") and c != "gi_class"
            and pd.api.types.is_numeric_dtype(units[c]) and units[c].notna().any()]


def zone_layers(units: pd.DataFrame) -> list[dict[str, object]]:
    """Map layers of the zoning columns present in ``units`` (data-driven, for publish/).

    Returns
    -------
    list of dict
        One dict per categorical column present: ``column``, ``title_en``, ``title_zh`` and
        ``categories`` = ``{value: {"en", "zh", "color"}}`` (every value that can occur, in
        legend order). Graded ``*_class`` columns (:func:`graded_class_columns`) get a
        sequential palette.
    """
    layers: list[dict[str, object]] = []
    specs: Sequence[tuple[str, str, str, pd.DataFrame | None]] = (
        ("carbon_zone", "ECC/ESC zone", "碳收支分区", zone_table()),
        ("gi_class", "Emission hot spots (Gi*)", "碳排放冷热点", hotspot_class_table()),
        ("carbon_risk_zone", "Carbon-risk zone", "碳风险区", None),
        ("compensation_role", "Horizontal compensation", "横向碳补偿", None),
    )
    for col, en, zh, vocab in specs:
        if col not in units:
            continue
        if vocab is None:  # two-state columns: landcarbon/data/map_categories.csv
            table = _map_categories()
            vocab = table[table["category"] == col].set_index("key")
        layers.append({"column": col, "title_en": en, "title_zh": zh,
                       "categories": _labels(vocab)})
    seq = ["#ffffcc", "#c2e699", "#78c679", "#31a354", "#006837", "#004529", "#00261a"]
    for col in graded_class_columns(units):
        top = units[col].max()
        k = int(top) if pd.notna(top) else 0
        cats = {str(i): {"en": f"class {i}", "zh": f"第{i}级", "color": seq[min(i, 7) - 1]}
                for i in range(1, k + 1)}
        cats["0"] = {"en": "no value", "zh": "无值", "color": "#bdbdbd"}
        layers.append({"column": col, "title_en": f"{col[:-6]} (graded)",
                       "title_zh": f"{col[:-6]}（分级）", "categories": cats})
    return layers


def check_columns(table: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    """Raise InputError naming the columns of ``table`` that ``what`` needs but lacks."""
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise InputError(f"{what} needs the column(s) {', '.join(missing)} in the units table; "
                         f"it has {', '.join(map(str, table.columns[:20]))}.")
