"""Publishing: interactive maps of the assessed units table."""

from landcarbon.publish.maps import explore_units

__all__ = ["explore_units"]
