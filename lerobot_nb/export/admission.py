"""Which episodes a writer writes: skips, resume, the episode filter, tasks and the schema, in one place."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping

from lerobot_nb.episode import AlignedEpisode, EpisodeSkipped
from lerobot_nb.export.config import ExportConfig
from lerobot_nb.export.schema import BadEpisode, FeatureSchema
from lerobot_nb.export.summary import ExportSummary, Progress
from lerobot_nb.export.tasks import with_episode_task

__all__ = ["ALREADY_PRESENT", "admitted_episodes"]

#: Reason of an `EpisodeSkipped` for a recording a `--resume` run finds in the dataset already.
ALREADY_PRESENT = "already in the dataset"


def admitted_episodes(
    episodes: Iterable[AlignedEpisode | EpisodeSkipped],
    config: ExportConfig,
    schema: FeatureSchema,
    summary: ExportSummary,
    progress: Progress,
    *,
    existing: Mapping[str, int] | None = None,
    on_define: Callable[[], None] | None = None,
    skip_bad_episodes: bool = False,
) -> Iterator[AlignedEpisode]:
    """The episodes to write, lazily and in order, ready for the writer.

    Skipped episodes and those already in the dataset (`existing`: recording id -> index) go to
    the summary; episodes outside `config.episodes` are passed over, those shorter than
    `config.min_frames` are listed as skipped. Each admitted episode has its task mapping applied;
    the first defines `schema` (then `on_define` runs) and every one is checked against it: a bad
    episode raises, or with `skip_bad_episodes` is listed in the summary and left out.
    """
    known = existing if existing is not None else {}  # live: the writer adds what it writes
    task_map = config.task_mapping()
    for episode in episodes:
        reason = _not_written(episode, known, config)
        if reason == _PASSED_OVER:
            continue
        if reason is not None:
            _listed(summary, progress, episode, reason, known)
            continue
        assert isinstance(episode, AlignedEpisode)
        episode = with_episode_task(episode, task_map)
        try:
            _fit(episode, schema, on_define)
        except BadEpisode as exc:
            if not skip_bad_episodes:
                raise
            _listed(summary, progress, episode, exc.what, known, status="skipped")
            continue
        yield episode
        # Drop it before the next one is aligned: at most one episode's numeric data in memory.
        del episode


#: `_not_written`'s answer for an episode outside `config.episodes`: not even listed.
_PASSED_OVER = ""


def _not_written(
    episode: AlignedEpisode | EpisodeSkipped, known: Mapping[str, int], config: ExportConfig
) -> str | None:
    """Why `episode` is not written (a reason for the summary, `_PASSED_OVER`), or None to write it."""
    if isinstance(episode, EpisodeSkipped):
        return episode.reason
    if episode.episode_id in known:
        return ALREADY_PRESENT
    if config.episodes and episode.episode_id not in config.episodes:
        return _PASSED_OVER
    if config.min_frames and episode.length < config.min_frames:
        return f"{episode.length} frames, fewer than min_frames={config.min_frames}"
    return None


def _listed(
    summary: ExportSummary,
    progress: Progress,
    episode: AlignedEpisode | EpisodeSkipped,
    reason: str,
    known: Mapping[str, int],
    *,
    status: str | None = None,
) -> None:
    """One summary row for an episode that is not written (existing or skipped, with its reason)."""
    status = status or ("existing" if reason == ALREADY_PRESENT else "skipped")
    frames = episode.length if isinstance(episode, AlignedEpisode) and status == "skipped" else 0
    index = known.get(episode.episode_id) if status == "existing" else None
    summary.add(episode.episode_id, status, index=index, frames=frames, reason=reason, source=episode.source)
    progress.episode()


def _fit(episode: AlignedEpisode, schema: FeatureSchema, on_define: Callable[[], None] | None) -> None:
    """The first episode defines the dataset's features (then `on_define` runs); every one must fit."""
    if not schema.defined:
        schema.define(episode)
        if on_define is not None:
            on_define()
    schema.check(episode)
