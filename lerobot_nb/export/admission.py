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
        if isinstance(episode, EpisodeSkipped):
            status = "existing" if episode.reason == ALREADY_PRESENT else "skipped"
            summary.add(
                episode.episode_id,
                status,
                reason=episode.reason,
                source=episode.source,
                index=known.get(episode.episode_id),
            )
            progress.episode()
            continue
        if episode.episode_id in known:
            summary.add(
                episode.episode_id,
                "existing",
                reason=ALREADY_PRESENT,
                index=known[episode.episode_id],
                source=episode.source,
            )
            progress.episode()
            continue
        if config.episodes and episode.episode_id not in config.episodes:
            continue
        if config.min_frames and episode.length < config.min_frames:
            reason = f"{episode.length} frames, fewer than min_frames={config.min_frames}"
            summary.add(
                episode.episode_id, "skipped", frames=episode.length, reason=reason, source=episode.source
            )
            progress.episode()
            continue
        episode = with_episode_task(episode, task_map)
        try:
            if not schema.defined:
                schema.define(episode)
                if on_define is not None:
                    on_define()
            schema.check(episode)
        except BadEpisode as exc:
            if not skip_bad_episodes:
                raise
            summary.add(episode.episode_id, "skipped", reason=exc.what, source=episode.source)
            progress.episode()
            continue
        yield episode
        # Drop it before the next one is aligned: at most one episode's numeric data in memory.
        del episode
