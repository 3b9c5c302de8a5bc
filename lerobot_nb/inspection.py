"""What is in the recordings: episodes, columns, per-stream timing and a suggested alignment (-> polars).

Every function takes a `RecordingServer` (or a bare `rerun.catalog.DatasetEntry`) and asks the
server, so it works the same for local files and for an attached server URL:

- `list_episodes`: one row per episode: source file, size, [start, end] and duration per timeline;
- `list_columns`: one row per component column `entity:Archetype:field` with its kind and shape;
- `stream_stats`: one row per episode and stream: count, rates, first/last time, gaps, jitter
  (`stream_summary` folds it into one row per stream);
- `suggest`: which columns look like action, state, images and task, the index and an fps, as a
  `Suggestion` whose fields are `AlignConfig`'s names (so `AlignConfig(**asdict(s))` works).
"""

from __future__ import annotations

import contextlib
import io
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

import numpy as np
import polars as pl
import pyarrow as pa

from lerobot_nb.columns import DEFAULT_COMPONENT, ColumnSpec
from lerobot_nb.errors import LerobotNbError
from lerobot_nb.query import ColumnInfo, component_columns, fetch_table, index_timelines, server_error

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from rerun.catalog import DatasetEntry


__all__ = [
    "STREAM_COMPONENTS",
    "Suggestion",
    "list_columns",
    "list_episodes",
    "plot_stream_rates",
    "plot_stream_timeline",
    "stream_stats",
    "stream_summary",
    "suggest",
]

NS_PER_S = 1_000_000_000

#: The component that carries the data of each archetype: one column per entity is "the stream".
STREAM_COMPONENTS = {
    "Scalars": "scalars",
    "Image": "buffer",
    "EncodedImage": "blob",
    "VideoStream": "sample",
    "TextDocument": "text",
    "TextLog": "text",
    "Points3D": "positions",
    "Points2D": "positions",
    "Transform3D": "translation",
    "Tensor": "data",
    "DepthImage": "buffer",
}
#: Archetype -> image kind as `AlignConfig.image` spells it.
IMAGE_KINDS = {"Image": "raw", "EncodedImage": "compressed", "VideoStream": "video"}
#: Timelines the recorder or importer adds; used as index only when nothing better exists.
_BOOKKEEPING_TIMELINES = ("log_time", "log_tick", "message_log_time", "message_publish_time")
#: Preferred index timelines, best first.
_PREFERRED_INDEX = ("real_time", "ros2_timestamp", "timestamp", "time", "capture_time")
#: Path words that make a generic camera entity name (skipped when naming an image key).
_GENERIC_IMAGE_WORDS = {
    "image",
    "images",
    "compressed",
    "image_raw",
    "image_color",
    "image_rect",
    "image_rect_color",
    "color",
    "rgb",
    "camera",
    "cameras",
}

ServerLike = Any  # RecordingServer | DatasetEntry (kept loose: rerun types are optional at runtime)


# ------------------------------------------------------------------------------------------------
# access helpers
# ------------------------------------------------------------------------------------------------
def _dataset(server: ServerLike) -> DatasetEntry:
    return server.dataset if hasattr(server, "dataset") else server


def _source_files(server: ServerLike) -> dict[str, Path]:
    """Episode -> the user's file (an `.mcap` stays the `.mcap`, not its converted cache entry)."""
    recordings = getattr(server, "recordings", None) or {}
    return {ep: Path(rec.source) for ep, rec in recordings.items()}


def _file_of_url(url: str) -> Path | None:
    parsed = urlparse(url)
    return Path(unquote(parsed.path)) if parsed.scheme == "file" else None


def _where(server: ServerLike) -> str | None:
    return getattr(server, "url", None) or None


