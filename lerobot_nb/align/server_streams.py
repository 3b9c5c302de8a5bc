"""Read one episode's streams from a Rerun server into `SourceStream`s for the grid.

Resolves the configured paths to server columns, fetches their rows in one query (big episodes'
images stay on the server until iterated), checks monotonicity, prepares video decoding, and
builds lazy frame factories, dimension names and the task lookup.
"""

from __future__ import annotations

import functools
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lerobot_nb.align.config import IMAGE_COMPONENTS, AlignConfig, ImageSpec, NumericSpec
from lerobot_nb.align.core import EpisodeInput
from lerobot_nb.align.grid import units_per_second
from lerobot_nb.align.images import (
    EncodedImageFrames,
    ImageRows,
    RawImageFrames,
    VideoFrames,
    normalize_codec,
    video_keyframes,
)
from lerobot_nb.align.server_fetch import fits_in_memory, window_fetcher
from lerobot_nb.align.server_rows import (
    Catalog,
    check_monotonic,
    first_text,
    name_columns,
    numeric_matrix,
    recorded_names,
)
from lerobot_nb.align.sidecar import sidecar_stream
from lerobot_nb.align.streams import SourceStream, part_label
from lerobot_nb.columns import ColumnSpec, resolve_column
from lerobot_nb.episode import FrameSource
from lerobot_nb.errors import LerobotNbError
from lerobot_nb.query import (
    StreamRows,
    read_latest_at,
    read_static,
    read_streams,
    read_times,
)

if TYPE_CHECKING:
    from rerun.catalog import DatasetEntry

__all__ = ["Catalog", "server_streams"]

#: Timelines that record the order rows were logged in; used to catch timestamps that go back.
_ORDER_TIMELINES = ("log_time", "log_tick")
#: Archetype components a camera entity may carry, per image kind, in the order they are tried.
_KIND_OF_COMPONENT = {component: kind for kind, component in IMAGE_COMPONENTS.items()}


def _static_text_value(value: Any) -> Any:
    return (value[0] if value else None) if isinstance(value, list) else value


@dataclass
class _Columns:
    """The server columns one alignment reads, resolved from the config's paths."""

    numeric: list[tuple[NumericSpec, str]]  # spec, data column
    images: list[tuple[ImageSpec, str]]  # spec with kind resolved, data column ("" for files)
    side: list[str]  # temporal side columns fetched with the data (formats, codecs, names, task)
    static: list[str]  # static columns read once
    task: str | None


