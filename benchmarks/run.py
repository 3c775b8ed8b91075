"""landcarbon benchmarks: time and peak memory of each workload against its baseline.

    pip install -e ".[bench]"           # pyarrow, for the parcels workload (optional)
    python benchmarks/run.py            # full set (36000 x 36000 WorldCover tile, 1 M parcels)
    python benchmarks/run.py --quick    # small inputs, a minute or so
    python benchmarks/run.py --only zonal,parcels --repeat 3

Every workload runs in a fresh Python process; its peak resident memory is the process's
``VmHWM`` (``/proc/self/status``) at the end. The table prints, for each workload, wall time,
peak RSS and the ratio of its time to its baseline's:

* ``decode``: read every block of the raster once with all cores (rasterio windows in a
  thread pool), nothing else: the I/O limit.
* ``whole run``: what issue 6 calls the whole run, vs ``decode``: ``landcarbon.pipeline.assess``
  (code check, classification, per-unit zonal areas, balance, risk) with the net-flux raster
  computed block by block into a sink that sums it (no I/O; ``raster_sinks``: the same pass
  over the land cover feeds it, as in ``run``), nothing written.
  Both workloads start their clock with the same libraries imported (dask's scheduler
  lookup imports ``distributed``: imported before the clock too).
* ``the same, every tile decoded``: the whole run with ``LANDCARBON_DECODE_EVERY_TILE=1``
  (:mod:`landcarbon.io.tiles` off: every tile decompressed, as ``decode`` does): the ratio
  of the compute alone to decoding.
* ``dense land``: the same ``decode`` and ``whole run`` on a raster with no sea and no
  repeated tile: a 16384 x 16384 (268 Mpx) mosaic of 1024 x 1024 land windows of the São
  Tomé crop (each flipped or transposed at random, seeded), tiled and deflate-compressed as
  WorldCover is, with a 0.02 degree grid of 4761 units. What a tile of inland China (all
  land) asks of the pass; its decode is very fast (forest compresses to 0.14 bit a pixel).
* ``floor`` (dense land only): ``decode`` plus the least any whole run adds there: each
  block's pixels through a per-code flux table into float32 (compiled, 0.4 ns a pixel) and
  into the whole run's summing sink; no units, no zonal areas. On land that compresses to a
  fraction of a bit a pixel, decoding is so fast that this floor alone is over 4x
  ``decode``. (On the mostly-sea tile the whole run is faster than this "floor": it skips
  one-value tiles, which the floor reads pixel by pixel.)
* ``full run``: ``landcarbon.pipeline.run`` (the same plus units.gpkg/csv and the land-class /
  space-type / net-flux COGs; no HTML map) vs ``decode``; ``publish`` is
  ``landcarbon.pipeline.publish_run`` on that run's folder (map.html, report.html, PNG
  figures, GeoPackage style), a separate workload.
* ``zonal``: ``landcarbon.engine.zonal.class_areas`` vs ``exactextract`` called directly on the
  raster file and the same units (cell coverage x ellipsoidal cell area, summed per class); the
  areas are compared (relative difference per unit and class, must be < 1e-6).
* ``parcels``: 1 M coded grid parcels classified and aggregated by a unit attribute vs just
  reading them (pyogrio, Arrow).
* ``scale``: the zonal step at three raster sizes (fixed units) and three unit counts (fixed
  raster): cost per megapixel and per unit should stay flat (linear cost).

Generated inputs go to ``benchmarks/.cache/`` (not in git). The WorldCover tile comes from
``../shared/data/worldcover`` or ``--tile PATH`` (ESA WorldCover 2021 v200 tile N00E006:
https://esa-worldcover.s3.eu-central-1.amazonaws.com/v200/2021/map/ESA_WorldCover_10m_2021_v200_N00E006_Map.tif).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _inputs import (
    CACHE,
    CROP_NAME,
    SHARED,
    TILE_NAME,
    grid_units,
    island_units,
    land_mosaic,
    parcels_file,
    tiled_raster,
    write_config,
)

# ---------------------------------------------------------------- workloads (child side)

def _each_window(raster: str, work: Callable[[Any, Any], None]) -> dict:
    """Read every block-aligned ~2048-pixel window of ``raster`` once with all cores
    (rasterio windows in a thread pool, one dataset per thread) and hand each to
    ``work(codes, window)``: the decode loop of ``decode`` and ``floor``."""
    from concurrent.futures import ThreadPoolExecutor

    import rasterio
    from rasterio.windows import Window

    with rasterio.open(raster) as src:
        h, w = src.height, src.width
        by, bx = src.block_shapes[0]
    size_y, size_x = max(1, 2048 // by) * by, max(1, 2048 // bx) * bx
    windows = [Window(c, r, min(size_x, w - c), min(size_y, h - r))
               for r in range(0, h, size_y) for c in range(0, w, size_x)]
    local = __import__("threading").local()

    def read(win: Window) -> None:
        if not hasattr(local, "src"):
            local.src = rasterio.open(raster)
        work(local.src.read(1, window=win), win)

    with rasterio.Env(GDAL_CACHEMAX=64 * 2**20), ThreadPoolExecutor(os.cpu_count()) as ex:
        list(ex.map(read, windows))
    return {"pixels": h * w}


def _decode(raster: str) -> dict:
    return _each_window(raster, lambda codes, win: codes.max())


def _flux_floor(raster: str) -> dict:
    """``decode`` plus what any whole run must add to it: every pixel through a per-code
    flux table into a float32 block (compiled, no range check) and that block into the
    same summing sink as the whole run's. No classification of units, no zonal areas: a
    floor under the whole run, not a possible implementation of it."""
    import numpy as np
    import rasterio

    from landcarbon.engine.kernels import gather_rect

    with rasterio.open(raster) as src:
        nodata = src.nodata
    table = np.linspace(-3.0, 20.0, 257).astype(np.float32)
    if nodata is not None:
        table[int(nodata)] = np.nan
    sink = SumSink()

    def flux(codes: Any, win: Any) -> None:
        out = np.empty(codes.shape, np.float32)
        gather_rect(codes, table, 0, True, 0, codes.shape[0], 0, codes.shape[1], out)
        sink[(slice(win.row_off, win.row_off + win.height),
              slice(win.col_off, win.col_off + win.width))] = out

    return _each_window(raster, flux)


def _full_run(config: str, out: str, write: bool) -> dict:
    from landcarbon.config.run import load_config
    from landcarbon.pipeline import assess, run

    cfg = load_config(config)
    if write:
        result = run(cfg, out, overwrite=True)
        return {"units": len(result.assessment.units), **result.assessment.timings}
    sink = SumSink()
    a = assess(cfg, raster_sinks={"net_flux": lambda template: sink})
    return {"units": len(a.units), **a.timings, "flux_sum": sink.total}


class SumSink:
    """The sink of the net-flux raster in the ``whole run`` (like a sparse writer, without
    I/O): every piece is received and summed; one-value pieces (zero strides: sea, nodata)
    are not scanned; the others are summed where not NaN (nodata)."""

    def __init__(self) -> None:
        import threading

        self.total = 0.0
        self.blocks = 0
        self.lock = threading.Lock()

    def __setitem__(self, key: Any, block: Any) -> None:
        import numpy as np

        if block.size and all(st == 0 for st in block.strides):
            value = float(block.flat[0])
            part = 0.0 if np.isnan(value) else value * block.size
        else:
            part = float(block.sum(dtype=np.float64, where=block == block))
        with self.lock:
            self.total += part
            self.blocks += 1


def _publish(out: str) -> dict:
    from landcarbon.pipeline import publish_run

    files = publish_run(out, overwrite=True)
    return {"files": len(files)}


def _zonal(raster: str, units: str, chunks: str) -> dict:
    import geopandas as gpd

    from landcarbon.accounting.classification import classify
    from landcarbon.accounting.legends import load_legend
    from landcarbon.engine.zonal import class_areas
    from landcarbon.io.raster import open_landcover

    u = gpd.read_file(units)
    u["unit_id"] = u["uid"]
    codes = open_landcover(raster, chunks=None if chunks == "none" else "auto")
    cats = classify(codes, load_legend("esa_worldcover"))
    t = time.perf_counter()
    table = class_areas(cats, u)
    table.to_pickle(CACHE / "zonal_landcarbon.pkl")  # no pyarrow needed
    return {"units": len(u), "rows": len(table), "zonal_s": time.perf_counter() - t}


def _exactextract(raster: str, units: str) -> dict:
    import geopandas as gpd
    import numpy as np
    import pandas as pd
    from exactextract import exact_extract
    from pyproj import CRS

    from landcarbon.accounting.legends import load_legend
    from landcarbon.engine.areas import row_areas_m2

    u = gpd.read_file(units)
    import rasterio

    with rasterio.open(raster) as src:
        transform, height, width = src.transform, src.height, src.width
        crs = CRS.from_user_input(src.crs)
    rows = row_areas_m2(transform, height, crs)
    raw = exact_extract(raster, u, ["cell_id", "values", "coverage"], output="pandas")
    records = []
    for uid, cid, val, cov in zip(u["uid"], raw["cell_id"], raw["values"], raw["coverage"],
                                  strict=True):
        val = np.asarray(val).astype(np.int64)
        keep = val != 0
        r = np.asarray(cid)[keep] // width
        per_code = np.bincount(val[keep], weights=np.asarray(cov)[keep] * rows[r],
                               minlength=256) / 1e4
        nz = np.nonzero(per_code)[0]
        records.append(pd.DataFrame({"unit_id": uid, "code": nz, "area_ha": per_code[nz]}))
    table = pd.concat(records, ignore_index=True)
    legend = load_legend("esa_worldcover").table.set_index("code")
    table["land_class"] = table["code"].map(legend["land_class"])
    table["space_type"] = table["code"].map(legend["space_type"])
    table = table[table["space_type"] != "excluded"]
    table = table.groupby(["unit_id", "land_class", "space_type"])["area_ha"].sum().reset_index()
    ours = pd.read_pickle(CACHE / "zonal_landcarbon.pkl")
    both = ours.merge(table, on=["unit_id", "land_class", "space_type"], how="outer",
                      suffixes=("", "_ee")).fillna(0.0)
    big = both["area_ha_ee"] > 1e-6
    rel = ((both["area_ha"] - both["area_ha_ee"]).abs() / both["area_ha_ee"])[big]
    small = (both["area_ha"] - both["area_ha_ee"]).abs()[~big]
    return {"max_rel_diff": float(rel.max()) if len(rel) else 0.0,
            "max_abs_diff_small_ha": float(small.max()) if len(small) else 0.0,
            "rows": len(table)}


def _arrow() -> bool:
    """Read the parcels through Arrow when pyarrow is installed (``pip install -e
    ".[bench]"``; 2-3x faster), else feature by feature: both sides the same way."""
    import importlib.util

    return importlib.util.find_spec("pyarrow") is not None


def _parcels_read(path: str) -> dict:
    import geopandas as gpd

    df = gpd.read_file(path, use_arrow=_arrow())
    return {"parcels": len(df)}


def _parcels(path: str) -> dict:
    import geopandas as gpd

    from landcarbon.accounting.legends import load_legend
    from landcarbon.engine.parcels import class_areas_from_parcels

    df = gpd.read_file(path, use_arrow=_arrow())
    t = time.perf_counter()
    out = class_areas_from_parcels(df, load_legend("gbt21010"), "DLBM", unit_field="ZLDWDM")
    return {"parcels": len(df), "units": int(out["unit_id"].nunique()),
            "process_s": time.perf_counter() - t}


WORKERS = {"decode": _decode, "flux_floor": _flux_floor, "full_run": _full_run,
           "publish": _publish, "zonal": _zonal, "exactextract": _exactextract,
           "parcels_read": _parcels_read, "parcels": _parcels}


def _child(name: str, args: list[str]) -> None:
    import logging

    logging.basicConfig(level=logging.ERROR)
    # the same libraries are loaded before every workload's clock starts (import time is
    # a fixed cost of a Python process, not of the work measured)
    import dask.array
    import geopandas
    import pyogrio  # noqa: F401  (geopandas imports it on the first read)
    import rasterio
    import rioxarray
    import xarray

    import landcarbon.pipeline  # noqa: F401
    with __import__("contextlib").suppress(ImportError):
        import distributed  # noqa: F401  (dask.compute's first call imports it)
    for module in ("landcarbon.engine.zonal", "landcarbon.engine.coverage",
                   "landcarbon.engine.kernels", "landcarbon.engine.landcover_pass",
                   "landcarbon.accounting.flux", "landcarbon.engine.extent",
                   "landcarbon.io.vector", "landcarbon.pipeline.run_outputs",
                   "landcarbon.io.publication", "landcarbon.pipeline._zoning",
                   "landcarbon.io.tiles", "tifffile"):
        __import__(module)
    del dask, geopandas, rasterio, rioxarray, xarray
    start, cpu = time.perf_counter(), time.process_time()
    info = WORKERS[name](*args)
    elapsed = time.perf_counter() - start
    info["cpu_s"] = time.process_time() - cpu  # every thread of the process
    hwm = 0
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            hwm = int(line.split()[1]) * 1024
    print("RESULT " + json.dumps({"seconds": elapsed, "peak_rss": hwm, **info}))


# ---------------------------------------------------------------- driver

def measure(name: str, *args: str | bool, repeat: int = 1,
            env: dict[str, str] | None = None) -> dict:
    """Run a workload ``repeat`` times in fresh processes (with ``env`` added to the
    environment); keep the fastest run."""
    best: dict | None = None
    for _ in range(repeat):
        proc = subprocess.run([sys.executable, __file__, "--child", name, *map(str, args)],
                              capture_output=True, text=True, check=False,
                              env={**os.environ, **(env or {})})
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
        if proc.returncode != 0 or not lines:
            raise RuntimeError(f"workload {name} failed:\n{proc.stderr[-3000:]}")
        result = json.loads(lines[-1][7:])
        if best is None or result["seconds"] < best["seconds"]:
            best = result
    assert best is not None
    return best


def _steps(r: dict) -> str:
    return "steps " + ", ".join(f"{k} {v:.2f}s" for k, v in r.items()
                                if k not in ("seconds", "peak_rss", "units", "flux_sum",
                                             "pixels", "files"))


def _row(rows: list[list[str]], workload: str, r: dict, base: dict | None, note: str = "") -> None:
    ratio = f"{r['seconds'] / base['seconds']:.2f}x" if base else "(baseline)"
    rows.append([workload, f"{r['seconds']:.2f}", f"{r['peak_rss'] / 2**20:.0f}", ratio, note])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="small inputs (São Tomé crop, 100k "
                    "parcels, smaller scaling steps)")
    ap.add_argument("--tile", help=f"the WorldCover tile (default ../shared/data/worldcover/"
                    f"{TILE_NAME})")
    ap.add_argument("--only", default="full,zonal,parcels,scale",
                    help="comma-separated subset of full,zonal,parcels,scale")
    ap.add_argument("--repeat", type=int, default=1, help="runs per workload (fastest kept)")
    ap.add_argument("--child", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    opts = ap.parse_args()
    if opts.child:
        _child(opts.child[0], opts.child[1:])
        return
    CACHE.mkdir(exist_ok=True)
    tile = opts.tile or str(SHARED / (CROP_NAME if opts.quick else TILE_NAME))
    if not Path(tile).exists():
        sys.exit(f"raster not found: {tile} (give --tile)")
    only = set(opts.only.split(","))
    rep = opts.repeat
    rows: list[list[str]] = []
    islands = island_units(tile)
    print(f"raster {tile}; load average {os.getloadavg()[0]:.2f}; {os.cpu_count()} cores",
          flush=True)
    if "full" in only or "zonal" in only:
        dec = measure("decode", tile, repeat=rep)
        _row(rows, "decode raster (all cores)", dec, None,
             f"{dec['pixels'] / 1e6:.0f} Mpx, cpu {dec['cpu_s']:.2f}s")
    if "full" in only:
        tile_grid = grid_units(CACHE / "tile_0.1_v2.gpkg", (6.0, 0.0, 9.0, 3.0), 0.1)
        for label, units in (("islands ~1 km grid", islands), ("whole-tile 0.1 deg grid",
                                                                tile_grid)):
            cfg = write_config(f"full_{units.stem}", tile, units)
            out = CACHE / f"full_out_{units.stem}"
            ass = measure("full_run", cfg, out, "", repeat=rep)
            _row(rows, f"whole run, {label} ({ass['units']} units): classification, flux "
                 "raster (sum), balance, risk", ass, dec, _steps(ass))
            every = measure("full_run", cfg, out, "", repeat=rep,
                            env={"LANDCARBON_DECODE_EVERY_TILE": "1"})
            _row(rows, f"  the same, every tile decoded (no repeated-tile reuse) ({label})",
                 every, dec, _steps(every))
            full = measure("full_run", cfg, out, True, repeat=rep)
            _row(rows, f"  full run + units.gpkg/csv + 3 COGs ({label})", full, dec,
                 _steps(full))
            pub = measure("publish", out, repeat=rep)
            _row(rows, f"  publish: map.html, report, {pub['files'] - 2} figures ({label})",
                 pub, None, "separate workload (no raster pass)")
            rows[-1][3] = "-"
    if "full" in only and not opts.quick:
        land, land_units = land_mosaic(str(SHARED / CROP_NAME))
        dec_land = measure("decode", land, repeat=rep)
        _row(rows, "dense land mosaic: decode raster (all cores)", dec_land, None,
             f"{dec_land['pixels'] / 1e6:.0f} Mpx, cpu {dec_land['cpu_s']:.2f}s")
        floor = measure("flux_floor", land, repeat=rep)
        _row(rows, "  floor: decode + flux look-up + summing sink (no units, no zonal)",
             floor, dec_land, f"cpu {floor['cpu_s']:.2f}s")
        cfg = write_config("full_land_mosaic", str(land), land_units)
        ass = measure("full_run", cfg, CACHE / "full_out_land", "", repeat=rep)
        _row(rows, f"  whole run, dense land mosaic ({ass['units']} units)", ass, dec_land,
             _steps(ass))
    if "zonal" in only:
        for label, units in (("~1 km grid on the islands", islands),
                             ("0.1 deg grid, whole tile", grid_units(
                                 CACHE / "tile_0.1_v2.gpkg", (6.0, 0.0, 9.0, 3.0), 0.1))):
            z = measure("zonal", tile, units, "auto", repeat=rep)
            ee = measure("exactextract", tile, units, repeat=rep)
            zr = dict(z, seconds=z["zonal_s"])
            _row(rows, f"exactextract direct, {label}", ee, None,
                 f"max rel diff {ee['max_rel_diff']:.1e}")
            _row(rows, f"zonal class_areas, {label} ({z['units']})", zr, ee,
                 f"{ee['seconds'] / z['zonal_s']:.1f}x faster; process total "
                 f"{z['seconds']:.1f}s")
    if "parcels" in only:
        n_side = 316 if opts.quick else 1000
        path = parcels_file(n_side)
        rd = measure("parcels_read", path, repeat=rep)
        _row(rows, f"read {rd['parcels']:,} parcels", rd, None)
        pc = measure("parcels", path, repeat=rep)
        _row(rows, f"read + classify + aggregate ({pc['units']} units)", pc, rd,
             f"classify + aggregate alone {pc['process_s']:.2f}s = "
             f"{pc['process_s'] / rd['seconds']:.2f}x read")
    if "scale" in only:
        crop = str(SHARED / CROP_NAME)
        factors = (1, 2, 3) if opts.quick else (1, 2, 4)
        base = None
        for f in factors:
            raster = tiled_raster(crop, f)
            units = grid_units(CACHE / f"scale_units_x{f}_v2.gpkg",
                               (6.44, 0.0, 6.44 + 0.34 * f, 0.43), (0.0136 * f, 0.0172))
            z = measure("zonal", raster, units, "auto", repeat=rep)
            z = dict(z, seconds=z["zonal_s"])
            base = base or z
            _row(rows, f"scale: {f} x 21 Mpx, {z['units']} units", z, base,
                 f"{z['seconds'] / f:.2f} s per 21 Mpx")
        base = None
        for step in (0.036, 0.018, 0.009):
            units = grid_units(CACHE / f"scale_units_{step}_v2.gpkg", (6.44, 0.0, 6.78, 0.43),
                               step)
            z = measure("zonal", crop, units, "auto", repeat=rep)
            z = dict(z, seconds=z["zonal_s"])
            base = base or z
            _row(rows, f"scale: 21 Mpx, {z['units']} units", z, base,
                 f"{1000 * z['seconds'] / z['units']:.2f} ms per unit")
    widths = [max(len(r[i]) for r in [*rows, ["workload", "time s", "peak MB", "ratio", ""]])
              for i in range(5)]
    head = ["workload", "time s", "peak MB", "ratio", "notes"]
    print("  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)))
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))
    print(f"load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