def _collect(server: ServerLike, build: Callable[[Any], Any]) -> pa.Table:
    """Run the query `build(dataset)`; when the server fails, find the episode whose data it
    cannot read (the same query per episode) and name its file."""
    dataset = _dataset(server)
    try:
        return build(dataset).to_arrow_table()
    except Exception as exc:
        first = exc
    sources = _source_files(server)
    for episode in sorted(dataset.segment_ids()):
        try:
            build(dataset.filter_segments([episode])).to_arrow_table()
        except Exception as exc:
            raise server_error(
                exc, file=str(sources.get(episode) or _where(server)), episode=episode
            ) from None
    raise server_error(first, file=_where(server)) from None


def _to_polars(table: pa.Table) -> pl.DataFrame:
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame


# ------------------------------------------------------------------------------------------------
# episodes
# ------------------------------------------------------------------------------------------------
def list_episodes(server: ServerLike) -> pl.DataFrame:
    """One row per episode, sorted by id.

    Columns: `episode`, `source` (the user's file, or the registered URL when attached to a
    server), `size_bytes` (of that file; the server's figure when it is not local), `chunks`,
    then per timeline `T`: `T_start`, `T_end` (datetime for timestamp timelines, int for
    sequence timelines) and `T_duration_s` (timestamp) or `T_steps` (sequence: end - start + 1).
    """
    dataset = _dataset(server)
    kinds = index_timelines(dataset)
    table = _to_polars(dataset.segment_table().to_arrow_table()).sort("rerun_segment_id")
    sources = _source_files(server)
    files, sizes = [], []
    for rec in table.select("rerun_segment_id", "rerun_storage_urls", "rerun_size_bytes").iter_rows():
        episode, urls, server_size = rec
        source = sources.get(episode) or (_file_of_url(urls[0]) if urls else None)
        files.append(str(source) if source is not None else (urls[0] if urls else ""))
        sizes.append(source.stat().st_size if source is not None and source.is_file() else server_size)
    columns: list[pl.Expr | pl.Series] = [
        pl.col("rerun_segment_id").alias("episode"),
        pl.Series("source", files, pl.String),
        pl.Series("size_bytes", sizes, pl.Int64),
        pl.col("rerun_num_chunks").cast(pl.Int64).alias("chunks"),
    ]
    for name, kind in sorted(kinds.items()):
        start, end = pl.col(f"{name}:start"), pl.col(f"{name}:end")
        if f"{name}:start" not in table.columns:
            continue
        columns += [start.alias(f"{name}_start"), end.alias(f"{name}_end")]
        if kind == "timestamp":
            columns.append(((end - start).dt.total_nanoseconds() / NS_PER_S).alias(f"{name}_duration_s"))
        else:
            columns.append((end - start + 1).alias(f"{name}_steps"))
    return table.select(columns)


# ------------------------------------------------------------------------------------------------
# columns
# ------------------------------------------------------------------------------------------------
def _kind(info: ColumnInfo) -> str:
    field = info.component.split(":", 1)[-1]
    if STREAM_COMPONENTS.get(info.archetype) != field:
        return "other"
    if info.archetype in IMAGE_KINDS:
        return f"image:{IMAGE_KINDS[info.archetype]}"
    if info.archetype == "Scalars":
        return "numeric"
    if info.archetype in ("TextDocument", "TextLog"):
        return "text"
    return info.archetype.lower()


def _leaf_type(dtype: pa.DataType) -> pa.DataType:
    while pa.types.is_list(dtype) or pa.types.is_large_list(dtype) or pa.types.is_fixed_size_list(dtype):
        dtype = dtype.value_type
    return dtype


