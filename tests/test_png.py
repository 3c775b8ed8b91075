"""The fast PNG encoder of figures and map overlays (issue 16): exact pixels, print
resolution, metadata; static maps drawn together equal the maps drawn alone, without font
warnings."""

from __future__ import annotations

import io
import logging
import struct
import warnings
import zlib
from typing import Any

import geopandas as gpd
import numpy as np
import pytest
from PIL import Image
from shapely.geometry import MultiPolygon, box

from landcarbon.publish._png import encode_png


def _chunks(png: bytes) -> list[tuple[bytes, bytes]]:
    """(type, body) of every chunk, checking each CRC."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    out, at = [], 8
    while at < len(png):
        (n,) = struct.unpack(">I", png[at:at + 4])
        kind, body = png[at + 4:at + 8], png[at + 8:at + 8 + n]
        (crc,) = struct.unpack(">I", png[at + 8 + n:at + 12 + n])
        assert crc == zlib.crc32(kind + body) & 0xFFFFFFFF
        out.append((kind, body))
        at += 12 + n
    return out


def test_pixels_round_trip_exactly() -> None:
    rng = np.random.default_rng(0)
    for shape, mode in (((5, 7), "L"), ((5, 7, 3), "RGB"), ((5, 7, 4), "RGBA")):
        pixels = rng.integers(0, 256, shape, dtype=np.uint8)
        if len(shape) == 3 and shape[2] == 4:
            pixels[0, 0, 3] = 0  # one transparent pixel: stays RGBA
        with Image.open(io.BytesIO(encode_png(pixels))) as im:
            assert im.mode == mode and im.size == (7, 5)
            assert np.array_equal(np.asarray(im), pixels)
    # a window of a wider canvas (strided rows, as a cropped figure), opaque: written as RGB
    canvas = rng.integers(0, 256, (9, 11, 4), dtype=np.uint8)
    canvas[..., 3] = 255
    window = canvas[2:7, 3:10]
    with Image.open(io.BytesIO(encode_png(window))) as im:
        assert im.mode == "RGB" and im.size == (7, 5)
        assert np.array_equal(np.asarray(im), window[..., :3])


def test_opaque_rgba_is_written_as_rgb() -> None:
    pixels = np.zeros((2, 3, 4), dtype=np.uint8)
    pixels[..., 0], pixels[..., 3] = 200, 255
    png = encode_png(pixels)
    ihdr = dict(_chunks(png))[b"IHDR"]
    assert struct.unpack(">IIBBBBB", ihdr) == (3, 2, 8, 2, 0, 0, 0)  # colour type 2 = RGB
    # the IDAT holds each row unfiltered: filter byte 0 then R, G, B per pixel
    raw = zlib.decompress(dict(_chunks(png))[b"IDAT"])
    assert raw == (b"\x00" + b"\xc8\x00\x00" * 3) * 2


def test_resolution_and_text_chunks() -> None:
    png = encode_png(np.zeros((1, 1, 3), np.uint8), dpi=300, text={"Software": "landcarbon"})
    kinds = [k for k, _ in _chunks(png)]
    assert kinds == [b"IHDR", b"pHYs", b"tEXt", b"IDAT", b"IEND"]
    body = dict(_chunks(png))
    assert struct.unpack(">IIB", body[b"pHYs"]) == (11811, 11811, 1)  # 300 / 0.0254 per m
    assert body[b"tEXt"] == b"Software\0landcarbon"
    with Image.open(io.BytesIO(png)) as im:
        assert round(im.info["dpi"][0]) == 300 and im.info["Software"] == "landcarbon"


def test_bad_pixels_are_refused() -> None:
    with pytest.raises(ValueError, match="uint8"):
        encode_png(np.zeros((2, 2), np.float32))
    with pytest.raises(ValueError, match="pixels"):
        encode_png(np.zeros((2, 2, 2), np.uint8))


@pytest.fixture(scope="module")
def units() -> gpd.GeoDataFrame:
    geoms = [box(0, 0, 1000, 1000), MultiPolygon([box(1000, 0, 2000, 400),
                                                  box(1000, 600, 2000, 1000)]),
             box(0, 1000, 2000, 1500).difference(box(800, 1100, 1200, 1400))]
    return gpd.GeoDataFrame({"unit_id": ["1", "2", "3"],
                             "unit_name": ["金水街道", "龙湖镇", "东区"],
                             "risk_level": ["severe", "net_sink", "within"],
                             "space_type": ["construction", "ecological", "agricultural"]},
                            geometry=geoms, crs=32649)


def test_maps_drawn_together_equal_maps_drawn_alone(units: gpd.GeoDataFrame,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    from landcarbon.publish.figures import static_map, static_maps

    with caplog.at_level(logging.WARNING):
        both = static_maps(units, ("risk_level", "space_type"), title="地图", source="测试")
    # no "findfont: Failed to find font weight bold" (the bundled font has one weight)
    assert not [r for r in caplog.records if "findfont" in r.getMessage()]
    for column in ("risk_level", "space_type"):
        assert both[column] == static_map(units, column, title="地图", source="测试")
        with Image.open(io.BytesIO(both[column])) as im:
            assert im.mode == "RGB" and round(im.info["dpi"][0]) == 300
            assert im.size[0] > 2000  # 9 inches at 300 dpi, cropped to the content
            pixels = np.asarray(im)
        # the severe unit's fill (#b2182b) and the sink's (#2166ac) are drawn exactly
        colours = {tuple(int(c) for c in p) for p in pixels.reshape(-1, 3)[::7]}
        if column == "risk_level":
            assert (178, 24, 43) in colours and (33, 102, 172) in colours


def test_utm_zone_is_geopandas_estimate() -> None:
    """The UTM zone from the longitude equals geopandas' PROJ-database estimate (also on a
    zone border, the equator and across the antimeridian), for geographic and projected
    frames."""
    from landcarbon.engine.areas import utm_crs

    cases = [(113.6, 34.7), (114.0, 34.7), (-0.5, -33.9), (0.0, 0.0), (-179.5, 10.0),
             (179.9, -45.0), (6.0, 60.0), (-72.9, -13.5), (151.2, -33.9), (-122.4, 37.8)]
    for lon, lat in cases:
        frame = gpd.GeoDataFrame(geometry=[box(lon - 0.01, lat - 0.01, lon + 0.01,
                                               lat + 0.01)], crs=4326)
        assert utm_crs(frame) == frame.estimate_utm_crs(), (lon, lat)
        merc = frame.to_crs(3857)
        assert utm_crs(merc) == merc.estimate_utm_crs(), (lon, lat)
    across = gpd.GeoDataFrame(geometry=[box(179.5, 10, 180, 11), box(-180, 10, -179.7, 11)],
                              crs=4326).to_crs(3832)  # PDC Mercator: one piece over 180°
    assert utm_crs(across) == across.estimate_utm_crs()
    assert utm_crs(frame).to_epsg() == 32610  # -122.4: zone 10 north


def test_unit_names_never_overlap_and_largest_first() -> None:
    """Two names at one point: only the first (largest unit) is written; a name far away is
    written too, and one in the gap between them; a name on top of a kept one is not. The
    kept names are drawn as a white halo under dark glyphs (two path collections)."""
    from matplotlib.collections import PathCollection
    from matplotlib.font_manager import FontProperties

    from landcarbon.publish._mpl import cjk, figure
    from landcarbon.publish.static_maps import _choose_labels, _draw_labels, _make_labels

    points = [(20.0, 50.0, "金水区"), (20.5, 50.0, "二七区"), (80.0, 50.0, "中原区"),
              (50.0, 50.0, "惠济区"), (50.0, 52.0, "Xy")]

    @cjk
    def place() -> tuple[list[int], int, list[Any]]:
        fig = figure(4, 4, layout=None)
        ax = fig.add_axes((0, 0, 1, 1))
        ax.set_xlim(0, 100)
        ax.set_ylim(0, 100)
        kept = _choose_labels(fig, ax, points, FontProperties(size=7.5))
        places, outlines = _make_labels(fig, ax, points, 7.5)
        _draw_labels(fig, ax, places, outlines)
        return kept, len(places), [c for c in ax.collections if isinstance(c, PathCollection)]

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every glyph in the bundled font
        kept, n, drawn = place()
    assert kept == [0, 2, 3] and n == 3
    halo, glyphs = drawn
    assert len(halo.get_paths()) == len(glyphs.get_paths()) == 3
    np.testing.assert_array_equal(halo.get_offsets(), [(20, 50), (80, 50), (50, 50)])
    assert halo.get_linewidths()[0] == 2.2 and glyphs.get_zorder() == halo.get_zorder()
    # each outline centred on its place: as wide left as right of it
    for path in glyphs.get_paths():
        drawn = path.vertices[path.codes != path.CLOSEPOLY]
        lo, hi = drawn.min(axis=0), drawn.max(axis=0)
        np.testing.assert_allclose(lo, -hi, atol=1e-9)


def test_figure_png_is_one_drawing_cropped_to_its_content() -> None:
    """``_mpl.png`` draws the figure once and crops the pixels to the content's box plus the
    margin; a margin beyond the canvas is the figure's face colour. A 4 x 3 inch figure whose
    only content is a 1 x 1 inch black square at (1, 1) inch: 1 + 2 x 0.15 inch square at
    300 dpi, black inside, white margin."""
    from matplotlib.artist import Artist
    from matplotlib.patches import Rectangle

    from landcarbon.publish._mpl import DPI, figure, png

    draws = []

    class Counted(Rectangle):
        def draw(self, renderer: Any) -> None:
            draws.append(1)
            super().draw(renderer)

    fig = figure(4, 3, layout=None)
    fig.add_artist(Counted((1 / 4, 1 / 3), 1 / 4, 1 / 3, transform=fig.transFigure,
                           facecolor="black", edgecolor="none"))
    assert isinstance(fig, Artist)
    img = np.asarray(Image.open(io.BytesIO(png(fig))).convert("RGB"))
    assert len(draws) == 1  # bbox_inches="tight" would have drawn it twice
    side = round((1 + 2 * 0.15) * DPI)
    assert abs(img.shape[0] - side) <= 1 and abs(img.shape[1] - side) <= 1
    margin = round(0.15 * DPI)
    assert (img[margin + 2:-margin - 2, margin + 2:-margin - 2] == 0).all()
    assert (img[:margin - 2] == 255).all() and (img[:, :margin - 2] == 255).all()
    assert (img[-margin + 2:] == 255).all() and (img[:, -margin + 2:] == 255).all()
    # content at the canvas edge: the margin beyond it is filled with the face colour
    fig = figure(2, 2, layout=None)
    fig.set_facecolor("#ff0000")
    fig.add_artist(Rectangle((0, 0), 0.5, 0.5, transform=fig.transFigure, facecolor="blue",
                             edgecolor="none"))
    img = np.asarray(Image.open(io.BytesIO(png(fig))).convert("RGB"))
    assert tuple(img[0, 0]) == (255, 0, 0) and tuple(img[-1, 0]) == (255, 0, 0)
    assert tuple(img[-margin - 5, margin + 5]) == (0, 0, 255)


def test_short_set_docs_only_where_asked(tmp_path: Any) -> None:
    """In a process of landcarbon's own the artists' ``set()`` docstrings are one line and
    matplotlib's ``kwdoc`` is restored after the import; in a user's session (no flag) they
    are matplotlib's own."""
    import subprocess
    import sys

    code = ("import sys; from landcarbon.publish._mpl import import_for_drawing; "
            "import_for_drawing(short_set_docs=sys.argv[1] == 'own'); "
            "import matplotlib.artist as a, matplotlib.lines as l; "
            "print(len(l.Line2D.set.__doc__), a.kwdoc.__name__)")
    own = subprocess.run([sys.executable, "-c", code, "own"], capture_output=True, text=True,
                         check=True).stdout.split()
    user = subprocess.run([sys.executable, "-c", code, "user"], capture_output=True,
                          text=True, check=True).stdout.split()
    assert own[1] == user[1] == "kwdoc"  # restored
    assert int(own[0]) < 1000 < 2000 < int(user[0])  # "Properties:" list of every setter
    # a figure drawn after the short import is the same picture
    draw = ("import sys, hashlib; from landcarbon.publish._mpl import import_for_drawing, "
            "figure, png, warm_up; import_for_drawing(short_set_docs=sys.argv[1] == 'own'); "
            "warm_up(); fig = figure(2, 1); ax = fig.subplots(); ax.plot([0, 1], [1, 0]); "
            "ax.set_title('碳 sink'); print(hashlib.sha256(png(fig)).hexdigest())")
    a = subprocess.run([sys.executable, "-c", draw, "own"], capture_output=True, text=True,
                       check=True).stdout
    b = subprocess.run([sys.executable, "-c", draw, "user"], capture_output=True, text=True,
                       check=True).stdout
    assert a == b and len(a.strip()) == 64


