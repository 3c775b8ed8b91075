"""Generate the SYNTHETIC Zhengzhou-like sample data set of landcarbon.

Everything written by this script is made up: the land cover is drawn from smoothed random
fields and a handful of hand-placed shapes (a city, satellite towns, a braided river, hills,
a canal); the township polygons are Voronoi cells of random seed points; the energy
statistics are proportional to the synthetic built-up area. Nothing is real land cover,
administrative geography or statistics. The layout only loosely imitates Zhengzhou (Henan):
the Yellow River in the north, hills in the south-west, cropland plains in the east.

Usage::

    python data/sample_tiles/make_sample_tiles.py [OUTDIR]

OUTDIR defaults to the folder of this script. The output is deterministic: every random
number comes from ``numpy.random.RandomState`` (whose streams numpy keeps stable across
versions) seeded from :data:`SEED` and a fixed name per component, and no file carries a
timestamp, so the rasters and CSV files are byte-identical on every run with the same
library versions (GDAL's DEFLATE encoder could in principle differ between GDAL builds).

Written files: ``landcover_2015.tif``, ``landcover_2023.tif`` (ESA WorldCover codes, uint8,
nodata 0, EPSG:32649, 30 m), ``townships.gpkg`` (layer ``townships``, EPSG:4326),
``energy_2015.csv``, ``energy_2023.csv``, ``statistics_2015.csv``, ``statistics_2023.csv``
(SYNTHETIC GDP and population), ``demo.toml``, ``demo_change.toml`` and
``carbon_pools_esa_worldcover.csv`` (made-up InVEST carbon pools for the change demo).
"""

from __future__ import annotations

import csv
import sys
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import rasterio
import shapely
from rasterio.features import rasterize
from rasterio.transform import from_origin
from shapely.geometry import LineString, MultiPoint, Point, Polygon, box
from shapely.geometry.base import BaseGeometry

# --------------------------------------------------------------------------------------------
# Grid and constants
# --------------------------------------------------------------------------------------------

#: Master seed; each component draws from its own RandomState derived from it (see ``rng``).
SEED = 20230410
#: Raster CRS: WGS 84 / UTM zone 49N.
RASTER_CRS = "EPSG:32649"
#: Units CRS, deliberately different from the raster CRS so that reprojection is exercised.
UNITS_CRS = "EPSG:4326"
PIXEL = 30.0
WIDTH = 1500
HEIGHT = 1200
#: Upper-left corner (m, EPSG:32649); the grid spans about 113.43-113.92 E, 34.63-34.97 N.
ORIGIN_X = 722_000.0
ORIGIN_Y = 3_872_000.0
TRANSFORM = from_origin(ORIGIN_X, ORIGIN_Y, PIXEL, PIXEL)
EXTENT_KM = (WIDTH * PIXEL / 1000.0, HEIGHT * PIXEL / 1000.0)
YEARS = (2015, 2023)

DESCRIPTION = ("SYNTHETIC sample data made by landcarbon make_sample_tiles.py - "
               "not real land cover")

# ESA WorldCover class codes used here (0 = nodata).
NODATA = 0
TREE, SHRUB, GRASS, CROP, BUILT, BARE, WATER, WETLAND = 10, 20, 30, 40, 50, 60, 80, 90

#: ESA WorldCover display colours (RGB), written as the GeoTIFF colour table.
WORLDCOVER_COLOURS: dict[int, tuple[int, int, int]] = {
    TREE: (0, 100, 0),
    SHRUB: (255, 187, 34),
    GRASS: (255, 255, 76),
    CROP: (240, 150, 255),
    BUILT: (250, 0, 0),
    BARE: (180, 180, 180),
    WATER: (0, 100, 200),
    WETLAND: (0, 150, 160),
}
LEGEND_TEXT = ("ESA WorldCover codes: 10 tree cover, 20 shrubland, 30 grassland, 40 cropland, "
               "50 built-up, 60 bare/sparse vegetation, 80 permanent water bodies, "
               "90 herbaceous wetland; 0 nodata")

#: Carbon per physical unit of each fuel column of the energy tables (t C per unit):
#: standard-coal coefficient (GB/T 2589-2020 reference values, tce per unit) x carbon per
#: tce (IPCC-derived factors as reproduced in the Chinese literature). Electricity uses its
#: calorific equivalent (0.1229 kgce/kWh) valued as coal. Only used to size the synthetic
#: statistics (the demo configs charge electricity with the 华中 grid factor instead);
#: landcarbon's own factor tables are authoritative.
FUEL_CARBON: dict[str, float] = {
    "raw_coal_t": 0.7143 * 0.7559,
    "coke_t": 0.9714 * 0.8550,
    "gasoline_t": 1.4714 * 0.5538,
    "diesel_t": 1.4571 * 0.5921,
    "natural_gas_10k_m3": 12.143 * 0.4483,
    "electricity_10k_kwh": 1.229 * 0.7559,
    "heat_gj": 0.03412 * 0.7559,
}
#: Share of construction-land carbon by fuel, per year (coal gives way to gas and power).
FUEL_MIX: dict[int, dict[str, float]] = {
    2015: {"raw_coal_t": 0.42, "coke_t": 0.06, "gasoline_t": 0.07, "diesel_t": 0.08,
           "natural_gas_10k_m3": 0.07, "electricity_10k_kwh": 0.25, "heat_gj": 0.05},
    2023: {"raw_coal_t": 0.32, "coke_t": 0.04, "gasoline_t": 0.08, "diesel_t": 0.08,
           "natural_gas_10k_m3": 0.12, "electricity_10k_kwh": 0.30, "heat_gj": 0.06},
}
#: Mean carbon intensity of built-up land (t C/ha/yr) the statistics are drawn around.
ENERGY_INTENSITY = {2015: 57.0, 2023: 62.0}