def _first_values(server: ServerLike, columns: Sequence[str], n: int = 1) -> dict[str, list[Any]]:
    """The first `n` non-null cells of each column (any episode), as Python values.

    Static columns are read without an index; temporal ones on the first timeline that has them
    (a stream need not exist on every timeline, e.g. an MCAP String without header stamps).
    """
    from datafusion import col

    dataset = _dataset(server)
    out: dict[str, list[Any]] = {c: [] for c in columns}
    entities = sorted({c.split(":", 1)[0] for c in columns})
    if not entities:
        return out
    timelines = [None, _default_index(server), *sorted(index_timelines(dataset))]
    for index in dict.fromkeys(timelines):
        todo = [c for c in columns if not out[c]]
        if not todo:
            break
        names = set(dataset.filter_contents(entities).reader(index=index).schema().names)
        for c in todo:
            if c in names:

                def first_rows(d: Any, c: str = c, index: str | None = index) -> Any:
                    reader = d.filter_contents(entities).reader(index=index)
                    return reader.filter(col(c).is_not_null()).select(col(c)).limit(n)

                table = _collect(server, first_rows)
                out[c] = [cell for cell in table.column(0).to_pylist() if cell]
    return out


def _image_size_encoded(blob: Any) -> tuple[int, int] | None:
    from PIL import Image

    try:
        with Image.open(io.BytesIO(bytes(blob))) as img:
            return img.height, img.width
    except Exception:
        return None


def _video_size(samples: Sequence[Any], codec: str) -> tuple[int, int] | None:
    import av

    try:
        ctx: Any = av.CodecContext.create(codec, "r")
    except Exception:
        return None
    for sample in samples:
        with contextlib.suppress(Exception):
            for frame in ctx.decode(av.Packet(bytes(sample))):
                return frame.height, frame.width
    with contextlib.suppress(Exception):
        for frame in ctx.decode(None):
            return frame.height, frame.width
    return None


_FOURCC = {0x61766331: "h264", 0x68657631: "hevc", 0x61763031: "av1"}


def list_columns(server: ServerLike, *, shapes: bool = True) -> pl.DataFrame:
    """One row per component column (recording properties left out), sorted by name.

    Columns: `column` (`entity:Archetype:field`, the form every `--*-column` flag accepts),
    `entity`, `archetype`, `component`, `kind` (`numeric`, `text`, `image:raw`,
    `image:compressed`, `image:video`, ... or `other` for a non-data component), `dtype` (leaf
    arrow type), `static`, `length` (values per row of a numeric stream), `height`, `width`
    (pixels of an image stream). With `shapes=False` the last three stay empty (no data read).
    """
    dataset = _dataset(server)
    infos = component_columns(dataset)
    arrow = {f.name: f.type for f in dataset.schema().to_arrow()}
    length: dict[str, int] = {}
    size: dict[str, tuple[int, int]] = {}
    if shapes:
        length, size = _shapes(server, infos)
    rows = []
    for info in infos:
        dtype = arrow.get(info.name)
        rows.append(
            {
                "column": info.name,
                "entity": info.entity,
                "archetype": info.archetype,
                "component": info.component,
                "kind": _kind(info),
                "dtype": str(_leaf_type(dtype)) if dtype is not None else "",
                "static": info.is_static,
                "length": length.get(info.name),
                "height": size[info.name][0] if info.name in size else None,
                "width": size[info.name][1] if info.name in size else None,
            }
        )
    schema = {
        "column": pl.String,
        "entity": pl.String,
        "archetype": pl.String,
        "component": pl.String,
        "kind": pl.String,
        "dtype": pl.String,
        "static": pl.Boolean,
        "length": pl.Int64,
        "height": pl.Int64,
        "width": pl.Int64,
    }
    return pl.DataFrame(rows, schema=schema)


