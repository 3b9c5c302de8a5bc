"""Cameras saved as video files beside the recording (`--image front:{episode}/front.mp4:file`).

Some recorders write each camera to its own mp4 next to the recording (prismax:
`<episode>/robot.<camera>.color.image_raw.mp4`, pts from 0, B-frames). Frame `i` in
presentation order is placed at `start + (pts_i - pts_0) + offset` on the index timeline, where
`start` is the recording's first sample there; the frames are decoded in order (B-frames need
that) and picked latest-at like any other camera.
"""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import numpy as np

from lerobot_nb.align.config import ImageSpec, StreamPolicy
from lerobot_nb.align.streams import SourceStream
from lerobot_nb.errors import LerobotNbError
from lerobot_nb.frames import DecodedFrames

__all__ = ["VideoFileFrames", "sidecar_path", "sidecar_stream", "video_file_times"]


def sidecar_path(template: str, *, recording: str, episode: str, key: str) -> Path:
    """The video file of `template` (`{episode}` = the recording id) relative to the recording's folder."""
    if not recording or "://" in recording:
        raise LerobotNbError(
            "a camera from a video file needs a local recording file to find it beside", stream=key
        )
    try:
        rel = template.format(episode=episode, stem=Path(recording).stem)
    except (KeyError, IndexError, ValueError) as exc:
        raise LerobotNbError(
            f"video file template {template!r}: unknown placeholder {exc}", stream=key
        ) from None
    path = Path(rel) if Path(rel).is_absolute() else Path(recording).parent / rel
    if not path.is_file():
        raise LerobotNbError(
            f"no video file {path} beside the recording", file=recording, episode=episode, stream=key
        )
    return path


def video_file_times(path: Path) -> tuple[np.ndarray, Fraction, int, int]:
    """`(pts, time_base, height, width)`: presentation times of every frame, sorted, in stream units."""
    import av

    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            pts = [p.pts for p in container.demux(stream) if p.pts is not None and p.size]
            height, width = stream.codec_context.height, stream.codec_context.width
            time_base = Fraction(stream.time_base) if stream.time_base else Fraction(1, 90000)
    except (av.error.FFmpegError, IndexError) as exc:
        raise LerobotNbError(f"cannot read the video file ({exc})", file=path) from None
    if not pts:
        raise LerobotNbError("the video file holds no frames", file=path)
    return np.sort(np.asarray(pts, np.int64)), time_base, int(height), int(width)


class VideoFileFrames(DecodedFrames):
    """Frames `picks[k]` (presentation order) of a video file, decoded once in order per iteration."""

    def __init__(self, path: Path, picks: np.ndarray, height: int, width: int, *, stream: str, episode: str):
        super().__init__(len(picks), height, width)
        self._path, self._picks, self._stream, self._episode = path, picks, stream, episode

    def _decoded(self) -> Iterator[np.ndarray]:
        import av

        with av.open(str(self._path)) as container:
            for frame in container.decode(video=0):
                yield frame.to_ndarray(format="rgb24")

    def __iter__(self) -> Iterator[np.ndarray]:
        frames = self._decoded()
        current: np.ndarray | None = None
        position = -1
        for pick in self._picks:
            while position < pick:
                current = next(frames, None)
                position += 1
                if current is None:
                    raise LerobotNbError(
                        f"the video file ends after {position} frames, frame {int(pick)} was needed",
                        file=self._path,
                        episode=self._episode,
                        stream=self._stream,
                    )
            assert current is not None
            yield current


def sidecar_stream(
    im: ImageSpec, policy: StreamPolicy, *, recording: str, episode: str, start: int | None, per_s: Fraction
) -> SourceStream:
    """Camera `im` (kind `file`) as a stream on the index timeline (see the module docstring)."""
    if start is None:
        raise LerobotNbError(
            "the recording has no first sample on this timeline to start the video at", stream=im.key
        )
    path = sidecar_path(im.entity, recording=recording, episode=episode, key=im.key)
    pts, time_base, height, width = video_file_times(path)
    seconds = [(int(p) - int(pts[0])) * time_base for p in pts]
    offset = Fraction(im.offset_s).limit_denominator(1_000_000_000)
    times = np.array([start + round((s + offset) * per_s) for s in seconds], np.int64)

    def frames(picks: np.ndarray, remuxable: bool) -> VideoFileFrames:
        return VideoFileFrames(path, picks, height, width, stream=im.key, episode=episode)

    return SourceStream(im.key, im.key, str(path), "image", policy, times, entity=str(path), frames=frames)
