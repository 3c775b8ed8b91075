"""Uncertainty and sensitivity: Monte Carlo over coefficient distributions, threshold sweep.

Coefficient distributions are a CSV (``landcarbon/data/uncertainty/<name>.csv`` or a user
file) with columns ``land_class, distribution, low, mode, high, mean, sd, unit, source``:
``uniform`` (low, high), ``triangular`` (low, mode, high) or ``normal`` (mean, sd), in any
flux-density unit of :data:`landcarbon.accounting.conversions.DENSITY_UNITS` (converted to t
C/ha/yr).
Classes without a row keep their deterministic coefficient; indirect emissions (construction
land, family B) are drawn too when their split by energy-factor family is given (coal, oil, gas
and the grid factor, :data:`ENERGY_RANGES`), else held fixed. The built-in ``lai2010_ranges``
brackets the default coefficients with the alternatives listed in the methodology (section 3)
[P].

Monte Carlo: ``draws`` coefficient vectors are sampled once per run (numpy ``Generator``
seeded with ``seed``: the same seed gives the same result); every unit's net flux is the
matrix product of its class areas with each draw plus its fixed construction emission, so the
computation is vectorised over draws and units. Each unit gets the 5th/50th/95th percentiles
of its net flux and net density and the probability ``p_exceed`` that its net density is above
its space type's threshold (the fraction of draws, as in
:func:`landcarbon.accounting.risk.assess_risk`:
``net > limit``).

Threshold sweep: for each space type, its threshold is moved over a range (others fixed) and
the units whose risk level differs from the baseline are counted (drawn by
:func:`landcarbon.publish.figures.sweep_figure`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from landcarbon._resources import available, data_path, read_csv
from landcarbon.accounting.conversions import OutputUnit, density_factor
from landcarbon.accounting.legends import SPACE_TYPES
from landcarbon.exceptions import InputError

if TYPE_CHECKING:
    from landcarbon.accounting.risk import RiskBands

__all__ = ["ENERGY_RANGES", "coefficient_draws", "list_coefficient_ranges",
           "load_coefficient_ranges", "monte_carlo", "threshold_sweep"]

_DISTRIBUTIONS = {"uniform": ("low", "high"), "triangular": ("low", "mode", "high"),
                  "normal": ("mean", "sd")}


#: Relative half-widths of the energy factors drawn by :func:`monte_carlo`: carbon content
#: per unit of fuel +-2 % (solid fuels and gas) and +-1 % (liquid fuels) after CDIAC NDP-030
#: Table 4 (Marland and Rotty); the grid factor +-3.6 %, the change of the MEE/NBS national
#: average from 2021 (0.5568) to 2022 (0.5366 kg CO2/kWh) taken as its year-to-year spread
#: (landcarbon assumption, evidence P). See docs/thresholds.md.
ENERGY_RANGES: dict[str, float] = {"coal": 0.02, "oil": 0.01, "gas": 0.02, "grid": 0.036}


def _energy_draws(parts: pd.DataFrame | None, ranges: dict[str, float] | None,
                  index: pd.Index, draws: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-unit emission by factor family (units x families, t C) and the multipliers of
    each draw (draws x families); empty arrays without ``parts``."""
    if parts is None or parts.empty:
        return np.zeros((len(index), 0)), np.zeros((draws, 0))
    widths = ENERGY_RANGES | (ranges or {})
    cols = list(parts.columns)
    unknown = [c for c in cols if c not in widths]
    if unknown:
        raise InputError(f"energy_parts: no range for {', '.join(unknown)} (known: "
                         f"{', '.join(widths)}).")
    values = parts.reindex(index).fillna(0.0).to_numpy(dtype=np.float64)
    rng = np.random.default_rng([seed, 1])  # a stream of its own: coefficients unchanged
    mult = np.column_stack([rng.uniform(1 - widths[c], 1 + widths[c], draws) for c in cols])
    return values, mult


def list_coefficient_ranges() -> list[str]:
    """Names of the built-in coefficient-distribution tables."""
    return available("uncertainty", ".csv")


