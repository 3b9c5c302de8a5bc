"""Where a pipeline's aligned episodes come from: recordings on a Rerun server, or files read directly.

Both are context managers (a served source starts and always stops its local server) that list
episode ids and yield aligned episodes lazily, one at a time, in the order asked.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol, Self

from lerobot_nb.align import AlignConfig, iter_aligned, iter_recorded
from lerobot_nb.episode import AlignedEpisode, EpisodeSkipped, RecordedEpisode, TimelineKind
from lerobot_nb.errors import LerobotNbError
from lerobot_nb.server import RecordingServer, ServerConfig
from lerobot_nb.sources.discover import Recording
from lerobot_nb.sources.formats import EpisodeReader

__all__ = ["EpisodeSource", "FileSource", "ServedSource"]


class EpisodeSource(Protocol):
    """Aligned episodes of some inputs, used inside `with source:`."""

    align: AlignConfig

    def __enter__(self) -> Self: ...

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    @property
    def episodes(self) -> list[str]:
        """Every episode id, in order."""
        ...

    def source_of(self, episode: str) -> str:
        """The user's file (or server URL) an episode comes from, for messages."""
        ...

    def aligned(self, episodes: Sequence[str]) -> Iterator[AlignedEpisode | EpisodeSkipped]:
        """The aligned pieces of `episodes` (or why one was skipped), lazily, in that order."""
        ...

    def timeline_kind(self) -> TimelineKind:
        """Whether the alignment's index timeline counts nanoseconds or steps."""
        ...


class ServedSource:
    """Recordings on a Rerun server: a local one started on entry (or `server` already running)."""

    def __init__(
        self,
        config: ServerConfig,
        align: AlignConfig,
        *,
        recordings: Sequence[Recording] | None = None,
        server: RecordingServer | None = None,
    ) -> None:
        self.align = align
        self._owned = server is None
        self.server = server or RecordingServer(config, recordings=recordings)

    def __enter__(self) -> Self:
        if self._owned:
            self.server.__enter__()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._owned:
            self.server.close()

    @property
    def episodes(self) -> list[str]:
        return self.server.episodes

    def source_of(self, episode: str) -> str:
        return self.server.source_of(episode)

    def aligned(self, episodes: Sequence[str]) -> Iterator[AlignedEpisode | EpisodeSkipped]:
        return iter_aligned(self.server, self.align, episodes=episodes)

    def timeline_kind(self) -> TimelineKind:
        from lerobot_nb.query import index_timelines

        return index_timelines(self.server.dataset).get(self.align.index, "timestamp")


class FileSource:
    """Ticked inputs read straight from disk, one reader per input.

    Episode ids are the readers' own; when an id repeats across inputs (two LeRobot datasets both
    have `episode_0`), every id becomes `<input name>/<id>` so each episode keeps one name.
    """

    def __init__(self, readers: Sequence[EpisodeReader], align: AlignConfig) -> None:
        self.align = align
        self._readers = _distinct_ids(list(readers))
        self._owner: dict[str, EpisodeReader] = {}
        for reader in self._readers:
            for episode in reader.episode_ids():
                if episode in self._owner:
                    raise LerobotNbError(
                        f"episode id {episode!r} also in {self._owner[episode].path}", file=reader.path
                    )
                self._owner[episode] = reader

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None

    @property
    def episodes(self) -> list[str]:
        return list(self._owner)

    def source_of(self, episode: str) -> str:
        return str(self._owner[episode].path) if episode in self._owner else ""

    def aligned(self, episodes: Sequence[str]) -> Iterator[AlignedEpisode | EpisodeSkipped]:
        unknown = [e for e in episodes if e not in self._owner]
        if unknown:
            raise LerobotNbError(
                f"unknown episode(s) {', '.join(unknown)}; episodes: {', '.join(self._owner)}"
            )
        for episode in episodes:
            yield from iter_recorded(self._owner[episode], self.align, episodes=[episode])

    def timeline_kind(self) -> TimelineKind:
        first = self._readers[0].timelines() if self._readers else {}
        return first.get(self.align.index, "sequence")


def _distinct_ids(readers: list[EpisodeReader]) -> list[EpisodeReader]:
    """`readers` as they are, or all named by input when an episode id repeats across them."""
    ids = [episode for reader in readers for episode in reader.episode_ids()]
    if len(set(ids)) == len(ids):
        return readers
    return [NamedReader(reader, f"{reader.path.name}/") for reader in readers]


class NamedReader:
    """A reader whose episode ids carry a prefix (`pusht/episode_0`); everything else is the reader's."""

    def __init__(self, reader: EpisodeReader, prefix: str) -> None:
        self._reader, self._prefix = reader, prefix

    @property
    def path(self) -> Path:
        """The wrapped reader's input."""
        return self._reader.path

    def episode_ids(self) -> list[str]:
        """The reader's ids with the prefix, in its order."""
        return [self._prefix + e for e in self._reader.episode_ids()]

    def timelines(self) -> Mapping[str, TimelineKind]:
        """The reader's timelines."""
        return self._reader.timelines()

    def defaults(self) -> Mapping[str, Any]:
        """The reader's defaults."""
        return self._reader.defaults()

    def read(self, episode_id: str, index: str) -> RecordedEpisode:
        """The reader's episode, named with the prefix (so its pieces and reports are too)."""
        episode = self._reader.read(episode_id.removeprefix(self._prefix), index)
        return dataclasses.replace(episode, episode_id=episode_id)

    def to_rrd(self, episode_id: str, cache_dir: Path) -> Path:
        """The reader's `.rrd` of the episode (its recording id is the reader's own id)."""
        return self._reader.to_rrd(episode_id.removeprefix(self._prefix), cache_dir)
