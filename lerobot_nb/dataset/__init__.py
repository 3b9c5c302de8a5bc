"""Rewrite LeRobot v3.0 datasets: an edit plan of (source, episode, frame range) into a new dataset.

`rewrite_dataset(plan, RewriteConfig(output=...))` is the engine; `delete_episodes`,
`trim_episodes`, `split_episode` and `merge_datasets` are edits on top of it. Videos are copied
packet by packet (never re-encoded), stats are exact, the result is validated and published
atomically beside the output; inputs are only read.
"""

from __future__ import annotations

from lerobot_nb.dataset.config import RewriteConfig
from lerobot_nb.dataset.ops import delete_episodes, merge_datasets, split_episode, split_pieces, trim_episodes
from lerobot_nb.dataset.plan import EditPlan, EpisodeEdit, ResolvedEdit
from lerobot_nb.dataset.rewrite import ColumnTransform, rewrite_dataset
from lerobot_nb.dataset.summary import RewriteSummary
from lerobot_nb.lerobot_v3.dataset import SourceDataset

__all__ = [
    "ColumnTransform",
    "EditPlan",
    "EpisodeEdit",
    "ResolvedEdit",
    "RewriteConfig",
    "RewriteSummary",
    "SourceDataset",
    "delete_episodes",
    "merge_datasets",
    "rewrite_dataset",
    "split_episode",
    "split_pieces",
    "trim_episodes",
]