def _shapes(
    server: ServerLike, infos: Sequence[ColumnInfo]
) -> tuple[dict[str, int], dict[str, tuple[int, int]]]:
    """Vector length of numeric streams and (height, width) of image streams, from first rows."""
    by_name = {i.name: i for i in infos}
    wanted = [
        i.name for i in infos if _kind(i) in ("numeric", "image:raw", "image:compressed", "image:video")
    ]
    extra = []
    for name in wanted:
        info = by_name[name]
        if info.archetype == "Image":
            extra.append(f"{info.entity}:Image:format")
        elif info.archetype == "VideoStream":
            extra.append(f"{info.entity}:VideoStream:codec")
    firsts = _first_values(server, wanted + [e for e in extra if e in by_name], n=1)
    video_firsts = _first_values(server, [n for n in wanted if by_name[n].archetype == "VideoStream"], n=30)
    length: dict[str, int] = {}
    size: dict[str, tuple[int, int]] = {}
    for name in wanted:
        info = by_name[name]
        cells = firsts.get(name) or []
        if not cells:
            continue
        if info.archetype == "Scalars":
            length[name] = len(cells[0])
        elif info.archetype == "Image":
            fmt = (firsts.get(f"{info.entity}:Image:format") or [[None]])[0][0]
            if isinstance(fmt, dict) and fmt.get("width"):
                size[name] = (int(fmt["height"]), int(fmt["width"]))
        elif info.archetype == "EncodedImage":
            got = _image_size_encoded(cells[0][0])
            if got:
                size[name] = got
        elif info.archetype == "VideoStream":
            codec_cells = firsts.get(f"{info.entity}:VideoStream:codec") or [[0x61766331]]
            codec = _FOURCC.get(int(codec_cells[0][0] or 0x61766331), "h264")
            got = _video_size([c[0] for c in video_firsts.get(name, []) if c], codec)
            if got:
                size[name] = got
    return length, size


# ------------------------------------------------------------------------------------------------
# per-stream timing
# ------------------------------------------------------------------------------------------------
def stream_columns(server: ServerLike) -> list[ColumnInfo]:
    """The temporal data column of every entity (see `STREAM_COMPONENTS`), sorted by name."""
    out = []
    for info in component_columns(_dataset(server)):
        if not info.is_static and _kind(info) != "other":
            out.append(info)
    return out


def _stream_coverage(server: ServerLike, index: str, infos: Sequence[ColumnInfo]) -> int:
    """How many of the streams `infos` have at least one sample on timeline `index`."""
    import datafusion.functions as f
    from datafusion import col

    if not infos:
        return 0
    entities = sorted({i.entity for i in infos})
    names = set(_dataset(server).filter_contents(entities).reader(index=index).schema().names)
    present = [i.name for i in infos if i.name in names]
    if not present:
        return 0
    counts = _collect(
        server,
        lambda d: (
            d.filter_contents(entities)
            .reader(index=index)
            .aggregate([], [f.count(col(c)).alias(c) for c in present])
        ),
    )
    return sum(1 for c in present if counts.column(c)[0].as_py())


def _default_index(server: ServerLike) -> str:
    """The timeline on which the most streams have samples; ties go to the usual robot timelines
    (`real_time`, `ros2_timestamp`, ...), then timestamp before sequence, and the recorder's own
    bookkeeping timelines (`log_time`, `message_log_time`, ...) last."""
    dataset = _dataset(server)
    kinds = index_timelines(dataset)
    if not kinds:
        raise LerobotNbError("the recordings have no timeline", file=_where(server))
    if len(kinds) == 1:
        return next(iter(kinds))
    infos = [i for i in component_columns(dataset) if not i.is_static and _kind(i) != "other"]

    def preference(name: str) -> tuple[int, int, str]:
        rank = _PREFERRED_INDEX.index(name) if name in _PREFERRED_INDEX else len(_PREFERRED_INDEX)
        if name in _BOOKKEEPING_TIMELINES:
            rank = len(_PREFERRED_INDEX) + 1
        return (rank, 0 if kinds[name] == "timestamp" else 1, name)

    coverage = {name: _stream_coverage(server, name, infos) for name in kinds}
    return min(kinds, key=lambda n: (-coverage[n], preference(n)))


