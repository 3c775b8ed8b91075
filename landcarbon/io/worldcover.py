"""ESA WorldCover 10 m tiles: which tiles cover an area, and reading or saving only the
window that is needed, straight from the public Cloud-Optimized GeoTIFFs (HTTP range
requests through GDAL ``/vsicurl/``; nothing else is downloaded).

Tiles are 3 x 3 degrees, named by their south-west corner, e.g.
``ESA_WorldCover_10m_2021_v200_N33E111_Map.tif`` (2020 = v100, 2021 = v200), at
``https://esa-worldcover.s3.eu-central-1.amazonaws.com/v200/2021/map/<name>``. Tiles that are
all sea do not exist and are skipped.
"""

from __future__ import annotations

import logging
import math
import os
from pathlib import Path
from typing import Any

import xarray as xr

from landcarbon.exceptions import InputError

__all__ = ["WORLDCOVER_URL", "read_worldcover", "save_worldcover", "units_bounds",
           "worldcover_tiles", "worldcover_urls"]

log = logging.getLogger(__name__)

#: Public bucket of the ESA WorldCover maps.
WORLDCOVER_URL = "https://esa-worldcover.s3.eu-central-1.amazonaws.com"
_VERSIONS = {2020: "v100", 2021: "v200"}


def _version(year: int) -> str:
    if year not in _VERSIONS:
        raise InputError(f"ESA WorldCover exists for {', '.join(map(str, _VERSIONS))}, not "
                         f"{year}.")
    return _VERSIONS[year]


def worldcover_tiles(bounds: tuple[float, float, float, float], year: int = 2021
                     ) -> list[str]:
    """File names of the tiles covering ``bounds`` (lon/lat: west, south, east, north)."""
    west, south, east, north = bounds
    if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
        raise InputError(f"Bounds {bounds} are not (west, south, east, north) in degrees.")
    v = _version(year)
    names = []
    eps = 1e-9
    for lat in range(math.floor(south / 3) * 3, math.ceil(north / 3 - eps) * 3, 3):
        for lon in range(math.floor(west / 3) * 3, math.ceil(east / 3 - eps) * 3, 3):
            ns = f"{'N' if lat >= 0 else 'S'}{abs(lat):02d}"
            ew = f"{'E' if lon >= 0 else 'W'}{abs(lon):03d}"
            names.append(f"ESA_WorldCover_10m_{year}_{v}_{ns}{ew}_Map.tif")
    return names


def worldcover_urls(bounds: tuple[float, float, float, float], year: int = 2021,
                    base_url: str = WORLDCOVER_URL) -> list[str]:
    """URLs of the tiles covering ``bounds`` (see :func:`worldcover_tiles`)."""
    v = _version(year)
    return [f"{base_url.rstrip('/')}/{v}/{year}/map/{n}"
            for n in worldcover_tiles(bounds, year)]


def units_bounds(units: Any, pad_deg: float = 0.0) -> tuple[float, float, float, float]:
    """Lon/lat bounds of a units GeoDataFrame or vector file, padded by ``pad_deg``."""
    if isinstance(units, str | os.PathLike):
        from landcarbon.io.vector import read_vector

        units = read_vector(units)
    w, s, e, n = units.to_crs(4326).total_bounds
    return (max(-180.0, w - pad_deg), max(-90.0, s - pad_deg), min(180.0, e + pad_deg),
            min(90.0, n + pad_deg))


def _windows(bounds: tuple[float, float, float, float], year: int, base_url: str,
             folder: str | None) -> list[str]:
    """A window VRT for every existing tile that overlaps ``bounds``."""
    import rasterio

    from landcarbon.io.windows import window_of_bounds, window_vrt

    vrts = []
    for url in worldcover_urls(bounds, year, base_url):
        try:
            window = window_of_bounds(url, bounds, "EPSG:4326")
        except rasterio.errors.RasterioIOError:
            log.info("no WorldCover tile %s (sea or outside the product)", url)
            continue
        if window is not None:
            vrts.append(window_vrt(url, window, folder))
    if not vrts:
        raise InputError(f"No ESA WorldCover {year} tile covers {bounds} at {base_url} (all "
                         "sea, or the address is unreachable). Check the bounds (lon/lat) and "
                         "the network.")
    return vrts


def read_worldcover(bounds: tuple[float, float, float, float], *, year: int = 2021,
                    base_url: str = WORLDCOVER_URL, chunks: int | str | None = "auto"
                    ) -> xr.DataArray:
    """WorldCover codes of ``bounds`` (lon/lat) as a lazy DataArray (mosaic of the windows
    of the tiles it spans). Only the blocks that a computation touches are fetched."""
    from landcarbon.io.raster import open_landcover

    return open_landcover(_windows(bounds, year, base_url, None), chunks=chunks)


def save_worldcover(bounds: tuple[float, float, float, float], out: str | os.PathLike[str],
                    *, year: int = 2021, base_url: str = WORLDCOVER_URL) -> Path:
    """Save the WorldCover window of ``bounds`` (lon/lat) as a local Cloud-Optimized GeoTIFF
    (mosaicked when it spans tiles); only the window's blocks are transferred."""
    import rasterio.shutil

    from landcarbon.io.mosaic import mosaic_vrt

    vrts = _windows(bounds, year, base_url, None)
    source = vrts[0] if len(vrts) == 1 else mosaic_vrt(vrts)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    rasterio.shutil.copy(source, out, driver="COG", compress="DEFLATE", BIGTIFF="IF_SAFER")
    return out
