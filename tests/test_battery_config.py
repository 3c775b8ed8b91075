"""Bad-input battery, part 1: every kind of wrong config value (NaN and inf in numbers,
wrong types, out-of-range values, impossible sizes) and every path key pointing at a
missing file. Real ``landcarbon`` subprocesses; see ``_battery.py`` for what each case
asserts (exit 1, cause named, no traceback, nothing complete written, inputs unchanged)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from _battery import CHANGE, INTENSITY, config, units
from shapely.geometry import Point

LEGEND = 'legend = "esa_worldcover"'
THRESH = "ecological = 0.0"
OUTPUT = "[output]"


def _cfg(old: str, new: str) -> Callable[[Path], object]:
    return lambda d: config(d, (old, new))


def _extra(text: str) -> Callable[[Path], object]:
    return lambda d: config(d, extra=text)


def _section(text: str) -> Callable[[Path], object]:
    """Insert ``text`` (a section) before [output]."""
    return lambda d: config(d, (OUTPUT, text + "\n" + OUTPUT))




def _correction_k(d: Path) -> None:
    """[compensation] correction_column = "k", which the [statistics] table lacks."""
    (d / "stats.csv").write_text("unit_id,gdp_10k_cny\nW,5\nE,5\n", encoding="utf-8")
    _section('[statistics]\npath = "stats.csv"\npopulation_column = ""\n[compensation]\n'
             'correction_column = "k"')(d)


def _change(later: str = "grid4.tif", extra: str = "") -> Callable[[Path], object]:
    return lambda d: config(d, extra=CHANGE.replace("LATER", later) + extra)


def _edit(settings: str) -> Callable[[Path], object]:
    """A reduce_construction edit of scenario green with ``settings`` (TOML lines)."""
    return _change(extra='[[change.edits]]\nscenario = "green"\ntype = "reduce_construction"\n'
                   + settings + "\n")


# name -> (breaker, key words of the message, command)
CASES: dict[str, tuple[Callable[[Path], object], tuple[str, ...], str]] = {
    # --- the file itself
    "config_saved_as_gbk": (lambda d: (d / "run.toml").write_bytes(
        (d / "run.toml").read_text(encoding="utf-8").replace(
            "\n[units]", '\ntitle_note = "郑州市"\n[units]', 1).encode("gbk")),
        ("not UTF-8", "GBK/GB18030", "save it as UTF-8"), "run"),
    "unknown_key_run": (_section("[risk]\napproaching_margn = 0.1"),
                        ("run.toml has 1 problem", "approaching_margn", "did you mean",
                         "landcarbon validate"), "run"),
    # --- NaN / inf in numbers
    "override_nan": (_section("[coefficients]\noverrides = { forest = nan }"),
                     ("coefficients.overrides.forest", "finite number"), "run"),
    "override_inf": (_section("[coefficients]\noverrides = { water = inf }"),
                     ("overrides.water", "finite number"), "run"),
    "override_neg_inf": (_section("[coefficients]\noverrides = { cropland = -inf }"),
                         ("overrides.cropland", "finite number"), "run"),
    "threshold_nan": (_cfg(THRESH, "ecological = nan"),
                      ("thresholds.ecological: nan is not a finite number", "'pNN'"), "run"),
    "threshold_inf": (_cfg("agricultural = 0.422", "agricultural = inf"),
                      ("thresholds.agricultural", "finite"), "run"),
    "intensity_nan": (_cfg("intensity_tc_per_ha = 50.0", "intensity_tc_per_ha = nan"),
                      ("intensity_tc_per_ha", "finite number"), "run"),
    "grid_factor_nan": (_cfg(INTENSITY, 'method = "intensity"\nintensity_tc_per_ha = 50.0\n'
                             'electricity = "grid_factor"\ngrid_factor_kg_co2_per_kwh = nan'),
                        ("grid_factor_kg_co2_per_kwh", "finite number"), "run"),
    "risk_margin_nan": (_section("[risk]\napproaching_margin = nan"),
                        ("risk.approaching_margin", "finite number"), "run"),
    "zoning_breakpoint_inf": (_section("[zoning]\necc_breakpoint = inf"),
                              ("zoning.ecc_breakpoint", "finite number"), "zone"),
    "stocks_discount_nan": (_change(extra='[change.stocks]\npools = "pools.csv"\n'
                                    "discount_rate_pct = nan\n"),
                            ("discount_rate_pct", "finite number"), "change"),
    "stocks_price_negative": (_change(extra='[change.stocks]\npools = "pools.csv"\n'
                                      "price_per_tc = -300\n"),
                              ("change.stocks.price_per_tc", "greater than or equal to 0"),
                              "change"),
    "stocks_discount_minus_100": (_change(extra='[change.stocks]\npools = "pools.csv"\n'
                                          "discount_rate_pct = -100\n"),
                                  ("change.stocks.discount_rate_pct", "greater than -100"),
                                  "validate"),
    "stocks_price_change_minus_150": (_change(extra='[change.stocks]\npools = "pools.csv"\n'
                                              "price_change_pct = -150\n"),
                                      ("change.stocks.price_change_pct",), "change"),
    "edit_empty_units": (_edit("area_ha = 0.01\nunits = []"),
                         ("change.edits.0.units", "at least 1"), "scenario"),
    "edit_area_zero": (_edit("area_ha = 0"), ("change.edits.0.area_ha", "greater than 0"),
                       "scenario"),
    "edit_forest_to_forest": (_edit('area_ha = 1\nfrom_land_classes = ["forest"]'),
                              ("can change nothing",), "scenario"),
    "markov_self_multiplier": (_change(extra='[change.markov]\ntarget_years = [2030]\n'
                                       '[[change.markov.multipliers]]\n'
                                       'from_land_class = "cropland"\n'
                                       'to_land_class = "cropland"\nfactor = 0.3\n'),
                               ("itself changes nothing",), "change"),
    "markov_multiplier_twice": (_change(extra='[change.markov]\ntarget_years = [2030]\n'
                                        + '[[change.markov.multipliers]]\n'
                                        'from_land_class = "cropland"\n'
                                        'to_land_class = "construction"\nfactor = 0.3\n' * 2),
                                ("given twice", "'cropland', 'construction'"), "change"),
    "markov_targets_repeated": (_change(extra='[change.markov]\n'
                                        'target_years = [2030, 2060, 2030]\n'),
                                ("distinct and increasing",), "change"),
    "nan_as_text": (_cfg("intensity_tc_per_ha = 50.0", 'intensity_tc_per_ha = "NaN"'),
                    ("intensity_tc_per_ha", "finite number"), "run"),
    # --- impossible sizes and out-of-range values
    "chunk_size_negative": (_cfg(LEGEND, LEGEND + "\nchunk_size = -256"),
                            ("chunk_size", "positive"), "run"),
    "chunk_size_zero": (_cfg(LEGEND, LEGEND + "\nchunk_size = 0"), ("chunk_size", "positive"),
                        "run"),
    "chunk_size_text": (_cfg(LEGEND, LEGEND + '\nchunk_size = "big"'), ("chunk_size",),
                        "run"),
    "margin_negative": (_section("[risk]\nsevere_margin = -0.5"),
                        ("risk.severe_margin", "greater than or equal to 0"), "run"),
    "scale_floor_zero": (_section("[risk]\nscale_floor_tc_per_ha = 0"),
                         ("scale_floor_tc_per_ha", "greater than 0"), "run"),
    "min_share_over_one": (_section('[space_type_rule]\noverrides = [{ space_type = '
                                    '"construction", min_share = 1.5 }]'),
                           ("min_share", "less than or equal to 1"), "run"),
    "cropland_sink_negative": (_section('[coefficients]\ncropland_mode = "sink"\n'
                                        "cropland_sink_tc_per_ha = -1"),
                               ("cropland_sink_tc_per_ha", "greater than or equal"), "run"),
    "ratio_threshold_p150": (_section('[zoning]\nratio_threshold = "p150"'),
                             ("ratio_threshold", "p150"), "zone"),
    "ratio_threshold_p150_validate": (_section('[zoning]\nratio_threshold = "p150"'),
                                      ("ratio_threshold", "p150"), "validate"),
    # zoning settings `zone` used to reject only after computing: the gate stops them first
    "graded_columns_unknown": (_section('[zoning]\ngraded_columns = ["nett"]'),
                               ("graded_columns", "'nett'", "Stopped before computing"), "zone"),
    "graded_columns_unknown_run": (_section('[zoning]\ngraded_columns = ["gi_z"]'),
                                   ("graded_columns", "'gi_z'", "Stopped before computing"),
                                   "run"),
    "graded_columns_unknown_validate": (_section('[zoning]\ngraded_columns = ["nett"]'),
                                        ("graded_columns", "'nett'"), "validate"),
    "correction_column_unknown": (_correction_k, ("correction_column", "'k'",
                                                  "Stopped before computing"), "zone"),
    "correction_column_no_statistics": (_section('[compensation]\ncorrection_column = "k"'),
                                        ("correction_column", "[statistics]"), "validate"),
    "grading_classes_one": (_section("[zoning]\ngrading_classes = 1"), ("grading_classes",),
                            "zone"),
    "draws_zero": (_section("[uncertainty]\ndraws = 0"), ("uncertainty.draws",), "zone"),
    "cell_size_negative": (_section('[hotspots]\non = "grid"\ncell_size_m = -5'),
                           ("cell_size_m", "greater than 0"), "zone"),
    "num_workers_zero": (_section("[compute]\nnum_workers = 0"), ("num_workers",), "run"),
    "sweep_steps_one": (_section("[uncertainty]\nsweep_steps = 1"), ("sweep_steps",),
                        "sweep"),
    # --- wrong types and choices
    "pixel_area_choice": (_cfg(LEGEND, LEGEND + '\npixel_area = "square"'),
                          ("pixel_area", "'auto'"), "run"),
    "language_choice": (_cfg('title = "battery"', 'title = "battery"\nlanguage = "fr"'),
                        ("language",), "run"),
    "title_not_text": (_cfg('title = "battery"', "title = 5"), ("title", "string"), "run"),
    "id_field_number": (_cfg('id_field = "code"', "id_field = 3"), ("units.id_field",),
                        "run"),
    "rasters_not_bool": (_cfg("rasters = false", 'rasters = "maybe"'),
                         ("output.rasters", "boolean"), "run"),
    "exclude_codes_float": (_cfg(LEGEND, LEGEND + "\nexclude_codes = [1.5]"),
                            ("exclude_codes",), "run"),
    "nodata_text": (_cfg(LEGEND, LEGEND + '\nnodata = "none"'), ("landcover.nodata",), "run"),
    "overrides_unknown_class": (_section("[coefficients]\noverrides = { jungle = -1.0 }"),
                                ("jungle",), "run"),
    # no [thresholds] at all is the carrying-capacity default; a pathway without its table is
    # the error
    "thresholds_missing": (_cfg("[thresholds]\nagricultural = 0.422\nconstruction = 8.0\n"
                                "ecological = 0.0\n", '[thresholds]\nmethod = "pathway"\n'),
                           ("thresholds", "[thresholds.pathway]"), "run"),
    "allow_overlaps_text": (_cfg('id_field = "code"', 'id_field = "code"\n'
                                 'allow_overlaps = "sometimes"'), ("allow_overlaps",), "run"),
    "date_year_text": (lambda d: config(d, extra=CHANGE.replace("LATER", "grid4.tif").replace(
        "year = 2023", 'year = "later"')), ("change.dates.1.year",), "change"),
    "crs_unknown": (_cfg(LEGEND, LEGEND + '\ncrs = "EPSG:99999"'),
                    ("landcover.crs", "EPSG:99999"), "run"),
    "nodata_outside_dtype": (_cfg(LEGEND, LEGEND + "\nnodata = -9999"),
                             ("nodata = -9999", "uint8"), "run"),
    "map_tiles_unknown": (_cfg('map_tiles = ""', 'map_tiles = "googlemaps"'),
                          ("output.map_tiles", "googlemaps"), "run"),
    "edit_unknown_unit": (_change(extra='[[change.edits]]\nscenario = "green"\n'
                                  'type = "reduce_construction"\narea_ha = 0.01\n'
                                  'units = ["ZZ"]\n'), ("ZZ", "not in the units file"),
                          "scenario"),
    "edit_to_construction": (_change(extra='[[change.edits]]\nscenario = "green"\n'
                                     'type = "reduce_construction"\narea_ha = 0.01\n'
                                     'to_land_class = "construction"\n'),
                             ("green: to_land_class", "'construction' is not ecological land",
                              "Stopped before computing"), "scenario"),
    "edit_protected_points": (lambda d: (
        _change(extra='[[change.edits]]\nscenario = "green"\ntype = "reduce_construction"\n'
                'area_ha = 0.01\nprotected = "pts.gpkg"\n')(d),
        units(d / "pts.gpkg", geoms=[Point(500005, 3849995), Point(500025, 3849975)])),
        ("protected = 'pts.gpkg'", "must be polygons", "2 Point(s)"), "scenario"),
    # --- every path key pointing at a missing file
    "missing_units": (_cfg('path = "halves.gpkg"', 'path = "nowhere.gpkg"'),
                      ("nowhere.gpkg", "does not exist"), "run"),
    "missing_legend_csv": (_cfg(LEGEND, 'legend = "my_legend.csv"'), ("my_legend.csv",),
                           "run"),
    "missing_coefficients_csv": (_section('[coefficients]\nset = "my_coef.csv"'),
                                 ("my_coef.csv",), "run"),
    "missing_energy_table": (_cfg(INTENSITY, 'method = "energy"\nenergy_table = "e.csv"'),
                             ("e.csv", "does not exist"), "run"),
    "missing_statistics": (_section('[statistics]\npath = "stats.csv"'),
                           ("stats.csv", "does not exist"), "zone"),
    "missing_uncertainty_csv": (_section('[uncertainty]\ncoefficients = "ranges.csv"'),
                                ("ranges.csv",), "zone"),
    "missing_date_raster": (_change("grid4_2023.tif"), ("grid4_2023.tif", "does not exist"),
                            "change"),
    "missing_pools": (_change(extra='[change.stocks]\npools = "pools.csv"\n'),
                      ("pools.csv", "does not exist"), "change"),
    "missing_scenario_raster": (_change(extra='[[change.scenarios]]\nname = "eco"\n'
                                        'landcover = "eco.tif"\n'),
                                ("eco.tif", "does not exist"), "scenario"),
    "missing_edit_mask": (_change(extra='[[change.edits]]\nscenario = "green"\n'
                                  'type = "reduce_construction"\narea_ha = 0.01\n'
                                  'mask = "mask.gpkg"\n'), ("mask.gpkg", "does not exist"),
                          "scenario"),
    "scenario_name_path": (_change(extra='[[change.scenarios]]\nname = "../x"\n'
                                   'landcover = "grid4.tif"\n'),
                           ("change.scenarios.0.name", "'../x'", "letters"), "scenario"),
    "scenario_name_space": (_change(extra='[[change.edits]]\nscenario = "green belt"\n'
                                    'type = "reduce_construction"\narea_ha = 0.01\n'),
                            ("change.edits.0.scenario", "'green belt'", "no spaces"),
                            "validate"),
    # the baseline's own layer name, in any case (it replaced the baseline's layer, or
    # crashed creating it)
    "scenario_name_baseline": (_change(extra='[[change.scenarios]]\nname = "Baseline"\n'
                                       'landcover = "grid4.tif"\n'),
                               ("change.scenarios.0.name", "'Baseline'", "baseline's own"),
                               "scenario"),
    "edit_scenario_baseline": (_change(extra='[[change.edits]]\nscenario = "baseline"\n'
                                       'type = "reduce_construction"\narea_ha = 0.01\n'),
                               ("change.edits.0.scenario", "'baseline'", "another name"),
                               "scenario"),
    "units_path_is_folder": (lambda d: ((d / "townships").mkdir(), config(d, (
        'path = "halves.gpkg"\nlayer = "units"', 'path = "townships"'))),
        ("townships", "is a folder"), "run"),
    "missing_config_zone": (lambda d: (d / "run.toml").unlink(),
                            ("run.toml", "does not exist"), "zone"),
    "missing_config_sweep": (lambda d: (d / "run.toml").unlink(),
                             ("run.toml", "does not exist"), "sweep"),
    "missing_config_change": (lambda d: (d / "run.toml").unlink(),
                              ("run.toml", "does not exist"), "change"),
    "missing_config": (lambda d: (d / "run.toml").unlink(), ("run.toml", "does not exist"),
                       "run"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_config(name: str, fails: Callable[..., str]) -> None:
    breaker, keywords, command = CASES[name]
    fails(breaker, *keywords, command=command)


def test_config_with_a_byte_order_mark_runs(battery_project: Path) -> None:
    """Windows Notepad saves UTF-8 with a BOM: the config still reads."""
    from _battery import run_cli

    path = battery_project / "run.toml"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    result = run_cli(["validate", "run.toml"], battery_project)
    assert result.returncode == 0, result.stderr


def test_notebook_values_are_taken_and_wrong_types_are_not() -> None:
    """A notebook may give paths as ``pathlib.Path`` and numbers as numpy scalars (what a
    TOML file gives as text and numbers); text or true/false where a number goes is an error
    naming the key (config sections are strict)."""
    from pathlib import Path

    import numpy as np

    from landcarbon.config.run import config_from_dict
    from landcarbon.exceptions import ConfigError

    units = {"path": Path("/data/u.gpkg")}
    config = config_from_dict({
        "landcover": {"path": [Path("/data/a.tif"), "b.tif"], "legend": "esa_worldcover",
                      "exclude_codes": [np.int64(3)]},
        "units": units, "construction": {"method": "intensity",
                                         "intensity_tc_per_ha": np.float32(20.5)}})
    assert config.landcover.path == ["/data/a.tif", "b.tif"]
    assert config.landcover.exclude_codes == [3] and config.units.path == "/data/u.gpkg"
    assert config.construction.intensity_tc_per_ha == 20.5
    for bad, key in ((True, "intensity_tc_per_ha"), ("20", "intensity_tc_per_ha")):
        with pytest.raises(ConfigError, match=f"{key}: a finite number is expected.*without "
                                              "quotes"):
            config_from_dict({"landcover": {"path": "a.tif"}, "units": units,
                              "construction": {"method": "intensity",
                                               "intensity_tc_per_ha": bad}})
    # a number where text goes (unit ids): the hint is to quote it, not the reverse
    with pytest.raises(ConfigError, match=r"title: a string .* not 5 .*put text and ids in quotes"):
        config_from_dict({"landcover": {"path": "a.tif"}, "units": units, "title": 5})


def test_an_edit_that_changes_nothing_is_named(tmp_path: Path) -> None:
    """A scenario edit whose mask holds no construction land converts nothing: the run says
    so (a scenario silently equal to the baseline reads as 'no effect'). (A mask outside
    the study area is an error: ``polygons_outside_units``.)"""
    import geopandas as gpd
    from _battery import make_project, run_cli
    from shapely.geometry import box

    make_project(tmp_path)
    # the top right 2 x 2 pixels of grid4.tif: tree cover and wetland, no built-up land
    gpd.GeoDataFrame(geometry=[box(500020, 3849980, 500040, 3850000)],
                     crs="EPSG:32649").to_file(tmp_path / "far.gpkg")
    _change(extra='[[change.edits]]\nscenario = "green"\ntype = "reduce_construction"\n'
                  'area_ha = 0.01\nmask = "far.gpkg"\n')(tmp_path)
    res = run_cli(["scenario", "run.toml", "-o", "out"], tmp_path)
    assert res.returncode == 0, res.stderr
    assert "scenario green: its reduce_construction edit changed nothing" in res.stderr
