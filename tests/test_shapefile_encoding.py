"""Shapefiles that do not declare their text encoding (no ``.cpg``, no code page in the
``.dbf``), as Chinese Windows exporters write them: their Chinese names are read right, not
as ISO-8859-1 mojibake, and ``validate`` says the encoding was inferred."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pytest
from _battery import HALVES, config, make_project

from landcarbon.io.dbf import undeclared_text_encoding
from landcarbon.io.vector import TEXT_ENCODING_GUESSED, read_vector
from landcarbon.pipeline.validate import validate_config

NAMES = ["新台街道", "兴庄镇"]


def _shapefile(path: Path, encoding: str, *, names: list[str] = NAMES, ldid: int = 0,
               cpg: bool = False, field: str = "name") -> Path:
    """Units ``code`` / ``field`` written in ``encoding``, the ``.dbf``'s language-driver byte
    set to ``ldid``, with or without the ``.cpg`` GDAL writes."""
    gdf = gpd.GeoDataFrame({"code": ["W", "E"], field: names}, geometry=HALVES,
                           crs="EPSG:32649")
    gdf.to_file(path, encoding=encoding)
    dbf = path.with_suffix(".dbf")
    data = bytearray(dbf.read_bytes())
    data[29] = ldid
    dbf.write_bytes(bytes(data))
    if not cpg:
        path.with_suffix(".cpg").unlink(missing_ok=True)
    return path


@pytest.mark.parametrize("ldid", [0x00, 0x57])
def test_gbk_without_cpg_reads_chinese_names(tmp_path: Path, ldid: int) -> None:
    shp = _shapefile(tmp_path / "towns.shp", "GBK", ldid=ldid)
    assert gpd.read_file(shp)["name"].tolist() != NAMES  # GDAL alone: ISO-8859-1 mojibake
    assert undeclared_text_encoding(shp) == "GB18030"
    gdf = read_vector(shp)
    assert gdf["name"].tolist() == NAMES
    assert gdf.attrs[TEXT_ENCODING_GUESSED] == "GB18030"


def test_chinese_field_names_are_read_too(tmp_path: Path) -> None:
    shp = _shapefile(tmp_path / "towns.shp", "GBK", field="乡镇名称")
    gdf = read_vector(shp)
    assert "乡镇名称" in gdf.columns and gdf["乡镇名称"].tolist() == NAMES


def test_utf8_without_cpg_reads_as_utf8(tmp_path: Path) -> None:
    shp = _shapefile(tmp_path / "towns.shp", "UTF-8")
    assert undeclared_text_encoding(shp) == "UTF-8"
    assert read_vector(shp)["name"].tolist() == NAMES


@pytest.mark.parametrize("case", ["cpg", "ldid_936", "ascii", "latin1"])
def test_declared_ascii_or_latin1_files_are_left_to_gdal(tmp_path: Path, case: str) -> None:
    """A ``.cpg``, a code page in the ``.dbf`` (0x4D: 936), ASCII text and Latin-1 text (a
    single high byte between letters is no GBK character) are read as GDAL reads them."""
    shp = tmp_path / "towns.shp"
    if case == "cpg":
        _shapefile(shp, "GBK", cpg=True)
        expected = NAMES
    elif case == "ldid_936":
        _shapefile(shp, "GBK", ldid=0x4D)
        expected = NAMES
    elif case == "ascii":
        expected = ["Xintai", "Xingzhuang"]
        _shapefile(shp, "UTF-8", names=expected)
    else:
        expected = ["Zürich", "Genève"]
        _shapefile(shp, "ISO-8859-1", names=expected)
    assert undeclared_text_encoding(shp) is None
    gdf = read_vector(shp)
    assert gdf["name"].tolist() == expected
    assert TEXT_ENCODING_GUESSED not in gdf.attrs


def test_validate_warns_and_the_run_writes_the_names(tmp_path: Path) -> None:
    make_project(tmp_path)
    _shapefile(tmp_path / "towns.shp", "GBK", ldid=0x57)
    config(tmp_path, ('path = "halves.gpkg"', 'path = "towns.shp"'),
           ('layer = "units"', 'layer = "towns"'))
    report = validate_config(tmp_path / "run.toml")
    guessed = [p for p in report.problems if p.code == "text_encoding_guessed"]
    assert len(guessed) == 1 and guessed[0].severity == "warning"
    assert "GB18030" in guessed[0].message and ".cpg" in guessed[0].fix
    assert report.ok and not report.errors
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    done = subprocess.run([sys.executable, "-m", "landcarbon.cli", "-q", "run",
                           str(tmp_path / "run.toml"), "-o", str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    units = (tmp_path / "out" / "units.csv").read_text(encoding="utf-8-sig")
    assert "新台街道" in units and "兴庄镇" in units
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()} == before


def test_a_large_table_is_sampled_at_both_ends(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the first and the last records are looked at (:data:`SAMPLE_BYTES`): Chinese
    text in the last rows alone is found; in the middle rows alone it is not (GDAL's reading
    stands)."""
    import landcarbon.io.dbf as dbf

    n = 400
    shp = tmp_path / "many.shp"
    names = ["Xintai"] * n
    names[-1] = "新台街道"
    gdf = gpd.GeoDataFrame({"code": [f"u{i}" for i in range(n)], "name": names},
                           geometry=[HALVES[0]] * n, crs="EPSG:32649")
    gdf.to_file(shp, encoding="GBK")
    shp.with_suffix(".cpg").unlink()
    record = int.from_bytes(shp.with_suffix(".dbf").read_bytes()[10:12], "little")
    monkeypatch.setattr(dbf, "SAMPLE_BYTES", 20 * record)  # 10 records from each end
    assert dbf.undeclared_text_encoding(shp) == "GB18030"
    names[-1], names[n // 2] = "Xintai", "新台街道"
    gdf.assign(name=names).to_file(shp, encoding="GBK")
    shp.with_suffix(".cpg").unlink()
    assert dbf.undeclared_text_encoding(shp) is None
    monkeypatch.setattr(dbf, "SAMPLE_BYTES", 8 << 20)  # the whole table
    assert dbf.undeclared_text_encoding(shp) == "GB18030"


def test_planning_zones_and_masks_read_and_warn_the_same_way(tmp_path: Path) -> None:
    """Every layer the gate reads goes through one reader: GBK planning zones (their zone
    names are matched, so mojibake would be ``zone_unknown`` errors) and a GBK change-edit
    mask both read right and both say so."""
    from shapely.geometry import box

    make_project(tmp_path)
    zones = gpd.GeoDataFrame({"kind": ["生态保护红线", "永久基本农田"]},
                             geometry=[box(500000, 3849980, 500020, 3850000),
                                       box(500020, 3849960, 500040, 3850000)],
                             crs="EPSG:32649")
    zones.to_file(tmp_path / "plan.shp", encoding="GBK")
    (tmp_path / "plan.cpg").unlink(missing_ok=True)
    _shapefile(tmp_path / "mask.shp", "GBK")
    config(tmp_path, ("[output]", '[planning_zones]\npath = "plan.shp"\nfield = "kind"\n'
                      "[output]"),
           extra='\n[change]\n[[change.dates]]\nyear = 2015\nlandcover = "grid4.tif"\n'
                 '[[change.dates]]\nyear = 2023\nlandcover = "grid4.tif"\n'
                 '[[change.edits]]\nscenario = "s"\ntype = "reduce_construction"\n'
                 'area_ha = 0.01\nmask = "mask.shp"\n'
                 'to_land_class = "forest"\n')
    report = validate_config(tmp_path / "run.toml")
    guessed = sorted(p.where for p in report.problems if p.code == "text_encoding_guessed")
    assert len(guessed) == 2, report.problems
    assert "plan.shp" in guessed[1] and "mask.shp" in guessed[0]
    assert not [p for p in report.problems if p.code == "zone_unknown"]