DEMO_TOML = """\
# landcarbon demo: SYNTHETIC Zhengzhou-like sample (not real data)
title = "示例区（合成数据）2023 年国土空间碳收支"
language = "zh"

[landcover]
path = "landcover_2023.tif"
legend = "esa_worldcover"
rural_settlement = "construction"

[units]
path = "townships.gpkg"
layer = "townships"
id_field = "code"
name_field = "name"

[coefficients]
set = "lai2010"
cropland_mode = "source"
output_unit = "t C"

[construction]
method = "energy"
energy_table = "energy_2023.csv"
electricity = "grid_factor"
grid_factor = "central_china_2022"   # 华中 grid 2022, 0.5395 kg CO2/kWh (MEE / NBS)

[space_type_rule]
method = "dominant"
overrides = [{ space_type = "construction", min_share = 0.4 }]

[thresholds]
method = "pathway"
year = 2023   # the land cover's year: judged against the 2023 limits

[thresholds.pathway]   # absolute limits on the target pathway (docs/thresholds.md)
base_year = 2020
base_tc_per_ha = { agricultural = 8.0, construction = 47.0, ecological = 0.0 }
peak_year = 2030
neutrality_year = 2060
intensity_reduction_pct = 18.0   # CO2 per GDP, 2020-2025 (14th five-year plan)
intensity_target_year = 2025
gdp_growth_pct = 6.0
source = "SYNTHETIC 2020 densities; national targets: CO2/GDP -18 % 2020-25, peak, neutrality"
"""

#: Zoning sections appended to the demo config in demo_zoning.toml (`landcarbon run
#: demo_zoning.toml`): statistics, ECC/ESC zones, hot spots, sink zones, compensation.
ZONING_TOML = """
[statistics]
path = "statistics_2023.csv"
gdp_column = "gdp_10k_cny"
population_column = "population"

[zoning]
grading_method = "natural_breaks"

[hotspots]
on = "both"
cell_size_m = 1000

[sink_zones]

[compensation]
price_per_tco2 = 60.0
currency = "CNY"

[uncertainty]
draws = 1000
"""

# --------------------------------------------------------------------------------------------
# Random fields and geometry helpers
# --------------------------------------------------------------------------------------------

def rng(name: str) -> np.random.RandomState:
    """Independent, reproducible random state of one named component (so that changing one
    component does not reshuffle the others)."""
    return np.random.RandomState((SEED + zlib.crc32(name.encode("utf-8"))) % 2**32)


def _freq_grid(shape: tuple[int, int]) -> np.ndarray:
    """Radial spatial frequency (cycles per pixel) of an rfft2 spectrum of ``shape``."""
    ky = np.fft.fftfreq(shape[0])[:, None]
    kx = np.fft.rfftfreq(shape[1])[None, :]
    return np.hypot(ky, kx)


def _normalise(a: np.ndarray) -> np.ndarray:
    """Zero mean, unit standard deviation."""
    return (a - a.mean()) / a.std()


def noise(name: str, scale_px: float, beta: float = 3.0, smooth_px: float | None = None,
          shape: tuple[int, int] = (HEIGHT, WIDTH)) -> np.ndarray:
    """Smooth fractal noise (zero mean, unit variance) by spectral synthesis.

    White noise is filtered with a power spectrum ~ 1/k**beta flattened below the frequency
    1/scale_px, so ``scale_px`` is the size of the largest features and ``beta`` sets how
    rough the boundaries are (higher = smoother); a gaussian low-pass of ``smooth_px``
    (default scale_px / 10, at least 0.8 px) removes single-pixel speckle. The field is made
    on a padded grid and cropped, so it does not wrap around the edges.
    """
    sigma = max(0.8, scale_px / 10.0) if smooth_px is None else smooth_px
    pad = int(min(scale_px, 256))
    big = (shape[0] + 2 * pad, shape[1] + 2 * pad)
    white = rng(name).standard_normal(big)
    k = _freq_grid(big)
    k0 = 1.0 / scale_px
    filt = (k**2 + k0**2) ** (-beta / 4.0) * np.exp(-2.0 * (np.pi * k * sigma) ** 2)
    filt[0, 0] = 0.0
    field = np.fft.irfft2(np.fft.rfft2(white) * filt, s=big)
    return _normalise(field[pad:pad + shape[0], pad:pad + shape[1]])


def noise_1d(name: str, n: int, scale: float) -> np.ndarray:
    """Smooth 1-D noise (zero mean, unit variance) with features about ``scale`` samples."""
    pad = int(3 * scale)
    white = rng(name).standard_normal(n + 2 * pad)
    k = np.fft.rfftfreq(n + 2 * pad)
    spec = np.fft.rfft(white) * np.exp(-2.0 * (np.pi * k * scale) ** 2)
    return _normalise(np.fft.irfft(spec, n=n + 2 * pad)[pad:pad + n])


def blur(a: np.ndarray, sigma_px: float) -> np.ndarray:
    """Gaussian blur (FFT, zero padding of 4 sigma so nothing wraps around)."""
    pad = int(4 * sigma_px) + 1
    big = np.zeros((a.shape[0] + 2 * pad, a.shape[1] + 2 * pad))
    big[pad:-pad, pad:-pad] = a
    k = _freq_grid(big.shape)
    spec = np.fft.rfft2(big) * np.exp(-2.0 * (np.pi * k * sigma_px) ** 2)
    return np.fft.irfft2(spec, s=big.shape)[pad:-pad, pad:-pad]


def km_to_map(x_km: np.ndarray | float, y_km: np.ndarray | float
              ) -> tuple[np.ndarray | float, np.ndarray | float]:
    """Grid kilometres (x east from the left edge, y south from the top edge) to EPSG:32649."""
    return ORIGIN_X + np.asarray(x_km) * 1000.0, ORIGIN_Y - np.asarray(y_km) * 1000.0


def burn(geoms: Iterable[BaseGeometry], all_touched: bool = False) -> np.ndarray:
    """Boolean mask of the pixels covered by ``geoms`` (map coordinates)."""
    shapes = [(g, 1) for g in geoms if not g.is_empty]
    if not shapes:
        return np.zeros((HEIGHT, WIDTH), dtype=bool)
    out = rasterize(shapes, out_shape=(HEIGHT, WIDTH), transform=TRANSFORM, fill=0,
                    all_touched=all_touched, dtype="uint8")
    return out.astype(bool)


