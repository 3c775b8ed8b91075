"""Build landcarbon's bundled CJK font: Noto Sans CJK SC subset to the characters it needs.

The figures and the HTML report/map must render Chinese on machines without any CJK font, so
the package ships one (SIL Open Font License 1.1, which allows subsetting and redistribution
under the same licence). The source is the Simplified Chinese face of Debian's
``fonts-noto-cjk`` (``/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc``, face 2).

Characters kept: ASCII and Latin-1, general punctuation, sub/superscripts, arrows and maths
operators used in labels, CJK symbols and full-width forms, all 20,923 hanzi of GBK (GB 2312's
6,763 common characters and the rarer ones of place and person names that GB 2312 lacks, such
as 堌 of 堌阳镇, 垚, 堃, 昇), and every CJK character that appears in landcarbon's package data,
templates, sources, README and sample data.

Run from the repository root (needs fontTools)::

    python scripts/subset_cjk_font.py [SOURCE.ttc]

It writes ``landcarbon/data/fonts/NotoSansSC-landcarbon.otf``; re-run it when new labels use
a character outside GBK.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTCollection

ROOT = Path(__file__).resolve().parents[1]
SOURCE = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
OUT = ROOT / "landcarbon" / "data" / "fonts" / "NotoSansSC-landcarbon.otf"
FAMILY = "Noto Sans SC landcarbon"
RANGES = [(0x20, 0x7E), (0xA0, 0xFF), (0x2000, 0x206F), (0x2070, 0x209F), (0x2100, 0x214F),
          (0x2190, 0x21FF), (0x2200, 0x22FF), (0x2460, 0x24FF), (0x25A0, 0x25FF),
          (0x3000, 0x303F), (0xFF00, 0xFFEF)]


def gbk_hanzi() -> set[str]:
    """The 20,923 hanzi of GBK (CJK Unified Ideographs and their compatibility forms it
    encodes; GB 2312's 6,763 among them)."""
    out = set()
    for lead in range(0x81, 0xFF):
        for trail in (*range(0x40, 0x7F), *range(0x80, 0xFF)):
            with contextlib.suppress(UnicodeDecodeError):
                c = bytes([lead, trail]).decode("gbk")
                if (0x3400 <= ord(c) <= 0x4DBF or 0x4E00 <= ord(c) <= 0x9FFF
                        or 0xF900 <= ord(c) <= 0xFAFF):
                    out.add(c)
    return out


def project_characters() -> set[str]:
    """Every non-ASCII character of the package, README, docs and sample data texts."""
    chars: set[str] = set()
    for pattern in ("landcarbon/**/*.py", "landcarbon/**/*.csv", "landcarbon/**/*.j2",
                    "landcarbon/**/*.toml", "*.md", "docs/**/*.md", "data/**/*.toml",
                    "data/**/*.py", "data/**/*.csv"):
        for path in ROOT.glob(pattern):
            chars |= {c for c in path.read_text(encoding="utf-8", errors="ignore")
                      if ord(c) > 0x7F}
    return chars


def main(source: Path = SOURCE) -> None:
    font = TTCollection(str(source)).fonts[2]  # Noto Sans CJK SC
    assert font["name"].getDebugName(1) == "Noto Sans CJK SC"
    text = {chr(c) for lo, hi in RANGES for c in range(lo, hi + 1)}
    text |= gbk_hanzi() | project_characters()
    cmap = font.getBestCmap()
    options = subset.Options()
    options.layout_features = ["kern", "liga", "vert", "vrt2", "locl", "palt", "halt"]
    options.name_IDs = ["*"]
    options.notdef_outline = True
    options.hinting = False
    options.desubroutinize = False
    sub = subset.Subsetter(options)
    sub.populate(unicodes=sorted(ord(c) for c in text if ord(c) in cmap))
    sub.subset(font)
    name = font["name"]
    for rec in list(name.names):  # a modified font must not use the Reserved Font Name
        if rec.nameID in (1, 3, 4, 6, 16):
            value = {1: FAMILY, 3: FAMILY + " subset", 4: FAMILY,
                     6: FAMILY.replace(" ", ""), 16: FAMILY}[rec.nameID]
            rec.string = value
    font["CFF "].cff.fontNames = [FAMILY.replace(" ", "")]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    font.save(str(OUT))
    print(f"{OUT}: {len(sub.unicodes_requested)} characters, {OUT.stat().st_size:,d} bytes")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else SOURCE)
