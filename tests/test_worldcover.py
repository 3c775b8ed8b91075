"""Reading windows of remote COGs over HTTP range requests (a local range-capable server)."""

from __future__ import annotations

import http.server
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import rasterio
import rasterio.shutil
from rasterio.transform import from_origin

from landcarbon.exceptions import InputError
from landcarbon.io.raster import open_landcover
from landcarbon.io.worldcover import (
    read_worldcover,
    save_worldcover,
    units_bounds,
    worldcover_tiles,
    worldcover_urls,
)

N = 3000  # pixels per side of the fake 3 x 3 degree tiles (0.001 deg)


class _RangeHandler(http.server.SimpleHTTPRequestHandler):
    """Static files with single-range ``Range: bytes=a-b`` support; counts body bytes."""

    sent: list[int]

    def log_message(self, *args: object) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        path = Path(self.translate_path(self.path))
        match = re.match(r"bytes=(\d+)-(\d*)", self.headers.get("Range", ""))
        if not path.is_file() or not match:
            super().do_GET()
            if path.is_file():
                self.sent.append(path.stat().st_size)
            return
        size = path.stat().st_size
        start = int(match.group(1))
        end = min(int(match.group(2)) if match.group(2) else size - 1, size - 1)
        with open(path, "rb") as fh:
            fh.seek(start)
            body = fh.read(end - start + 1)
        self.send_response(206)
        self.send_header("Content-Type", "image/tiff")
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.sent.append(len(body))


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path, list[int]]]:
    root = tmp_path / "www"
    folder = root / "v200" / "2021" / "map"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name, west, north in (("N33E111", 111, 36), ("N33E114", 114, 36)):
        data = rng.choice(np.array([10, 20, 30, 40, 50, 80], np.uint8), (N, N))
        tmp = tmp_path / f"{name}.tif"
        with rasterio.open(tmp, "w", driver="GTiff", width=N, height=N, count=1,
                           dtype="uint8", crs="EPSG:4326", nodata=0,
                           transform=from_origin(west, north, 3 / N, 3 / N)) as dst:
            dst.write(data, 1)
        rasterio.shutil.copy(tmp, folder / f"ESA_WorldCover_10m_2021_v200_{name}_Map.tif",
                             driver="COG", compress="DEFLATE", blocksize=256)
    sent: list[int] = []
    handler = type("H", (_RangeHandler,), {"sent": sent})

    def factory(*args: object, **kw: object) -> _RangeHandler:
        return handler(*args, directory=str(root), **kw)

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), factory)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    with rasterio.Env(GDAL_DISABLE_READDIR_ON_OPEN="EMPTY_DIR", VSI_CACHE=False,
                      CPL_VSIL_CURL_NON_CACHED="/vsicurl/http://127.0.0.1"):
        yield f"http://127.0.0.1:{httpd.server_address[1]}", folder, sent
    httpd.shutdown()


def test_tile_names_and_urls() -> None:
    assert worldcover_tiles((113.2, 34.3, 114.2, 34.9)) == [
        "ESA_WorldCover_10m_2021_v200_N33E111_Map.tif",
        "ESA_WorldCover_10m_2021_v200_N33E114_Map.tif"]
    assert worldcover_tiles((-0.5, -1.0, 0.5, 0.5), 2020) == [
        "ESA_WorldCover_10m_2020_v100_S03W003_Map.tif",
        "ESA_WorldCover_10m_2020_v100_S03E000_Map.tif",
        "ESA_WorldCover_10m_2020_v100_N00W003_Map.tif",
        "ESA_WorldCover_10m_2020_v100_N00E000_Map.tif"]
    assert worldcover_tiles((6.0, 0.0, 9.0, 3.0)) == [
        "ESA_WorldCover_10m_2021_v200_N00E006_Map.tif"]
    assert worldcover_urls((6.5, 0.1, 6.6, 0.2))[0] == (
        "https://esa-worldcover.s3.eu-central-1.amazonaws.com/v200/2021/map/"
        "ESA_WorldCover_10m_2021_v200_N00E006_Map.tif")
    with pytest.raises(InputError, match="not 2019"):
        worldcover_tiles((6.5, 0.1, 6.6, 0.2), 2019)
    with pytest.raises(InputError, match="west, south, east, north"):
        worldcover_tiles((6.6, 0.1, 6.5, 0.2))


def test_window_read_over_http_transfers_a_fraction(server, tmp_path: Path) -> None:
    url, folder, sent = server
    bounds = (112.0, 34.5, 112.2, 34.6)  # 200 x 100 px of the western tile
    da = read_worldcover(bounds, base_url=url, chunks=None)
    assert da.shape == (100, 200)
    local = open_landcover(folder / "ESA_WorldCover_10m_2021_v200_N33E111_Map.tif")
    np.testing.assert_array_equal(da.values, local.values[1400:1500, 1000:1200])
    tile_bytes = (folder / "ESA_WorldCover_10m_2021_v200_N33E111_Map.tif").stat().st_size
    assert 0 < sum(sent) < 0.1 * tile_bytes  # only the header and a few 256 px blocks


def test_save_window_across_two_tiles(server, tmp_path: Path) -> None:
    url, folder, sent = server
    out = save_worldcover((113.9, 33.95, 114.1, 34.0), tmp_path / "cut.tif", base_url=url)
    with rasterio.open(out) as src:
        assert (src.width, src.height) == (200, 50)
        assert src.transform.c == pytest.approx(113.9)
        data = src.read(1)
    west = open_landcover(folder / "ESA_WorldCover_10m_2021_v200_N33E111_Map.tif").values
    east = open_landcover(folder / "ESA_WorldCover_10m_2021_v200_N33E114_Map.tif").values
    np.testing.assert_array_equal(data[:, :100], west[2000:2050, 2900:3000])
    np.testing.assert_array_equal(data[:, 100:], east[2000:2050, 0:100])
    total = sum(p.stat().st_size for p in folder.iterdir())
    assert sum(sent) < 0.1 * total


def test_missing_tiles_and_units_bounds(server, tmp_path: Path) -> None:
    url, _, _ = server
    with pytest.raises(InputError, match="No ESA WorldCover 2021 tile covers"):
        read_worldcover((10.0, 10.0, 10.1, 10.1), base_url=url)
    import geopandas as gpd
    from shapely.geometry import box

    units = gpd.GeoDataFrame(geometry=[box(500000, 3800000, 510000, 3810000)], crs=32649)
    w, s, e, n = units_bounds(units)
    assert 110.9 < w < e < 111.2 and 34.3 < s < n < 34.5
