"""Leaflet elements whose rendered text goes into the page as it is.

branca's ``MacroElement.render`` wraps each rendered part (header, html, script) in a new
``Element``, which compiles that text as a Jinja template and renders it again. For the
elements carrying data (thousands of units' GeoJSON, popups and tooltips: megabytes) that
second compile takes seconds, and text from the data that looks like Jinja (``{{ ... }}`` in a
unit name) would be evaluated instead of shown. :class:`DataElement` renders its template's
macros once and adds the results as :class:`Raw` text.

The data themselves (GeoJSON, popup values: tens of megabytes for a change run's map of
thousands of units and alerts) are :class:`Blob` s: while a figure renders inside
:func:`kept_apart`, each blob renders as a short token and its text stays out of the page, so
that the page text (inlined libraries, language, embedded font, element ids) is worked on
without copying the data again and again, and the file is written piece by piece
(:func:`split_blobs`). A run's map of 18,769 units with 73,202 alerts peaked at 1.5 GB with
the data copied through every step of the page.
"""

from __future__ import annotations

import contextvars
import itertools
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from branca.element import Element, Figure, MacroElement

__all__ = ["Blob", "DataElement", "Raw", "kept_apart", "split_blobs"]

#: a token no page text can hold by chance: a comment in the page's scripts, with a nonce of
#: this process
_NONCE = secrets.token_hex(8)
_TOKEN = re.compile(r"(/\*lc-blob-" + _NONCE + r"-\d+\*/)")
_ids = itertools.count()
_apart: contextvars.ContextVar[dict[str, list[str]] | None] = contextvars.ContextVar(
    "landcarbon_blobs", default=None)


class Blob:
    """Data text of an element (JSON, whole or in ``pieces`` that join into it): renders as
    itself, or as a token inside :func:`kept_apart` (which collects the pieces under that
    token)."""

    def __init__(self, text: str | list[str]) -> None:
        self.pieces = [text] if isinstance(text, str) else list(text)
        self.token = f"/*lc-blob-{_NONCE}-{next(_ids)}*/"

    def __str__(self) -> str:
        kept = _apart.get()
        if kept is None:
            return "".join(self.pieces)
        kept[self.token] = self.pieces
        return self.token

    def __bool__(self) -> bool:
        return any(self.pieces)


@contextmanager
def kept_apart() -> Iterator[dict[str, list[str]]]:
    """Render blobs as tokens while inside; yields ``{token: pieces}`` of those rendered."""
    kept: dict[str, list[str]] = {}
    reset = _apart.set(kept)
    try:
        yield kept
    finally:
        _apart.reset(reset)


def split_blobs(text: str, kept: dict[str, list[str]]) -> list[str]:
    """``text`` cut at the tokens of ``kept``, each replaced by its blob's pieces: page text
    at even positions, data at odd positions (consecutive pieces of data separated by empty
    page text); ``"".join`` of the result is the page."""
    parts = _TOKEN.split(text)
    out = [parts[0]]
    for i in range(1, len(parts), 2):  # (a token of no blob stays, as data: no page has one)
        for j, piece in enumerate(kept.get(parts[i], [parts[i]])):
            if j:
                out.append("")
            out.append(piece)
        out.append(parts[i + 1])
    return out


class Raw(Element):
    """Text added to a figure's header, html or script as it is (not a template)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def render(self, **kwargs: Any) -> str:
        """The text itself."""
        return self.text


class DataElement(MacroElement):
    """A ``MacroElement`` whose rendered ``header`` / ``html`` / ``script`` macros are added to
    the figure as :class:`Raw` text (rendered once; data never parsed as a template)."""

    def render(self, **kwargs: Any) -> str:
        """Add the rendered macros to the root figure, then render the children; returns ""
        (the text is in the figure)."""
        figure = self.get_root()
        if not isinstance(figure, Figure):
            raise TypeError("this element renders only inside a branca Figure (a folium Map)")
        module = self._template.module.__dict__
        for part in ("header", "html", "script"):
            macro = module.get(part)
            if macro is not None:
                getattr(figure, part).add_child(Raw(macro(self, kwargs)), name=self.get_name())
        for element in self._children.values():
            element.render(**kwargs)
        return ""
