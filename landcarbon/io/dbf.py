"""The text encoding of a shapefile's attribute table (``.dbf``) when the file does not say it.

A shapefile declares its encoding in a ``.cpg`` file beside it or in the language-driver byte
of its ``.dbf`` header. Shapefiles written on Chinese Windows (ArcGIS, older exporters) often
carry neither: no ``.cpg`` and a driver byte of 0 (none) or 0x57 ("ANSI": the writer's own
code page, GBK there). GDAL then reads the text as ISO-8859-1, and every Chinese name and field
name comes out as mojibake (新台街道 as ``ÐÂÌ¨½ÖµÀ``) without an error.

:func:`undeclared_text_encoding` looks at the bytes in that case: text that is valid UTF-8 is
UTF-8 (QGIS's default); text in which every byte above 0x7F is the first of a two-byte GBK
character followed by a second byte above 0x7F, and which GB18030 (the superset of GBK) decodes,
is GB18030. Latin-1 text (``Zürich``: one byte above 0x7F between ASCII letters) is neither and
is left to GDAL, as is every shapefile that declares its encoding or whose text is ASCII.
"""

from __future__ import annotations

import re
from pathlib import Path

__all__ = ["SAMPLE_BYTES", "undeclared_text_encoding"]

#: Bytes of records looked at (the whole table when smaller): half from its first records,
#: half from its last (~8,000 parcels of 1 KB in all).
SAMPLE_BYTES = 8 << 20

#: Language-driver bytes that leave the encoding to GDAL's default (ISO-8859-1): none, and
#: 0x57 ("ANSI", the writer's code page, which the file does not name).
_UNNAMED = (0x00, 0x57)

#: Every byte above 0x7F opens a two-byte character whose second byte is above 0x7F too
#: (GB2312 and nearly all of GBK; Latin-1 text has single high bytes between ASCII letters).
_GBK_PAIRS = re.compile(rb"(?:[\x00-\x7f]|[\x81-\xfe][\x80-\xfe])*")


def _text_bytes(dbf: Path) -> bytes | None:
    """Field names and character cells of :data:`SAMPLE_BYTES` of records (each ended by a
    newline); None when the header is not a dBASE header or names an encoding."""
    with open(dbf, "rb") as f:
        head = f.read(32)
        if len(head) < 32:
            return None
        header_len = int.from_bytes(head[8:10], "little")
        record_len = int.from_bytes(head[10:12], "little")
        if head[29] not in _UNNAMED or header_len < 33 or record_len < 1:
            return None
        fields = f.read(header_len - 32)
        count = int.from_bytes(head[4:8], "little")
        half = max(1, SAMPLE_BYTES // 2 // record_len)  # records from each end
        records = f.read(record_len * min(count, 2 * half))
        if count > 2 * half:  # a large table: its first and its last records
            records = records[:record_len * half]
            f.seek(header_len + record_len * (count - half))
            records += f.read(record_len * half)
    names, columns, pos = [], [], 1  # a record starts with its deletion flag
    for off in range(0, len(fields) - 31, 32):
        if fields[off] == 0x0D:  # end of the field descriptors
            break
        names.append(fields[off:off + 11].split(b"\0", 1)[0])
        width = fields[off + 16]
        if fields[off + 11:off + 12] == b"C":
            columns.append((pos, width))
        pos += width
    parts = [*names]
    for start in range(0, len(records) - record_len + 1, record_len):
        row = records[start:start + record_len]
        parts.extend(row[a:a + w].rstrip(b" \0") for a, w in columns)
    return b"\n".join(parts)


def undeclared_text_encoding(shp: str | Path) -> str | None:
    """The encoding to read the text of shapefile ``shp`` with when it declares none.

    Returns
    -------
    str or None
        ``"UTF-8"`` or ``"GB18030"`` when the shapefile has no ``.cpg`` file, its ``.dbf``
        names no code page and its text reads only that way; None when GDAL's own reading
        is right (a ``.cpg``, a named code page, ASCII text, or text that is neither, such as
        Latin-1) or the ``.dbf`` cannot be read (GDAL then says why).
    """
    shp = Path(shp)
    try:
        siblings = {p.name.lower(): p for p in shp.parent.iterdir()}
    except OSError:
        return None
    dbf = siblings.get(f"{shp.stem}.dbf".lower())
    if dbf is None or f"{shp.stem}.cpg".lower() in siblings:
        return None
    try:
        text = _text_bytes(dbf)
    except OSError:
        return None
    if text is None or text.isascii():
        return None
    try:
        text.decode("utf-8")
        return "UTF-8"
    except UnicodeDecodeError:
        pass
    if _GBK_PAIRS.fullmatch(text) is None:
        return None
    try:
        text.decode("gb18030")
    except UnicodeDecodeError:
        return None
    return "GB18030"
