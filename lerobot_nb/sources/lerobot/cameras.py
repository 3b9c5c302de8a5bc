"""The cameras of one LeRobot episode: a segment of an mp4 (video features) or PNG/JPEG cells of the
data parquet (image features), as `ImageStream`s whose sample i is the episode's frame i.

Video frames are decoded in order with PyAV (one pass from the keyframe before the segment, so
B-frames are fine) and picked by position; when the picks are the segment's frames one for one,
`encoded` hands the compressed packets to the exporter, which copies them without re-encoding.
"""

from __future__ import annotations

import io
import itertools
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from lerobot_nb.episode import EncodedVideo
from lerobot_nb.errors import LerobotNbError
from lerobot_nb.frames import DecodedFrames
from lerobot_nb.lerobot_v3.dataset import VideoSegment
from lerobot_nb.lerobot_v3.packets import TOLERANCE_S, Cut, PacketIndex, PacketReader, plan_cut

__all__ = ["EmbeddedImages", "IndexCache", "SegmentFrames", "VideoCamera", "video_codec"]

#: Bitstream filters that turn MP4 (length-prefixed) packets into the Annex-B access units the
#: exporter's remux (and Rerun's VideoStream) expect.
_ANNEX_B = {"h264": "h264_mp4toannexb", "hevc": "hevc_mp4toannexb"}


class IndexCache:
    """Packet indexes of the last few mp4 files (a v3.0 file holds many episodes: demuxed once)."""

    def __init__(self, size: int = 4) -> None:
        self._size = size
        self._items: OrderedDict[Path, PacketIndex] = OrderedDict()

    def get(self, path: Path) -> PacketIndex:
        """Packet index of the mp4 at `path`, demuxed on first use (keeps the `size` most recent)."""
        if path in self._items:
            self._items.move_to_end(path)
        else:
            self._items[path] = PacketIndex.read(path)
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return self._items[path]


def video_codec(path: Path) -> tuple[str, str]:
    """(codec, pixel format) of an mp4's video stream as PyAV names them (`av1`, `yuv420p`)."""
    import av

    container: Any = av.open(str(path))
    try:
        ctx = container.streams.video[0].codec_context
        return str(ctx.codec.canonical_name), ctx.format.name if ctx.format else ""
    finally:
        container.close()


class VideoCamera:
    """One camera of one episode in an mp4 segment (`ImageStream`): sample i = frame i.

    Nothing is opened until `times` is read: then the file must exist and hold the episode's
    frames on the k / fps grid from `segment.from_timestamp` (one-line errors naming the file).
    """

    def __init__(
        self,
        segment: VideoSegment,
        times: np.ndarray,
        *,
        fps: int,
        indexes: IndexCache,
        missing: LerobotNbError,
    ) -> None:
        self._segment, self._times, self._fps = segment, times, fps
        self._indexes, self._missing = indexes, missing
        self._cut: Cut | None = None
        self.key = missing.stream  # the camera, as messages name it

    @property
    def cut(self) -> Cut:
        """Packets of the episode's frames (planned once); `LerobotNbError` for a missing or short file."""
        if self._cut is None:
            if not self._segment.path.is_file():
                raise self._missing
            try:
                index = self._indexes.get(self._segment.path)
                self._cut = plan_cut(index, self._segment.from_timestamp, len(self._times), self._fps)
            except LerobotNbError as exc:
                raise exc.with_context(stream=self.key) from None
        return self._cut

    @property
    def times(self) -> np.ndarray:
        """Sample times (one per frame) on the episode's timeline; checks the video file first (see `cut`)."""
        self.cut  # noqa: B018 -- checks the file before the aligner relies on the samples
        return self._times

    def __len__(self) -> int:
        """The episode's frame count (without opening the file)."""
        return len(self._times)

    def frames(self, picks: np.ndarray) -> SegmentFrames:
        """Frames `picks[k]` (positions in the episode, non-decreasing) of the cut, decoded in one pass."""
        return SegmentFrames(self.cut, np.asarray(picks, np.int64), self._fps)


