"""The atlas report (``report.html``): totals, space types, risk levels, top units, charts,
links to the maps, the configuration and the manifest. Rendered with Jinja2 (autoescape on:
every unit name, reason and config value is text, never markup)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, Literal

import pandas as pd

from landcarbon.accounting.display_units import WAN, DisplayUnits
from landcarbon.publish._html import (
    fmt,
    fmt_fixed,
    label,
    templates,
    ui,
    unit_name,
    vocab,
)
from landcarbon.publish.fonts import CSS_FAMILY, embed_font
from landcarbon.publish.survey_report import survey_section

__all__ = ["atlas_report", "provenance"]

_TOP = 10


def _suffix(units: pd.DataFrame) -> tuple[str, str]:
    from landcarbon.accounting.conversions import flux_suffix, unit_label

    sfx = flux_suffix(units.columns) or "tc"
    return sfx, unit_label(sfx, display=True)


class _Formats:
    """One number format per kind of column, in the run's display units (``run.json``
    ``settings.display``): annual totals (万吨 with 4 decimals, t with 1; ``mass_scale =
    "auto"``: 万吨 in Chinese, t in English), densities (2 decimals) and areas (1 decimal) per
    ha or 亩. Values come in t and ha (the canonical units table) and are converted here."""

    def __init__(self, unit: str, lang: str, manifest: dict[str, Any] | None = None) -> None:
        record = (manifest or {}).get("settings", {}).get("display")
        shown = DisplayUnits.from_record(record, unit).shown_in(lang)
        self.shown = shown
        self.total_label = shown.total_label(lang).replace("CO2", "CO₂")
        self.scale = shown.mass_divisor
        self.dec = 2 if self.scale > 1 else 1
        self.per_ha = shown.density_label(lang).replace("CO2", "CO₂")
        self.area = shown.area_label(lang)
        # ``auto`` 万吨 applies to region totals; a column of units' own totals whose largest
        # value stays under 10^4 t is written in 吨 (0.02 万吨 reads as nothing)
        self._units_in_t = (lang == "zh" and shown.mass_divisor > 1
                            and (record or {}).get("mass_scale", "auto") == "auto")
        self._t = replace(shown, mass_scale="t")
        self.lang = lang

    def unit_column(self, values: Any) -> tuple[str, Any]:
        """Label and formatter of a column of units' totals (t): the report's total unit, or
        吨 for a Chinese ``auto`` column whose largest absolute value is under 10^4 t."""
        import numpy as np

        largest = float(np.nanmax(np.abs(np.asarray(values, dtype=float)), initial=0.0))
        if self._units_in_t and largest < WAN:
            label = self._t.total_label(self.lang).replace("CO2", "CO₂")
            return label, lambda x: fmt_fixed(None if x is None else float(x), 1)
        return self.total_label, self.total

    def total(self, x: Any) -> str:
        return fmt_fixed(float(x) / self.scale if x is not None else None, self.dec)

    def density(self, x: Any) -> str:
        """A density given per ha, shown per the display's area unit."""
        return fmt_fixed(None if x is None else self.shown.per_area(float(x)), 2)

    def ha(self, x: Any) -> str:
        """An area given in ha, shown in the display's area unit."""
        return fmt_fixed(None if x is None else self.shown.area(float(x)), 1)


def _top(units: pd.DataFrame, by: str, ascending: bool = False) -> pd.DataFrame:
    return units.sort_values(by, ascending=ascending).head(_TOP)


def _top_tables(tables: Sequence[pd.DataFrame], sfx: str, lang: str, f: _Formats
                ) -> tuple[list[str], list[list[list[str]]]]:
    """The header shared by the top-units tables and their rows; each column of totals in one
    unit over all the tables (:meth:`_Formats.unit_column`)."""
    shown = pd.concat(tables)
    cols = [f"emission_{sfx}", f"sequestration_{sfx}", f"net_{sfx}"]
    formats = [f.unit_column(shown[c]) for c in cols]
    header = [ui("name", lang), ui("id", lang), ui("space_type", lang),
              *(f"{ui(k, lang)} ({lab})" for k, (lab, _) in zip(
                  ("emission", "sequestration", "net"), formats, strict=True)),
              f"{ui('net_per_ha', lang)} ({f.per_ha})",
              f"{ui('threshold', lang)} ({f.per_ha})", ui("risk_level", lang)]
    rows = [[[unit_name(r), str(r.get("unit_id", "")),
              label("space_types", r["space_type"], lang),
              *(fn(r[c]) for c, (_, fn) in zip(cols, formats, strict=True)),
              f.density(r[f"net_{sfx}_per_ha"]), f.density(r[f"threshold_{sfx}_per_ha"]),
              label("risk_levels", r["risk_level"], lang)]
             for r in table.to_dict("records")] for table in tables]
    return header, rows


