"""Curation: decide per episode (drop, trim, split, retask) in `curation.yaml` and apply it.

`read_curation` / `write_curation` are the one reader and writer of the file (the notebook and
`curate suggest` write it too); `apply_curation(dataset, CurateApplyConfig(curation=..., output=...))`
writes the curated dataset through `lerobot_nb.dataset` (new output, validated, atomic).
"""

from __future__ import annotations

from lerobot_nb.curate.apply import apply_curation, curation_plan
from lerobot_nb.curate.config import CurateApplyConfig
from lerobot_nb.curate.curation import (
    Curation,
    EpisodeDecision,
    EpisodeKey,
    curation_to_yaml,
    parse_curation,
    read_curation,
    write_curation,
)

__all__ = [
    "CurateApplyConfig",
    "Curation",
    "EpisodeDecision",
    "EpisodeKey",
    "apply_curation",
    "curation_plan",
    "curation_to_yaml",
    "parse_curation",
    "read_curation",
    "write_curation",
]
