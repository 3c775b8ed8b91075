"""Leaflet elements whose rendered text goes into the page as it is.

branca's ``MacroElement.render`` wraps each rendered part (header, html, script) in a new
``Element``, which compiles that text as a Jinja template and renders it again. For the
elements carrying data (thousands of units' GeoJSON, popups and tooltips: megabytes) that
second compile takes seconds, and text from the data that looks like Jinja (``{{ ... }}`` in a
unit name) would be evaluated instead of shown. :class:`DataElement` renders its template's
macros once and adds the results as :class:`Raw` text.
"""

from __future__ import annotations

from typing import Any

from branca.element import Element, Figure, MacroElement

__all__ = ["DataElement", "Raw"]


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
