"""What every matplotlib figure of landcarbon shares: the bundled CJK font, an Agg canvas
with the fast PNG encoder, and the print resolution.

Figures are drawn on :class:`matplotlib.figure.Figure` objects with an Agg canvas (never
pyplot, no GUI backend) and written as 300-dpi PNGs by :func:`png`.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, ParamSpec

import numpy as np

from landcarbon.publish._png import encode_png
from landcarbon.publish.fonts import matplotlib_family

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["DPI", "cjk", "cjk_font", "figure", "import_for_drawing", "png", "warm_up"]

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
        with _rc():
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


def import_for_drawing(*, short_set_docs: bool = False) -> None:
    """Import what drawing a figure needs (matplotlib's figure, Agg canvas, text and ticker
    modules) now rather than at the first figure.

    ``short_set_docs``: for a process of landcarbon's own (the console script, the figure
    worker: :func:`landcarbon._resources.claim_process`), not a user's session. While its
    artist classes are defined, matplotlib writes every class's ``set()`` docstring by
    listing all its properties (``matplotlib.artist.kwdoc``): ~0.3 s of the ~0.6 s import on
    a slow machine, for text only ``help()`` shows. With this flag they get a one-line
    docstring pointing to the full one (matplotlib 3.x; skipped when the figure module is
    already imported or matplotlib has no such function)."""
    import sys

    import matplotlib.artist as artist

    full = getattr(artist, "kwdoc", None)
    short = (short_set_docs and callable(full) and "matplotlib.figure" not in sys.modules)
    if short:
        setattr(artist, "kwdoc",  # noqa: B010  (a module attribute, replaced for a moment)
                lambda a: "Properties: see matplotlib.artist.kwdoc(type(self)).")
    try:
        import matplotlib.figure
        import matplotlib.lines
        import matplotlib.ticker  # noqa: F401
        from matplotlib.backends import backend_agg  # noqa: F401
    finally:
        if short:
            setattr(artist, "kwdoc", full)  # noqa: B010


def warm_up() -> None:
    """Draw a small figure with Latin and CJK text in the bundled font, once: the first
    figure of a process pays for loading glyphs, font caches and the layout machinery
    (~0.3 s), which the figure worker does while it waits for its jobs."""
    with _rc():
        fig = figure(1.0, 0.6)
        ax = fig.subplots()
        ax.plot([0, 1], [0, 1])
        ax.set_title("碳 0123 ha")
        png(fig)


def _rc() -> Any:
    import matplotlib as mpl

    return mpl.rc_context({"font.family": "sans-serif", "axes.unicode_minus": False,
                           "font.sans-serif": [cjk_font(), "DejaVu Sans"]})


def figure(w: float, h: float,
           layout: Literal["constrained"] | None = "constrained") -> Figure:
    """A ``w`` x ``h`` inch figure (``layout`` engine) on the fast-PNG Agg canvas, at
    :data:`DPI` (its text is laid out once, at the resolution it is written at)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(w, h), dpi=DPI, layout=layout)
    _canvas_class()(fig)
    return fig


def png(fig: Figure, *, pad: float = 0.15) -> bytes:
    """``fig`` (made by :func:`figure`) as PNG bytes: :data:`DPI`, cropped to its content with
    a ``pad`` inch margin, ``Software`` text chunk ``landcarbon``.

    The figure is drawn once: its content box is measured on that drawing and the pixels are
    cropped to it (margin beyond the canvas in the figure's face colour); content drawn beyond
    the canvas (an English legend longer than the space beside a map) makes the canvas larger
    and the figure is drawn again. matplotlib's
    ``bbox_inches="tight"`` draws every artist twice (once to measure, once cropped): for a
    chart that is half its time, for a map of thousands of units seconds."""
    canvas = fig.canvas
    canvas.draw()  # layout engine and every artist, once
    box = fig.get_tightbbox(canvas.get_renderer())  # type: ignore[attr-defined]  # inches
    for _ in range(3):  # content beyond the canvas (a long legend): a larger canvas, again
        width, height = fig.get_size_inches()
        # (the margin may lie beyond the canvas: it is filled with the face colour)
        wide = max(box.x1 - width, -box.x0, 0.0)
        tall = max(box.y1 - height, -box.y0, 0.0)
        if wide < 1.0 / fig.dpi and tall < 1.0 / fig.dpi:
            break
        fig.set_size_inches(width + 2.0 * wide, height + 2.0 * tall)
        canvas.draw()
        box = fig.get_tightbbox(canvas.get_renderer())  # type: ignore[attr-defined]
    dpi = fig.dpi
    pixels = np.asarray(canvas.buffer_rgba())  # type: ignore[attr-defined]
    h, w = pixels.shape[:2]
    x0 = math.floor((box.x0 - pad) * dpi)
    x1 = math.ceil((box.x1 + pad) * dpi)
    top = h - math.ceil((box.y1 + pad) * dpi)
    bottom = h - math.floor((box.y0 - pad) * dpi)
    r0, r1, c0, c1 = max(top, 0), min(bottom, h), max(x0, 0), min(x1, w)
    if (r0, r1, c0, c1) == (top, bottom, x0, x1):  # within the canvas: a view, no copy
        out = pixels[top:bottom, x0:x1]
    else:
        face = np.round(np.asarray(fig.get_facecolor()) * 255).astype(np.uint8)
        out = np.empty((bottom - top, x1 - x0, 4), np.uint8)
        # filled as one 4-byte value a pixel (a 4-byte pattern repeated byte by byte is
        # ~15x slower: 36 ms for a 300-dpi map)
        out.view(np.uint32)[...] = face.view(np.uint32)[0]
        if r1 > r0 and c1 > c0:
            out[r0 - top:r1 - top, c0 - x0:c1 - x0] = pixels[r0:r1, c0:c1]
    return encode_png(out, dpi=dpi, text={"Software": "landcarbon"})