def _timing(times: np.ndarray, per_s: float) -> dict[str, Any]:
    """Rates and gaps of sorted sample times (`per_s` timeline units per second)."""
    n = len(times)
    out: dict[str, Any] = {"count": n}
    d = np.diff(times).astype(np.float64) / per_s
    span = float(times[-1] - times[0]) / per_s if n else 0.0
    positive = d[d > 0]
    median = float(np.median(positive)) if len(positive) else float("nan")
    out["span"] = span
    out["rate"] = (n - 1) / span if n > 1 and span > 0 else None
    out["nominal_rate"] = 1.0 / median if len(positive) else None
    out["largest_gap"] = float(d.max()) if len(d) else None
    out["jitter"] = float(np.std(d)) if len(d) > 1 else None
    # A gap is an interval longer than 1.5 periods: samples that were lost or never logged.
    out["gaps"] = int(np.sum(d > 1.5 * median)) if len(positive) else 0
    return out


def stream_stats(
    server: ServerLike, index: str | None = None, columns: Sequence[str] | None = None
) -> pl.DataFrame:
    """One row per episode and stream on timeline `index` (default: the suggested index).

    Columns: `episode`, `stream` (the column name), `entity`, `kind`, `count` (samples),
    `first`, `last` (datetime on timestamp timelines, int on sequence ones), and on a timestamp
    timeline `span_s`, `rate_hz` (effective: (count-1)/span), `nominal_hz` (1/median interval,
    robust to lost samples), `largest_gap_s`, `jitter_ms` (std of the intervals) and `gaps`
    (intervals longer than 1.5 median periods). On a sequence timeline the same figures come per
    step: `span_steps`, `rate_per_step`, `nominal_per_step`, `largest_gap_steps`, `jitter_steps`.
    Streams with no sample on `index` in an episode get `count` 0.

    `columns` narrows to these column names (`entity:Archetype:field`) or entity paths.
    One query for the whole dataset that only transfers which rows hold each stream.
    """
    from datafusion import col

    dataset = _dataset(server)
    kinds = index_timelines(dataset)
    index = index or _default_index(server)
    if index not in kinds:
        raise LerobotNbError(
            f"no timeline {index!r}; available: {', '.join(sorted(kinds))}", file=_where(server)
        )
    infos = stream_columns(server)
    if columns is not None:
        wanted = set(columns)
        infos = [i for i in infos if i.name in wanted or i.entity in wanted]
        missing = wanted - {i.name for i in infos} - {i.entity for i in infos}
        if missing:
            raise LerobotNbError(
                f"no temporal stream named {', '.join(sorted(missing))}", file=_where(server)
            )
    is_stamp = kinds[index] == "timestamp"
    per_s = float(NS_PER_S) if is_stamp else 1.0
    episodes = sorted(dataset.segment_ids())
    flags: pl.DataFrame | None = None
    if infos:
        entities = sorted({i.entity for i in infos})
        present = set(dataset.filter_contents(entities).reader(index=index).schema().names)
        projected = [col(i.name).is_not_null().alias(i.name) for i in infos if i.name in present]
        table = _collect(
            server,
            lambda d: (
                d.filter_contents(entities)
                .reader(index=index)
                .select(col("rerun_segment_id"), col(index).cast(pa.int64()).alias("__t"), *projected)
            ),
        )
        flags = _to_polars(table).filter(pl.col("__t").is_not_null())
    rows = []
    for episode in episodes:
        ep_rows = flags.filter(pl.col("rerun_segment_id") == episode) if flags is not None else None
        for info in infos:
            if ep_rows is None or info.name not in ep_rows.columns:
                times = np.empty(0, np.int64)
            else:
                times = np.sort(ep_rows.filter(pl.col(info.name))["__t"].to_numpy())
            t = _timing(times, per_s)
            row: dict[str, Any] = {
                "episode": episode,
                "stream": info.name,
                "entity": info.entity,
                "kind": _kind(info),
                "count": t["count"],
                "first": int(times[0]) if len(times) else None,
                "last": int(times[-1]) if len(times) else None,
            }
            if is_stamp:
                row.update(
                    span_s=t["span"],
                    rate_hz=t["rate"],
                    nominal_hz=t["nominal_rate"],
                    largest_gap_s=t["largest_gap"],
                    jitter_ms=t["jitter"] * 1e3 if t["jitter"] is not None else None,
                    gaps=t["gaps"],
                )
            else:
                row.update(
                    span_steps=t["span"],
                    rate_per_step=t["rate"],
                    nominal_per_step=t["nominal_rate"],
                    largest_gap_steps=t["largest_gap"],
                    jitter_steps=t["jitter"],
                    gaps=t["gaps"],
                )
            rows.append(row)
    schema: dict[str, Any] = {
        "episode": pl.String,
        "stream": pl.String,
        "entity": pl.String,
        "kind": pl.String,
        "count": pl.Int64,
        "first": pl.Int64,
        "last": pl.Int64,
    }
    unit = (
        ("span_s", "rate_hz", "nominal_hz", "largest_gap_s", "jitter_ms")
        if is_stamp
        else ("span_steps", "rate_per_step", "nominal_per_step", "largest_gap_steps", "jitter_steps")
    )
    schema.update({name: pl.Float64 for name in unit})
    schema["gaps"] = pl.Int64
    out = pl.DataFrame(rows, schema=schema)
    if is_stamp:
        out = out.with_columns(pl.col("first", "last").cast(pl.Datetime("ns")))
    return out


