"""One sequential PyAV pass over a video file: frame times, decode errors, repeats, sampled frames.

Every check that needs the video (decoding, segment lengths, timestamp lookup, image stats,
frozen-camera warnings) reads this scan, so each mp4 is decoded once per validation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from lerobot_nb.stats import sample_frame_indices

__all__ = ["SampleRequest", "VideoScan", "scan_video"]


@dataclass(frozen=True)
class SampleRequest:
    """Keep the RGB frame shown at `time_s` (seconds in the file) as frame `k` of `episode`."""

    episode: int
    k: int
    time_s: float


@dataclass
class VideoScan:
    """What decoding one video file found. Times are seconds (pts * time_base), in decode order."""

    path: Path
    open_error: str | None = None
    codec: str = ""
    width: int = 0
    height: int = 0
    pix_fmt: str = ""
    fps: Fraction | None = None
    header_frames: int = 0
    packets: int = 0
    times: np.ndarray = field(default_factory=lambda: np.zeros(0))
    #: (decoded frame number, message) for every packet that failed to decode
    errors: list[tuple[int, str]] = field(default_factory=list)
    #: per decoded frame: True when its picture equals the previous frame's bit for bit
    same_as_previous: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    #: (episode, k) -> HxWx3 uint8 RGB frame, for the requested samples
    samples: dict[tuple[int, int], np.ndarray] = field(default_factory=dict)

    @property
    def decoded(self) -> int:
        """Frames decoded from the file."""
        return len(self.times)


def sample_requests(episode: int, from_s: float, length: int, fps: int) -> list[SampleRequest]:
    """The frames lerobot's image stats sample from one episode's video segment."""
    return [SampleRequest(episode, k, from_s + k / fps) for k in sample_frame_indices(length)]


def scan_video(path: Path, requests: list[SampleRequest], tolerance_s: float) -> VideoScan:
    """Decode every frame of `path` in order; never raises for a broken file (errors are recorded)."""
    scan = VideoScan(path=path)
    try:
        container = av.open(str(path))
    except Exception as exc:  # PyAV raises many error types for broken files
        scan.open_error = f"{type(exc).__name__}: {exc}"
        return scan
    wanted = sorted(requests, key=lambda r: r.time_s)
    wanted_times = np.array([r.time_s for r in wanted])
    times: list[float] = []
    same: list[bool] = []
    previous: np.ndarray | None = None
    with container:
        if not container.streams.video:
            scan.open_error = "no video stream"
            return scan
        stream = container.streams.video[0]
        ctx = stream.codec_context
        scan.codec, scan.width, scan.height = ctx.name, ctx.width, ctx.height
        scan.pix_fmt = ctx.format.name if ctx.format is not None else ""
        scan.fps = Fraction(stream.average_rate) if stream.average_rate else None
        scan.header_frames = int(stream.frames or 0)
        time_base = stream.time_base
        packets = container.demux(stream)
        while True:
            try:
                packet = next(packets)
            except StopIteration:
                break
            except Exception as exc:  # a truncated/corrupt container ends demuxing with an error
                scan.errors.append((len(times), f"reading packets failed: {type(exc).__name__}: {exc}"))
                break
            if packet.size:
                scan.packets += 1
            try:
                frames = packet.decode()
            except Exception as exc:
                scan.errors.append((len(times), f"{type(exc).__name__}: {exc}"))
                continue
            for frame in frames:
                assert isinstance(frame, av.VideoFrame)  # decoding a video stream
                if frame.pts is None or time_base is None:
                    scan.errors.append((len(times), "decoded frame has no timestamp"))
                    continue
                t = float(frame.pts * time_base)
                # to_ndarray drops the planes' line padding (uninitialised bytes: never compare those)
                picture = frame.to_ndarray()
                same.append(previous is not None and np.array_equal(picture, previous))
                previous = picture
                times.append(t)
                if wanted_times.size:
                    i = int(np.searchsorted(wanted_times, t - tolerance_s))
                    while i < len(wanted) and abs(wanted_times[i] - t) < tolerance_s:
                        scan.samples[(wanted[i].episode, wanted[i].k)] = frame.to_ndarray(format="rgb24")
                        i += 1
    scan.times = np.array(times, dtype=np.float64)
    scan.same_as_previous = np.array(same, dtype=bool)
    return scan
