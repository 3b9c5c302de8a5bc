"""Streaming reads of one xgym `.dat`: a window of records mapped at a time, never the whole file.

The pages of a file mapping count towards the process's resident memory for as long as the
mapping lives, so one `np.memmap` over a 340 MB episode would make memory grow with the episode.
Every read here maps a window of at most `WINDOW_BYTES` with the record dtype, copies out what it
needs and lets the window go (CPython unmaps it at once).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from lerobot_nb.frames import DecodedFrames

__all__ = ["WINDOW_BYTES", "CameraFrames", "RecordFile"]

#: Bytes of records mapped at once (a few dozen 224x224 three-camera records).
WINDOW_BYTES = 16 << 20


class RecordFile:
    """`count` records of `dtype` at the start of `path`, read window by window."""

    def __init__(self, path: Path, dtype: np.dtype, count: int) -> None:
        self.path, self.dtype, self.count = path, dtype, count
        self.window = max(1, WINDOW_BYTES // dtype.itemsize)

    def map(self, lo: int, hi: int) -> np.memmap:
        """Records `lo..hi-1`, mapped read-only (keep it no longer than needed)."""
        return np.memmap(
            self.path, dtype=self.dtype, mode="r", offset=lo * self.dtype.itemsize, shape=(hi - lo,)
        )

    def windows(self, lo: int, hi: int, *, backwards: bool = False) -> Iterator[tuple[int, np.memmap]]:
        """`(first record, window)` covering records `lo..hi-1`, in order or from the end."""
        starts = range(lo, hi, self.window)
        for start in reversed(starts) if backwards else starts:
            yield start, self.map(start, min(start + self.window, hi))

    def data_end(self) -> int:
        """One past the last record holding any nonzero byte (0 when every record is padding).

        The recorder writes records in order into a zero-filled file, so everything after the
        last written record is zero; only that padding (and one window) is read.
        """
        for start, window in self.windows(0, self.count, backwards=True):
            written = np.flatnonzero(np.asarray(window).view(np.uint8).reshape(len(window), -1).any(axis=1))
            if len(written):
                return start + int(written[-1]) + 1
        return 0

    def first_frame(self, camera: str, lo: int, hi: int) -> int | None:
        """The first record in `lo..hi-1` whose `camera` image is not all zero (None: no frame)."""
        for start, window in self.windows(lo, hi):
            images = window[camera]
            delivered = np.flatnonzero(images.reshape(len(images), -1).any(axis=1))
            if len(delivered):
                return start + int(delivered[0])
        return None

    def fields(self, names: Sequence[str], lo: int, hi: int) -> dict[str, np.ndarray]:
        """Numeric fields of records `lo..hi-1` as `(hi - lo, D)` float32 copies."""
        out = {
            name: np.empty((hi - lo, max(1, int(np.prod(self.dtype[name].shape)))), np.float32)
            for name in names
        }
        for start, window in self.windows(lo, hi):
            for name in names:
                out[name][start - lo : start - lo + len(window)] = window[name].reshape(len(window), -1)
        return out


class CameraFrames(DecodedFrames):
    """One camera's frames at records `rows` (non-decreasing), BGR as stored -> RGB, decoded per
    pick from one mapped window at a time (memory: one window, whatever the episode length)."""

    def __init__(self, records: RecordFile, camera: str, rows: np.ndarray) -> None:
        height, width = records.dtype[camera].shape[:2]
        super().__init__(len(rows), int(height), int(width))
        self._records, self._camera, self._rows = records, camera, np.asarray(rows, np.int64)

    def __iter__(self) -> Iterator[np.ndarray]:
        rows, i = self._rows, 0
        while i < len(rows):
            lo = int(rows[i])
            hi = min(lo + self._records.window, self._records.count)
            images = self._records.map(lo, hi)[self._camera]
            while i < len(rows) and rows[i] < hi:
                yield np.ascontiguousarray(images[rows[i] - lo][:, :, ::-1])
                i += 1
            del images  # unmap before the next window is mapped