def stream_summary(stats: pl.DataFrame) -> pl.DataFrame:
    """`stream_stats` folded over episodes: one row per stream.

    Columns: `stream`, `kind`, `episodes` (with at least one sample), `samples` (total),
    `nominal_hz` (median over episodes) with `nominal_hz_min` / `_max`, `largest_gap_s` (worst),
    `jitter_ms` (median) and `gaps` (total); on a sequence timeline the `_per_step` / `_steps`
    names instead.
    """
    stamp = "nominal_hz" in stats.columns
    rate, gap, jitter = (
        ("nominal_hz", "largest_gap_s", "jitter_ms")
        if stamp
        else ("nominal_per_step", "largest_gap_steps", "jitter_steps")
    )
    return (
        stats.group_by("stream", "kind", maintain_order=True)
        .agg(
            (pl.col("count") > 0).sum().cast(pl.Int64).alias("episodes"),
            pl.col("count").sum().alias("samples"),
            pl.col(rate).median().alias(rate),
            pl.col(rate).min().alias(f"{rate}_min"),
            pl.col(rate).max().alias(f"{rate}_max"),
            pl.col(gap).max().alias(gap),
            pl.col(jitter).median().alias(jitter),
            pl.col("gaps").sum().alias("gaps"),
        )
        .sort("stream")
    )


# ------------------------------------------------------------------------------------------------
# suggestion
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Suggestion:
    """A starting point for `AlignConfig`: the same field names, so `AlignConfig(**asdict(s))`.

    `action_path` / `state_path` / `task_path` are entity paths (full `entity:Archetype:field`
    names when the component is not the default one, `Scalars:scalars` / `TextDocument:text`),
    or None when nothing fits; `image` holds `key:entity:kind` entries (kind raw, compressed or
    video). `fps` is the rate at which every chosen stream has fresh data: the slowest of the
    action and camera rates, rounded.
    """

    index: str
    fps: int
    action_path: str | None
    state_path: str | None
    task_path: str | None
    image: tuple[str, ...]

    def as_flags(self) -> str:
        """The same suggestion as `lerobot-nb align` / `convert` flags."""
        parts = [f"--index {self.index}", f"--fps {self.fps}"]
        for name in ("action_path", "state_path", "task_path"):
            value = getattr(self, name)
            if value:
                parts.append(f"--{name.replace('_', '-')} {value}")
        parts += [f"--image {spec}" for spec in self.image]
        return " ".join(parts)


