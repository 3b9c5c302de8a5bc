"""Encoded camera images of one episode (JPEG/PNG bytes per step), decoded only for the frames picked."""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence

import numpy as np

from lerobot_nb.errors import LerobotNbError
from lerobot_nb.frames import DecodedFrames

__all__ = ["BLACK_MAX", "EncodedImages", "decode_image"]

#: A frame whose every channel value is at most this is black (JPEG leaves a little noise).
BLACK_MAX = 8


def decode_image(blob: bytes, *, stream: str = "", step: int | None = None) -> np.ndarray:
    """One encoded image as (H, W, 3) uint8 RGB; a corrupt image raises naming the stream and step."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(blob)) as im:
            return np.asarray(im.convert("RGB"))
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        where = f"step {step}: " if step is not None else ""
        raise LerobotNbError(f"{where}cannot decode image ({exc})", stream=stream or None) from None


class EncodedImages:
    """An `ImageStream`: step `times[i]` shows the image encoded in `blobs[i]`.

    `shape` is (H, W) when the features declare it; otherwise the first picked frame's size.
    """

    def __init__(self, key: str, times: np.ndarray, blobs: Sequence[bytes], shape: tuple[int, int] | None) -> None:  # fmt: skip
        self.key = key
        self._times = times
        self.blobs = blobs
        self._shape = shape

    @property
    def times(self) -> np.ndarray:
        return self._times

    def frames(self, picks: np.ndarray) -> _PickedFrames:
        shape = self._shape
        if shape is None:
            h, w = (
                decode_image(self.blobs[int(picks[0])], stream=self.key).shape[:2] if len(picks) else (0, 0)
            )
            shape = (h, w)
        return _PickedFrames(self, np.asarray(picks, np.int64), shape)

    def black(self) -> bool:
        """Every step shows the same black image (checked on the distinct encoded images, at most 4)."""
        distinct = set(self.blobs)
        if not distinct or len(distinct) > 4:
            return False
        return all(int(decode_image(b, stream=self.key).max()) <= BLACK_MAX for b in distinct)


class _PickedFrames(DecodedFrames):
    """The frames of `picks`, decoded while iterating; a repeated pick reuses the last decode."""

    def __init__(self, images: EncodedImages, picks: np.ndarray, shape: tuple[int, int]) -> None:
        super().__init__(len(picks), shape[0], shape[1])
        self._images, self._picks = images, picks

    def __iter__(self) -> Iterator[np.ndarray]:
        last, frame = -1, None
        for pick in self._picks.tolist():
            if pick != last or frame is None:
                frame = decode_image(self._images.blobs[pick], stream=self._images.key, step=pick)
                last = pick
            yield frame
