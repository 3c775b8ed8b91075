"""Accounting: legends, classification, coefficients, energy, flux, balance and risk."""