def wiggly_line(name: str, points_km: Sequence[tuple[float, float]], amp_km: float,
                wavelength_km: float, step_km: float = 0.05) -> LineString:
    """A polyline through ``points_km`` with smooth sideways meanders (map coordinates).

    The meander offset tapers to zero at both ends, so the end points stay where given.
    """
    base = LineString(points_km)
    n = max(int(base.length / step_km), 2)
    dist = np.linspace(0.0, base.length, n + 1)
    pts = np.array([base.interpolate(d).coords[0] for d in dist])
    tangent = np.gradient(pts, axis=0)
    kernel = np.ones(15) / 15.0
    tangent = np.column_stack([np.convolve(np.pad(tangent[:, i], 7, mode="edge"), kernel,
                                           mode="valid") for i in range(2)])
    tangent /= np.linalg.norm(tangent, axis=1, keepdims=True)
    normal = np.column_stack([-tangent[:, 1], tangent[:, 0]])
    r = rng(name)
    ph1, ph2 = r.uniform(0, 2 * np.pi, 2)
    s = dist / wavelength_km
    offset = amp_km * (np.sin(2 * np.pi * s + ph1) + 0.45 * np.sin(2 * np.pi * 2.7 * s + ph2))
    offset *= np.clip(np.minimum(dist, base.length - dist) / (0.5 * wavelength_km), 0, 1)
    pts = pts + normal * offset[:, None]
    mx, my = km_to_map(pts[:, 0], pts[:, 1])
    return LineString(np.column_stack([mx, my]))


@dataclass(frozen=True)
class Centre:
    """An urban centre: elliptical core whose radius grows between the two dates."""

    name: str
    x: float
    y: float
    radius: dict[int, float]  # semi-major axis (km) per year; 0 = not built yet
    aspect: float = 1.2
    angle_deg: float = 0.0


#: City core, the new district in the east, satellite towns. Radii in km per year.
CENTRES: tuple[Centre, ...] = (
    Centre("core", 20.5, 22.0, {2015: 7.6, 2023: 8.1}, 1.25, 20.0),
    Centre("east_district", 30.5, 17.5, {2015: 4.4, 2023: 5.5}, 1.35, -30.0),
    Centre("airport_town", 27.5, 33.2, {2015: 1.5, 2023: 2.7}, 1.5, 55.0),
    Centre("west_town", 4.6, 20.5, {2015: 1.9, 2023: 2.4}, 1.3, 10.0),
    Centre("east_town", 40.6, 23.0, {2015: 1.8, 2023: 2.4}, 1.25, 0.0),
    Centre("southwest_town", 6.8, 32.4, {2015: 1.5, 2023: 1.9}, 1.2, 45.0),
    Centre("northeast_town", 39.2, 11.0, {2015: 1.0, 2023: 1.35}, 1.2, -20.0),
    Centre("south_town", 15.0, 33.0, {2015: 0.9, 2023: 1.3}, 1.2, 80.0),
    Centre("southeast_town", 36.0, 29.5, {2015: 0.8, 2023: 1.2}, 1.2, 30.0),
    Centre("north_bank_town", 27.5, 1.0, {2015: 0.9, 2023: 1.1}, 1.4, 0.0),
)


# --------------------------------------------------------------------------------------------
# Landscape
# --------------------------------------------------------------------------------------------

