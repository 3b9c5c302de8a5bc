"""Put one episode's streams on the fixed `k / fps` grid: plan, resample, keep, split, assemble.

Input: `SourceStream`s (from a server or straight from files); output: one `AlignedEpisode`
per piece. A piece is a maximal run of consecutive kept ticks, because LeRobot stores
`timestamp = frame_index / fps`: a tick left out inside a run must split it (bridging the hole
would shift every later frame one 1/fps step early).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from lerobot_nb.align.config import AlignConfig
from lerobot_nb.align.grid import episode_span, grid_ticks
from lerobot_nb.align.names import feature_names
from lerobot_nb.align.report import StreamReport, report_frame
from lerobot_nb.align.resample import gaps, median_period, pick_indices, resample
from lerobot_nb.align.streams import LatestAt, SourceStream, TaskLookup
from lerobot_nb.episode import AlignedEpisode, FrameSource, StreamTiming
from lerobot_nb.errors import LerobotNbError

__all__ = ["EpisodeInput", "align_streams"]


@dataclass(frozen=True)
class EpisodeInput:
    """Everything `align_streams` needs about one episode besides its streams."""

    episode_id: str
    index: str
    per_second: Fraction  # timeline units per second
    source: str = ""
    tasks: TaskLookup | None = None
    latest_at: LatestAt | None = None  # server-side latest-at for numeric `latest` streams


@dataclass
class _OnGrid:
    """One stream resampled on the full grid (T ticks)."""

    stream: SourceStream
    index: np.ndarray  # source row per tick, -1: none
    staleness: np.ndarray  # timeline units
    tolerance: float  # timeline units
    values: np.ndarray | None  # (T, D) numeric

    @property
    def bad(self) -> np.ndarray:
        return (self.index < 0) | (self.staleness > self.tolerance)


@dataclass(frozen=True)
class _Keep:
    """Which grid ticks survive, and where the episode splits."""

    keep: np.ndarray
    in_gap: np.ndarray
    pieces: list[np.ndarray]


def align_streams(
    streams: Sequence[SourceStream], config: AlignConfig, episode: EpisodeInput
) -> list[AlignedEpisode]:
    """The aligned pieces of one episode (see the module docstring); raises `LerobotNbError`."""
    if not streams:
        raise LerobotNbError("nothing to align: no action, state, extra or image stream given")
    ticks = _grid(streams, config, episode)
    on_grid = [_resample(s, ticks, config, episode.per_second) for s in streams]
    kept = _keep(on_grid, ticks, config, episode.per_second)
    if episode.latest_at is not None:
        _refine(on_grid, ticks[np.concatenate(kept.pieces)], np.concatenate(kept.pieces), episode.latest_at)
    tasks = episode.tasks(ticks) if episode.tasks is not None else None
    names = _names(streams)
    return [
        _piece(n, piece, kept, on_grid, ticks, tasks, names, config, episode)
        for n, piece in enumerate(kept.pieces)
    ]


def _grid(streams: Sequence[SourceStream], config: AlignConfig, episode: EpisodeInput) -> np.ndarray:
    """Ticks from the streams' common span (or `span_stream`'s), exact integer arithmetic."""
    times = {s.label: s.times for s in streams}
    span_labels = [s.label for s in streams if s.key == config.span_stream]
    if span_labels:
        times = {label: times[label] for label in span_labels}
    start, end = episode_span(times, episode=episode.episode_id)
    ticks = grid_ticks(start, end, config.fps, episode.per_second)
    if not len(ticks):
        raise LerobotNbError("the streams overlap for less than one tick")
    return ticks


def _resample(s: SourceStream, ticks: np.ndarray, config: AlignConfig, per_s: Fraction) -> _OnGrid:
    """One stream on the grid with its tolerance: explicit, or `staleness_factor` x its median period."""
    if s.kind == "numeric":
        assert s.values is not None
        res = resample(s.times, s.values, ticks, s.policy.policy)
        index, staleness, values = res.index, res.staleness, res.values
    else:
        index, staleness = pick_indices(s.times, ticks, s.policy.policy)
        values = None
    explicit = s.policy.max_staleness_s
    tolerance = (
        explicit * float(per_s) if explicit is not None else config.staleness_factor * median_period(s.times)
    )
    return _OnGrid(s, index, staleness, tolerance, values)


def _keep(on_grid: Sequence[_OnGrid], ticks: np.ndarray, config: AlignConfig, per_s: Fraction) -> _Keep:
    """Ticks every stream has a value for, outside real gaps (and within tolerance with `drop`)."""
    T = len(ticks)
    missing = np.zeros(T, bool)
    stale_any = np.zeros(T, bool)
    in_gap = np.zeros(T, bool)
    for g in on_grid:
        missing |= g.index < 0
        stale_any |= (g.index >= 0) & (g.staleness > g.tolerance)
        if config.max_gap_s is not None:
            t = g.stream.times
            for i in gaps(t, config.max_gap_s * float(per_s)):
                in_gap |= (ticks > t[i]) & (ticks < t[i + 1])
    keep = ~missing & ~in_gap
    if config.on_stale == "drop":
        keep &= ~stale_any
    if config.max_gap_s is not None and config.on_gap == "end" and in_gap.any():
        keep[int(np.argmax(in_gap)) :] = False
    kept_idx = np.flatnonzero(keep)
    pieces = np.split(kept_idx, np.flatnonzero(np.diff(kept_idx) > 1) + 1) if len(kept_idx) else []
    pieces = [p for p in pieces if len(p) >= max(1, config.min_ticks)]
    if not pieces:
        worst = max(on_grid, key=lambda g: int(g.bad.sum()))
        raise LerobotNbError(
            f"no tick of the {T}-tick grid has every stream within tolerance "
            f"({int(worst.bad.sum())} ticks fail here; raise max_staleness_s or use on_stale='flag')",
            stream=worst.stream.label,
        )
    return _Keep(keep, in_gap, pieces)


def _refine(on_grid: Sequence[_OnGrid], at: np.ndarray, rows: np.ndarray, latest_at: LatestAt) -> None:
    """Replace the numpy latest-at values of numeric `latest` streams by the server's at the kept ticks."""
    pushed = [g for g in on_grid if g.stream.kind == "numeric" and g.stream.policy.policy == "latest"]
    if not pushed:
        return
    served = latest_at([g.stream for g in pushed], at)
    for g in pushed:
        assert g.values is not None
        got = served[g.stream.label]
        if got.shape[1] != g.values.shape[1]:
            raise LerobotNbError("server latest-at returned vectors of another length", stream=g.stream.label)
        g.values[rows] = got


