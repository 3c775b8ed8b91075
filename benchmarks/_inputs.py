"""Cached inputs of the landcarbon benchmarks (``benchmarks/run.py``): unit grids, the
repeated São Tomé raster, the dense-land mosaic, the coded parcels and the run configs.
Everything is generated into ``benchmarks/.cache/`` (not in git) from the public rasters in
``../shared/data/worldcover``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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


def write_config(name: str, raster: str, units: Path, *, rasters: bool = True,
                 map: bool = False) -> Path:
    """A ``landcarbon run`` config (``rasters``, ``map``: the ``[output]`` switches; both
    on are the defaults a user gets)."""
    path = CACHE / f"{name}.toml"
    path.write_text(
        f'title = "benchmark {name}"\n\n[landcover]\npath = "{raster}"\n'
        'legend = "esa_worldcover"\n\n'
        f'[units]\npath = "{units}"\nid_field = "uid"\nname_field = "name"\n\n'
        '[construction]\nmethod = "intensity"\nintensity_tc_per_ha = 20.0\n\n'
        '[thresholds]\npreset = "strict_median"\n\n'
        f'[output]\nrasters = {"true" if rasters else "false"}\n'
        f'map = {"true" if map else "false"}\n', encoding="utf-8")
    return path


# ---------------------------------------------------------------- dense farmland (issue 16)

#: WorldCover codes of the farmland generator: tree, shrub, grass, cropland, built-up, bare,
#: water, wetland (0: nodata, not used: the raster is all land).
_TREE, _SHRUB, _GRASS, _CROP, _BUILT, _BARE, _WATER, _WET = 10, 20, 30, 40, 50, 60, 80, 90


def _hash(*arrays: Any) -> Any:
    """A deterministic pseudo-random uint32 of integer arrays (broadcast), for the generator."""
    import numpy as np

    h = np.uint32(2166136261)
    for a in arrays:
        h = (h ^ np.asarray(a, np.uint32)) * np.uint32(16777619)
        h ^= h >> np.uint32(13)
    return h


def _farmland_band(r0: int, rows: int, width: int, rng_noise: Any, growth: int = 0) -> Any:
    """Rows ``r0 .. r0 + rows`` of the dense-farmland land cover (uint8 WorldCover codes).

    Strip fields (6-14 x 40-120 px, 60-140 m by 0.4-1.2 km, oriented by 768-px farm block),
    crops / fallow / grass / greenhouses, tree rows along the block roads, villages (built-up
    blobs with trees, one per ~2.6 km2 on a jittered grid), a river with wetland banks every
    ~9 km, and 4 % classification noise (speckle). ``growth``: pixels added to every
    village's radius (later dates of a change run: villages grow over their fields)."""
    import numpy as np

    y = np.arange(r0, r0 + rows, dtype=np.int64)[:, None]
    x = np.arange(width, dtype=np.int64)[None, :]
    fb = 768  # farm block (roads with tree rows between)
    by, bx = y // fb, x // fb
    horiz = (_hash(by, bx, 7) & 1).astype(bool)  # strip orientation of the block
    along = np.where(horiz, x, y)
    across = np.where(horiz, y, x)
    sw = 6 + (_hash(by, bx, 11) % 9).astype(np.int64)       # strip width, px
    sl = 40 + (_hash(by, bx, 13) % 81).astype(np.int64)     # strip length, px
    si = across // sw
    sj = (along + (_hash(si, by, bx) % 64).astype(np.int64)) // sl
    pick = _hash(si, sj, by, bx) % 100
    out = np.where(pick < 72, _CROP, np.where(pick < 82, _GRASS, np.where(
        pick < 90, _BARE, np.where(pick < 95, _SHRUB, _BUILT)))).astype(np.uint8)
    # tree rows and roads along the farm-block edges
    ey, ex = y % fb, x % fb
    out[(ey < 2) | (ex < 2)] = _TREE
    out[((ey >= 2) & (ey < 3)) | ((ex >= 2) & (ex < 3))] = _BUILT
    # villages: one on each 160-px cell of a jittered grid, about half of them present
    vc = 160
    vy, vx = y // vc, x // vc
    present = (_hash(vy, vx, 3) % 100) < 55
    cy = vy * vc + 30 + (_hash(vy, vx, 5) % 100).astype(np.int64)
    cx = vx * vc + 30 + (_hash(vy, vx, 9) % 100).astype(np.int64)
    rad = 12 + growth + (_hash(vy, vx, 17) % 18).astype(np.int64)
    d2 = (y - cy) ** 2 + (x - cx) ** 2
    inside = present & (d2 < rad * rad)
    house = (_hash(y // 3, x // 3, 21) % 100) < 80
    out[inside] = np.where(house, _BUILT, _TREE)[inside]
    # a meandering river with wetland banks every ~9 km
    rv = 900
    phase = (y % (rv * 4)) / (rv * 4) * 2 * np.pi
    centre = (x // rv) * rv + rv // 2 + (60 * np.sin(phase + (x // rv))).astype(np.int64)
    dist = np.abs(x - centre)
    out[dist < 9] = _WATER
    out[(dist >= 9) & (dist < 14)] = _WET
    # classification noise
    noise = rng_noise.random((rows, width)) < 0.04
    codes = np.array([_TREE, _SHRUB, _GRASS, _CROP, _BUILT, _BARE], np.uint8)
    out[noise] = codes[rng_noise.integers(0, len(codes), int(noise.sum()))]
    return out


def farmland(n: int = 16384, n_units: int | None = None, growth: int = 0
             ) -> tuple[Path, Path]:
    """A dense-farmland WorldCover-style raster (``n`` x ``n``, EPSG:4326 at 1/12000 degree
    from 113.2 E 34.9 N, 512-px DEFLATE tiles, nodata 0) and ``n_units`` irregular
    township-like units over it (a Voronoi partition of jittered seeds, ~57,000 pixels a unit
    by default: 4,700 at 16384, 18,900 at 32768). ``growth`` > 0: a later date of the same
    grid (villages ``growth`` pixels wider, other noise). Cached."""
    path = CACHE / (f"farmland_{n}.tif" if not growth else f"farmland_{n}_g{growth}.tif")
    n_units = n_units or round(n * n / 57_000)
    if not path.exists():
        import numpy as np
        import rasterio
        from rasterio.transform import from_origin

        CACHE.mkdir(exist_ok=True)
        tmp = path.with_suffix(".part.tif")
        rng = np.random.default_rng(16 + growth)
        with rasterio.open(tmp, "w", driver="GTiff", width=n, height=n, count=1,
                           dtype="uint8", crs="EPSG:4326", nodata=0, tiled=True,
                           blockxsize=512, blockysize=512, compress="deflate",
                           transform=from_origin(113.2, 34.9, 1 / 12000, 1 / 12000),
                           BIGTIFF="IF_SAFER", NUM_THREADS="ALL_CPUS") as dst:
            for r0 in range(0, n, 512):
                rows = min(512, n - r0)
                dst.write(_farmland_band(r0, rows, n, rng, growth)[None],
                          window=((r0, r0 + rows), (0, n)))
        tmp.rename(path)
    return path, township_units(CACHE / f"farmland_{n}.tif", n_units)


#: other ways users' rasters come (``farmland.py --only layouts``): name -> GDAL GTiff creation
#: options of a copy of the farmland raster (tiles of 256 or 1024 px, ArcGIS-style strips,
#: uncompressed; LZW, ZSTD with the horizontal predictor, DEFLATE)
LAYOUTS: dict[str, dict[str, Any]] = {
    "tiles 256, LZW": {"tiled": True, "blockxsize": 256, "blockysize": 256, "compress": "LZW"},
    "tiles 1024, ZSTD + predictor": {"tiled": True, "blockxsize": 1024, "blockysize": 1024,
                                     "compress": "ZSTD", "predictor": 2},
    "strips of 16 rows, DEFLATE": {"tiled": False, "blockysize": 16, "compress": "DEFLATE"},
    "strips, uncompressed": {"tiled": False, "compress": "NONE"},
}


def rewritten(raster: Path, layout: str) -> Path:
    """``raster`` copied with the creation options of ``LAYOUTS[layout]`` (same pixels and
    grid). Cached."""
    key = "".join(ch if ch.isalnum() else "_" for ch in layout.lower())
    path = raster.with_name(f"{raster.stem}_{key}.tif")
    if not path.exists():
        import rasterio.shutil

        tmp = path.with_suffix(".part.tif")
        rasterio.shutil.copy(raster, tmp, driver="GTiff", NUM_THREADS="ALL_CPUS",
                             BIGTIFF="IF_SAFER", **LAYOUTS[layout])
        tmp.rename(path)
    return path


def reprojected(raster: Path, crs: str = "EPSG:4547", res: float = 10.0) -> Path:
    """``raster`` warped (nearest neighbour) to ``crs`` at ``res`` m: by default CGCS2000 /
    3-degree Gauss-Kruger CM 114E, the grid of Chinese survey data, written as GDAL's
    default strips with LZW (nodata 0 around the turned extent). Cached."""
    path = raster.with_name(f"{raster.stem}_{crs.replace(':', '')}_{res:g}m.tif")
    if not path.exists():
        import rasterio
        from rasterio.warp import Resampling, calculate_default_transform, reproject

        tmp = path.with_suffix(".part.tif")
        with rasterio.open(raster) as src:
            tr, w, h = calculate_default_transform(src.crs, crs, src.width, src.height,
                                                   *src.bounds, resolution=res)
            with rasterio.open(tmp, "w", driver="GTiff", width=w, height=h, count=1,
                               dtype=src.dtypes[0], crs=crs, transform=tr, nodata=0,
                               compress="LZW", BIGTIFF="IF_SAFER") as dst:
                reproject(rasterio.band(src, 1), rasterio.band(dst, 1),
                          resampling=Resampling.nearest, num_threads=2, warp_mem_limit=512)
        tmp.rename(path)
    return path


def township_units(raster: Path, n_units: int) -> Path:
    """``n_units`` irregular units partitioning ``raster``'s extent (Voronoi cells of seeds
    jittered on a grid, clipped to the extent: neighbours share their edges exactly)."""
    path = raster.with_name(f"{raster.stem}_towns_{n_units}.gpkg")
    if path.exists():
        return path
    import geopandas as gpd
    import numpy as np
    import rasterio
    import shapely

    with rasterio.open(raster) as src:
        x0, y0, x1, y1 = src.bounds
    side = round(float(np.sqrt(n_units)))
    rng = np.random.default_rng(4722)
    gy, gx = np.meshgrid((np.arange(side) + 0.5) / side, (np.arange(side) + 0.5) / side)
    jit = rng.uniform(-0.45, 0.45, (2, side * side)) / side
    px = x0 + (gx.ravel() + jit[0]) * (x1 - x0)
    py = y0 + (gy.ravel() + jit[1]) * (y1 - y0)
    extent = shapely.box(x0, y0, x1, y1)
    cells = shapely.get_parts(shapely.voronoi_polygons(
        shapely.multipoints(np.column_stack([px, py])), extend_to=extent))
    cells = shapely.intersection(cells, extent)
    cells = cells[~shapely.is_empty(cells)]
    ids = [f"t{i:05d}" for i in range(len(cells))]
    tmp = path.with_suffix(".part.gpkg")
    gpd.GeoDataFrame({"uid": ids, "name": ids}, geometry=cells, crs="EPSG:4326").to_file(
        tmp, layer="units")
    tmp.rename(path)
    return path


def survey_units(units: Path, spacing: float = 3e-5) -> Path:
    """``units`` with a vertex every ``spacing`` degrees (~3 m) along every edge, as township
    boundaries from a land survey have (~2,650 vertices a unit here). The added vertices of
    neighbours' shared edges differ in their last bits, so GEOS's coverage check flags about a
    third of the units and ~850 pairs overlap by ~1e-6 ha in total, as digitising noise does.
    Cached."""
    path = units.with_name(f"{units.stem}_survey.gpkg")
    if path.exists():
        return path
    import geopandas as gpd
    import shapely

    table = gpd.read_file(units)
    table = table.set_geometry(shapely.segmentize(table.geometry.to_numpy(), spacing))
    tmp = path.with_suffix(".part.gpkg")
    table.to_file(tmp, layer="units")
    tmp.rename(path)
    return path


def change_config(name: str, rasters: list[Path], units: Path, *, map: bool = False) -> Path:
    """A ``landcarbon change`` config of ``rasters`` (one date each, 2015, 2020, ...);
    ``map``: the change map and report (on by default for a user)."""
    path = CACHE / f"{name}.toml"
    dates = "".join(f'\n[[change.dates]]\nyear = {2015 + 5 * i}\nlandcover = "{r}"\n'
                    for i, r in enumerate(rasters))
    path.write_text(
        f'title = "benchmark {name}"\n\n[landcover]\npath = "{rasters[-1]}"\n'
        'legend = "esa_worldcover"\n\n'
        f'[units]\npath = "{units}"\nid_field = "uid"\nname_field = "name"\n\n'
        '[construction]\nmethod = "intensity"\nintensity_tc_per_ha = 20.0\n\n'
        '[thresholds]\npreset = "strict_median"\n\n'
        f'[output]\nrasters = false\nmap = {"true" if map else "false"}\n\n'
        f'[change]\nresample = "error"\n{dates}', encoding="utf-8")
    return path
