"""Video with PyAV: encode one episode's frames (or remux its packets) into a segment, then
append segments into the rolled `videos/<key>/chunk-XXX/file-XXX.mp4` files by packet copy.

A segment is an mp4 holding one episode of one camera, frame k at pts k / fps. Appending copies
packets and shifts their times by the frames already in the file, as lerobot's
`concatenate_video_files` does, so episode e of a file starts exactly at `from_timestamp`.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from lerobot_nb.codecs import open_decoder
from lerobot_nb.episode import EncodedVideo
from lerobot_nb.errors import LerobotNbError
from lerobot_nb.export.config import ExportConfig
from lerobot_nb.export.scheduling import forbid_realtime_scheduling

# SVT-AV1 prints a banner per encoder on stderr; keep only its errors.
os.environ.setdefault("SVT_LOG", "1")

__all__ = ["EncoderSettings", "Segment", "SegmentEncoder", "VideoTrack", "encode_segment", "remux_segment"]


@dataclass(frozen=True)
class EncoderSettings:
    """Codec and options of every video of one export (lerobot's `VideoEncoderConfig` fields)."""

    codec: str
    pix_fmt: str
    g: int | None
    crf: int | None
    preset: int | str | None
    fast_decode: int
    #: threads per encoder; None lets the codec decide
    threads: int | None = None

    @classmethod
    def from_config(cls, config: ExportConfig, threads: int | None = None) -> EncoderSettings:
        """The export's codec fields (the preset with lerobot's default filled in), `threads` per encoder."""
        return cls(
            config.codec,
            config.pix_fmt,
            config.g,
            config.crf,
            config.effective_preset,
            config.fast_decode,
            threads,
        )

    @property
    def extra_options(self) -> dict[str, str]:
        """Options beyond lerobot's structured fields (recorded in the video info block).

        No B-frames for h264/hevc: appended segments then keep `dts <= pts` without reordering
        delay across episode boundaries.
        """
        if self.codec == "h264":
            return {"bf": "0"}
        if self.codec == "hevc":
            return {"x265-params": "bframes=0:log-level=error"}
        return {}

    def options(self) -> dict[str, str]:
        """Codec options exactly as lerobot's `get_codec_options` maps the same fields."""
        opts: dict[str, str] = {}
        if self.g is not None:
            opts["g"] = str(self.g)
        if self.crf is not None:
            opts["crf"] = str(self.crf)
        if self.preset is not None:
            opts["preset"] = str(self.preset)
        if self.codec == "libsvtav1":
            parts = [f"fast-decode={max(0, min(2, self.fast_decode))}"]
            if self.threads is not None:
                parts.append(f"lp={self.threads}")
            opts["svtav1-params"] = ":".join(parts)
        else:
            if self.fast_decode:
                opts["tune"] = "fastdecode"
            if self.threads is not None:
                opts["threads"] = str(self.threads)
        opts.update(self.extra_options)
        return opts


@dataclass(frozen=True)
class Segment:
    """One episode of one camera as an mp4 file of `frames` frames (k at pts k / fps)."""

    path: Path
    frames: int
    remuxed: bool


class SegmentEncoder:
    """Encode one episode of one camera into an mp4 segment, frame by frame (context manager).

    Frames are converted to `VideoFrame`s and sent to the encoder in batches of `batch`; frame k
    gets pts k / fps. A frame of another size raises LerobotNbError (the caller adds the stream).
    """

    def __init__(
        self, path: Path, *, fps: int, height: int, width: int, settings: EncoderSettings, batch: int = 16
    ) -> None:
        self.path, self.fps, self.height, self.width, self.batch = path, fps, height, width, batch
        self.count = 0
        forbid_realtime_scheduling()  # before the encoder opens in this thread (SVT-AV1 as root)
        self._out: Any = av.open(str(path), "w", format="mp4")
        stream: Any = self._out.add_stream(settings.codec, rate=fps, options=settings.options())
        stream.width, stream.height, stream.pix_fmt = width, height, settings.pix_fmt
        self._stream = stream
        self._pending: list[av.VideoFrame] = []

    def push(self, array: np.ndarray) -> None:
        """Queue one (height, width, 3) uint8 RGB frame at pts `count`; `LerobotNbError` for another shape."""
        if array.shape != (self.height, self.width, 3) or array.dtype != np.uint8:
            raise LerobotNbError(
                f"frame {self.count} is {array.shape} {array.dtype}, expected ({self.height}, {self.width}, 3) "
                "uint8 (image size changed inside the episode)"
            )
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(array), format="rgb24")
        frame.pts = self.count
        frame.time_base = Fraction(1, self.fps)
        self._pending.append(frame)
        self.count += 1
        if len(self._pending) >= self.batch:
            self._flush()

    def passthrough(self, frames: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        """Yield `frames` unchanged, encoding each on the way (one decode feeds two consumers)."""
        for array in frames:
            self.push(array)
            yield array

    def _flush(self) -> None:
        for frame in self._pending:
            self._out.mux(self._stream.encode(frame))
        self._pending.clear()

    def finish(self) -> Segment:
        """Flush the encoder, close the file and return the segment (`count` frames, not remuxed)."""
        self._flush()
        self._out.mux(self._stream.encode(None))
        self._out.close()
        return Segment(self.path, self.count, remuxed=False)

    def __enter__(self) -> SegmentEncoder:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is not None:
            with contextlib.suppress(Exception):
                self._out.close()


def encode_segment(
    frames: Iterable[np.ndarray],
    path: Path,
    *,
    fps: int,
    height: int,
    width: int,
    settings: EncoderSettings,
    batch: int = 16,
) -> Segment:
    """Encode RGB frames into the mp4 segment `path` (see `SegmentEncoder`)."""
    with SegmentEncoder(path, fps=fps, height=height, width=width, settings=settings, batch=batch) as enc:
        for array in frames:
            enc.push(array)
        return enc.finish()


def remux_segment(encoded: EncodedVideo, path: Path, *, fps: int, pix_fmt: str) -> Segment:
    """Write already-encoded packets (packet k shown at tick k) into `path` without decoding.

    `pix_fmt` is the pictures' own format (`picture_format`), recorded in the mp4 stream header.
    """
    with av.open(str(path), "w", format="mp4") as out:
        stream: Any = out.add_stream(encoded.codec, rate=fps)
        stream.width, stream.height = encoded.width, encoded.height
        stream.pix_fmt = pix_fmt
        time_base = Fraction(1, fps)
        for k, (data, key) in enumerate(zip(encoded.packets, encoded.keyframes, strict=True)):
            packet = av.Packet(data)
            packet.pts = packet.dts = k
            packet.time_base = time_base
            packet.is_keyframe = key
            packet.stream = stream
            out.mux(packet)
    return Segment(path, len(encoded.packets), remuxed=True)


def picture_format(encoded: EncodedVideo) -> str | None:
    """Pixel format of the first decodable picture (e.g. `yuv420p`); None when nothing decodes."""
    decoder = open_decoder(encoded.codec)
    with contextlib.suppress(av.FFmpegError):
        for data in (*encoded.packets[:_PROBE_PACKETS], None):
            for picture in decoder.decode(None if data is None else av.Packet(data)):
                return str(picture.format.name)
    return None


# A decoder with frame delay holds a few pictures back; the first keyframe decodes within these.
_PROBE_PACKETS = 8


def can_remux(
    encoded: EncodedVideo | None, *, codec: str, height: int, width: int, length: int, pix_fmt: str
) -> bool:
    """Packets are usable as they are: same codec, size and pixel format as the export's, one per
    tick, starting at a keyframe (so info.json's one video block is true of every segment)."""
    return (
        encoded is not None
        and encoded.codec == codec
        and (encoded.height, encoded.width) == (height, width)
        and len(encoded.packets) == length
        and bool(encoded.keyframes)
        and encoded.keyframes[0]
        and picture_format(encoded) == pix_fmt
    )


class VideoTrack:
    """One camera's video files: segments appended in episode order, files rolled by size.

    `append` adds an encoded segment file; `append_packets` adds a piece of another mp4's stream
    (packet copy, for rewriting datasets). Both return where the frames went.
    """

    def __init__(
        self,
        root: Path,
        key: str,
        *,
        fps: int,
        chunks_size: int,
        max_mb: float,
        start: tuple[int, int] = (0, 0),
    ) -> None:
        self.root = root
        self.key = key
        self.fps = fps
        self.chunks_size = chunks_size
        self.max_bytes = max_mb * 1024 * 1024
        self.chunk, self.file = start
        self._out: Any = None
        self._stream: Any = None
        self._path: Path | None = None
        self._frames = 0  # frames already in the open file
        self._bytes = 0  # packet bytes already in the open file
        self._kind: object = None  # what may share the open file (same codec parameters)

    def path_of(self, chunk: int, file: int) -> Path:
        """Path of video file (chunk, file) of this camera under `root`."""
        from lerobot_nb.lerobot_v3.layout import VIDEO_PATH

        return self.root / VIDEO_PATH.format(video_key=self.key, chunk_index=chunk, file_index=file)

    def _make_room(self, size: int, kind: object) -> None:
        """Roll to the next file when `size` more bytes would pass the limit or `kind` differs."""
        from lerobot_nb.lerobot_v3.layout import next_file

        # Sizes are counted from the packets: the muxer buffers, the file on disk lags behind.
        if self._out is not None and (kind != self._kind or self._bytes + size >= self.max_bytes):
            self.close()
            self.chunk, self.file = next_file(self.chunk, self.file, self.chunks_size)

    def append(self, segment: Segment) -> tuple[int, int, float, float]:
        """Append an episode's segment file: (chunk, file, from_timestamp, to_timestamp)."""
        # Never mix remuxed source packets and our encoder's packets in one file (other codec
        # parameters); otherwise roll like lerobot: when this episode would pass the limit.
        self._make_room(segment.path.stat().st_size, segment.remuxed)
        with av.open(str(segment.path)) as src:
            in_stream: Any = src.streams.video[0]
            if self._out is None:
                self._open(in_stream, segment.remuxed)
            start = self._frames  # after a roll this is 0: the episode opens the new file
            offset = int(Fraction(start, self.fps) / in_stream.time_base)
            for packet in src.demux(in_stream):
                if packet.dts is None:
                    continue  # the demuxer's empty flush packet
                packet.pts = (packet.pts if packet.pts is not None else packet.dts) + offset
                packet.dts = packet.dts + offset
                packet.stream = self._stream
                self._bytes += packet.size
                self._out.mux(packet)
        self._frames += segment.frames
        segment.path.unlink()
        return self.chunk, self.file, start / self.fps, self._frames / self.fps

    def append_packets(
        self,
        template: Any,
        packets: Iterable[tuple[av.Packet, int]],
        *,
        frames: int,
        size: int,
        kind: object,
    ) -> tuple[int, int, int]:
        """Append `frames` display frames copied from the stream `template` (another mp4's).

        `packets` are (packet, display position 0..frames-1) in decode order; position p is
        shown at file frame `start + p`, exactly (start + p) / fps, and each packet keeps its
        own decode lag behind its pts (B-frames). `size` is their byte total (for rolling) and
        `kind` what must agree for packets to share a file (codec parameters). Returns
        (chunk, file, start): the file frame the piece begins at.
        """
        self._make_room(size, kind)
        if self._out is None:
            self._open(template, kind)
        start = self._frames
        time_base = Fraction(self._stream.time_base)
        for packet, position in packets:
            assert packet.dts is not None and packet.time_base is not None  # demuxed packets have both
            lag = ((packet.pts if packet.pts is not None else packet.dts) - packet.dts) * packet.time_base
            packet.pts = round(Fraction(start + position, self.fps) / time_base)
            packet.dts = packet.pts - round(lag / time_base)
            packet.time_base = time_base
            packet.stream = self._stream
            self._bytes += packet.size
            self._out.mux(packet)
        self._frames += frames
        return self.chunk, self.file, start

    def _open(self, template: Any, kind: object) -> None:
        self._path = self.path_of(self.chunk, self.file)
        self._path.parent.mkdir(parents=True, exist_ok=True)
        self._out = av.open(str(self._path), "w", format="mp4")
        self._stream = self._out.add_stream_from_template(template, opaque=True)
        self._stream.time_base = template.time_base
        self._frames = 0
        self._bytes = 0
        self._kind = kind

    def close(self) -> None:
        """Finish the open file (writes its index); idempotent."""
        out, self._out = self._out, None
        if out is not None:
            try:
                out.close()
            except Exception:
                # A failed close (disk full) must not be retried by the garbage collector.
                with contextlib.suppress(Exception):
                    out.close()
                raise
