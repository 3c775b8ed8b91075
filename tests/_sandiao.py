"""A small synthetic third-survey (三调) style parcel layer (DLTB) for the tests.

Everything here is invented: no real survey data. The layer imitates the attribute table of
the land-use database's DLTB layer: BSM, DLBM (地类编码, text with leading zeros), DLMC (地类名称),
ZLDWDM / ZLDWMC (坐落单位, the village), TBMJ (图斑面积, m2, two decimals), in the CGCS2000
3-degree Gauss-Krüger zone 38 (EPSG:4526, central meridian 114 E, false easting with the zone
prefix 38 500 000 m; Zhengzhou lies at 113.6 E in this zone).

Parcels are 200 m x 100 m rectangles in the projection (20,000 m2 on the map):

* villages A and B (parcels 1-8) straddle the central meridian, where the Gauss-Krüger scale
  factor is 1 to 1e-8: their ellipsoidal areas are 20,000.00 m2;
* village C (parcels 9-10) lies 40 km west of it (scale factor 1 + 40^2 / (2 * 6371^2) = 1 +
  2.0e-5): each parcel's ellipsoidal area is about 0.79 m2 less than its map area.

TBMJ is the ellipsoidal area computed here independently of landcarbon (pyproj's geodesic
polygon area on GRS 80, the CGCS2000 ellipsoid, of the ring densified every 5 m), rounded to
0.01 m2, except for the deliberate discrepancies of :data:`TBMJ_EDITS` (m2 added to TBMJ).
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from pyproj import Geod, Transformer
from shapely.geometry import box

CRS = "EPSG:4526"
#: south-west corner of villages A/B: 400 m west of the central meridian, ~34.75 N
X0, Y0 = 38_499_600.0, 3_846_000.0
#: south-west corner of village C: 40 km west of the central meridian
XC = 38_460_000.0
W, H = 200.0, 100.0

#: (DLBM, DLMC, village) of parcels 1-10 (feature order = row numbers)
PARCELS = [
    ("0101", "水田", "A"), ("0103", "旱地", "A"), ("0301", "乔木林地", "A"),
    ("0702", "农村宅基地", "A"),
    ("1101", "河流水面", "B"), ("0201K", "可调整果园", "B"), ("05H1", "商业服务业设施用地", "B"),
    ("1006", "农村道路", "B"),
    ("0404", "其他草地", "C"), ("1104A", "养殖坑塘", "C"),
]
VILLAGES = {"A": ("4101220010010000000", "甲村"), "B": ("4101220010020000000", "乙村"),
            "C": ("4101220020010000000", "丙村")}
#: deliberate survey discrepancies: row -> m2 added to the parcel's TBMJ
TBMJ_EDITS = {3: 150.0, 6: -40.0}


def parcel_boxes() -> list[shapely.Polygon]:
    """The ten rectangles: A (south row) and B (north row), four each across the central
    meridian; C apart, 40 km west."""
    out = [box(X0 + (i % 4) * W, Y0 + (i // 4) * H, X0 + (i % 4 + 1) * W,
               Y0 + (i // 4 + 1) * H) for i in range(8)]
    out += [box(XC + i * W, Y0, XC + (i + 1) * W, Y0 + H) for i in range(2)]
    return out


def ellipsoidal_m2(geom: shapely.Polygon, crs: str = CRS) -> float:
    """Area (m2) on GRS 80 of ``geom`` (edges straight in ``crs``), densified every 5 m."""
    dense = shapely.segmentize(geom, 5.0)
    lon, lat = Transformer.from_crs(crs, "EPSG:4490", always_xy=True).transform(
        *np.asarray(dense.exterior.coords).T)
    return abs(Geod(ellps="GRS80").polygon_area_perimeter(lon, lat)[0])


def true_tbmj() -> list[float]:
    """The parcels' ellipsoidal areas rounded to 0.01 m2 (TBMJ before the edits)."""
    return [round(ellipsoidal_m2(g), 2) for g in parcel_boxes()]


def dltb(crs: str = CRS) -> gpd.GeoDataFrame:
    """The DLTB layer (in ``crs``: reprojected with densified edges when not EPSG:4526)."""
    tbmj = true_tbmj()
    for row, delta in TBMJ_EDITS.items():
        tbmj[row - 1] = round(tbmj[row - 1] + delta, 2)
    gdf = gpd.GeoDataFrame({
        "BSM": np.arange(1, 11, dtype=np.int64),
        "DLBM": [c for c, _, _ in PARCELS],
        "DLMC": [n for _, n, _ in PARCELS],
        "ZLDWDM": [VILLAGES[v][0] for _, _, v in PARCELS],
        "ZLDWMC": [VILLAGES[v][1] for _, _, v in PARCELS],
        "TBMJ": tbmj,
    }, geometry=parcel_boxes(), crs=CRS)
    if crs != CRS:
        gdf = gdf.set_geometry(shapely.segmentize(gdf.geometry.to_numpy(), 5.0)).to_crs(crs)
    return gdf


def write_dltb(path: Path, crs: str = CRS, **columns: object) -> Path:
    """Write :func:`dltb` as layer ``DLTB`` of a GeoPackage (``columns`` replace fields)."""
    gdf = dltb(crs)
    for name, values in columns.items():
        gdf[name] = values
    gdf.to_file(path, layer="DLTB", driver="GPKG")
    return path
