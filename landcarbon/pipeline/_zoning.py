"""Zoning orchestration: config sections -> indicators, zones, hot spots, sink zones,
compensation, uncertainty -> new unit columns and extra layers of an :class:`Assessment`.

Called at the end of :func:`landcarbon.pipeline.assess`; does nothing unless one of
``[statistics]``, ``[zoning]``, ``[hotspots]``, ``[sink_zones]``, ``[compensation]``,
``[uncertainty]`` is configured (``landcarbon zone`` switches them all on: :func:`with_all`).
The change-over-time step can call :func:`apply_zoning` again with ``previous`` (the earlier
period's units indexed by unit_id, see :func:`landcarbon.zoning.quadrants.risk_overlay`) to
evaluate the
over-time risk flags R2 and R3.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

import pandas as pd

from landcarbon.accounting.conversions import canonical_name
from landcarbon.config.run import RunConfig
from landcarbon.config.zoning import (
    CompensationConfig,
    HotspotsConfig,
    SinkZonesConfig,
    UncertaintyConfig,
    ZoningConfig,
)
from landcarbon.pipeline.progress import bar, lap, stoppable
from landcarbon.pipeline.records import flux_raster

if TYPE_CHECKING:
    from landcarbon.pipeline.records import Assessment

__all__ = ["ZONING_SECTIONS", "apply_zoning", "with_all"]

log = logging.getLogger(__name__)

ZONING_SECTIONS = ("statistics", "zoning", "hotspots", "sink_zones", "compensation",
                   "uncertainty")


def with_all(config: RunConfig) -> RunConfig:
    """``config`` with every zoning section switched on (defaults where absent)."""
    defaults = {"zoning": ZoningConfig(), "hotspots": HotspotsConfig(
        on="both" if config.landcover is not None else "units"),
        "sink_zones": SinkZonesConfig(), "compensation": CompensationConfig(),
        "uncertainty": UncertaintyConfig()}
    return config.model_copy(update={k: v for k, v in defaults.items()
                                     if getattr(config, k) is None})


def _statistics(config: RunConfig) -> pd.DataFrame | None:
    st = config.statistics
    if st is None:
        return None
    from landcarbon.io.tables import read_table

    table = read_table(config.path(st.path), id_column=st.id_column, what="Statistics table",
                       encoding=config.csv_encoding)
    return table.rename(columns={st.id_column: "unit_id"})


def apply_zoning(a: Assessment, *, previous: pd.DataFrame | None = None,
                 progress: bool = False) -> dict[str, Any]:
    """Add the zoning columns to ``a.table_tc`` and the extra layers to ``a.zoning`` (all in
    t C with fixed column names; :mod:`landcarbon.pipeline.zoning_outputs` converts them;
    ``progress``: a bar over the Monte Carlo blocks on a terminal).

    Returns
    -------
    dict
        ``a.zoning``: ``columns`` (added unit columns), and when computed
        ``hotspot_grid`` (GeoDataFrame), ``sink_zones`` (GeoDataFrame), ``compensation_flows``
        (DataFrame), ``summary`` (dict: class breaks, compensation totals, counts, timings),
        ``uncertainty`` (DataFrame), ``sweep`` (DataFrame), ``sweep_language``.
    """
    c = a.config
    if all(getattr(c, s) is None for s in ZONING_SECTIONS) and previous is None:
        return a.zoning
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    s = "tc"  # the canonical table's flux columns
    units = a.table_tc.drop(columns=a.zoning.get("columns", []), errors="ignore")
    before = list(units.columns)
    out: dict[str, Any] = {}
    summary: dict[str, Any] = {}

    from landcarbon.zoning.indicators import balance_indicators

    stats = _statistics(c)
    st = c.statistics
    ind = balance_indicators(units, stats, suffix=s,
                             gdp_column=st.gdp_column if st else "gdp_10k_cny",
                             population_column=st.population_column if st else None)
    units = units.join(ind)
    if stats is not None:
        missing = sorted(set(units["unit_id"]) - set(stats["unit_id"].astype(str)))
        if missing:
            log.warning("%d unit(s) have no statistics row (ECC undetermined): %s",
                        len(missing), ", ".join(missing[:10]))

    zc = c.zoning
    if zc is not None and "ecc" in units:
        from landcarbon.zoning.quadrants import quadrant_zones

        units["carbon_zone"] = quadrant_zones(units["ecc"], units["esc"],
                                              ecc_breakpoint=zc.ecc_breakpoint,
                                              esc_breakpoint=zc.esc_breakpoint)
    elif zc is not None:
        log.info("no [statistics] table: ECC and the quadrant zones are not computed")

    if c.compensation is not None:
        units, out["compensation_flows"], summary["compensation"] = _compensation(
            units, c.compensation, stats, s)
    t0 = lap(timings, "indicators_compensation", t0)

    hc = c.hotspots
    if hc is not None and hc.on in ("units", "both"):
        from landcarbon.zoning.hotspots import local_statistics

        hs = local_statistics(units["net_tc_per_ha"], units, weights=hc.weights, k=hc.k,
                              permutations=hc.permutations, seed=hc.seed, p_value=hc.p_value,
                              correction=hc.correction, moran=hc.local_moran)
        units = units.join(hs)
        t0 = lap(timings, "hotspots_units", t0)

    if zc is not None:
        units, summary["class_breaks"] = _graded_and_risk(units, zc, s, previous, a.suffix)

    uc = c.uncertainty
    if uc is not None:
        units, out["uncertainty"], out["sweep"] = _uncertainty(a, units, uc, progress)
        t0 = lap(timings, "uncertainty", t0)

    wants_raster = c.sink_zones is not None or (hc is not None and hc.on in ("grid", "both"))
    if wants_raster and a.categories is None:
        log.warning("parcel mode has no flux raster: [sink_zones] and grid hot spots are "
                    "skipped (hot spots on units still run)")
    if wants_raster and a.categories is not None:
        flux = flux_raster(a.categories, a.coefficients, a.construction, "t C", a.table_tc)
        if c.sink_zones is not None:
            out["sink_zones"] = _sink_zones(a, flux, c.sink_zones)
            t0 = lap(timings, "sink_zones", t0)
        if hc is not None and hc.on in ("grid", "both"):
            out["hotspot_grid"] = _grid_hotspots(units, flux, hc)
            t0 = lap(timings, "hotspots_grid", t0)

    added = [col for col in units.columns if col not in before]
    for key in ("carbon_zone", "gi_class", "carbon_risk_zone", "compensation_role"):
        if key in units:
            summary.setdefault("counts", {})[key] = {
                str(k): int(v) for k, v in units[key].value_counts().items()}
    summary["timings_s"] = timings
    a.table_tc = units
    a.zoning = {**out, "columns": added, "summary": summary,
                "language": c.language, "currency": (c.compensation.currency
                                                     if c.compensation else "")}
    a.timings.update({f"zoning_{k}": v for k, v in timings.items()})
    return a.zoning


def _compensation(units: Any, cfg: CompensationConfig, stats: pd.DataFrame | None, s: str
                  ) -> tuple[Any, pd.DataFrame | None, dict[str, Any]]:
    from landcarbon.exceptions import ConfigError
    from landcarbon.zoning.compensation import compensation_flows, horizontal_compensation

    sinks = pd.to_numeric(units[f"sequestration_{s}"], errors="coerce").sum()
    if not sinks > 0:  # nothing to receive: the other zoning steps go on without it
        reason = ("no unit has a carbon sink (total sequestration is 0), so there is no "
                  "horizontal compensation to compute")
        log.warning("compensation skipped: %s", reason)
        return units, None, {"skipped": reason}
    k = None
    if cfg.correction_column:
        if stats is None or cfg.correction_column not in stats:
            raise ConfigError(f"[compensation] correction_column = {cfg.correction_column!r} "
                              "must be a column of the [statistics] table.")
        k = pd.to_numeric(stats.set_index(stats["unit_id"].astype(str))[
            cfg.correction_column], errors="coerce")
    comp = horizontal_compensation(units, suffix=s, price_per_tco2=cfg.price_per_tco2,
                                   band=cfg.band, correction=k)
    units = units.join(comp)
    flows = compensation_flows(units, comp, suffix=s)
    v = comp["compensation_value"]
    totals = {
        f"transfers_sum_{s}": float(comp[f"compensation_{s}"].sum()),
        f"owed_{s}": float(comp[f"compensation_{s}"].clip(lower=0).sum()),
        "paid": float(v[v > 0].sum()), "received": float(-v[v < 0].sum()),
        "price_per_tco2": cfg.price_per_tco2, "currency": cfg.currency,
        "payers": int((comp["compensation_role"] == "payer").sum()),
        "receivers": int((comp["compensation_role"] == "receiver").sum()),
        "balanced": int((comp["compensation_role"] == "balanced").sum()),
    }
    return units, flows, totals


def _graded_and_risk(units: Any, zc: ZoningConfig, s: str, previous: pd.DataFrame | None,
                     shown: str) -> tuple[Any, dict[str, list[float]]]:
    """Graded classes of ``[zoning] graded_columns`` (named in the output unit, ``shown``
    suffix, or canonically; graded on the canonical t C column) and the risk overlay."""
    from landcarbon.exceptions import ConfigError
    from landcarbon.zoning.quadrants import graded_classes, risk_overlay

    breaks: dict[str, list[float]] = {}
    for named in zc.graded_columns or ["net_tc_per_ha"]:
        col = canonical_name(named)
        if col in units:
            values = units[col]
        elif col.startswith("area_") and col.endswith("_ha"):
            # a land class absent from the data (checked by _validate_zoning): 0 ha everywhere
            values = pd.Series(0.0, index=units.index)
        else:
            raise ConfigError(f"[zoning] graded_columns: {col!r} is not a column of the units "
                              f"table; e.g. net_{shown}_per_ha, source_sink_ratio, esc.")
        units[f"{col}_class"], breaks[col] = graded_classes(
            values, method=zc.grading_method, k=zc.grading_classes)
    flags = risk_overlay(units, suffix=s, flags=zc.risk_flags, ratio_threshold=zc.ratio_threshold,
                         hotspot_z=zc.hotspot_z, previous=previous,
                         sink_loss_tolerance=zc.sink_loss_tolerance,
                         conversion_min_ha=zc.conversion_min_ha, min_flags=zc.min_flags)
    return units.join(flags), breaks


def _uncertainty(a: Assessment, units: Any, uc: UncertaintyConfig, progress: bool = False
                 ) -> tuple[Any, pd.DataFrame, pd.DataFrame | None]:
    from landcarbon.pipeline.resolve import coefficient_ranges, risk_bands
    from landcarbon.zoning.uncertainty import monte_carlo, threshold_sweep

    name = uc.coefficients
    ranges = coefficient_ranges(a.config)
    if a.coefficients.cropland_mode != "source" and "cropland" in ranges.index:
        log.warning("cropland_mode = %s: the cropland row of %s (a source range) is ignored",
                    a.coefficients.cropland_mode, name)
        ranges = ranges.drop(index="cropland")
    parts = a.construction.get("by_family_tc")
    if parts is not None:
        parts = parts.reindex(units["unit_id"]).fillna(0.0).set_axis(units.index)
    mc = monte_carlo(units, a.coefficients.tc_per_ha, ranges, a.thresholds, draws=uc.draws,
                     seed=uc.seed, energy_parts=parts,
                     blocks=lambda starts, count: stoppable(bar(
                         starts, "Monte Carlo", total=count, progress=progress,
                         unit="block")))
    units = units.join(mc)
    table = pd.concat([units[["unit_id", "unit_name", "space_type", "net_tc",
                              "net_tc_per_ha", "threshold_tc_per_ha", "risk_level"]],
                       mc], axis=1)
    sweep = None
    if uc.sweep:
        r = a.config.risk
        sweep = threshold_sweep(units, a.thresholds, risk_bands(a.config),
                                relative_range=uc.sweep_relative_range, steps=uc.sweep_steps,
                                floor_tc_per_ha=r.scale_floor_tc_per_ha)
    return units, table, sweep


def _sink_zones(a: Assessment, flux: Any, cfg: SinkZonesConfig) -> Any:
    from landcarbon.accounting.classification import land_class_raster, space_type_raster
    from landcarbon.accounting.legends import SPACE_TYPES, land_classes
    from landcarbon.zoning.sinkzones import sink_function_zones

    assert a.categories is not None
    order = list(land_classes().index)
    water_codes = [order.index(lc) + 1 for lc in ("water", "wetland") if lc in order]
    eco = space_type_raster(a.categories) == SPACE_TYPES.index("ecological") + 1
    water = land_class_raster(a.categories).isin(water_codes)
    return sink_function_zones(flux, eco, water, window_m=cfg.window_m,
                               min_density_tc_per_ha=cfg.min_density_tc_per_ha,
                               min_area_ha=cfg.min_area_ha,
                               corridor_width_m=cfg.corridor_width_m, n_cores=cfg.n_cores,
                               max_pixels=cfg.max_cells)


def _grid_hotspots(units: Any, flux: Any, hc: HotspotsConfig) -> Any:
    from landcarbon.zoning.hotspots import grid_cells, grid_values, local_statistics

    cells = grid_cells(units, hc.cell_size_m)
    vals = grid_values(flux, cells)
    cells["net_tc_per_ha"] = vals["mean"]
    cells["coverage"] = vals["coverage"]
    cells = cells[cells["coverage"] >= max(hc.min_coverage, 1e-9)].reset_index(drop=True)
    if len(cells) < 3:
        log.warning("fewer than 3 grid cells with data: no grid hot spots")
        return cells
    hs = local_statistics(cells["net_tc_per_ha"], cells, weights=hc.weights, k=hc.k,
                          permutations=hc.permutations, seed=hc.seed, p_value=hc.p_value,
                          correction=hc.correction, moran=hc.local_moran)
    return cells.join(hs)
