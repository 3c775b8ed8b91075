"""The font embedded in every page: the bytes are what the page declares (WOFF 1.0)."""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path

import pytest
from fontTools.ttLib import TTFont

from landcarbon.publish import fonts


def _decoded(b64: str) -> bytes:
    return base64.b64decode(b64)


def test_font_face_rule_declares_the_format_of_its_bytes(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path))
    fonts._subset_woff.cache_clear()
    css = fonts.font_face_css("碳汇 净碳排放 万吨")
    m = re.search(r'src:url\(data:font/woff;base64,([A-Za-z0-9+/=]+)\) format\("woff"\)', css)
    assert m, css[:200]
    data = _decoded(m[1])
    assert data[:4] == fonts.WOFF_MAGIC == b"wOFF"
    font = TTFont(io.BytesIO(data))
    assert font.flavor == "woff"
    cmap = font.getBestCmap()
    assert all(ord(c) in cmap for c in "碳汇净排放万吨") and ord("A") in cmap
    fonts._subset_woff.cache_clear()


def test_font_face_script_bytes_are_woff_and_a_stale_cache_is_not_served(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path))
    fonts._subset_woff.cache_clear()
    page = fonts.embed_font("<html><head></head><body>变化 地图</body></html>", script=True)
    data = _decoded(re.search(r'atob\("([A-Za-z0-9+/=]+)"\)', page)[1])  # type: ignore[index]
    assert data[:4] == b"wOFF"
    # an older cache file holding raw OpenType bytes is replaced, never served as WOFF
    cached = next((tmp_path / "landcarbon" / "fonts").glob("*.woff"))
    cached.write_bytes(b"OTTO" + b"\0" * 64)
    fonts._subset_woff.cache_clear()
    again = fonts.embed_font("<html><head></head><body>变化 地图</body></html>", script=True)
    data = _decoded(re.search(r'atob\("([A-Za-z0-9+/=]+)"\)', again)[1])  # type: ignore[index]
    assert data[:4] == b"wOFF"  # made again (not byte-compared: the head table has a time)
    assert ord("变") in TTFont(io.BytesIO(data)).getBestCmap()
    assert cached.read_bytes()[:4] == b"wOFF"
    fonts._subset_woff.cache_clear()


def test_page_characters_from_text_entities_and_escapes() -> None:
    """Every character a page may show is in its font subset: raw text (any plane), HTML
    entities, and \\u escapes of non-ASCII characters in its scripts; ASCII escapes (a
    map's thousands of \\u003c) add nothing beyond printable ASCII."""
    from landcarbon.publish.fonts import _page_chars

    page = ('<p>郑州 &middot; &#20013;&#x56FD; &amp; 𝔸</p><script>var a = "\\u5e02\\u00e9'
            '\\u003c\\u007f";</script>' + "\\u003c" * 1000)
    chars = _page_chars(page)
    assert {"郑", "州", "·", "中", "国", "𝔸", "市", "é"} <= set(chars)
    assert set(chars) - {chr(c) for c in range(0x20, 0x7F)} == {
        "郑", "州", "·", "中", "国", "𝔸", "市", "é"}
    assert list(chars) == sorted(chars)


def test_rare_place_name_characters_are_in_the_bundled_font(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    """Characters of place names outside GB 2312 (堌 of 堌阳镇, 垚, 堃, 昇) and every hanzi of
    GBK are in the bundled font, and in the glyphs a page embeds."""
    import contextlib

    font = TTFont(str(fonts.font_path()))
    cmap = font.getBestCmap()
    missing = []
    for lead in range(0x81, 0xFF):
        for trail in (*range(0x40, 0x7F), *range(0x80, 0xFF)):
            with contextlib.suppress(UnicodeDecodeError):
                c = bytes([lead, trail]).decode("gbk")
                if 0x4E00 <= ord(c) <= 0x9FA5 and ord(c) not in cmap:
                    missing.append(c)
    assert missing == []
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path))
    fonts._subset_woff.cache_clear()
    css = fonts.font_face_css("堌阳镇 垚 堃 昇")
    m = re.search(r"base64,([A-Za-z0-9+/=]+)\)", css)
    assert m
    embedded = TTFont(io.BytesIO(_decoded(m[1]))).getBestCmap()
    assert all(ord(c) in embedded for c in "堌阳镇垚堃昇")
    fonts._subset_woff.cache_clear()
