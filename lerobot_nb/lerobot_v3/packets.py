"""Where an episode's frames are in a dataset's video file, packet by packet: index, cut plan, reader.

The packets of a kept range of frames can be copied into new files without re-encoding (the
copying itself is `lerobot_nb.dataset.video`): whole GOPs are copied packet by packet.

A kept range of frames rarely starts on a keyframe, and a frame can only be decoded from the
keyframe before it. So the copy starts at that keyframe: the leading frames of the first GOP stay
in the new file, before the episode's `from_timestamp`, and nothing references them (lerobot and
the validator look frames up by time). At the end, packets are copied up to the last kept frame
in decode order, plus whatever B-frame references that needs, so every copied frame decodes and
the copied frames are contiguous in display order (no hole in the file's constant frame rate,
which torchcodec's index lookup assumes). The alternative, re-encoding the head GOP, would change
pixels; copying keeps every kept frame bit for bit.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from lerobot_nb.errors import LerobotNbError

__all__ = ["TOLERANCE_S", "Cut", "PacketIndex", "PacketReader", "plan_cut"]

#: Seconds a frame's time may differ from from_timestamp + k / fps (lerobot's tolerance_s).
TOLERANCE_S = 1e-4


@dataclass(frozen=True)
class PacketIndex:
    """Every packet of one mp4's video stream, in decode order (times in stream ticks)."""

    path: Path
    time_base: Fraction
    pts: np.ndarray
    dts: np.ndarray
    keyframe: np.ndarray
    size: np.ndarray
    #: what must agree for packets to share an output file: codec, size, pixel format, extradata
    kind: tuple[object, ...]

    @classmethod
    def read(cls, path: Path) -> PacketIndex:
        """Demux (not decode) the whole file once."""
        rows: list[tuple[int, int, bool, int]] = []
        try:
            with av.open(str(path)) as container:
                stream: Any = container.streams.video[0]
                ctx = stream.codec_context
                kind = (ctx.name, ctx.width, ctx.height, ctx.format.name if ctx.format else "", ctx.extradata)
                time_base = Fraction(stream.time_base)
                for packet in container.demux(stream):
                    if packet.dts is None or not packet.size:
                        continue
                    pts = packet.pts if packet.pts is not None else packet.dts
                    rows.append((int(pts), int(packet.dts), bool(packet.is_keyframe), int(packet.size)))
        except (av.FFmpegError, IndexError) as exc:
            raise LerobotNbError(f"the video does not open ({exc})", file=path) from None
        table = np.array(rows, dtype=np.int64).reshape(-1, 4)
        return cls(path, time_base, table[:, 0], table[:, 1], table[:, 2].astype(bool), table[:, 3], kind)

    @functools.cached_property
    def order(self) -> np.ndarray:
        """Display position -> decode index."""
        return np.argsort(self.pts, kind="stable")

    @functools.cached_property
    def display(self) -> np.ndarray:
        """Decode index -> display position."""
        display = np.empty_like(self.order)
        display[self.order] = np.arange(self.order.size)
        return display

    @functools.cached_property
    def shown_s(self) -> np.ndarray:
        """Seconds of each frame in display order."""
        return np.asarray(self.pts[self.order] * float(self.time_base))


@dataclass(frozen=True)
class Cut:
    """The packets that carry `count` frames starting at a given time, whole GOPs from a keyframe.

    Decode indices [first, stop) are copied except `skip` (pictures of an open GOP that lean on the
    GOP before); `positions[i]` is the display position of copied packet i in the piece, `lead`
    the frames shown before the kept ones, `frames` all frames the piece shows.
    """

    index: PacketIndex
    first: int
    stop: int
    skip: frozenset[int]
    positions: dict[int, int]
    lead: int
    count: int
    frames: int
    start_s: float
    end_s: float

    @property
    def size(self) -> int:
        """Bytes of the copied packets, decode indices [first, stop) (skipped ones included)."""
        return int(self.index.size[self.first : self.stop].sum())


