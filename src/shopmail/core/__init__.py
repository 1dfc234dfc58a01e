"""Core: what every layer above may use (DESIGN.md "Layers"): typed config, access rules, errors."""
