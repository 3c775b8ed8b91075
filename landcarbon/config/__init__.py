"""Configuration: the run, change, zoning and compute sections of a TOML config."""
