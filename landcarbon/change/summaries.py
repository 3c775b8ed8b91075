"""Summaries of land-cover transitions (tables of :mod:`landcarbon.change.transitions`):
transfer matrices in ha, Pontius components, dynamic degrees and the carbon-flux effect of
each transition, for the whole area and per unit.

Vocabulary (Pontius, Shusas & McEachern 2004, Agric. Ecosyst. Environ. 101:251-268), for a
matrix ``M`` (rows = first date, columns = second date, ha): persistence ``M_jj``;
gain ``G_j = sum_i M_ij - M_jj``; loss ``L_j = sum_k M_jk - M_jj``; ``net_ha = G_j - L_j``
(signed; Pontius' net change is its absolute value); swap ``2 min(G_j, L_j)``; total change
``G_j + L_j``. Single dynamic degree ``K = (U_b - U_a) / U_a / T * 100`` (% per year);
comprehensive dynamic degree ``LC = sum_j (G_j + L_j) / (2 sum_j U_a,j) / T * 100`` (% per
year; equals the changed share of the area per year). Flux effect of the change
``sum_ij M_ij (e_j - e_i)`` with ``e`` the flux density of each class (t C/ha/yr).
"""

from __future__ import annotations

import logging
from typing import Literal

import numpy as np
import pandas as pd

__all__ = ["change_summary", "comprehensive_dynamic_degree", "flux_effect", "transfer_matrix",
           "unit_change_summaries"]

log = logging.getLogger(__name__)


def transfer_matrix(transitions: pd.DataFrame, by: Literal["land_class", "space_type"] =
                    "land_class", order: list[str] | None = None) -> pd.DataFrame:
    """Square transfer matrix (ha) from a long transition table.

    Parameters
    ----------
    transitions : pandas.DataFrame
        From :func:`category_transitions` (one unit's rows, or the whole area).
    by : {"land_class", "space_type"}
        Aggregate categories to land classes or space types.
    order : list of str, optional
        Row/column order; default: every class present in either date, sorted.

    Returns
    -------
    pandas.DataFrame
        Index ``from`` (first date), columns ``to`` (second date), ha.
    """
    m = transitions.pivot_table(index=f"from_{by}", columns=f"to_{by}", values="area_ha",
                                aggfunc="sum", fill_value=0.0)
    labels = order or sorted(set(m.index) | set(m.columns))
    m = m.reindex(index=labels, columns=labels, fill_value=0.0).astype(float)
    m.index.name = "from"
    m.columns.name = "to"
    return m


def change_summary(matrix: pd.DataFrame, years: float | None = None) -> pd.DataFrame:
    """Pontius components and single dynamic degree of each class of a transfer matrix.

    Parameters
    ----------
    matrix : pandas.DataFrame
        Square transfer matrix in ha (:func:`transfer_matrix`).
    years : float, optional
        Length of the period; needed for ``dynamic_degree_pct_per_yr``.

    Returns
    -------
    pandas.DataFrame
        Indexed by class: ``area_from_ha``, ``area_to_ha``, ``persistence_ha``, ``gain_ha``,
        ``loss_ha``, ``net_ha`` (gain - loss, signed), ``swap_ha``, ``total_change_ha`` and
        ``dynamic_degree_pct_per_yr`` (NaN where the class had no area at the first date).
    """
    m = matrix.to_numpy(dtype=float)
    diag = np.diag(m)
    out = pd.DataFrame(index=matrix.index.rename("class"))
    out["area_from_ha"] = m.sum(axis=1)
    out["area_to_ha"] = m.sum(axis=0)
    out["persistence_ha"] = diag
    out["gain_ha"] = out["area_to_ha"] - diag
    out["loss_ha"] = out["area_from_ha"] - diag
    out["net_ha"] = out["gain_ha"] - out["loss_ha"]
    out["swap_ha"] = 2.0 * np.minimum(out["gain_ha"], out["loss_ha"])
    out["total_change_ha"] = out["gain_ha"] + out["loss_ha"]
    with np.errstate(divide="ignore", invalid="ignore"):
        if years is not None:
            if years <= 0:
                raise ValueError(f"years must be > 0, got {years}")
            k = (out["area_to_ha"] - out["area_from_ha"]) / out["area_from_ha"] / years * 100
            out["dynamic_degree_pct_per_yr"] = k.where(out["area_from_ha"] > 0)
    return out