def plan_cut(index: PacketIndex, start_s: float, count: int, fps: int) -> Cut:
    """The packets to copy for frames at start_s + k / fps, k < count (one-line error if absent)."""
    order, display, shown = index.order, index.display, index.shown_s
    end_s = start_s + count / fps
    a = int(np.searchsorted(shown, start_s - TOLERANCE_S))
    b = int(np.searchsorted(shown, end_s - TOLERANCE_S))
    expected = start_s + np.arange(b - a) / fps
    if b - a != count or not np.all(np.abs(shown[a:b] - expected) < TOLERANCE_S):
        raise LerobotNbError(
            f"the video holds {b - a} frames on the grid in [{start_s:.4f}, {end_s:.4f}) s, the "
            f"episode needs {count}: from/to_timestamp do not match the file",
            file=index.path,
        )
    first = _keyframe_before(index, int(order[a]))
    stop = _stop_after(index, order, display, first, int(order[a:b].max()) + 1)
    base = int(display[first])
    copied = [i for i in range(first, stop) if index.pts[i] >= index.pts[first]]
    positions = {i: int(display[i]) - base for i in copied}
    return Cut(
        index=index,
        first=first,
        stop=stop,
        skip=frozenset(set(range(first, stop)) - set(copied)),
        positions=positions,
        lead=a - base,
        count=count,
        frames=max(positions.values()) + 1,
        start_s=start_s,
        end_s=end_s,
    )


def _keyframe_before(index: PacketIndex, decode_at: int) -> int:
    """The last keyframe at or before `decode_at` in decode order that is not shown after it."""
    keys = np.flatnonzero(index.keyframe[: decode_at + 1])
    for k in keys[::-1]:
        if index.pts[k] <= index.pts[decode_at]:
            return int(k)
    raise LerobotNbError(
        f"no keyframe before the frame at {index.pts[decode_at] * index.time_base} s", file=index.path
    )


def _stop_after(index: PacketIndex, order: np.ndarray, display: np.ndarray, first: int, stop: int) -> int:
    """Grow [first, stop) in decode order until the frames it shows are contiguous in display order."""
    while True:
        shown = [int(display[i]) for i in range(first, stop) if index.pts[i] >= index.pts[first]]
        lo, hi = int(display[first]), max(shown)
        missing = [int(order[p]) for p in range(lo, hi + 1) if int(order[p]) >= stop]
        if not missing:
            return stop
        stop = max(missing) + 1


class PacketReader:
    """Packets of one input mp4, read in order; seeks only when a cut does not follow the last one."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._container: Any = av.open(str(path))
        self.stream: Any = self._container.streams.video[0]
        self._packets: Iterator[av.Packet] | None = None
        self._next = -1  # decode index the demuxer is at, -1 unknown

    def read(self, cut: Cut) -> Iterator[tuple[int, av.Packet]]:
        """(decode index, packet) for decode indices cut.first .. cut.stop-1."""
        index = cut.index
        if self._packets is None or self._next != cut.first:
            self._container.seek(
                int(index.dts[cut.first]), stream=self.stream, backward=True, any_frame=False
            )
            self._packets = self._container.demux(self.stream)
        for packet in self._packets:
            if packet.dts is None or not packet.size:
                continue
            i = int(np.searchsorted(index.dts, packet.dts))
            if i >= len(index.dts) or index.dts[i] != packet.dts:
                raise LerobotNbError(f"packet at dts {packet.dts} is not in the file's index", file=self.path)
            if i < cut.first:
                continue
            yield i, packet
            if i == cut.stop - 1:
                self._next = cut.stop
                return
        self._next = -1
        raise LerobotNbError(f"the video ends before packet {cut.stop - 1}", file=self.path)

    def close(self) -> None:
        """Close the video file."""
        self._container.close()