class SegmentFrames(DecodedFrames):
    """`FrameSource`: frames `picks[k]` of a cut (positions 0..count-1), decoded in one pass."""

    def __init__(self, cut: Cut, picks: np.ndarray, fps: int) -> None:
        kind = cut.index.kind  # (decoder, width, height, pix_fmt, extradata)
        super().__init__(len(picks), int(kind[2]), int(kind[1]))  # type: ignore[call-overload]
        self._cut, self._picks, self._fps = cut, picks, fps
        self._pix_fmt = str(kind[3])
        self._codec: str | None = None

    @property
    def codec(self) -> str:
        """The file's codec as PyAV names it (`av1`, `h264`, `hevc`)."""
        if self._codec is None:
            self._codec = video_codec(self._cut.index.path)[0]
        return self._codec

    def __iter__(self) -> Iterator[np.ndarray]:
        picks, n = self._picks, 0
        for position, frame in self._decoded():
            rgb = None
            while n < len(picks) and picks[n] == position:
                rgb = rgb if rgb is not None else np.ascontiguousarray(frame.to_ndarray(format="rgb24"))
                yield rgb
                n += 1
            if n == len(picks):
                return

    def _decoded(self) -> Iterator[tuple[int, Any]]:
        """(position, frame) for positions 0..count-1 in display order; an error on a hole."""
        cut = self._cut
        reader = PacketReader(cut.index.path)
        try:
            decoder = reader.stream.codec_context
            time_base = float(cut.index.time_base)
            expected = 0
            packets = (p for i, p in reader.read(cut) if i not in cut.skip)
            for packet in itertools.chain(packets, [None]):
                for frame in decoder.decode(packet):
                    offset = (frame.pts * time_base - cut.start_s) * self._fps
                    k = round(offset)
                    if k < 0 or k >= cut.count or abs(offset - k) >= TOLERANCE_S * self._fps:
                        continue
                    if k != expected:
                        raise LerobotNbError(
                            f"frame {expected} of the episode does not decode", file=cut.index.path
                        )
                    yield k, frame
                    expected += 1
            if expected != cut.count:
                raise LerobotNbError(
                    f"{expected} of the episode's {cut.count} frames decode", file=cut.index.path
                )
        finally:
            reader.close()

    def encoded(self, codec: str) -> EncodedVideo | None:
        """The segment's packets when they can be copied as they are: the same codec, every frame
        picked once in order, a keyframe first, no reordering (B-frames), yuv420p."""
        cut, own = self._cut, self.codec
        if own != codec or self._pix_fmt != "yuv420p" or not self._identity():
            return None
        reader = PacketReader(cut.index.path)
        try:
            pairs = [(bytes(p), bool(p.is_keyframe)) for p in self._annex_b(reader, own)]
        finally:
            reader.close()
        if not pairs or not pairs[0][1] or len(pairs) != cut.count:
            return None
        packets = [data for data, _ in pairs]
        if own == "av1":
            packets[0] = _with_sequence_header(packets[0], cut.index.kind[4])
        return EncodedVideo(own, tuple(packets), self.width, self.height, tuple(k for _, k in pairs))

    def _identity(self) -> bool:
        cut = self._cut
        decode_order = [cut.positions.get(i) for i in range(cut.first, cut.stop)]
        return (
            not cut.lead
            and not cut.skip
            and cut.frames == cut.count
            and decode_order == list(range(cut.count))
            and np.array_equal(self._picks, np.arange(cut.count))
        )

    def _annex_b(self, reader: PacketReader, codec: str) -> Iterator[Any]:
        packets = (p for _, p in reader.read(self._cut))
        if codec not in _ANNEX_B:
            yield from packets
            return
        from av.bitstream import BitStreamFilterContext

        bsf = BitStreamFilterContext(_ANNEX_B[codec], reader.stream)
        for packet in packets:
            key = packet.is_keyframe
            for out in bsf.filter(packet):
                out.is_keyframe = key
                yield out


def _with_sequence_header(packet: bytes, extradata: object) -> bytes:
    """An AV1 temporal unit that carries its sequence header (MP4 may keep it only in `av1C`,
    whose config OBUs follow a 4-byte header); a muxer without extradata needs it in-band."""
    if _has_sequence_header(packet) or not isinstance(extradata, bytes) or len(extradata) <= 4:
        return packet
    return extradata[4:] + packet


def _has_sequence_header(data: bytes) -> bool:
    """Whether the low-overhead OBU stream `data` holds an OBU_SEQUENCE_HEADER (type 1)."""
    pos = 0
    while pos < len(data):
        header = data[pos]
        obu_type, has_ext, has_size = (header >> 3) & 0xF, bool(header & 4), bool(header & 2)
        if obu_type == 1:
            return True
        pos += 1 + has_ext
        if not has_size:
            return False
        size, shift = 0, 0
        while pos < len(data):
            byte = data[pos]
            pos += 1
            size |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                break
        pos += size
    return False


class EmbeddedImages:
    """An image feature (PNG/JPEG bytes in the data parquet) of one episode (`ImageStream`)."""

    def __init__(self, cells: list[Any], times: np.ndarray, *, where: Path, key: str) -> None:
        self._cells, self.times, self._where, self._key = cells, times, where, key

    def blobs(self) -> list[bytes]:
        """The encoded images as stored (an empty cell is an error naming its row)."""
        out = []
        for i, cell in enumerate(self._cells):
            data = cell.get("bytes") if isinstance(cell, dict) else cell
            if not data:
                raise LerobotNbError(f"image row {i} holds no bytes", file=self._where, stream=self._key)
            out.append(bytes(data))
        return out

    def frames(self, picks: np.ndarray) -> ImageCells:
        """The image cells of samples `picks`, decoded lazily one at a time."""
        return ImageCells([self._cells[int(i)] for i in picks], where=self._where, key=self._key)


class ImageCells(DecodedFrames):
    """`FrameSource` over image cells (`{"bytes": ..., "path": ...}`), decoded one at a time."""

    def __init__(self, cells: list[Any], *, where: Path, key: str) -> None:
        self._cells, self._where, self._key = cells, where, key
        first = self._decode(0) if cells else np.zeros((0, 0, 3), np.uint8)
        super().__init__(len(cells), int(first.shape[0]), int(first.shape[1]))

    def _decode(self, i: int) -> np.ndarray:
        from PIL import Image, UnidentifiedImageError

        cell = self._cells[i]
        data = cell.get("bytes") if isinstance(cell, dict) else cell
        if not data:
            raise LerobotNbError(f"image row {i} holds no bytes", file=self._where, stream=self._key)
        try:
            return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
        except (UnidentifiedImageError, OSError) as exc:
            raise LerobotNbError(
                f"image row {i} does not decode ({exc})", file=self._where, stream=self._key
            ) from None

    def __iter__(self) -> Iterator[np.ndarray]:
        for i in range(len(self._cells)):
            yield self._decode(i)
