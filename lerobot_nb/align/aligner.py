"""Align one episode (or every episode of a server) onto the fixed grid: the public entry points."""

from __future__ import annotations

import functools
import socket
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lerobot_nb.align.config import IMAGE_COMPONENTS, AlignConfig, ImageSpec, NumericSpec
from lerobot_nb.align.grid import episode_span, grid_ticks, units_per_second
from lerobot_nb.align.images import (
    EncodedImageFrames,
    ImageRows,
    RawImageFrames,
    VideoFrames,
    normalize_codec,
    video_keyframes,
)
from lerobot_nb.align.report import StreamReport, report_frame
from lerobot_nb.align.resample import gaps, median_period, pick_indices, resample
from lerobot_nb.columns import ColumnSpec, resolve_column
from lerobot_nb.episode import AlignedEpisode, EpisodeSkipped, FrameSource, StreamTiming
from lerobot_nb.errors import LerobotNbError
from lerobot_nb.query import (
    ColumnInfo,
    StreamRows,
    component_columns,
    index_timelines,
    read_latest_at,
    read_static,
    read_streams,
    read_times,
)

if TYPE_CHECKING:
    from rerun.catalog import DatasetEntry

    from lerobot_nb.server import RecordingServer

__all__ = ["align_episode", "align_segments", "iter_aligned"]

#: Timelines that record the order rows were logged in; used to catch timestamps that go back.
_ORDER_TIMELINES = ("log_time", "log_tick")


@dataclass
class _Catalog:
    """What the dataset offers, listed once per run."""

    columns: dict[str, ColumnInfo]
    timelines: dict[str, str]
    dataset: Any = None
    _sizes: dict[str, int] | None = None

    @classmethod
    def of(cls, dataset: DatasetEntry) -> _Catalog:
        return cls({c.name: c for c in component_columns(dataset)}, dict(index_timelines(dataset)), dataset)

    def size_bytes(self, episode: str) -> int | None:
        """The episode's stored size as the server reports it (None if it does not say)."""
        if self._sizes is None:
            self._sizes = {}
            try:
                table = self.dataset.segment_table().to_arrow_table()
                if "rerun_size_bytes" in table.column_names:
                    ids = table.column("rerun_segment_id").to_pylist()
                    self._sizes = dict(zip(ids, table.column("rerun_size_bytes").to_pylist(), strict=True))
            except Exception:  # an older server without the column: fall back to the file size
                self._sizes = {}
        size = self._sizes.get(episode)
        return int(size) if size is not None else None


@dataclass
class _Stream:
    """One stream of the episode being aligned (numeric or camera)."""

    key: str
    column: str
    kind: str  # "numeric" | "image"
    policy: str
    explicit_tolerance_s: float | None
    rows: StreamRows
    values: np.ndarray | None = None  # (N, D) for numeric streams
    image: ImageSpec | None = None
    # filled by resampling, per grid tick:
    index: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    staleness: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    grid_values: np.ndarray | None = None
    tolerance: float = float("inf")
    codec: str = ""  # video streams: PyAV codec name
    keyframes: np.ndarray | None = None  # video streams: per sample, None when unknown


# -- small helpers -------------------------------------------------------------------------------
def _where(config: AlignConfig, source: str, episode: str) -> dict[str, Any]:
    return {"file": source or None, "episode": episode}


def _describe_time(t: int, t0: int, per_s: Fraction) -> str:
    return f"{(t - t0) / float(per_s):.3f} s into the episode"


