"""The README and the command help stay true: generated blocks up to date, every command with
an example, every output column and file of a real demo run documented, the quick start and
the tour's code runnable as written."""

from __future__ import annotations

import importlib.util
import re
import tomllib
from pathlib import Path

import pandas as pd
import pytest
import rasterio
from click.testing import CliRunner

from landcarbon.cli import main

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
SAMPLE = ROOT / "data" / "sample_tiles"


def _gen():
    spec = importlib.util.spec_from_file_location("gen_reference", ROOT / "docs" /
                                                  "gen_reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _readme() -> str:
    return README.read_text(encoding="utf-8")


def _block(name: str) -> str:
    m = re.search(rf"<!-- {name}:start -->\n(.*?)<!-- {name}:end -->", _readme(), re.S)
    assert m, f"README.md has no {name} block"
    return m.group(1)


def _first_cells(block: str) -> list[str]:
    """First cell of every table row of a block, minus the header."""
    rows = [line for line in block.splitlines() if line.startswith("| `")]
    return [row.split(" | ")[0].removeprefix("| ") for row in rows]


def _code_block(after_heading: str, lang: str) -> str:
    text = _readme()
    start = text.index(after_heading)
    m = re.compile(rf"```{lang}\n(.*?)```", re.S).search(text, start)
    assert m, f"no ```{lang} block after {after_heading!r}"
    return m.group(1)


# --- generated blocks -----------------------------------------------------------------------

@pytest.mark.parametrize("name", ["config-reference", "cli-reference", "threshold-presets",
                                  "output-files", "change-output-files",
                                  "scenario-output-files", "stocks-output-files",
                                  "sweep-output-files", "batch-output-files",
                                  "portal-output-files"])
def test_generated_block_is_up_to_date(name):
    gen = _gen()
    expected = gen.BLOCKS[name]().rstrip("\n") + "\n"
    assert _block(name) == expected, (
        f"README.md's {name} block is out of date: run "
        "`.venv/bin/python docs/gen_reference.py` and commit README.md")


def test_gen_reference_check_mode_detects_a_stale_block(tmp_path, monkeypatch):
    gen = _gen()
    stale = tmp_path / "README.md"
    stale.write_text(_readme().replace("| `units.path` |", "| `units.pathX` |"),
                     encoding="utf-8")
    monkeypatch.setattr(gen, "README", stale)
    assert gen.main(["--check"]) == 1
    assert gen.main([]) == 0
    assert stale.read_text(encoding="utf-8") == _readme()
    assert gen.main(["--check"]) == 0


def test_every_config_key_is_documented_with_a_meaning_and_default():
    from landcarbon.config.reference import reference_table

    rows = [r for r in reference_table().splitlines() if r.startswith("| `")]
    assert len(rows) >= 40
    keys = {r.split(" | ")[0].strip("| `") for r in rows}
    for key in ("landcover.path", "thresholds.construction", "risk.severe_margin",
                "space_type_rule.overrides[].min_share", "coefficients.output_unit"):
        assert key in keys
    undocumented = [r.split(" | ")[0] for r in rows if not r.split(" | ")[4].strip(" |")]
    assert undocumented == [], "add description= to these config fields"
    by_key = {r.split(" | ")[0].strip("| `"): r.split(" | ") for r in rows}
    assert by_key["thresholds.agricultural"][2] == "t C/ha/yr"
    assert by_key["construction.grid_factor_kg_co2_per_kwh"][2] == "kg CO2/kWh"
    assert by_key["risk.approaching_margin"][3] == "0.1"
    assert by_key["units.path"][3] == "required"


# --- command help ---------------------------------------------------------------------------

def _command_paths() -> list[list[str]]:
    return [path.split()[1:] for path, _ in _gen().all_commands()]


def test_every_command_help_has_an_example():
    runner = CliRunner()
    paths = _command_paths()
    assert {"run", "validate", "demo", "legends", "coefficients"} <= {p[0] for p in paths}
    missing = []
    for path in [[], *paths]:
        result = runner.invoke(main, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        example = re.search(r"Example[s]?:\n\s+landcarbon \S", result.output)
        if not example:
            missing.append(" ".join(["landcarbon", *path]))
    assert missing == [], "add an 'Example:' section (\\b + indented command) to their help"


# --- quick start and tour -------------------------------------------------------------------

def test_quick_start_has_exactly_the_two_commands():
    lines = [ln for ln in _code_block("## Quick start", "bash").splitlines() if ln.strip()]
    assert lines == [
        "python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/landcarbon demo",
        "bash .ci/run",
    ]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert '.venv/bin/python -m pip install -q -e ".[test]"' in ci
    assert ".venv/bin/python -m pytest" in ci


def test_tour_config_is_the_demo_config():
    from landcarbon.config.run import config_from_dict, load_config

    text = _code_block("### 2. A config file", "toml")
    from_readme = config_from_dict(tomllib.loads(text), SAMPLE)
    assert from_readme == load_config(SAMPLE / "demo.toml")


def test_tour_python_steps_run_as_written(monkeypatch):
    monkeypatch.chdir(ROOT)
    code = _code_block("### 3. Python, step by step", "python")
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    risk, balance, areas = namespace["risk"], namespace["balance"], namespace["areas"]
    assert len(balance) == 65
    assert set(risk["risk_level"]) <= {"net_sink", "within", "approaching", "exceeding",
                                       "severe", "no_data"}
    # areas conserved: the long table sums to the balance's classified area
    assert areas["area_ha"].sum() == pytest.approx(balance["covered_ha"].sum())
    limits = namespace["limits"]
    assert limits["ecological"] == 0.0
    agricultural = balance.loc[balance["space_type"] == "agricultural", "net_tc_per_ha"]
    assert limits["agricultural"] == pytest.approx(agricultural.quantile(0.75))


# --- output reference against a real demo run -----------------------------------------------

@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "out"
    result = CliRunner().invoke(main, ["-qq", "demo", str(out)])
    assert result.exit_code == 0, result.output
    return out, result.output


def test_demo_prints_where_the_map_and_tables_are(demo_run):
    out, printed = demo_run
    for name in ("map.html", "units.csv", "units.gpkg", "run.json"):
        assert str(out.absolute() / name) in printed
    # the README shows the same listing (roles and file names)
    shown = [ln.split() for ln in _code_block("## Quick start", "text").splitlines() if ln]
    listed = [ln.split() for ln in printed.splitlines() if ln.strip()]
    assert [(role, Path(path).relative_to("/home/you/landcarbon/landcarbon-demo"))
            for role, path in shown] == [(role, Path(path).relative_to(out.absolute()))
                                         for role, path in listed]


def test_every_output_file_is_documented(demo_run):
    """Every file a demo run writes is a declared output (config/outputs.py), every
    unconditional one is written, and every declared run output is a row of the README's
    output-files block (generated from the registry; test_generated_block_is_up_to_date)."""
    from landcarbon.config.outputs import OUTPUTS

    out, _ = demo_run
    rows = [o for o in OUTPUTS if o.folder == "run"]
    # GDAL's *.aux.xml side files (statistics/colour metadata) are not outputs of their own
    written = {p.relative_to(out).as_posix() for p in out.rglob("*")
               if p.is_file() and not p.name.endswith(".aux.xml")}
    undeclared = {f for f in written if not any(o.matches(f) for o in rows)}
    assert undeclared == set(), "declare these output files in landcarbon/config/outputs.py"
    assert {o.file for o in rows if not o.condition} - written == set(), (
        "declared as always written but not written by the demo")
    block = _block("output-files")
    documented = {n for c in _first_cells(block) for n in re.findall(r"`([^`]+)`", c)}
    assert {o.file for o in rows if not o.file.startswith("figures/")} | {"figures/"} == (
        documented)


def _documented_names() -> list[str]:
    rows = [r for r in _block("output-columns").splitlines() if r.startswith("| `")]
    return [n for row in rows for n in re.findall(r"`([^`]+)`", row.split(" | ")[0])]


def _documented_columns() -> list[tuple[re.Pattern[str], str]]:
    out = []
    for row in [r for r in _block("output-columns").splitlines() if r.startswith("| `")]:
        cells = row.split(" | ")
        unit = cells[1].strip()
        for name in re.findall(r"`([^`]+)`", cells[0]):
            pattern = re.sub(r"<[a-z_]+>", "[a-z_]+", re.escape(name))
            out.append((re.compile(pattern + "$"), unit))
    return out


def test_every_units_column_is_documented_with_its_unit(demo_run):
    out, _ = demo_run
    columns = pd.read_csv(out / "units.csv", nrows=1, encoding="utf-8-sig").columns
    documented = _documented_columns()
    undocumented = [c for c in columns if not any(p.match(c) for p, _ in documented)]
    assert undocumented == [], "document these units.csv columns in README.md"
    names = {p.pattern.rstrip("$") for p, _ in documented}
    assert {"net_tc", "emission_tc", "risk_level", "threshold_tc_per_ha"} <= names
    for pattern, unit in documented:
        name = pattern.pattern.rstrip("$")
        if name.endswith("_tc_per_ha"):
            assert unit == "t C/ha/yr", name
        elif name.endswith("_tc"):
            assert unit == "t C/yr", name
        elif name.endswith("_ha"):
            assert unit == "ha", name


def test_documented_tc_columns_are_converted_to_tco2():
    """The README says every ``_tc`` column becomes ``_tco2`` (x 44/12) with output_unit t CO2."""
    from landcarbon.accounting.balance import to_output_unit

    names = [re.sub(r"<[a-z_]+>", "agricultural", n) for n in _documented_names()]
    tc = [n for n in names if n.endswith(("_tc", "_tc_per_ha"))]
    assert "net_tc" in tc
    converted = to_output_unit(pd.DataFrame({n: [12.0] for n in tc}), "t CO2")
    assert list(converted.columns) == [n.replace("_tc", "_tco2") for n in tc]
    assert converted.iloc[0].tolist() == pytest.approx([44.0] * len(tc))


def test_flux_raster_unit_and_sign_as_documented(demo_run):
    out, _ = demo_run
    with rasterio.open(out / "net_flux.tif") as src:
        tags = src.tags()
    assert tags["units"] == "t C ha-1 yr-1"
    assert "t C ha-1 yr-1" in _block("output-files")
    assert tags["sign_convention"] == "positive = source (emission), negative = sink"


def test_readme_links_point_to_existing_sections_and_files():
    text = _readme()
    slugs = {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-")
             for h in re.findall(r"^#{1,6} (.+)$", text, re.M)}
    anchors = set(re.findall(r"\]\(#([^)]+)\)", text))
    assert anchors and anchors - slugs == set(), "links to missing README sections"
    files = [f for f in re.findall(r"\]\(([^)#:]+)\)", text)]
    assert [f for f in files if not (ROOT / f).exists()] == []


def test_every_toml_snippet_in_the_readme_parses():
    blocks = re.findall(r"```toml\n(.*?)```", _readme(), re.S)
    assert len(blocks) >= 3
    for block in blocks:
        tomllib.loads("\n".join(line.strip() if line.startswith("    ") else line
                                for line in block.splitlines()))
