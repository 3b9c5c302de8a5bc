"""Per-episode quality scores: one row per episode with measures, flags and a short reason per flag.

Computed on recordings aligned by the pipeline (before export: the alignment's stale ticks and
source gaps count too) or on a LeRobot v3.0 dataset (after export). The still/spike/range/
duplicate tests are `lerobot_nb.validate.signals`, the ones validate's quality warnings use.

```python
from lerobot_nb.curate import ScoreConfig, score_dataset, score_recordings
scores = score_dataset("datasets/pusht", ScoreConfig(max_idle_edge_s=0.5))
scores.worst_first()          # polars, the most flagged first
scores.findings               # one row per flag: episode, flag, at_s, length_s, reason
scores = score_recordings(iterate_pipeline(inputs.open(align)))   # before export
```
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import polars as pl

from lerobot_nb.config import help_field
from lerobot_nb.curate.cameras import CameraTrace, sample_stride
from lerobot_nb.curate.measure import EpisodeData, dataset_episodes, from_aligned
from lerobot_nb.episode import AlignedEpisode, EpisodeSkipped
from lerobot_nb.lerobot_v3.dataset import SourceDataset
from lerobot_nb.validate.signals import (
    clipped_std,
    longest_run,
    motion_digest,
    moving_steps,
    range_reach,
    second_differences,
    spikes,
)

__all__ = [
    "FLAGS",
    "SCORE_SCHEMA",
    "ScoreConfig",
    "Scores",
    "score_dataset",
    "score_episodes",
    "score_recordings",
]


@dataclass(frozen=True, kw_only=True)
class ScoreConfig:
    """Thresholds of the per-episode scores (API keywords = CLI flags = notebook parameters)."""

    idle_tolerance: float = help_field(
        1e-3,
        "a step is still when every action and state dimension changes by at most this fraction of "
        "that dimension's std over all episodes",
    )
    max_idle_fraction: float = help_field(
        0.5, "flag episodes still on more than this fraction of their steps"
    )
    max_idle_edge_s: float = help_field(
        1.0, "flag an idle head or tail (seconds still at the start or at the end) longer than this"
    )
    jerk_sigma: float = help_field(
        10.0,
        "a jump that comes back, larger than this many of the dataset's second-difference stds, is a spike",
    )
    outlier_sigma: float = help_field(
        6.0, "flag an episode whose action/state reaches this many stds from the other episodes' median"
    )
    outlier_min_episodes: int = help_field(
        5, "compare an episode's range only when there are at least this many other episodes"
    )
    max_stale_fraction: float = help_field(
        0.05, "recordings: flag episodes with more than this fraction of stale (flagged or dropped) ticks"
    )
    source_gap_s: float = help_field(
        0.5, "recordings: a stream without a sample for longer than this (seconds) has a gap"
    )
    short_episode_s: float = help_field(1.0, "flag episodes shorter than this (seconds)")
    cameras: bool = help_field(True, "score the cameras (decodes every video frame once)")
    camera_sample_hz: float = help_field(
        5.0, "camera pictures compared per second (every round(fps / this)-th frame)"
    )
    frozen_s: float = help_field(
        1.0,
        "flag a camera that is blank or repeats its picture while the robot moves for this long (seconds)",
    )
    frozen_diff: float = help_field(
        6.0,
        "two samples are the same picture when their 32x32 grey thumbnails differ by at most this (0-255)",
    )
    dead_std: float = help_field(2.0, "a sample whose grey thumbnail has a std below this (0-255) is blank")
    dead_level: float = help_field(8.0, "a sample whose grey mean is below this (0-255) is black")


#: Every flag and what raises it.
FLAGS: dict[str, str] = {
    "short": "shorter than short_episode_s",
    "idle": "still on more than max_idle_fraction of the steps",
    "idle_head": "still for more than max_idle_edge_s at the start",
    "idle_tail": "still for more than max_idle_edge_s at the end",
    "spike": "a jump in action/state that comes back (larger than jerk_sigma)",
    "out_of_range": "action/state reaches outlier_sigma stds from the other episodes",
    "stale": "more than max_stale_fraction of the ticks stale (recordings)",
    "gap": "a stream without samples for longer than source_gap_s (recordings)",
    "dead_camera": "a camera black or blank for frozen_s or longer",
    "frozen_camera": "a camera repeating its picture for frozen_s or longer while the robot moves",
    "duplicate": "action and state equal an earlier episode's, frame for frame",
    "no_task": "no task text on some frame",
}

#: Column -> dtype of the score table (one row per episode).
SCORE_SCHEMA: dict[str, Any] = {
    "episode_index": pl.Int64,
    "recording": pl.String,
    "frames": pl.Int64,
    "duration_s": pl.Float64,
    "task": pl.String,
    "task_present": pl.Boolean,
    "idle_fraction": pl.Float64,
    "idle_head_s": pl.Float64,
    "idle_tail_s": pl.Float64,
    "spikes": pl.Int64,
    "spike_at_s": pl.Float64,
    "jerk": pl.Float64,
    "range_sigma": pl.Float64,
    "stale_fraction": pl.Float64,
    "gaps": pl.Int64,
    "max_gap_s": pl.Float64,
    "gap_at_s": pl.Float64,
    "dead_camera_s": pl.Float64,
    "frozen_camera_s": pl.Float64,
    "duplicate_of": pl.String,
    "flags": pl.List(pl.String),
    "reason": pl.String,
}

FINDINGS_SCHEMA: dict[str, Any] = {
    "episode": pl.String,
    "episode_index": pl.Int64,
    "recording": pl.String,
    "flag": pl.String,
    "at_s": pl.Float64,
    "length_s": pl.Float64,
    "reason": pl.String,
}


@dataclass(frozen=True)
class Finding:
    """One flag of one episode: where it starts and how long it lasts (seconds), and why."""

    flag: str
    reason: str
    at_s: float | None = None
    length_s: float | None = None


@dataclass(frozen=True)
class Scores:
    """The score table (input order) and every finding; `episodes` keep what was measured (plots)."""

    table: pl.DataFrame
    findings: pl.DataFrame
    config: ScoreConfig
    source: str = ""
    kind: Literal["recordings", "dataset"] = "dataset"
    episodes: tuple[EpisodeData, ...] = ()
    skipped: Mapping[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def worst_first(self) -> pl.DataFrame:
        """The table sorted by number of flags (most first), then idle fraction, then input order."""
        return (
            self.table.with_row_index("_order")
            .sort(
                [pl.col("flags").list.len(), pl.col("idle_fraction").fill_null(0.0), "_order"],
                descending=[True, True, False],
            )
            .drop("_order")
        )

    @property
    def flagged(self) -> list[str]:
        """Names (recording id, else episode_index) of the flagged episodes, worst first."""
        table = self.worst_first().filter(pl.col("flags").list.len() > 0)
        return [_name(r) for r in table.iter_rows(named=True)]

    def episode(self, name: str) -> EpisodeData:
        """The measured episode `name` (recording id or episode_index as text)."""
        for ep in self.episodes:
            if ep.name == name:
                return ep
        raise KeyError(name)

    def render(self, *, rows: int | None = None) -> str:
        """The table worst first (main columns), then skipped episodes and notes."""
        shown = self.worst_first().with_columns(pl.col("flags").list.join(", "))
        columns = [c for c in _SHOWN if c in shown.columns and shown[c].null_count() < shown.height]
        flagged = shown.filter(pl.col("flags") != "").height
        head = f"{self.source}: {self.table.height} episodes scored ({self.kind}), {flagged} flagged"
        with pl.Config(
            tbl_rows=rows or -1,
            tbl_cols=-1,
            fmt_str_lengths=120,
            tbl_width_chars=250,
            tbl_hide_dataframe_shape=True,
            tbl_hide_column_data_types=True,
        ):
            text = [head, str(shown.select(columns))]
        text += [f"skipped {name}: {why}" for name, why in self.skipped.items()]
        text += [f"note: {n}" for n in self.notes]
        return "\n".join(text)

    def __str__(self) -> str:
        return self.render()

    def to_json(self) -> str:
        """Rows worst first, findings, skipped episodes, notes and the thresholds, as JSON."""
        return json.dumps(
            {
                "source": self.source,
                "kind": self.kind,
                "episodes": self.worst_first().to_dicts(),
                "findings": self.findings.to_dicts(),
                "skipped": dict(self.skipped),
                "notes": list(self.notes),
                "config": asdict(self.config),
            },
            indent=1,
        )

    def to_csv(self) -> str:
        """The table worst first as CSV (flags joined with `;`)."""
        return self.worst_first().with_columns(pl.col("flags").list.join(";")).write_csv()


_SHOWN = (
    "episode_index",
    "recording",
    "frames",
    "duration_s",
    "idle_fraction",
    "idle_head_s",
    "idle_tail_s",
    "spikes",
    "stale_fraction",
    "gaps",
    "range_sigma",
    "flags",
    "reason",
)


def _name(row: Mapping[str, Any]) -> str:
    return str(row["recording"]) if row["recording"] is not None else str(row["episode_index"])


# -- entry points --------------------------------------------------------------------------------
def score_recordings(
    items: Iterable[AlignedEpisode | EpisodeSkipped], config: ScoreConfig | None = None, *, source: str = ""
) -> Scores:
    """Score aligned episodes (e.g. `iterate_pipeline(...)`) as they come; skips are listed."""
    config = config or ScoreConfig()
    data: list[EpisodeData] = []
    skipped: dict[str, str] = {}
    for item in items:
        if isinstance(item, EpisodeSkipped):
            skipped[item.episode_id] = item.reason
        else:
            data.append(
                from_aligned(
                    item, sample_hz=config.camera_sample_hz, gap_s=config.source_gap_s, cameras=config.cameras
                )
            )
    return score_episodes(data, config, source=source, kind="recordings", skipped=skipped)


def score_dataset(path: str | Path, config: ScoreConfig | None = None) -> Scores:
    """Score every episode of the LeRobot v3.0 dataset at `path` (read only)."""
    config = config or ScoreConfig()
    dataset = SourceDataset(path)
    data = list(dataset_episodes(dataset, sample_hz=config.camera_sample_hz, cameras=config.cameras))
    return score_episodes(data, config, source=str(dataset.root), kind="dataset")


def score_episodes(
    episodes: Sequence[EpisodeData],
    config: ScoreConfig,
    *,
    source: str = "",
    kind: Literal["recordings", "dataset"] = "dataset",
    skipped: Mapping[str, str] | None = None,
) -> Scores:
    """The scores of measured episodes (cross-episode tests compare them with each other)."""
    pool = _Pool.of(episodes, config)
    rows, found = [], []
    for i, ep in enumerate(episodes):
        row, findings = _score(i, ep, pool, config)
        rows.append(row)
        found += [
            {"episode": ep.name, "episode_index": ep.episode_index, "recording": ep.recording, **asdict(f)}
            for f in findings
        ]
    table = pl.DataFrame(rows, schema=SCORE_SCHEMA)
    findings_table = pl.DataFrame(found, schema=FINDINGS_SCHEMA).select(list(FINDINGS_SCHEMA))
    notes = (*pool.notes, *_camera_notes(episodes))
    return Scores(table, findings_table, config, source, kind, tuple(episodes), dict(skipped or {}), notes)


def _camera_notes(episodes: Sequence[EpisodeData]) -> list[str]:
    """One note per camera that could not be read, naming its episodes."""
    failed: dict[tuple[str, str], list[str]] = {}
    for ep in episodes:
        for trace in ep.cameras:
            if trace.error is not None:
                failed.setdefault((trace.key, trace.error), []).append(ep.name)
    return [
        f"camera {key} not scored in episode(s) {', '.join(names[:5])}{', ...' if len(names) > 5 else ''}: {error}"
        for (key, error), names in failed.items()
    ]


# -- what the episodes share ---------------------------------------------------------------------
@dataclass
class _Pool:
    """Dataset-wide scales: per motion key the std of each dimension and of its second differences."""

    keys: list[str]
    scale: dict[str, np.ndarray]
    jerk_sigma: dict[str, np.ndarray]
    episodes: Sequence[EpisodeData]
    first_of: dict[bytes, str]
    notes: tuple[str, ...] = ()

    @classmethod
    def of(cls, episodes: Sequence[EpisodeData], config: ScoreConfig) -> _Pool:
        keys = [
            k for k in ("action", "observation.state") if episodes and all(k in e.motion for e in episodes)
        ]
        keys = [k for k in keys if len({_width(e.motion[k]) for e in episodes}) == 1]
        scale, jerk = {}, {}
        for key in keys:
            pooled = np.concatenate([_rows(e.motion[key]) for e in episodes], axis=0)
            scale[key] = pooled.std(axis=0) if len(pooled) else np.zeros(0)
            seconds = [second_differences(e.motion[key]) for e in episodes if len(e.motion[key]) >= 3]
            if sum(len(s) for s in seconds) >= 10:
                jerk[key] = clipped_std(np.concatenate(seconds, axis=0))
        notes = []
        if not keys:
            notes.append(
                "no action/state feature common to every episode: idle, spike, range and duplicate tests off"
            )
        if len(episodes) - 1 < config.outlier_min_episodes:
            notes.append(
                f"{len(episodes)} episodes: ranges are compared only with at least "
                f"{config.outlier_min_episodes} other episodes (outlier_min_episodes)"
            )
        return cls(keys, scale, jerk, episodes, {}, tuple(notes))


def _rows(values: np.ndarray) -> np.ndarray:
    return np.asarray(values, np.float64).reshape(len(values), -1)


def _width(values: np.ndarray) -> int:
    return int(_rows(values).shape[1])


def _label(ep: EpisodeData, key: str, d: int) -> str:
    names = ep.names.get(key)
    return f"`{key}` {names[d]}" if names and d < len(names) else f"`{key}`[{d}]"


# -- one episode ---------------------------------------------------------------------------------
def _score(i: int, ep: EpisodeData, pool: _Pool, config: ScoreConfig) -> tuple[dict[str, Any], list[Finding]]:
    row: dict[str, Any] = {
        "episode_index": ep.episode_index,
        "recording": ep.recording,
        "frames": ep.length,
        "duration_s": ep.length / ep.fps,
    }
    findings: list[Finding] = []
    moving = _idle(ep, pool, config, row, findings)
    _duration(ep, config, row, findings)
    _spikes(ep, pool, config, row, findings)
    _range(i, ep, pool, config, row, findings)
    _alignment(ep, config, row, findings)
    _cameras(ep, moving, pool, config, row, findings)
    _duplicate(ep, pool, row, findings)
    _task(ep, row, findings)
    row["flags"] = list(dict.fromkeys(f.flag for f in findings))
    row["reason"] = "; ".join(f"{f.flag}: {f.reason}" for f in findings)
    return row, findings


def _duration(ep: EpisodeData, config: ScoreConfig, row: dict[str, Any], out: list[Finding]) -> None:
    if row["duration_s"] < config.short_episode_s:
        out.append(
            Finding("short", f"only {row['duration_s']:.2f} s ({ep.length} frames)", 0.0, row["duration_s"])
        )


def _idle(
    ep: EpisodeData, pool: _Pool, config: ScoreConfig, row: dict[str, Any], out: list[Finding]
) -> np.ndarray | None:
    """Still steps: idle fraction, idle head and tail (seconds). Returns the moving mask (T - 1)."""
    if not pool.keys or ep.length < 2:
        row.update(idle_fraction=None, idle_head_s=None, idle_tail_s=None)
        return None
    tolerances = [config.idle_tolerance * pool.scale[k] for k in pool.keys]
    moving = moving_steps([ep.motion[k] for k in pool.keys], tolerances)
    steps = len(moving)
    idle = 1.0 - float(moving.mean())
    first = int(np.argmax(moving)) if moving.any() else steps
    last = steps - 1 - int(np.argmax(moving[::-1])) if moving.any() else -1
    head, tail = first / ep.fps, (steps - 1 - last) / ep.fps
    row.update(idle_fraction=idle, idle_head_s=head, idle_tail_s=tail)
    if idle > config.max_idle_fraction:
        out.append(Finding("idle", f"still on {idle:.0%} of the steps", 0.0, row["duration_s"]))
    if moving.any() and head > config.max_idle_edge_s:
        out.append(Finding("idle_head", f"still for the first {head:.2f} s", 0.0, head))
    if moving.any() and tail > config.max_idle_edge_s:
        out.append(Finding("idle_tail", f"still for the last {tail:.2f} s", (last + 1) / ep.fps, tail))
    return moving


def _spikes(
    ep: EpisodeData, pool: _Pool, config: ScoreConfig, row: dict[str, Any], out: list[Finding]
) -> None:
    frames: set[int] = set()
    worst: tuple[float, str, int, int] | None = None
    jerk = None
    for key in pool.keys:
        if key not in pool.jerk_sigma:
            continue
        found = spikes(ep.motion[key], pool.jerk_sigma[key], config.jerk_sigma)
        jerk = max(jerk or 0.0, float(found.z.max()) if found.z.size else 0.0)
        frames.update(int(k) for k in found.frames)
        w = found.worst()
        if w is not None and (worst is None or w[2] > worst[0]):
            worst = (w[2], key, w[0], w[1])
    events = _runs(sorted(frames))
    row.update(spikes=events if jerk is not None else None, jerk=jerk, spike_at_s=None)
    if worst is not None:
        z, key, k, d = worst
        row["spike_at_s"] = k / ep.fps
        reason = f"{_label(ep, key, d)} jumps {z:.0f} stds and back at {k / ep.fps:.2f} s ({events} spike(s))"
        out.append(Finding("spike", reason, k / ep.fps, 1.0 / ep.fps))


def _runs(frames: list[int]) -> int:
    """How many runs of consecutive frame numbers (one spike marks its neighbours too)."""
    return sum(1 for i, k in enumerate(frames) if i == 0 or k > frames[i - 1] + 1)


def _range(
    i: int, ep: EpisodeData, pool: _Pool, config: ScoreConfig, row: dict[str, Any], out: list[Finding]
) -> None:
    others = [e for j, e in enumerate(pool.episodes) if j != i]
    if not pool.keys or len(others) < config.outlier_min_episodes:
        row["range_sigma"] = None
        return
    best: tuple[float, str, int, int] = (0.0, "", 0, 0)
    for key in pool.keys:
        reach, where = range_reach(ep.motion[key], np.concatenate([_rows(e.motion[key]) for e in others]))
        d = int(np.argmax(reach))
        if reach[d] > best[0]:
            best = (float(reach[d]), key, d, int(where[d]))
    row["range_sigma"] = best[0]
    if best[0] > config.outlier_sigma:
        sigma, key, d, k = best
        reason = f"{_label(ep, key, d)} reaches {sigma:.0f} stds from the other episodes' median at {k / ep.fps:.2f} s"
        out.append(Finding("out_of_range", reason, k / ep.fps, None))


def _alignment(ep: EpisodeData, config: ScoreConfig, row: dict[str, Any], out: list[Finding]) -> None:
    a = ep.alignment
    if a is None:
        row.update(stale_fraction=None, gaps=None, max_gap_s=None, gap_at_s=None)
        return
    stale = a.stale / a.grid_ticks if a.grid_ticks else 0.0
    longest = max(a.gaps, key=lambda g: g.length_s, default=None)
    row.update(
        stale_fraction=stale,
        gaps=len(a.gaps),
        max_gap_s=longest.length_s if longest else None,
        gap_at_s=longest.at_s if longest else None,
    )
    if stale > config.max_stale_fraction:
        detail = f"{a.dropped} dropped" if a.dropped else f"{a.worst_stream} beyond its tolerance"
        out.append(Finding("stale", f"{stale:.0%} of the ticks stale ({detail})"))
    for g in a.gaps:
        if g.before:  # the gap split the recording: it lies before this piece's first tick
            reason = f"{g.stream} had no sample for {g.length_s:.2f} s just before this piece (it split the recording)"
            out.append(Finding("gap", reason, 0.0, 0.0))
        else:
            reason = f"{g.stream} has no sample for {g.length_s:.2f} s from {g.at_s:.2f} s"
            out.append(Finding("gap", reason, g.at_s, g.length_s))


def _cameras(
    ep: EpisodeData,
    moving: np.ndarray | None,
    pool: _Pool,
    config: ScoreConfig,
    row: dict[str, Any],
    out: list[Finding],
) -> None:
    row.update(dead_camera_s=None, frozen_camera_s=None)
    stride = sample_stride(ep.fps, config.camera_sample_hz)
    for trace in ep.cameras:
        if trace.error is not None or not len(trace.frames):
            continue
        dead, frozen = _dead_run(trace, config), _frozen_run(trace, moving, config)
        for flag, (length, at), column, what in (
            ("dead_camera", dead, "dead_camera_s", "black or blank"),
            ("frozen_camera", frozen, "frozen_camera_s", "repeats its picture while the robot moves"),
        ):
            seconds, at_s = length * stride / ep.fps, at / ep.fps
            row[column] = max(row[column] or 0.0, seconds)
            if length and seconds >= config.frozen_s:
                out.append(
                    Finding(
                        flag, f"`{trace.key}` {what} for {seconds:.2f} s from {at_s:.2f} s", at_s, seconds
                    )
                )


def _dead(trace: CameraTrace, config: ScoreConfig) -> np.ndarray:
    """Per sample: black or blank."""
    return np.asarray((trace.std < config.dead_std) | (trace.mean < config.dead_level))


def _dead_run(trace: CameraTrace, config: ScoreConfig) -> tuple[int, int]:
    """(samples, first frame) of the longest run of black or blank samples."""
    length, start = longest_run(_dead(trace, config))
    return length, int(trace.frames[start]) if length else 0


def _frozen_run(trace: CameraTrace, moving: np.ndarray | None, config: ScoreConfig) -> tuple[int, int]:
    """(sample pairs, first frame) of the longest run of samples equal to the previous one while the
    robot moved between them (any repeat when there is no action/state); blank ones are dead instead."""
    same = (np.nan_to_num(trace.diff, nan=np.inf) <= config.frozen_diff) & ~_dead(trace, config)
    if moving is not None and len(moving):
        # the steps between samples i-1 and i are frames[i-1] .. frames[i]-1 (step j: frame j -> j+1)
        moved_before = np.concatenate([[0], np.cumsum(moving)])
        f = np.minimum(trace.frames, len(moving))
        moved = np.zeros(len(f), bool)
        moved[1:] = moved_before[f[1:]] - moved_before[f[:-1]] > 0
        same &= moved
    length, start = longest_run(same)
    return length, int(trace.frames[start - 1]) if length else 0


def _duplicate(ep: EpisodeData, pool: _Pool, row: dict[str, Any], out: list[Finding]) -> None:
    row["duplicate_of"] = None
    if not pool.keys:
        return
    digest = motion_digest([np.asarray(ep.motion[k]) for k in pool.keys])
    first = pool.first_of.setdefault(digest, ep.name)
    if first != ep.name:
        row["duplicate_of"] = first
        out.append(
            Finding("duplicate", f"{' and '.join(pool.keys)} repeat episode {first} exactly", 0.0, None)
        )


def _task(ep: EpisodeData, row: dict[str, Any], out: list[Finding]) -> None:
    present = bool(ep.tasks) and all(t.strip() for t in ep.tasks)
    row.update(task=ep.tasks[0] if ep.tasks else None, task_present=present)
    if not present:
        out.append(Finding("no_task", "no task text" if not ep.tasks else "an empty task on some frames"))
