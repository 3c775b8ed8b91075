"""Carbon-balance indicators of each unit (methodology section 5).

With ``E_i`` the unit's emission (>= 0), ``S_i`` its sequestration magnitude (>= 0), ``G_i``
its GDP and ``E, S, G`` the totals over all units of the run:

* source/sink ratio ``E_i / S_i`` (Ji et al. 2024, 环境科学 45(11), Henan peak 5.14 in 2013);
* carbon compensation rate ``CCR_i = S_i / E_i``;
* emission intensity ``E_i / G_i`` (t C per 10^4 CNY when GDP is in 万元);
* economic contribution coefficient ``ECC_i = (G_i / G) / (E_i / E)``;
* ecological support coefficient ``ESC_i = (S_i / S) / (E_i / E)``.

Division rules (the same for every ratio ``a / b``, applied explicitly, never by numpy
warnings): ``b > 0`` -> the quotient; ``b == 0`` and ``a > 0`` -> ``+inf`` (a unit that emits
nothing has an infinite compensation rate, a unit without sinks an infinite source/sink
ratio); ``b == 0`` and ``a == 0`` -> ``NaN`` (undefined: no emission and no sink); a missing
input (no statistics row, NaN) -> ``NaN``. If a regional total (``E``, ``S`` or ``G``) is 0
the shares it divides are undefined and the coefficient is ``NaN`` for every unit.
``+inf`` compares as ">= 1" in the quadrant zoning; ``NaN`` gives the zone ``undetermined``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from landcarbon.exceptions import InputError

__all__ = ["balance_indicators", "safe_ratio"]


def safe_ratio(numerator: object, denominator: object) -> np.ndarray:
    """Element-wise ``a / b`` with the module's rules (x/0 = inf for x > 0, 0/0 = NaN).

    Parameters
    ----------
    numerator, denominator : array-like
        Non-negative values (NaN = missing).

    Returns
    -------
    numpy.ndarray
        float64 quotients.
    """
    a = np.asarray(numerator, dtype=np.float64)
    b = np.asarray(denominator, dtype=np.float64)
    a, b = np.broadcast_arrays(a, b)
    out = np.full(a.shape, np.nan)
    ok = np.isfinite(a) & np.isfinite(b)
    pos = ok & (b > 0)
    np.divide(a, b, out=out, where=pos)
    out[ok & (b == 0) & (a > 0)] = np.inf
    return out


def balance_indicators(
    table: pd.DataFrame,
    statistics: pd.DataFrame | None = None,
    *,
    suffix: str = "tc",
    gdp_column: str = "gdp_10k_cny",
    population_column: str | None = "population",
) -> pd.DataFrame:
    """Source/sink ratio, compensation rate and, with statistics, intensity, ECC and ESC.

    Parameters
    ----------
    table : pandas.DataFrame
        Units with ``unit_id``, ``emission_<suffix>`` and ``sequestration_<suffix>``.
    statistics : pandas.DataFrame, optional
        Per-unit statistics with ``unit_id`` (str) and ``gdp_column`` (and optionally
        ``population_column``). Units missing from it get NaN GDP.
    suffix : {"tc", "tco2"}
        Flux column suffix (ratios are unit-free; intensities are in that unit).
    gdp_column, population_column : str
        Column names in ``statistics``. GDP must be >= 0 (any currency unit; the output column
        is named after ``gdp_column``'s default unit, 10^4 CNY).

    Returns
    -------
    pandas.DataFrame
        Same index as ``table``: ``source_sink_ratio``, ``compensation_rate``, ``esc`` and,
        with statistics, ``gdp``, ``ecc``, ``emission_intensity_<suffix>_per_10k_cny`` and
        (with population) ``population``, ``emission_<suffix>_per_capita``.

    Raises
    ------
    InputError
        If a statistics column is missing, duplicated ids, or GDP/population is negative.
    """
    e = table[f"emission_{suffix}"].to_numpy(dtype=np.float64)
    s = table[f"sequestration_{suffix}"].to_numpy(dtype=np.float64)
    e_tot, s_tot = np.nansum(e), np.nansum(s)
    out = pd.DataFrame(index=table.index)
    out["source_sink_ratio"] = safe_ratio(e, s)
    out["compensation_rate"] = safe_ratio(s, e)
    e_share = safe_ratio(e, e_tot) if e_tot > 0 else np.full(e.shape, np.nan)
    s_share = safe_ratio(s, s_tot) if s_tot > 0 else np.full(s.shape, np.nan)
    out["esc"] = safe_ratio(s_share, e_share)
    if statistics is None:
        return out
    stats = _checked_statistics(statistics, gdp_column, population_column)
    ids = table["unit_id"].astype(str)
    g = ids.map(stats[gdp_column]).to_numpy(dtype=np.float64)
    g_tot = np.nansum(g)
    out["gdp"] = g
    g_share = safe_ratio(g, g_tot) if g_tot > 0 else np.full(g.shape, np.nan)
    # both shares over the same units: those with a GDP (a unit without one adds to
    # neither total, or every other unit's ECC would shift)
    known = np.isfinite(g)
    e_known = np.nansum(e[known])
    e_share_g = (np.where(known, safe_ratio(e, e_known), np.nan) if e_known > 0
                 else np.full(e.shape, np.nan))
    out["ecc"] = safe_ratio(g_share, e_share_g)
    out[f"emission_intensity_{suffix}_per_10k_cny"] = safe_ratio(e, g)
    if population_column and population_column in stats.columns:
        p = ids.map(stats[population_column]).to_numpy(dtype=np.float64)
        out["population"] = p
        out[f"emission_{suffix}_per_capita"] = safe_ratio(e, p)
    return out


def _checked_statistics(statistics: pd.DataFrame, gdp_column: str,
                        population_column: str | None) -> pd.DataFrame:
    if "unit_id" not in statistics.columns:
        raise InputError("Statistics table has no 'unit_id' column; set [statistics] id_column "
                         "to the column holding the unit ids.")
    if gdp_column not in statistics.columns:
        raise InputError(f"Statistics table has no GDP column {gdp_column!r}; columns: "
                         f"{', '.join(map(str, statistics.columns))}. Set [statistics] "
                         "gdp_column.")
    ids = statistics["unit_id"].astype(str)
    dup = ids[ids.duplicated()].unique()
    if len(dup):
        raise InputError(f"Statistics table: unit id(s) {', '.join(dup[:10])} appear more than "
                         "once; keep one row per unit.")
    stats = statistics.assign(unit_id=ids).set_index("unit_id")
    for col in (gdp_column, population_column):
        if not col or col not in stats.columns:
            continue
        values = pd.to_numeric(stats[col], errors="coerce")
        bad = stats.index[(values < 0) | (values.isna() & stats[col].notna())]
        if len(bad):
            raise InputError(f"Statistics table: column {col!r} must hold numbers >= 0; unit(s) "
                             f"{', '.join(bad[:10])} do not. Fix those rows (leave a cell empty "
                             "for unknown).")
        stats[col] = values
    return stats