def load_coefficient_ranges(name_or_path: str | Path) -> pd.DataFrame:
    """Load and validate a coefficient-distribution table.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``land_class``: ``distribution`` and float parameters ``low, mode, high,
        mean, sd`` in t C/ha/yr (NaN where unused), plus ``source``.

    Raises
    ------
    InputError
        Unknown name / missing file, unknown distribution, missing or inconsistent parameters
        (``low <= mode <= high``, ``sd >= 0``), unknown unit, duplicated land class.
    """
    name = str(name_or_path)
    path = (data_path("uncertainty", f"{name}.csv") if name in list_coefficient_ranges()
            else Path(name))
    if not path.is_file():
        raise InputError(f"Coefficient distributions {name!r}: not a built-in table "
                         f"({', '.join(list_coefficient_ranges())}) nor an existing CSV file.")
    try:
        raw = read_csv(path, what="Coefficient distributions")
    except UnicodeDecodeError as exc:
        raise InputError(f"Coefficient distributions {path} cannot be decoded as UTF-8 or "
                         f"GBK/GB18030 (byte {exc.start}: {exc.reason}). Save it as CSV UTF-8 "
                         "(Excel: File > Save As > CSV UTF-8).") from None
    need = {"land_class", "distribution", "unit"}
    if not need <= set(raw.columns):
        raise InputError(f"Coefficient distributions {path}: columns {', '.join(sorted(need))} "
                         "are required (plus low/mode/high or mean/sd).")
    if raw.empty:
        raise InputError(f"Coefficient distributions {path} has a header but no rows: give "
                         "one row per land class whose coefficient varies (land_class, "
                         "distribution and its parameters, unit, source).")
    rows = []
    for i, r in raw.iterrows():
        where = f"{path} row {i + 2} ({r['land_class']})"
        dist = r["distribution"].strip().lower()
        if dist not in _DISTRIBUTIONS:
            raise InputError(f"Coefficient distributions {where}: distribution {dist!r} is not "
                             f"one of {', '.join(_DISTRIBUTIONS)}.")
        try:
            factor = density_factor(r["unit"])
        except ValueError as exc:
            raise InputError(f"Coefficient distributions {where}: {exc}.") from None
        par = {}
        for p in ("low", "mode", "high", "mean", "sd"):
            text = str(r.get(p, "")).strip()
            try:
                par[p] = float(text) * factor if text else np.nan
            except ValueError:
                raise InputError(f"Coefficient distributions {where}: {p} = {text!r} is not a "
                                 "number.") from None
            if text and not np.isfinite(par[p]):
                raise InputError(f"Coefficient distributions {where}: {p} = {text!r} is not a "
                                 "finite number (leave the cell empty where the distribution "
                                 "does not use it).")
        if dist == "triangular" and np.isnan(par["mode"]):
            raise InputError(f"Coefficient distributions {where}: triangular needs mode.")
        missing = [p for p in _DISTRIBUTIONS[dist] if np.isnan(par[p])]
        if missing:
            raise InputError(f"Coefficient distributions {where}: {dist} needs "
                             f"{', '.join(missing)}.")
        if dist != "normal":
            mode = par["mode"] if dist == "triangular" else par["low"]
            if not par["low"] <= mode <= par["high"] or par["low"] == par["high"]:
                raise InputError(f"Coefficient distributions {where}: need low <= mode <= high "
                                 "with low < high.")
        elif par["sd"] < 0:
            raise InputError(f"Coefficient distributions {where}: sd must be >= 0.")
        rows.append({"land_class": r["land_class"].strip(), "distribution": dist, **par,
                     "source": r.get("source", "")})
    table = pd.DataFrame(rows)
    dup = table["land_class"][table["land_class"].duplicated()].unique()
    if len(dup):
        raise InputError(f"Coefficient distributions {path}: land class(es) "
                         f"{', '.join(dup)} appear more than once.")
    return table.set_index("land_class")