_PROVENANCE_KEYS = {"landcarbon_version": "prov_version", "coefficient_set": "prov_coefficients",
                    "cropland_mode": "prov_cropland", "legend": "prov_legend",
                    "thresholds_tc_per_ha": "prov_thresholds", "output_unit": "prov_unit",
                    "threshold_method": "prov_threshold_method"}


def _summary(units: pd.DataFrame, sfx: str, lang: str, f: _Formats, cov: float
             ) -> list[tuple[str, str]]:
    """The executive summary: the totals and how many units are at risk, which ones."""
    em, sq = float(units[f"emission_{sfx}"].sum()), float(units[f"sequestration_{sfx}"].sum())
    risky = units[units["risk_level"].isin(["exceeding", "severe"])].sort_values(
        f"net_{sfx}_per_ha", ascending=False)
    sinks = units[units[f"net_{sfx}"] <= 0]
    sep = "、" if lang == "zh" else ", "
    names = sep.join(unit_name(r) for r in risky.head(_TOP).to_dict("records"))
    if len(risky) > _TOP:
        names += f"{sep}…"
    return [
        (ui("units", lang), f"{len(units):,d}"),
        (ui("emission", lang), f"{f.total(em)} {f.total_label}"),
        (ui("sequestration", lang), f"{f.total(sq)} {f.total_label}"),
        (ui("net", lang), f"{f.total(em - sq)} {f.total_label}"),
        (ui("net_per_ha", lang), f"{f.density((em - sq) / cov if cov else None)} {f.per_ha}"),
        (ui("at_risk", lang), f"{len(risky):,d} ({names or ui('none', lang)})"),
        (ui("net_sinks", lang), f"{len(sinks):,d}"),
    ]


def provenance(manifest: dict[str, Any]) -> dict[str, str]:
    """Package version, coefficient set, legend and thresholds of a run (from its manifest),
    as written into every published file's metadata."""
    s = manifest.get("settings", {})
    method = ({"threshold_method": _method_text(s["thresholds"])} if s.get("thresholds")
              else {})
    return {
        "landcarbon_version": str(manifest.get("landcarbon_version", "")),
        "coefficient_set": str(s.get("coefficient_set", "")),
        "cropland_mode": str(s.get("cropland_mode", "")),
        "legend": str(s.get("legend", "")),
        "thresholds_tc_per_ha": ", ".join(
            f"{k}={v:.4g}" if isinstance(v, int | float) else f"{k}=–"  # null: no units
            for k, v in s.get("thresholds_tc_per_ha", {}).items()),
        "output_unit": str(s.get("output_unit", "")),
        **method,
    }


def _method_text(record: dict[str, Any]) -> str:
    """``pathway``, ``percentile (relative)``... from the ``thresholds`` record of a run."""
    method = str(record.get("method", ""))
    return f"{method} (relative)" if record.get("relative") else method


def _threshold_note(manifest: dict[str, Any], lang: str) -> str:
    """The method of the limits in one sentence; says so when they are relative."""
    record = manifest.get("settings", {}).get("thresholds", {})
    method = str(record.get("method", ""))
    year = record.get("year")
    if lang == "zh":
        text = f"阈值方法：{method}" + (f"（{year} 年阈值）" if year else "")
        if record.get("relative"):
            text += ("。注意：百分位阈值是相对阈值（按单元排序），无论排放多少，"
                     "总有一部分单元超过它。")
        return text
    text = f"Threshold method: {method}" + (f" (limits of {year})" if year else "")
    if record.get("relative"):
        text += (". Note: percentile limits are RELATIVE (a rank of the units): a share of "
                 "the units is always above them, whatever their emissions.")
    return text


