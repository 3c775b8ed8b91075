"""The crop-yield cropland sink of a run (``[coefficients] crop_table``) and the run's net
under both cropland signs (so that the report can show the choice and its effect)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from landcarbon.accounting.coefficients import CoefficientSet, load_coefficients
from landcarbon.accounting.crops import crop_sink_density, crop_yield_sink
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
                    density_by_unit: dict[str, pd.Series], sink: pd.Series | None
                    ) -> dict[str, Any]:
    """The cropland sign used and the run's net (t C/yr) with cropland as a direct source
    (the set's coefficient) and, with crop statistics, as the crop-yield sink."""
    cc = config.coefficients
    source_set = load_coefficients(_ref(config), overrides=cc.overrides,
                                   encoding=config.csv_encoding)
    ha = balance.get("area_cropland_ha", pd.Series(0.0, index=balance.index)).fillna(0.0)
    used_density = pd.Series(float(used.tc_per_ha.get("cropland", 0.0)), index=balance.index)
    if "cropland" in density_by_unit:
        used_density = density_by_unit["cropland"].reindex(balance.index).fillna(
            used_density)
    cropland_now = float((ha * used_density).sum())
    net = float(balance["net_tc"].sum())
    out: dict[str, Any] = {
        "cropland_mode": used.cropland_mode + (" (crop-yield method)" if sink is not None
                                               else ""),
        "cropland_ha": float(ha.sum()),
        "cropland_flux_tc": cropland_now,
        "net_tc": net,
        "net_tc_cropland_as_source": net - cropland_now + float(
            ha.sum() * source_set.tc_per_ha.get("cropland", 0.0)),
    }
    if sink is not None:
        out["crop_sink_tc"] = float(sink.sum())
        out["net_tc_cropland_as_crop_yield_sink"] = net
    return out


def _ref(config: RunConfig) -> str:
    from landcarbon.pipeline.resolve import coefficient_ref

    return coefficient_ref(config)
