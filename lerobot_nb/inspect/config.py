"""The inspect spec: one frozen config for the Python API, `lerobot-nb inspect` and notebook 01."""

from __future__ import annotations

from dataclasses import dataclass

from lerobot_nb.config import help_field
from lerobot_nb.errors import LerobotNbError

__all__ = ["PER_EPISODE_LIMIT", "InspectConfig"]

#: Default of `InspectConfig.per_episode_limit`.
PER_EPISODE_LIMIT = 10


@dataclass(frozen=True, kw_only=True)
class InspectConfig:
    """What inspecting recordings measures and shows (the recordings themselves: `ServerConfig`)."""

    index: str | None = help_field(
        None,
        "timeline to measure rates on and to suggest an alignment for (default: the one on which "
        "the most streams have samples)",
    )
    columns: bool = help_field(False, "also list every column with kind and shape")
    shapes: bool = help_field(True, "read each column's first samples for its vector length and image size")
    per_episode: bool = help_field(
        False, "one stream row per episode even with more than per_episode_limit episodes"
    )
    per_episode_limit: int = help_field(
        PER_EPISODE_LIMIT,
        "with more episodes than this, the stream table has one row per stream over all episodes",
    )

    def __post_init__(self) -> None:
        if self.per_episode_limit < 0:
            raise LerobotNbError(f"per_episode_limit={self.per_episode_limit} must be >= 0")

    def folds(self, episodes: int) -> bool:
        """Whether the stream table of `episodes` episodes is folded to one row per stream."""
        return not self.per_episode and episodes > self.per_episode_limit
