"""The report's check of the parcels' areas against the survey's own (三调 ``TBMJ``):
one sentence on the whole area, the units and parcels beyond the tolerance and the largest
parcel differences, from ``run.json`` ``totals.survey_areas``."""

from __future__ import annotations

from typing import Any

from landcarbon.publish._html import fmt_fixed, ui

__all__ = ["survey_section"]


def survey_section(manifest: dict[str, Any], lang: str, area: Any, area_label: str
                   ) -> dict[str, Any] | None:
    """The survey-area section of the report, or None for runs without a survey area field.

    Parameters
    ----------
    manifest : dict
        The run manifest (``run.json``).
    lang : {"zh", "en"}
    area : callable
        Converts an area in ha to the report's area unit (ha or 亩); shown with 4 decimals
        (1 m² in ha: the survey's areas are exact to 0.01 m²).
    area_label : str
        That unit's label.

    Returns
    -------
    dict or None
        ``note`` (one sentence: landcarbon's ellipsoidal area against the survey's, the
        difference and the tolerance), ``units`` (units beyond the tolerance: id, survey
        area, difference, relative difference), ``unit_header``, ``parcels`` (largest parcel
        differences: row, code, m2 both ways, difference) and ``parcel_header``.
    """
    rec = manifest.get("totals", {}).get("survey_areas")
    if not isinstance(rec, dict) or "tbmj_ha" not in rec:
        return None

    def shown(ha: Any) -> str:
        return fmt_fixed(None if ha is None else area(float(ha)), 4)

    field = str(rec.get("field", "TBMJ"))
    rel = rec.get("diff_rel")
    tol = float(rec.get("tolerance_rel") or 0.0)
    note = ui("survey_note", lang).format(
        field=field, parcels=f"{int(rec.get('parcels', 0)):,d}",
        area=f"{shown(rec.get('area_ha'))} {area_label}",
        survey=f"{shown(rec.get('tbmj_ha'))} {area_label}",
        diff=f"{shown(rec.get('diff_ha'))} {area_label}",
        rel="–" if rel is None else f"{float(rel) * 100:+.4f} %",
        tol=f"{tol * 100:g} %", units=len(rec.get("units_over_tolerance", [])),
        over=f"{int(rec.get('parcels_over_tolerance', 0)):,d}")
    units = [[str(u.get("unit_id", "")), shown(u.get("tbmj_ha")), shown(u.get("diff_ha")),
              fmt_fixed(None if u.get("diff_rel") is None else float(u["diff_rel"]) * 100, 3)]
             for u in rec.get("units_over_tolerance", [])[:20]]
    parcels = [[str(p.get("row", "")), str(p.get("code", "")),
                fmt_fixed(p.get("area_m2"), 2), fmt_fixed(p.get("tbmj_m2"), 2),
                fmt_fixed(p.get("diff_m2"), 2)]
               for p in rec.get("largest_parcel_differences", [])]
    m2 = "m²" if lang == "en" else "平方米"
    return {
        "note": note,
        "unit_header": [ui("id", lang), f"{field} ({area_label})",
                        f"{ui('survey_diff', lang)} ({area_label})",
                        f"{ui('survey_diff', lang)} (%)"],
        "units": units,
        "parcel_header": [ui("survey_row", lang), ui("survey_code", lang),
                          f"{ui('area_plain', lang)} ({m2})", f"{field} ({m2})",
                          f"{ui('survey_diff', lang)} ({m2})"],
        "parcels": parcels,
    }