def _matrix(rows: StreamRows, key: str, per_s: Fraction) -> np.ndarray:
    """`(N, D)` float64 from a list-of-numbers column; errors for ragged or all-NaN streams."""
    values = rows.values
    if pa.types.is_null(values.type) or not (
        pa.types.is_list(values.type)
        or pa.types.is_large_list(values.type)
        or pa.types.is_fixed_size_list(values.type)
    ):
        raise LerobotNbError(f"column {rows.column} is not a list of numbers ({values.type})", stream=key)
    inner = values.type.value_type
    if not (pa.types.is_floating(inner) or pa.types.is_integer(inner) or pa.types.is_boolean(inner)):
        raise LerobotNbError(f"column {rows.column} holds {inner}, not numbers", stream=key)
    lengths = pc.list_value_length(values).to_numpy(zero_copy_only=False)
    if len(lengths) and (lengths != lengths[0]).any():
        i = int(np.argmax(lengths != lengths[0]))
        raise LerobotNbError(
            f"vector length changes from {lengths[0]} to {lengths[i]} at "
            f"{_describe_time(int(rows.times[i]), int(rows.times[0]), per_s)} (sample {i})",
            stream=key,
        )
    width = int(lengths[0]) if len(lengths) else 0
    if width == 0:
        raise LerobotNbError("every sample is an empty vector", stream=key)
    flat = pc.list_flatten(values).cast(pa.float64()).fill_null(np.nan).to_numpy(zero_copy_only=False)
    out = np.asarray(flat, dtype=np.float64).reshape(len(values), width)
    if np.isnan(out).all():
        raise LerobotNbError(f"all {len(out)} samples are NaN", stream=key)
    return out


def _steps_back(rows: StreamRows) -> np.ndarray:
    """`(i, t)` pairs where, in log order, the index time `t[i + 1]` is before `t[i]`."""
    if rows.order is None or len(rows) < 2:
        return np.empty((0, 2), np.int64)
    mask = rows.order >= 0
    t = rows.times[mask][np.argsort(rows.order[mask], kind="stable")]
    back = np.flatnonzero(np.diff(t) < 0)
    return np.stack([t[back], t[back + 1]], axis=1) if len(back) else np.empty((0, 2), np.int64)


def _check_monotonic(
    rows: StreamRows, key: str, per_s: Fraction, order_name: str | None, recheck: Callable[[], StreamRows]
) -> None:
    """Rows sorted by log order (`order_name`, e.g. log_time) must not go back on the index.

    The joint query merges rows of different entities that share a time, so a row's log time
    may be another stream's; a suspected step back is confirmed on this stream's rows alone.
    """
    if not len(_steps_back(rows)):
        return
    back = _steps_back(recheck())
    if len(back):
        t0 = int(rows.times[0])
        raise LerobotNbError(
            f"timestamps are not monotonic: in {order_name} order the sample at "
            f"{_describe_time(int(back[0, 1]), t0, per_s)} comes after the one at "
            f"{_describe_time(int(back[0, 0]), t0, per_s)} ({len(back)} step(s) back)",
            stream=key,
        )


def _first_text(values: Any) -> str | None:
    if values is None:
        return None
    if isinstance(values, list):
        values = values[0] if values else None
    return None if values is None else str(values)


def _names(
    catalog: _Catalog,
    entity: str,
    component: str,
    width: int,
    static_of: dict[str, Any],
    temporal: dict[str, StreamRows],
) -> tuple[str, ...] | None:
    """Per-dimension names of a numeric stream: `SeriesLines:names` or the component's `names`."""
    archetype = component.split(":", 1)[0]
    for col in (
        f"{entity}:SeriesLines:names",
        f"{entity}:{archetype}:names",
        f"{entity}:{archetype}:joint_names",
        f"{entity}:{archetype}:name",
    ):
        if col not in catalog.columns:
            continue
        value = static_of.get(col)
        if value is None and col in temporal and len(temporal[col]):
            value = temporal[col].values[0].as_py()
        if isinstance(value, list) and len(value) == width and all(isinstance(v, str) for v in value):
            return tuple(value)
    return None


