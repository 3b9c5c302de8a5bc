"""Curation: score episodes, decide per episode (drop, trim, split, retask) in `curation.yaml`, apply it.

`score_recordings` / `score_dataset` give one row per episode with flags and reasons;
`suggest` turns rules over those scores into a curation; `read_curation` / `write_curation` are
the one reader and writer of the file (the notebook and `curate suggest` write it too);
`apply_curation(dataset, CurateApplyConfig(curation=..., output=...))` writes the curated dataset
through `lerobot_nb.dataset` (new output, validated, atomic); `curate_episode` applies the same
decisions to aligned episodes while converting (`lerobot-nb convert --curation`).
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
from lerobot_nb.curate.score import (
    FLAGS,
    ScoreConfig,
    Scores,
    score_dataset,
    score_episodes,
    score_recordings,
)

__all__ = [
    "FLAGS",
    "CurateApplyConfig",
    "Curation",
    "EpisodeDecision",
    "EpisodeKey",
    "ScoreConfig",
    "Scores",
    "apply_curation",
    "curation_plan",
    "curation_to_yaml",
    "parse_curation",
    "read_curation",
    "score_dataset",
    "score_episodes",
    "score_recordings",
    "write_curation",
]
