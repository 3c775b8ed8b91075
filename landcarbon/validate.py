"""Pre-flight validation of a run: every problem at once, before any computing.

Each check runs independently, so one broken input does not hide the others. Checks: the
config schema, files that must exist, the legend, the coefficient set, the threshold preset,
the units file and its id / name fields, the energy table, and the raster's class codes
against the legend (one pass over the raster, reported with pixel counts).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from landcarbon.config import RunConfig, load_config
from landcarbon.exceptions import ConfigError, LandcarbonError

__all__ = ["validate_config"]


def validate_config(path: str | Path, *, scan_raster: bool = True) -> list[str]:
    """All problems of the config file at ``path`` (an empty list means it is ready to run)."""
    try:
        config = load_config(path)
    except ConfigError as exc:
        return exc.problems or [str(exc)]
    problems: list[str] = []

    def check(label: str, fn: Callable[[], object]) -> object | None:
        try:
            return fn()
        except LandcarbonError as exc:
            problems.append(f"{label}: {exc}")
        except (OSError, ValueError) as exc:
            problems.append(f"{label}: {exc}")
        return None

    _checks(config, check, scan_raster)
    return problems


def _checks(config: RunConfig, check: Callable[[str, Callable[[], object]], object | None],
            scan_raster: bool) -> None:
    from landcarbon.classification import check_codes, code_counts
    from landcarbon.coefficients import list_coefficient_sets, load_coefficients
    from landcarbon.io.raster import open_landcover
    from landcarbon.io.vector import read_units, read_vector
    from landcarbon.legends import list_legends, load_legend

    cc = config.coefficients
    check("coefficients", lambda: load_coefficients(
        cc.set if cc.set in list_coefficient_sets() else config.path(cc.set),
        overrides=cc.overrides, cropland_mode=cc.cropland_mode,
        cropland_sink_tc_per_ha=cc.cropland_sink_tc_per_ha))
    check("thresholds", config.threshold_spec)
    units = None
    if config.units is not None:
        u = config.units
        units = check("units", lambda: read_units(config.path(u.path), layer=u.layer,
                                                  id_field=u.id_field, name_field=u.name_field))
    source = config.landcover or config.parcels
    assert source is not None
    legend_ref = source.legend if source.legend in list_legends() else config.path(source.legend)
    legend = check("legend", lambda: load_legend(legend_ref, source.rural_settlement))
    if config.landcover is not None:
        lc = config.landcover
        spec = [lc.path] if isinstance(lc.path, str) else lc.path
        codes = check("landcover", lambda: open_landcover(
            [config.path(p) for p in spec], chunks=lc.chunk_size, nodata=lc.nodata, crs=lc.crs))
        if codes is not None and legend is not None and scan_raster:
            check("landcover codes", lambda: check_codes(code_counts(codes), legend,
                                                         lc.exclude_codes))
    if config.parcels is not None:
        pc = config.parcels
        check("parcels", lambda: read_vector(config.path(pc.path), layer=pc.layer,
                                             what="Parcels"))
    c = config.construction
    if c.method == "energy" and c.energy_table:
        from landcarbon.energy import construction_emissions
        from landcarbon.io.tables import read_table

        def energy() -> object:
            table = read_table(config.path(c.energy_table), id_column=c.id_column,
                               what="Energy table")
            result = construction_emissions(
                table, id_column=c.id_column, electricity=c.electricity,
                grid_factor_kg_co2_per_kwh=(c.grid_factor_kg_co2_per_kwh
                                        if c.electricity == "grid_factor" else None))
            if units is not None:
                stray = sorted(set(result.index) - set(units["unit_id"]))
                if stray:
                    raise ConfigError(f"{len(stray)} unit id(s) of the energy table are not in "
                                      f"the units file: {', '.join(stray[:10])}")
            return result

        check("energy table", energy)