# -- the work ------------------------------------------------------------------------------------
def align_segments(
    dataset: DatasetEntry,
    episode_id: str,
    config: AlignConfig,
    *,
    source: str = "",
    catalog: _Catalog | None = None,
) -> list[AlignedEpisode]:
    """Align one episode; dropped ticks inside it (stale beyond tolerance with `on_stale="drop"`,
    or a gap longer than `max_gap_s`) split it into pieces of consecutive grid ticks.

    Pieces of a split episode are named `<episode>#0`, `<episode>#1`, ...; an unsplit episode
    keeps its id. Every user-facing problem raises `LerobotNbError` naming file, episode, stream.
    """
    where = _where(config, source, episode_id)
    try:
        return _align(dataset, episode_id, config, source, catalog or _Catalog.of(dataset))
    except LerobotNbError as exc:
        raise exc.with_context(**where) from None


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
    """Aligned episodes one at a time (lazy), in episode order.

    With `config.on_error == "skip"`, an episode with bad input yields `EpisodeSkipped` with the
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
    catalog = _Catalog.of(dataset)
    for episode in chosen:
        source = server.source_of(episode)
        try:
            pieces = align_segments(dataset, episode, config, source=source, catalog=catalog)
        except LerobotNbError as exc:
            if config.on_error != "skip":
                raise
            yield EpisodeSkipped(episode, str(exc), source)
            continue
        yield from pieces


def _align(
    dataset: DatasetEntry, episode: str, config: AlignConfig, source: str, catalog: _Catalog
) -> list[AlignedEpisode]:
    index = config.index
    if index not in catalog.timelines:
        raise LerobotNbError(f"no timeline {index!r}; timelines: {', '.join(sorted(catalog.timelines))}")
    kind = catalog.timelines[index]
    per_s = units_per_second(index, kind, config.sequence_rate)
    names_pool = list(catalog.columns)

    def resolve(spec: ColumnSpec, key: str) -> str:
        name = resolve_column(spec, names_pool, source=source or None, episode=episode)
        if catalog.columns[name].is_static:
            raise LerobotNbError(f"column {name} is static (one value), not a stream over time", stream=key)
        return name

    numeric_specs: list[NumericSpec] = config.numeric_specs()
    image_specs: list[ImageSpec] = config.image_specs()
    wanted: dict[str, str] = {}  # column -> stream key, temporal columns to read
    for ns in numeric_specs:
        wanted[resolve(ns.column, ns.key)] = ns.key
    for im in image_specs:
        col = resolve(ColumnSpec(im.entity, IMAGE_COMPONENTS[im.kind]), im.key)
        wanted[col] = im.key
    extra_cols: list[str] = []
    static_cols: list[str] = []
    for im in image_specs:
        side = {
            "raw": ["Image:format"],
            "compressed": [],
            "video": ["VideoStream:codec", "VideoStream:is_keyframe"],
        }
        for comp in side[im.kind]:
            col = f"{im.entity}:{comp}"
            if col in catalog.columns:
                if catalog.columns[col].is_static:
                    static_cols.append(col)
                elif im.kind == "video":  # a temporal image format is fetched with the buffers
                    extra_cols.append(col)
            elif comp == "Image:format":
                raise LerobotNbError(f"raw image stream has no {col} column", stream=im.key)
    for ns in numeric_specs:
        archetype = ns.column.archetype
        for comp in (
            "SeriesLines:names",
            f"{archetype}:names",
            f"{archetype}:joint_names",
            f"{archetype}:name",
        ):
            col = f"{ns.column.entity}:{comp}"
            if col in catalog.columns and col not in wanted:
                (static_cols if catalog.columns[col].is_static else extra_cols).append(col)
    task_spec = config.task_spec()
    task_col: str | None = None
    if task_spec is not None:
        task_col = resolve_column(task_spec, names_pool, source=source or None, episode=episode)
        (static_cols if catalog.columns[task_col].is_static else extra_cols).append(task_col)
    if not wanted:
        raise LerobotNbError("nothing to align: no action, state, extra or image stream given")

    order_name = next((t for t in _ORDER_TIMELINES if t in catalog.timelines and t != index), None)
    # Encoded images of a small episode come with the rest (frames stay usable after the server
    # closes); those of a big one stay on the server until iterated (memory bounded) and only
    # their sample times come now. Numeric streams and video packets always come whole.
    lazy: set[str] = set()
    if not _fits_in_memory(catalog.size_bytes(episode), source, config.image_memory_mb):
        lazy = {
            c for c, key in wanted.items() if any(i.key == key and i.kind != "video" for i in image_specs)
        }
    formats = (
        []
        if lazy
        else [
            f"{i.entity}:Image:format"
            for i in image_specs
            if i.kind == "raw" and not catalog.columns[f"{i.entity}:Image:format"].is_static
        ]
    )
    rows = read_streams(
        dataset,
        episode,
        [c for c in wanted if c not in lazy] + [c for c in [*extra_cols, *formats] if c not in wanted],
        index,
        order_index=order_name,
    )
    rows |= {c: read_times(dataset, episode, c, index, order_index=order_name) for c in lazy}
    static_of = {c: read_static(dataset, episode, c) for c in dict.fromkeys(static_cols)}

    # -- per-stream checks and numeric matrices --------------------------------------------------
    streams: list[_Stream] = []
    for col, key in wanted.items():
        r = rows[col]
        if not len(r):
            raise LerobotNbError(f"no samples of {col} on timeline {index!r} in this episode", stream=key)
        _check_monotonic(
            r,
            key,
            per_s,
            order_name,
            functools.partial(read_times, dataset, episode, col, index, order_index=order_name),
        )
        cam = next((i for i in image_specs if i.key == key), None)
        sp = config.policy_for(key)
        s = _Stream(key, col, "image" if cam else "numeric", sp.policy, sp.max_staleness_s, r, image=cam)
        if cam is None:
            s.values = _matrix(r, key, per_s)
        elif cam.kind == "video":
            _setup_video(s, config, static_of, rows)
        streams.append(s)

    # -- grid ------------------------------------------------------------------------------------
    times = {s.key: s.rows.times for s in streams}
    start, end = episode_span(times, span_stream=config.span_stream, episode=episode)
    ticks = grid_ticks(start, end, config.fps, per_s)
    if not len(ticks):
        raise LerobotNbError("the streams overlap for less than one tick")
    T = len(ticks)
    per_s_f = float(per_s)

    # -- resample + tolerance ----------------------------------------------------------------------
    missing = np.zeros(T, bool)
    stale_any = np.zeros(T, bool)
    in_gap = np.zeros(T, bool)
    for s in streams:
        t = s.rows.times
        if s.kind == "numeric":
            assert s.values is not None
            res = resample(t, s.values, ticks, s.policy)  # type: ignore[arg-type]
            s.index, s.staleness, s.grid_values = res.index, res.staleness, res.values
        else:
            s.index, s.staleness = pick_indices(t, ticks, s.policy)  # type: ignore[arg-type]
        s.tolerance = (
            s.explicit_tolerance_s * per_s_f
            if s.explicit_tolerance_s is not None
            else config.staleness_factor * median_period(t)
        )
        missing |= s.index < 0
        stale_any |= (s.index >= 0) & (s.staleness > s.tolerance)
        if config.max_gap_s is not None:
            limit = config.max_gap_s * per_s_f
            for i in gaps(t, limit):
                in_gap |= (ticks > t[i]) & (ticks < t[i + 1])

    keep = ~missing & ~in_gap
    if config.on_stale == "drop":
        keep &= ~stale_any
    if config.max_gap_s is not None and config.on_gap == "end" and in_gap.any():
        keep[int(np.argmax(in_gap)) :] = False
    # Pieces: maximal runs of consecutive kept ticks. LeRobot stores timestamp = k / fps, so a
    # dropped tick inside a run must split it; bridging the hole would shift every later frame
    # one 1/fps step early. Leading and trailing drops only trim.
    kept_idx = np.flatnonzero(keep)
    pieces = np.split(kept_idx, np.flatnonzero(np.diff(kept_idx) > 1) + 1) if len(kept_idx) else []
    pieces = [p for p in pieces if len(p) >= max(1, config.min_ticks)]
    if not pieces:
        worst = max(streams, key=lambda s: int(((s.index < 0) | (s.staleness > s.tolerance)).sum()))
        raise LerobotNbError(
            f"no tick of the {T}-tick grid has every stream within tolerance "
            f"({int(((worst.index < 0) | (worst.staleness > worst.tolerance)).sum())} ticks fail here; "
            "raise max_staleness_s or use on_stale='flag')",
            stream=worst.key,
        )
    kept_all = np.concatenate(pieces)

    # -- server-side latest-at for numeric streams (the default policy) ------------------------------
    pushed = [s for s in streams if s.kind == "numeric" and s.policy == "latest"]
    if config.pushdown and pushed:
        served = read_latest_at(dataset, episode, [s.column for s in pushed], index, ticks[kept_all])
        for s in pushed:
            arr = served[s.column]
            lengths = pc.list_value_length(arr).to_numpy(zero_copy_only=False)
            assert s.grid_values is not None
            if (lengths != s.grid_values.shape[1]).any():
                raise LerobotNbError("server latest-at returned vectors of another length", stream=s.key)
            flat = pc.list_flatten(arr).cast(pa.float64()).fill_null(np.nan).to_numpy(zero_copy_only=False)
            s.grid_values[kept_all] = np.asarray(flat, np.float64).reshape(len(kept_all), -1)

    # -- tasks -----------------------------------------------------------------------------------
    task_per_tick = _tasks(config, task_col, static_of, rows, ticks, catalog, dataset, episode)

    # -- names, codecs -----------------------------------------------------------------------------
    names: dict[str, tuple[str, ...] | None] = {}
    for ns in numeric_specs:
        s = next(x for x in streams if x.key == ns.key)
        assert s.values is not None
        names[ns.key] = _names(
            catalog, ns.column.entity, ns.column.component, s.values.shape[1], static_of, rows
        )

    # -- report + pieces -----------------------------------------------------------------------------
    t0 = int(ticks[0])
    out: list[AlignedEpisode] = []
    for n, piece in enumerate(pieces):
        piece_id = episode if len(pieces) == 1 else f"{episode}#{n}"
        reports: list[StreamReport] = []
        timing: dict[str, StreamTiming] = {}
        numeric: dict[str, np.ndarray] = {}
        images: dict[str, FrameSource] = {}
        # The grid ticks this piece accounts for: its own ticks and the dropped ones before it
        # (after the previous piece), plus the trailing ones for the last piece, so every dropped
        # tick is counted once; gap ticks are not drops. The whole grid when not split.
        if len(pieces) > 1:
            lo = pieces[n - 1][-1] + 1 if n else 0
            hi = piece[-1] + 1 if n < len(pieces) - 1 else T
            span = np.zeros(T, bool)
            span[lo:hi] = True
            span &= ~in_gap
        else:
            span = np.ones(T, bool)
        dropped_ticks = np.flatnonzero(span & ~keep)
        for s in streams:
            st = s.staleness[piece]
            flagged = st > s.tolerance
            sample_s = (s.rows.times - t0) / per_s_f
            tol_s = s.tolerance / per_s_f
            timing[s.key] = StreamTiming(
                sample_s,
                st / per_s_f,
                flagged,
                (ticks[dropped_ticks] - t0) / per_s_f,
                tol_s,
                (ticks[piece] - t0) / per_s_f,
            )
            own_bad = (s.index[dropped_ticks] < 0) | (s.staleness[dropped_ticks] > s.tolerance)
            reports.append(
                StreamReport(
                    piece_id,
                    s.key,
                    s.column,
                    s.kind,
                    s.policy,
                    sample_s,
                    tol_s,
                    int(span.sum()),
                    st / per_s_f,
                    int(own_bad.sum()),
                    int(flagged.sum()),
                )
            )
            if s.kind == "numeric":
                assert s.grid_values is not None
                numeric[s.key] = s.grid_values[piece]
            else:
                assert s.image is not None
                images[s.key] = _frame_source(
                    s, s.index[piece], not flagged.any(), config, static_of, rows, episode, source, dataset
                )
        out.append(
            AlignedEpisode(
                episode_id=piece_id,
                fps=config.fps,
                index=index,
                ticks=ticks[piece],
                numeric=numeric,
                images=images,
                tasks=tuple(task_per_tick[piece]) if task_per_tick is not None else (),
                names=names,
                report=report_frame(reports),
                source=source,
                timing=timing,
            )
        )
    return out


def _tasks(
    config: AlignConfig,
    task_col: str | None,
    static_of: dict[str, Any],
    rows: dict[str, StreamRows],
    ticks: np.ndarray,
    catalog: _Catalog,
    dataset: DatasetEntry,
    episode: str,
) -> np.ndarray | None:
    """Task text per tick: the constant, a static TextDocument, or latest-at over a temporal one."""
    if config.task is not None:
        return np.full(len(ticks), config.task, dtype=object)
    if task_col is None:
        return None
    if catalog.columns[task_col].is_static:
        text = _first_text(static_of.get(task_col))
        if text is None:
            raise LerobotNbError("the task text is empty in this episode (pass task='...')", stream=task_col)
        return np.full(len(ticks), text, dtype=object)
    r = rows[task_col]
    if not len(r):
        # Some importers put text messages on another timeline only (ROS String has no header
        # stamp): one distinct text there is still the episode's task.
        texts: set[str] = set()
        for other in catalog.timelines:
            if other == config.index:
                continue
            o = read_streams(dataset, episode, [task_col], other)[task_col]
            texts |= {t for t in (_first_text(v) for v in o.values.to_pylist()) if t is not None}
        if len(texts) == 1:
            return np.full(len(ticks), texts.pop(), dtype=object)
        raise LerobotNbError(
            f"no task text on timeline {config.index!r}"
            + (f" ({len(texts)} different texts elsewhere)" if texts else "")
            + " (pass task='...')",
            stream=task_col,
        )
    texts_arr = np.array([_first_text(v) or "" for v in r.values.to_pylist()], dtype=object)
    idx = np.searchsorted(r.times, ticks, side="right") - 1
    # Ticks before the first task sample take the first text: the task holds for the whole episode.
    return texts_arr[np.maximum(idx, 0)]


def _fits_in_memory(size_bytes: int | None, source: str, limit_mb: float) -> bool:
    """Whether the episode (its stored size, else its file) is small enough to hold its images."""
    if size_bytes is None:
        try:
            size_bytes = Path(source).stat().st_size if source and Path(source).is_file() else None
        except OSError:
            size_bytes = None
    return size_bytes is not None and size_bytes <= limit_mb * 1e6


def _probe(url: str) -> None:
    """Raise `ConnectionError` quickly when nothing listens at the server URL's host:port."""
    parsed = urlparse(url)
    if parsed.hostname and parsed.port:
        with socket.create_connection((parsed.hostname, parsed.port), timeout=2):
            pass


