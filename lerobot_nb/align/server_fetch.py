"""Image cells of a big episode fetched from the server in windows while its frames are iterated."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

import numpy as np
import pyarrow as pa

from lerobot_nb.errors import LerobotNbError
from lerobot_nb.query import read_streams

if TYPE_CHECKING:
    from rerun.catalog import DatasetEntry

__all__ = ["fits_in_memory", "window_fetcher"]


def fits_in_memory(size_bytes: int | None, source: str, limit_mb: float) -> bool:
    """Whether the episode (its stored size, else its file) is small enough to hold its images."""
    if size_bytes is None:
        try:
            size_bytes = Path(source).stat().st_size if source and Path(source).is_file() else None
        except OSError:
            size_bytes = None
    return size_bytes is not None and size_bytes <= limit_mb * 1e6


def _probe(url: str) -> None:
    """Raise `ConnectionError` quickly when nothing listens at the server URL's host:port."""
    parsed = urlparse(url)
    if parsed.hostname and parsed.port:
        with socket.create_connection((parsed.hostname, parsed.port), timeout=2):
            pass


def window_fetcher(
    dataset: DatasetEntry, episode: str, index: str, columns: list[str], times: np.ndarray, key: str
) -> Callable[[int, int], dict[str, pa.Array]]:
    """`fetch(lo, hi)`: the cells of `columns` at source rows lo..hi, one server query per call."""

    url = str(getattr(getattr(dataset, "catalog", None), "url", "") or "")

    def fetch(lo: int, hi: int) -> dict[str, pa.Array]:
        try:
            _probe(url)  # a closed local server fails in ms here, not after the client's long retry
            got = read_streams(dataset, episode, columns, index, time_range=(int(times[lo]), int(times[hi])))
        except LerobotNbError:
            raise
        except Exception as exc:  # the server is gone (a `with` block ended) or unreachable
            raise LerobotNbError(
                f"cannot fetch image rows from the server ({str(exc).splitlines()[0] if str(exc) else exc!r}); "
                "iterate the frames of a large episode inside the `with RecordingServer(...)` block",
                episode=episode,
                stream=key,
            ) from None
        # Rows sharing the time of row `lo` but before it come back too: skip them.
        skip = lo - int(np.searchsorted(times, times[lo], side="left"))
        want = times[lo : hi + 1]
        out = {}
        for c in columns:
            r = got[c]
            if not np.array_equal(r.times[skip : skip + len(want)], want):
                raise LerobotNbError(
                    f"{c} rows changed on the server since the episode was aligned",
                    episode=episode,
                    stream=key,
                )
            out[c] = r.values.slice(skip, len(want))
        return out

    return fetch
