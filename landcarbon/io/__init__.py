"""File input and output: the only part of landcarbon that opens files.

Readers return xarray / geopandas / pandas objects; writers take them. Outputs are written
atomically (see :mod:`landcarbon.io.outputs`).
"""

from landcarbon.io.raster import open_landcover, write_raster
from landcarbon.io.vector import read_units, write_units

__all__ = ["open_landcover", "read_units", "write_raster", "write_units"]
