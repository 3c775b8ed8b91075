"""Colour checks of every palette (issue 17): colour-blind safety under simulated
deuteranopia / protanopia (Machado 2009), sinks never warm, emissions never green; and the
CIEDE2000 implementation against Sharma et al.'s published test pairs."""

from __future__ import annotations

import math

import numpy as np
import pytest

from landcarbon.publish import palettes
from landcarbon.publish._html import NO_DATA, vocab
from landcarbon.publish.palettes import delta_e_2000, hex_to_lab, min_adjacent_delta_e
from landcarbon.publish.zone_layers import map_categories
from landcarbon.zoning.quadrants import hotspot_class_table, zone_table

VISIONS = ("normal", "deuteranopia", "protanopia")


@pytest.mark.parametrize(("lab1", "lab2", "expected"), [
    ((50.0, 2.6772, -79.7751), (50.0, 0.0, -82.7485), 2.0425),  # Sharma 2005, table 1
    ((50.0, 2.5, 0.0), (73.0, 25.0, -18.0), 27.1492),
    ((50.0, 2.5, 0.0), (50.0, 3.2592, 0.335), 1.0),
    ((2.0776, 0.0795, -1.135), (0.9033, -0.0636, -0.5514), 0.9082),
])
def test_ciede2000_matches_published_pairs(lab1, lab2, expected) -> None:  # type: ignore[no-untyped-def]
    assert delta_e_2000(np.array(lab1), np.array(lab2)) == pytest.approx(expected, abs=1e-4)


def test_grey_is_unchanged_by_the_simulation() -> None:
    for vision in VISIONS:
        lab = hex_to_lab("#808080", vision)
        assert abs(lab[1]) < 0.5 and abs(lab[2]) < 0.5


def _categorical() -> dict[str, list[str]]:
    out = {"risk_levels": [v[2] for v in vocab("risk_levels").values()],
           "space_types": [v[2] for v in vocab("space_types").values()] + [NO_DATA],
           "zones": list(zone_table()["color"])}
    for cat in ("alert", "sink_zone", "compensation_role", "carbon_risk_zone",
                "risk_transition"):
        out[cat] = [c for _, c in map_categories(cat, "en").values()]
    return out


@pytest.mark.parametrize("vision", VISIONS)
def test_categorical_palettes_every_pair_distinct(vision: str) -> None:
    for name, colours in _categorical().items():
        d = min_adjacent_delta_e(colours, vision, all_pairs=True)  # type: ignore[arg-type]
        assert d >= 10, (name, vision, round(d, 1))


@pytest.mark.parametrize("vision", VISIONS)
def test_graded_palettes_adjacent_classes_distinct(vision: str) -> None:
    ramps = {"emission": palettes.EMISSION_RAMP, "sink": palettes.SINK_RAMP,
             "net": palettes.NET_SINK + palettes.NET_SOURCE,
             "hot_spots": list(hotspot_class_table()["color"])}
    for name, colours in ramps.items():
        d = min_adjacent_delta_e(colours, vision)  # type: ignore[arg-type]
        assert d >= 10, (name, vision, round(d, 1))


def _hue(colour: str) -> tuple[float, float]:
    """CIELAB hue angle (degrees) and chroma."""
    _, a, b = hex_to_lab(colour)
    return math.degrees(math.atan2(b, a)) % 360, math.hypot(a, b)


def test_sinks_never_warm_and_emissions_never_green() -> None:
    risk = vocab("risk_levels")
    sinks = [*palettes.NET_SINK, *palettes.SINK_RAMP, *palettes.DIVERGING_SINK,
             palettes.SINK_COLOUR, risk["net_sink"][2]]
    emissions = [*palettes.EMISSION_RAMP, *palettes.NET_SOURCE, *palettes.DIVERGING_SOURCE,
                 palettes.EMISSION_COLOUR, risk["exceeding"][2], risk["severe"][2]]
    for c in sinks:  # warm = red, orange, yellow hues (0-100 degrees) with some chroma
        hue, chroma = _hue(c)
        assert not (chroma > 10 and (hue < 100 or hue > 345)), c
    for c in emissions:  # green hues: about 100-200 degrees
        hue, chroma = _hue(c)
        assert not (chroma > 10 and 100 <= hue <= 200), c


def test_legends_in_meaningful_order() -> None:
    assert list(vocab("risk_levels")) == ["net_sink", "within", "approaching", "exceeding",
                                          "severe", "no_data"]
    assert list(hotspot_class_table().index) == ["hot_99", "hot_95", "hot_90",
                                                 "not_significant", "cold_90", "cold_95",
                                                 "cold_99"]


def test_glossary_terms_are_used_by_every_label() -> None:
    from landcarbon._resources import data_path, read_csv
    from landcarbon.publish._html import glossary, ui

    table = read_csv(data_path("glossary.csv"))
    assert table["source"].str.len().min() > 10  # every term names its source
    terms = glossary()
    for kind in ("space_types", "land_classes", "risk_levels"):
        for key, (en, zh, _) in vocab(kind).items():
            if key in terms and kind == "space_types":
                assert (en, zh) == terms[key], key
    for key in ("emission", "sequestration", "net", "net_per_ha", "emission_per_ha",
                "sequestration_per_ha", "risk_level", "threshold"):
        assert ui(key, "zh") == terms[key][1] and ui(key, "en") == terms[key][0]
    # per-ha values are densities: 碳排放强度 (per GDP) never labels them
    labels = read_csv(data_path("ui_labels.csv"))
    per_ha = labels[labels["key"].str.contains("per_ha|flux")]
    assert not per_ha["zh"].str.contains("强度").any()
    assert vocab("land_classes")["cropland"][1] == terms["cropland"][1]
