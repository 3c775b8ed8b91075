"""The core pipeline on real public data none of us made (../shared/data; skipped when absent).

Each check compares against an independent figure: exactextract run directly, pyproj's
geodesic polygon areas, the raw pixel counts times the file's own pixel size, or an official
area published with the boundary.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from click.testing import CliRunner
from conftest import shared
from shapely.geometry import box

import landcarbon as lc
from landcarbon.accounting.classification import check_codes, code_counts
from landcarbon.cli import main
from landcarbon.engine.areas import geodesic_areas_m2

pytestmark = pytest.mark.realdata


def _grid(bounds: tuple[float, float, float, float], crs: object, n: int
          ) -> gpd.GeoDataFrame:
    xmin, ymin, xmax, ymax = bounds
    xs, ys = np.linspace(xmin, xmax, n + 1), np.linspace(ymin, ymax, n + 1)
    cells = [box(xs[i], ys[j], xs[i + 1], ys[j + 1]) for i in range(n) for j in range(n)]
    ids = [f"c{k:03d}" for k in range(len(cells))]
    return gpd.GeoDataFrame({"unit_id": ids, "unit_name": ids}, geometry=cells, crs=crs)


def test_corine_lausanne_matches_exactextract_and_official_area() -> None:
    from exactextract import exact_extract

    tif = shared("corine_lausanne", "ls100_12.tif")
    boundary = gpd.read_file(shared("corine_lausanne", "gmb-lausanne.gpkg"))
    units = boundary.assign(unit_id="5586", unit_name=boundary["GMDNAME"])
    legend = lc.load_legend("corine")
    codes = lc.open_landcover(tif)
    check_codes(code_counts(codes), legend)  # every CORINE grid code is mapped
    areas = lc.class_areas(lc.classify(codes, legend), units)
    # independent: exactextract's covered cell count x the file's own cell size (99.99 m)
    with rasterio.open(tif) as src:
        cell_ha = abs(src.transform.a * src.transform.e) / 10_000
    direct = exact_extract(str(tif), boundary, ["count"], output="pandas")["count"][0]
    assert areas["area_ha"].sum() == pytest.approx(direct * cell_ha, rel=1e-9)
    # the municipality's official area (AREA_HA = 4147 ha) within 0.5 % (raster edge)
    assert areas["area_ha"].sum() == pytest.approx(boundary["AREA_HA"].iloc[0], rel=5e-3)
    by_class = areas.groupby("land_class")["area_ha"].sum()
    assert by_class.idxmax() == "construction"  # a city
    assert by_class["water"] > 0  # Lake Geneva shore


def test_worldcover_geographic_grid_areas_equal_geodesic_polygon_areas() -> None:
    tif = shared("worldcover", "worldcover_2021_v200_principe_crop.tif")
    codes = lc.open_landcover(tif)
    assert codes.rio.crs.is_geographic
    units = _grid(codes.rio.bounds(), codes.rio.crs, 4)
    areas = lc.class_areas(lc.classify(codes, lc.load_legend("esa_worldcover")), units)
    covered = areas.groupby("unit_id")["area_ha"].sum()
    geodesic = pd.Series(geodesic_areas_m2(units.geometry, units.crs) / 10_000,
                         index=units["unit_id"])
    nodata = (codes == 0).groupby_bins("y", 4).sum().sum()  # the crop has no nodata
    assert int(nodata) == 0
    # geodesic edges bow slightly poleward of the parallels that bound the cells: 1e-6
    np.testing.assert_allclose(covered.reindex(geodesic.index), geodesic, rtol=1e-6)
    # not square degrees: a 8.33e-5 degree pixel near the equator is ~86 m2
    cell_deg2 = abs(codes.rio.resolution()[0] * codes.rio.resolution()[1])
    assert covered.sum() > 1e8 * cell_deg2 * codes.size / 1e4


def test_nlcd_non_square_pixels_conserve_area() -> None:
    tif = shared("nlcd_zion", "nlcd2011.tif")
    codes = lc.open_landcover(tif)
    legend = lc.load_legend("nlcd")
    counts = code_counts(codes)
    check_codes(counts, legend)
    units = _grid(codes.rio.bounds(), codes.rio.crs, 5)
    areas = lc.class_areas(lc.classify(codes, legend), units)
    with rasterio.open(tif) as src:
        cell_m2 = abs(src.transform.a * src.transform.e)
    assert src.transform.a != -src.transform.e  # 31.53 x 31.52 m
    assert areas["area_ha"].sum() == pytest.approx(counts.sum() * cell_m2 / 1e4, rel=1e-9)


WILLAMETTE_LEGEND = """code,land_class,space_type,name_en
1,construction,construction,Residential 0-4 units/acre
2,construction,construction,Residential 4-9
3,construction,construction,Residential 9-16
4,construction,construction,Residential >16
6,construction,construction,Commercial
7,construction,construction,Commercial/Industrial
8,construction,construction,Industrial
11,construction,construction,Urban non-vegetated
16,rural_settlement,construction,Rural structures
18,construction,construction,Railroad
20,construction,construction,Secondary roads
21,construction,construction,Light duty roads
24,unused,ecological,Rural non-vegetated unknown
29,water,ecological,Main channel
32,water,ecological,Stream orders 5-7
33,water,ecological,Permanent lentic water
39,forest,ecological,Topographic shadow
49,forest,ecological,Urban tree overstory
51,forest,ecological,Upland forest open
52,forest,ecological,Upland forest semi-closed mixed
53,forest,ecological,Forest closed hardwood
54,forest,ecological,Forest closed mixed
55,forest,ecological,Upland forest semi-closed conifer
56,forest,ecological,Conifers 0-20 yrs
57,forest,ecological,Conifer 21-40 yrs
58,forest,ecological,Conifer 41-60 yrs
59,forest,ecological,Conifer 61-80 yrs
60,forest,ecological,Conifer 81-200 yrs
61,forest,ecological,Conifer >200 yrs
62,forest,ecological,Upland forest semi-closed hardwood
66,orchard,agricultural,Hybrid poplar
67,cropland,agricultural,Grass seed rotation
68,cropland,agricultural,Irrigated annual crop rotation
71,cropland,agricultural,Grains
72,orchard,agricultural,Nursery
73,orchard,agricultural,Berries & vineyards
74,cropland,agricultural,Double cropping
75,cropland,agricultural,Hops
76,cropland,agricultural,Mint
78,cropland,agricultural,Sugar beet seed
79,cropland,agricultural,Row crop
80,grassland,ecological,Grass
81,grassland,ecological,Burned grass
82,cropland,agricultural,Field crop
83,cropland,agricultural,Hayfield
84,cropland,agricultural,Late field crop
85,grassland,agricultural,Pasture
86,grassland,ecological,Natural grassland
87,shrub,ecological,Natural shrub
88,cropland,agricultural,Bare/fallow
89,wetland,ecological,Flooded/marsh
90,orchard,agricultural,Irrigated perennial
91,grassland,construction,Turfgrass
92,orchard,agricultural,Orchard
93,orchard,agricultural,Christmas trees
95,forest,ecological,Conifer woodlot
"""


def test_willamette_custom_legend_run_from_the_cli(tmp_path: Path) -> None:
    lulc = shared("willamette", "lulc_samp_cur.tif")
    subws = shared("willamette", "subwatersheds.shp")
    (tmp_path / "willamette_legend.csv").write_text(WILLAMETTE_LEGEND, encoding="utf-8")
    config = tmp_path / "willamette.toml"
    config.write_text(f"""
