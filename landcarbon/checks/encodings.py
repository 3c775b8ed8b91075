"""Checks of how an input file's text was read: a shapefile whose text encoding is declared
nowhere (no ``.cpg``, no code page in its ``.dbf``) and was read in the one encoding that
reads it (:mod:`landcarbon.io.dbf`). Pure: the encoding in, Problem records out."""

from __future__ import annotations

from landcarbon.checks.problems import Problem

__all__ = ["text_encoding_problems"]


def text_encoding_problems(encoding: str | None, where: str) -> list[Problem]:
    """``text_encoding_guessed`` (warning) when a shapefile's text was read in ``encoding``,
    which it declares nowhere (``attrs[TEXT_ENCODING_GUESSED]`` of what
    :func:`landcarbon.io.vector.read_vector` read); none when ``encoding`` is None."""
    if not encoding:
        return []
    names = {"GB18030": "GB18030 (GBK, the encoding of Chinese Windows)", "UTF-8": "UTF-8"}
    return [Problem(
        "text_encoding_guessed", "warning", where,
        "This shapefile does not say how its text is encoded (no .cpg file beside it, no code "
        f"page in its .dbf); its names and fields were read as {names.get(encoding, encoding)}, "
        "the only encoding that reads all of them (GDAL alone would have read them as "
        "ISO-8859-1: garbled Chinese names).",
        f"Nothing to do if the names look right in units.csv; to make it explicit, put a "
        f"one-line .cpg file beside the .shp with the same name, holding {encoding} (or the "
        "right encoding), or export the layer as a GeoPackage.", {"encoding": encoding})]