class Landscape:
    """All year-independent fields of the synthetic landscape, computed once."""

    def __init__(self) -> None:
        rows, cols = np.mgrid[0:HEIGHT, 0:WIDTH]
        self.xk = (cols + 0.5) * PIXEL / 1000.0  # km east of the left edge
        self.yk = (rows + 0.5) * PIXEL / 1000.0  # km south of the top edge
        self.col_x = (np.arange(WIDTH) + 0.5) * PIXEL / 1000.0
        self._river()
        self._hills()
        self._villages()
        self._urban_noise()

    # -- Yellow River -------------------------------------------------------------------------
    def _river(self) -> None:
        """Braided river in a wide floodplain across the north (column-wise profiles, km)."""
        x = self.col_x
        n = WIDTH
        self.fp_centre = (5.9 + 0.8 * np.sin(2 * np.pi * x / 40.0 + 0.6)
                          + 0.35 * noise_1d("fp_centre", n, 120))
        self.fp_half = 2.5 + 0.5 * noise_1d("fp_half", n, 90)
        self.channel = (self.fp_centre + 0.5 * self.fp_half * np.sin(2 * np.pi * x / 12.5 + 1.1)
                        + 0.25 * noise_1d("channel", n, 60))
        self.channel_half = 0.30 + 0.07 * noise_1d("channel_half", n, 40)
        self.braid = (self.fp_centre - 0.45 * self.fp_half * np.sin(2 * np.pi * x / 9.0 + 2.0)
                      + 0.2 * noise_1d("braid", n, 40))
        self.braid_on = noise_1d("braid_on", n, 50) > 0.2

        yk = self.yk
        edge = 0.25 * noise("fp_edge", 40, 2.6)
        self.in_fp = np.abs(yk - self.fp_centre[None, :]) < self.fp_half[None, :] + edge
        self.d_channel = np.abs(yk - self.channel[None, :])
        wiggle = 1.0 + 0.25 * noise("channel_edge", 12, 2.4)
        main = self.d_channel < self.channel_half[None, :] * wiggle
        second = ((np.abs(yk - self.braid[None, :]) < 0.07 * wiggle) & self.braid_on[None, :])
        self.water = (main | second) & self.in_fp
        self.bars_in_channel = main & (noise("bars", 10, 2.8) > 1.5)
        self.fp_bare = self.in_fp & ~self.water & (
            self.d_channel < self.channel_half[None, :] + 0.22 + 0.18 * noise("sand", 15, 2.6))
        wet_score = 0.5 * noise("wet", 30, 2.6) + (1.0 - self.d_channel / 1.6)
        self.fp_wet = self.in_fp & (wet_score > 0.55)
        self.fp_grass = self.in_fp & (noise("fp_grass", 20, 2.6) > 0.35)
        self.fp_tree = self.in_fp & (noise("fp_tree", 10, 2.6) > 1.35)
        # Loess ridge with woodland on the south bank in the west (like the Mangshan hills).
        fp_south = self.fp_centre + self.fp_half
        ridge = ((yk > fp_south[None, :] + 0.35) & (yk < fp_south[None, :] + 2.0
                                                    + 0.5 * noise("ridge_w", 60, 2.6))
                 & (self.xk < 13.0 + 2.0 * noise("ridge_x", 80, 2.6)))
        self.ridge_tree = ridge & (noise("ridge_tree", 15, 2.6) > -0.4)
        self.ridge_grass = ridge & ~self.ridge_tree
        # Reclaimed wetland (2023: part of the floodplain wetland turned into cropland).
        self.reclaimed = (self.fp_wet & (self.xk > 27.0) & (self.xk < 38.0)
                          & (noise("reclaim", 25, 2.6) > 0.1))
        # Riverside development zone (2023 built-up eating into the floodplain wetland).
        self.riverside_x = (17.5, 23.0)

    # -- hills ---------------------------------------------------------------------------------
    def _hills(self) -> None:
        """Forest / shrub / grass hills in the south-west with cropland in the valleys."""
        d = np.hypot(self.xk - 1.0, (self.yk - 37.0) * 1.1)
        self.hill = 1.0 - d / 15.0 + 0.3 * noise("hill", 150, 3.0)
        local = self.hill + 0.25 * noise("hill_local", 25, 2.6)
        zone = self.hill > 0.0
        self.h_forest = zone & (local > 0.62)
        self.h_shrub = zone & ~self.h_forest & (local > 0.42)
        self.h_grass = zone & ~self.h_forest & ~self.h_shrub & (local > 0.22) & (
            noise("hill_grass", 12, 2.5) > -0.2)
        quarry_pts = rng("quarries").uniform([1.0, 27.0], [13.0, 35.5], size=(6, 2))
        mx, my = km_to_map(quarry_pts[:, 0], quarry_pts[:, 1])
        sizes = rng("quarry_size").uniform(90, 220, size=6)
        self.h_bare = burn(Point(x, y).buffer(s) for x, y, s in zip(mx, my, sizes, strict=True))
        self.h_bare &= zone & (noise("quarry_edge", 6, 2.2) > -0.8)

    # -- villages ------------------------------------------------------------------------------
    def _villages(self) -> None:
        """Rural settlements: a jittered lattice of small blobs with trees around them."""
        r = rng("villages")
        spacing = 1.35
        gx = np.arange(spacing / 2, EXTENT_KM[0], spacing)
        gy = np.arange(spacing / 2, EXTENT_KM[1], spacing)
        px, py = np.meshgrid(gx, gy)
        px = px + r.uniform(-0.42, 0.42, px.shape) * spacing
        py = py + r.uniform(-0.42, 0.42, py.shape) * spacing
        keep = r.uniform(size=px.shape) > 0.12
        radius = r.lognormal(np.log(0.13), 0.35, px.shape).clip(0.06, 0.32)
        impulses = np.zeros((HEIGHT, WIDTH))
        sigma = 3.0  # px
        for x, y, rad in zip(px[keep], py[keep], radius[keep], strict=True):
            c = int(x * 1000 / PIXEL)
            ro = int(y * 1000 / PIXEL)
            if 0 <= ro < HEIGHT and 0 <= c < WIDTH:
                rpx = rad * 1000 / PIXEL
                # blob value at distance d: w * exp(-d^2 / 2 sigma^2) / (2 pi sigma^2)
                impulses[ro, c] += np.exp(rpx**2 / (2 * sigma**2)) * 2 * np.pi * sigma**2
        v = blur(impulses, sigma) * (1.0 + 0.45 * noise("village_edge", 5, 2.2))
        self.village = v > 1.0
        self.village_trees = ~self.village & (v > 0.12) & (noise("village_trees", 4, 2.2) > 0.0)

    # -- urban ---------------------------------------------------------------------------------
    def _urban_noise(self) -> None:
        """Noise shared by both dates (so the 2023 city contains the 2015 city)."""
        self.urban_large = noise("urban_large", 90, 2.8)
        self.urban_fine = noise("urban_fine", 10, 2.4)
        self.green_tree = noise("urban_tree", 6, 2.4)
        self.green_grass = noise("urban_grass", 6, 2.4)
        self.site = noise("construction_sites", 12, 2.6)

    def potential(self, year: int) -> np.ndarray:
        """Urban potential: > 0 is built-up. Max over centres of 1 - d/R plus noise."""
        best = np.full((HEIGHT, WIDTH), -np.inf)
        for c in CENTRES:
            rad = c.radius[year]
            if rad <= 0:
                continue
            a = np.deg2rad(c.angle_deg)
            dx, dy = self.xk - c.x, self.yk - c.y
            u = dx * np.cos(a) + dy * np.sin(a)
            v = (-dx * np.sin(a) + dy * np.cos(a)) * c.aspect
            best = np.maximum(best, 1.0 - np.hypot(u, v) / rad)
        return best + 0.26 * self.urban_large + 0.10 * self.urban_fine

    def riverside(self, year: int) -> np.ndarray:
        """2023 riverside development: built-up on the south edge of the floodplain."""
        if year < 2023:
            return np.zeros((HEIGHT, WIDTH), dtype=bool)
        x0, x1 = self.riverside_x
        south = (self.fp_centre + self.fp_half)[None, :]
        depth = 0.9 + 0.35 * noise("riverside_depth", 40, 2.6)
        return ((self.xk > x0 + 0.5 * noise("rs_x0", 60, 2.6)) & (self.xk < x1)
                & (self.yk > south - depth) & self.in_fp & ~self.water
                & (self.urban_fine > -1.2))


def road_network() -> dict[str, list[LineString]]:
    """Main roads (both dates) and roads opened between 2015 and 2023 (map coordinates)."""
    c = (20.5, 22.0)
    routes = {
        "west": [c, (12.0, 21.0), (4.6, 20.5), (0.0, 20.0)],
        "east": [c, (30.5, 20.5), (40.6, 23.0), (45.0, 23.8)],
        "south": [c, (21.5, 30.0), (22.0, 36.0)],
        "southwest": [c, (13.5, 27.5), (6.8, 32.4), (2.5, 36.0)],
        "southeast": [c, (27.5, 33.2), (34.0, 36.0)],
        "east_se": [(30.5, 17.5), (36.0, 29.5), (45.0, 33.5)],
        "northeast": [(30.5, 17.5), (39.2, 11.0), (45.0, 8.5)],
        "north": [c, (20.0, 12.0), (19.5, 9.2)],
        "north_bank": [(0.0, 1.6), (14.0, 1.2), (27.5, 1.0), (45.0, 1.8)],
        "south_link": [(6.8, 32.4), (15.0, 33.0), (27.5, 33.2)],
    }
    lines = {k: [wiggly_line(f"road_{k}", v, 0.25, 6.0)] for k, v in routes.items()}
    ring = [(20.5 + 11.5 * np.cos(t), 22.0 + 9.0 * np.sin(t))
            for t in np.linspace(0.15 * np.pi, 1.05 * np.pi, 40)]
    lines["ring"] = [wiggly_line("road_ring", ring, 0.15, 8.0)]
    new_ring = [(20.5 + 11.5 * np.cos(t), 22.0 + 9.0 * np.sin(t))
                for t in np.linspace(1.05 * np.pi, 1.62 * np.pi, 25)]
    lines["new_ring_2023"] = [wiggly_line("road_new_ring", new_ring, 0.15, 8.0)]
    return lines


