"""Unit conversions and coefficient sets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from landcarbon._resources import data_path
from landcarbon.accounting.coefficients import list_coefficient_sets, load_coefficients
from landcarbon.accounting.conversions import C_TO_CO2, density_factor, output_factor
from landcarbon.exceptions import InputError


@pytest.mark.parametrize(("value", "unit", "expected"), [
    (0.0422, "kg C/m2/yr", 0.422),
    (0.0422, "kg C/m²/a", 0.422),
    (1.547, "t CO2/ha/yr", 1.547 * 12 / 44),
    (0.422 / 15, "t C/mu/yr", 0.422),
    (28.1333, "kg C/亩/yr", 0.422),
    (42.2, "t C/km2/yr", 0.422),
    (0.422, "t C/hm2/a", 0.422),
    (0.422, "t C / (ha·yr)", 0.422),
])
def test_density_units(value: float, unit: str, expected: float) -> None:
    assert value * density_factor(unit) == pytest.approx(expected, rel=1e-4)


def test_unknown_unit_lists_valid_ones() -> None:
    with pytest.raises(ValueError, match="t C/ha/yr"):
        density_factor("furlongs per fortnight")


def test_output_factor() -> None:
    assert output_factor("t C") == 1.0
    assert output_factor("t CO2") == pytest.approx(44 / 12)
    assert C_TO_CO2 == 44 / 12


def test_default_set_values_and_sources() -> None:
    assert {"lai2010", "fang2007"} <= set(list_coefficient_sets())
    c = load_coefficients("lai2010")
    d = c.tc_per_ha
    assert d["cropland"] == 0.422
    assert d["forest"] == -0.644
    assert d["grassland"] == -0.021
    assert d["water"] == -0.253
    assert d["wetland"] == -0.253
    assert d["unused"] == -0.005
    assert np.isnan(d["construction"])
    assert set(c.indirect_classes()) == {"construction", "rural_settlement"}
    assert (c.table["source"].str.len() > 5).all()
    assert (c.table["unit"] == "t C/ha/yr").all()
    assert load_coefficients("fang2007").tc_per_ha["forest"] == -0.581


def test_custom_set_in_other_units(tmp_path: Path) -> None:
    path = tmp_path / "local.csv"
    path.write_text("land_class,value,unit,source\ncropland,0.0422,kg C/m2/yr,x\n"
                    "forest,-2.361,t CO2/ha/yr,y\nwetland,-0.03,t C/mu/yr,z\n"
                    "construction,,t C/ha/yr,indirect\nrural_settlement,,t C/ha/yr,indirect\n"
                    + "".join(f"{lc},0,t C/ha/yr,none\n" for lc in (
                        "orchard", "shrub", "grassland", "water", "rural_road", "unused",
                        "snow_ice")), encoding="utf-8")
    d = load_coefficients(path).tc_per_ha
    assert d["cropland"] == pytest.approx(0.422)
    assert d["forest"] == pytest.approx(-0.6439, rel=1e-3)
    assert d["wetland"] == pytest.approx(-0.45)


def test_custom_set_lists_every_problem(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("land_class,value,unit,source\nforrest,-0.6,t C/ha/yr,x\n"
                    "cropland,abc,t C/ha/yr,x\nwater,-0.2,bushels,x\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_coefficients(path)
    msg = str(err.value)
    assert "4 problem(s)" in msg and "forrest" in msg and "bushels" in msg and "line 3" in msg
    assert "no row for land class(es) orchard, forest, shrub, grassland, wetland," in msg


def test_custom_set_without_a_class_is_refused(tmp_path: Path) -> None:
    """A class left out would count no flux (a forest's sink silently lost): every class
    needs a row; the built-in set minus its forest row is refused naming forest alone."""
    lines = (data_path("coefficients", "lai2010.csv").read_text(encoding="utf-8")
             .splitlines(keepends=True))
    path = tmp_path / "no_forest.csv"
    path.write_text("".join(ln for ln in lines if not ln.startswith("forest,")),
                    encoding="utf-8")
    with pytest.raises(InputError, match=r"no row for land class\(es\) forest: give every"):
        load_coefficients(path)


def test_cropland_modes() -> None:
    assert load_coefficients(cropland_mode="neutral").tc_per_ha["cropland"] == 0.0
    sink = load_coefficients(cropland_mode="sink", cropland_sink_tc_per_ha=0.3)
    assert sink.tc_per_ha["cropland"] == -0.3
    assert sink.cropland_mode == "sink"
    with pytest.raises(InputError, match="cropland_sink_tc_per_ha"):
        load_coefficients(cropland_mode="sink")
    with pytest.raises(InputError, match="only used with"):
        load_coefficients(cropland_sink_tc_per_ha=0.3)


def test_overrides_and_unknown_names() -> None:
    c = load_coefficients(overrides={"wetland": -0.5})
    assert c.tc_per_ha["wetland"] == -0.5
    assert c.table.loc["wetland", "source"] == "config override"
    with pytest.raises(InputError, match="wetlands"):
        load_coefficients(overrides={"wetlands": -0.5})
    with pytest.raises(InputError, match="Built-in sets"):
        load_coefficients("nope")


def test_unit_labels_and_suffixes_from_one_table() -> None:
    from landcarbon.accounting.conversions import (
        OUTPUT_UNITS,
        flux_suffix,
        output_suffix,
        suffix_factor,
        unit_label,
    )

    assert OUTPUT_UNITS == {"tc": "t C", "tco2": "t CO2"}
    assert [unit_label(s) for s in OUTPUT_UNITS] == ["t C", "t CO2"]
    assert [unit_label(s, display=True) for s in OUTPUT_UNITS] == ["t C", "t CO₂"]
    # the column suffix of either spelling of a label
    assert [output_suffix(u) for u in ("t C", "t CO2", "t CO₂")] == ["tc", "tco2", "tco2"]
    assert suffix_factor("tc") == 1.0 and suffix_factor("tco2") == C_TO_CO2 == 44 / 12
    with pytest.raises(ValueError, match="tc, tco2"):
        unit_label("kg")
    # the suffix of the flux columns present (t CO2 first), by column templates
    assert flux_suffix(["unit_id", "net_tco2", "net_tco2_per_ha"]) == "tco2"
    assert flux_suffix({"net_tc": 1.0, "risk_levels": {}}) == "tc"
    assert flux_suffix(["emission_tc"]) is None
    assert flux_suffix(["emission_tc"], ("emission_{}", "net_{}")) == "tc"
    assert flux_suffix(["gi_z", "net_tco2_per_ha"], ("net_{}_per_ha",)) == "tco2"


def test_raster_density_units() -> None:
    from landcarbon.accounting.conversions import raster_density_units

    assert raster_density_units("t C") == "t C ha-1 yr-1"
    assert raster_density_units("t CO2") == "t CO2 ha-1 yr-1"
    with pytest.raises(ValueError, match="t C' or 't CO2"):
        raster_density_units("kg C")  # type: ignore[arg-type]


def test_implausible_coefficients_are_refused(tmp_path: Path) -> None:
    """A direct flux beyond +/-100 t C/ha/yr (an override of 1e6, a CSV value in kg C/m2
    labelled t C/ha/yr) is a typing or unit error: refused naming the class, value and
    source; -5 is accepted."""
    with pytest.raises(InputError, match=r"forest = 1e\+06 t C/ha/yr \(config override\)"):
        load_coefficients(overrides={"forest": 1e6})
    assert load_coefficients(overrides={"forest": -5.0}).tc_per_ha["forest"] == -5.0
    lines = (data_path("coefficients", "lai2010.csv").read_text(encoding="utf-8")
             .replace("water,-0.253,", "water,-253,"))
    (tmp_path / "typo.csv").write_text(lines, encoding="utf-8")
    with pytest.raises(InputError, match=r"water = -253 t C/ha/yr"):
        load_coefficients(tmp_path / "typo.csv")
