"""Accounting: legends, classification, coefficients, energy, grid factors, flux, balance,
thresholds and risk."""
