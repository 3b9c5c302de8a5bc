"""Deprecated location of the in-process frame sources: import from `lerobot_nb.frames` instead."""

import warnings

from lerobot_nb.frames import ArrayFrames, DecodedFrames

__all__ = ["ArrayFrames", "DecodedFrames"]

warnings.warn("lerobot_nb.sources.frames moved to lerobot_nb.frames", DeprecationWarning, stacklevel=2)
