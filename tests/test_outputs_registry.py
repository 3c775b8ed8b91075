"""The declared output registry (landcarbon/config/outputs.py): one row per output file,
used by the writers, the manifests, the fingerprint and the README's output tables."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from landcarbon.config.outputs import OUTPUTS, declared, name, output, readme_table

README = Path(__file__).resolve().parent.parent / "README.md"


def test_ids_are_unique_within_a_folder_and_fields_complete() -> None:
    counts = Counter((o.folder, o.id) for o in OUTPUTS)
    assert [k for k, n in counts.items() if n > 1] == []
    for o in OUTPUTS:
        assert o.description and o.commands, o
        assert o.kind in ("table", "vector", "raster", "json", "xml", "html", "figure",
                          "folder"), o
        suffix = {"table": ".csv", "vector": ".gpkg", "raster": ".tif", "json": ".json",
                  "xml": ".xml", "html": ".html", "figure": ".png"}.get(o.kind)
        assert suffix is None or o.file.endswith(suffix), o
        # a pattern's fields are the role's fields
        assert re.findall(r"\{(\w+)\}", o.file) == re.findall(r"\{(\w+)\}", o.id), o


def test_every_folder_has_a_manifest() -> None:
    for folder in ("run", "change", "scenario", "stocks"):
        assert output(folder, "manifest").kind == "json"


def _string_literals(path: Path) -> list[tuple[int, str]]:
    import ast

    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                  if isinstance(n, (ast.Module, ast.FunctionDef, ast.ClassDef,
                                    ast.AsyncFunctionDef))
                  and n.body and isinstance(n.body[0], ast.Expr)
                  and isinstance(n.body[0].value, ast.Constant)}
    return [(n.lineno, n.value) for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str)
            and id(n) not in docstrings]


def test_readers_and_writers_take_file_names_from_the_registry() -> None:
    """No module of io, pipeline or publish spells a declared output file name as a string
    (messages and docstrings may mention them): renaming an output is one row of the
    registry. Found by parsing the source, so a new literal fails here."""
    import landcarbon

    package = Path(landcarbon.__file__).parent
    names = {o.file for o in OUTPUTS if "{" not in o.file}
    found = []
    for sub in ("io", "pipeline", "publish"):
        for path in sorted((package / sub).glob("*.py")):
            found += [f"{path.relative_to(package)}:{line}: {text!r}"
                      for line, text in _string_literals(path) if text in names]
    assert found == []


def test_the_literal_check_sees_a_literal(tmp_path: Path) -> None:
    src = tmp_path / "m.py"
    src.write_text('"""Writes units.csv."""\nNAME = "units.csv"\nX = f"{NAME}"\n')
    assert _string_literals(src) == [(2, "units.csv")]


def test_patterns_fill_and_match() -> None:
    assert name("change", "units_{year}", year=2015) == "units_2015.csv"
    o = output("change", "carbon_stock_change_{year_from}_{year_to}")
    assert o.matches("carbon_stock_change_2015_2023.tif")
    assert not o.matches("carbon_stock_change_2015_2023.csv")
    assert not output("run", "units_csv").matches("units_2015.csv")


def test_declared_refuses_an_undeclared_file() -> None:
    ok = {"units_gpkg": "units.gpkg", "figure_map_risk_level": "figures/map_risk_level.png"}
    assert declared("run", ok) == ok
    with pytest.raises(ValueError, match=r"notes\.txt"):
        declared("run", {**ok, "notes": "notes.txt"})
    with pytest.raises(KeyError):
        output("run", "nothing")


@pytest.mark.parametrize("folder, block", [("run", "output-files"),
                                           ("change", "change-output-files"),
                                           ("scenario", "scenario-output-files"),
                                           ("stocks", "stocks-output-files"),
                                           ("sweep", "sweep-output-files"),
                                           ("batch", "batch-output-files"),
                                           ("portal", "portal-output-files")])
def test_every_declared_output_is_a_readme_row(folder: str, block: str) -> None:
    text = README.read_text(encoding="utf-8")
    m = re.search(rf"<!-- {block}:start -->\n(.*?)<!-- {block}:end -->", text, re.S)
    assert m and m.group(1).rstrip("\n") == readme_table(folder)
    for o in OUTPUTS:
        if o.folder == folder:
            shown = "figures/" if o.file.startswith("figures/") else o.file.replace(
                "{", "<").replace("}", ">")
            assert f"| `{shown}` |" in m.group(1), o


def test_every_folder_kind_has_a_readme_table() -> None:
    text = README.read_text(encoding="utf-8")
    blocks = {"run": "output-files"}
    for folder in {o.folder for o in OUTPUTS}:
        block = blocks.get(folder, f"{folder}-output-files")
        assert f"<!-- {block}:start -->" in text, folder