def build_landcover(ls: Landscape, year: int) -> np.ndarray:
    """The land-cover raster (ESA WorldCover codes) of one date."""
    lc = np.full((HEIGHT, WIDTH), CROP, dtype=np.uint8)

    # Plains: scattered groves, grassland and bare patches in the farmland.
    lc[noise("plain_grove", 8, 2.4) > 2.0] = TREE
    lc[noise("plain_grass", 10, 2.4) > 2.1] = GRASS
    lc[noise("plain_bare", 6, 2.4) > 2.7] = BARE

    # Hills in the south-west.
    lc[ls.h_grass] = GRASS
    lc[ls.h_shrub] = SHRUB
    lc[ls.h_forest] = TREE
    lc[ls.h_bare] = BARE

    # Villages sit on farmland; trees around them.
    lc[ls.village_trees & (lc == CROP)] = TREE
    lc[ls.village & (lc == CROP)] = BUILT

    # Yellow River floodplain and the wooded ridge south of it.
    fp = ls.in_fp
    lc[fp] = CROP
    lc[ls.fp_grass] = GRASS
    lc[ls.fp_tree] = TREE
    lc[ls.fp_wet] = WETLAND
    lc[ls.fp_bare] = BARE
    lc[ls.water] = WATER
    lc[ls.bars_in_channel] = BARE
    lc[ls.ridge_grass] = GRASS
    lc[ls.ridge_tree] = TREE
    if year >= 2023:
        lc[ls.reclaimed] = CROP

    # City, new district and towns: not in the floodplain, not in hill forest.
    pot = ls.potential(year)
    urban = (pot > 0) & ~fp & ~(ls.h_forest & (ls.hill > 0.3))
    urban |= ls.riverside(year)
    lc[urban] = BUILT
    lc[urban & (ls.green_tree > 1.45)] = TREE
    lc[urban & (ls.green_grass > 1.75)] = GRASS

    # Construction sites: bare ground just ahead of the built-up front.
    later = 2023 if year < 2023 else None
    if later is not None:
        ahead = (ls.potential(later) > 0) & (pot <= 0)
    else:
        ahead = (pot > -0.12) & (pot <= 0)
    lc[ahead & (ls.site > 0.9) & (lc == CROP) & ~fp] = BARE

    # Roads (1-2 px of built-up), never over water.
    roads = road_network()
    names = [k for k in roads if year >= 2023 or not k.endswith("_2023")]
    thin = burn((g.buffer(9.0) for k in names if k not in ("ring", "new_ring_2023")
                 for g in roads[k]), all_touched=True)
    wide = burn((g.buffer(22.0) for k in names if k in ("ring", "new_ring_2023")
                 for g in roads[k]), all_touched=True)
    levee_x = ls.col_x[::10]
    levee = wiggly_line("levee", list(zip(levee_x, (ls.fp_centre + ls.fp_half)[::10] + 0.3,
                                          strict=True)), 0.0, 5.0)
    road = thin | wide | burn([levee.buffer(9.0)], all_touched=True)
    lc[road & (lc != WATER)] = BUILT

    # Parks, lakes and ponds in the city.
    _parks_and_lakes(ls, lc, year)

    # Small river through the city (like the Jialu River) and the N-S canal with tree belts.
    jialu = wiggly_line("jialu", [(0.0, 15.5), (10.0, 17.0), (18.0, 14.5), (27.0, 15.0),
                                  (36.0, 18.5), (45.0, 19.0)], 0.35, 4.0)
    belt = burn([jialu.buffer(70.0)], all_touched=True)
    lc[belt & (noise("jialu_belt", 5, 2.2) > -0.3)] = TREE
    lc[belt & (lc != TREE)] = GRASS
    lc[burn([jialu.buffer(18.0)], all_touched=True)] = WATER

    fp_edge = float((ls.fp_centre + ls.fp_half)[int(10.3 * 1000 / PIXEL)])
    canal = wiggly_line("canal", [(16.5, 36.0), (14.5, 29.0), (13.5, 22.0), (11.5, 15.0),
                                  (10.3, fp_edge - 0.1)], 0.25, 7.0)
    lc[burn([canal.buffer(130.0)], all_touched=True) & ~ls.water] = TREE
    lc[burn([canal.buffer(45.0)])] = WATER

    # A ragged strip of nodata along the south-east edge (like a scene boundary).
    rows = np.arange(HEIGHT)
    width = np.clip((rows - 0.62 * HEIGHT) / (0.38 * HEIGHT), 0, None) * 55
    width = np.where(width > 0, width + 9 * noise_1d("nodata_edge", HEIGHT, 8), 0)
    lc[ls.xk > EXTENT_KM[0] - width[:, None] * PIXEL / 1000.0] = NODATA
    return lc


def _blob(ls: Landscape, x: float, y: float, r: float, name: str, rough: float = 0.25,
          aspect: float = 1.0) -> np.ndarray:
    """Irregular roundish patch of radius ``r`` km at (x, y) km."""
    d = np.hypot(ls.xk - x, (ls.yk - y) * aspect) / r
    near = d < 1.0 + 3 * rough
    out = np.zeros((HEIGHT, WIDTH), dtype=bool)
    if near.any():
        out[near] = d[near] + rough * noise(name, 20, 2.4)[near] < 1.0
    return out


