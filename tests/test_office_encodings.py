"""Output CSVs in the encodings office software reads ([output] csv_encoding) and CSV inputs
in a declared encoding (top-level ``encoding``)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from _trust import cli, project, refused

from landcarbon.exceptions import InputError
from landcarbon.io.publication import read_run
from landcarbon.io.tables import read_output_csv, write_csv

TABLE = pd.DataFrame({"unit_id": ["1", "2"], "unit_name": ["郑州", "=中牟"], "net_tc": [1.5, -2.0]})


@pytest.mark.parametrize(("encoding", "head"), [("utf-8-sig", b"\xef\xbb\xbfunit_id"),
                                                ("gbk", b"unit_id"), ("gb18030", b"unit_id")])
def test_write_csv_in_each_encoding(tmp_path: Path, encoding: str, head: bytes) -> None:
    write_csv(TABLE, tmp_path / "t.csv", encoding=encoding)
    raw = (tmp_path / "t.csv").read_bytes()
    assert raw.startswith(head)
    if encoding != "utf-8-sig":  # the very bytes of GBK: 郑州 = D6A3 D6DD
        assert "郑州".encode("gbk") == b"\xd6\xa3\xd6\xdd" and b"\xd6\xa3\xd6\xdd" in raw
    back = read_output_csv(tmp_path / "t.csv", dtype={"unit_id": str})
    assert back.equals(TABLE)  # decoded and the formula guard ('=中牟) undone


def test_gbk_refuses_text_it_cannot_encode_and_gb18030_takes_it(tmp_path: Path) -> None:
    table = TABLE.assign(unit_name=["郑州", "𠮷村"])  # U+20BB7 is outside GBK
    with pytest.raises(InputError, match=r"t\.csv in GBK: column 'unit_name', row 3 \(the "
                       r"header is row 1\): '𠮷村'.*gb18030") as info:
        write_csv(table, tmp_path / "t.csv", encoding="gbk")
    assert info.value.code == "output_encoding"
    assert not (tmp_path / "t.csv").exists()
    write_csv(table, tmp_path / "t.csv", encoding="gb18030")
    assert "𠮷村".encode("gb18030") in (tmp_path / "t.csv").read_bytes()
    assert read_output_csv(tmp_path / "t.csv")["unit_name"].tolist() == ["郑州", "𠮷村"]


def _gbk_project(d: Path, names: tuple[str, str], extra: str) -> Path:
    """The 4 x 4 px project keyed by the Chinese unit names, its energy table saved in GBK
    (Excel / WPS "CSV" on a Chinese Windows)."""
    config = project(d, names=names)
    (d / "energy.csv").write_bytes(f"unit_id,raw_coal_t\n{names[0]},10\n{names[1]},25.5\n"
                                   .encode("gb18030"))  # = GBK's bytes for GBK's characters
    text = config.read_text(encoding="utf-8").replace('id_field = "code"', 'id_field = "name"')
    config.write_text(extra + text.replace("[output]\n", "[output]\ncsv_encoding = \"gbk\"\n"),
                      encoding="utf-8")
    return config


def test_run_reads_declared_gbk_inputs_and_writes_gbk_tables(tmp_path: Path) -> None:
    config = _gbk_project(tmp_path, ("西单元", "东单元"), 'encoding = "gbk"\n')
    res = cli("run", config, "-o", tmp_path / "out")
    assert res.returncode == 0, res.stderr
    raw = (tmp_path / "out" / "units.csv").read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf") and "西单元".encode("gbk") in raw
    units = pd.read_csv(tmp_path / "out" / "units.csv", encoding="gbk").set_index("unit_id")
    assert units.loc["西单元", "construction_emission_tc"] > 0  # the GBK energy rows matched
    # the run folder reads back (publishing, portal) whatever the encoding
    assert set(read_run(tmp_path / "out").units["unit_id"]) == {"西单元", "东单元"}


def test_a_declared_encoding_that_does_not_fit_names_the_file(tmp_path: Path) -> None:
    config = _gbk_project(tmp_path, ("西单元", "东单元"), 'encoding = "utf-8"\n')
    refused(cli("run", config, "-o", tmp_path / "out"), "energy.csv", "utf-8")
    assert not (tmp_path / "out").exists()


def test_gbk_output_stops_on_unencodable_text_writing_nothing(tmp_path: Path) -> None:
    config = _gbk_project(tmp_path / "p", ("𠮷村", "东单元"), "")
    res = cli("run", config, "-o", tmp_path / "out")
    # the gate finds it (before computing): the units file, its field and row
    refused(res, "u.gpkg: field 'name', row 1", "𠮷村", "GBK cannot encode", "gb18030")
    assert not (tmp_path / "out").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]


def test_change_run_gbk_output_stops_on_unencodable_text_writing_nothing(tmp_path: Path
                                                                          ) -> None:
    """A text GBK cannot encode stops a change run at its gate with one message naming file,
    field and row, no folder left; encodable names give GBK tables for every date."""
    change = ('\n[change]\n[[change.dates]]\nyear = 2015\nlandcover = "lc.tif"\n'
              '[[change.dates]]\nyear = 2023\nlandcover = "lc.tif"\n')
    config = _gbk_project(tmp_path / "p", ("𠮷村", "东单元"), "")
    config.write_text(config.read_text(encoding="utf-8") + change, encoding="utf-8")
    res = cli("change", config, "-o", tmp_path / "out")
    err = refused(res, "u.gpkg: field 'name', row 1", "𠮷村", "gb18030")
    assert err.count("Error:") == 1
    assert not (tmp_path / "out").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]
    good = _gbk_project(tmp_path / "q", ("西单元", "东单元"), "")
    good.write_text(good.read_text(encoding="utf-8") + change, encoding="utf-8")
    res = cli("change", good, "-o", tmp_path / "ok")
    assert res.returncode == 0, res.stderr
    for year in (2015, 2023):
        raw = (tmp_path / "ok" / f"units_{year}.csv").read_bytes()
        assert not raw.startswith(b"\xef\xbb\xbf") and "西单元".encode("gbk") in raw
    assert "东单元".encode("gbk") in (tmp_path / "ok" / "transitions_units.csv").read_bytes()
