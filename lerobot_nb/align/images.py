"""Frame sources: one camera's frames on the grid, decoded lazily (raw, JPEG/PNG, H.264/H.265/AV1).

Every source holds the episode's *encoded* samples (what the server returned) plus `picks[k]`,
the source row shown at tick k, and decodes on iteration: memory holds O(1) decoded frames.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np
import pyarrow as pa

from lerobot_nb.codecs import normalize_codec, open_decoder
from lerobot_nb.episode import EncodedVideo
from lerobot_nb.errors import LerobotNbError

__all__ = [
    "WINDOW_BYTES",
    "EncodedImageFrames",
    "ImageRows",
    "RawImageFrames",
    "VideoFrames",
    "decode_raw_image",
    "normalize_codec",
    "video_keyframes",
]

# rerun.datatypes: ChannelDatatype -> numpy dtype, ColorModel -> channel count.
_DTYPES = {
    6: np.uint8,
    7: np.int8,
    8: np.uint16,
    9: np.int16,
    10: np.uint32,
    11: np.int32,
    12: np.uint64,
    13: np.int64,
    33: np.float16,
    34: np.float32,
    35: np.float64,
}
_CHANNELS = {1: 1, 2: 3, 3: 4, 4: 3, 5: 4}  # L, RGB, RGBA, BGR, BGRA
_PIXEL_FORMATS = {26: "nv12", 27: "yuyv422"}


class _Blobs:
    """Zero-copy access to the first blob of each row of a `list<list<uint8>>` arrow column."""

    def __init__(self, values: pa.Array) -> None:
        if isinstance(values, pa.ChunkedArray):
            values = values.combine_chunks()
        self._outer = values.offsets.to_numpy()
        inner = values.values
        if pa.types.is_binary(inner.type) or pa.types.is_large_binary(inner.type):
            self._inner = None
            self._binary = inner
            self._bytes = None
        else:
            self._inner = inner.offsets.to_numpy()
            self._bytes = inner.values.to_numpy(zero_copy_only=False)
            self._binary = None
        self.count = len(values)

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, row: int) -> np.ndarray:
        j = int(self._outer[row])
        if int(self._outer[row + 1]) == j:
            return np.empty(0, np.uint8)
        if self._binary is not None:
            return np.frombuffer(self._binary[j].as_py(), np.uint8)
        assert self._inner is not None and self._bytes is not None
        return self._bytes[int(self._inner[j]) : int(self._inner[j + 1])]


def _first(values: pa.Array, row: int) -> Any:
    """The first instance of a list cell as a Python value (None if empty)."""
    cell = values[row].as_py()
    return cell[0] if cell else None


#: Bytes of encoded image rows held at once when rows are fetched from the server by windows.
WINDOW_BYTES = 256 * 1024 * 1024

Fetch = Callable[[int, int], Mapping[str, pa.Array]]


class ImageRows:
    """Cells of an image stream by source row, read in ascending row order.

    Either all in memory (`ImageRows.of(arrays)`) or fetched on demand with `fetch(lo, hi)`
    (rows lo..hi inclusive, one arrow array per column) a window at a time; the window size
    adapts so one window holds about `WINDOW_BYTES` of encoded data. Only one window is held.
    """

    def __init__(self, count: int, fetch: Fetch, *, window: int = 16) -> None:
        self.count = count
        self._fetch = fetch
        self._window = window
        self._lo, self._hi = 0, -1
        self._blobs: dict[str, _Blobs] = {}
        self._arrays: Mapping[str, pa.Array] = {}
        self._resident = False

    @classmethod
    def of(cls, arrays: Mapping[str, pa.Array]) -> ImageRows:
        """Rows already in memory (every array has one cell per source row)."""
        count = len(next(iter(arrays.values())))
        rows = cls(
            count, lambda lo, hi: {k: v.slice(lo, hi - lo + 1) for k, v in arrays.items()}, window=count
        )
        rows._load(0)
        rows._resident = True
        return rows

    def _load(self, row: int) -> None:
        hi = min(self.count - 1, row + self._window - 1)
        arrays = self._fetch(row, hi)
        self._arrays = arrays
        self._blobs = {}
        self._lo, self._hi = row, hi
        if not self._resident and hi >= row:
            size = sum(a.nbytes for a in arrays.values()) / (hi - row + 1)
            self._window = int(min(4096, max(8, WINDOW_BYTES // max(1.0, size))))

    def _at(self, row: int) -> int:
        if not self._lo <= row <= self._hi:
            self._load(row)
        return row - self._lo

    def blob(self, column: str, row: int) -> np.ndarray:
        """The first blob of `column` at source `row` as uint8 (zero-copy view)."""
        i = self._at(row)
        if column not in self._blobs:
            self._blobs[column] = _Blobs(self._arrays[column])
        return self._blobs[column][i]

    def first(self, column: str, row: int) -> Any:
        """The first instance of `column` at source `row` as a Python value (None if empty)."""
        i = self._at(row)  # loads the window first
        return _first(self._arrays[column], i)


def decode_raw_image(buf: np.ndarray, fmt: dict[str, Any]) -> np.ndarray:
    """A Rerun `Image` (buffer + ImageFormat) as `(H, W, 3)` uint8 RGB.

    Integer channels wider than 8 bit keep their top byte; float channels are taken as [0, 1].
    """
    w, h = int(fmt["width"]), int(fmt["height"])
    pixel_format = fmt.get("pixel_format")
    if pixel_format:
        name = _PIXEL_FORMATS.get(int(pixel_format))
        if name is None:
            raise LerobotNbError(f"image pixel format {pixel_format} is not supported (NV12, YUY2 are)")
        import av

        shape = (h * 3 // 2, w) if name == "nv12" else (h, w, 2)
        frame = av.VideoFrame.from_ndarray(buf[: int(np.prod(shape))].reshape(shape), format=name)
        return np.ascontiguousarray(frame.to_ndarray(format="rgb24"))
    dtype = _DTYPES.get(int(fmt.get("channel_datatype") or 6))
    channels = _CHANNELS.get(int(fmt.get("color_model") or 1))
    if dtype is None or channels is None:
        raise LerobotNbError(f"image format {fmt} is not supported")
    need = w * h * channels * np.dtype(dtype).itemsize
    if len(buf) < need:
        raise LerobotNbError(f"image buffer holds {len(buf)} bytes, its format {w}x{h} needs {need}")
    arr = np.frombuffer(buf[:need].tobytes() if len(buf) != need else buf, dtype=dtype)
    arr = arr.reshape(h, w, channels)
    if dtype == np.uint8:
        pass
    elif np.issubdtype(dtype, np.floating):
        arr = np.clip(np.rint(arr.astype(np.float32) * 255.0), 0, 255).astype(np.uint8)
    elif np.issubdtype(dtype, np.unsignedinteger):
        arr = (arr >> (8 * (np.dtype(dtype).itemsize - 1))).astype(np.uint8)
    else:
        arr = np.clip(arr, 0, 255).astype(np.uint8)
    cm = int(fmt.get("color_model") or 1)
    if channels == 1:
        arr = np.repeat(arr, 3, axis=2)
    elif cm in (4, 5):  # BGR(A)
        arr = arr[:, :, 2::-1]
    else:
        arr = arr[:, :, :3]
    return np.ascontiguousarray(arr)


class _PickedFrames:
    """Base: `picks[k]` is the source row at tick k; subclasses decode one row."""

    def __init__(self, picks: np.ndarray, *, stream: str, episode: str, file: str) -> None:
        self.picks = np.asarray(picks, dtype=np.int64)
        self.stream, self.episode, self.file = stream, episode, file
        self._shape: tuple[int, int] | None = None

    def _error(self, what: str) -> LerobotNbError:
        return LerobotNbError(what, file=self.file or None, episode=self.episode, stream=self.stream)

    def _decode(self, row: int) -> np.ndarray:
        raise NotImplementedError

    def __len__(self) -> int:
        return len(self.picks)

    def _first_shape(self) -> tuple[int, int]:
        if self._shape is None:
            if not len(self.picks):
                return (0, 0)
            frame = self._decode(int(self.picks[0]))
            self._shape = (frame.shape[0], frame.shape[1])
        return self._shape

    @property
    def height(self) -> int:
        return self._first_shape()[0]

    @property
    def width(self) -> int:
        return self._first_shape()[1]

    def _checked(self, frame: np.ndarray, row: int) -> np.ndarray:
        shape = (frame.shape[0], frame.shape[1])
        if self._shape is None:
            self._shape = shape
        elif shape != self._shape:
            raise self._error(
                f"frame size changes from {self._shape[1]}x{self._shape[0]} to "
                f"{shape[1]}x{shape[0]} at source sample {row}"
            )
        return frame

    def __iter__(self) -> Iterator[np.ndarray]:
        last_row, last = -1, None
        for row in self.picks:
            if row != last_row:  # consecutive ticks often show the same sample: decode once
                last_row, last = int(row), self._checked(self._decode(int(row)), int(row))
            assert last is not None
            yield last

    def encoded(self, codec: str) -> EncodedVideo | None:
        return None


class RawImageFrames(_PickedFrames):
    """Rerun `Image` samples (buffer + format), converted to RGB per tick.

    `rows` holds `Image:buffer` and, unless `static_format` is given, `Image:format` columns.
    """

    def __init__(
        self,
        rows: ImageRows,
        picks: np.ndarray,
        *,
        buffer: str,
        format: str,
        static_format: dict[str, Any] | None = None,
        **where: str,
    ) -> None:
        super().__init__(picks, **where)
        self._rows, self._buffer, self._format, self._static_format = rows, buffer, format, static_format

    def _decode(self, row: int) -> np.ndarray:
        fmt = self._static_format or self._rows.first(self._format, row)
        if fmt is None:
            raise self._error(f"image sample {row} has no ImageFormat")
        try:
            return decode_raw_image(self._rows.blob(self._buffer, row), fmt)
        except LerobotNbError as exc:
            raise exc.with_context(file=self.file or None, episode=self.episode, stream=self.stream) from None


class EncodedImageFrames(_PickedFrames):
    """Rerun `EncodedImage` samples (JPEG, PNG, ...), decoded with Pillow per tick."""

    def __init__(self, rows: ImageRows, picks: np.ndarray, *, blob: str, **where: str) -> None:
        super().__init__(picks, **where)
        self._rows, self._blob = rows, blob

    def _decode(self, row: int) -> np.ndarray:
        from PIL import Image, UnidentifiedImageError

        data = self._rows.blob(self._blob, row)
        try:
            with Image.open(io.BytesIO(data.tobytes())) as img:
                return np.asarray(img.convert("RGB"))
        except (UnidentifiedImageError, OSError) as exc:
            raise self._error(f"encoded image sample {row} does not decode ({exc})") from None


def _is_keyframe(codec: str, data: np.ndarray) -> bool:
    """Whether an Annex-B access unit starts a decodable sequence (H.264 IDR, H.265 IRAP)."""
    raw = data.tobytes()
    pos = raw.find(b"\x00\x00\x01")
    while pos >= 0:
        header = raw[pos + 3] if pos + 3 < len(raw) else 0
        if codec == "h264" and header & 0x1F == 5:
            return True
        if codec == "hevc" and 16 <= (header >> 1) & 0x3F <= 21:
            return True
        pos = raw.find(b"\x00\x00\x01", pos + 3)
    return False


def video_keyframes(samples: pa.Array, codec: str, flags: np.ndarray | None = None) -> np.ndarray | None:
    """Per sample, whether it starts a decodable sequence: the stream's own `is_keyframe` flags
    when given, else H.264 IDR / H.265 IRAP NAL types; None when unknown (other codecs)."""
    if flags is not None:
        return np.asarray(flags, dtype=bool)
    if codec not in ("h264", "hevc"):
        return None
    blobs = _Blobs(samples)
    return np.array([_is_keyframe(codec, blobs[i]) for i in range(len(blobs))], dtype=bool)


class VideoFrames(_PickedFrames):
    """A `VideoStream`: the whole stream is decoded once per iteration, in order, then flushed.

    Samples are decoded in row order (= decode order: B-frames are not supported); a frame
    shown at tick k is the latest decoded frame not newer than the tick (the aligner's `picks`).
    Packets are never resampled: the decoder always sees every sample from the first on.
    """

    def __init__(
        self,
        samples: pa.Array,
        picks: np.ndarray,
        *,
        codec: str,
        keyframes: np.ndarray | None = None,
        remuxable: bool = True,
        **where: str,
    ) -> None:
        super().__init__(picks, **where)
        self.codec = codec
        self._samples = _Blobs(samples)
        self._keyframes = keyframes
        self._remuxable = remuxable

    def _context(self) -> Any:
        try:
            return open_decoder(self.codec)
        except LerobotNbError as exc:
            raise self._error(exc.what) from None

    def _frames(self) -> Iterator[tuple[int, Any]]:
        """`(sample row, av.VideoFrame)` in presentation order, including the flushed tail."""
        import av

        ctx = self._context()
        upto = int(self.picks[-1]) if len(self.picks) else -1
        for row in range(len(self._samples)):
            packet = av.Packet(self._samples[row].tobytes())
            packet.pts = packet.dts = row  # carried to the frame: which sample it came from
            try:
                frames = ctx.decode(packet)
            except av.FFmpegError as exc:
                raise self._error(f"video sample {row} does not decode ({exc})") from None
            for frame in frames:
                yield (row if frame.pts is None else int(frame.pts)), frame
            if row > upto + 16:  # past the last pick (+ reorder slack): the rest is not needed
                break
        for frame in ctx.decode(None):  # flush: without it the last frames are lost
            yield (-1 if frame.pts is None else int(frame.pts)), frame

    def _decode(self, row: int) -> np.ndarray:
        for n, frame in self._frames():
            if n >= row:
                return np.ascontiguousarray(frame.to_ndarray(format="rgb24"))
        raise self._error("the video stream decodes to no frames")

    def __iter__(self) -> Iterator[np.ndarray]:
        picks = self.picks
        k, count = 0, len(picks)
        last_row, last_frame, last_rgb = -1, None, None
        for n, frame in self._frames():
            if n < 0:
                n = last_row + 1
            while k < count and picks[k] < n:
                if last_frame is None:
                    raise self._error(
                        f"no decodable frame at or before sample {int(picks[k])} "
                        "(does the stream start with a keyframe?)"
                    )
                if last_rgb is None:
                    last_rgb = self._checked(
                        np.ascontiguousarray(last_frame.to_ndarray(format="rgb24")), last_row
                    )
                yield last_rgb
                k += 1
            if k == count:
                return
            last_row, last_frame, last_rgb = n, frame, None
        while k < count:
            if last_frame is None:
                raise self._error("the video stream decodes to no frames")
            if last_rgb is None:
                last_rgb = self._checked(
                    np.ascontiguousarray(last_frame.to_ndarray(format="rgb24")), last_row
                )
            yield last_rgb
            k += 1

    def keyframe(self, row: int) -> bool:
        """Whether sample `row` starts a decodable sequence (`keyframes`, else the H.264/H.265
        NAL types); for other codecs only the first sample (which must be one for the stream to
        decode at all) counts, which is safe for remuxing."""
        if self._keyframes is not None and row < len(self._keyframes):
            return bool(self._keyframes[row])
        if self.codec in ("h264", "hevc"):
            return _is_keyframe(self.codec, self._samples[row])
        return row == 0

    def encoded(self, codec: str) -> EncodedVideo | None:
        """The picked packets when they can be remuxed as is: same codec, every tick its own
        consecutive sample (no sample skipped or repeated), starting on a keyframe, all within
        the staleness tolerance."""
        picks = self.picks
        if not len(picks) or not self._remuxable or normalize_codec(codec) != self.codec:
            return None
        if not np.array_equal(picks, np.arange(picks[0], picks[0] + len(picks))):
            return None
        if not self.keyframe(int(picks[0])):
            return None
        packets = tuple(self._samples[int(r)].tobytes() for r in picks)
        keyframes = tuple(self.keyframe(int(r)) for r in picks)
        return EncodedVideo(self.codec, packets, self.width, self.height, keyframes)
