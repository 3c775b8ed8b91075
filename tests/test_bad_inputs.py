"""A battery of bad inputs: each a small real file or a deliberately broken one.

For every case: the exact error class from the Python API, the message content, the CLI exit
code 1 with the message and no traceback, and no output folder or staging leftover.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
from click.testing import CliRunner
from conftest import GRID4, GRID4_RUN_CONFIG, write_tif
from rasterio.transform import from_origin
from shapely.geometry import box

import landcarbon as lc
from landcarbon.cli import main

CONFIG = 'title = "bad inputs"\n' + GRID4_RUN_CONFIG + """[output]
map_tiles = ""
rasters = false
map = false
"""
ENERGY = 'method = "energy"\nenergy_table = "energy.csv"'


def _units(path: Path, ids: list[object] | None = None, geoms: list[object] | None = None,
           crs: str | None = "EPSG:32649", layer: str = "units") -> None:
    geoms = geoms or [box(500000, 3849960, 500015, 3850000), box(500015, 3849960, 500040,
                                                                 3850000)]
    ids = ids if ids is not None else ["W", "E"][:len(geoms)]
    gdf = gpd.GeoDataFrame({"code": ids, "name": [f"n{i}" for i in range(len(geoms))]},
                           geometry=geoms, crs=crs)
    gdf.to_file(path, layer=layer) if path.suffix == ".gpkg" else gdf.to_file(path)


def _config(d: Path, old: str = "", new: str = "") -> None:
    text = CONFIG.replace(old, new) if old else CONFIG
    (d / "run.toml").write_text(text, encoding="utf-8")


def _energy(d: Path, text: str | bytes) -> None:
    _config(d, 'method = "intensity"\nintensity_tc_per_ha = 50.0', ENERGY)
    data = text.encode("utf-8") if isinstance(text, str) else text
    (d / "energy.csv").write_bytes(data)


def _truncate(path: Path, keep: float) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


def _absurd_header(d: Path) -> None:
    """Patch ImageWidth / ImageLength of a tiny GeoTIFF to 65000 x 65000."""
    tif = d / "grid4.tif"
    b = bytearray(tif.read_bytes())
    off = struct.unpack("<I", b[4:8])[0]
    for i in range(struct.unpack("<H", b[off:off + 2])[0]):
        e = off + 2 + 12 * i
        tag, typ = struct.unpack("<HH", b[e:e + 4])
        if tag in (256, 257):
            b[e + 8:e + 12] = (struct.pack("<HH", 65000, 0) if typ == 3
                               else struct.pack("<I", 65000))
    tif.write_bytes(bytes(b))


def _big_truncated(d: Path) -> None:
    a = (np.arange(600 * 600, dtype=np.uint16).reshape(600, 600) % 5 * 10 + 10).astype(np.uint8)
    write_tif(d / "grid4.tif", a)
    _truncate(d / "grid4.tif", 0.97)


def _corrupt_middle_tile(d: Path) -> None:
    """A tiled DEFLATE GeoTIFF whose middle tile is garbage: the header and the first and
    last tiles are fine, so only the lazy (chunked) read of the pixels fails."""
    import rasterio

    a = (np.arange(600 * 600).reshape(600, 600) % 5 * 10 + 10).astype(np.uint8)
    tif = d / "grid4.tif"
    with rasterio.open(tif, "w", driver="GTiff", width=600, height=600, count=1,
                       dtype="uint8", crs="EPSG:32649", nodata=0, tiled=True,
                       blockxsize=256, blockysize=256, compress="deflate",
                       transform=from_origin(500000, 3850000, 10, 10)) as dst:
        dst.write(a, 1)
    with rasterio.open(tif) as src:
        off = int(src.get_tag_item("BLOCK_OFFSET_1_1", "TIFF", bidx=1))
        size = int(src.get_tag_item("BLOCK_SIZE_1_1", "TIFF", bidx=1))
    data = bytearray(tif.read_bytes())
    data[off:off + size] = b"\xff" * size
    tif.write_bytes(bytes(data))
    _config(d, 'legend = "esa_worldcover"', 'legend = "esa_worldcover"\nchunk_size = 256')
    # units over the whole raster (runs read only the units' extent)
    _units(d / "halves.gpkg", geoms=[box(500000, 3844000, 503000, 3850000),
                                     box(503000, 3844000, 506000, 3850000)])


def _tiles_mixed_crs(d: Path) -> None:
    write_tif(d / "t1.tif", GRID4)
    write_tif(d / "t2.tif", GRID4, crs="EPSG:32650",
              transform=from_origin(500040, 3850000, 10, 10))
    _config(d, 'path = "grid4.tif"', 'path = "t*.tif"')


def _parcels(d: Path, field: str) -> None:
    gpd.GeoDataFrame({field: ["0101", "0301"]}, geometry=[
        box(500000, 3849960, 500015, 3850000), box(500015, 3849960, 500040, 3850000)],
        crs="EPSG:32649").to_file(d / "parcels.gpkg")
    (d / "run.toml").write_text(
        '[parcels]\npath = "parcels.gpkg"\ncode_field = "dlbm"\nunit_field = "dlbm"\n'
        '[thresholds]\npreset = "zhengzhou_example"\n', encoding="utf-8")


def _coefficients(d: Path, unit: str) -> None:
    (d / "coef.csv").write_text(f"land_class,value,unit,source\nforest,-0.58,{unit},x\n",
                                encoding="utf-8")
    _config(d, '[construction]', '[coefficients]\nset = "coef.csv"\n[construction]')


def _legend(d: Path, text: str) -> None:
    (d / "legend.csv").write_text(text, encoding="utf-8")
    _config(d, 'legend = "esa_worldcover"', 'legend = "legend.csv"')


E = lc.InputError
C = lc.ConfigError
CASES: dict[str, tuple[Callable[[Path], object], type[Exception], str]] = {
    # --- the config file itself
    "config_missing": (lambda d: (d / "run.toml").unlink(), C, "does not exist"),
    "config_not_toml": (lambda d: (d / "run.toml").write_text("[landcover\npath = 1"), C,
                        "not valid TOML"),
    "config_key_twice": (lambda d: _config(d, 'legend = "esa_worldcover"',
                                           'legend = "esa_worldcover"\nlegend = "clcd"'), C,
                         "Line 5 reads: 'legend = \"clcd\"'. A key (or a [section]) is given "
                         "twice"),
    "config_not_utf8": (lambda d: (d / "run.toml").write_bytes(
        CONFIG.replace("bad inputs", "\u00e9t\u00e9").encode("latin-1")), C, "UTF-8"),
    "config_unknown_top_key": (lambda d: _config(d, 'title = "bad inputs"', 'titel = "x"'), C,
                               "did you mean 'title'"),
    "config_unknown_section_key": (lambda d: _config(d, 'legend = "esa_worldcover"',
                                                     'legnd = "esa_worldcover"'),
                                   C, "did you mean 'legend'"),
    "config_unknown_section": (lambda d: _config(d, "[output]", "[outptu]"), C,
                               "did you mean 'output'"),
    "config_wrong_type_number": (lambda d: _config(d, "intensity_tc_per_ha = 50.0",
                                                   'intensity_tc_per_ha = "lots"'),
                                 C, "intensity_tc_per_ha: a finite number is expected"),
    "config_wrong_type_list": (lambda d: _config(d, 'legend = "esa_worldcover"',
                                                 'legend = "esa_worldcover"\n'
                                                 'exclude_codes = "clouds"'),
                               C, "exclude_codes"),
    "config_bad_choice": (lambda d: _config(d, "[output]", '[coefficients]\noutput_unit = "kg"'
                                            "\n[output]"), C, "output_unit"),
    "config_no_source": (lambda d: _config(d, "[landcover]", "[landcovr]"), C, "landcovr"),
    "config_threshold_text": (lambda d: _config(d, "ecological = 0.0", 'ecological = "low"'),
                              C, "neither a number"),
    "config_energy_without_table": (lambda d: _config(d, 'method = "intensity"', 'method = '
                                                      '"energy"'), C, "needs energy_table"),
    "threshold_preset_unknown": (lambda d: _config(d, "agricultural = 0.422", 'preset = "nope"'
                                                   "\nagricultural = 0.422"), E,
                                 "Threshold preset 'nope' does not exist"),
    # --- the land-cover raster
    "raster_missing": (lambda d: (d / "grid4.tif").unlink(), E, "does not exist"),
    "raster_glob_no_match": (lambda d: _config(d, 'path = "grid4.tif"', 'path = "tiles/*.tif"'),
                             E, "matches no file"),
    "raster_is_text": (lambda d: (d / "grid4.tif").write_text("not a raster"), E,
                       "damaged or not a raster"),
    "raster_empty_file": (lambda d: (d / "grid4.tif").write_bytes(b""), E,
                          "damaged or not a raster"),
    "raster_is_csv": (lambda d: (d / "grid4.tif").write_text("x,y\n1,2\n"), E,
                      "damaged or not a raster"),
    "raster_truncated_header": (lambda d: _truncate(d / "grid4.tif", 0.5), E,
                                "damaged or not a raster"),
    "raster_truncated_data": (_big_truncated, E, "damaged or not a raster"),
    "raster_corrupt_middle_tile": (_corrupt_middle_tile, E, "reading its pixels failed"),
    "raster_absurd_size": (_absurd_header, E, "header claims 65,000 x 65,000 pixels"),
    "raster_no_crs": (lambda d: write_tif(d / "grid4.tif", GRID4, crs=None), E, "has no CRS"),
    "raster_crs_contradicted": (lambda d: _config(d, 'legend = "esa_worldcover"',
                                                  'legend = "esa_worldcover"\ncrs = "EPSG:4326"'),
                                E, "contradicts"),
    "raster_tiles_mixed_crs": (_tiles_mixed_crs, E, "cannot be mosaicked"),
    "raster_unmapped_codes": (lambda d: write_tif(d / "grid4.tif", np.where(
        GRID4 == 30, 77, GRID4).astype(np.uint8)), lc.UnmappedCodesError, "77 (2 px)"),
    "raster_all_nodata": (lambda d: write_tif(d / "grid4.tif", np.zeros((4, 4), np.uint8)), E,
                          "No classified land inside any"),
    "units_outside_raster": (lambda d: _units(d / "halves.gpkg", geoms=[box(0, 0, 10, 10)]), E,
                             "lie entirely outside the land-cover raster"),
    # --- legend, coefficients
    "legend_unknown": (lambda d: _config(d, 'legend = "esa_worldcover"', 'legend = "esa"'), E,
                       "neither a built-in legend"),
    "legend_bad_columns": (lambda d: _legend(d, "a,b\n1,2\n"), E, "legend.csv"),
    "legend_bad_class": (lambda d: _legend(d, "code,land_class,space_type\n10,jungle,"
                                           "ecological\n"), E, "jungle"),
    "coefficients_unknown_set": (lambda d: _config(d, "[construction]", '[coefficients]\n'
                                                   'set = "nope"\n[construction]'), E,
                                 "neither a built-in set"),
    "coefficients_unit_unknown": (lambda d: _coefficients(d, "t C/acre/yr"), E,
                                  "'t C/acre/yr' is not recognised"),
    "coefficients_not_utf8": (lambda d: (_coefficients(d, "t C/ha/yr"), (d / "coef.csv")
                                         .write_bytes(b"\xff\xfe\x00bad\x81")), E,
                              "cannot be read as CSV"),
    # --- land units
    "units_missing": (lambda d: (d / "halves.gpkg").unlink(), E, "does not exist"),
    "units_not_vector": (lambda d: (d / "halves.gpkg").write_text("hello"), E,
                         "Cannot read land units"),
    "units_truncated": (lambda d: _truncate(d / "halves.gpkg", 0.05), E,
                        "Cannot read land units"),
    "units_empty_layer": (lambda d: gpd.GeoDataFrame(
        {"code": [], "name": []}, geometry=[], crs="EPSG:32649").to_file(
        d / "halves.gpkg", layer="units"), E, "has no features"),
    "units_wrong_layer": (lambda d: _config(d, 'layer = "units"', 'layer = "townships"'), E,
                          "layer 'townships' not found"),
    "units_no_crs": (lambda d: (_units(d / "u.shp", crs=None),
                                _config(d, 'path = "halves.gpkg"\nlayer = "units"',
                                        'path = "u.shp"')), E, "has no CRS"),
    "units_id_field_missing": (lambda d: _config(d, 'id_field = "code"', 'id_field = "kode"'),
                               E, "id_field 'kode' is not a field"),
    "units_duplicate_ids": (lambda d: _units(d / "halves.gpkg", ids=["A", "A"]), E,
                            "used more than once: A (2x)"),
    "units_empty_id": (lambda d: _units(d / "halves.gpkg", ids=["A", None]), E, "have no unit id"),
    # --- statistics (energy table)
    "energy_missing": (lambda d: (_energy(d, "x"), (d / "energy.csv").unlink()), E,
                       "does not exist"),
    # GBK is read (tests/test_encodings.py); bytes that are neither UTF-8 nor GB18030 are not
    "energy_undecodable": (lambda d: _energy(d, b"unit_id,raw_coal_t,note\nW,1,\xff\xff\n"), E,
                           "cannot be decoded as UTF-8 or GBK/GB18030"),
    "energy_empty_file": (lambda d: _energy(d, b""), E, "cannot be read as CSV"),
    "energy_no_id_column": (lambda d: _energy(d, "id,raw_coal_t\nW,1\n"), E,
                            "has no column 'unit_id'"),
    "energy_non_numeric": (lambda d: _energy(d, "unit_id,raw_coal_t\nW,abc\nE,1\n"), E,
                           "W / raw_coal_t = 'abc'"),
    "energy_negative": (lambda d: _energy(d, "unit_id,raw_coal_t\nW,-5\nE,1\n"), E, "negative"),
    "energy_duplicate_ids": (lambda d: _energy(d, "unit_id,raw_coal_t\nW,1\nW,2\n"), E,
                             "appear more than once"),
    "energy_unknown_ids": (lambda d: _energy(d, "unit_id,raw_coal_t\nW,1\nZZ,2\n"), E,
                           "not in the units file: ZZ"),
    # --- parcel mode
    "parcels_code_field_missing": (lambda d: _parcels(d, "DLBM_wrong"), E, "no field 'dlbm'"),
    # --- the output location
    "output_is_a_file": (lambda d: (d / "out").write_text("x"), lc.OutputExistsError,
                         "is a file"),
    "output_not_empty": (lambda d: ((d / "out").mkdir(), (d / "out" / "keep.txt").write_text(
        "x")), lc.OutputExistsError, "--overwrite"),
}

#: Exit codes other than 1 (none: an output path that is a file is bad input too, refused
#: by the option itself before the command runs).
EXIT_CODES: dict[str, int] = {}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    write_tif(tmp_path / "grid4.tif", GRID4)
    _units(tmp_path / "halves.gpkg")
    _config(tmp_path)
    return tmp_path


def _leftovers(d: Path) -> list[str]:
    return sorted(p.name for p in d.iterdir() if "partial" in p.name or ".old-" in p.name)


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input(name: str, project: Path) -> None:
    breaker, error, fragment = CASES[name]
    breaker(project)
    out = project / "out"
    before = {p.name: p.read_bytes() for p in out.iterdir()} if out.is_dir() else None
    inputs = {p.name: p.read_bytes() for p in project.iterdir() if p.is_file()}

    with pytest.raises(error) as exc:
        lc.run(lc.load_config(project / "run.toml"), out)
    assert isinstance(exc.value, error)
    assert fragment in str(exc.value)

    result = CliRunner().invoke(main, ["run", str(project / "run.toml"), "-o", str(out)])
    assert result.exit_code == EXIT_CODES.get(name, 1), result.output
    assert fragment in " ".join(result.output.split()) or fragment in result.output
    assert sum(line.startswith("Error:") for line in result.output.splitlines()) == 1
    assert "Traceback" not in result.output and "unexpected" not in result.output

    # nothing left behind, inputs untouched
    if before is None:
        assert not out.exists() or out.is_file()
    else:
        assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert _leftovers(project) == []
    assert {p.name: p.read_bytes() for p in project.iterdir()
            if p.is_file() and p.name in inputs} == inputs


def test_battery_is_large() -> None:
    assert len(CASES) >= 40


def test_whole_number_ids_stored_as_decimals_match_the_tables(tmp_path: Path) -> None:
    """A units file whose id field holds whole numbers as decimals (410102001.0: a numeric
    shapefile field with decimals, a column saved from a spreadsheet) gets the ids the
    energy table writes (410102001), so the table's rows are found; decimals stay as they
    are."""
    from landcarbon.io.vector import read_units

    path = tmp_path / "u.gpkg"
    gpd.GeoDataFrame({"code": [410102001.0, 410102002.0], "name": ["西", "东"]},
                     geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)], crs="EPSG:32649").to_file(path)
    units = read_units(path, id_field="code", name_field="name")
    assert units["unit_id"].tolist() == ["410102001", "410102002"]
    gpd.GeoDataFrame({"code": [1.5, 2.0]}, geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)],
                     crs="EPSG:32649").to_file(path)
    assert read_units(path, id_field="code")["unit_id"].tolist() == ["1.5", "2.0"]
