"""Deprecated location of the episode model: import from `lerobot_nb.episode` instead."""

import warnings

from lerobot_nb.episode import AlignedEpisode, EncodedVideo, EpisodeSkipped, FrameSource, StreamTiming

__all__ = ["AlignedEpisode", "EncodedVideo", "EpisodeSkipped", "FrameSource", "StreamTiming"]

warnings.warn("lerobot_nb.align.episode moved to lerobot_nb.episode", DeprecationWarning, stacklevel=2)
