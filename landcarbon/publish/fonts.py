"""The bundled CJK font (Noto Sans SC subset, SIL OFL 1.1): figures and HTML pages render
Chinese with it whatever fonts the machine has.

* :func:`matplotlib_family` registers it with matplotlib (``font_manager.addfont``) and
  returns its family name;
* :func:`font_face_css` returns an ``@font-face`` rule embedding (base64 WOFF) the part of the
  font that a page uses, so a page opened from disk on a machine without CJK fonts still shows
  Chinese and stays small (a few hundred glyphs, not 7,600).
"""

from __future__ import annotations

import base64
import io
from functools import cache
from pathlib import Path

__all__ = ["CSS_FAMILY", "FAMILY", "WOFF_MAGIC", "embed_font", "font_face_css",
           "font_face_script", "font_path", "matplotlib_family"]

#: family name of the bundled font (as matplotlib and CSS know it)
FAMILY = "Noto Sans SC landcarbon"
#: the first bytes of a WOFF 1.0 file (what the ``@font-face`` rules declare, zlib-compressed:
#: no brotli needed as WOFF2 would)
WOFF_MAGIC = b"wOFF"
#: CSS ``font-family`` value of every page: the embedded font first, then system fonts
CSS_FAMILY = (f'"{FAMILY}","Noto Sans CJK SC","Source Han Sans SC","Microsoft YaHei",'
              '"PingFang SC",sans-serif')


def font_path() -> Path:
    """Path of the bundled OpenType font file."""
    from landcarbon._resources import data_path

    return data_path("fonts", "NotoSansSC-landcarbon.otf")


@cache
def matplotlib_family() -> str:
    """Register the bundled font with matplotlib (once) and return its family name."""
    from matplotlib import font_manager

    path = font_path()
    font_manager.fontManager.addfont(str(path))
    return font_manager.FontProperties(fname=str(path)).get_name()


@cache
def _subset_woff(chars: str) -> bytes:
    """The WOFF subset of the bundled font holding ``chars``; kept in the user's cache
    folder (subsetting costs seconds; the same page text gives the same subset)."""
    import hashlib

    import fontTools

    from landcarbon._resources import user_cache_dir

    stat = font_path().stat()
    key = hashlib.blake2b(f"woff1:{stat.st_size}:{stat.st_mtime_ns}:{fontTools.version}:{chars}"
                          .encode(), digest_size=16).hexdigest()
    folder = user_cache_dir("fonts")
    cached = folder / f"{key}.woff" if folder is not None else None
    if cached is not None and cached.is_file():
        data = cached.read_bytes()
        if data[:4] == WOFF_MAGIC:  # never serve other bytes (an older cache) as WOFF
            return data
    data = _make_subset(chars)
    if cached is not None:
        try:
            tmp = cached.with_suffix(f".{__import__('os').getpid()}.part")
            tmp.write_bytes(data)
            tmp.replace(cached)
        except OSError:
            pass
    return data


def _make_subset(chars: str) -> bytes:
    from fontTools import subset
    from fontTools.ttLib import TTFont

    font = TTFont(str(font_path()))
    options = subset.Options()
    options.flavor = "woff"
    options.hinting = False
    options.notdef_outline = True
    sub = subset.Subsetter(options)
    sub.populate(unicodes=[ord(c) for c in chars])
    sub.subset(font)
    font.flavor = "woff"
    buf = io.BytesIO()
    font.save(buf)
    return buf.getvalue()


_ASCII = bytes(range(0x80))


def _page_chars(*texts: str) -> str:
    """Every character a page may show: its text (``texts``: e.g. the page and the data a
    map keeps apart from it), HTML entities decoded and the ``\\uXXXX`` escapes of its
    scripts' JSON, plus printable ASCII (each kind found by one scan of the page, then
    decoded once per distinct entity or escape: maps of tens of megabytes)."""
    import html
    import re

    chars: set[str] = set()
    entities: set[str] = set()
    escapes: set[str] = set()
    for text in texts:
        for at in range(0, len(text), _CHARS_AT_ONCE):
            # the non-ASCII characters: ASCII bytes never occur inside a UTF-8 multi-byte
            # sequence, so deleting them from the encoded text leaves those characters' bytes
            piece = text[at:at + _CHARS_AT_ONCE]
            chars |= set(piece.encode("utf-8", "surrogatepass").translate(None, _ASCII)
                         .decode("utf-8", "surrogatepass"))
        entities |= set(re.findall(r"&(?:[A-Za-z][A-Za-z0-9]{1,31}|#[0-9]{1,7}|"
                                   r"#[xX][0-9a-fA-F]{1,6});", text))
        # \\u escapes of non-ASCII characters only (a map escapes "<" in thousands of popups)
        escapes |= set(re.findall(r"\\u(00[89a-fA-F][0-9a-fA-F]|0[1-9a-fA-F][0-9a-fA-F]{2}|"
                                  r"[1-9a-fA-F][0-9a-fA-F]{3})", text))
    for entity in entities:
        chars |= set(html.unescape(entity))
    chars |= {chr(int(h, 16)) for h in escapes}
    chars = {c for c in chars if ord(c) > 0x7F} | {chr(c) for c in range(0x20, 0x7F)}
    return "".join(sorted(chars))


#: characters encoded at a time when a page's characters are listed (a map's data: tens of MB)
_CHARS_AT_ONCE = 1 << 22


def _font_b64(*texts: str) -> str:
    return base64.b64encode(_subset_woff(_page_chars(*texts))).decode("ascii")


def font_face_css(*texts: str) -> str:
    """An ``@font-face`` rule (no ``<style>`` tag) embedding the glyphs of ``texts``.

    Parameters
    ----------
    *texts : str
        Everything the page may display (its rendered HTML is fine: tags only add ASCII).
        Printable ASCII is always included.

    Returns
    -------
    str
        CSS defining the font family :data:`FAMILY` from a base64 WOFF data URL.
    """
    return (f'@font-face{{font-family:"{FAMILY}";font-style:normal;font-weight:400 700;'
            f'font-display:block;src:url(data:font/woff;base64,{_font_b64(*texts)}) '
            'format("woff")}')


def font_face_script(*texts: str) -> str:
    """A ``<script>`` adding the glyphs of ``texts`` as a ``FontFace`` from bytes (used by the
    maps: in Chromium with no system font at all, a data-URL ``@font-face`` of a page that
    runs Leaflet ends in status "error"; a FontFace built from bytes loads)."""
    return (f'<script>(function(){{var b=atob("{_font_b64(*texts)}"),u=new Uint8Array(b.length);'
            "for(var i=0;i<b.length;i++){u[i]=b.charCodeAt(i);}"
            f'document.fonts.add(new FontFace("{FAMILY}",u.buffer,{{weight:"400 700"}}));'
            "})();</script>")


def embed_font(html_text: str, *, script: bool = False, also: list[str] | None = None
               ) -> str:
    """``html_text`` with the glyphs of its own text (and of ``also``: the data a map keeps
    apart from its page) embedded: an ``@font-face`` style before ``</head>`` or
    (``script``) a :func:`font_face_script` first in ``<head>``."""
    if script:
        # (one replace: slicing and joining a report of tens of MB made three copies of it)
        tag = font_face_script(html_text, *(also or []))
        return (html_text.replace("<head>", "<head>" + tag, 1) if "<head>" in html_text
                else tag + html_text)
    style = f"<style>{font_face_css(html_text, *(also or []))}</style>"
    return (html_text.replace("</head>", style + "</head>", 1) if "</head>" in html_text
            else style + html_text)
