"""Align episodes onto the fixed grid: the public entry points, for a server and for files.

`align_segments` / `iter_aligned` read recordings from a Rerun server (`server_streams`);
`align_recorded` / `iter_recorded` take `RecordedEpisode`s read straight from files
(`recorded`). Both feed the same grid (`core.align_streams`).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

from lerobot_nb.align.config import AlignConfig
from lerobot_nb.align.core import align_streams
from lerobot_nb.align.recorded import recorded_streams
from lerobot_nb.align.server_rows import Catalog
from lerobot_nb.align.server_streams import server_streams
from lerobot_nb.episode import AlignedEpisode, EpisodeSkipped, RecordedEpisode
from lerobot_nb.errors import LerobotNbError
from lerobot_nb.sources.formats import EpisodeReader

if TYPE_CHECKING:
    from rerun.catalog import DatasetEntry

    from lerobot_nb.server import RecordingServer

__all__ = ["align_episode", "align_recorded", "align_segments", "iter_aligned", "iter_recorded"]


def align_segments(
    dataset: DatasetEntry,
    episode_id: str,
    config: AlignConfig,
    *,
    source: str = "",
    catalog: Catalog | None = None,
) -> list[AlignedEpisode]:
    """Align one episode of a server; ticks left out inside it (stale beyond tolerance with
    `on_stale="drop"`, or a gap longer than `max_gap_s`) split it into pieces of consecutive ticks.

    Pieces of a split episode are named `<episode>#0`, `<episode>#1`, ...; an unsplit episode
    keeps its id. Every user-facing problem raises `LerobotNbError` naming file, episode, stream.
    """
    try:
        streams, info = server_streams(dataset, episode_id, config, source=source, catalog=catalog)
        return align_streams(streams, config, info)
    except LerobotNbError as exc:
        raise exc.with_context(file=source or None, episode=episode_id) from None


def align_recorded(recorded: RecordedEpisode, config: AlignConfig) -> list[AlignedEpisode]:
    """Align one episode read from files (pieces as in `align_segments`); its reader's notes are kept."""
    try:
        streams, info = recorded_streams(recorded, config)
        pieces = align_streams(streams, config, info)
    except LerobotNbError as exc:
        raise exc.with_context(file=recorded.source or None, episode=recorded.episode_id) from None
    return [dataclasses.replace(p, notes=recorded.notes) for p in pieces] if recorded.notes else pieces


def align_episode(
    dataset: DatasetEntry, episode_id: str, config: AlignConfig, *, source: str = ""
) -> AlignedEpisode:
    """Align one episode onto the `k / fps` grid (see `AlignConfig`).

    Raises `LerobotNbError` if the episode splits into several pieces (use `align_segments` or
    `iter_aligned` then).
    """
    pieces = align_segments(dataset, episode_id, config, source=source)
    if len(pieces) != 1:
        raise LerobotNbError(
            f"splits into {len(pieces)} pieces at dropped ticks (stale streams or gaps longer than "
            "max_gap_s); use align_segments or iter_aligned, or on_stale='flag'",
            file=source or None,
            episode=episode_id,
        )
    return pieces[0]


def iter_aligned(
    server: RecordingServer, config: AlignConfig, *, episodes: Sequence[str] | None = None
) -> Iterator[AlignedEpisode | EpisodeSkipped]:
    """Aligned episodes of a server one at a time (lazy), in episode order.

    With `config.skip_bad_episodes`, an episode with bad input yields `EpisodeSkipped` with the
    one-line reason instead of stopping the run; otherwise the error propagates.
    """
    dataset = server.dataset
    known = server.episodes
    chosen = list(episodes) if episodes is not None else known
    missing = [e for e in chosen if e not in known]
    if missing:
        raise LerobotNbError(
            f"unknown episode(s) {', '.join(missing)}; episodes: {', '.join(known)}", file=server.url or None
        )
    catalog = Catalog.of(dataset)
    for episode in chosen:
        source = server.source_of(episode)
        align = functools.partial(align_segments, dataset, episode, config, source=source, catalog=catalog)
        yield from _skipping(align, episode, source, config)


def iter_recorded(
    reader: EpisodeReader, config: AlignConfig, *, episodes: Sequence[str] | None = None
) -> Iterator[AlignedEpisode | EpisodeSkipped]:
    """Aligned episodes of a file reader one at a time (lazy), in its order; reading and alignment
    errors skip the episode with `skip_bad_episodes`, like `iter_aligned`."""
    known = reader.episode_ids()
    chosen = list(episodes) if episodes is not None else known
    missing = [e for e in chosen if e not in known]
    if missing:
        raise LerobotNbError(
            f"unknown episode(s) {', '.join(missing)}; episodes: {', '.join(known)}", file=reader.path
        )
    for episode in chosen:
        yield from _skipping(
            functools.partial(_read_and_align, reader, episode, config), episode, str(reader.path), config
        )


def _read_and_align(reader: EpisodeReader, episode: str, config: AlignConfig) -> list[AlignedEpisode]:
    return align_recorded(reader.read(episode, config.index), config)


def _skipping(
    align: Callable[[], list[AlignedEpisode]], episode: str, source: str, config: AlignConfig
) -> Iterator[AlignedEpisode | EpisodeSkipped]:
    """The pieces of `align()`, or with `skip_bad_episodes` the reason it failed."""
    try:
        pieces = align()
    except LerobotNbError as exc:
        if not config.skip_bad_episodes:
            raise
        yield EpisodeSkipped(episode, str(exc.with_context(file=source or None, episode=episode)), source)
        return
    yield from pieces