def _parks_and_lakes(ls: Landscape, lc: np.ndarray, year: int) -> None:
    """Urban parks (tree cover with some grass), lakes and ponds; a new park in 2023."""
    parks = [(20.2, 21.2, 0.45), (17.6, 23.4, 0.40), (12.6, 21.8, 0.75), (23.8, 24.8, 0.35),
             (20.3, 12.8, 1.05), (26.0, 19.5, 0.35), (16.0, 27.0, 0.45), (34.0, 22.0, 0.5)]
    for i, (x, y, r) in enumerate(parks):
        patch = _blob(ls, x, y, r, f"park_{i}")
        lc[patch] = TREE
        lc[patch & (ls.green_grass > 0.9)] = GRASS
    # Ring lake of the new district (like Longhu) with a park belt and a built-up island.
    lx, ly = 31.5, 14.2
    d = np.hypot(ls.xk - lx, (ls.yk - ly) * 1.15) + 0.08 * noise("longhu", 20, 2.4)
    lc[(d > 0.55) & (d < 1.45)] = TREE
    lc[(d > 0.65) & (d < 1.3)] = WATER
    lc[d <= 0.55] = BUILT
    lc[(d <= 0.55) & (ls.green_tree > 0.8)] = TREE
    # Lakes and ponds.
    lakes = [(13.0, 17.3, 0.55), (20.0, 12.6, 0.35), (17.7, 23.5, 0.15), (12.4, 21.5, 0.25),
             (26.2, 19.6, 0.12), (34.2, 22.2, 0.2)]
    for i, (x, y, r) in enumerate(lakes):
        lc[_blob(ls, x, y, r, f"lake_{i}", 0.2, 1.2)] = WATER
    # Fish ponds and reservoirs outside the city.
    ponds = [(33.0, 9.6, 0.16), (34.0, 9.8, 0.12), (8.0, 10.6, 0.18), (42.0, 27.0, 0.14),
             (9.5, 28.8, 0.3), (3.0, 29.0, 0.22)]
    for i, (x, y, r) in enumerate(ponds):
        lc[_blob(ls, x, y, r, f"pond_{i}", 0.2)] = WATER
    # New park opened between the dates: farmland in 2015, trees, lawns and a pond in 2023.
    nx, ny, nr = 25.8, 28.2, 0.9
    patch = _blob(ls, nx, ny, nr, "new_park", 0.2, 1.1)
    if year >= 2023:
        lc[patch] = TREE
        lc[patch & (ls.green_grass > 0.3)] = GRASS
        lc[_blob(ls, nx + 0.1, ny, 0.3, "new_park_pond", 0.2)] = WATER
    else:
        lc[patch] = CROP


# --------------------------------------------------------------------------------------------
# Units
# --------------------------------------------------------------------------------------------

#: County-level divisions: (code, name, seed x km, seed y km).
COUNTIES = (
    ("410108", "惠济区", 19.0, 7.0),
    ("410105", "金水区", 24.0, 17.0),
    ("410102", "中原区", 13.5, 20.0),
    ("410103", "二七区", 18.5, 27.5),
    ("410104", "管城回族区", 25.5, 25.0),
    ("410122", "中牟县", 39.0, 19.0),
    ("410184", "新郑市", 31.0, 33.5),
    ("410182", "荥阳市", 4.0, 14.0),
    ("410183", "新密市", 5.0, 31.0),
)

FIRST = list("金花龙丰庆祥兴文东西南北桐柏杏梨柳石沙白古新福安宁明德永和平康华阳岗桥")
SECOND = list("水湖园林庄岗寨店集桥河坡营台庙山塘沟洼楼头寺堤口铺")


def township_seeds() -> np.ndarray:
    """Dart-throwing seed points (km): denser in the city than in the countryside."""
    r = rng("township_seeds")
    pts: list[tuple[float, float]] = []
    for _ in range(30000):
        x, y = r.uniform(0, EXTENT_KM[0]), r.uniform(0, EXTENT_KM[1])
        d_city = min(np.hypot(x - 20.5, y - 22.0), np.hypot(x - 30.5, y - 17.5) + 2.0)
        spacing = 2.5 + 2.3 * min(d_city / 14.0, 1.0)
        if all((x - px) ** 2 + (y - py) ** 2 >= spacing**2 for px, py in pts):
            pts.append((x, y))
    return np.array(pts)


def _displace(coords: np.ndarray) -> np.ndarray:
    """Smooth, small (< 1 Lipschitz) displacement of map coordinates that vanishes on the
    extent border: bends the straight Voronoi edges without breaking the tiling."""
    xmin, ymax = ORIGIN_X, ORIGIN_Y
    xmax, ymin = ORIGIN_X + WIDTH * PIXEL, ORIGIN_Y - HEIGHT * PIXEL
    x, y = coords[:, 0], coords[:, 1]
    border = np.minimum.reduce([x - xmin, xmax - x, y - ymin, ymax - y])
    taper = np.clip(border / 1500.0, 0.0, 1.0)
    ph = rng("wiggle").uniform(0, 2 * np.pi, 8)
    k1, k2 = 2 * np.pi / 3800.0, 2 * np.pi / 900.0
    dx = (90 * np.sin(k1 * (0.8 * x + 0.6 * y) + ph[0]) + 60 * np.sin(k1 * (-0.5 * x + y) + ph[1])
          + 22 * np.sin(k2 * (x + 0.3 * y) + ph[2]) + 18 * np.sin(k2 * (0.4 * x - y) + ph[3]))
    dy = (90 * np.sin(k1 * (0.3 * x - 0.9 * y) + ph[4]) + 60 * np.sin(k1 * (x + 0.7 * y) + ph[5])
          + 22 * np.sin(k2 * (0.6 * x + y) + ph[6]) + 18 * np.sin(k2 * (x - 0.5 * y) + ph[7]))
    return coords + np.column_stack([dx, dy]) * taper[:, None]


def township_polygons() -> tuple[list[Polygon], np.ndarray]:
    """Wiggly Voronoi cells (EPSG:32649) tiling the raster extent, and their seeds (km)."""
    seeds = township_seeds()
    mx, my = km_to_map(seeds[:, 0], seeds[:, 1])
    extent = box(ORIGIN_X, ORIGIN_Y - HEIGHT * PIXEL, ORIGIN_X + WIDTH * PIXEL, ORIGIN_Y)
    cells = shapely.voronoi_polygons(MultiPoint(np.column_stack([mx, my])), extend_to=extent,
                                     ordered=True)
    polys: list[Polygon] = []
    for cell in shapely.get_parts(cells):
        g = shapely.segmentize(cell.intersection(extent), 150.0)
        g = shapely.transform(g, _displace)
        g = shapely.set_precision(g, 0.001)
        if not g.is_valid or g.geom_type != "Polygon":
            raise RuntimeError("township polygon became invalid; adjust the wiggle")
        polys.append(g)
    return polys, seeds


