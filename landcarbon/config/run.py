"""The run configuration: one declared spec (pydantic) that drives validation, the CLI and
the docs.

A config is a TOML file; relative paths in it are relative to the file's folder. Every key,
its unit and default is documented in the README's config reference, generated from the
field descriptions below (``landcarbon.config.reference.reference_table()``).
"""

from __future__ import annotations

import difflib
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from landcarbon.accounting.conversions import OutputUnit
from landcarbon.config._section import Section
from landcarbon.config.change import ChangeConfig
from landcarbon.config.compute import ComputeConfig
from landcarbon.config.planning import PlanningZonesConfig
from landcarbon.config.thresholds import (
    CarryingCapacityConfig,
    PathwayConfig,
    ThresholdsConfig,
)
from landcarbon.config.zoning import (
    CompensationConfig,
    HotspotsConfig,
    SinkZonesConfig,
    StatisticsConfig,
    UncertaintyConfig,
    ZoningConfig,
)
from landcarbon.exceptions import ConfigError

__all__ = [
    "CarryingCapacityConfig",
    "CoefficientsConfig",
    "ConstructionConfig",
    "LandcoverConfig",
    "OutputConfig",
    "ParcelsConfig",
    "PathwayConfig",
    "RiskConfig",
    "RunConfig",
    "SpaceTypeRuleConfig",
    "ThresholdsConfig",
    "UnitsConfig",
    "load_config",
]


#: a land-cover code: a value a raster band can hold (up to 32-bit integers)
Code = Annotated[int, Field(ge=-(2**31), le=2**32 - 1)]


class LandcoverConfig(Section):
    """``[landcover]``: the land-cover raster and how to read its codes."""

    path: str | list[str] = Field(description="raster path, glob pattern ('tiles/*.tif'), URL, "
                                  "or a list of them (mosaicked virtually)")
    legend: str = Field("esa_worldcover", description="built-in legend name or custom CSV path")
    nodata: float | None = Field(None, description="nodata value overriding the raster's own")
    crs: str | None = Field(None, description="CRS for rasters without one, e.g. 'EPSG:32649'")
    exclude_codes: list[Code] = Field(default_factory=list, description="codes left out of "
                                      "the accounting (no area, no flux), e.g. clouds")
    rural_settlement: Literal["construction", "agricultural"] = Field(
        "construction", description="space type of rural settlements (agricultural = 三区 "
        "planning convention)")
    pixel_area: Literal["auto", "nominal", "ellipsoidal"] = Field(
        "auto", description="cell areas: auto = ellipsoidal for geographic CRSs and for "
        "projected CRSs on a sphere (measured on WGS 84), nominal for other projected CRSs; "
        "ellipsoidal measures every projected cell on the ellipsoid")
    chunk_size: int | Literal["auto"] | None = Field(
        "auto", description="dask chunk size in pixels; auto = chunk rasters over 16.7 M px")

    @field_validator("chunk_size")
    @classmethod
    def _check_chunk_size(cls, value: int | str | None) -> int | str | None:
        if isinstance(value, int) and value < 1:
            raise ValueError(f"chunk_size must be a positive number of pixels (e.g. 2048), or "
                             f"'auto'; got {value}")
        return value

    @field_validator("crs")
    @classmethod
    def _check_crs(cls, value: str | None) -> str | None:
        if value is None:
            return value
        from pyproj import CRS
        from pyproj.exceptions import CRSError

        try:
            CRS.from_user_input(value)
        except CRSError:
            raise ValueError(f"crs {value!r} is not a CRS PROJ knows; give an EPSG code such as "
                             "'EPSG:32649' (UTM 49N) or 'EPSG:4326'") from None
        return value


class UnitsConfig(Section):
    """``[units]``: the land units (townships, grid cells, parcels groups)."""

    path: str = Field(description="GeoPackage / Shapefile / GeoJSON / FlatGeobuf")
    layer: str | None = Field(None, description="layer name (multi-layer files)")
    id_field: str | None = Field(None, description="field with unique unit ids (default: row "
                                 "number)")
    name_field: str | None = Field(None, description="field with unit names (default: the id)")
    allow_overlaps: bool = Field(False, description="accept units that overlap (an error "
                                 "otherwise): each unit counts its whole area, so the overlap "
                                 "is counted twice; the double-counted ha are reported in "
                                 "run.json")


