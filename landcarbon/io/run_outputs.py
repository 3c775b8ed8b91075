"""Writing every output of a run into its (staging) folder, and the ``run.json`` manifest."""

from __future__ import annotations

import logging
import platform
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from landcarbon.classification import land_class_raster, space_type_raster
from landcarbon.io.outputs import sha256, write_json
from landcarbon.io.raster import expand_paths, write_cogs
from landcarbon.io.tables import write_csv
from landcarbon.io.vector import write_units
from landcarbon.legends import SPACE_TYPES, land_classes, space_types

if TYPE_CHECKING:
    from landcarbon.pipeline import Assessment

__all__ = ["write_run_outputs"]

log = logging.getLogger(__name__)


def _hex_rgba(color: str) -> tuple[int, int, int, int]:
    c = color.lstrip("#")
    return int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16), 255


def _provenance(a: Assessment) -> dict[str, str]:
    from landcarbon import __version__

    return {
        "landcarbon_version": __version__,
        "coefficient_set": a.coefficients.name,
        "cropland_mode": a.coefficients.cropland_mode,
        "legend": a.legend.name,
        "thresholds_tc_per_ha": ", ".join(f"{k}={v:.4g}" for k, v in a.thresholds.items()),
    }


def write_rasters(a: Assessment, folder: Path, *, progress: bool = False) -> dict[str, str]:
    """Land-class, space-type and net-flux COGs with colour tables, names and units."""
    assert a.categories is not None
    prov = _provenance(a)
    lcs = land_classes()
    sts = space_types()
    files = {}
    lc_cmap = {0: (0, 0, 0, 0)} | {i + 1: _hex_rgba(c) for i, c in enumerate(lcs["color"])}
    # the three rasters are written in one pass (categories computed once per block)
    jobs = [dict(da=land_class_raster(a.categories), path=folder / "land_class.tif", nodata=0,
                 colormap=lc_cmap, band_description="land class",
                 category_names=["nodata", *lcs["name_en"]],
                 tags={**prov, "units": "class", "classes": "; ".join(
                     f"{i + 1}={k} {r.name_zh}" for i, (k, r) in enumerate(lcs.iterrows()))})]
    files["land_class"] = "land_class.tif"
    st_cmap = {0: (0, 0, 0, 0)} | {i + 1: _hex_rgba(sts.loc[s, "color"])
                                   for i, s in enumerate(SPACE_TYPES)}
    jobs.append(dict(da=space_type_raster(a.categories), path=folder / "space_type.tif",
                     nodata=0, colormap=st_cmap, band_description="space type",
                     category_names=["nodata", *[sts.loc[s, "name_en"] for s in SPACE_TYPES]],
                     tags={**prov, "units": "class",
                           "classes": "1=agricultural 农业空间; 2=construction 建设空间; "
                                      "3=ecological 生态空间"}))
    files["space_type"] = "space_type.tif"
    flux = a.flux_raster()
    jobs.append(dict(da=flux, path=folder / "net_flux.tif", nodata=float("nan"),
                     band_description=f"net carbon flux density ({flux.attrs['units']})",
                     tags={**prov, "units": flux.attrs["units"],
                           "sign_convention": "positive = source (emission), negative = sink"}))
    write_cogs(jobs, progress=progress)
    files["net_flux"] = "net_flux.tif"
    return files


def write_run_outputs(a: Assessment, folder: Path, *, progress: bool = False,
                      elapsed_s: float | None = None) -> dict[str, str]:
    """Write tables, rasters, the map and the manifest; return ``{role: file name}``."""
    files: dict[str, str] = {}
    table = a.units
    write_units(table, folder / "units.gpkg")
    files["units_gpkg"] = "units.gpkg"
    write_csv(table.drop(columns="geometry"), folder / "units.csv")
    files["units_csv"] = "units.csv"
    write_csv(a.class_areas, folder / "class_areas.csv")
    files["class_areas_csv"] = "class_areas.csv"
    from landcarbon.io.zoning_outputs import write_zoning_outputs

    files.update(write_zoning_outputs(a, folder))
    out = a.config.output
    if out.rasters and a.categories is not None:
        files.update(write_rasters(a, folder, progress=progress))
    if out.map:  # map.html, report.html, figures/, QGIS style of units.gpkg
        from landcarbon.io.publication import write_publication

        files.update(write_publication(
            folder, table, build_manifest(a, folder, files, elapsed_s),
            class_areas=a.class_areas, language=a.config.language,
            rasters={k: folder / files[k] for k in ("land_class", "space_type", "net_flux")
                     if k in files}, title=a.config.title or None,
            tiles=out.map_tiles or None, offline=out.map_offline))
    manifest = build_manifest(a, folder, files, elapsed_s)
    write_json(manifest, folder / "run.json")
    files["manifest"] = "run.json"
    return files


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
    return {p: sha256(p) for p in paths if "://" not in p and Path(p).is_file()}


def build_manifest(a: Assessment, folder: Path, files: dict[str, str],
                   elapsed_s: float | None) -> dict[str, Any]:
    """The ``run.json`` content: version, resolved config, inputs, outputs, totals."""
    from landcarbon import __version__

    con = {k: v for k, v in a.construction.items() if k != "intensity_tc_per_ha_by_unit"}
    return {
        "landcarbon_version": __version__,
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
            "construction": con,
            "thresholds_tc_per_ha": a.thresholds,
        },
        "totals": a.totals(),
        "timings_s": {**a.timings, **({"total": round(elapsed_s, 3)} if elapsed_s else {})},
    }
