"""How inspect asks the server: the dataset behind a server, the user's files, one-line errors."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

import polars as pl
import pyarrow as pa

from lerobot_nb.query import server_error
from lerobot_nb.server import RecordingServer

if TYPE_CHECKING:
    from rerun.catalog import DatasetEntry

__all__ = ["ServerLike", "collect", "dataset_of", "file_of_url", "source_files", "to_polars", "where"]

#: What inspect asks: a started `RecordingServer` (knows the user's files) or a bare catalog dataset.
type ServerLike = RecordingServer | DatasetEntry


def dataset_of(server: ServerLike) -> DatasetEntry:
    """The catalog dataset of a `RecordingServer`, or `server` itself when it is one."""
    return server.dataset if isinstance(server, RecordingServer) else server


def source_files(server: ServerLike) -> dict[str, Path]:
    """Episode -> the user's file (an `.mcap` stays the `.mcap`, not its converted cache entry)."""
    recordings = server.recordings if isinstance(server, RecordingServer) else {}
    return {ep: Path(rec.source) for ep, rec in recordings.items()}


def file_of_url(url: str) -> Path | None:
    """The local path of a `file://` storage URL, None for any other scheme."""
    parsed = urlparse(url)
    return Path(unquote(parsed.path)) if parsed.scheme == "file" else None


def where(server: ServerLike) -> str | None:
    """The server's URL for error messages (None for a bare dataset)."""
    return (server.url or None) if isinstance(server, RecordingServer) else None


def collect(server: ServerLike, build: Callable[[Any], Any]) -> pa.Table:
    """Run the query `build(dataset)`; when the server fails, find the episode whose data it
    cannot read (the same query per episode) and name its file."""
    dataset = dataset_of(server)
    try:
        return build(dataset).to_arrow_table()
    except Exception as exc:
        first = exc
    sources = source_files(server)
    for episode in sorted(dataset.segment_ids()):
        try:
            build(dataset.filter_segments([episode])).to_arrow_table()
        except Exception as exc:
            raise server_error(
                exc, file=str(sources.get(episode) or where(server)), episode=episode
            ) from None
    raise server_error(first, file=where(server)) from None


def to_polars(table: pa.Table) -> pl.DataFrame:
    """An arrow table as a polars frame."""
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame
