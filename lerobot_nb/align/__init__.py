"""Align every stream of an episode onto LeRobot's fixed 1/fps grid."""

from lerobot_nb.align.episode import AlignedEpisode, EncodedVideo, EpisodeSkipped, FrameSource

__all__ = ["AlignedEpisode", "EncodedVideo", "EpisodeSkipped", "FrameSource"]
