"""The crop-yield cropland sink of a run (``[coefficients] crop_table``) and the run's net
under both cropland signs (so that the report can show the choice and its effect)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from landcarbon.accounting.coefficients import CoefficientSet, load_coefficients
from landcarbon.accounting.crops import crop_sink_density, crop_yield_sink
from landcarbon.accounting.legends import SPACE_TYPES
from landcarbon.config.run import RunConfig

__all__ = ["crop_sink_of", "cropland_record", "with_crop_sink"]


def crop_sink_of(config: RunConfig) -> pd.Series | None:
    """Carbon absorbed per unit by its crops (t C/yr) from ``[coefficients] crop_table``, or
    None without a crop table."""
    cc = config.coefficients
    if not cc.crop_table:
        return None
    from landcarbon.io.tables import read_table

    path = config.path(cc.crop_table)
    table = read_table(path, id_column=cc.crop_id_column, what="Crop table",
                       encoding=config.csv_encoding)
    return crop_yield_sink(table, id_column=cc.crop_id_column, where=f"Crop table {path}")


def with_crop_sink(config: RunConfig, sink: pd.Series, areas: pd.DataFrame
                   ) -> tuple[CoefficientSet, dict[str, pd.Series]]:
    """The coefficient set with cropland at the region-wide crop-yield sink density, and the
    per-unit cropland densities (``density_by_unit`` of the balance)."""
    cc = config.coefficients
    cropland = areas[areas["land_class"] == "cropland"].groupby("unit_id")["area_ha"].sum()
    per_unit, region = crop_sink_density(sink, cropland)
    from landcarbon.pipeline.resolve import coefficient_ref

    coefficients = load_coefficients(coefficient_ref(config), overrides=cc.overrides,
                                     cropland_mode="sink", cropland_sink_tc_per_ha=-region,
                                     encoding=config.csv_encoding)
    return coefficients, {"cropland": per_unit}


def cropland_record(balance: pd.DataFrame, config: RunConfig, used: CoefficientSet,
                    density_by_unit: dict[str, pd.Series], sink: pd.Series | None,
                    areas: pd.DataFrame | None = None) -> dict[str, Any]:
    """The cropland sign used and the run's net (t C/yr) under both signs, in total and per
    space type.

    With cropland as a **source** the cropland of every unit gets the coefficient of the set
    (``net_as_source = net - cropland flux used + cropland ha x coefficient``); with crop
    statistics (``[coefficients] crop_table``) the run's own net is the **crop-yield sink**
    one. Per space type the same on the cropland of that space (``areas``: the long class
    areas with ``space_type``, planned space types included).

    Returns
    -------
    dict
        ``cropland_mode`` (with "(crop-yield method)"), ``sign_used`` (source / sink /
        neutral), ``used`` (what the run's numbers count, in words),
        ``source_coefficient_tc_per_ha``,
        ``cropland_ha``, ``cropland_flux_tc``, ``net_tc``, ``net_tc_cropland_as_source``, with
        crop statistics ``crop_sink_tc`` and ``net_tc_cropland_as_crop_yield_sink``, and
        ``by_space_type``: the same per space type (``cropland_ha``, ``cropland_flux_tc``,
        ``net_tc``, ``net_tc_cropland_as_source`` [, ``net_tc_cropland_as_crop_yield_sink``]).
    """
    cc = config.coefficients
    source_set = load_coefficients(_ref(config), overrides=cc.overrides,
                                   encoding=config.csv_encoding)
    coefficient = float(source_set.tc_per_ha.get("cropland", 0.0))
    used_density = pd.Series(float(used.tc_per_ha.get("cropland", 0.0)), index=balance.index)
    if "cropland" in density_by_unit:
        used_density = density_by_unit["cropland"].reindex(balance.index).fillna(
            used_density)
    if areas is not None:
        crop = areas[areas["land_class"] == "cropland"]
        ha_by = crop.pivot_table(index="unit_id", columns="space_type", values="area_ha",
                                 aggfunc="sum", fill_value=0.0).reindex(
            index=balance.index, columns=list(SPACE_TYPES), fill_value=0.0)
    else:
        ha_by = pd.DataFrame({st: 0.0 for st in SPACE_TYPES}, index=balance.index)
        ha_by["agricultural"] = balance.get(
            "area_cropland_ha", pd.Series(0.0, index=balance.index)).fillna(0.0)

    def both_ways(ha: pd.Series, net: float) -> dict[str, float]:
        flux = float((ha * used_density).sum())
        row = {"cropland_ha": float(ha.sum()), "cropland_flux_tc": flux, "net_tc": net,
               "net_tc_cropland_as_source": net - flux + float(ha.sum()) * coefficient}
        if sink is not None:
            row["net_tc_cropland_as_crop_yield_sink"] = net
        return row

    total = both_ways(ha_by.sum(axis=1), float(balance["net_tc"].sum()))
    mode = used.cropland_mode
    used_text = (f"cropland as a source: {coefficient:+.4g} t C/ha/yr ({source_set.name})"
                 if mode == "source" else "cropland as a sink by the crop-yield method "
                 "(crop statistics)" if sink is not None else
                 f"cropland as a sink of {-float(used.tc_per_ha.get('cropland', 0.0)):.4g} "
                 "t C/ha/yr (given density)" if mode == "sink" else "cropland neutral (0)")
    out: dict[str, Any] = {
        "cropland_mode": mode + (" (crop-yield method)" if sink is not None else ""),
        "sign_used": mode,
        "used": used_text,
        "source_coefficient_tc_per_ha": coefficient,
        **total,
        "by_space_type": {st: both_ways(ha_by[st], float(balance[f"net_{st}_tc"].sum()))
                          for st in SPACE_TYPES if f"net_{st}_tc" in balance},
    }
    if sink is not None:
        out["crop_sink_tc"] = float(sink.sum())
    else:
        out["crop_yield_sink"] = ("not computed: no crop statistics ([coefficients] "
                                  "crop_table); the net with cropland as a crop-yield sink "
                                  "needs them")
    return out


def _ref(config: RunConfig) -> str:
    from landcarbon.pipeline.resolve import coefficient_ref

    return coefficient_ref(config)