def _threshold_rows(manifest: dict[str, Any], lang: str, f: _Formats | None = None
                    ) -> tuple[list[list[str]], list[str], str]:
    """The run's thresholds for the report.

    Returns
    -------
    rows : list of list of str
        Per space type: name, limit (t C/ha/yr, the unit of the rules), the limit in the
        run's display unit when that is not t C/ha/yr (e.g. t CO2/亩/yr), and the rule.
    sources : list of str
        The distinct sources of those limits, in space-type order (one note under the table,
        so that a long citation does not stretch every row).
    display_unit : str
        Unit of the extra column ("" when there is none).
    """
    from landcarbon.accounting.conversions import C_TO_CO2

    record = manifest.get("settings", {}).get("thresholds", {})
    limits = record.get("limits_tc_per_ha", {})
    present = [st for st in vocab("space_types") if st in limits]
    shown = f.shown if f is not None else DisplayUnits()
    extra = shown.output_unit != "t C" or shown.area_unit != "ha"
    factor = C_TO_CO2 if shown.output_unit == "t CO2" else 1.0
    rows = [[label("space_types", st, lang), fmt(limits.get(st)),
             *([f.density(None if limits.get(st) is None else limits[st] * factor)]
               if extra and f is not None else []),
             str(record.get("rules", {}).get(st, ""))] for st in present]
    sources = [str(record.get("sources", {}).get(st, "")) for st in present]
    return (rows, [s for i, s in enumerate(sources) if s and s not in sources[:i]],
            f.per_ha if extra and f is not None else "")


def _cropland_section(manifest: dict[str, Any], lang: str, f: _Formats
                      ) -> dict[str, Any] | None:
    """The cropland sign of the run in one sentence and its net both ways (per space type
    and in total): cropland as a source with the set's coefficient and, with crop
    statistics, as the crop-yield sink. None for runs without the record."""
    from landcarbon.accounting.conversions import C_TO_CO2

    rec = manifest.get("settings", {}).get("cropland")
    if not isinstance(rec, dict) or "net_tc_cropland_as_source" not in rec:
        return None
    factor = C_TO_CO2 if f.shown.output_unit == "t CO2" else 1.0
    coef = rec.get("source_coefficient_tc_per_ha")
    coef_text = ("" if coef is None else
                 f"{f.shown.per_area(coef * factor):+.4g} {f.per_ha}")
    set_name = str(manifest.get("settings", {}).get("coefficient_set", ""))
    has_sink = "net_tc_cropland_as_crop_yield_sink" in rec
    sign = str(rec.get("sign_used") or str(rec.get("cropland_mode", "")).split(" ")[0])
    kind = ("crop_sink" if sign == "sink" and has_sink else sign
             if sign in ("source", "sink", "neutral") else "")
    sink_text = f"{f.total((rec.get('crop_sink_tc') or 0) * factor)} {f.total_label}"
    used = (ui(f"cropland_used_{kind}", lang).format(coef=coef_text, set=set_name,
                                                      sink=sink_text) if kind else sign)
    other = ui("cropland_both_ways" if has_sink else "cropland_no_crop_sink", lang).format(
        coef=coef_text)
    header = [ui("space_type", lang), f"{ui('cropland_area', lang)} ({f.area})",
              f"{ui('net_cropland_source', lang)} ({f.total_label})"]
    if has_sink:
        header.append(f"{ui('net_cropland_crop_sink', lang)} ({f.total_label})")

    def row(name: str, r: dict[str, Any]) -> list[str]:
        cells = [name, f.ha(r.get("cropland_ha")),
                 f.total(r["net_tc_cropland_as_source"] * factor)]
        if has_sink:
            cells.append(f.total(r["net_tc_cropland_as_crop_yield_sink"] * factor))
        return cells

    by_space = rec.get("by_space_type") or {}
    rows = [row(label("space_types", st, lang), by_space[st])
            for st in vocab("space_types") if st in by_space]
    rows.append(row(ui("total", lang), rec))
    return {"note": used + other, "header": header, "rows": rows}


