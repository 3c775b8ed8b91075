"""Tables in the encodings offices save them in: UTF-8 with or without BOM (Excel "CSV
UTF-8"), GBK / GB18030 (Excel or WPS "CSV" on a Chinese Windows), detected or declared."""

from __future__ import annotations

from pathlib import Path

import pytest

from landcarbon._resources import detect_encoding, read_csv
from landcarbon.exceptions import InputError
from landcarbon.io.pools import read_pool_table
from landcarbon.io.tables import read_table

ENERGY = "unit_id,单位名称,raw_coal_t\n0101,金水区,1200.5\n0102,二七区,80\n"
POOLS = "lucode,LULC_Name,C_above,C_below,C_soil,C_dead\n1,耕地,5,3,20,0\n2,林地,15,10,60,1\n"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_tables_read_in_every_office_encoding(tmp_path: Path, encoding: str) -> None:
    energy = tmp_path / "energy.csv"
    energy.write_bytes(ENERGY.encode(encoding))
    table = read_table(energy, id_column="unit_id", what="Energy table")
    assert table["unit_id"].tolist() == ["0101", "0102"]  # leading zeros kept
    assert table["单位名称"].tolist() == ["金水区", "二七区"]
    assert table["raw_coal_t"].tolist() == [1200.5, 80.0]
    pools = tmp_path / "pools.csv"
    pools.write_bytes(POOLS.encode(encoding))
    p = read_pool_table(pools)
    assert p.loc[2, "c_soil"] == 60 and p.loc[1, "lulc_name"] == "耕地"
    assert read_csv(pools)["LULC_Name"].tolist() == ["耕地", "林地"]


def test_detection_and_declared_encoding(tmp_path: Path) -> None:
    assert detect_encoding("耕地".encode("gbk")) == "gb18030"
    assert detect_encoding("\ufeff耕地".encode()) == "utf-8-sig"
    assert detect_encoding(b"plain ascii") == "utf-8"
    # a GB18030-only character (outside GBK) is read too
    assert detect_encoding("㐀".encode("gb18030")) == "gb18030"
    path = tmp_path / "e.csv"
    path.write_bytes(ENERGY.encode("gbk"))
    assert read_table(path, id_column="unit_id", what="Energy table",
                      encoding="gbk")["单位名称"].iloc[0] == "金水区"
    with pytest.raises(InputError, match="unknown encoding 'klingon'"):
        read_table(path, id_column="unit_id", what="Energy table", encoding="klingon")
    with pytest.raises(InputError, match=r"cannot be decoded as utf-8 .*CSV UTF-8"):
        read_table(path, id_column="unit_id", what="Energy table", encoding="utf-8")


def test_undecodable_bytes_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(b"unit_id,x\n1,\xff\xff\xff\n")
    with pytest.raises(InputError, match=r"bad.csv cannot be decoded as UTF-8 or GBK/GB18030"):
        read_table(path, id_column="unit_id", what="Energy table")
