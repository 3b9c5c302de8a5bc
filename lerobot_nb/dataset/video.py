"""Copy an episode's video frames into new files without re-encoding (the GOP logic: `lerobot_v3.packets`)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import av
import numpy as np

from lerobot_nb.errors import LerobotNbError
from lerobot_nb.export.video import VideoTrack
from lerobot_nb.lerobot_v3.packets import TOLERANCE_S, Cut, PacketIndex, PacketReader, plan_cut

__all__ = ["TOLERANCE_S", "Cut", "PacketIndex", "PacketReader", "Placement", "copy_cut", "plan_cut"]


@dataclass(frozen=True)
class Placement:
    """Where a copied cut went: the file and the file frame of its first kept frame."""

    chunk: int
    file: int
    from_frame: int


def copy_cut(
    reader: PacketReader, cut: Cut, track: VideoTrack, *, fps: int, keep: frozenset[int] = frozenset()
) -> tuple[Placement, dict[int, np.ndarray]]:
    """Copy the cut's packets into `track`; returns where the kept frames went and, decoded on
    the way as RGB, the kept frames whose positions k (0..count-1) are in `keep`."""
    decoded: dict[int, np.ndarray] = {}
    packets = _packets(reader, cut, fps, keep, decoded) if keep else _plain(reader, cut)
    chunk, file, start = track.append_packets(
        reader.stream, packets, frames=cut.frames, size=cut.size, kind=cut.index.kind
    )
    if len(decoded) != len(keep):
        raise LerobotNbError(
            f"{len(decoded)} of the {len(keep)} frames needed for image statistics decode", file=reader.path
        )
    return Placement(chunk, file, start + cut.lead), decoded


def _plain(reader: PacketReader, cut: Cut) -> Iterator[tuple[av.Packet, int]]:
    for i, packet in reader.read(cut):
        if i not in cut.skip:
            yield packet, cut.positions[i]


def _packets(
    reader: PacketReader, cut: Cut, fps: int, keep: frozenset[int], out: dict[int, np.ndarray]
) -> Iterator[tuple[av.Packet, int]]:
    """`_plain`, decoding each packet before it is handed on (the track retimes it)."""
    decoder = reader.stream.codec_context
    decoder.flush_buffers()  # the cut starts on a keyframe: no state from before is needed
    time_base = float(cut.index.time_base)
    for i, packet in reader.read(cut):
        if i in cut.skip:
            continue
        _collect(decoder.decode(packet), cut, fps, time_base, keep, out)
        yield packet, cut.positions[i]
    _collect(decoder.decode(None), cut, fps, time_base, keep, out)
    decoder.flush_buffers()


def _collect(
    frames: list[Any], cut: Cut, fps: int, time_base: float, keep: frozenset[int], out: dict[int, np.ndarray]
) -> None:
    for frame in frames:
        if frame.pts is None:
            continue
        offset = (frame.pts * time_base - cut.start_s) * fps
        k = round(offset)
        if k in keep and abs(offset - k) < TOLERANCE_S * fps:
            out[k] = frame.to_ndarray(format="rgb24")
