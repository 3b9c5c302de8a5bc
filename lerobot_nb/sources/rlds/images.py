"""Encoded camera images of one episode (JPEG/PNG bytes per step), decoded only for the frames picked."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from lerobot_nb.errors import LerobotNbError
from lerobot_nb.frames import DecodedFrames

__all__ = ["BLACK_MAX", "EncodedImages", "decode_image"]

#: A frame whose every channel value is at most this is black (JPEG leaves a little noise).
BLACK_MAX = 8


def decode_image(blob: bytes, *, stream: str = "", step: int | None = None) -> np.ndarray:
    """One encoded image as (H, W, 3) uint8 RGB; a corrupt image raises naming the stream and step.

    OpenCV's decoder (libjpeg-turbo / libpng in C, about 3x PIL's speed on small frames, the same
    pixels on the Bridge fixture); EXIF orientation is ignored, as TensorFlow's decoder does.
    """
    import cv2

    bgr = cv2.imdecode(np.frombuffer(blob, np.uint8), cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION)
    if bgr is None:
        where = f"step {step}: " if step is not None else ""
        raise LerobotNbError(f"{where}cannot decode image ({len(blob)} bytes)", stream=stream or None)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


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
        """Step number of each image, int64, non-decreasing."""
        return self._times

    def frames(self, picks: np.ndarray) -> _PickedFrames:
        """Frames of images `picks[k]`, decoded lazily; (H, W) from the features, else the first pick's."""
        shape = self._shape
        if shape is None:
            h, w = (
                decode_image(self.blobs[int(picks[0])], stream=self.key).shape[:2] if len(picks) else (0, 0)
            )
            shape = (h, w)
        return _PickedFrames(self, np.asarray(picks, np.int64), shape)

    def black(self) -> bool:
        """Every step shows the same black image (checked on the distinct encoded images, at most 4;
        an image that does not decode is not black: its error comes when its frame is used)."""
        distinct = set(self.blobs)
        if not distinct or len(distinct) > 4:
            return False
        try:
            return all(int(decode_image(b, stream=self.key).max()) <= BLACK_MAX for b in distinct)
        except LerobotNbError:
            return False


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