def build_units(lcs: dict[int, np.ndarray]) -> tuple[gpd.GeoDataFrame, dict[int, np.ndarray]]:
    """Township polygons with code, name and county (EPSG:4326), and per-unit built-up
    pixel counts per year (in the order of the returned rows)."""
    polys, seeds = township_polygons()
    n = len(polys)
    ids = rasterize([(p, i + 1) for i, p in enumerate(polys)], out_shape=(HEIGHT, WIDTH),
                    transform=TRANSFORM, fill=0, dtype="int32")
    if (ids == 0).any():
        raise RuntimeError("township polygons leave pixels uncovered")
    counts = {y: np.bincount(ids.ravel(), weights=(lc == BUILT).ravel(), minlength=n + 1)[1:]
              for y, lc in lcs.items()}
    total = np.bincount(ids.ravel(), minlength=n + 1)[1:]
    river = np.bincount(ids.ravel(), weights=np.isin(lcs[2023], (WATER, WETLAND)).ravel(),
                        minlength=n + 1)[1:]
    share = counts[2023] / total

    county_xy = np.array([(c[2], c[3]) for c in COUNTIES])
    county_of = np.argmin(((seeds[:, None, :] - county_xy[None, :, :]) ** 2).sum(-1), axis=1)
    kind = np.where(share >= 0.45, "街道", np.where(share >= 0.14, "镇", "乡"))
    centre_unit = int(ids[int(22.0 * 1000 / PIXEL), int(20.5 * 1000 / PIXEL)]) - 1
    longhu_unit = int(ids[int(14.2 * 1000 / PIXEL), int(31.5 * 1000 / PIXEL)]) - 1
    river_unit = int(np.argmax(river / total))
    kind[centre_unit] = "街道"
    if kind[river_unit] == "街道":
        kind[river_unit] = "乡"

    # Codes: county code + 0xx (sub-district), 1xx (town) or 2xx (township), numbered
    # north-west to south-east within the county.
    base = {"街道": 1, "镇": 101, "乡": 201}
    codes = [""] * n
    order = np.lexsort((seeds[:, 0], np.round(seeds[:, 1] / 3.0)))
    next_no: dict[tuple[int, str], int] = {}
    for i in order:
        key = (int(county_of[i]), str(kind[i]))
        no = next_no.get(key, base[key[1]])
        next_no[key] = no + 1
        codes[i] = f"{COUNTIES[key[0]][0]}{no:03d}"

    # Names: two syllables + suffix and a few fixed ones (hostile names for HTML escaping
    # belong in the tests, not in the sample a planner opens first).
    r = rng("township_names")
    pairs = [a + b for a in FIRST for b in SECOND if a != b]
    pairs = [pairs[j] for j in r.permutation(len(pairs))]
    fixed = {centre_unit: "金水", longhu_unit: "龙湖", river_unit: "黄河滩"}
    used = set(fixed.values())
    names = [""] * n
    for i in np.argsort(codes):
        if i in fixed:
            stem = fixed[int(i)]
        else:
            stem = next(p for p in pairs if p not in used)
            used.add(stem)
        names[i] = stem + str(kind[i])

    gdf = gpd.GeoDataFrame(
        {"code": codes, "name": names, "county": [COUNTIES[c][1] for c in county_of]},
        geometry=polys, crs=RASTER_CRS)
    gdf = gdf.to_crs(UNITS_CRS)
    order_rows = np.argsort(codes)
    gdf = gdf.iloc[order_rows].reset_index(drop=True)
    return gdf, {y: c[order_rows] for y, c in counts.items()}


# --------------------------------------------------------------------------------------------
# Energy statistics
# --------------------------------------------------------------------------------------------

def energy_rows(codes: Sequence[str], built_px: np.ndarray, year: int) -> list[list[str]]:
    """Energy consumption of each unit, proportional to its built-up area with noise."""
    ha = built_px * PIXEL * PIXEL / 10_000.0
    unit_factor = np.exp(0.18 * rng("energy_unit").standard_normal(len(codes))).clip(0.7, 1.4)
    r = rng(f"energy_{year}")
    year_noise = np.exp(0.06 * r.standard_normal(len(codes)))
    carbon = ha * ENERGY_INTENSITY[year] * unit_factor * year_noise
    rows = []
    for code, c_total in zip(codes, carbon, strict=True):
        mix = np.array(list(FUEL_MIX[year].values()))
        mix = mix * np.exp(0.2 * r.standard_normal(mix.size))
        mix /= mix.sum()
        row = [code]
        for (fuel, factor), share in zip(FUEL_CARBON.items(), mix, strict=True):
            value = c_total * share / factor
            row.append(f"{value:.0f}" if fuel == "heat_gj" else f"{value:.1f}")
        rows.append(row)
    return rows


#: SYNTHETIC GDP per ha of built-up land in 2015 relative to 2023 (about 6 % a year), before
#: the per-unit noise of the growth.
GDP_2015_FACTOR = 0.62


def write_statistics(path: Path, codes: Sequence[str], built_px: np.ndarray,
                     year: int = 2023) -> None:
    """SYNTHETIC GDP (10^4 CNY, 万元) and population per township: a base plus an amount per
    ha of built-up land, with lognormal noise per unit (for the zoning indicators ECC, emission
    intensity). For 2015 the amount per ha is :data:`GDP_2015_FACTOR` of 2023's times a
    lognormal growth noise per unit (for the Tapio decoupling state of the change demo).
    Not real statistics."""
    ha = built_px * PIXEL * PIXEL / 10_000.0
    r = rng("statistics")
    noise = np.exp(0.35 * r.standard_normal(len(codes)))
    pop = 2000.0 + ha * 60.0 * np.exp(0.25 * r.standard_normal(len(codes)))
    if year == 2015:
        noise = noise * GDP_2015_FACTOR * np.exp(
            0.2 * rng("statistics_2015").standard_normal(len(codes)))
    gdp = 800.0 + ha * 1500.0 * noise
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["unit_id", "gdp_10k_cny", "population", "source"])
        for code, g, p in zip(codes, gdp, pop, strict=True):
            w.writerow([code, f"{g:.0f}", f"{p:.0f}", "SYNTHETIC (make_sample_tiles.py)"])


def write_energy(path: Path, rows: list[list[str]]) -> None:
    """Write an energy table (UTF-8, LF line ends)."""
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["unit_id", *FUEL_CARBON])
        w.writerows(rows)


# --------------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------------

