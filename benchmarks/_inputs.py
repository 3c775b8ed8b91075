"""Cached inputs of the landcarbon benchmarks (``benchmarks/run.py``): unit grids, the
repeated São Tomé raster, the dense-land mosaic, the coded parcels and the run configs.
Everything is generated into ``benchmarks/.cache/`` (not in git) from the public rasters in
``../shared/data/worldcover``."""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache"
TILE_NAME = "ESA_WorldCover_10m_2021_v200_N00E006_Map_testcrop.tif"
CROP_NAME = "worldcover_2021_v200_saotome_crop.tif"
SHARED = HERE.parent.parent / "shared" / "data" / "worldcover"


# ---------------------------------------------------------------- inputs (cached)

def grid_units(path: Path, bounds: tuple[float, float, float, float],
               step: float | tuple[float, float], crs: str = "EPSG:4326") -> Path:
    """A grid of rectangular units over ``bounds`` (GeoPackage), cached.

    Neighbours share their edges exactly (one array of edge coordinates), as the units of a
    real partition (survey townships, planning grids) do. Versions of this script before
    2026-12 built each box as ``x + step`` from its own corner, which left neighbours
    overlapping or apart by rounding noise (1e-9 ha in all): ``landcarbon`` then ran its
    pairwise overlap check (0.04 CPU-s for 900 units, 0.09 for 2468) instead of the one GEOS
    coverage check, and warned about it. The cache file names carry ``_v2``."""
    if path.exists():
        return path
    import geopandas as gpd
    import numpy as np
    import shapely

    x0, y0, x1, y1 = bounds
    sx, sy = (step, step) if isinstance(step, float) else step
    nx, ny = int(np.ceil((x1 - x0) / sx - 1e-9)), int(np.ceil((y1 - y0) / sy - 1e-9))
    xe = np.minimum(x0 + sx * np.arange(nx + 1), x1)
    ye = np.minimum(y0 + sy * np.arange(ny + 1), y1)
    xe[-1], ye[-1] = x1, y1
    gx0, gy0 = np.meshgrid(xe[:-1], ye[:-1])
    gx1, gy1 = np.meshgrid(xe[1:], ye[1:])
    geoms = shapely.box(gx0.ravel(), gy0.ravel(), gx1.ravel(), gy1.ravel())
    ids = [f"g{i:06d}" for i in range(len(geoms))]
    gpd.GeoDataFrame({"uid": ids, "name": ids}, geometry=geoms, crs=crs).to_file(
        path, layer="units")
    return path


def island_units(tile: str, step: float = 0.009) -> Path:
    """~1 km grid over São Tomé and Príncipe (only cells that hold land)."""
    path = CACHE / f"islands_{step:g}_v2.gpkg"
    if path.exists():
        return path
    import geopandas as gpd

    parts = []
    for bounds in ((6.44, 0.0, 6.78, 0.43), (7.30, 1.50, 7.50, 1.75)):
        sub = CACHE / f"_grid_{bounds[0]}_v2.gpkg"
        parts.append(gpd.read_file(grid_units(sub, bounds, step)))
    units = gpd.pd.concat(parts, ignore_index=True)
    units["uid"] = [f"i{i:05d}" for i in range(len(units))]
    units["name"] = units["uid"]
    units.to_file(path, layer="units")
    return path


def tiled_raster(src: str, factor: int) -> Path:
    """The São Tomé crop repeated ``factor`` times eastwards (same grid), cached."""
    import numpy as np
    import rasterio

    path = CACHE / f"tiled_x{factor}.tif"
    if path.exists():
        return path
    with rasterio.open(src) as s:
        data = s.read(1)
        profile = s.profile
    profile.update(width=data.shape[1] * factor, tiled=True, blockxsize=512, blockysize=512,
                   compress="deflate")
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(np.tile(data, (1, factor)), 1)
    return path