def coefficient_draws(ranges: pd.DataFrame, base: pd.Series, draws: int, seed: int
                      ) -> pd.DataFrame:
    """Sampled coefficients, t C/ha/yr: ``draws`` rows x the land classes of ``base``.

    Classes of ``base`` without a row in ``ranges`` keep their base value in every draw.
    """
    rng = np.random.default_rng(seed)
    out = pd.DataFrame(np.tile(base.to_numpy(dtype=np.float64), (draws, 1)),
                       columns=base.index)
    for lc, r in ranges.iterrows():
        if lc not in out.columns:
            continue
        if r.distribution == "uniform":
            out[lc] = rng.uniform(r.low, r.high, draws)
        elif r.distribution == "triangular":
            out[lc] = rng.triangular(r.low, r["mode"], r.high, draws)
        else:
            out[lc] = rng.normal(r["mean"], r.sd, draws)
    return out


def monte_carlo(
    units: pd.DataFrame,
    coefficients: pd.Series,
    ranges: pd.DataFrame,
    thresholds: dict[str, float],
    *,
    draws: int = 1000,
    seed: int = 0,
    factor: float = 1.0,
    suffix: str = "tc",
    percentiles: Sequence[float] = (5, 50, 95),
    max_cells: int = 4_000_000,
    energy_parts: pd.DataFrame | None = None,
    energy_ranges: dict[str, float] | None = None,
    blocks: Callable[[Iterable[int], int], Iterable[int]] | None = None,
) -> pd.DataFrame:
    """Per-unit intervals of net flux and probability of exceeding the threshold.

    Parameters
    ----------
    units : pandas.DataFrame
        Assessed units: ``area_<land_class>_ha``, ``covered_ha``, ``space_type`` and
        ``construction_emission_<suffix>`` (held fixed).
    coefficients : pandas.Series
        Deterministic t C/ha/yr per land class (NaN = indirect, skipped).
    ranges : pandas.DataFrame
        From :func:`load_coefficient_ranges`.
    thresholds : dict
        Threshold per space type, t C/ha/yr.
    draws, seed : int
        Number of Monte Carlo draws and the random seed.
    factor, suffix : float, str
        Output unit: values in t C are multiplied by ``factor`` (44/12 for t CO2) and named
        with ``suffix``.
    max_cells : int
        Units are processed in blocks of at most ``max_cells`` draws x units values (memory).
    energy_parts : pandas.DataFrame, optional
        Construction emission of each unit split by factor family (t C/yr; same index as
        ``units``; columns e.g. ``coal, oil, gas, grid``). With it, each draw multiplies
        every family by a factor drawn uniformly in ``1 +- energy_ranges[family]`` (the same
        factor for all units of a draw: a factor error is systematic); the rest of the
        construction emission stays fixed.
    energy_ranges : dict, optional
        Relative half-width per family (default :data:`ENERGY_RANGES`).
    blocks : callable, optional
        ``blocks(starts, count)`` wraps the iterable of the blocks' first units (``count``
        blocks), e.g. in a progress bar; the results do not depend on the blocks.

    Returns
    -------
    pandas.DataFrame
        Same index: ``net_<suffix>_p5/p50/p95``, ``net_<suffix>_per_ha_p5/p50/p95`` and
        ``p_exceed`` (0-1; NaN for units without land or threshold).
    """
    if draws < 1:
        raise InputError(f"[uncertainty] draws must be >= 1 (got {draws}).")
    direct = coefficients.dropna()
    classes = [lc for lc in direct.index if f"area_{lc}_ha" in units.columns]
    areas = units[[f"area_{lc}_ha" for lc in classes]].to_numpy(dtype=np.float64)
    con_col = f"construction_emission_{suffix}"
    fixed = (units[con_col].to_numpy(dtype=np.float64) / factor if con_col in units
             else np.zeros(len(units)))
    covered = units["covered_ha"].to_numpy(dtype=np.float64)
    limit = np.array([thresholds.get(s, np.nan) for s in units["space_type"]], dtype=float)
    sample = coefficient_draws(ranges, direct[classes], draws, seed).to_numpy()
    parts, mult = _energy_draws(energy_parts, energy_ranges, units.index, draws, seed)
    fixed = fixed - parts.sum(axis=1)
    n = len(units)
    qs = np.empty((len(percentiles), n))
    qd = np.empty((len(percentiles), n))
    p_exceed = np.empty(n)
    block = max(1, max_cells // draws)  # units per block (default <= 32 MB of float64)
    starts: Iterable[int] = range(0, n, block)
    for i in (blocks(starts, len(range(0, n, block))) if blocks else starts):
        sl = slice(i, i + block)
        net = sample @ areas[sl].T + fixed[None, sl] + mult @ parts[sl].T  # draws x units
        with np.errstate(invalid="ignore", divide="ignore"):
            density = np.where(covered[sl] > 0, net / covered[sl], np.nan)
        qs[:, sl] = np.percentile(net, percentiles, axis=0) * factor
        qd[:, sl] = np.percentile(density, percentiles, axis=0) * factor
        p_exceed[sl] = (density > limit[None, sl]).mean(axis=0)
    out = pd.DataFrame(index=units.index)
    for p, a in zip(percentiles, qs, strict=True):
        out[f"net_{suffix}_p{p:g}"] = a
    for p, b in zip(percentiles, qd, strict=True):
        out[f"net_{suffix}_per_ha_p{p:g}"] = b
    valid = (covered > 0) & np.isfinite(limit)
    out["p_exceed"] = np.where(valid, p_exceed, np.nan)
    return out


def threshold_sweep(
    table: pd.DataFrame,
    thresholds: dict[str, float],
    bands: RiskBands | None = None,
    *,
    relative_range: float = 0.5,
    steps: int = 21,
    floor_tc_per_ha: float = 0.1,
    output_unit: OutputUnit = "t C",
) -> pd.DataFrame:
    """Units changing risk level as each space type's threshold varies.

    For space type ``st`` with threshold ``t``, the threshold takes ``steps`` values evenly
    spaced over ``t +/- max(|t| x relative_range, floor_tc_per_ha)`` (t C/ha/yr) while the
    others stay at their value; the risk levels of that space type's units are recomputed
    with :func:`landcarbon.accounting.risk.risk_level_of` (the level rule of
    :func:`landcarbon.accounting.risk.assess_risk`) and compared with the baseline (units of other
    space types cannot change).

    Returns
    -------
    pandas.DataFrame
        ``space_type, threshold_tc_per_ha, baseline_tc_per_ha, units_of_space_type,
        units_changed, units_exceeding`` (exceeding or severe, whole area) and one
        ``n_<risk_level>`` column per level.
    """
    from landcarbon.accounting.conversions import output_factor, output_suffix
    from landcarbon.accounting.risk import (
        RiskBands,
        risk_level_of,
        risk_levels,
        risk_levels_vs_limit,
    )

    if steps < 2:
        raise InputError(f"[uncertainty] sweep_steps must be >= 2 (got {steps}).")
    bands = bands or RiskBands()
    factor = output_factor(output_unit)
    net = table[f"net_{output_suffix(output_unit)}_per_ha"].to_numpy(dtype=float)
    kinds = table["space_type"].to_numpy()

    def levels(limits: dict[str, float]) -> np.ndarray:
        limit = np.array([limits.get(k, np.nan) for k in kinds], dtype=float) * factor
        return risk_level_of(net, limit, bands, factor=factor)

    base = levels(thresholds)
    names = list(risk_levels().index)
    above = list(risk_levels_vs_limit("above"))
    rows = []
    for st in SPACE_TYPES:
        t = thresholds.get(st)
        if t is None or not np.isfinite(t):
            continue
        half = max(abs(t) * relative_range, floor_tc_per_ha)
        n_st = int((kinds == st).sum())
        for value in np.linspace(t - half, t + half, steps):
            lev = levels({**thresholds, st: float(value)})
            counts = pd.Series(lev).value_counts()
            rows.append({"space_type": st, "threshold_tc_per_ha": float(value),
                         "baseline_tc_per_ha": float(t), "units_of_space_type": n_st,
                         "units_changed": int((lev != base).sum()),
                         "units_exceeding": int(np.isin(lev, above).sum()),
                         **{f"n_{lv}": int(counts.get(lv, 0)) for lv in names}})
    return pd.DataFrame(rows)
