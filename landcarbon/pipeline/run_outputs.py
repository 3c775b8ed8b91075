"""Writing every output of a run into its (staging) folder, and the ``run.json`` manifest."""

from __future__ import annotations

import logging
import platform
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from landcarbon._resources import package_version
from landcarbon.accounting.display_units import to_display
from landcarbon.accounting.legends import SPACE_TYPES, land_classes, space_types
from landcarbon.config.outputs import declared, name
from landcarbon.io.fingerprint import input_sha256
from landcarbon.io.outputs import sha256, write_json
from landcarbon.io.raster import expand_paths
from landcarbon.io.tables import write_csv
from landcarbon.io.vector import write_layer
from landcarbon.pipeline.resolve import display_units

if TYPE_CHECKING:
    from landcarbon.io.cogs import CogSet
    from landcarbon.pipeline.records import Assessment

__all__ = ["finish_rasters", "open_raster_sinks", "write_rasters", "write_run_outputs"]

log = logging.getLogger(__name__)


def _hex_rgba(color: str) -> tuple[int, int, int, int]:
    c = color.lstrip("#")
    return int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16), 255


def _provenance(a: Assessment) -> dict[str, str]:
    return {
        "landcarbon_version": package_version(),
        "coefficient_set": a.coefficients.name,
        "cropland_mode": a.coefficients.cropland_mode,
        "legend": a.legend.name,
        "thresholds_tc_per_ha": ", ".join(f"{k}={v:.4g}" for k, v in a.thresholds.items()),
        "threshold_method": (a.threshold_set.method + (" (relative)" if a.threshold_set.relative
                                                       else "")
                             if a.threshold_set is not None else ""),
    }


def _raster_specs(folder: Path) -> dict[str, dict[str, Any]]:
    """Path and write options (colours, class names, units) of each derived raster."""
    lcs = land_classes()
    sts = space_types()
    lc_cmap = {0: (0, 0, 0, 0)} | {i + 1: _hex_rgba(c) for i, c in enumerate(lcs["color"])}
    st_cmap = {0: (0, 0, 0, 0)} | {i + 1: _hex_rgba(sts.loc[s, "color"])
                                   for i, s in enumerate(SPACE_TYPES)}
    return {
        "land_class": dict(
            path=folder / name("run", "land_class"), nodata=0, colormap=lc_cmap,
            band_description="land class", category_names=["nodata", *lcs["name_en"]],
            tags={"units": "class", "classes": "; ".join(
                f"{i + 1}={k} {r.name_zh}" for i, (k, r) in enumerate(lcs.iterrows()))}),
        "space_type": dict(
            path=folder / name("run", "space_type"), nodata=0, colormap=st_cmap,
            band_description="space type",
            category_names=["nodata", *[sts.loc[s, "name_en"] for s in SPACE_TYPES]],
            tags={"units": "class", "classes": "1=agricultural 农业空间; 2=construction 建设空间; "
                                                "3=ecological 生态空间"}),
        "net_flux": dict(
            path=folder / name("run", "net_flux"), nodata=float("nan"),
            tags={"sign_convention": "positive = source (emission), negative = sink"}),
    }


def open_raster_sinks(folder: Path, cogs: CogSet) -> dict[str, Callable[[Any], Any]]:
    """Openers of the land-class, space-type and net-flux COGs of a run in ``folder`` (see
    ``raster_sinks`` of :func:`landcarbon.pipeline.assess`): each opens its temporary file in
    ``cogs`` when it gets the raster's template."""
    specs = _raster_specs(folder)

    def opener(name: str) -> Callable[[Any], Any]:
        def open_sink(template: Any) -> Any:
            spec = dict(specs[name])
            if name == "net_flux":
                units = template.attrs["units"]
                spec["band_description"] = f"net carbon flux density ({units})"
                spec["tags"] = {"units": units, **spec["tags"]}
            return cogs.open(spec.pop("path"), template, **spec)
        return open_sink

    return {name: opener(name) for name in specs}


def finish_rasters(a: Assessment, folder: Path, cogs: CogSet) -> dict[str, str]:
    """Tag the rasters of ``cogs`` with the run's provenance and write the COGs."""
    prov = _provenance(a)
    for spec in _raster_specs(folder).values():
        cogs.tag(spec["path"], prov)
    cogs.finish()
    return {name: Path(spec["path"]).name for name, spec in _raster_specs(folder).items()}


def write_rasters(a: Assessment, folder: Path, *, progress: bool = False) -> dict[str, str]:
    """Land-class, space-type and net-flux COGs with colour tables, names and units, computed
    in one pass over the land cover (when the run's own pass did not write them)."""
    from landcarbon.io.cogs import CogSet
    from landcarbon.pipeline._rasters import store_late_rasters

    with CogSet() as cogs:
        store_late_rasters(a, open_raster_sinks(folder, cogs), fed=set(), progress=progress)
        return finish_rasters(a, folder, cogs)


