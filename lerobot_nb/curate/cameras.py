"""Camera pictures sampled for scoring: every `stride`-th frame as a small grey thumbnail, compared in order.

Only the sampled frames are converted to RGB and reduced to a 32 x 32 grey thumbnail (area
average, which also averages sensor noise away); consecutive samples are compared on those. A
video file is decoded once, in order; when every sampled frame is a keyframe (lerobot's and this
package's default GOP of 2 with an even stride) the decoder skips the other frames
(`skip_frame="NONKEY"`), else inter-coded frames must all be decoded. A trace per camera and
episode is all that is kept: a few bytes per sample, never the pictures.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

__all__ = [
    "CameraTrace",
    "Segment",
    "sample_stride",
    "thumbnail",
    "trace_frames",
    "trace_samples",
    "trace_videos",
]

#: Thumbnail side in pixels.
THUMB = 32


@dataclass(frozen=True)
class CameraTrace:
    """One camera in one episode: the sampled frame numbers, the grey mean and std of each sample
    (0-255) and the largest grey difference to the previous sample (NaN for the first)."""

    key: str
    frames: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    diff: np.ndarray
    #: why the camera could not be read (a missing video file), else None
    error: str | None = None

    @classmethod
    def failed(cls, key: str, error: str) -> CameraTrace:
        """A trace with no samples for a camera that could not be read; `error` says why."""
        empty = np.zeros(0)
        return cls(key, np.zeros(0, np.int64), empty, empty, empty, error)


def sample_stride(fps: int, sample_hz: float) -> int:
    """Every how many frames a camera is sampled: about `sample_hz` samples per second."""
    return max(1, round(fps / sample_hz)) if sample_hz > 0 else 1


def thumbnail(rgb: np.ndarray) -> np.ndarray:
    """(THUMB, THUMB) float32 grey levels 0-255 of an (H, W, 3) uint8 RGB picture."""
    import cv2

    grey = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)
    return np.asarray(cv2.resize(grey, (THUMB, THUMB), interpolation=cv2.INTER_AREA), np.float32)


class _Builder:
    """Collects the samples of one trace."""

    def __init__(self, key: str) -> None:
        self.key = key
        self.frames: list[int] = []
        self.stats: list[tuple[float, float, float]] = []
        self._previous: np.ndarray | None = None

    def add(self, k: int, thumb: np.ndarray) -> None:
        diff = float(np.abs(thumb - self._previous).max()) if self._previous is not None else np.nan
        self.frames.append(k)
        self.stats.append((float(thumb.mean()), float(thumb.std()), diff))
        self._previous = thumb

    def trace(self) -> CameraTrace:
        stats = np.array(self.stats, np.float64).reshape(-1, 3)
        return CameraTrace(self.key, np.array(self.frames, np.int64), stats[:, 0], stats[:, 1], stats[:, 2])


def trace_samples(key: str, samples: Iterable[tuple[int, np.ndarray]]) -> CameraTrace:
    """The trace of (frame number, thumbnail) samples given in frame order."""
    builder = _Builder(key)
    for k, thumb in samples:
        builder.add(k, thumb)
    return builder.trace()


def trace_frames(key: str, frames: Iterable[np.ndarray], stride: int) -> CameraTrace:
    """The trace of RGB frames given in order (an aligned episode's `FrameSource`)."""
    return trace_samples(key, ((k, thumbnail(rgb)) for k, rgb in enumerate(frames) if k % stride == 0))


@dataclass(frozen=True)
class Segment:
    """Where one episode lies in a video file: [from_s, from_s + length / fps) seconds."""

    episode: int
    from_s: float
    length: int


def trace_videos(
    key: str, path: Path, segments: Sequence[Segment], fps: int, stride: int
) -> dict[int, CameraTrace]:
    """Traces of every episode stored in one mp4, from one sequential decode of the file.

    A frame belongs to the episode whose segment holds its time; frame k of an episode is the one
    at from_s + k / fps (within half a frame). Episodes the file does not hold get a failed trace.
    """
    if not path.is_file():
        return {s.episode: CameraTrace.failed(key, f"{path.name} is missing") for s in segments}
    ordered = sorted(segments, key=lambda s: s.from_s)
    starts = np.array([s.from_s for s in ordered])
    builders = {s.episode: _Builder(key) for s in ordered}
    try:
        for t, frame in _decoded(path, keyframes_only=_samples_are_keyframes(path, ordered, fps, stride)):
            i = int(np.searchsorted(starts, t + 0.5 / fps, side="right")) - 1
            if i < 0:
                continue
            seg = ordered[i]
            k = round((t - seg.from_s) * fps)
            if 0 <= k < seg.length and k % stride == 0:
                builders[seg.episode].add(k, thumbnail(frame.to_ndarray(format="rgb24")))
    except av.FFmpegError as exc:
        return {s.episode: CameraTrace.failed(key, f"{path.name} does not decode ({exc})") for s in segments}
    return {episode: b.trace() for episode, b in builders.items()}


def _samples_are_keyframes(path: Path, segments: Sequence[Segment], fps: int, stride: int) -> bool:
    """Whether every frame to sample is a keyframe of the file (from its packets, nothing decoded)."""
    from lerobot_nb.lerobot_v3.packets import PacketIndex

    index = PacketIndex.read(path)
    keys = np.sort(index.pts[index.keyframe] * float(index.time_base))
    wanted = np.concatenate(
        [s.from_s + np.arange(0, s.length, stride) / fps for s in segments] or [np.zeros(0)]
    )
    if not len(keys) or not len(wanted):
        return False
    i = np.clip(np.searchsorted(keys, wanted), 1, len(keys) - 1)
    nearest = np.minimum(np.abs(keys[i] - wanted), np.abs(keys[i - 1] - wanted))
    return bool(np.all(nearest < 0.5 / fps))


def _decoded(path: Path, *, keyframes_only: bool = False) -> Iterator[tuple[float, av.VideoFrame]]:
    """(seconds, frame) of every frame (or every keyframe) of the file's first video stream, in order."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        if keyframes_only:
            stream.codec_context.skip_frame = "NONKEY"
        time_base = stream.time_base
        for frame in container.decode(stream):
            if frame.pts is not None and time_base is not None:
                yield float(frame.pts * time_base), frame
