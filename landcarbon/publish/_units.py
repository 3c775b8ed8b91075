"""Display units of report columns: one unit and one number format per column.

In Chinese, a column of totals is written in 万吨 when its largest value reaches 10^4 t
(otherwise in 吨), money in 万元, areas in 公顷; in English in t, the currency and ha. The
values are never changed, only divided for display.

A run's ``[output] mass_scale`` and ``area_unit`` (:class:`~landcarbon.accounting.display_units.
DisplayUnits`) apply inside :func:`display_scope`: ``mass_scale = "t"`` or ``"wan_t"`` fixes
the unit of every column of totals (``auto`` keeps the per-column rule above) and
``area_unit = "mu"`` shows areas in 亩 (x 15). The pipeline opens the scope around the
pages of a run, so the page functions need no extra argument."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import numpy as np
import pandas as pd

from landcarbon.accounting.conversions import MU_PER_HA
from landcarbon.publish._html import fmt_fixed

__all__ = ["area_column", "display_scope", "money_column", "total_column", "total_scale",
           "wan_decimals"]

#: at and above this size (t) a Chinese column of totals is written in 万吨
WAN = 1e4

#: ``(mass_scale, area_unit)`` of the pages being drawn (see :func:`display_scope`)
_DISPLAY: ContextVar[tuple[str, str]] = ContextVar("landcarbon_display", default=("auto", "ha"))


@contextmanager
def display_scope(mass_scale: str = "auto", area_unit: str = "ha") -> Iterator[None]:
    """Within the block, columns of totals and areas follow ``mass_scale`` (``t``, ``wan_t``
    or ``auto``) and ``area_unit`` (``ha`` or ``mu``)."""
    token = _DISPLAY.set((mass_scale, area_unit))
    try:
        yield
    finally:
        _DISPLAY.reset(token)


def _fixed(x: Any, decimals: int, scale: float = 1.0) -> str:
    """``x / scale`` with ``decimals`` decimals (the same for every row of a column)."""
    return fmt_fixed(None if x is None else float(x) / scale, decimals)


def _largest(values: Iterable[Any]) -> float:
    v = pd.to_numeric(pd.Series(list(values), dtype=object), errors="coerce").to_numpy(float)
    v = np.abs(v[np.isfinite(v)])
    return float(v.max()) if v.size else 0.0


def total_column(values: Iterable[Any], unit: str, lang: str, *, per_year: bool = True
                 ) -> tuple[str, Callable[[Any], str]]:
    """Unit label and formatter of a column of totals in ``unit`` (``t C`` / ``t CO₂``).

    Returns
    -------
    (str, callable)
        ``("万吨 C/年", x -> "13.13")`` for a Chinese column reaching 10^4 t (2 decimals),
        ``("吨 C/年", x -> "152.3")`` below it, ``("t C/yr", x -> "131,448.1")`` in English
        (1 decimal); without ``per_year`` the ``/年`` (``/yr``) is left out (stocks).
    """
    zh = lang == "zh"
    gas = unit[2:] if unit.startswith("t ") else unit
    year = ("/年" if zh else "/yr") if per_year else ""
    mass = _DISPLAY.get()[0]
    largest = _largest(values)
    if mass == "wan_t" or (mass == "auto" and zh and largest >= WAN):
        decimals = wan_decimals(largest)
        return (f"{'万吨' if zh else '10^4 t'} {gas}{year}",
                lambda x: _fixed(x, decimals, WAN))
    return (f"吨 {gas}{year}" if zh else f"t {gas}{year}"), lambda x: _fixed(x, 1)


def wan_decimals(largest_t: float) -> int:
    """Decimals of a column in 万吨 whose largest value is ``largest_t`` (t): 2, or more
    (up to 6) so that the largest shows 3 significant figures (``[output] mass_scale =
    "wan_t"`` on a small study area showed every value as 0.00)."""
    wan = largest_t / WAN
    if not wan > 0 or wan >= 0.1:
        return 2
    return min(6, max(2, 2 - math.floor(math.log10(wan))))


def total_scale(values: Iterable[Any], unit: str, lang: str) -> tuple[str, float, int]:
    """Label, divisor and decimals of annual totals shown on a map layer, by the rule of
    :func:`total_column`: ``("万吨 C/年", 1e4, 2)`` (more decimals for small totals),
    ``("吨 C/年", 1, 1)`` or ``("t C/yr", 1, 1)``."""
    label, _ = total_column(values, unit, lang)
    if label.startswith(("万", "10^4")):
        return label, WAN, wan_decimals(_largest(values))
    return label, 1.0, 1


def money_column(currency: str, lang: str) -> tuple[str, Callable[[Any], str]]:
    """Unit label and formatter of a column of money: 万元 (2 decimals) for yuan in Chinese,
    whole units of ``currency`` otherwise."""
    if lang == "zh" and currency.upper() in ("CNY", "RMB", "YUAN", "元", ""):
        return "万元", lambda x: _fixed(x, 2, WAN)
    return currency or "CNY", lambda x: fmt_fixed(x, 0)


def area_column(lang: str) -> tuple[str, Callable[[Any], str]]:
    """Unit label and formatter of a column of areas given in ha: 公顷 / ha, 1 decimal; 亩 /
    mu (x 15) inside a :func:`display_scope` with ``area_unit = "mu"``."""
    if _DISPLAY.get()[1] == "mu":
        return ("亩" if lang == "zh" else "mu"), lambda x: fmt_fixed(
            None if x is None else float(x) * MU_PER_HA, 1)  # x 15: 15 ha are 225 亩 exactly
    return ("公顷" if lang == "zh" else "ha"), lambda x: fmt_fixed(x, 1)
