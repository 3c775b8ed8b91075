"""Publishing: interactive maps of the assessed units table.

:func:`explore_units` is imported at first use (PEP 562): the figure worker and the table
writers use other publish modules without importing folium (~0.3 s).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["explore_units"]


def __getattr__(name: str) -> Any:
    if name != "explore_units":
        raise AttributeError(f"module 'landcarbon.publish' has no attribute {name!r}")
    from landcarbon.publish.maps import explore_units

    globals()[name] = explore_units
    return explore_units


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


if TYPE_CHECKING:  # pragma: no cover
    from landcarbon.publish.maps import explore_units
