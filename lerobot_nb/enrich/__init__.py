"""Enrichment steps: extra per-frame features computed from an aligned episode (hand pose, ...)."""