def _names(streams: Sequence[SourceStream]) -> dict[str, tuple[str, ...] | None]:
    """Per numeric feature key: the names of its concatenated dimensions."""
    out: dict[str, tuple[str, ...] | None] = {}
    for key in dict.fromkeys(s.key for s in streams if s.kind == "numeric"):
        parts = [s for s in streams if s.key == key]
        out[key] = feature_names([(s.entity, _width(s), s.names) for s in parts])
    return out


def _width(s: SourceStream) -> int:
    assert s.values is not None
    return int(s.values.shape[1])


def _as_source_dtype(values: np.ndarray, dtype: str | None) -> np.ndarray:
    """`values` in the stream's own dtype when they fit it exactly (float32 stays float32; an
    integer or bool stream stays one unless interpolation made fractions), else float64."""
    if dtype is None or np.dtype(dtype) == values.dtype:
        return values
    target = np.dtype(dtype)
    if target.kind == "f":
        return values.astype(target)
    if target.kind in "iub" and np.isfinite(values).all() and (values == np.round(values)).all():
        return values.astype(target)
    return values


def _accounted(n: int, piece: np.ndarray, kept: _Keep, T: int) -> np.ndarray:
    """The grid ticks piece `n` accounts for in the report: its own and the dropped ones before it
    (after the previous piece), plus the trailing ones for the last piece, so every dropped tick is
    counted once; gap ticks are not drops. The whole grid when the episode is not split."""
    if len(kept.pieces) == 1:
        return np.ones(T, bool)
    lo = kept.pieces[n - 1][-1] + 1 if n else 0
    hi = piece[-1] + 1 if n < len(kept.pieces) - 1 else T
    span = np.zeros(T, bool)
    span[lo:hi] = True
    return span & ~kept.in_gap


