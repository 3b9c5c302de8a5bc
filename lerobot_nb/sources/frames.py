"""A base for in-process `FrameSource`s that never remux: fixed length and size, frames from `__iter__`."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from lerobot_nb.align.episode import EncodedVideo

__all__ = ["DecodedFrames"]


class DecodedFrames:
    """`FrameSource` plumbing: `length` frames of `height` x `width` (the first frame's size);
    subclasses yield the frames. `encoded` is always None (frames are pixels, not packets)."""

    def __init__(self, length: int, height: int, width: int) -> None:
        self._len, self._h, self._w = length, height, width

    @property
    def height(self) -> int:
        return self._h

    @property
    def width(self) -> int:
        return self._w

    def __len__(self) -> int:
        return self._len

    def __iter__(self) -> Iterator[np.ndarray]:
        raise NotImplementedError

    def encoded(self, codec: str) -> EncodedVideo | None:
        return None