_ACTION_WORDS = ("action", "command", "cmd", "target", "control")
_STATE_WORDS = ("state", "joint_pos", "qpos", "proprio", "position", "observation", "joint")
_TASK_WORDS = ("task", "instruction", "language", "prompt", "goal")
_NOT_STATE = ("velocity", "effort", "reward", "action", "command", "cmd")


def _score(entity: str, words: Sequence[str]) -> int:
    """Higher for earlier words; a whole path segment equal to the word counts double."""
    path = entity.lower()
    segments = path.strip("/").split("/")
    best = 0
    for rank, word in enumerate(words):
        weight = len(words) - rank
        if word in segments:
            best = max(best, 2 * weight)
        elif word in path:
            best = max(best, weight)
    return best


def _image_keys(entities: Sequence[str]) -> list[str]:
    """Short camera keys: the last non-generic path segment (`/camera/top/image/compressed` ->
    `top`); when two cameras would share a key, both use their whole path joined by `_`."""

    def clean(text: str) -> str:
        return re.sub(r"[^0-9A-Za-z_]+", "_", text).strip("_") or "camera"

    short = []
    for entity in entities:
        segments = [s for s in entity.strip("/").split("/") if s]
        meaningful = [s for s in segments if s.lower() not in _GENERIC_IMAGE_WORDS]
        short.append(clean(meaningful[-1] if meaningful else (segments[0] if segments else "camera")))
    return [
        clean(e.replace("/", "_")) if short.count(k) > 1 else k for k, e in zip(short, entities, strict=True)
    ]


def _short_path(column: str, role: str) -> str:
    """The bare entity when the column is the role's default component, else the full column."""
    spec = ColumnSpec.parse(column, role=role)
    return spec.entity if spec.component == DEFAULT_COMPONENT[role] else spec.name


def suggest(server: ServerLike, *, index: str | None = None, stats: pl.DataFrame | None = None) -> Suggestion:
    """Guess action, state, task and image columns from names and archetypes, plus index and fps.

    Only streams with samples on the index count (a static task text always counts). Names are
    matched against words like `action`/`command` and `state`/`joint_positions`; velocity and
    effort channels are never the state.
    """
    dataset = _dataset(server)
    index = index or _default_index(server)
    stats = stats if stats is not None else stream_stats(server, index=index)
    rate_col = "nominal_hz" if "nominal_hz" in stats.columns else "nominal_per_step"
    per_stream = (
        stats.filter(pl.col("count") > 0)
        .group_by("stream", "entity", "kind")
        .agg(pl.col(rate_col).median().alias("rate"), pl.col("count").sum().alias("count"))
        .sort("stream")
    )
    numeric = [r for r in per_stream.iter_rows(named=True) if r["kind"] == "numeric"]
    action = max(
        (r for r in numeric if _score(r["entity"], _ACTION_WORDS)),
        key=lambda r: (_score(r["entity"], _ACTION_WORDS), -len(r["entity"])),
        default=None,
    )
    state_pool = [
        r for r in numeric if r is not action and not any(w in r["entity"].lower() for w in _NOT_STATE)
    ]
    state = max(
        (r for r in state_pool if _score(r["entity"], _STATE_WORDS)),
        key=lambda r: (_score(r["entity"], _STATE_WORDS), -len(r["entity"])),
        default=None,
    )
    texts = [i for i in component_columns(dataset) if _kind(i) == "text"]
    live = set(per_stream["stream"].to_list())
    texts = [i for i in texts if i.is_static or i.name in live]
    task = max(texts, key=lambda i: (_score(i.entity, _TASK_WORDS), i.is_static), default=None)

    cameras = [r for r in per_stream.iter_rows(named=True) if r["kind"].startswith("image:")]
    keys = _image_keys([r["entity"] for r in cameras])
    images = [
        f"{key}:{r['entity']}:{r['kind'].split(':', 1)[1]}" for key, r in zip(keys, cameras, strict=True)
    ]
    camera_rates = [float(r["rate"]) for r in cameras if r["rate"]]
    rates = camera_rates + ([float(action["rate"])] if action and action["rate"] else [])
    if not rates and state and state["rate"]:
        rates = [float(state["rate"])]
    fps = max(1, round(min(rates))) if rates else 10
    return Suggestion(
        index=index,
        fps=fps,
        action_path=_short_path(action["stream"], "numeric") if action else None,
        state_path=_short_path(state["stream"], "numeric") if state else None,
        task_path=_short_path(task.name, "task") if task else None,
        image=tuple(images),
    )


