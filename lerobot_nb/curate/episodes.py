"""A curation applied to aligned episodes while converting: drop, trim and split by seconds, retask.

Episodes are named by recording id (the aligned episode id: `pusht_003`, or `pusht_003#1` for a
piece of a recording the alignment split). Seconds become frames by the rule `curate apply` uses
(`decision_frames`), and pieces of a split are named `<id>#0`, `<id>#1`, ... as there, so
`convert --curation FILE` writes the dataset that `convert` followed by `curate apply` writes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from lerobot_nb.config import help_field
from lerobot_nb.curate.apply import decision_frames
from lerobot_nb.curate.curation import Curation, EpisodeDecision, read_curation
from lerobot_nb.episode import AlignedEpisode, EncodedVideo, EpisodeSkipped, FrameSource
from lerobot_nb.errors import LerobotNbError

__all__ = ["CurationConfig", "Curator", "SlicedFrames", "slice_episode"]


@dataclass(frozen=True, kw_only=True)
class CurationConfig:
    """`convert`'s curation parameter (the same name as `curate apply`'s)."""

    curation: str = help_field(
        "",
        "apply this curation file while converting: drop, trim, split or retask episodes named by recording id",
        metavar="FILE",
    )


class SlicedFrames:
    """Frames [start, end) of another frame source (decoded in order, the others skipped)."""

    def __init__(self, base: FrameSource, start: int, end: int) -> None:
        self._base, self._start, self._end = base, start, end

    @property
    def height(self) -> int:
        """Frame height in pixels, as the base source's."""
        return self._base.height

    @property
    def width(self) -> int:
        """Frame width in pixels, as the base source's."""
        return self._base.width

    def __len__(self) -> int:
        return self._end - self._start

    def __iter__(self) -> Iterator[np.ndarray]:
        for k, frame in enumerate(self._base):
            if k >= self._end:
                return
            if k >= self._start:
                yield frame

    def encoded(self, codec: str) -> EncodedVideo | None:
        """The base's packets for these frames when the slice starts on a keyframe (remux still works)."""
        base = self._base.encoded(codec)
        if base is None or not base.keyframes[self._start]:
            return None
        s, e = self._start, self._end
        return EncodedVideo(base.codec, base.packets[s:e], base.width, base.height, base.keyframes[s:e])


def slice_episode(
    episode: AlignedEpisode, start: int, end: int, episode_id: str, task: str | None = None
) -> AlignedEpisode:
    """Frames [start, end) of `episode` as an episode named `episode_id` (task replaced if given)."""
    n = end - start
    tasks = (task,) * n if task is not None else episode.tasks[start:end]
    timing = {
        key: dataclasses.replace(
            t,
            staleness_s=t.staleness_s[start:end],
            flagged=t.flagged[start:end],
            tick_s=t.tick_s[start:end] if len(t.tick_s) else t.tick_s,
        )
        for key, t in episode.timing.items()
    }
    whole = start == 0 and end == episode.length
    return dataclasses.replace(
        episode,
        episode_id=episode_id,
        ticks=episode.ticks[start:end],
        numeric={k: v[start:end] for k, v in episode.numeric.items()},
        images={k: src if whole else SlicedFrames(src, start, end) for k, src in episode.images.items()},  # type: ignore[misc]
        tasks=tasks,
        timing=timing,
        notes=(*episode.notes, f"curation: frames [{start}, {end}) of {episode.episode_id}")
        if not whole
        else episode.notes,
    )


class Curator:
    """Applies one curation file to the aligned episodes of a run, by recording id.

    `check(episodes)` fails early for keys naming no recording of the run; `apply` returns the
    episode (kept, trimmed, retasked), its pieces (split) or an `EpisodeSkipped` (dropped);
    `finish()` fails for keys naming a piece (`rec#k`) the alignment did not produce.
    """

    def __init__(self, curation: Curation) -> None:
        self.curation = curation
        self._seen: set[str] = set()
        bad = [k for k in curation.episodes if not isinstance(k, str)]
        if bad:
            raise LerobotNbError(
                "converting names episodes by recording id; an episode_index exists only in a dataset "
                "(use `lerobot-nb curate apply` for that)",
                file=curation.path,
                episode=str(bad[0]),
            )

    @classmethod
    def read(cls, path: str) -> Curator:
        """A curator for the curation file at `path`; raises `LerobotNbError` for a bad file."""
        return cls(read_curation(path))

    def check(self, recordings: Sequence[str]) -> None:
        """Raise `LerobotNbError` for a key whose recording id (before any `#k`) is not in `recordings`."""
        known = set(recordings)
        for key in self.curation.episodes:
            assert isinstance(key, str)
            if key not in known and key.split("#", 1)[0] not in known:
                shown = ", ".join(sorted(known)[:5]) + (", ..." if len(known) > 5 else "")
                raise LerobotNbError(
                    f"unknown recording id (known: {shown})", file=self.curation.path, episode=key
                )

    def apply(self, episode: AlignedEpisode) -> AlignedEpisode | EpisodeSkipped | tuple[AlignedEpisode, ...]:
        """The episode as decided: unchanged if not listed, `EpisodeSkipped` if dropped, else its slice(s)."""
        self._seen.add(episode.episode_id)
        decision = self.curation.episodes.get(episode.episode_id)
        if decision is None:
            return episode
        if decision.drop is not None:
            where = self.curation.path.name if self.curation.path else "the curation"
            return EpisodeSkipped(episode.episode_id, f"dropped by {where}: {decision.drop}", episode.source)
        return self._kept(episode, decision)

    def _kept(
        self, episode: AlignedEpisode, d: EpisodeDecision
    ) -> AlignedEpisode | tuple[AlignedEpisode, ...]:
        start, end, cuts = decision_frames(
            d, episode.length, episode.fps, self.curation.path, episode.episode_id
        )
        if not cuts:
            return slice_episode(episode, start, end, episode.episode_id, d.task)
        bounds = list(zip([start, *cuts], [*cuts, end], strict=True))
        return tuple(
            slice_episode(episode, a, b, f"{episode.episode_id}#{k}", d.task)
            for k, (a, b) in enumerate(bounds)
        )

    def finish(self) -> None:
        """Every key the run's recordings could have produced was seen."""
        recordings = {s.split("#", 1)[0] for s in self._seen}
        for key in self.curation.episodes:
            assert isinstance(key, str)
            if key not in self._seen and key.split("#", 1)[0] in recordings:
                pieces = ", ".join(
                    sorted(s for s in self._seen if s.split("#", 1)[0] == key.split("#", 1)[0])
                )
                raise LerobotNbError(
                    f"the alignment produced no such episode (this recording gave {pieces})",
                    file=self.curation.path,
                    episode=key,
                )