def unit_change_summaries(transitions: pd.DataFrame,
                          by: Literal["land_class", "space_type"], years: float
                          ) -> tuple[pd.DataFrame, pd.Series]:
    """:func:`change_summary` and :func:`comprehensive_dynamic_degree` of every unit at once
    (one array over units x classes x classes instead of a pivot table per unit: 4,700
    units took minutes).

    Parameters
    ----------
    transitions : pandas.DataFrame
        Per-unit long table of :func:`category_transitions` (``unit_id`` column).
    by : {"land_class", "space_type"}
    years : float
        Length of the period (> 0).

    Returns
    -------
    (summary, comprehensive) : (pandas.DataFrame, pandas.Series)
        ``summary``: the columns of :func:`change_summary` with ``unit_id`` and ``class``,
        units in order of first appearance, each unit's classes (those with area at either
        date) sorted, as ``change_summary(transfer_matrix(unit_rows, by))`` gives them;
        ``comprehensive``: % per year by unit (NaN where the unit had no area).
    """
    if years <= 0:
        raise ValueError(f"years must be > 0, got {years}")
    units = pd.unique(transitions["unit_id"])
    u = pd.Index(units).get_indexer(transitions["unit_id"])
    # the distinct labels first (a set of every row's label iterated 680,000 pandas values)
    labels = sorted(set(pd.unique(transitions[f"from_{by}"]))
                    | set(pd.unique(transitions[f"to_{by}"])))
    index = pd.Index(labels)
    i = index.get_indexer(transitions[f"from_{by}"])
    j = index.get_indexer(transitions[f"to_{by}"])
    cube = np.zeros((len(units), len(labels), len(labels)))
    np.add.at(cube, (u, i, j), transitions["area_ha"].to_numpy(dtype=float))
    area_from = cube.sum(axis=2)
    area_to = cube.sum(axis=1)
    diag = np.diagonal(cube, axis1=1, axis2=2)
    present = np.zeros(area_from.shape, bool)
    present[u, i] = True
    present[u, j] = True
    gain, loss = area_to - diag, area_from - diag
    uu, kk = np.nonzero(present)
    with np.errstate(divide="ignore", invalid="ignore"):
        k = (area_to - area_from) / area_from / years * 100
    out = pd.DataFrame({
        "unit_id": units[uu], "class": np.asarray(labels, dtype=object)[kk],
        "area_from_ha": area_from[uu, kk], "area_to_ha": area_to[uu, kk],
        "persistence_ha": diag[uu, kk], "gain_ha": gain[uu, kk], "loss_ha": loss[uu, kk],
        "net_ha": (gain - loss)[uu, kk], "swap_ha": 2.0 * np.minimum(gain, loss)[uu, kk],
        "total_change_ha": (gain + loss)[uu, kk],
        "dynamic_degree_pct_per_yr": np.where(area_from > 0, k, np.nan)[uu, kk]})
    total = np.where(present, area_from, 0.0).sum(axis=1)
    change = np.where(present, gain + loss, 0.0).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        degree = np.where(total > 0, change / (2.0 * total) / years * 100.0, np.nan)
    return out, pd.Series(degree, index=units, name="comprehensive_pct_per_yr")


def comprehensive_dynamic_degree(matrix: pd.DataFrame, years: float) -> float:
    """Comprehensive land-use dynamic degree, % per year:
    ``sum_j (G_j + L_j) / (2 sum_j U_a,j) / T * 100`` (NaN for an empty matrix)."""
    if years <= 0:
        raise ValueError(f"years must be > 0, got {years}")
    s = change_summary(matrix)
    total = float(s["area_from_ha"].sum())
    if total <= 0:
        return float("nan")
    return float(s["total_change_ha"].sum() / (2.0 * total) / years * 100.0)


def flux_effect(matrix: pd.DataFrame, density_tc_per_ha: pd.Series) -> pd.DataFrame:
    """Carbon-flux effect of every transition: ``M_ij (e_j - e_i)``.

    Parameters
    ----------
    matrix : pandas.DataFrame
        Transfer matrix between land classes, ha.
    density_tc_per_ha : pandas.Series
        Net flux density of each land class, t C/ha/yr (positive = source), e.g.
        ``CoefficientSet.tc_per_ha`` with construction land filled with an intensity.
        Classes without a value (NaN or absent) give NaN effects, left out of totals.

    Returns
    -------
    pandas.DataFrame
        One row per changing transition (i != j, area > 0): ``from``, ``to``, ``area_ha``,
        ``from_tc_per_ha``, ``to_tc_per_ha``, ``flux_change_tc`` (t C/yr; positive = the
        change adds emission or removes sink).
    """
    long = matrix.stack().rename("area_ha").reset_index()
    long.columns = ["from", "to", "area_ha"]
    long = long[(long["from"] != long["to"]) & (long["area_ha"] > 0)].reset_index(drop=True)
    dens = density_tc_per_ha.astype(float)
    long["from_tc_per_ha"] = long["from"].map(dens)
    long["to_tc_per_ha"] = long["to"].map(dens)
    long["flux_change_tc"] = long["area_ha"] * (long["to_tc_per_ha"] - long["from_tc_per_ha"])
    missing = sorted(set(long.loc[long["flux_change_tc"].isna(), "from"]) | set(
        long.loc[long["flux_change_tc"].isna(), "to"]))
    missing = [c for c in missing if not np.isfinite(dens.get(c, np.nan))]
    if missing:
        log.warning("no flux density for %s: their transitions have no flux effect",
                    ", ".join(missing))
    return long
