"""Edits on top of the rewriter: delete episodes, trim them, split one at given frames, merge datasets.

Each builds an `EditPlan` and hands it to `rewrite_dataset`: the result is always a new dataset
(validated, published atomically); the inputs are only read. Frame numbers are 0-based within
the episode; ranges are half-open [start, end).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from lerobot_nb.dataset.config import RewriteConfig
from lerobot_nb.dataset.plan import EditPlan, EpisodeEdit
from lerobot_nb.dataset.rewrite import rewrite_dataset
from lerobot_nb.dataset.summary import RewriteSummary
from lerobot_nb.errors import LerobotNbError
from lerobot_nb.lerobot_v3.dataset import SourceDataset

__all__ = ["delete_episodes", "merge_datasets", "split_episode", "split_pieces", "trim_episodes"]


def _known(source: SourceDataset, episodes: Iterable[int]) -> list[int]:
    chosen = sorted(set(episodes))
    unknown = [e for e in chosen if not 0 <= e < source.num_episodes]
    if unknown:
        raise LerobotNbError(
            f"no episode {', '.join(map(str, unknown))} (the dataset has episodes 0..{source.num_episodes - 1})",
            file=source.root,
        )
    return chosen


def delete_episodes(dataset: str | Path, episodes: Iterable[int], config: RewriteConfig) -> RewriteSummary:
    """Every episode but `episodes`, renumbered in order."""
    source = SourceDataset(dataset)
    gone = set(_known(source, episodes))
    kept = [EpisodeEdit(0, e) for e in range(source.num_episodes) if e not in gone]
    return rewrite_dataset(EditPlan.of([source.root], kept), config, sources=[source])


def trim_episodes(
    dataset: str | Path, trims: Mapping[int, tuple[int, int | None]], config: RewriteConfig
) -> RewriteSummary:
    """Each episode in `trims` keeps frames [start, end) (end None = to its end); others stay whole."""
    source = SourceDataset(dataset)
    _known(source, trims)
    edits = [EpisodeEdit(0, e, *trims.get(e, (0, None))) for e in range(source.num_episodes)]
    return rewrite_dataset(EditPlan.of([source.root], edits), config, sources=[source])


def split_pieces(edit: EpisodeEdit, at: Sequence[int], recording: str | None) -> list[EpisodeEdit]:
    """`edit` cut before each frame in `at` (episode frame numbers inside its range); pieces are
    recorded as `<recording>#0`, `#1`, ... like the aligner names the pieces of a split episode."""
    cuts = sorted(at)
    return [
        EpisodeEdit(
            edit.source,
            edit.episode,
            start,
            end,
            edit.task,
            f"{recording}#{k}" if recording is not None else None,
        )
        for k, (start, end) in enumerate(zip([edit.start, *cuts], [*cuts, edit.end], strict=True))
    ]


def split_episode(
    dataset: str | Path, episode: int, at: Sequence[int], config: RewriteConfig
) -> RewriteSummary:
    """Episode `episode` becomes one episode per piece, cut before each frame in `at`."""
    source = SourceDataset(dataset)
    _known(source, [episode])
    length = source.length(episode)
    bad = [f for f in at if not 0 < f < length]
    if bad or len(set(at)) != len(at):
        raise LerobotNbError(
            f"split frames {list(at)} must be distinct and inside the episode's 1..{length - 1}",
            file=source.root,
            episode=str(episode),
        )
    edits: list[EpisodeEdit] = []
    for e in range(source.num_episodes):
        whole = EpisodeEdit(0, e, 0, source.length(e))
        edits += split_pieces(whole, at, source.recording_of.get(e)) if e == episode else [whole]
    return rewrite_dataset(EditPlan.of([source.root], edits), config, sources=[source])


def merge_datasets(datasets: Sequence[str | Path], config: RewriteConfig) -> RewriteSummary:
    """All episodes of `datasets`, in the given order (same fps, features and video codec)."""
    if not datasets:
        raise LerobotNbError("no datasets to merge")
    sources = [SourceDataset(d) for d in datasets]
    edits = [EpisodeEdit(i, e) for i, s in enumerate(sources) for e in range(s.num_episodes)]
    return rewrite_dataset(EditPlan.of([s.root for s in sources], edits), config, sources=sources)
