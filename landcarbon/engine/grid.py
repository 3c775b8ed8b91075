"""The one rounding rule from coordinates to the pixels of a north-up grid (used by the
extent crop and by the windows of big rasters)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from affine import Affine

__all__ = ["EDGE_TOLERANCE_PX", "bounds_window"]

#: Bound coordinates within this fraction of a pixel of a pixel edge count as on the edge
#: (floating-point noise of reprojected or computed bounds does not add a row or column).
EDGE_TOLERANCE_PX = 1e-9


def bounds_window(transform: Affine, width: int, height: int,
                  bounds: tuple[float, float, float, float]
                  ) -> tuple[int, int, int, int] | None:
    """Pixel rows and columns ``(row_start, row_stop, col_start, col_stop)`` of a north-up
    grid covering ``bounds`` (``minx, miny, maxx, maxy`` in the grid's CRS).

    The one rounding rule of landcarbon's windows and crops: snapped outwards to whole pixels
    (every pixel that the bounds reach into is kept), except that a bound within
    :data:`EDGE_TOLERANCE_PX` of a pixel edge counts as on that edge; then cut to the grid.
    ``None`` if the bounds do not overlap the grid.
    """
    inv = ~transform
    cols, rows = zip(*(inv * (x, y) for x in (bounds[0], bounds[2])
                       for y in (bounds[1], bounds[3])), strict=True)
    r0 = max(0, math.floor(min(rows) + EDGE_TOLERANCE_PX))
    r1 = min(height, math.ceil(max(rows) - EDGE_TOLERANCE_PX))
    c0 = max(0, math.floor(min(cols) + EDGE_TOLERANCE_PX))
    c1 = min(width, math.ceil(max(cols) - EDGE_TOLERANCE_PX))
    if r1 <= r0 or c1 <= c0:
        return None
    return r0, r1, c0, c1