class ParcelsConfig(Section):
    """``[parcels]``: parcel polygons that carry a land-use code (no raster needed)."""

    path: str = Field(description="parcel polygons file")
    layer: str | None = Field(None, description="layer name")
    code_field: str | None = Field(
        None, description="field with the land-use code as text, e.g. GB/T 21010 '0101'; "
        "default: the 三调 field DLBM (or 地类编码), any letter case; a numeric field is "
        "zero-padded (101 -> '0101') with a warning")
    name_field: str | None = Field(None, description="field with the class name, shown in "
                                   "messages; default: DLMC (or 地类名称) when present")
    area_field: str | None = Field(
        None, description="field with the survey's own parcel area in m2, compared with "
        "landcarbon's ellipsoidal areas (tbmj_* columns); default: TBMJ (or 图斑面积) when "
        "present; \"\" = no comparison")
    area_tolerance: float = Field(
        0.001, ge=0, json_schema_extra={"unit": "fraction"},
        description="warn when a unit's (or a parcel's, if also over 1 m2) ellipsoidal area "
        "differs from its TBMJ by more than this share of TBMJ")
    legend: str = Field("gbt21010", description="legend of the codes")
    unit_field: str | None = Field(None, description="aggregate parcels by this attribute when "
                                   "no [units] file is given")
    rural_settlement: Literal["construction", "agricultural"] = Field(
        "construction", description="space type of rural settlements")
    exclude_codes: list[Code] = Field(default_factory=list, description="codes left out")


class CoefficientsConfig(Section):
    """``[coefficients]``: direct flux coefficients and the output unit."""

    set: str = Field("lai2010", description="built-in coefficient set or custom CSV path "
                     "(land_class, value, unit, source: a row for every land class, 0 for no "
                     "direct flux; direct values within +/-100 t C/ha/yr)")
    overrides: dict[str, float] = Field(default_factory=dict, description="{land_class = "
                                        "t C/ha/yr} replacing values of the set")
    cropland_mode: Literal["source", "sink", "neutral"] = Field(
        "source", description="cropland as direct source (+0.422), sink (family D) or 0")
    cropland_sink_tc_per_ha: float | None = Field(
        None, ge=0, description="cropland sink magnitude, t C/ha/yr (cropland_mode = sink)")
    crop_table: str | None = Field(None, description="CSV of crop production per unit "
                                   "(unit_id + wheat_t, maize_t, rice_t): cropland becomes "
                                   "the crop-yield sink (cropland_mode = sink)")
    crop_id_column: str = Field("unit_id", description="unit id column of the crop table")
    output_unit: OutputUnit = Field("t C", description="unit of every output flux")

    @model_validator(mode="after")
    def _check_crops(self) -> CoefficientsConfig:
        if self.crop_table and self.cropland_mode != "sink":
            raise ValueError("crop_table gives the crop-yield cropland sink: set "
                             "cropland_mode = 'sink' (the sign is a reported choice)")
        if self.crop_table and self.cropland_sink_tc_per_ha is not None:
            raise ValueError("give crop_table or cropland_sink_tc_per_ha, not both")
        return self


class ConstructionConfig(Section):
    """``[construction]``: emissions of construction land (accounting family B)."""

    method: Literal["energy", "intensity", "none"] = Field(
        "none", description="energy statistics per unit, a per-ha intensity, or none")
    energy_table: str | None = Field(None, description="CSV: unit_id + fuel columns "
                                     "(raw_coal_t, natural_gas_10k_m3, electricity_10k_kwh...)")
    id_column: str = Field("unit_id", description="unit id column of the energy table")
    electricity: Literal["standard_coal", "grid_factor"] = Field(
        "grid_factor", description="electricity charged with an official grid CO2 factor "
        "(default), or converted at its standard-coal equivalent 0.1229 kgce/kWh")
    grid_factor: str = Field("china_2022", description="built-in grid factor (package table "
                             "grid_factors.csv): china_2022 (0.5366), central_china_2022 "
                             "(华中 0.5395)...")
    grid_factor_kg_co2_per_kwh: float | None = Field(
        None, gt=0, description="your own grid emission factor, kg CO2/kWh (replaces "
        "grid_factor)")
    intensity_tc_per_ha: float | None = Field(
        None, ge=0, description="construction emission density, t C/ha/yr (method = "
        "intensity; a source: 0 or more)")

    @model_validator(mode="after")
    def _check_method(self) -> ConstructionConfig:
        if self.method == "energy" and not self.energy_table:
            raise ValueError("method = 'energy' needs energy_table (a CSV path)")
        if self.method == "intensity" and self.intensity_tc_per_ha is None:
            raise ValueError("method = 'intensity' needs intensity_tc_per_ha (t C/ha/yr)")
        if self.electricity == "grid_factor" and self.grid_factor_kg_co2_per_kwh is None:
            from landcarbon.accounting.grid_factors import load_grid_factors

            keys = list(load_grid_factors().index)
            if self.grid_factor not in keys:
                raise ValueError(f"grid_factor {self.grid_factor!r} is not a built-in factor "
                                 f"({', '.join(keys)}); or set grid_factor_kg_co2_per_kwh")
        return self