def write_landcover(path: Path, lc: np.ndarray, year: int) -> None:
    """Write a tiled, DEFLATE-compressed GeoTIFF with colour table and provenance tags."""
    profile = {
        "driver": "GTiff", "width": WIDTH, "height": HEIGHT, "count": 1, "dtype": "uint8",
        "crs": RASTER_CRS, "transform": TRANSFORM, "nodata": NODATA, "tiled": True,
        "blockxsize": 256, "blockysize": 256, "compress": "deflate", "zlevel": 9,
        "interleave": "band",
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(lc, 1)
        dst.update_tags(TIFFTAG_IMAGEDESCRIPTION=DESCRIPTION, SYNTHETIC="yes",
                        SOURCE=DESCRIPTION, GENERATOR="data/sample_tiles/make_sample_tiles.py",
                        SEED=str(SEED), YEAR=str(year), LEGEND=LEGEND_TEXT)
        dst.set_band_description(1, f"land cover {year} (ESA WorldCover codes, SYNTHETIC)")
        cmap = {i: (0, 0, 0, 0) for i in range(256)}
        for code, rgb in WORLDCOVER_COLOURS.items():
            cmap[code] = (*rgb, 255)
        dst.write_colormap(1, cmap)


# Carbon pools per ESA WorldCover code for the change demo, Mg C/ha, in the InVEST
# Carbon format. MADE UP for the synthetic sample: round numbers of a plausible order of
# magnitude for a temperate North-China plain (soil carries most of the carbon; built-up
# land keeps some soil carbon; water and snow none). They are not taken from any
# publication; use measured or published pools (e.g. IPCC 2006 Guidelines vol. 4 defaults,
# regional soil surveys) for real work.
POOLS_ROWS = [
    ("10", "Tree cover", "40", "10", "90", "3"),
    ("20", "Shrubland", "15", "6", "70", "1"),
    ("30", "Grassland", "3", "5", "80", "0.5"),
    ("40", "Cropland", "5", "1", "70", "0"),
    ("50", "Built-up", "1", "0", "30", "0"),
    ("60", "Bare / sparse vegetation", "0.5", "0", "15", "0"),
    ("70", "Snow and ice", "0", "0", "0", "0"),
    ("80", "Permanent water bodies", "0", "0", "0", "0"),
    ("90", "Herbaceous wetland", "5", "5", "150", "1"),
    ("95", "Mangroves", "60", "30", "250", "5"),
    ("100", "Moss and lichen", "1", "1", "50", "0"),
]

DEMO_CHANGE_TOML = """\
# landcarbon change/scenario demo: SYNTHETIC Zhengzhou-like sample (not real data)
#   landcarbon change demo_change.toml -o out_change
#   landcarbon scenario demo_change.toml -o out_scenario
title = "示例区（合成数据）2015-2023 年国土空间碳收支变化"
language = "zh"

[landcover]
path = "landcover_2023.tif"
legend = "esa_worldcover"

[units]
path = "townships.gpkg"
layer = "townships"
id_field = "code"
name_field = "name"

[coefficients]
set = "lai2010"

[construction]
method = "energy"
energy_table = "energy_2023.csv"
grid_factor = "central_china_2022"   # 华中 grid 2022, 0.5395 kg CO2/kWh (MEE / NBS)

[space_type_rule]
overrides = [{ space_type = "construction", min_share = 0.4 }]

[thresholds]
method = "pathway"   # each date is judged against its year's limit

[thresholds.pathway]   # absolute limits on the target pathway (docs/thresholds.md)
base_year = 2020
base_tc_per_ha = { agricultural = 8.0, construction = 47.0, ecological = 0.0 }
peak_year = 2030
neutrality_year = 2060
intensity_reduction_pct = 18.0   # CO2 per GDP, 2020-2025 (14th five-year plan)
intensity_target_year = 2025
gdp_growth_pct = 6.0
source = "SYNTHETIC 2020 densities; national targets: CO2/GDP -18 % 2020-25, peak, neutrality"

[change]
resample = "error"

[[change.dates]]
year = 2015
landcover = "landcover_2015.tif"
energy_table = "energy_2015.csv"
statistics = "statistics_2015.csv"      # GDP of the date: intensity and Tapio decoupling

[[change.dates]]
year = 2023
landcover = "landcover_2023.tif"
energy_table = "energy_2023.csv"
statistics = "statistics_2023.csv"

[change.stocks]
pools = "carbon_pools_esa_worldcover.csv"   # made-up pools, see make_sample_tiles.py
price_per_tc = 300.0                          # illustrative price, CNY per t C
discount_rate_pct = 5.0
price_change_pct = 2.0

[change.monitoring]
sink_loss_share = 0.05
conversion_min_ha = 5.0

[change.markov]
target_years = [2030, 2060]
multipliers = [{ from_land_class = "cropland", to_land_class = "construction", factor = 0.3 }]

[[change.edits]]
scenario = "construction_reduction"
type = "reduce_construction"
area_ha = 200.0
to_land_class = "forest"

[[change.edits]]
scenario = "wetland_restoration"
type = "restore_wetland"
distance_m = 90.0
"""


def write_change_demo(out: Path) -> None:
    """Write ``carbon_pools_esa_worldcover.csv`` and ``demo_change.toml`` into ``out``."""
    with open(out / "carbon_pools_esa_worldcover.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["lucode", "LULC_Name", "C_above", "C_below", "C_soil", "C_dead", "note"])
        for row in POOLS_ROWS:
            w.writerow([*row, "made-up illustrative value (synthetic sample), Mg C/ha"])
    (out / "demo_change.toml").write_text(DEMO_CHANGE_TOML, encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    """Generate all sample files into OUTDIR (default: the folder of this script)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) > 1 or (args and args[0] in ("-h", "--help")):
        print(__doc__)
        return 0 if args and args[0] in ("-h", "--help") else 2
    out = Path(args[0]) if args else Path(__file__).resolve().parent
    out.mkdir(parents=True, exist_ok=True)

    ls = Landscape()
    lcs = {year: build_landcover(ls, year) for year in YEARS}
    for year, lc in lcs.items():
        write_landcover(out / f"landcover_{year}.tif", lc, year)

    units, built = build_units(lcs)
    gpkg = out / "townships.gpkg"
    if gpkg.exists():
        gpkg.unlink()
    units.to_file(gpkg, layer="townships", driver="GPKG")
    for year in YEARS:
        write_energy(out / f"energy_{year}.csv", energy_rows(list(units["code"]),
                                                             built[year], year))
    (out / "demo.toml").write_text(DEMO_TOML, encoding="utf-8")
    write_change_demo(out)
    for year in YEARS:
        write_statistics(out / f"statistics_{year}.csv", list(units["code"]), built[year],
                         year)
    (out / "demo_zoning.toml").write_text(DEMO_TOML + ZONING_TOML, encoding="utf-8")

    b15, b23 = (int((lcs[y] == BUILT).sum()) for y in YEARS)
    print(f"wrote {out}: {len(units)} townships; built-up {b15 * 0.09:.0f} ha (2015) -> "
          f"{b23 * 0.09:.0f} ha (2023), {100 * (b23 / b15 - 1):+.1f} %")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