@dataclass(frozen=True)
class _Piece:
    """Where one piece lies on the grid: its ticks, the ticks it accounts for, the dropped ones."""

    id: str
    ticks: np.ndarray  # indices into the grid
    span: np.ndarray  # bool per grid tick: accounted to this piece in the report
    dropped: np.ndarray  # grid indices of its dropped ticks
    t0: int  # the first grid tick (timeline units): the origin of report times
    per_s: float  # timeline units per second


def _stream_report(g: _OnGrid, p: _Piece, grid: np.ndarray) -> tuple[StreamTiming, StreamReport]:
    """Timing and the report row of one stream in one piece (seconds from the grid's first tick)."""
    s = g.stream
    staleness = g.staleness[p.ticks] / p.per_s
    flagged = g.staleness[p.ticks] > g.tolerance
    sample_s = (s.times - p.t0) / p.per_s
    tol_s = g.tolerance / p.per_s
    timing = StreamTiming(
        sample_s,
        staleness,
        flagged,
        (grid[p.dropped] - p.t0) / p.per_s,
        tol_s,
        (grid[p.ticks] - p.t0) / p.per_s,
    )
    row = StreamReport(
        p.id,
        s.label,
        s.column,
        s.kind,
        s.policy.policy,
        sample_s,
        tol_s,
        int(p.span.sum()),
        staleness,
        int(g.bad[p.dropped].sum()),
        int(flagged.sum()),
    )
    return timing, row


def _piece(
    n: int,
    piece: np.ndarray,
    kept: _Keep,
    on_grid: Sequence[_OnGrid],
    ticks: np.ndarray,
    tasks: np.ndarray | None,
    names: dict[str, tuple[str, ...] | None],
    config: AlignConfig,
    episode: EpisodeInput,
) -> AlignedEpisode:
    """Piece `n` as an episode: values (parts concatenated), frames, tasks, report and timing."""
    span = _accounted(n, piece, kept, len(ticks))
    p = _Piece(
        episode.episode_id if len(kept.pieces) == 1 else f"{episode.episode_id}#{n}",
        piece,
        span,
        np.flatnonzero(span & ~kept.keep),
        int(ticks[0]),
        float(episode.per_second),
    )
    reports = [_stream_report(g, p, ticks) for g in on_grid]
    parts: dict[str, list[np.ndarray]] = {}
    images: dict[str, FrameSource] = {}
    for g, (timing, _) in zip(on_grid, reports, strict=True):
        if g.stream.kind == "numeric":
            assert g.values is not None
            parts.setdefault(g.stream.key, []).append(_as_source_dtype(g.values[piece], g.stream.dtype))
        else:
            assert g.stream.frames is not None
            images[g.stream.key] = g.stream.frames(g.index[piece], not timing.flagged.any())
    return AlignedEpisode(
        episode_id=p.id,
        fps=config.fps,
        index=episode.index,
        ticks=ticks[piece],
        numeric={key: np.concatenate(values, axis=1) for key, values in parts.items()},
        images=images,
        tasks=tuple(tasks[piece]) if tasks is not None else (),
        names=names,
        report=report_frame([row for _, row in reports]),
        source=episode.source,
        timing={g.stream.label: timing for g, (timing, _) in zip(on_grid, reports, strict=True)},
    )