class SpaceTypeOverrideConfig(Section):
    """One override of the dominant-share rule."""

    space_type: Literal["agricultural", "construction", "ecological"] = Field(
        description="space type given to the unit when the override applies")
    min_share: float = Field(ge=0, le=1, description="applies when the unit's share of this "
                             "space type is at least this")


class SpaceTypeRuleConfig(Section):
    """``[space_type_rule]``: how a unit gets its space type."""

    method: Literal["dominant"] = Field("dominant", description="largest share wins")
    overrides: list[SpaceTypeOverrideConfig] = Field(
        default_factory=list, description="[{space_type, min_share}] tried in order first")


class RiskConfig(Section):
    """``[risk]``: band margins (fractions of max(|limit|, scale floor))."""

    approaching_margin: float = Field(0.1, ge=0, description="'approaching' below the limit")
    severe_margin: float = Field(0.5, ge=0, description="'severe' above the limit")
    scale_floor_tc_per_ha: float = Field(0.1, gt=0, description="t C/ha/yr floor of the scale")


class OutputConfig(Section):
    """``[output]``: what a run writes."""

    rasters: bool = Field(True, description="write category, space-type and flux COGs")
    map: bool = Field(True, description="write map.html, report.html and figures/ (atlas)")
    map_tiles: str | None = Field("OpenStreetMap", description="basemap: plain, osm, positron, "
                                  "gaode, gaode_satellite (GCJ-02, data shifted to match), "
                                  "a folium tile name or a tile URL template with {z}, {x} "
                                  "and {y}; empty = none")
    map_offline: bool = Field(False, description="map.html works without internet access "
                              "(Leaflet inlined, no tiles, no external request)")
    csv_encoding: Literal["utf-8-sig", "gbk", "gb18030"] = Field(
        "utf-8-sig", description="encoding of the output CSVs: utf-8-sig (UTF-8 with BOM: "
        "Excel and current WPS), gbk for old WPS / Excel installs that cannot read UTF-8 (a "
        "text GBK cannot encode stops the run naming file, column and value), or gb18030 "
        "(GBK's bytes for every character GBK has, and encodes all others)")
    mass_scale: Literal["auto", "t", "wan_t"] = Field(
        "auto", description="annual totals of the units tables, reasons, alert messages "
        "and report in t, or wan_t = 万吨 (10^4 t; columns net_wan_tc / net_wan_tco2); auto "
        "= t, the Chinese report in 万吨. Densities stay in t per area unit")
    area_unit: Literal["ha", "mu"] = Field(
        "ha", description="areas and densities of the units tables, reasons, alert messages "
        "and report in ha (公顷) or mu (亩, 1/15 ha exactly; columns area_mu, "
        "net_tc_per_mu). Computation stays in ha")

    @field_validator("map_tiles")
    @classmethod
    def _check_tiles(cls, value: str | None) -> str | None:
        """A key of the basemap table or a tile name folium resolves (xyzservices); checked
        here so that a run does not fail at its map after computing everything."""
        if not value:
            return value
        from landcarbon._resources import data_path, read_csv

        keys = list(read_csv(data_path("basemaps.csv"))["key"])
        if value in keys or value.lower() == "openstreetmap" or all(
                f"{{{c}}}" in value for c in "zxy"):  # a tile URL template
            return value
        import xyzservices

        try:
            xyzservices.providers.query_name(value)
        except ValueError:
            raise ValueError(f"unknown basemap {value!r}: use one of {', '.join(keys)}, a "
                             "tile name of folium / xyzservices (e.g. 'CartoDB positron', "
                             "'Esri.WorldImagery'), a tile URL template with {z}, {x} and "
                             "{y}, or empty for none") from None
        return value


