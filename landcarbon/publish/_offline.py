"""Make folium HTML self-contained: inline the vendored Leaflet instead of loading CDNs."""

from __future__ import annotations

import base64
import re
import warnings
from collections.abc import Callable
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

__all__ = ["VENDOR_DIR", "make_offline"]

VENDOR_DIR = Path(__file__).with_name("vendor")

#: basename of a CDN URL -> vendored file (relative to VENDOR_DIR)
_LOCAL_COPIES = {
    "leaflet.js": "leaflet/leaflet.js",
    "leaflet.css": "leaflet/leaflet.css",
    "Control.FullScreen.min.js": "leaflet-fullscreen/Control.FullScreen.js",
    "Control.FullScreen.js": "leaflet-fullscreen/Control.FullScreen.js",
    "Control.FullScreen.css": "leaflet-fullscreen/Control.FullScreen.css",
    "leaflet-search.min.js": "leaflet-search/dist/leaflet-search.min.js",
    "leaflet-search.min.css": "leaflet-search/dist/leaflet-search.min.css",
}
_MIME = {".png": "image/png", ".gif": "image/gif", ".svg": "image/svg+xml"}

_URL = r"""(?:https?:)?//[^"'\s>]+"""
_SCRIPT = re.compile(
    rf"""<script\b[^>]*?\bsrc\s*=\s*["']({_URL})["'][^>]*>\s*</script\s*>""", re.IGNORECASE
)
_LINK = re.compile(rf"""<link\b[^>]*?\bhref\s*=\s*["']({_URL})["'][^>]*?/?>""", re.IGNORECASE)
_SOURCE_MAP = re.compile(r"^\s*//[#@] sourceMappingURL=.*$", re.MULTILINE)
_CSS_URL = re.compile(
    r"""url\(\s*["']?((?:\.\./)?[\w-]+(?:/[\w.-]+)*\.(?:png|gif|svg))["']?\s*\)""")


@cache
def _read_vendor(relpath: str) -> str:
    return (VENDOR_DIR / relpath).read_text(encoding="utf-8")


def _inline_js(relpath: str) -> str:
    code = _SOURCE_MAP.sub("", _read_vendor(relpath))
    # "</script" inside a string literal would close the element early
    code = re.sub(r"</(script)", r"<\\/\1", code, flags=re.IGNORECASE)
    return f"<script>{code}</script>"


def _inline_css(relpath: str) -> str:
    folder = (VENDOR_DIR / relpath).parent

    def data_uri(match: re.Match[str]) -> str:
        image = (folder / match.group(1)).resolve()
        if not image.is_file() or VENDOR_DIR.resolve() not in image.parents:
            return "none"  # e.g. marker icons: not vendored, not used
        payload = base64.b64encode(image.read_bytes()).decode("ascii")
        return f'url("data:{_MIME[image.suffix]};base64,{payload}")'

    css = _SOURCE_MAP.sub("", _read_vendor(relpath))
    css = re.sub(r"/\*# sourceMappingURL=.*?\*/", "", css)
    return f"<style>{_CSS_URL.sub(data_uri, css)}</style>"


def _local_copy(url: str) -> str | None:
    name = Path(urlsplit(url if "://" in url else "https:" + url).path).name
    return _LOCAL_COPIES.get(name)


def make_offline(html: str, *, missing: str = "warn") -> str:
    """Replace CDN ``<script src>`` / ``<link href>`` tags by inline copies of vendored files.

    Parameters
    ----------
    html : str
        A complete HTML document, typically ``folium.Map.get_root().render()``.
    missing : {"warn", "drop", "raise", "keep"}
        What to do with an external script or stylesheet that has no local copy (see
        ``landcarbon/publish/vendor/README.md``): remove it with a ``UserWarning``, remove it
        silently, or raise ``ValueError``. The output never references ``http(s)://`` in a
        ``src`` / ``href`` of a ``script`` or ``link`` tag, except with ``"keep"``: leave the
        tags without a local copy as they are (self-contained where possible).

    Returns
    -------
    str
        The HTML with every external script / stylesheet inlined or removed.
    """
    if missing not in ("warn", "drop", "raise", "keep"):
        raise ValueError(f"missing must be 'warn', 'drop', 'raise' or 'keep', not {missing!r}")
    dropped: list[str] = []
    done: set[str] = set()

    def replace(match: re.Match[str], inline: Callable[[str], str]) -> str:
        url = match.group(1)
        local = _local_copy(url)
        if local is None:
            if missing == "keep":
                return match.group(0)
            dropped.append(url)
            return ""
        if local in done:  # the same library referenced twice: load it once
            return ""
        done.add(local)
        return inline(local)

    out = _SCRIPT.sub(lambda mt: replace(mt, _inline_js), html)
    out = _LINK.sub(lambda mt: replace(mt, _inline_css), out)
    if dropped and missing == "raise":
        raise ValueError(
            "make_offline: no local copy of " + ", ".join(dropped) + "; add the file to "
            "landcarbon/publish/vendor/ and to _LOCAL_COPIES, or pass missing='warn'."
        )
    if dropped and missing == "warn":
        warnings.warn(
            "make_offline removed external resources it has no local copy of (features that "
            "need them will not work offline): " + ", ".join(dropped),
            UserWarning,
            stacklevel=2,
        )
    return out
