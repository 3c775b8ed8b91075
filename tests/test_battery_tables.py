"""Bad-input battery, part 3: unparseable and missing cells in every numeric table (energy,
statistics, coefficient sets, legends, carbon pools, uncertainty ranges), "validate says OK
means the later command works" (validate fails where the command would), and the gate in
every command (zone, sweep, change, scenario, batch). Real ``landcarbon`` subprocesses; see
``_battery.py`` for what each case asserts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from _battery import CHANGE as CHANGE_LATER
from _battery import CONFIG, check_fails, config, energy, raster, run_cli, units
from conftest import GRID4
from shapely.geometry import box

OUTPUT = "[output]"
CHANGE = CHANGE_LATER.replace("LATER", "grid4.tif")
POOLS_OK = ("lucode,c_above,c_below,c_soil,c_dead\n" + "".join(
    f"{c},{i},1,2,0\n" for i, c in enumerate((10, 30, 40, 50, 80), 1)))


def _energy_cell(cell: str) -> Callable[[Path], object]:
    return lambda d: energy(d, f"unit_id,raw_coal_t\nW,{cell}\nE,1\n")


def _stats(cell: str) -> Callable[[Path], object]:
    def breaker(d: Path) -> None:
        (d / "stats.csv").write_text(f"unit_id,gdp_10k_cny,population\nW,{cell},10\nE,5,10\n",
                                     encoding="utf-8")
        config(d, ('id_field = "code"', 'id_field = "code"'),
               (OUTPUT, '[statistics]\npath = "stats.csv"\n' + OUTPUT))
    return breaker


def _correction(cell: str) -> Callable[[Path], object]:
    """[compensation] with a correction factor K column whose cell of unit W is ``cell``."""
    def breaker(d: Path) -> None:
        (d / "stats.csv").write_text(f"unit_id,gdp_10k_cny,k\nW,5,{cell}\nE,5,1\n",
                                     encoding="utf-8")
        config(d, ('id_field = "code"', 'id_field = "code"'),
               (OUTPUT, '[statistics]\npath = "stats.csv"\n[compensation]\n'
                        'correction_column = "k"\n' + OUTPUT))
    return breaker


def _coef(value: str) -> Callable[[Path], object]:
    def breaker(d: Path) -> None:
        (d / "coef.csv").write_text("land_class,value,unit,source\n"
                                    f"forest,{value},t C/ha/yr,x\n", encoding="utf-8")
        config(d, (OUTPUT, '[coefficients]\nset = "coef.csv"\n' + OUTPUT))
    return breaker


def _legend(text: str) -> Callable[[Path], object]:
    def breaker(d: Path) -> None:
        (d / "legend.csv").write_text(text, encoding="utf-8")
        config(d, ('legend = "esa_worldcover"', 'legend = "legend.csv"'))
    return breaker


def _pools(text: str) -> Callable[[Path], object]:
    def breaker(d: Path) -> None:
        (d / "pools.csv").write_text(text, encoding="utf-8")
        config(d, extra=CHANGE + '[change.stocks]\npools = "pools.csv"\n')
    return breaker


def _ranges(text: str) -> Callable[[Path], object]:
    def breaker(d: Path) -> None:
        (d / "ranges.csv").write_text(text, encoding="utf-8")
        config(d, (OUTPUT, '[uncertainty]\ncoefficients = "ranges.csv"\n' + OUTPUT))
    return breaker


def _date_energy(cell: str) -> Callable[[Path], object]:
    def breaker(d: Path) -> None:
        energy(d, "unit_id,raw_coal_t\nW,1\nE,1\n")
        (d / "energy_2015.csv").write_text(f"unit_id,raw_coal_t\nW,{cell}\nE,1\n",
                                           encoding="utf-8")
        text = (d / "run.toml").read_text(encoding="utf-8") + CHANGE.replace(
            'year = 2015\nlandcover = "grid4.tif"',
            'year = 2015\nlandcover = "grid4.tif"\nenergy_table = "energy_2015.csv"')
        (d / "run.toml").write_text(text, encoding="utf-8")
    return breaker


def _xlsx(d: Path) -> None:
    """An Excel workbook (a zip of XML parts) given as the energy table."""
    import zipfile

    with zipfile.ZipFile(d / "energy.xlsx", "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/worksheets/sheet1.xml", "<worksheet/>")
    config(d, ('method = "intensity"\nintensity_tc_per_ha = 50.0',
               'method = "energy"\nenergy_table = "energy.xlsx"'))


OVERLAP = [box(500000, 3849960, 500020, 3850000), box(500015, 3849960, 500040, 3850000)]

CASES: dict[str, tuple[Callable[[Path], object], tuple[str, ...], str]] = {
    # --- energy statistics: every spelling of "no value" is an error naming row and column
    "energy_n_a": (_energy_cell("n/a"), ("W / raw_coal_t = 'n/a' (row 2)",), "run"),
    "energy_hash_n_a": (_energy_cell("#N/A"), ("raw_coal_t = '#N/A' (row 2)",), "run"),
    "energy_null": (_energy_cell("NULL"), ("raw_coal_t = 'NULL' (row 2)",), "run"),
    "energy_empty_cell": (_energy_cell(""), ("raw_coal_t = (empty) (row 2)",
                                             "write 0 for no use"), "run"),
    "energy_text": (_energy_cell("lots"), ("raw_coal_t = 'lots'",), "run"),
    # a unit without a row is unknown, as an empty cell (not 0): every command stops
    "energy_row_missing": (lambda d: energy(d, "unit_id,raw_coal_t\nW,1\n"),
                           ("1 of the 2 unit(s) have no row", "E", "0 in every column"), "run"),
    "energy_header_only": (lambda d: energy(d, "unit_id,raw_coal_t\n"),
                           ("2 of the 2 unit(s) have no row",), "zone"),
    "energy_dash": (_energy_cell("-"), ("raw_coal_t = '-'",), "run"),
    "energy_inf": (_energy_cell("inf"), ("raw_coal_t = inf (row 2)",), "run"),
    "energy_astronomical": (_energy_cell("1e300"), ("raw_coal_t = 1e+300 (row 2)",
                                                   "above 1e+15", "unit or decimal error"),
                            "run"),
    "energy_nan_word": (_energy_cell("nan"), ("raw_coal_t", "(row 2)"), "run"),
    "energy_thousands": (_energy_cell('"1,200"'), ("raw_coal_t = '1,200'",), "run"),
    "energy_semicolons": (lambda d: energy(d, "unit_id;raw_coal_t\nW;1\nE;1\n"),
                          ("no column 'unit_id'", "unit_id;raw_coal_t",
                           "separated by ';', not commas"), "run"),
    "energy_tabs": (lambda d: energy(d, "unit_id\traw_coal_t\nW\t1\nE\t1\n"),
                    ("no column 'unit_id'", "separated by tabs, not commas"), "run"),
    "energy_ragged_row": (lambda d: energy(d, "unit_id,raw_coal_t\nW,1\nE,1,2,3\n"),
                          ("cannot be read as CSV", "as many cells as the header"), "run"),
    "energy_excel_workbook": (_xlsx, ("energy.xlsx", "Excel workbook", "CSV UTF-8"), "run"),
    "energy_n_a_sweep": (_energy_cell("N/A"), ("raw_coal_t = 'N/A' (row 2)",), "sweep"),
    "energy_n_a_zone": (_energy_cell("n/a"), ("'n/a' (row 2)",), "zone"),
    "energy_n_a_date": (_date_energy("#N/A"), ("'#N/A' (row 2)", "2015"), "change"),
    "energy_extra_cell": (_energy_cell("5,7"), ("row 2 has 3", "header's 2"), "run"),
    "energy_extra_cell_validate": (_energy_cell("5,7"), ("row 2 has 3",), "validate"),
    # --- statistics (GDP, population)
    "stats_n_a": (_stats("n/a"), ("row 2 (W) = 'n/a'", "gdp_10k_cny"), "zone"),
    "stats_text_run": (_stats("unknown"), ("row 2 (W) = 'unknown'",), "run"),
    "stats_negative": (_stats("-5"), ("gdp_10k_cny", "negative"), "zone"),
    "stats_inf": (_stats("inf"), ("row 2 (W) = 'inf'", "infinite"), "zone"),
    "stats_overflow": (_stats("1e400"), ("row 2 (W)", "infinite"), "zone"),
    "stats_zero": (_stats("0"), ("row 2 (W) = '0'", "zero", "empty"), "zone"),
    "stats_zero_validate": (_stats("0"), ("row 2 (W) = '0'",), "validate"),
    "correction_text": (_correction("abc"), ("row 2 (W) = 'abc'", "correction factor K"),
                        "zone"),
    "correction_decimal_comma": (_correction('"1,5"'), ("row 2 (W) = '1,5'",), "zone"),
    "correction_zero_validate": (_correction("0"), ("row 2 (W) = '0'",), "validate"),
    # --- coefficient sets
    "coef_n_a": (_coef("n/a"), ("line 2 (forest)", "n/a"), "run"),
    "coef_empty_forest": (_coef(""), ("line 2 (forest)", "empty"), "run"),
    "coef_nan": (_coef("nan"), ("line 2 (forest)", "not a finite number"), "run"),
    "coef_inf": (_coef("-inf"), ("line 2 (forest)", "not a finite number"), "run"),
    # --- legends
    "legend_code_text": (_legend("code,land_class,space_type\nn/a,forest,ecological\n"),
                         ("legend.csv", "n/a"), "run"),
    "legend_code_empty": (_legend("code,land_class,space_type\n,forest,ecological\n"),
                          ("legend.csv",), "run"),
    "legend_negative_code_twice": (_legend("code,land_class,space_type\n-1,forest,ecological\n"
                                           "-1,water,ecological\n10,forest,ecological\n"),
                                   ("duplicate code(s): -1",), "run"),
    # --- carbon pools
    "pools_n_a": (_pools(POOLS_OK.replace("10,1,1,2,0", "10,n/a,1,2,0")),
                  ("line 2", "c_above", "n/a"), "change"),
    "pools_empty": (_pools(POOLS_OK.replace("10,1,1,2,0", "10,1,,2,0")),
                    ("line 2", "c_below"), "change"),
    "pools_missing_code": (_pools(POOLS_OK.replace("80,5,1,2,0\n", "")),
                           ("80", "does not list"), "change"),
    "pools_missing_code_validate": (_pools(POOLS_OK.replace("80,5,1,2,0\n", "")),
                                    ("80", "does not list"), "validate"),
    "pools_missing_column": (_pools("lucode,c_above\n10,1\n"), ("c_below", "missing"),
                             "change"),
    "pools_columns_differ_in_case": (_pools(POOLS_OK.replace("c_dead\n", "c_dead,C_above\n")
                                            .replace(",0\n", ",0,1\n")),
                                     ("'c_above' and 'C_above'", "same column"), "change"),
    "legend_columns_differ_in_case": (_legend("code,land_class,space_type,Space_Type\n"
                                              "10,forest,ecological,ecological\n"),
                                      ("'space_type' and 'Space_Type'",), "run"),
    # --- uncertainty ranges
    "ranges_n_a": (_ranges("land_class,distribution,low,mode,high,unit,source\n"
                           "forest,triangular,n/a,-0.6,-0.5,t C/ha/yr,x\n"),
                   ("ranges.csv", "n/a"), "zone"),
    "ranges_inf": (_ranges("land_class,distribution,low,mode,high,mean,sd,unit,source\n"
                           "forest,normal,,,,inf,0.1,t C/ha/yr,x\n"),
                   ("ranges.csv row 2 (forest)", "mean = 'inf'", "finite"), "zone"),
    # --- the gate in every command
    "overlap_sweep": (lambda d: units(d / "halves.gpkg", geoms=OVERLAP), ("overlap",),
                      "sweep"),
    "overlap_change": (lambda d: (units(d / "halves.gpkg", geoms=OVERLAP),
                                  config(d, extra=CHANGE)), ("overlap",), "change"),
    "nodata_class_scenario": (lambda d: (raster(d, GRID4, nodata=40), config(
        d, extra=CHANGE + '[[change.edits]]\nscenario = "green"\ntype = '
        '"reduce_construction"\narea_ha = 0.01\n')), ("nodata value 40",), "scenario"),
    "edit_unknown_land_class": (lambda d: config(
        d, extra=CHANGE + '[[change.edits]]\nscenario = "green"\ntype = '
        '"reduce_construction"\narea_ha = 0.01\nto_land_class = "jungle"\n'),
        ("'jungle' is not a land class",), "scenario"),
    "unmapped_codes_validate": (lambda d: raster(d, np.where(GRID4 == 30, 77, GRID4).astype(
        np.uint8)), ("77",), "validate"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_table(name: str, fails: Callable[..., str]) -> None:
    breaker, keywords, command = CASES[name]
    fails(breaker, *keywords, command=command)


def test_batch_stops_a_run_at_the_gate(battery_project: Path) -> None:
    """A batch run whose inputs fail the gate is reported failed (exit 1) with the cause; its
    folder is not written; the other run of the batch finishes."""
    d = battery_project
    units(d / "points.gpkg", geoms=[box(500000, 3849960, 500040, 3850000).centroid])
    (d / "bad.toml").write_text(CONFIG.replace('path = "halves.gpkg"', 'path = "points.gpkg"'),
                                encoding="utf-8")
    result = run_cli(["batch", "run.toml", "bad.toml", "-o", "out"], d)
    text = " ".join((result.stdout + result.stderr).split())
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "must be polygons" in text
    assert not (d / "out" / "bad").exists()
    assert (d / "out" / "run" / "run.json").is_file()
    summary = (d / "out" / "summary.csv").read_text(encoding="utf-8-sig")
    assert "failed" in summary and "must be polygons" in summary


def test_validate_ok_then_every_command_runs(battery_project: Path) -> None:
    """The converse: a project that validate passes runs through run, zone and sweep."""
    d = battery_project
    assert run_cli(["validate", "run.toml"], d).returncode == 0
    for command in ("run", "zone", "sweep"):
        result = run_cli([command, "run.toml", "-o", f"out_{command}"], d)
        assert result.returncode == 0, result.stderr


def test_allow_overlaps_is_the_documented_repair(battery_project: Path) -> None:
    """Without the setting the overlap stops the run; with it the run finishes and run.json
    reports the double-counted hectares."""
    import json

    d = battery_project
    units(d / "halves.gpkg", geoms=OVERLAP)
    check_fails(d, ["run", "run.toml", "-o", "out"], ("allow_overlaps = true",))
    config(d, ('id_field = "code"', 'id_field = "code"\nallow_overlaps = true'))
    result = run_cli(["run", "run.toml", "-o", "out"], d)
    assert result.returncode == 0, result.stderr
    assert "counted twice" in result.stderr
    manifest = json.loads((d / "out" / "run.json").read_text(encoding="utf-8"))
    (repair,) = [r for r in manifest["repairs"] if r["problem"] == "units_overlap"]
    assert repair["double_counted_ha"] == pytest.approx(0.02, rel=1e-3)  # 5 m x 40 m


def test_batch_regions_must_be_polygons(battery_project: Path) -> None:
    d = battery_project
    units(d / "regions.gpkg", geoms=[box(500000, 3849960, 500040, 3850000).centroid])
    check_fails(d, ["batch", "run.toml", "--regions", "regions.gpkg", "--region-field",
                    "code", "-o", "out"], ("regions must be polygons", "1 Point(s)"))


def test_semicolon_separated_tables_are_named() -> None:
    """A legend, coefficient set or pool table saved with ';' (Excel's CSV in some locales)
    reads as one column: the error says so (it only listed the missing columns)."""
    import pandas as pd

    from landcarbon.checks.tables import require_columns
    from landcarbon.exceptions import InputError

    one = pd.DataFrame({"code;land_class;space_type": ["10;forest;ecological"]})
    with pytest.raises(InputError, match=r"Legend x: missing column\(s\) code, land_class, "
                                         r"space_type; found code;land_class;space_type\. Its "
                                         r"header is one column holding ';'"):
        require_columns(one, ("code", "land_class", "space_type"), "Legend x", "")
    with pytest.raises(InputError) as err:
        require_columns(pd.DataFrame({"code": [1]}), ("code", "value"), "T", "Needs value.")
    assert str(err.value) == "T: missing column(s) value; found code. Needs value."
    require_columns(pd.DataFrame({"code": [1]}), ("code",), "T", "")


@pytest.mark.parametrize("reader, what", [
    ("legend", "Legend"), ("coefficients", "Coefficient set"), ("pools", "Carbon pool table"),
    ("ranges", "Coefficient distributions"), ("statistics", "Statistics table")])
def test_every_table_reader_names_an_excel_workbook(tmp_path: Path, reader: str,
                                                    what: str) -> None:
    """A workbook saved under a .csv name, given as any table: the error names the table and
    says how to save it as CSV (the legend, coefficient, pool and uncertainty readers said
    "cannot be decoded" or crashed with a UnicodeDecodeError)."""
    import zipfile

    from landcarbon.accounting.coefficients import load_coefficients
    from landcarbon.accounting.legends import load_legend
    from landcarbon.exceptions import InputError
    from landcarbon.io.pools import read_pool_table
    from landcarbon.io.tables import read_table
    from landcarbon.zoning.uncertainty import load_coefficient_ranges

    path = tmp_path / "table.csv"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("xl/worksheets/sheet1.xml", "<worksheet/>")
    read = {"legend": load_legend, "coefficients": load_coefficients,
            "pools": read_pool_table, "ranges": load_coefficient_ranges,
            "statistics": lambda p: read_table(p, id_column="unit_id",
                                               what="Statistics table")}[reader]
    with pytest.raises(InputError) as err:
        read(path)
    assert str(err.value) == (f"{what} {path} is an Excel workbook, not a CSV file. In Excel: "
                              "File > Save As > CSV UTF-8 (comma delimited), and give that "
                              "file.")
    assert err.value.code == "file_unreadable"


def test_a_column_named_twice_and_a_semicolon_file_with_decimal_commas(tmp_path: Path) -> None:
    """Both were named obscurely: the copy as an unknown column 'raw_coal_t.1', the ';' file
    as rows with more cells than the header."""
    from landcarbon.exceptions import InputError
    from landcarbon.io.tables import read_table

    path = tmp_path / "energy.csv"
    path.write_text("unit_id,raw_coal_t,raw_coal_t\nA,1,2\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"header names column\(s\) raw_coal_t more than "
                                         "once"):
        read_table(path, id_column="unit_id", what="Energy table")
    path.write_text("unit_id;raw_coal_t\nA;1,5\nB;2\nC;3,25\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"separated by ';', not commas, and the decimal "
                                         r"commas of row\(s\) 2, 4 split them"):
        read_table(path, id_column="unit_id", what="Energy table")
