"""Flows: the orchestration of one change (DESIGN.md "Layers"), above the features and mail."""
