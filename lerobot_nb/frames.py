"""In-process `FrameSource`s that never remux: a base with fixed length and size, and frames held in memory."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from lerobot_nb.episode import EncodedVideo

__all__ = ["ArrayFrames", "DecodedFrames"]


class DecodedFrames:
    """`FrameSource` plumbing: `length` frames of `height` x `width` (the first frame's size);
    subclasses yield the frames. `encoded` is always None (frames are pixels, not packets)."""

    def __init__(self, length: int, height: int, width: int) -> None:
        self._len, self._h, self._w = length, height, width

    @property
    def height(self) -> int:
        """Frame height in pixels."""
        return self._h

    @property
    def width(self) -> int:
        """Frame width in pixels."""
        return self._w

    def __len__(self) -> int:
        return self._len

    def __iter__(self) -> Iterator[np.ndarray]:
        raise NotImplementedError

    def encoded(self, codec: str) -> EncodedVideo | None:
        """Always None: decoded frames have no packets to remux."""
        return None


class ArrayFrames(DecodedFrames):
    """A `FrameSource` over frames already in memory: a (T,H,W,3) uint8 array or a list of frames.

    `height`/`width` are the first frame's (a list may hold frames of other sizes).
    """

    def __init__(self, frames: np.ndarray | Sequence[np.ndarray]) -> None:
        first = frames[0] if len(frames) else np.zeros((0, 0, 3), np.uint8)
        super().__init__(len(frames), int(first.shape[0]), int(first.shape[1]))
        self._frames = frames

    def __iter__(self) -> Iterator[np.ndarray]:
        return iter(self._frames)
