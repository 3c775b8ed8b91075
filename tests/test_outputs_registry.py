"""The declared output registry (landcarbon/pipeline/outputs.py): one row per output file,
used by the writers, the manifests, the fingerprint and the README's output tables."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from landcarbon.io.fingerprint import RUN_MANIFEST
from landcarbon.pipeline.outputs import OUTPUTS, declared, name, output, readme_table

README = Path(__file__).resolve().parent.parent / "README.md"


def test_ids_are_unique_within_a_folder_and_fields_complete() -> None:
    counts = Counter((o.folder, o.id) for o in OUTPUTS)
    assert [k for k, n in counts.items() if n > 1] == []
    for o in OUTPUTS:
        assert o.description and o.commands, o
        assert o.kind in ("table", "vector", "raster", "json", "html", "figure", "folder"), o
        suffix = {"table": ".csv", "vector": ".gpkg", "raster": ".tif", "json": ".json",
                  "html": ".html", "figure": ".png"}.get(o.kind)
        assert suffix is None or o.file.endswith(suffix), o
        # a pattern's fields are the role's fields
        assert re.findall(r"\{(\w+)\}", o.file) == re.findall(r"\{(\w+)\}", o.id), o


def test_every_folder_has_a_manifest_and_the_fingerprint_reads_the_run_one() -> None:
    for folder in ("run", "change", "scenario", "stocks"):
        assert output(folder, "manifest").kind == "json"
    assert name("run", "manifest") == RUN_MANIFEST


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
