"""Colour checks of the map and figure palettes: colour-vision-deficiency simulation and the
CIEDE2000 colour difference.

The simulation applies the Machado, Oliveira & Fernandes (2009) matrices for full protanopia
and deuteranopia (severity 1.0) to linear sRGB ("A physiologically-based model for simulation
of color vision deficiency", IEEE TVCG 15(6)); ΔE is CIEDE2000 in CIELAB (D65), as given by
Sharma, Wu & Dalal (2005), "The CIEDE2000 color-difference formula: implementation notes".
The palettes themselves live in the vocabulary CSVs (``color`` columns) and in
:mod:`landcarbon.publish.maps`; ``tests/test_palettes.py`` checks them with these functions.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np

__all__ = ["DIVERGING_SINK", "DIVERGING_SOURCE", "EMISSION_COLOUR", "EMISSION_RAMP", "NET_SINK",
           "NET_SOURCE", "SINK_COLOUR", "SINK_RAMP", "delta_e_2000", "hex_to_lab",
           "min_adjacent_delta_e", "simulate_cvd"]

Vision = Literal["normal", "protanopia", "deuteranopia"]

_MACHADO = {
    "protanopia": np.array([[0.152286, 1.052583, -0.204868],
                            [0.114503, 0.786281, 0.099216],
                            [-0.003882, -0.048116, 1.051998]]),
    "deuteranopia": np.array([[0.367322, 0.860646, -0.227968],
                              [0.280085, 0.672501, 0.047413],
                              [-0.011820, 0.042940, 0.968881]]),
}
_RGB_TO_XYZ = np.array([[0.4124564, 0.3575761, 0.1804375],
                        [0.2126729, 0.7151522, 0.0721750],
                        [0.0193339, 0.1191920, 0.9503041]])
_WHITE = np.array([0.95047, 1.0, 1.08883])


def _linear(colour: str) -> np.ndarray:
    c = colour.lstrip("#")
    srgb = np.array([int(c[i:i + 2], 16) / 255 for i in (0, 2, 4)])
    return np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)


def simulate_cvd(colour: str, vision: Vision) -> np.ndarray:
    """Linear sRGB (0-1) of ``colour`` (``#rrggbb``) as seen with ``vision``."""
    lin = _linear(colour)
    if vision == "normal":
        return lin
    return np.clip(_MACHADO[vision] @ lin, 0.0, 1.0)


def _lab(lin: np.ndarray) -> np.ndarray:
    xyz = _RGB_TO_XYZ @ lin / _WHITE
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def hex_to_lab(colour: str, vision: Vision = "normal") -> np.ndarray:
    """CIELAB (D65) of ``colour`` as seen with ``vision``: array ``[L*, a*, b*]``."""
    return _lab(simulate_cvd(colour, vision))


def delta_e_2000(lab1: np.ndarray, lab2: np.ndarray) -> float:
    """CIEDE2000 colour difference of two CIELAB colours (kL = kC = kH = 1)."""
    l1, a1, b1 = (float(v) for v in lab1)
    l2, a2, b2 = (float(v) for v in lab2)
    c_bar = (math.hypot(a1, b1) + math.hypot(a2, b2)) / 2
    g = 0.5 * (1 - math.sqrt(c_bar ** 7 / (c_bar ** 7 + 25 ** 7)))
    a1p, a2p = (1 + g) * a1, (1 + g) * a2
    c1p, c2p = math.hypot(a1p, b1), math.hypot(a2p, b2)
    h1p = math.degrees(math.atan2(b1, a1p)) % 360 if c1p else 0.0
    h2p = math.degrees(math.atan2(b2, a2p)) % 360 if c2p else 0.0
    dl, dc = l2 - l1, c2p - c1p
    dh = 0.0
    if c1p * c2p:
        dh = h2p - h1p
        dh = dh - 360 if dh > 180 else dh + 360 if dh < -180 else dh
    d_h = 2 * math.sqrt(c1p * c2p) * math.sin(math.radians(dh / 2))
    l_bar, cp_bar = (l1 + l2) / 2, (c1p + c2p) / 2
    if c1p * c2p == 0:
        h_bar = h1p + h2p
    elif abs(h1p - h2p) <= 180:
        h_bar = (h1p + h2p) / 2
    else:
        h_bar = (h1p + h2p + 360) / 2 if h1p + h2p < 360 else (h1p + h2p - 360) / 2
    t = (1 - 0.17 * math.cos(math.radians(h_bar - 30)) + 0.24 * math.cos(math.radians(2 * h_bar))
         + 0.32 * math.cos(math.radians(3 * h_bar + 6))
         - 0.20 * math.cos(math.radians(4 * h_bar - 63)))
    d_theta = 30 * math.exp(-(((h_bar - 275) / 25) ** 2))
    rc = 2 * math.sqrt(cp_bar ** 7 / (cp_bar ** 7 + 25 ** 7))
    sl = 1 + 0.015 * (l_bar - 50) ** 2 / math.sqrt(20 + (l_bar - 50) ** 2)
    sc, sh = 1 + 0.045 * cp_bar, 1 + 0.015 * cp_bar * t
    rt = -math.sin(math.radians(2 * d_theta)) * rc
    return math.sqrt((dl / sl) ** 2 + (dc / sc) ** 2 + (d_h / sh) ** 2
                     + rt * (dc / sc) * (d_h / sh))


def min_adjacent_delta_e(colours: list[str], vision: Vision, *, all_pairs: bool = False
                         ) -> float:
    """Smallest CIEDE2000 difference between neighbouring colours of a legend (or between any
    two, ``all_pairs``) as seen with ``vision``."""
    labs = [hex_to_lab(c, vision) for c in colours]
    pairs = ([(i, j) for i in range(len(labs)) for j in range(i + 1, len(labs))] if all_pairs
             else [(i, i + 1) for i in range(len(labs) - 1)])
    return min((delta_e_2000(labs[i], labs[j]) for i, j in pairs), default=math.inf)


# -- the palettes (checked by tests/test_palettes.py) ------------------------------------------
#: emission bars and graded emission classes: warm, never green
EMISSION_COLOUR = "#b2182b"
#: sequestration bars: blue, never warm
SINK_COLOUR = "#2166ac"
#: graded emission densities (light to dark), adjacent ΔE2000 >= 10 under CVD
EMISSION_RAMP = ["#ffeda0", "#feb24c", "#f03b20", "#a50f15", "#4d0000"]
#: graded sequestration densities (light to dark blue)
SINK_RAMP = ["#e6f0fa", "#a6cbe6", "#5a9bd0", "#2a62a8", "#0b2e66"]
#: net values: sinks (strongest first) in blues, sources (weakest first) in warm colours
NET_SINK = ["#2166ac", "#67a9cf"]
NET_SOURCE = ["#fddbc7", "#f4a582", "#d6604d", "#b2182b"]
#: continuous ramp of the net-flux raster, broken at 0 so that 0 is marked and a weak source
#: (cropland) never looks neutral: sinks from the strongest to ~0, sources from ~0 upwards
DIVERGING_SINK = ["#2166ac", "#d1e5f0"]
DIVERGING_SOURCE = ["#fddbc7", "#d6604d", "#67001f"]
