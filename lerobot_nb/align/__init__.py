"""Align every stream of an episode onto LeRobot's fixed 1/fps grid."""

from lerobot_nb.align.aligner import (
    align_episode,
    align_recorded,
    align_segments,
    iter_aligned,
    iter_recorded,
)
from lerobot_nb.align.config import AlignConfig
from lerobot_nb.episode import AlignedEpisode, EncodedVideo, EpisodeSkipped, FrameSource, StreamTiming

__all__ = [
    "AlignConfig",
    "AlignedEpisode",
    "EncodedVideo",
    "EpisodeSkipped",
    "FrameSource",
    "StreamTiming",
    "align_episode",
    "align_recorded",
    "align_segments",
    "iter_aligned",
    "iter_recorded",
]