title = "Willamette (InVEST sample)"
[landcover]
path = "{lulc}"
legend = "willamette_legend.csv"
[units]
path = "{subws}"
id_field = "subws_id"
[construction]
method = "intensity"
intensity_tc_per_ha = 5.0
[thresholds]
preset = "zhengzhou_example"
[output]
map_tiles = ""
""", encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["run", str(config), "-o", str(out)])
    assert result.exit_code == 0, result.output
    units = pd.read_csv(out / "units.csv", dtype={"unit_id": str})
    assert len(units) == 9
    # independent: pixels of each class inside the subwatersheds, counted with rasterio
    from rasterio.features import geometry_mask

    with rasterio.open(lulc) as src:
        data = src.read(1)
        shapes = gpd.read_file(subws).to_crs(src.crs).geometry
        inside = ~geometry_mask(shapes, data.shape, src.transform, all_touched=False)
    valid = inside & (data != 255)
    # exact partial pixels vs pixel centres: totals agree to the boundary effect (< 0.5 %)
    assert units["covered_ha"].sum() == pytest.approx(valid.sum() * 0.09, rel=5e-3)
    # every flux follows the sign convention
    assert (units["emission_tc"] >= 0).all() and (units["sequestration_tc"] >= 0).all()
    np.testing.assert_allclose(units["net_tc"], units["emission_tc"] - units["sequestration_tc"],
                               atol=1e-6)


def test_willamette_unmapped_code_is_listed_with_its_pixel_count(tmp_path: Path) -> None:
    lulc = shared("willamette", "lulc_samp_cur.tif")
    legend_csv = tmp_path / "partial.csv"
    legend_csv.write_text("\n".join(line for line in WILLAMETTE_LEGEND.splitlines()
                                     if not line.startswith("95,")), encoding="utf-8")
    codes = lc.open_landcover(lulc)
    counts = code_counts(codes)
    with pytest.raises(lc.UnmappedCodesError, match=rf"95 \({counts[95]:,} px\)") as info:
        check_codes(counts, lc.load_legend(legend_csv))
    assert info.value.counts == {95: int(counts[95])}
