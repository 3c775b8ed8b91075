"""Graded colour classes of numeric unit values (quantiles; net values split at 0 into sink
classes in blues and source classes in warm colours), their fills and legends."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from landcarbon.publish._html import NO_DATA, fmt, swatches, ui
from landcarbon.publish.palettes import EMISSION_RAMP, NET_SINK, NET_SOURCE, SINK_RAMP

__all__ = ["class_fills", "class_legend", "numeric_classes", "quantile_classes"]


def quantile_classes(v: np.ndarray, colours: list[str]) -> list[tuple[float, float, str]]:
    """Quantile classes (mapclassify's ``Quantiles`` bins) of finite values: ``[(low, high,
    colour)]``."""
    from landcarbon.zoning.quadrants import quantile_bins

    k = min(len(colours), len(np.unique(v)))
    if k == 0:
        return []
    bins = quantile_bins(v, k) if k > 1 else np.array([v.max()])
    lows = [float(v.min()), *bins[:-1].tolist()]
    step = (len(colours) - 1) / max(len(bins) - 1, 1)
    return [(lo, float(hi), colours[round(i * step)])
            for i, (lo, hi) in enumerate(zip(lows, bins, strict=True))]


def numeric_classes(values: pd.Series, key: str) -> list[tuple[float, float, str]]:
    """Colour classes of a numeric layer: quantiles of the sinks (blues) and of the sources
    (light to dark red) for net values, quantiles on one ramp otherwise. Classes (not a linear
    ramp) keep small differences visible when a few units have extreme values."""
    v = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    v = v[np.isfinite(v)]
    if key == "net_per_ha" or (v.size and v.min() < 0 < v.max()):
        return (quantile_classes(v[v < 0], NET_SINK)
                + quantile_classes(v[v >= 0], NET_SOURCE))
    return quantile_classes(v, SINK_RAMP if key == "sequestration_per_ha" else EMISSION_RAMP)


def class_fills(classes: list[tuple[float, float, str]], x: np.ndarray) -> list[str]:
    """Colour of each value: the first class whose upper bound it does not exceed."""
    if not classes:  # no finite value at all
        return [NO_DATA] * len(x)
    highs = np.array([hi for _, hi, _ in classes])
    cols = [c for _, _, c in classes]
    idx = np.minimum(np.searchsorted(highs, x, side="left"), len(cols) - 1)
    return [cols[i] if np.isfinite(val) else NO_DATA for i, val in zip(idx, x, strict=True)]


def class_legend(classes: list[tuple[float, float, str]], title: str, lang: str,
                 value: Callable[[float], str] = fmt) -> str:
    """Legend of graded classes, low to high, with their value ranges (each written by
    ``value``); a ``0`` line between sink and source classes, and the no-data class."""
    items: list[tuple[str, str]] = []
    for k, (lo, hi, c) in enumerate(classes):
        if k and classes[k - 1][1] < 0 <= lo:
            items.append(("0", ""))
        items.append((f"{value(lo)} – {value(hi)}", c))
    items.append((ui("no_data", lang), NO_DATA))
    return swatches(title, items)
