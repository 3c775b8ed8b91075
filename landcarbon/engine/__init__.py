"""Engine: exact, windowed land-cover passes, coverage, zonal areas, extents and parcels."""