def write_run_outputs(a: Assessment, folder: Path, *, progress: bool = False,
                      elapsed_s: float | None = None, cogs: CogSet | None = None
                      ) -> dict[str, str]:
    """Write tables, rasters, the map and the manifest; return ``{role: file name}``.

    ``cogs``: the rasters' COG set when the run's pass over the land cover already filled it
    (:func:`open_raster_sinks`); otherwise they are computed here."""
    from landcarbon.pipeline.progress import stages, step

    files: dict[str, str] = {}
    table = a.units
    shown = display_units(a.config)  # 万吨 / 亩 columns: only in what is written
    out = a.config.output
    laying_out = None
    if out.rasters and a.categories is not None and cogs is not None:
        # the COGs filled by the pass are laid out (spool -> file, hashed) in threads that
        # hold the GIL little, beside the tables (Python, pandas, GDAL's GPKG driver)
        pool = ThreadPoolExecutor(1)
        laying_out = pool.submit(finish_rasters, a, folder, cogs)
        pool.shutdown(wait=False)
    with stages("writing outputs", 5 if laying_out is not None else 4, progress) as advance:
        try:
            _write_tables(a, folder, files, shown, advance)
        except BaseException:
            if laying_out is not None:  # let the COGs end before their spools are discarded
                wait([laying_out])
            raise
        if laying_out is not None:
            with step("rasters (COGs)"):  # the wait for the COGs after the tables
                files.update(laying_out.result())
            advance("COGs")
    if out.rasters and a.categories is not None and cogs is None:
        with step("rasters (COGs)"):
            files.update(write_rasters(a, folder, progress=progress))
    if out.map:  # map.html, report.html, figures/, QGIS style of units.gpkg
        from landcarbon.pipeline.publication import write_publication

        with step("map, report, figures"):
            files.update(write_publication(
                folder, table, build_manifest(a, folder, files, elapsed_s),
                class_areas=a.class_areas, language=a.config.language,
                rasters={k: folder / files[k] for k in ("land_class", "space_type", "net_flux")
                         if k in files}, title=a.config.title or None,
                tiles=out.map_tiles or None, offline=out.map_offline, progress=progress))
    manifest = build_manifest(a, folder, declared("run", files), elapsed_s)
    files["manifest"] = name("run", "manifest")
    write_json(manifest, folder / files["manifest"])
    return files


def _write_tables(a: Assessment, folder: Path, files: dict[str, str], shown: Any,
                  advance: Callable[[str], None]) -> None:
    """units.gpkg, units.csv, class_areas.csv and the zoning tables (into ``files``;
    ``advance(name)`` after each, for a progress bar)."""
    from landcarbon.pipeline.progress import step

    table = a.units
    with step("tables"):
        files["units_gpkg"] = name("run", "units_gpkg")
        write_layer(to_display(table, shown), folder / files["units_gpkg"])
        advance(files["units_gpkg"])
        enc = a.config.output.csv_encoding
        files["units_csv"] = name("run", "units_csv")
        write_csv(to_display(table.drop(columns="geometry"), shown), folder / files["units_csv"],
                  encoding=enc)
        advance(files["units_csv"])
        files["class_areas_csv"] = name("run", "class_areas_csv")
        write_csv(to_display(a.class_areas, shown), folder / files["class_areas_csv"],
                  encoding=enc)
        advance(files["class_areas_csv"])
        from landcarbon.pipeline.zoning_outputs import write_zoning_outputs

        files.update(write_zoning_outputs(a, folder))
        advance("zoning tables")


def _inputs(a: Assessment) -> dict[str, str]:
    c = a.config
    paths: list[str] = []
    if c.landcover is not None:
        spec = c.landcover.path
        paths += expand_paths([c.path(p) for p in ([spec] if isinstance(spec, str) else spec)])
    if c.units is not None:
        paths.append(c.path(c.units.path))
    if c.parcels is not None:
        paths.append(c.path(c.parcels.path))
    if c.construction.method == "energy" and c.construction.energy_table:
        paths.append(c.path(c.construction.energy_table))
    for p in (a.legend.name, a.coefficients.name):
        if Path(p).is_file():
            paths.append(p)
    return {p: input_sha256(p) for p in paths if "://" not in p and Path(p).is_file()}


def build_manifest(a: Assessment, folder: Path, files: dict[str, str],
                   elapsed_s: float | None) -> dict[str, Any]:
    """The ``run.json`` content: version, resolved config, inputs, outputs, totals."""
    con = {k: v for k, v in a.construction.items()
           if k not in ("intensity_tc_per_ha_by_unit", "by_family_tc", "late_flux")}
    return {
        "landcarbon_version": package_version(),
        "python": platform.python_version(),
        "config": a.config.model_dump(mode="json"),
        "inputs_sha256": _inputs(a),
        "outputs_sha256": {name: sha256(folder / name) for name in sorted(files.values())},
        "settings": {
            "legend": a.legend.name,
            "rural_settlement": a.legend.rural_settlement,
            "coefficient_set": a.coefficients.name,
            "coefficients_tc_per_ha": {k: (None if np.isnan(v) else float(v))
                                       for k, v in a.coefficients.tc_per_ha.items()},
            "cropland_mode": a.coefficients.cropland_mode,
            "output_unit": a.config.coefficients.output_unit,
            "display": display_units(a.config).record(),
            "construction": con,
            "thresholds_tc_per_ha": a.thresholds,
            "cropland": a.cropland,
            "thresholds": (a.threshold_set.record() if a.threshold_set is not None
                           else {"method": "explicit", "relative": False}),
        },
        "totals": a.totals(),
        "repairs": a.repairs,
        "timings_s": {**a.timings, **({"total": round(elapsed_s, 3)} if elapsed_s else {})},
    }
