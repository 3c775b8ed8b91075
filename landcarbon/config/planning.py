"""The ``[planning_zones]`` config section (imported into :mod:`landcarbon.config.run`):
a polygon layer of planning zones or control lines that decides the space type of the land
it covers.

Example::

    [planning_zones]
    path = "sanqu_sanxian.gpkg"
    layer = "zones"
    field = "type"
    mapping = { "旅游度假区" = "construction" }   # added to the built-in names
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["PlanningZonesConfig"]

SpaceType = Literal["agricultural", "construction", "ecological"]


def _default_priority() -> list[SpaceType]:
    return ["ecological", "agricultural", "construction"]


class PlanningZonesConfig(BaseModel):
    """``[planning_zones]``: space type from planning zones or control lines."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str = Field(description="polygon layer (GeoPackage, Shapefile, GeoJSON, "
                      "FlatGeobuf) of the three zones (农业空间 / 城镇空间 / 生态空间) or of the "
                      "control lines (生态保护红线, 永久基本农田, 城镇开发边界)")
    layer: str | None = Field(None, description="layer of a multi-layer file")
    field: str = Field(description="attribute holding the zone or control-line name")
    mapping: dict[str, SpaceType] = Field(
        default_factory=dict, description="zone value -> space type, added to (and "
        "overriding) the built-in names: 农业空间 / 永久基本农田 -> agricultural, 城镇空间 / "
        "城镇开发边界 -> construction, 生态空间 / 生态保护红线 -> ecological (and the English "
        "names); a value in neither is an error")
    priority: list[SpaceType] = Field(
        default_factory=_default_priority,
        description="where zones of different space types overlap, the first in this list "
        "decides (default: red line over basic farmland over the development boundary)")

    @field_validator("priority")
    @classmethod
    def _all_three(cls, value: list[str]) -> list[str]:
        if sorted(value) != ["agricultural", "construction", "ecological"]:
            raise ValueError("priority must list agricultural, construction and ecological "
                             "once each")
        return value
