"""Zoning: indicators, quadrant zones, hot spots, sink zones, compensation, uncertainty."""
