"""What every matplotlib figure of landcarbon shares: the bundled CJK font, an Agg canvas
with the fast PNG encoder, and the print resolution.

Figures are drawn on :class:`matplotlib.figure.Figure` objects with an Agg canvas (never
pyplot, no GUI backend) and written as 300-dpi PNGs by :func:`png`.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, ParamSpec

import numpy as np

from landcarbon.publish._png import encode_png
from landcarbon.publish.fonts import matplotlib_family

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["DPI", "cjk", "cjk_font", "figure", "png"]

P = ParamSpec("P")
#: resolution of every PNG figure (print quality)
DPI = 300


def cjk_font() -> str:
    """Family name of the bundled CJK font, registered with matplotlib."""
    return matplotlib_family()


def cjk(fn: Callable[P, Any]) -> Callable[P, Any]:
    """Run a figure function with the bundled CJK font (matplotlib's global settings
    untouched)."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> Any:
        import matplotlib as mpl

        with mpl.rc_context({"font.family": "sans-serif", "axes.unicode_minus": False,
                             "font.sans-serif": [cjk_font(), "DejaVu Sans"]}):
            return fn(*args, **kwargs)
    return wrapper


@functools.cache
def _canvas_class() -> type:
    """An Agg canvas whose PNGs are encoded by :func:`~landcarbon.publish._png.encode_png`
    (exact pixels, no row filter, zlib level 3: about 5x faster than Pillow's encoder at
    300 dpi, files of the same order of size)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    class Canvas(FigureCanvasAgg):
        def print_png(self, filename_or_obj: Any, *, metadata: dict[str, str] | None = None,
                      pil_kwargs: dict[str, Any] | None = None, **_: Any) -> None:
            FigureCanvasAgg.draw(self)
            filename_or_obj.write(encode_png(np.asarray(self.buffer_rgba()),
                                             dpi=self.figure.dpi, text=metadata))

    return Canvas


def figure(w: float, h: float,
           layout: Literal["constrained"] | None = "constrained") -> Figure:
    """A ``w`` x ``h`` inch figure (``layout`` engine) on the fast-PNG Agg canvas, at
    :data:`DPI` (its text is laid out once, at the resolution it is written at)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(w, h), dpi=DPI, layout=layout)
    _canvas_class()(fig)
    return fig


def png(fig: Figure, *, laid_out: bool = False) -> bytes:
    """``fig`` as PNG bytes: :data:`DPI`, cropped to its content with a 0.15 inch margin,
    ``Software`` text chunk ``landcarbon``.

    ``laid_out``: the figure was laid out since its last layout change (by
    ``fig.draw_without_rendering()``, artists placed by data coordinates added since): its
    content box is measured as it stands instead of by a second pass over every artist
    (what ``bbox_inches="tight"`` does; a map of thousands of units draws once, not
    twice)."""
    buf = io.BytesIO()
    bbox: Any = "tight"
    if laid_out:
        bbox = fig.get_tightbbox(fig.canvas.get_renderer()).padded(0.15)  # type: ignore
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": "landcarbon"},
                bbox_inches=bbox, pad_inches=0.15)
    return buf.getvalue()