class _EpisodeRead:
    """One episode of one server being read for the grid (see `server_streams`)."""

    def __init__(
        self, dataset: DatasetEntry, episode: str, config: AlignConfig, source: str, catalog: Catalog
    ):
        self.dataset, self.episode, self.config, self.source, self.catalog = (
            dataset,
            episode,
            config,
            source,
            catalog,
        )
        index = config.index
        if index not in catalog.timelines:
            raise LerobotNbError(f"no timeline {index!r}; timelines: {', '.join(sorted(catalog.timelines))}")
        self.per_s = units_per_second(index, catalog.timelines[index], config.sequence_rate)
        self.columns = self._resolve()
        self.rows: dict[str, StreamRows] = {}
        self.static_of: dict[str, Any] = {}

    # -- which columns ----------------------------------------------------------------------------
    def _column(self, spec: ColumnSpec, key: str) -> str:
        name = resolve_column(spec, self.catalog.columns, source=self.source or None, episode=self.episode)
        if self.catalog.columns[name].is_static:
            raise LerobotNbError(f"column {name} is static (one value), not a stream over time", stream=key)
        return name

    def _image_kind(self, spec: ImageSpec) -> ImageSpec:
        """The camera with its kind: as given, or the image archetype its entity carries."""
        if spec.kind is not None:
            return spec
        for component, kind in _KIND_OF_COMPONENT.items():
            if f"{spec.entity}:{component}" in self.catalog.columns:
                return spec.with_kind(kind)  # type: ignore[arg-type]
        raise LerobotNbError(
            f"no image at {spec.entity} (no Image, EncodedImage or VideoStream there; list all with "
            "`lerobot-nb inspect PATH --columns`)",
            stream=spec.key,
        )

    def _resolve(self) -> _Columns:
        numeric = [(ns, self._column(ns.column, ns.key)) for ns in self.config.numeric_specs()]
        images: list[tuple[ImageSpec, str]] = []
        for given in self.config.image_specs():
            if given.kind == "file":
                images.append((given, ""))
                continue
            im = self._image_kind(given)
            images.append((im, self._column(ColumnSpec(im.entity, IMAGE_COMPONENTS[im.kind]), im.key)))  # type: ignore[index]
        side, static = self._side_columns(numeric, images)
        task = None
        task_spec = self.config.task_spec()
        if task_spec is not None:
            task = resolve_column(
                task_spec, self.catalog.columns, source=self.source or None, episode=self.episode
            )
            (static if self.catalog.columns[task].is_static else side).append(task)
        return _Columns(numeric, images, side, static, task)

    def _side_columns(
        self, numeric: list[tuple[NumericSpec, str]], images: list[tuple[ImageSpec, str]]
    ) -> tuple[list[str], list[str]]:
        """Formats and codecs of cameras, names of numeric streams: temporal ones and static ones."""
        side: list[str] = []
        static: list[str] = []
        wanted = {c for _, c in numeric} | {c for _, c in images}
        comps = {
            "raw": ["Image:format"],
            "compressed": [],
            "video": ["VideoStream:codec", "VideoStream:is_keyframe"],
        }
        for im, _ in images:
            for comp in comps.get(str(im.kind), []):
                col = f"{im.entity}:{comp}"
                if col in self.catalog.columns:
                    if self.catalog.columns[col].is_static:
                        static.append(col)
                    elif im.kind == "video":  # a temporal image format is fetched with the buffers
                        side.append(col)
                elif comp == "Image:format":
                    raise LerobotNbError(f"raw image stream has no {col} column", stream=im.key)
        for ns, _ in numeric:
            for col in name_columns(ns.column.entity, ns.column.archetype):
                if col in self.catalog.columns and col not in wanted:
                    (static if self.catalog.columns[col].is_static else side).append(col)
        return side, static

    # -- fetching ---------------------------------------------------------------------------------
    def fetch(self) -> None:
        """Every needed row in one query; the encoded images of a big episode stay on the server
        (only their times come now), so memory stays bounded; video packets always come whole."""
        cols, index = self.columns, self.config.index
        lazy: set[str] = set()
        if not fits_in_memory(
            self.catalog.size_bytes(self.episode), self.source, self.config.image_memory_mb
        ):
            lazy = {c for im, c in cols.images if im.kind in ("raw", "compressed")}
        formats = [
            f"{im.entity}:Image:format"
            for im, _ in cols.images
            if not lazy
            and im.kind == "raw"
            and not self.catalog.columns[f"{im.entity}:Image:format"].is_static
        ]
        data = [c for _, c in cols.numeric] + [c for _, c in cols.images if c]
        order = self.order_timeline
        wanted = [c for c in dict.fromkeys(data) if c not in lazy]
        extra = [c for c in dict.fromkeys([*cols.side, *formats]) if c not in data]
        self.rows = read_streams(self.dataset, self.episode, wanted + extra, index, order_index=order)
        self.rows |= {c: read_times(self.dataset, self.episode, c, index, order_index=order) for c in lazy}
        self.static_of = {c: read_static(self.dataset, self.episode, c) for c in dict.fromkeys(cols.static)}

    @property
    def order_timeline(self) -> str | None:
        return next(
            (t for t in _ORDER_TIMELINES if t in self.catalog.timelines and t != self.config.index), None
        )

    def _checked_rows(self, column: str, key: str) -> StreamRows:
        r = self.rows[column]
        if not len(r):
            raise LerobotNbError(
                f"no samples of {column} on timeline {self.config.index!r} in this episode", stream=key
            )
        recheck = functools.partial(
            read_times, self.dataset, self.episode, column, self.config.index, order_index=self.order_timeline
        )
        check_monotonic(r, key, self.per_s, self.order_timeline, recheck)
        return r

    # -- streams ----------------------------------------------------------------------------------
    def streams(self) -> list[SourceStream]:
        """Numeric streams (in feature order, parts in order) then cameras, as the config lists them."""
        out: list[SourceStream] = []
        parts = Counter(ns.key for ns, _ in self.columns.numeric)
        for ns, column in self.columns.numeric:
            r = self._checked_rows(column, ns.key)
            values = numeric_matrix(r, ns.key, self.per_s)
            names = recorded_names(
                self.catalog,
                ns.column.entity,
                ns.column.component,
                values.shape[1],
                self.static_of,
                self.rows,
            )
            out.append(
                SourceStream(
                    ns.key,
                    part_label(ns.key, ns.column.entity, parts[ns.key]),
                    column,
                    "numeric",
                    self.config.policy_for(ns.key),
                    r.times,
                    values,
                    names,
                    ns.column.entity,
                )
            )
        for im, column in self.columns.images:
            out.append(self._camera(im, column))
        return out

    def _camera(self, im: ImageSpec, column: str) -> SourceStream:
        policy = self.config.policy_for(im.key)
        if im.kind == "file":
            start = self.catalog.index_start(self.episode, self.config.index)
            return sidecar_stream(
                im, policy, recording=self.source, episode=self.episode, start=start, per_s=self.per_s
            )
        r = self._checked_rows(column, im.key)
        codec, keyframes = "", None
        if im.kind == "video":
            r, codec, keyframes = self._video_rows(im, r)
        factory = functools.partial(self._frames, im, column, r, codec, keyframes)
        return SourceStream(
            im.key, im.key, column, "image", policy, r.times, entity=im.entity, frames=factory
        )

    def _video_rows(self, im: ImageSpec, r: StreamRows) -> tuple[StreamRows, str, np.ndarray | None]:
        """Codec and keyframes of a video stream; samples before its first keyframe are left out
        (a recording that starts mid-GOP cannot decode them), which moves the stream's start."""
        codec_col = f"{im.entity}:VideoStream:codec"
        raw_codec = self.static_of.get(codec_col)
        if raw_codec is None and codec_col in self.rows and len(self.rows[codec_col]):
            raw_codec = self.rows[codec_col].values[0].as_py()
        codec = normalize_codec(_static_text_value(raw_codec), self.config.video_format)
        flags = None
        kf = self.rows.get(f"{im.entity}:VideoStream:is_keyframe")
        if kf is not None and len(kf) == len(r) and np.array_equal(kf.times, r.times):
            flags = np.array(
                [bool(v[0]) if isinstance(v, list) and v else bool(v) for v in kf.values.to_pylist()]
            )
        keyframes = video_keyframes(r.values, codec, flags)
        if keyframes is not None and len(keyframes) and not keyframes[0]:
            if not keyframes.any():
                raise LerobotNbError(
                    f"the {codec} stream has no keyframe: nothing in it can be decoded", stream=im.key
                )
            first = int(np.argmax(keyframes))
            order = r.order[first:] if r.order is not None else None
            r = StreamRows(r.column, r.times[first:], r.values.slice(first), order)
            keyframes = keyframes[first:]
        return r, codec, keyframes

    def _image_rows(self, columns: list[str], r: StreamRows, key: str) -> ImageRows:
        """The cells in memory when they were read with the episode, else fetched in windows."""
        if not pa.types.is_null(r.values.type):
            arrays = {}
            for c in columns:
                other = self.rows[c]
                if len(other) != len(r) or not np.array_equal(other.times, r.times):
                    raise LerobotNbError(f"{c} is not logged together with {r.column}", stream=key)
                arrays[c] = other.values
            return ImageRows.of(arrays)
        fetch = window_fetcher(self.dataset, self.episode, self.config.index, columns, r.times, key)
        return ImageRows(len(r), fetch)

    def _frames(
        self,
        im: ImageSpec,
        column: str,
        r: StreamRows,
        codec: str,
        keyframes: np.ndarray | None,
        picks: np.ndarray,
        remuxable: bool,
    ) -> FrameSource:
        where = {"stream": im.key, "episode": self.episode, "file": self.source}
        if im.kind == "raw":
            fmt_col = f"{im.entity}:Image:format"
            static_format = _static_text_value(self.static_of.get(fmt_col))
            cols = [column] if static_format else [column, fmt_col]
            rows = self._image_rows(cols, r, im.key)
            return RawImageFrames(
                rows, picks, buffer=column, format=fmt_col, static_format=static_format, **where
            )
        if im.kind == "compressed":
            return EncodedImageFrames(self._image_rows([column], r, im.key), picks, blob=column, **where)
        return VideoFrames(r.values, picks, codec=codec, keyframes=keyframes, remuxable=remuxable, **where)

    # -- tasks and server latest-at ---------------------------------------------------------------
    def tasks(self, ticks: np.ndarray) -> np.ndarray | None:
        """Task text per tick: the constant, a static TextDocument, or latest-at over a temporal one."""
        config, task_col = self.config, self.columns.task
        if config.task is not None:
            return np.full(len(ticks), config.task, dtype=object)
        if task_col is None:
            return None
        if self.catalog.columns[task_col].is_static:
            text = first_text(self.static_of.get(task_col))
            if text is None:
                raise LerobotNbError(
                    "the task text is empty in this episode (pass task='...')", stream=task_col
                )
            return np.full(len(ticks), text, dtype=object)
        r = self.rows[task_col]
        if not len(r):
            return np.full(len(ticks), self._task_elsewhere(task_col), dtype=object)
        texts = np.array([first_text(v) or "" for v in r.values.to_pylist()], dtype=object)
        idx = np.searchsorted(r.times, ticks, side="right") - 1
        # Ticks before the first task sample take the first text: the task holds for the whole episode.
        return texts[np.maximum(idx, 0)]

    def _task_elsewhere(self, task_col: str) -> str:
        """Some importers put text messages on another timeline only (ROS String has no header
        stamp): one distinct text there is still the episode's task."""
        texts: set[str] = set()
        for other in self.catalog.timelines:
            if other == self.config.index:
                continue
            o = read_streams(self.dataset, self.episode, [task_col], other)[task_col]
            texts |= {t for t in (first_text(v) for v in o.values.to_pylist()) if t is not None}
        if len(texts) == 1:
            return texts.pop()
        elsewhere = f" ({len(texts)} different texts elsewhere)" if texts else ""
        raise LerobotNbError(
            f"no task text on timeline {self.config.index!r}{elsewhere} (pass task='...')", stream=task_col
        )

    def latest_at(self, streams: list[SourceStream], at: np.ndarray) -> dict[str, np.ndarray]:
        """The server's own latest-at of `streams` at `at` (same values as numpy's, tested)."""
        served = read_latest_at(
            self.dataset, self.episode, [s.column for s in streams], self.config.index, at
        )
        out: dict[str, np.ndarray] = {}
        for s in streams:
            arr = served[s.column]
            assert s.values is not None
            lengths = pc.list_value_length(arr).to_numpy(zero_copy_only=False)
            if (lengths != s.values.shape[1]).any():
                raise LerobotNbError("server latest-at returned vectors of another length", stream=s.label)
            flat = pc.list_flatten(arr).cast(pa.float64()).fill_null(np.nan).to_numpy(zero_copy_only=False)
            out[s.label] = np.asarray(flat, np.float64).reshape(len(at), -1)
        return out


def server_streams(
    dataset: DatasetEntry,
    episode: str,
    config: AlignConfig,
    *,
    source: str = "",
    catalog: Catalog | None = None,
) -> tuple[list[SourceStream], EpisodeInput]:
    """The episode's streams as the grid needs them, and what else it needs to know about the episode."""
    read = _EpisodeRead(dataset, episode, config, source, catalog or Catalog.of(dataset))
    if not read.columns.numeric and not read.columns.images:
        raise LerobotNbError("nothing to align: no action, state, extra or image stream given")
    read.fetch()
    streams = read.streams()
    info = EpisodeInput(
        episode, config.index, read.per_s, source, read.tasks, read.latest_at if config.pushdown else None
    )
    return streams, info