class RunConfig(Section):
    """A whole run."""

    title: str = Field("", description="title of the map and report")
    language: Literal["zh", "en"] = Field("en", description="language of labels")
    encoding: Literal["auto", "utf-8", "gbk", "gb18030"] = Field(
        "auto", description="encoding of the CSV tables this config reads (energy, crop and "
        "statistics tables, pool tables, custom legends and coefficient sets): auto = "
        "detected (UTF-8 with or without BOM, else GB18030, which contains GBK)")
    landcover: LandcoverConfig | None = None
    units: UnitsConfig | None = None
    parcels: ParcelsConfig | None = None
    coefficients: CoefficientsConfig = Field(default_factory=CoefficientsConfig)
    construction: ConstructionConfig = Field(default_factory=ConstructionConfig)
    space_type_rule: SpaceTypeRuleConfig = Field(default_factory=SpaceTypeRuleConfig)
    planning_zones: PlanningZonesConfig | None = None
    thresholds: ThresholdsConfig = Field(default_factory=ThresholdsConfig)
    risk: RiskConfig = Field(default_factory=RiskConfig)
    output: OutputConfig = Field(default_factory=OutputConfig)
    statistics: StatisticsConfig | None = None
    zoning: ZoningConfig | None = None
    hotspots: HotspotsConfig | None = None
    sink_zones: SinkZonesConfig | None = None
    compensation: CompensationConfig | None = None
    uncertainty: UncertaintyConfig | None = None
    change: ChangeConfig | None = None
    compute: ComputeConfig = Field(default_factory=ComputeConfig)
    base_dir: str = Field("", description="(set on load) folder of the config file")

    @model_validator(mode="after")
    def _check_sources(self) -> RunConfig:
        if (self.landcover is None) == (self.parcels is None):
            raise ValueError("give exactly one of [landcover] (raster mode) or [parcels] "
                             "(parcel mode)")
        if self.landcover is not None and self.units is None:
            raise ValueError("raster mode needs [units] (the land units file)")
        if self.parcels is not None and self.units is None and not self.parcels.unit_field:
            raise ValueError("parcel mode needs [units] or [parcels] unit_field")
        return self

    @property
    def csv_encoding(self) -> str | None:
        """The declared encoding of CSV inputs, None to detect it (``encoding = "auto"``)."""
        return None if self.encoding == "auto" else self.encoding

    def path(self, value: str) -> str:
        """A config path made absolute (relative to the config file); URLs unchanged."""
        if "://" in value or value.startswith("/vsi"):
            return value
        p = Path(value).expanduser()
        return str(p if p.is_absolute() else Path(self.base_dir or ".") / p)

    def threshold_spec(self) -> dict[str, float | str]:
        """Threshold per space type: the preset's values overridden by explicit ones."""
        from landcarbon.accounting.risk import load_threshold_preset

        spec: dict[str, Any] = {}
        if self.thresholds.preset:
            spec = {k: v["value"] for k, v in load_threshold_preset(
                self.thresholds.preset).items()}
        for st in ("agricultural", "construction", "ecological"):
            value = getattr(self.thresholds, st)
            if value is not None:
                spec[st] = value
        return spec


def _suggest(model: type[BaseModel], loc: tuple[Any, ...]) -> str:
    """Closest valid key for an unknown key at ``loc``."""
    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = getattr(current, "model_fields", {}).get(part)
        if field is None:
            return ""
        ann = field.annotation
        for arg in (*getattr(ann, "__args__", ()), ann):
            inner = getattr(arg, "__args__", None)
            for cand in (*(inner or ()), arg):
                if isinstance(cand, type) and issubclass(cand, BaseModel):
                    current = cand
                    break
    names = list(getattr(current, "model_fields", {}))
    match = difflib.get_close_matches(str(loc[-1]), names, n=1, cutoff=0.5)
    return f" (did you mean {match[0]!r}?)" if match else f" (valid keys: {', '.join(names)})"


