"""``io.tables.write_csv`` writes the text pandas' ``to_csv`` writes (its own joins of
number and text columns, and for large tables the compiled loops of ``io._csv_fast``, are
faster routes to the same bytes)."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from landcarbon.exceptions import InputError
from landcarbon.io._csv_fast import DECIMALS
from landcarbon.io.tables import (
    FLOAT_FORMAT,
    OUTPUT_ENCODINGS,
    _compiled_csv,
    _csv_chunks,
    neutralise_cells,
    read_output_csv,
    write_csv,
)


def _pandas_bytes(table: pd.DataFrame, encoding: str = "utf-8-sig") -> bytes:
    return neutralise_cells(table).to_csv(index=False, float_format="%.6f",
                                          lineterminator="\n").encode(encoding)


def _table(n: int) -> pd.DataFrame:
    f = np.linspace(-1e4, 1e4, n)
    f[::7] = np.nan
    special = [np.inf, -np.inf, -0.0, 1e300, 2.5e-7]
    f[1:6] = special[:max(0, min(5, n - 1))]
    cycle = lambda *v: [v[k % len(v)] for k in range(n)]  # noqa: E731
    return pd.DataFrame({
        "unit_id": [str(k % 13) for k in range(n)],
        "area_ha": f,
        "f32": np.arange(n, dtype=np.float32) / 3,
        "count": np.arange(n) - 5,
        "byte": (np.arange(n) % 256).astype(np.uint8),
        "flag": np.arange(n) % 2 == 0,
        "formula": cycle("=cmd", "-5.2", "a b", "@x"),
        "mixed": pd.Series(cycle(None, "+x", 1.5), dtype=object),
        "text": pd.array(cycle("a", "-b", None, ""), dtype="string"),
        "-name": 1.0,
        "category": pd.Categorical(cycle("x", "=y")),
        "quoted": cycle("a,b", 'c"d', "plain"),
        "zh": cycle("农业空间", None),
        "empty": [""] * n,
        "line": cycle("x\ny", "ok"),
        "flags": pd.Series(cycle(True, None, np.False_, np.nan), dtype=object),
        "nullable": pd.array(cycle(1.5, None), dtype="Float64"),
        "nan": np.nan,
    })


@pytest.mark.parametrize("n", [0, 1, 40])
def test_write_csv_bytes_equal_pandas_to_csv(tmp_path, n: int) -> None:
    table = _table(n)
    out = tmp_path / "t.csv"
    tables = [table, *(table[[c]] for c in table.columns),
              *(table[[a, b]] for a, b in itertools.combinations(table.columns, 2))]
    for t in tables:
        write_csv(t, out)
        assert out.read_bytes() == _pandas_bytes(t), list(t.columns)


def test_write_csv_numbers_and_quotes_by_hand(tmp_path) -> None:
    table = pd.DataFrame({"unit_id": ["=1", "b,c"], "area_ha": [1 / 3, np.nan],
                          "n": [2, -3], "ok": [True, False], "reason": ['say "hi"', None]})
    out = tmp_path / "t.csv"
    write_csv(table, out, encoding="gbk")
    assert out.read_bytes().decode("gbk") == (
        "unit_id,area_ha,n,ok,reason\n"
        "'=1,0.333333,2,True,\"say \"\"hi\"\"\"\n"
        '"b,c",,-3,False,\n')
    back = read_output_csv(out)
    assert back["unit_id"].tolist() == ["=1", "b,c"]


# -- the compiled route (io._csv_fast): large tables of numbers and text ---------------------

#: the columns of ``_table`` the compiled route takes (the others go to the general route)
COMPILED = ["unit_id", "area_ha", "f32", "count", "byte", "flag", "formula", "text", "-name",
            "category", "quoted", "zh", "empty", "flags", "nan"]


def test_both_routes_write_the_same_decimals() -> None:
    assert f"%.{DECIMALS}f" == FLOAT_FORMAT


def _route(table: pd.DataFrame, encoding: str, compiled: bool) -> bytes:
    return b"".join(bytes(c) for c in _csv_chunks(table, encoding, compiled=compiled))


@pytest.mark.parametrize("n", [0, 1, 40, 20_000])
@pytest.mark.parametrize("encoding", OUTPUT_ENCODINGS)
def test_compiled_route_writes_the_bytes_of_the_general_route(n: int, encoding: str) -> None:
    """Every table (all columns, each pair, the compiled ones together): the same bytes by
    both routes and as pandas writes them; the compiled route takes exactly the tables of
    two or more columns of numpy numbers or text without line breaks (20,000 rows: more
    than one chunk of rows)."""
    table = _table(n)
    pairs = itertools.combinations(table.columns, 2) if n <= 40 else [("unit_id", "area_ha")]
    for t in [table, table[COMPILED], *(table[list(p)] for p in pairs)]:
        expected = _pandas_bytes(t, encoding)
        assert _route(t, encoding, compiled=False) == expected, list(t.columns)
        assert _route(t, encoding, compiled=True) == expected, list(t.columns)
        if n >= 40:  # (fewer rows: not every kind of cell is there)
            takes = t.shape[1] > 1 and set(t.columns) <= set(COMPILED)
            assert (_compiled_csv(t, encoding) is not None) == takes, list(t.columns)


def test_compiled_route_numbers_and_missing_text_by_hand() -> None:
    big = np.iinfo(np.int64)
    table = pd.DataFrame({
        "i": np.array([big.min, big.max, 0, -7], dtype=np.int64),
        "u": np.array([2 ** 64 - 1, 0, 1, 10], dtype=np.uint64),
        "i8": np.array([-128, 127, 0, -1], dtype=np.int8),
        "x": [-0.0, -1e-9, 0.0000005, 1e15],
        "t": pd.Series(["=a", None, pd.NA, "b"], dtype=object)})
    text = _route(table, "gbk", compiled=True).decode("gbk")
    assert text == ("i,u,i8,x,t\n"
                    "-9223372036854775808,18446744073709551615,-128,-0.000000,'=a\n"
                    "9223372036854775807,0,127,-0.000000,\n"
                    "0,1,0,0.000000,\n"  # 0.0000005 is below 5e-7 in binary: rounds down
                    "-7,10,-1,1000000000000000.000000,b\n")
    assert _route(table, "gbk", compiled=False).decode("gbk") == text
    # the narrow types on their own go the compiled way (no value beyond int64)
    assert _compiled_csv(table[["i8", "x"]], "gbk") is not None
    # flags with gaps; 1 next to True (equal, one distinct value to pandas) stays 1
    flags = pd.DataFrame({"a": pd.Series([True, None, np.False_, np.nan], dtype=object),
                          "b": pd.Series([True, 1, None, 0.0], dtype=object)})
    assert _route(flags, "gbk", compiled=True) == b"a,b\nTrue,True\n,1\nFalse,\n,0.0\n"
    assert _compiled_csv(flags[["a", "a"]], "gbk") is not None


def test_compiled_route_refuses_text_gbk_cannot_encode_with_the_same_message(tmp_path) -> None:
    n = 30_000
    names = np.array(["郑州", "中牟"], dtype=object)[np.arange(n) % 2]
    names[25_000] = "𠮷村"
    table = pd.DataFrame({"unit_id": np.arange(n).astype(str), "unit_name": names,
                          "net_tc": np.linspace(0, 1, n)})
    assert _compiled_csv(table, "gbk") is None  # left to the general route, which names it
    with pytest.raises(InputError, match=r"t\.csv in GBK: column 'unit_name', row 25002 "
                       r"\(the header is row 1\): '𠮷村'") as info:
        write_csv(table, tmp_path / "t.csv", encoding="gbk")
    assert info.value.code == "output_encoding" and not (tmp_path / "t.csv").exists()
    write_csv(table, tmp_path / "t.csv", encoding="gb18030")
    assert (tmp_path / "t.csv").read_bytes() == _pandas_bytes(table, "gb18030")


def _doubles(rng: np.random.Generator) -> np.ndarray:
    """Doubles of every kind for ``"%.6f"``: any bit pattern (NaN, infinities, subnormals,
    huge), many magnitudes, the doubles next to the ties k + 0.5 of ``x * 1e6``, exact ties
    (odd multiples of 1/128: x * 1e6 = odd * 7812.5) and round numbers."""
    n = 250_000
    bits = rng.integers(0, 2 ** 64, n, dtype=np.uint64, endpoint=False).view(np.float64)
    sign = np.where(rng.random(n) < 0.5, -1.0, 1.0)
    spread = sign * 10.0 ** rng.uniform(-13, 16, n)
    ties = (rng.integers(-10 ** 12, 10 ** 12, n) + 0.5) / 1e6
    steps = rng.integers(-4, 5, n)
    near = ties.copy()
    for s in range(1, 5):  # up to 4 ulps either side of the nearest double to the tie
        near = np.where(steps >= s, np.nextafter(near, np.inf), near)
        near = np.where(steps <= -s, np.nextafter(near, -np.inf), near)
    exact = (2 * rng.integers(-2 ** 40, 2 ** 40, n) + 1) / 128.0
    small = np.concatenate([np.arange(-3000, 3000) * 2.5e-7, [0.0000005, 2.5e-7, -0.0, 0.0,
                            -1e-9, 1e15, -1e15, 4503599627.370496, 2.0 ** 52 / 1e6,
                            np.nan, np.inf, -np.inf, 5e-324, -5e-324, 1.7976931348623157e308]])
    return np.concatenate([bits, spread, near, exact, small])


def test_compiled_floats_are_python_percent_6f_over_a_million_doubles() -> None:
    values = _doubles(np.random.default_rng(20261206))
    assert values.size >= 1_000_000
    table = pd.DataFrame({"x": values, "k": np.zeros(values.size, dtype=np.int8)})
    got = _route(table, "utf-8-sig", compiled=True)[len("\ufeffx,k\n".encode()):]
    want = "".join(("" if x != x else FLOAT_FORMAT % x) + ",0\n" for x in values.tolist())
    assert got.decode() == want


@pytest.mark.parametrize("n", [3, 30_000])
@pytest.mark.parametrize("columns", [["name"], ["name", "v"]])
def test_carriage_returns_never_split_a_row(tmp_path, n: int, columns: list[str]) -> None:
    """A lone CR ends a row in spreadsheets while the csv module (LF rows) leaves it
    unquoted: CRs are written as the line feeds they stand for, inside quotes, and a cell
    starting with one is neutralised (every route: one column, joins, compiled)."""
    import csv

    names = ["\r=1+1", "a\rb", "c\r\nd", "plain"]
    table = pd.DataFrame({"name": [names[k % 4] for k in range(n)], "v": np.arange(n) * 0.5})
    path = tmp_path / "t.csv"
    write_csv(table[columns], path)
    data = path.read_bytes()
    assert b"\r" not in data
    with open(path, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    assert len(rows) == n + 1 and all(len(r) == len(columns) for r in rows)
    assert [r[0] for r in rows[1:5]] == ["'\n=1+1", "a\nb", "c\nd", "plain"][:n]


@pytest.mark.parametrize("encoding", OUTPUT_ENCODINGS)
@pytest.mark.parametrize("sizes", [(3, 0, 5), (25_000, 30_000)])
def test_parts_write_the_bytes_of_their_concatenation(tmp_path, encoding: str,
                                                      sizes: tuple[int, ...]) -> None:
    """write_csv_parts: one header (and one byte-order mark), then every part's rows: the
    bytes write_csv writes for the concatenated table (categoricals of other categories per
    part, an empty part, both routes)."""
    from landcarbon.io.tables import write_csv_parts

    parts = [pd.DataFrame({"year": 2015 + k, "name": pd.Categorical(
        [["=x", "西", "a,b"][(i + k) % 3] for i in range(n)]), "v": np.arange(n) / 7})
        for k, n in enumerate(sizes)]
    write_csv_parts(iter(parts), tmp_path / "parts.csv", encoding=encoding)
    whole = pd.concat(parts, ignore_index=True)
    whole["name"] = whole["name"].astype(object)
    write_csv(whole, tmp_path / "whole.csv", encoding=encoding)
    assert (tmp_path / "parts.csv").read_bytes() == (tmp_path / "whole.csv").read_bytes()
    # the SHA-256 of the bytes written is remembered (a manifest does not read them again)
    import hashlib

    from landcarbon.io.outputs import _WRITTEN, _file_key

    for name in ("parts.csv", "whole.csv"):
        path = tmp_path / name
        assert _WRITTEN[_file_key(path)] == hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_part_the_encoding_cannot_take_leaves_no_file(tmp_path) -> None:
    from landcarbon.io.tables import write_csv_parts

    parts = [pd.DataFrame({"name": ["郑州"], "v": [1.0]}),
             pd.DataFrame({"name": ["𠮷村"], "v": [2.0]})]  # U+20BB7: outside GBK
    with pytest.raises(InputError, match="GBK"):
        write_csv_parts(parts, tmp_path / "t.csv", encoding="gbk")
    assert not (tmp_path / "t.csv").exists()