def _window_fetcher(
    dataset: DatasetEntry, episode: str, index: str, columns: list[str], times: np.ndarray, key: str
) -> Callable[[int, int], dict[str, pa.Array]]:
    """`fetch(lo, hi)`: the cells of `columns` at source rows lo..hi, one server query per call."""

    url = str(getattr(getattr(dataset, "catalog", None), "url", "") or "")

    def fetch(lo: int, hi: int) -> dict[str, pa.Array]:
        try:
            _probe(url)  # a closed local server fails in ms here, not after the client's long retry
            got = read_streams(dataset, episode, columns, index, time_range=(int(times[lo]), int(times[hi])))
        except LerobotNbError:
            raise
        except Exception as exc:  # the server is gone (a `with` block ended) or unreachable
            raise LerobotNbError(
                f"cannot fetch image rows from the server ({str(exc).splitlines()[0] if str(exc) else exc!r}); "
                "iterate the frames of a large episode inside the `with RecordingServer(...)` block",
                episode=episode,
                stream=key,
            ) from None
        # Rows sharing the time of row `lo` but before it come back too: skip them.
        skip = lo - int(np.searchsorted(times, times[lo], side="left"))
        want = times[lo : hi + 1]
        out = {}
        for c in columns:
            r = got[c]
            if not np.array_equal(r.times[skip : skip + len(want)], want):
                raise LerobotNbError(
                    f"{c} rows changed on the server since the episode was aligned",
                    episode=episode,
                    stream=key,
                )
            out[c] = r.values.slice(skip, len(want))
        return out

    return fetch