# ------------------------------------------------------------------------------------------------
# plots
# ------------------------------------------------------------------------------------------------
def plot_stream_rates(stats: pl.DataFrame) -> Figure:
    """Bar chart: nominal rate per stream (median over episodes, whiskers = min..max)."""
    from matplotlib.figure import Figure

    rate = "nominal_hz" if "nominal_hz" in stats.columns else "nominal_per_step"
    per = (
        stats.filter(pl.col("count") > 1)
        .group_by("stream")
        .agg(
            pl.col(rate).median().alias("mid"), pl.col(rate).min().alias("lo"), pl.col(rate).max().alias("hi")
        )
        .sort("stream")
    )
    fig = Figure(figsize=(8, 0.45 * max(len(per), 2) + 1), layout="constrained")
    ax = fig.add_subplot()
    y = np.arange(len(per))
    mid = per["mid"].to_numpy()
    err = np.vstack([mid - per["lo"].to_numpy(), per["hi"].to_numpy() - mid])
    ax.barh(y, mid, xerr=err, color="tab:blue", alpha=0.8)
    ax.set_yticks(y, per["stream"].to_list())
    ax.invert_yaxis()
    ax.set_xlabel("rate (Hz)" if rate == "nominal_hz" else "samples per step")
    for yi, v in enumerate(mid):
        ax.text(float(v), yi, f" {v:.1f}", va="center")
    ax.set_title("stream rates (median over episodes)")
    return fig


def plot_stream_timeline(server: ServerLike, episode: str, index: str | None = None) -> Figure:
    """One row of tick marks per stream of `episode`: when each sample was logged, gaps visible."""
    from datafusion import col
    from matplotlib.figure import Figure

    dataset = _dataset(server)
    kinds = index_timelines(dataset)
    index = index or _default_index(server)
    if episode not in dataset.segment_ids():
        raise LerobotNbError("no such episode on the server", file=_where(server), episode=episode)
    infos = stream_columns(server)
    entities = sorted({i.entity for i in infos})
    present = set(dataset.filter_contents(entities).reader(index=index).schema().names)
    infos = [i for i in infos if i.name in present]
    file = str(_source_files(server).get(episode) or _where(server))
    table = _to_polars(
        fetch_table(
            dataset.filter_segments([episode])
            .filter_contents(entities)
            .reader(index=index)
            .select(
                col(index).cast(pa.int64()).alias("__t"),
                *[col(i.name).is_not_null().alias(i.name) for i in infos],
            ),
            file=file,
            episode=episode,
        )
    )
    table = table.filter(pl.col("__t").is_not_null())
    t0 = table["__t"].min() if len(table) else 0
    scale = float(NS_PER_S) if kinds.get(index) == "timestamp" else 1.0
    fig = Figure(figsize=(10, 0.5 * max(len(infos), 2) + 1.2), layout="constrained")
    ax = fig.add_subplot()
    events = [((table.filter(pl.col(i.name))["__t"].to_numpy() - t0) / scale) for i in infos]
    ax.eventplot(events, lineoffsets=list(range(len(infos))), linelengths=0.7, linewidths=0.6)
    ax.set_yticks(np.arange(len(infos)), [i.entity for i in infos])
    ax.invert_yaxis()
    ax.set_xlabel(f"{index} since episode start ({'s' if scale > 1 else 'steps'})")
    ax.set_title(f"samples per stream, episode {episode}")
    return fig
