"""Per-episode task mapping (`--episode-task ID=TASK`); the tasks table itself is `lerobot_v3.tasks`."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from lerobot_nb.episode import AlignedEpisode
from lerobot_nb.lerobot_v3.tasks import TaskTable  # re-exported: the writer's home of it before

__all__ = ["TaskTable", "with_episode_task"]


def with_episode_task(episode: AlignedEpisode, mapping: Mapping[str, str]) -> AlignedEpisode:
    """The episode with every tick's task set to `mapping[episode_id]` (unchanged if not mapped)."""
    task = mapping.get(episode.episode_id)
    if task is None:
        return episode
    return dataclasses.replace(episode, tasks=(task,) * episode.length)