def _setup_video(
    s: _Stream, config: AlignConfig, static_of: dict[str, Any], rows: dict[str, StreamRows]
) -> None:
    """Codec and keyframes of a video stream; samples before its first keyframe are left out
    (a recording that starts mid-GOP cannot decode them), which moves the stream's start."""
    assert s.image is not None
    entity = s.image.entity
    codec_col = f"{entity}:VideoStream:codec"
    raw_codec = static_of.get(codec_col)
    if raw_codec is None and codec_col in rows and len(rows[codec_col]):
        raw_codec = rows[codec_col].values[0].as_py()
    if isinstance(raw_codec, list):
        raw_codec = raw_codec[0] if raw_codec else None
    s.codec = normalize_codec(raw_codec, config.video_format)
    flags = None
    kf = rows.get(f"{entity}:VideoStream:is_keyframe")
    if kf is not None and len(kf) == len(s.rows) and np.array_equal(kf.times, s.rows.times):
        flags = np.array(
            [bool(v[0]) if isinstance(v, list) and v else bool(v) for v in kf.values.to_pylist()]
        )
    keyframes = video_keyframes(s.rows.values, s.codec, flags)
    if keyframes is not None and len(keyframes) and not keyframes[0]:
        if not keyframes.any():
            raise LerobotNbError(
                f"the {s.codec} stream has no keyframe: nothing in it can be decoded", stream=s.key
            )
        first = int(np.argmax(keyframes))
        r = s.rows
        s.rows = StreamRows(
            r.column, r.times[first:], r.values.slice(first), r.order[first:] if r.order is not None else None
        )
        keyframes = keyframes[first:]
    s.keyframes = keyframes


