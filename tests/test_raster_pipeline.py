"""Classification, exact zonal areas and flux rasters on tiny real GeoTIFFs."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
from affine import Affine
from conftest import GRID4, write_tif
from shapely.geometry import box

import landcarbon as lc
from landcarbon.accounting.classification import (
    check_codes,
    code_counts,
    land_class_raster,
    space_type_raster,
)
from landcarbon.accounting.flux import flux_density
from landcarbon.accounting.legends import land_classes
from landcarbon.engine.areas import geodesic_areas_m2
from landcarbon.exceptions import InputError, UnmappedCodesError


def _areas_by(areas, unit: str) -> dict[str, float]:
    sub = areas[areas["unit_id"] == unit]
    return sub.groupby("land_class")["area_ha"].sum().to_dict()


@pytest.mark.parametrize("chunks", [None, 2])
def test_classify_and_exact_edge_areas(grid4_tif: Path, halves_gpkg: Path, chunks) -> None:
    codes = lc.open_landcover(grid4_tif, chunks=chunks)
    assert (type(codes.data).__module__.startswith("dask")) == (chunks is not None)
    legend = lc.load_legend("esa_worldcover")
    cats = lc.classify(codes, legend)
    units = lc.read_units(halves_gpkg, id_field="code", name_field="name")
    areas = lc.class_areas(cats, units)
    west, east = _areas_by(areas, "W"), _areas_by(areas, "E")
    # column 0 whole + column 1 cut in half; a pixel is 100 m2 = 0.01 ha
    assert west == pytest.approx({"cropland": 0.03, "construction": 0.025}, abs=1e-12)
    assert east == pytest.approx({"cropland": 0.01, "construction": 0.005, "forest": 0.03,
                                  "grassland": 0.02, "water": 0.03}, abs=1e-12)
    # conservation: the two units tile the raster, 15 valid pixels
    assert areas["area_ha"].sum() == pytest.approx(0.15, abs=1e-12)


def test_code_counts_numpy_and_dask_agree(grid4_tif: Path) -> None:
    a = code_counts(lc.open_landcover(grid4_tif, chunks=None))
    b = code_counts(lc.open_landcover(grid4_tif, chunks=2))
    assert a.to_dict() == b.to_dict() == {10: 3, 30: 2, 40: 4, 50: 3, 80: 3}


def test_unmapped_codes_listed_with_counts(tmp_path: Path) -> None:
    arr = GRID4.copy()
    arr[0, 0] = 77
    arr[0, 1] = 77
    arr[3, 3] = 201
    codes = lc.open_landcover(write_tif(tmp_path / "bad.tif", arr))
    legend = lc.load_legend("esa_worldcover")
    with pytest.raises(UnmappedCodesError) as err:
        check_codes(code_counts(codes), legend)
    assert err.value.counts == {77: 2, 201: 1}
    assert "77 (2 px)" in str(err.value) and "201 (1 px)" in str(err.value)
    assert "exclude_codes" in str(err.value)
    check_codes(code_counts(codes), legend, exclude_codes=[77, 201])
    cats = lc.classify(codes, legend, exclude_codes=[77, 201])
    assert int((cats.values == 255).sum()) == 4  # 3 excluded + 1 nodata


def test_geographic_raster_areas_are_ellipsoidal(tmp_path: Path) -> None:
    res = 0.01
    tr = Affine(res, 0, 113.5, 0, -res, 34.8)
    arr = np.full((4, 4), 40, dtype=np.uint8)
    arr[:2] = 10
    path = write_tif(tmp_path / "geo.tif", arr, crs="EPSG:4326", transform=tr)
    cats = lc.classify(lc.open_landcover(path), lc.load_legend("esa_worldcover"))
    units = gpd.GeoDataFrame({"unit_id": ["all"], "unit_name": ["all"]},
                             geometry=[box(113.5, 34.76, 113.54, 34.8)], crs=4326)
    areas = _areas_by(lc.class_areas(cats, units), "all")
    top = geodesic_areas_m2(gpd.GeoSeries([box(113.5, 34.78, 113.54, 34.8)]), "EPSG:4326")
    bottom = geodesic_areas_m2(gpd.GeoSeries([box(113.5, 34.76, 113.54, 34.78)]), "EPSG:4326")
    # densify-free boxes: geodesic vs parallel edges differ < 1e-6 at this size
    assert areas["forest"] == pytest.approx(top[0] / 1e4, rel=1e-6)
    assert areas["cropland"] == pytest.approx(bottom[0] / 1e4, rel=1e-6)


def test_units_in_other_crs_are_reprojected(grid4_tif: Path, halves_gpkg: Path) -> None:
    units = lc.read_units(halves_gpkg, id_field="code")
    units_ll = units.to_crs(4326)
    before = units_ll.copy()
    cats = lc.classify(lc.open_landcover(grid4_tif), lc.load_legend("esa_worldcover"))
    a = lc.class_areas(cats, units).sort_values(["unit_id", "land_class"])
    b = lc.class_areas(cats, units_ll).sort_values(["unit_id", "land_class"])
    np.testing.assert_allclose(a["area_ha"], b["area_ha"], rtol=1e-6)
    assert units_ll.geom_equals(before).all() and units_ll.crs == before.crs  # input unchanged


def test_mosaic_of_tiles_equals_whole(tmp_path: Path) -> None:
    whole = write_tif(tmp_path / "whole.tif", GRID4)
    (tmp_path / "tiles").mkdir()
    write_tif(tmp_path / "tiles" / "a.tif", GRID4[:, :2].copy())
    write_tif(tmp_path / "tiles" / "b.tif", GRID4[:, 2:].copy(),
              transform=Affine(10, 0, 500020, 0, -10, 3850000))
    ref = lc.open_landcover(whole)
    for spec in (str(tmp_path / "tiles" / "*.tif"),
                 [tmp_path / "tiles" / "a.tif", tmp_path / "tiles" / "b.tif"]):
        mosaic = lc.open_landcover(spec)
        np.testing.assert_array_equal(mosaic.values, ref.values)
        assert mosaic.rio.transform() == ref.rio.transform()
        assert len(mosaic.attrs["source"]) == 2


def test_brackets_in_names_that_exist_are_no_pattern(tmp_path: Path) -> None:
    """``lc[2023].tif`` and a folder ``data[2023]`` holding ``tiles/*.tif`` (the config's
    folder is joined to the path): read as named, where they were taken for glob classes and
    "matched no file"."""
    from landcarbon.io.raster import expand_paths

    one = write_tif(tmp_path / "lc[2023].tif", GRID4)
    assert expand_paths(str(one)) == [str(one)]
    folder = tmp_path / "data[2023]" / "tiles"
    folder.mkdir(parents=True)
    a = write_tif(folder / "a.tif", GRID4[:, :2].copy())
    b = write_tif(folder / "b.tif", GRID4[:, 2:].copy(),
                  transform=Affine(10, 0, 500020, 0, -10, 3850000))
    assert expand_paths(str(folder / "*.tif")) == [str(a), str(b)]
    np.testing.assert_array_equal(lc.open_landcover(str(folder / "*.tif")).values, GRID4)
    with pytest.raises(InputError, match="matches no file"):
        expand_paths(str(folder / "*.vrt"))


def test_mosaic_rejects_mixed_grids(tmp_path: Path) -> None:
    a = write_tif(tmp_path / "a.tif", GRID4)
    b = write_tif(tmp_path / "b.tif", GRID4, crs="EPSG:32650")
    with pytest.raises(InputError, match="cannot be mosaicked"):
        lc.open_landcover([a, b])


def test_mosaic_rejects_a_tile_off_the_grid(tmp_path: Path) -> None:
    """A tile whose origin is half a pixel off the first tile's grid would be moved onto it
    (its pixels 5 m off): refused, naming the tile."""
    a = write_tif(tmp_path / "a.tif", GRID4[:, :2].copy())
    b = write_tif(tmp_path / "b.tif", GRID4[:, 2:].copy(),
                  transform=Affine(10, 0, 500025, 0, -10, 3850000))
    with pytest.raises(InputError, match=r"b\.tif: its pixels are not on the grid"):
        lc.open_landcover([a, b])


def test_mosaic_tiles_overlapping_and_nodata(tmp_path: Path) -> None:
    """Tiles overlapping by two columns: where they agree, the mosaic is the whole raster,
    also where the later tile has nodata over the first one's data (its nodata does not
    cover them); where they hold different codes, or with another nodata value, refused
    naming the tiles (the last listed tile used to win, silently)."""
    shifted = Affine(10, 0, 500010, 0, -10, 3850000)
    a = write_tif(tmp_path / "a.tif", GRID4[:, :3].copy())
    later = GRID4[:, 1:].copy()
    later[:, 0] = 0  # nodata over a's column 1
    b = write_tif(tmp_path / "b.tif", later, transform=shifted)
    whole = lc.open_landcover(write_tif(tmp_path / "whole.tif", GRID4))
    for spec in ([a, b], [b, a]):
        np.testing.assert_array_equal(lc.open_landcover(spec).values, whole.values)
    clash = GRID4[:, 1:].copy()
    clash[0, 1] = 80  # a holds 10 there
    c = write_tif(tmp_path / "c.tif", clash, transform=shifted)
    with pytest.raises(InputError, match=r"a\.tif and .*c\.tif overlap over 8 pixels and hold "
                                         r"different codes in 1 of them"):
        lc.open_landcover([a, c])
    d = write_tif(tmp_path / "d.tif", GRID4[:, 3:].copy(), nodata=255,
                  transform=Affine(10, 0, 500030, 0, -10, 3850000))
    with pytest.raises(InputError, match=r"d\.tif: nodata 255.0 differs from 0.0"):
        lc.open_landcover([a, d])


def test_missing_and_corrupt_rasters(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        lc.open_landcover(tmp_path / "nope.tif")
    with pytest.raises(InputError, match="matches no file"):
        lc.open_landcover(str(tmp_path / "*.tif"))
    junk = tmp_path / "junk.tif"
    junk.write_bytes(b"not a tiff at all")
    with pytest.raises(InputError, match=r"junk\.tif' is damaged or not a raster.*gdalinfo"):
        lc.open_landcover(junk)


def test_float_raster_with_nan(tmp_path: Path) -> None:
    arr = GRID4.astype(np.float32)
    arr[3, 1] = np.nan
    path = write_tif(tmp_path / "f.tif", arr, nodata=None)
    codes = lc.open_landcover(path)
    assert code_counts(codes).sum() == 15
    cats = lc.classify(codes, lc.load_legend("esa_worldcover"))
    assert int((cats.values == 255).sum()) == 1


def test_flux_density_and_derived_rasters(grid4_tif: Path) -> None:
    cats = lc.classify(lc.open_landcover(grid4_tif, chunks=2), lc.load_legend("esa_worldcover"))
    flux = flux_density(cats, lc.load_coefficients("lai2010"), 50.0).compute()
    expected = np.array([[0.422, 0.422, -0.644, -0.644], [0.422, 0.422, -0.644, -0.253],
                         [50, 50, -0.021, -0.253], [50, np.nan, -0.021, -0.253]], np.float32)
    np.testing.assert_allclose(flux.values, expected, rtol=1e-6)
    assert flux.attrs["units"] == "t C ha-1 yr-1"
    assert flux.rio.crs.to_epsg() == 32649
    st = space_type_raster(cats).values
    assert st.tolist() == [[1, 1, 3, 3], [1, 1, 3, 3], [2, 2, 3, 3], [2, 0, 3, 3]]
    land = land_class_raster(cats).values
    order = list(land_classes().index)
    assert land[0, 0] == order.index("cropland") + 1
    assert land[3, 1] == 0


def test_public_names_are_not_shadowed_by_submodules() -> None:
    """Importing every submodule must not replace a public function by a module of the same
    name (``import landcarbon.x`` sets the attribute ``x`` on the package)."""
    import importlib
    import pkgutil
    import types

    for info in pkgutil.walk_packages(lc.__path__, "landcarbon."):
        if not info.name.endswith("__main__"):
            importlib.import_module(info.name)
    for name in lc.__all__:
        assert not isinstance(getattr(lc, name), types.ModuleType), name