#: pydantic's type errors (config sections are strict: no text or true/false taken for a
#: number) -> what the key expects
_EXPECTED = {"float_type": "a finite number", "int_type": "a whole number",
             "bool_type": "a boolean (true or false)", "string_type": "a string (text in quotes)",
             "list_type": "a list ([...])", "dict_type": "a table", "model_type": "a table",
             "tuple_type": "a list ([...])"}
_TOML_KIND = {"str": "text", "bool": "true/false", "int": "a whole number",
              "float": "a number", "list": "a list", "dict": "a table"}


def format_errors(exc: ValidationError) -> list[str]:
    """One line per pydantic error: where, what, and a hint."""
    lines = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        where = ".".join(str(p) for p in loc) or "(top level)"
        if err["type"] == "extra_forbidden":
            lines.append(f"{where}: unknown key{_suggest(RunConfig, loc)}")
        elif err["type"] in _EXPECTED:
            given = err.get("input")
            hint = ("put text and ids in quotes, e.g. \"410102001\"" if err["type"] == "string_type"
                    else "write numbers without quotes and yes/no as true/false")
            lines.append(f"{where}: {_EXPECTED[err['type']]} is expected, not {given!r} "
                         f"({_TOML_KIND.get(type(given).__name__, type(given).__name__)}); "
                         + hint)
        else:
            msg = err["msg"].removeprefix("Value error, ")
            lines.append(f"{where}: {msg}")
    return lines


def config_from_dict(data: dict[str, Any], base_dir: str | Path = ".", *,
                     source: str | None = None) -> RunConfig:
    """Build and validate a config from a dict (as read from TOML; ``source``: the file's
    path, named in the message)."""
    data = {k: v for k, v in data.items() if k != "base_dir"}
    try:
        return RunConfig(**data, base_dir=str(Path(base_dir).resolve()))
    except ValidationError as exc:
        problems = format_errors(exc)
        where = f" {source}" if source else ""
        raise ConfigError(f"The configuration{where} has {len(problems)} problem(s): "
                          + "; ".join(problems) + ". Fix the config (see the README's config "
                          "reference; `landcarbon validate` lists every problem).",
                          problems) from None


def _toml_message(path: str | Path, raw: bytes, exc: Exception) -> str:
    """The message of a config that is not valid TOML: the parser's reason, the line it
    points at, and (a key given twice, "Cannot overwrite a value") which key."""
    import re

    text = str(exc)
    found = re.search(r"line (\d+)", text)
    lines = raw.decode("utf-8-sig", errors="replace").splitlines()
    shown = ""
    if found and 0 < int(found.group(1)) <= len(lines):
        shown = f" Line {found.group(1)} reads: {lines[int(found.group(1)) - 1].strip()!r}."
    hint = "Check quotes, brackets and '=' on that line."
    if "overwrite" in text.lower():
        hint = ("A key (or a [section]) is given twice in the same section: keep one of "
                "them.")
    return f"Config file {path} is not valid TOML: {text}.{shown} {hint}"


def load_config(path: str | Path) -> RunConfig:
    """Read and validate a TOML config file.

    Returns
    -------
    RunConfig
        The validated settings (relative paths resolved against the file's folder by
        ``config.path(...)``).

    Raises
    ------
    ConfigError
        With every problem listed (unknown keys with the closest valid key, wrong types,
        missing settings).
    """
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"Config file {str(path)!r} does not exist. Give the path of a TOML "
                          "file (see `landcarbon demo` for an example).")
    raw = p.read_bytes()
    try:
        # utf-8-sig: Windows Notepad starts UTF-8 files with a byte-order mark
        data = tomllib.loads(raw.decode("utf-8-sig"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(_toml_message(path, raw, exc)) from None
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        try:
            raw.decode("gb18030")
            guess = (" It looks like GBK/GB18030 (Windows Notepad's 'ANSI' on a Chinese "
                     "system).")
        except UnicodeDecodeError:
            guess = ""
        raise ConfigError(f"Config file {path} is not UTF-8 text (first undecodable byte on "
                          f"line {line}).{guess} TOML files are UTF-8: save it as UTF-8 (Notepad: "
                          "Save As, Encoding 'UTF-8'; VS Code: 'Save with Encoding').") from None
    return config_from_dict(data, p.parent, source=str(path))