def atlas_report(
    units: pd.DataFrame,
    manifest: dict[str, Any],
    *,
    language: Literal["zh", "en"] = "zh",
    title: str | None = None,
    maps: Sequence[tuple[str, str]] = (),
    figures: Sequence[tuple[str, str]] = (),
    files: Sequence[tuple[str, str]] = (),
    key_map: str | None = None,
    zoning: dict[str, Any] | None = None,
) -> str:
    """HTML of the atlas report of one run.

    Parameters
    ----------
    units : pandas.DataFrame
        The assessed units table (geometry not needed).
    manifest : dict
        The run manifest (``run.json``): config, settings, version.
    language : {"zh", "en"}
    title : str, optional
        Defaults to the config title.
    maps, figures, files : sequence of (text, relative href)
        Links to the web maps, chart images (shown inline) and other files of the run.
    key_map : str, optional
        Relative path of the static risk map shown at the top.
    zoning : dict, optional
        The zoning section (:func:`landcarbon.publish.zoning_report.zoning_context`).

    Returns
    -------
    str
        A complete, self-contained HTML document (images are linked, not embedded).
    """
    lang = language
    sfx, unit = _suffix(units)
    f = _Formats(unit, lang, manifest)
    t = {k: ui(k, lang) for k in (
        "report", "maps", "totals", "by_space_type", "risk_table", "top_emitters", "top_sinks",
        "charts", "files", "provenance", "config", "generated", "risk_level", "zoning",
        "zone_counts", "compensation", "top_flows", "uncertainty", "sweep", "units",
        "share_units", "category", "p_exceed", "summary", "net_sinks", "local_time",
        "space_type", "threshold", "threshold_rule", "threshold_source", "cropland_sign",
        "survey_check", "survey_units_over", "survey_parcels_largest")}
    cov = float(units["covered_ha"].sum())
    em, sq = float(units[f"emission_{sfx}"].sum()), float(units[f"sequestration_{sfx}"].sum())
    tot = f.total_label
    totals = [
        (ui("units", lang), f"{len(units):,d}"),
        (ui("covered", lang), f"{f.ha(cov)} {f.area}"),
        (ui("emission", lang), f"{f.total(em)} {tot}"),
        (ui("sequestration", lang), f"{f.total(sq)} {tot}"),
        (ui("net", lang), f"{f.total(em - sq)} {tot}"),
        (ui("net_per_ha", lang), f"{f.density((em - sq) / cov if cov else None)} {f.per_ha}"),
    ]
    g = units.groupby("space_type")
    by_space = []
    for key in [k for k in vocab("space_types") if k in g.groups]:
        s = g.get_group(key)
        c = float(s["covered_ha"].sum())
        n = float(s[f"net_{sfx}"].sum())
        by_space.append([label("space_types", key, lang), f"{len(s):,d}", f.ha(c),
                         f.total(s[f"emission_{sfx}"].sum()),
                         f.total(s[f"sequestration_{sfx}"].sum()), f.total(n),
                         f.density(n / c if c else None),
                         f.density(s[f"threshold_{sfx}_per_ha"].iloc[0])])
    area_h = f"{ui('area_plain', lang)} ({f.area})"
    space_header = [ui("space_type", lang), ui("units", lang), area_h,
                    f"{ui('emission', lang)} ({tot})", f"{ui('sequestration', lang)} ({tot})",
                    f"{ui('net', lang)} ({tot})", f"{ui('net_per_ha', lang)} ({f.per_ha})",
                    f"{ui('threshold', lang)} ({f.per_ha})"]
    risk_rows = []
    for key, (en, zh, colour) in vocab("risk_levels").items():
        s = units[units["risk_level"] == key]
        if s.empty and key == "no_data":
            continue
        c = float(s["covered_ha"].sum())
        risk_rows.append((colour, zh if lang == "zh" else en, [
            f"{len(s):,d}", fmt(len(s) / len(units) if len(units) else None, share=True),
            f.ha(c), fmt(c / cov if cov else None, share=True)]))
    risk_header = [ui("risk_level", lang), ui("units", lang), ui("share_units", lang),
                   area_h, ui("share_area", lang)]
    top_header, (top_emitters, top_sinks, net_sinks) = _top_tables(
        [_top(units, f"emission_{sfx}"), _top(units, f"sequestration_{sfx}"),
         _top(units[units[f"net_{sfx}"] <= 0], f"net_{sfx}", ascending=True)], sfx, lang, f)
    threshold_rows, threshold_sources, threshold_unit = _threshold_rows(manifest, lang, f)
    env = templates()
    return embed_font(script=True, html_text=env.get_template("report.html.j2").render(
        lang=lang, t=t, title=title or manifest.get("config", {}).get("title") or t["report"],
        version=manifest.get("landcarbon_version", ""),
        created=datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z (UTC%z)"),
        font_family=CSS_FAMILY, summary=_summary(units, sfx, lang, f, cov),
        totals=totals, space_header=space_header, by_space=by_space,
        risk_header=risk_header, risk_rows=risk_rows, top_header=top_header,
        top_emitters=top_emitters, top_sinks=top_sinks, net_sinks=net_sinks,
        threshold_rows=threshold_rows,
        threshold_sources=threshold_sources, threshold_unit=threshold_unit,
        cropland=_cropland_section(manifest, lang, f),
        survey=survey_section(manifest, lang, f.shown.area, f.area),
        threshold_note=_threshold_note(manifest, lang),
        zoning=zoning, maps=list(maps), figures=list(figures), files=list(files), key_map=key_map,
        provenance=[(ui(_PROVENANCE_KEYS.get(k, k), lang) if k in _PROVENANCE_KEYS else k, v)
                    for k, v in provenance(manifest).items()],
        meta=list(provenance(manifest).items()),
        config=json.dumps(manifest.get("config", {}), ensure_ascii=False, indent=2)))
