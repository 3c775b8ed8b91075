"""Dynamic carbon risk of a change run: for each later date, the flags of
:func:`landcarbon.change.dynamic_risk.dynamic_risk` against the earlier date (intensity against the
first date) join that date's units table; with ``[zoning]`` the carbon-risk overlay's R2 and
R3 are these flags and the overlay is re-evaluated with them."""

from __future__ import annotations

from itertools import pairwise
from typing import TYPE_CHECKING, Any

import pandas as pd

from landcarbon.change.dynamic_risk import dynamic_risk
from landcarbon.pipeline.resolve import display_units

if TYPE_CHECKING:
    from landcarbon.pipeline.records import Assessment

__all__ = ["add_dynamic_risk", "converted_to_construction"]

#: Columns of the zoning overlay that the change step re-evaluates (``flag_r2`` and
#: ``flag_r3`` are the dynamic flags themselves, whichever flags the overlay combines).
_OVERLAY = ("risk_flags", "risk_flag_count", "carbon_risk_zone")


def converted_to_construction(transitions: pd.DataFrame) -> pd.Series:
    """Per unit_id, the area (ha) of ecological or agricultural space that became
    construction space (a per-unit long transition table)."""
    t = transitions
    hit = (t["to_space_type"] == "construction") & t["from_space_type"].isin(
        ["ecological", "agricultural"])
    return t[hit].groupby("unit_id")["area_ha"].sum()


def add_dynamic_risk(dates: dict[int, Assessment],
                     transitions: dict[tuple[int, int], pd.DataFrame], *,
                     sink_loss_share: float, conversion_min_ha: float) -> dict[str, Any]:
    """Join the dynamic-risk columns to the units of every date after the first (against
    the date before it). With more than two dates, the last date is also compared with the
    first (``transitions`` holds that period): ``dynamic_risk_vs_base``,
    ``dynamic_risk_flags_vs_base``, ``dynamic_risk_reason_en_vs_base`` and ``_zh_vs_base``.

    Returns
    -------
    dict
        ``{"<y0>-<y1>": {"units_entering_risk": n, "by_flag": {flag: n}, "evaluated": n}}``
        for the totals of the run.
    """
    years = sorted(dates)
    first = dates[years[0]]
    s = "tc"  # on the canonical tables; the reasons' unit labels follow the display
    totals: dict[str, Any] = {}
    base = first.table_tc.set_index("unit_id")
    for y0, y1 in pairwise(years):
        a = dates[y1]
        before = dates[y0].table_tc.set_index("unit_id")
        after = a.table_tc.set_index("unit_id")
        trans = transitions.get((y0, y1))
        conv = converted_to_construction(trans) if trans is not None else None
        dyn = dynamic_risk(before, after, year_from=y0, year_to=y1, base=base,
                           converted_ha=conv, suffix=s, sink_loss_share=sink_loss_share,
                           conversion_min_ha=conversion_min_ha,
                           display=display_units(a.config))
        units = a.table_tc.copy()
        zc = a.config.zoning
        if zc is not None and "risk_flags" in units:
            units = _overlay(units, dyn, a)
        for c in dyn.columns:
            units[c] = dyn[c].reindex(units["unit_id"]).to_numpy()
        a.table_tc = units
        totals[f"{y0}-{y1}"] = _counts(dyn)
    y0, y1 = years[0], years[-1]
    if len(years) > 2 and (y0, y1) in transitions:
        a = dates[y1]
        dyn = dynamic_risk(base, a.table_tc.set_index("unit_id"), year_from=y0, year_to=y1,
                           converted_ha=converted_to_construction(transitions[(y0, y1)]),
                           suffix=s, sink_loss_share=sink_loss_share,
                           conversion_min_ha=conversion_min_ha,
                           display=display_units(a.config))
        units = a.table_tc.copy()
        for c in ("dynamic_risk", "dynamic_risk_flags", "dynamic_risk_reason_en",
                  "dynamic_risk_reason_zh"):
            units[f"{c}_vs_base"] = dyn[c].reindex(units["unit_id"]).to_numpy()
        a.table_tc = units
        totals[f"{y0}-{y1}"] = _counts(dyn)
    return totals


def _counts(dyn: pd.DataFrame) -> dict[str, Any]:
    """Units entering risk, units evaluated and units per condition of one period."""
    raised = dyn["dynamic_risk_flags"].str.split(",").explode()
    return {"units_entering_risk": int(dyn["dynamic_risk"].fillna(False).sum()),
            "evaluated": int(dyn["dynamic_risk"].notna().sum()),
            "by_flag": {str(k): int(v) for k, v in raised[raised != ""].value_counts().items()}}


def _overlay(units: pd.DataFrame, dyn: pd.DataFrame, a: Assessment) -> pd.DataFrame:
    """Re-evaluate the ``[zoning]`` carbon-risk overlay with the period's R2 and R3."""
    from landcarbon.zoning.quadrants import risk_overlay

    zc = a.config.zoning
    assert zc is not None
    flags = risk_overlay(units, flags=zc.risk_flags,
                         ratio_threshold=zc.ratio_threshold, hotspot_z=zc.hotspot_z,
                         change_flags=dyn[["flag_r2", "flag_r3"]], min_flags=zc.min_flags)
    units = units.copy()
    for c in _OVERLAY:
        if c in flags:
            units[c] = flags[c].to_numpy()
    return units
