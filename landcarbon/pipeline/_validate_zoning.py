"""The pre-flight checks of the zoning sections (``landcarbon validate``, and the gate of
``zone``, ``run`` and ``sweep``): the settings that :mod:`landcarbon.pipeline._zoning` would
otherwise reject only after the whole assessment has been computed.

* ``[zoning] graded_columns``: every name must be a numeric column of the units table at the
  grading step (:func:`gradable_columns`, known from the config alone);
* ``[compensation] correction_column``: needs ``[statistics]`` and must be a column of its
  table.

Called by :class:`landcarbon.pipeline.validate._Checker`; problems go into its report.
"""

from __future__ import annotations

from typing import Any

from landcarbon.accounting.conversions import output_suffix
from landcarbon.accounting.legends import SPACE_TYPES, land_classes
from landcarbon.checks.problems import Problem
from landcarbon.config.run import RunConfig

__all__ = ["check_zoning", "gradable_columns"]


def gradable_columns(config: RunConfig) -> list[str]:
    """The numeric columns of the units table when ``[zoning]`` grades them (after the
    indicators, compensation and unit hot spots; before the uncertainty step), for the
    sections ``config`` sets. ``area_<land_class>_ha`` is listed for every land class (a
    class absent from the data grades as 0 ha everywhere).

    Returns
    -------
    list of str
        Column names, in the units table's order.
    """
    s = output_suffix(config.coefficients.output_unit)
    cols = ["area_ha", "covered_ha", *[f"share_{st}" for st in SPACE_TYPES],
            *[f"area_{lc}_ha" for lc in land_classes().index], "construction_ha",
            f"emission_{s}", f"sequestration_{s}", f"net_{s}", f"construction_emission_{s}",
            f"net_{s}_per_ha"]
    for st in SPACE_TYPES:
        cols += [f"net_{st}_{s}", f"net_{st}_{s}_per_ha"]
    cols.append(f"threshold_{s}_per_ha")
    if config.planning_zones is not None:
        cols += [*[f"share_{st}_landcover" for st in SPACE_TYPES], "share_planned"]
    cols += ["source_sink_ratio", "compensation_rate", "esc"]
    st_cfg = config.statistics
    if st_cfg is not None:
        cols += ["gdp", "ecc", f"emission_intensity_{s}_per_10k_cny"]
        if st_cfg.population_column:
            cols += ["population", f"emission_{s}_per_capita"]
    if config.compensation is not None:
        cols += [f"compensation_{s}", "compensation_factor", "compensation_value"]
    hc = config.hotspots
    if hc is not None and hc.on in ("units", "both"):
        cols += ["gi_z", "gi_p"] + (["moran_i", "moran_p"] if hc.local_moran else [])
    return cols


def check_zoning(checker: Any, units: Any) -> None:
    """Add the problems of the zoning sections of ``checker.config`` to its report."""
    config = checker.config
    zc = config.zoning
    if zc is not None and zc.graded_columns:
        known = gradable_columns(config)
        for col in zc.graded_columns:
            if col not in known:
                checker.add(Problem(
                    "column_unknown", "error", "[zoning] graded_columns",
                    f"{col!r} is not a column of the units table at the grading step (its "
                    "numeric columns, with the sections this config sets).",
                    f"Use one of: {', '.join(known)}.", {"column": col}))
    hc = config.hotspots
    if (hc is not None and hc.weights == "knn" and hc.on in ("units", "both")
            and units is not None and hc.k > len(units) - 2):
        checker.add(Problem(
            "config_invalid", "error", "[hotspots] k",
            f"k = {hc.k} neighbours for {len(units)} units: with every other unit (or more) "
            "a neighbour, each unit's local statistic is the global one (z = -inf, every "
            "unit 'not significant').",
            f"Give k at most {max(1, len(units) - 2)} (a few neighbours: 4-8), or use "
            "weights = 'queen'.", {"k": hc.k, "units": len(units)}))
    if hc is not None and hc.on in ("grid", "both") and units is not None and len(units):
        from landcarbon.zoning.hotspots import grid_problem

        why = grid_problem(units, hc.cell_size_m)
        if why:
            checker.add(Problem("config_invalid", "error", "[hotspots] cell_size_m", why,
                                "Give a larger cell_size_m (e.g. 1000 m).",
                                {"cell_size_m": hc.cell_size_m}))
    cc = config.compensation
    if cc is None or not cc.correction_column:
        return
    where = f"[compensation] correction_column = {cc.correction_column!r}"
    if config.statistics is None:
        checker.add(Problem("column_unknown", "error", where,
                            "A correction column needs a [statistics] table, and the config "
                            "has none.", "Add [statistics] path = ... with that column, or "
                            "remove correction_column.", {"column": cc.correction_column}))
        return
    from landcarbon.exceptions import LandcarbonError
    from landcarbon.io.tables import read_table

    st = config.statistics
    try:
        table = read_table(config.path(st.path), id_column=st.id_column,
                           what="Statistics table")
    except LandcarbonError:
        return  # reported by the statistics check
    if cc.correction_column not in table.columns:
        columns = [str(c) for c in table.columns]
        checker.add(Problem("column_unknown", "error", where,
                            f"{cc.correction_column!r} is not a column of the [statistics] "
                            f"table {st.path}.", f"Use one of: {', '.join(columns)}.",
                            {"column": cc.correction_column, "columns": columns}))
        return
    import numpy as np

    from landcarbon.checks.tables import not_positive

    raw = table[cc.correction_column]
    bad = np.flatnonzero(not_positive(raw).to_numpy())
    if len(bad):
        ids = table[st.id_column].astype(str).tolist()
        listing = ", ".join(f"row {i + 2} ({ids[i]}) = {str(raw.iloc[i])!r}" for i in bad[:10])
        checker.add(Problem("statistics_invalid", "error", where,
                            f"{len(bad)} value(s) of the correction factor K in {st.path} are "
                            f"not positive numbers (spreadsheet rows, header = row 1): "
                            f"{listing}.", "Give K as a plain positive number (1 = no "
                            "correction; no thousands or decimal commas); leave a cell empty "
                            "for K = 1.", {"rows": [int(i) + 2 for i in bad]}))