def test_console_script_claims_its_process() -> None:
    """``landcarbon`` (the console script's entry) marks its process as its own; importing
    landcarbon in a session does not."""
    import subprocess
    import sys

    from landcarbon import _resources

    assert not _resources.own_process()
    code = ("import sys, atexit, gc; from landcarbon import _resources; "
            "atexit.register(lambda: print('own', _resources.own_process(), gc.get_threshold())); "
            "sys.argv = ['landcarbon', '--version']; from landcarbon.cli import entry; entry()")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0 and f"own True {_resources.GC_THRESHOLDS}" in out.stdout
    import gc

    assert gc.get_threshold() != _resources.GC_THRESHOLDS  # this session: Python's own


def test_content_beyond_the_canvas_is_drawn_on_a_larger_one() -> None:
    """A legend longer than the room beside a map (English labels) was cut at the canvas
    edge: the canvas grows until the content fits, so the text is as wide as on a canvas
    that had room for it."""
    from landcarbon.publish._mpl import DPI, figure, png

    def text_width(width: float) -> int:
        fig = figure(width, 3, layout=None)
        fig.text(0.2 * 4 / width, 0.5, "Construction space (14) " * 3, fontsize=9)
        image = np.asarray(Image.open(io.BytesIO(png(fig))).convert("L"))
        dark = np.flatnonzero((image < 128).any(axis=0))
        assert dark.max() < image.shape[1] - 0.1 * DPI  # inside the right margin
        return int(dark.max() - dark.min())

    assert abs(text_width(4) - text_width(12)) <= 2
