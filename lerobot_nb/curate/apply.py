"""Apply a curation file: resolve its episodes in the dataset(s), turn seconds into frames, rewrite.

Every check happens before anything is written: an unknown episode, a trim or split outside the
episode or leaving no frame, a curation that drops every episode, datasets that cannot be merged
are each one line naming the curation file and the episode as the file names it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from lerobot_nb.curate.config import CurateApplyConfig
from lerobot_nb.curate.curation import Curation, EpisodeDecision, EpisodeKey, read_curation
from lerobot_nb.dataset import (
    EditPlan,
    EpisodeEdit,
    RewriteSummary,
    SourceDataset,
    rewrite_dataset,
    split_pieces,
)
from lerobot_nb.dataset.plan import merged_layout
from lerobot_nb.errors import LerobotNbError

__all__ = ["apply_curation", "curation_plan", "decision_frames"]

#: Seconds that land within this many frames of a frame time count as that frame (float noise).
_SNAP = 1e-6


@dataclass(frozen=True)
class _Episode:
    """An episode of the (merged) input: its source, index there, index in the merged order, id."""

    source: int
    episode: int
    merged: int
    recording: str | None


def apply_curation(datasets: str | Path | Sequence[str | Path], config: CurateApplyConfig) -> RewriteSummary:
    """Write the curated (and, for several datasets, merged) dataset at `config.output`."""
    paths = [datasets] if isinstance(datasets, str | Path) else list(datasets)
    if not paths:
        raise LerobotNbError("no dataset given")
    sources = [SourceDataset(p) for p in paths]
    merged_layout(sources)  # datasets that cannot be merged fail before the curation is looked at
    curation = read_curation(config.curation) if config.curation else Curation()
    plan, notes = curation_plan(curation, sources)
    summary = rewrite_dataset(plan, config, sources=sources)
    summary.notes = notes
    return summary


def curation_plan(curation: Curation, sources: Sequence[SourceDataset]) -> tuple[EditPlan, list[str]]:
    """The edit plan the curation describes for `sources` (merged in order), and one note per drop."""
    catalog = [
        _Episode(i, ep, 0, src.recording_of.get(ep))
        for i, src in enumerate(sources)
        for ep in range(src.num_episodes)
    ]
    catalog = [_Episode(e.source, e.episode, g, e.recording) for g, e in enumerate(catalog)]
    decisions = _resolve(curation, catalog)
    edits: list[EpisodeEdit] = []
    notes: list[str] = []
    for entry in catalog:
        key, decision = decisions.get(entry.merged, (None, EpisodeDecision()))
        if decision.drop is not None:
            notes.append(f"dropped episode {_name(entry)}: {decision.drop}")
            continue
        src = sources[entry.source]
        start, end, cuts = decision_frames(decision, src.length(entry.episode), src.fps, curation.path, key)
        edit = EpisodeEdit(entry.source, entry.episode, start, end, decision.task)
        edits += split_pieces(edit, cuts, entry.recording) if cuts else [edit]
    if not edits:
        raise LerobotNbError(
            f"the curation drops every episode ({len(catalog)} of {len(catalog)}); nothing would be left",
            file=curation.path,
        )
    return EditPlan(tuple(s.root for s in sources), tuple(edits)), notes


def _name(entry: _Episode) -> str:
    return f"{entry.merged}" + (f" ({entry.recording})" if entry.recording else "")


def _resolve(curation: Curation, catalog: list[_Episode]) -> dict[int, tuple[EpisodeKey, EpisodeDecision]]:
    """Merged episode index -> (key as written, decision); unknown or doubly named episodes fail."""
    by_id: dict[str, list[_Episode]] = {}
    for entry in catalog:
        if entry.recording is not None:
            by_id.setdefault(entry.recording, []).append(entry)
    out: dict[int, tuple[EpisodeKey, EpisodeDecision]] = {}
    for key, decision in curation.episodes.items():
        entry = _lookup(key, catalog, by_id, curation.path)
        if entry.merged in out:
            first = out[entry.merged][0]
            raise LerobotNbError(
                f"named twice (as {first!r} and as {key!r}): give one entry per episode",
                file=curation.path,
                episode=str(entry.merged),
            )
        out[entry.merged] = (key, decision)
    return out


def _lookup(
    key: EpisodeKey, catalog: list[_Episode], by_id: dict[str, list[_Episode]], path: Path | None
) -> _Episode:
    if isinstance(key, int):
        if key >= len(catalog):
            raise LerobotNbError(
                f"unknown episode: the dataset has episodes 0..{len(catalog) - 1}",
                file=path,
                episode=str(key),
            )
        return catalog[key]
    found = by_id.get(key, [])
    if len(found) == 1:
        return found[0]
    if found:
        raise LerobotNbError("this recording id is in several of the merged datasets", file=path, episode=key)
    if not by_id:
        raise LerobotNbError(
            "unknown episode: the dataset records no recording ids (meta/lerobot_nb.json); name "
            "episodes by episode_index",
            file=path,
            episode=key,
        )
    known = ", ".join(sorted(by_id)[:5]) + (", ..." if len(by_id) > 5 else "")
    raise LerobotNbError(f"unknown recording id (known: {known})", file=path, episode=key)


def _frame(seconds: float, fps: int) -> int:
    """The first frame at or after `seconds` (frame k is at k / fps)."""
    x = seconds * fps
    nearest = round(x)
    return nearest if abs(x - nearest) < _SNAP else math.ceil(x)


def decision_frames(
    d: EpisodeDecision, length: int, fps: int, path: Path | None, key: EpisodeKey | None
) -> tuple[int, int, list[int]]:
    """The kept frames [start, end) and the split frames of a decision on an episode of `length`
    frames at `fps`: one rule for datasets (`curate apply`) and aligned episodes (`convert`)."""
    start, end = _kept(length, fps, d, path, key)
    return start, end, _split_frames(start, end, fps, d, path, key)


def _kept(
    length: int, fps: int, d: EpisodeDecision, path: Path | None, key: EpisodeKey | None
) -> tuple[int, int]:
    if d.trim is None:
        return 0, length
    start_s, end_s = d.trim
    duration = length / fps

    def bad(what: str) -> LerobotNbError:
        return LerobotNbError(f"trim [{start_s}, {end_s}] s {what}", file=path, episode=str(key))

    if end_s is not None and end_s * fps > length + _SNAP:
        raise bad(f"is out of range: the episode lasts {duration:g} s ({length} frames at {fps} fps)")
    start = _frame(start_s, fps)
    end = length if end_s is None else _frame(end_s, fps)
    if start >= length:
        raise bad(f"is out of range: it starts at or after the episode's end ({duration:g} s)")
    if end <= start:
        raise bad(f"leaves an empty episode (no frame k/{fps} s falls inside it)")
    return start, end


def _split_frames(
    start: int, end: int, fps: int, d: EpisodeDecision, path: Path | None, key: EpisodeKey | None
) -> list[int]:
    cuts = [_frame(t, fps) for t in d.split]
    for t, cut in zip(d.split, cuts, strict=True):
        if not start < cut < end:
            raise LerobotNbError(
                f"split at {t} s is outside the kept [{start / fps:g}, {end / fps:g}) s "
                "or leaves an empty piece",
                file=path,
                episode=str(key),
            )
    if len(set(cuts)) != len(cuts):
        raise LerobotNbError(
            f"split times {list(d.split)} fall on the same frame", file=path, episode=str(key)
        )
    return cuts
