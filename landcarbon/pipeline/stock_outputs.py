"""Writing a stocks-only study (:func:`landcarbon.pipeline.run_stocks`) into its (staging)
folder, with InVEST Carbon's output names where InVEST has one:

* ``c_storage_<date>.tif``: total carbon stock density of each date, Mg C/ha (float32,
  nodata -1), InVEST 3.15+ ``c_storage_bas.tif`` / ``c_storage_alt.tif``;
* ``c_change_<from>_<to>.tif``: its change, Mg C/ha (float32, NaN where either date has no
  data), InVEST ``c_change_bas_alt.tif``;
* ``npv_<from>_<to>.tif``: net present value of the change, currency/ha (with a price),
  InVEST ``npv_alt.tif``;
* ``stock_totals.csv`` (whole raster per date and pool), ``stock_change_totals.csv`` (per
  period, with ``valuation_constant`` and ``npv``), ``unit_stocks.csv`` and
  ``unit_stock_change.csv`` (with units), all t C (= Mg C), UTF-8 with BOM;
* ``stocks.json``: the manifest (inputs, totals as :meth:`StockStudy.to_dict`, files).
"""

from __future__ import annotations

import platform
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from landcarbon.config.outputs import declared, name
from landcarbon.io.outputs import write_json
from landcarbon.io.tables import write_csv

__all__ = ["write_stock_outputs"]


def _npv_raster(change: xr.DataArray, constant: float) -> xr.DataArray:
    """InVEST's npv raster: the float32 change times the constant, in float32."""
    out = (change * np.float32(constant)).astype(np.float32)
    out = out.rio.write_crs(change.rio.crs).rio.write_transform(change.rio.transform())
    return out.rio.write_nodata(np.nan)


def write_stock_outputs(study: Any, folder: Path, *, pools_path: str,
                        rasters: bool = True, progress: bool = False) -> dict[str, str]:
    """Write the rasters, tables and ``stocks.json`` of ``study`` (a
    :class:`landcarbon.pipeline.stocks_study.StockStudy`); return ``{role: file name}``."""
    from landcarbon._resources import package_version
    from landcarbon.change.stocks import stock_change_raster
    from landcarbon.io.cogs import write_cogs

    files: dict[str, str] = {}
    jobs: list[dict[str, Any]] = []
    if rasters:
        for label, d in study.densities.items():
            path = folder / name("stocks", "c_storage_{date}", date=label)
            jobs.append({"da": d, "path": path, "nodata": -1.0,
                         "band_description": f"carbon stock {label} (Mg C/ha)",
                         "tags": {"units": "Mg C ha-1", "date": label,
                                  "pools": "c_above + c_below + c_soil + c_dead"},
                         "role": f"c_storage_{label}"})
        for r in study.changes.itertuples():
            a, b = r.date_from, r.date_to
            change = stock_change_raster(study.densities[a], study.densities[b])
            jobs.append({"da": change, "path": folder / name(
                             "stocks", "c_change_{date_from}_{date_to}", date_from=a, date_to=b),
                         "nodata": float("nan"), "role": f"c_change_{a}_{b}",
                         "band_description": f"carbon stock change {a}-{b} (Mg C/ha)",
                         "tags": {"units": "Mg C ha-1", "sign_convention": "positive = "
                                  "stock gained, negative = stock lost"}})
            if r.valuation_constant == r.valuation_constant:  # not NaN: valued
                jobs.append({"da": _npv_raster(change, r.valuation_constant),
                             "path": folder / name("stocks", "npv_{date_from}_{date_to}",
                                                   date_from=a, date_to=b),
                             "nodata": float("nan"),
                             "role": f"npv_{a}_{b}",
                             "band_description": f"net present value of the change {a}-{b} "
                             "(currency/ha)", "tags": {"units": "currency ha-1",
                                                       "valuation_constant":
                                                       repr(r.valuation_constant)}})
        write_cogs([{k: v for k, v in j.items() if k != "role"} for j in jobs],
                   progress=progress)
        files.update({j["role"]: j["path"].name for j in jobs})
    for table, role in ((study.totals, "stock_totals"), (study.changes, "stock_change_totals"),
                        (study.unit_stocks, "unit_stocks"),
                        (study.unit_changes, "unit_stock_change")):
        if table is not None and len(table):
            files[role] = name("stocks", role)
            write_csv(table, folder / files[role])
    manifest = {
        "kind": "stocks",
        "landcarbon": package_version(), "python": platform.python_version(),
        "inputs": {"pools": pools_path, "landcover": dict(zip(study.labels, study.landcover,
                                                              strict=True))},
        "crs": study.crs,
        "arithmetic": "InVEST 3.15+ (per-hectare float32 pools, float64 totals x pixel area)",
        "totals": study.to_dict(),
        "files": dict(declared("stocks", files)),
    }
    files["manifest"] = name("stocks", "manifest")
    write_json(manifest, folder / files["manifest"])
    return files
