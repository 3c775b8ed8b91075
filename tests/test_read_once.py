"""A run reads its units file once (``landcarbon.io.vector.reading_once``): the gate and the
assessment get the same layer, each its own copy; a file changed in between is read again;
outside a scope every call reads the file."""

from __future__ import annotations

import os
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import box

import landcarbon.io.vector as vector
from landcarbon.exceptions import InputError
from landcarbon.io.vector import read_vector, reading_once


def _write(path: Path, names: list[str]) -> None:
    gpd.GeoDataFrame({"code": names}, geometry=[box(i, 0, i + 1, 1) for i in range(len(names))],
                     crs="EPSG:32649").to_file(path, layer="units")


def test_a_layer_is_read_once_in_a_scope(tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "u.gpkg"
    _write(path, ["a", "b"])
    reads: list[str] = []
    real = vector._read_vector
    monkeypatch.setattr(vector, "_read_vector",
                        lambda p, **kw: reads.append(str(p)) or real(p, **kw))
    with reading_once():
        first = read_vector(path)
        first.loc[0, "code"] = "changed by the caller"
        again = read_vector(str(path), layer="units")  # another spelling, another key
        third = read_vector(tmp_path / "." / "u.gpkg")
    assert len(reads) == 2  # (path, None) and (path, "units"); the third is the first's
    assert again["code"].tolist() == third["code"].tolist() == ["a", "b"]  # copies
    read_vector(path)
    assert len(reads) == 3  # outside the scope: read again


def test_a_file_changed_in_the_scope_is_read_again(tmp_path: Path) -> None:
    path = tmp_path / "u.gpkg"
    _write(path, ["a", "b"])
    with reading_once():
        assert read_vector(path)["code"].tolist() == ["a", "b"]
        path.unlink()
        _write(path, ["a", "b", "c"])
        st = path.stat()
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
        assert read_vector(path)["code"].tolist() == ["a", "b", "c"]
        path.unlink()  # a file gone is an error, not a memory
        with pytest.raises(InputError, match="does not exist"):
            read_vector(path)


def test_several_layers_hint_fits_the_file_kind(tmp_path: Path) -> None:
    """A file of two layers: units are told to set layer = ...; scenario masks and batch
    regions, which have no layer setting, are told to save one layer as its own file."""
    path = tmp_path / "two.gpkg"
    for name in ("a", "b"):
        gpd.GeoDataFrame(geometry=[box(0, 0, 1, 1)], crs=4326).to_file(path, layer=name)
    with pytest.raises(InputError, match=r"set layer = \"<name>\""):
        read_vector(path, what="Land units")
    for what, kind in (("Mask polygons", "scenario masks"), ("Regions", "batch --regions")):
        with pytest.raises(InputError) as err:
            read_vector(path, what=what)
        assert "ogr2ogr" in str(err.value) and kind in str(err.value)
        assert "layer = " not in str(err.value) and err.value.code == "layer_ambiguous"
