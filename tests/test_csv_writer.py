"""``io.tables.write_csv`` writes the text pandas' ``to_csv`` writes (its own joins of
number and text columns are a faster route to the same bytes)."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from landcarbon.io.tables import neutralise_cells, read_output_csv, write_csv


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