def land_mosaic(crop: str, n_side: int = 16) -> tuple[Path, Path]:
    """A ``n_side`` x ``n_side`` mosaic of 1024-pixel land windows of the São Tomé ``crop``
    (flipped / transposed at random, seeded; no sea, no tile repeated) on the crop's grid
    moved to 113 E 35 N, tiled 1024 and deflate-compressed like a WorldCover tile, and a
    0.02 degree grid of units over it (exact shared edges). Cached."""
    path = CACHE / f"land_mosaic_{n_side}.tif"
    if not path.exists():
        import numpy as np
        import rasterio
        from rasterio.transform import from_origin

        with rasterio.open(crop) as src:
            data, tr, crs = src.read(1), src.transform, src.crs
        windows = [(r, c) for r in range(0, data.shape[0] - 1024, 128)
                   for c in range(0, data.shape[1] - 1024, 128)
                   if (data[r:r + 1024, c:c + 1024] == 80).mean() < 0.2]  # 80: water
        rng = np.random.default_rng(1)
        out = np.empty((n_side * 1024, n_side * 1024), np.uint8)
        for i in range(n_side):
            for j in range(n_side):
                r, c = windows[rng.integers(len(windows))]
                w = data[r:r + 1024, c:c + 1024]
                k = int(rng.integers(8))
                w = w[::-1] if k & 1 else w
                w = w[:, ::-1] if k & 2 else w
                out[i * 1024:(i + 1) * 1024, j * 1024:(j + 1) * 1024] = w.T if k & 4 else w
        tmp = path.with_suffix(".part.tif")
        with rasterio.open(tmp, "w", driver="GTiff", width=out.shape[1], height=out.shape[0],
                           count=1, dtype="uint8", crs=crs, nodata=0, tiled=True,
                           transform=from_origin(113.0, 35.0, tr.a, -tr.e), blockxsize=1024,
                           blockysize=1024, compress="deflate") as dst:
            dst.write(out, 1)
        tmp.rename(path)
    import rasterio

    with rasterio.open(path) as src:
        x0, y0, x1, y1 = src.bounds
    return path, grid_units(CACHE / f"land_mosaic_{n_side}_units.gpkg", (x0, y0, x1, y1), 0.02)


def parcels_file(n_side: int) -> Path:
    """``n_side``^2 square parcels (50 m, CGCS2000 / 3-degree GK zone 38) with random GB/T
    21010 codes (text, leading zeros) and a village attribute, as FlatGeobuf."""
    path = CACHE / f"parcels_{n_side * n_side}.fgb"
    if path.exists():
        return path
    import geopandas as gpd
    import numpy as np
    import shapely

    from landcarbon.accounting.legends import load_legend

    legend = load_legend("gbt21010").table
    codes = legend.loc[legend["space_type"] != "excluded", "code"].to_numpy()
    rng = np.random.default_rng(0)
    i, j = np.meshgrid(np.arange(n_side), np.arange(n_side))
    x = 38_500_000 + 50.0 * i.ravel()
    y = 3_800_000 + 50.0 * j.ravel()
    village = (i.ravel() // 50) * 1000 + j.ravel() // 50
    gdf = gpd.GeoDataFrame({
        "DLBM": [f"{c:04d}" for c in rng.choice(codes, n_side * n_side)],
        "ZLDWDM": village.astype(str),
    }, geometry=shapely.box(x, y, x + 50, y + 50), crs="EPSG:4526")
    gdf.to_file(path, driver="FlatGeobuf")
    return path


def write_config(name: str, raster: str, units: Path, *, rasters: bool = True) -> Path:
    path = CACHE / f"{name}.toml"
    path.write_text(
        f'title = "benchmark {name}"\n\n[landcover]\npath = "{raster}"\n'
        'legend = "esa_worldcover"\n\n'
        f'[units]\npath = "{units}"\nid_field = "uid"\nname_field = "name"\n\n'
        '[construction]\nmethod = "intensity"\nintensity_tc_per_ha = 20.0\n\n'
        '[thresholds]\npreset = "strict_median"\n\n'
        f'[output]\nrasters = {"true" if rasters else "false"}\nmap = false\n',
        encoding="utf-8")
    return path
