"""File formats: read rasters, vectors and tables; write GPKG, CSV, COG and JSON (atomically,
see :mod:`landcarbon.io.outputs`). io imports nothing above it: no pipeline, publish or cli."""