def _image_rows(
    dataset: DatasetEntry,
    episode: str,
    index: str,
    columns: list[str],
    rows: dict[str, StreamRows],
    s: _Stream,
) -> ImageRows:
    """The cells in memory when they were read with the episode, else fetched in windows."""
    if not pa.types.is_null(s.rows.values.type):
        arrays = {}
        for c in columns:
            r = rows[c]
            if len(r) != len(s.rows) or not np.array_equal(r.times, s.rows.times):
                raise LerobotNbError(f"{c} is not logged together with {s.column}", stream=s.key)
            arrays[c] = r.values
        return ImageRows.of(arrays)
    return ImageRows(len(s.rows), _window_fetcher(dataset, episode, index, columns, s.rows.times, s.key))


def _frame_source(
    s: _Stream,
    picks: np.ndarray,
    within_tolerance: bool,
    config: AlignConfig,
    static_of: dict[str, Any],
    rows: dict[str, StreamRows],
    episode: str,
    source: str,
    dataset: DatasetEntry,
) -> FrameSource:
    im = s.image
    assert im is not None
    where = {"stream": s.key, "episode": episode, "file": source}
    if im.kind == "raw":
        fmt_col = f"{im.entity}:Image:format"
        static_format = static_of.get(fmt_col)
        if isinstance(static_format, list):
            static_format = static_format[0] if static_format else None
        cols = [s.column] if static_format else [s.column, fmt_col]
        image_rows = _image_rows(dataset, episode, config.index, cols, rows, s)
        return RawImageFrames(
            image_rows, picks, buffer=s.column, format=fmt_col, static_format=static_format, **where
        )
    if im.kind == "compressed":
        image_rows = _image_rows(dataset, episode, config.index, [s.column], rows, s)
        return EncodedImageFrames(image_rows, picks, blob=s.column, **where)
    return VideoFrames(
        s.rows.values, picks, codec=s.codec, keyframes=s.keyframes, remuxable=within_tolerance, **where
    )
