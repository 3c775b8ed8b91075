"""QGIS layer styles of the units table: a categorised QML and an SLD of the risk levels (or
space types), with the vocabulary colours and bilingual labels. They are stored in the
GeoPackage ``layer_styles`` table by :func:`landcarbon.io.run_folder.write_layer_style`, so
the layer opens already coloured in QGIS."""

from __future__ import annotations

from xml.sax.saxutils import quoteattr

from landcarbon.publish._html import vocab

__all__ = ["categorized_qml", "categorized_sld"]


def _rgb(colour: str) -> str:
    c = colour.lstrip("#")
    return ",".join(str(int(c[i:i + 2], 16)) for i in (0, 2, 4))


def _categories(column: str) -> list[tuple[str, str, str]]:
    table = vocab("risk_levels" if column == "risk_level" else "space_types")
    return [(key, f"{zh} {en}", colour) for key, (en, zh, colour) in table.items()]


def categorized_qml(column: str = "risk_level") -> str:
    """QGIS QML of a categorised fill renderer on ``column`` (``risk_level`` / ``space_type``)."""
    cats, syms = [], []
    for i, (key, text, colour) in enumerate(_categories(column)):
        cats.append(f'<category value={quoteattr(key)} label={quoteattr(text)} symbol="{i}" '
                    'render="true"/>')
        props = {"color": f"{_rgb(colour)},255", "outline_color": "85,85,85,255",
                 "outline_width": "0.26", "outline_width_unit": "MM", "style": "solid",
                 "outline_style": "solid", "joinstyle": "bevel"}
        opts = "".join(f'<Option name="{k}" type="QString" value="{v}"/>'
                       for k, v in props.items())
        old = "".join(f'<prop k="{k}" v="{v}"/>' for k, v in props.items())
        syms.append(f'<symbol type="fill" name="{i}" alpha="1" clip_to_extent="1" '
                    f'force_rhr="0"><layer class="SimpleFill" enabled="1" locked="0" pass="0">'
                    f'<Option type="Map">{opts}</Option>{old}</layer></symbol>')
    return ("<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
            '<qgis version="3.28.0" styleCategories="Symbology">\n'
            f'<renderer-v2 type="categorizedSymbol" attr={quoteattr(column)} symbollevels="0" '
            'enableorderby="0" forceraster="0">\n'
            f"<categories>{''.join(cats)}</categories>\n<symbols>{''.join(syms)}</symbols>\n"
            "</renderer-v2>\n</qgis>\n")


def categorized_sld(column: str = "risk_level", layer: str = "units") -> str:
    """OGC SLD 1.1 of the same categorised style (for GeoServer / other clients)."""
    rules = []
    for key, text, colour in _categories(column):
        rules.append(
            f"<se:Rule><se:Name>{_x(key)}</se:Name><se:Description><se:Title>{_x(text)}"
            "</se:Title></se:Description><ogc:Filter><ogc:PropertyIsEqualTo>"
            f"<ogc:PropertyName>{_x(column)}</ogc:PropertyName><ogc:Literal>{_x(key)}"
            "</ogc:Literal></ogc:PropertyIsEqualTo></ogc:Filter><se:PolygonSymbolizer>"
            f'<se:Fill><se:SvgParameter name="fill">{colour}</se:SvgParameter></se:Fill>'
            '<se:Stroke><se:SvgParameter name="stroke">#555555</se:SvgParameter>'
            '<se:SvgParameter name="stroke-width">0.5</se:SvgParameter></se:Stroke>'
            "</se:PolygonSymbolizer></se:Rule>")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<StyledLayerDescriptor version="1.1.0" '
            'xmlns="http://www.opengis.net/sld" xmlns:se="http://www.opengis.net/se" '
            'xmlns:ogc="http://www.opengis.net/ogc">'
            f"<NamedLayer><se:Name>{_x(layer)}</se:Name><UserStyle><se:Name>{_x(column)}"
            f"</se:Name><se:FeatureTypeStyle>{''.join(rules)}</se:FeatureTypeStyle>"
            "</UserStyle></NamedLayer></StyledLayerDescriptor>\n")


def _x(text: str) -> str:
    from xml.sax.saxutils import escape

    return escape(text)
