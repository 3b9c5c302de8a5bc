"""Structure checks: info.json, path templates, files, episodes rows, index ranges, tasks, schema."""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from lerobot_nb.validate.context import (
    DEFAULT_FEATURES,
    INFO_PATH,
    LEGAL_NAME,
    TASKS_PATH,
    DatasetContext,
    check,
)
from lerobot_nb.validate.report import Finding

__all__: list[str] = []

_INT = (int,)
#: info.json field -> (allowed types, required)
_INFO_FIELDS: dict[str, tuple[tuple[type, ...], bool]] = {
    "codebase_version": ((str,), True),
    "fps": (_INT, True),
    "features": ((dict,), True),
    "total_episodes": (_INT, True),
    "total_frames": (_INT, True),
    "total_tasks": (_INT, True),
    "chunks_size": (_INT, True),
    "data_path": ((str,), True),
    "video_path": ((str, type(None)), False),
    "splits": ((dict,), True),
    "robot_type": ((str, type(None)), False),
    "data_files_size_in_mb": ((int, float), False),
    "video_files_size_in_mb": ((int, float), False),
}
_DTYPES = {
    "float16",
    "float32",
    "float64",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "bool",
    "string",
    "language",
    "image",
    "video",
}
_EPISODE_COLUMNS = (
    "episode_index",
    "tasks",
    "length",
    "data/chunk_index",
    "data/file_index",
    "dataset_from_index",
    "dataset_to_index",
    "meta/episodes/chunk_index",
    "meta/episodes/file_index",
)
_FIX = "; rewrite the dataset with a v3.0 writer (lerobot-nb convert or lerobot's converter)"


def _fail(reason: str, **where: Any) -> Finding:
    return Finding(status="fail", reason=reason, **where)


@check("structure.info")
def info_fields(ctx: DatasetContext) -> list[Finding]:
    """meta/info.json has every v3.0 field with the right type and sane values."""
    try:
        info = ctx.info
    except (ValueError, json.JSONDecodeError) as exc:
        return [
            _fail(f"info.json does not parse ({exc}); restore it from the writer's output", file=INFO_PATH)
        ]
    out = []
    for name, (types, required) in _INFO_FIELDS.items():
        if name not in info:
            if required:
                out.append(_fail(f"field `{name}` is missing{_FIX}", file=INFO_PATH))
            continue
        value = info[name]
        if not isinstance(value, types) or isinstance(value, bool):
            wanted = "/".join(t.__name__ for t in types)
            out.append(
                _fail(
                    f"field `{name}` is {type(value).__name__} {value!r}, expected {wanted}", file=INFO_PATH
                )
            )
    if out:
        return out
    if info["codebase_version"] != "v3.0":
        out.append(
            _fail(
                f"codebase_version is {info['codebase_version']!r}, expected 'v3.0' "
                "(convert older datasets with lerobot's convert_dataset_v21_to_v30)",
                file=INFO_PATH,
            )
        )
    for name in ("fps", "chunks_size"):
        if info[name] <= 0:
            out.append(_fail(f"`{name}` must be positive, is {info[name]}", file=INFO_PATH))
    for name in ("total_episodes", "total_frames", "total_tasks"):
        if info[name] < 0:
            out.append(_fail(f"`{name}` must be >= 0, is {info[name]}", file=INFO_PATH))
    features = info["features"]
    for key in DEFAULT_FEATURES:
        if key not in features:
            out.append(
                _fail(f"feature `{key}` (written by every lerobot dataset) is missing", file=INFO_PATH)
            )
    for key, feature in features.items():
        if not isinstance(feature, dict):
            out.append(_fail(f"feature `{key}` is not an object", file=INFO_PATH))
            continue
        dtype, shape = feature.get("dtype"), feature.get("shape")
        if dtype not in _DTYPES:
            out.append(_fail(f"feature `{key}` has unknown dtype {dtype!r}", file=INFO_PATH))
        if not (
            isinstance(shape, list | tuple) and shape and all(isinstance(s, int) and s > 0 for s in shape)
        ):
            out.append(
                _fail(
                    f"feature `{key}` has shape {shape!r}, expected a list of positive ints", file=INFO_PATH
                )
            )
        elif dtype in ("video", "image") and len(shape) != 3:
            out.append(
                _fail(
                    f"{dtype} feature `{key}` has shape {shape}, expected [height, width, channels]",
                    file=INFO_PATH,
                )
            )
    if any(f.get("dtype") == "video" for f in features.values() if isinstance(f, dict)) and not info.get(
        "video_path"
    ):
        out.append(_fail("the dataset has video features but no `video_path` template", file=INFO_PATH))
    return out


@check("structure.paths", requires=("structure.info",))
def path_templates(ctx: DatasetContext) -> list[Finding]:
    """data_path and video_path templates name chunk, file (and video key) and the right suffix."""
    out = []
    templates: dict[str, tuple[tuple[str, ...], str]] = {
        "data_path": (("{chunk_index", "{file_index"), ".parquet")
    }
    if ctx.video_keys:
        templates["video_path"] = (("{video_key}", "{chunk_index", "{file_index"), ".mp4")
    for name, (fields, suffix) in templates.items():
        template = str(ctx.info[name])
        missing = [f.strip("{") for f in fields if f not in template]
        if missing:
            out.append(_fail(f"`{name}` {template!r} lacks {', '.join(missing)}", file=INFO_PATH))
            continue
        try:
            example = template.format(video_key="k", chunk_index=0, file_index=0)
        except (KeyError, IndexError, ValueError) as exc:
            out.append(_fail(f"`{name}` {template!r} does not format: {exc}", file=INFO_PATH))
            continue
        if not example.endswith(suffix) or Path(example).is_absolute() or ".." in Path(example).parts:
            out.append(
                _fail(f"`{name}` {template!r} must be a relative path ending in {suffix}", file=INFO_PATH)
            )
    return out


@check("structure.feature_names", requires=("structure.info",))
def feature_names(ctx: DatasetContext) -> list[Finding]:
    """Feature names are legal: no '/', no spaces, not empty."""
    return [
        _fail(
            f"feature name {key!r} is illegal: lerobot joins nested keys with '/', use letters, digits, '.', '_', '-'",
            file=INFO_PATH,
        )
        for key in ctx.features
        if not LEGAL_NAME.match(key)
    ]


@check("structure.episodes", requires=("structure.info",))
def episodes_rows(ctx: DatasetContext) -> list[Finding]:
    """meta/episodes rows are episodes 0..N-1 in order, N = total_episodes, lengths sum to total_frames."""
    if not ctx.episode_files and ctx.info["total_episodes"] == 0:
        return [
            _fail(
                "the dataset holds no episodes (total_episodes 0, no meta/episodes files): an empty or "
                "unfinalized recording (lerobot-record stopped before finalize()); there is nothing to load",
                file="meta/episodes",
            )
        ]
    try:
        episodes = ctx.episodes
    except Exception as exc:
        return [_fail(f"episodes metadata cannot be read: {exc}", file="meta/episodes")]
    rel = str(ctx.episode_files[0].relative_to(ctx.root)) if ctx.episode_files else "meta/episodes"
    required = list(_EPISODE_COLUMNS)
    for key in ctx.video_keys:
        required += [
            f"videos/{key}/{c}" for c in ("chunk_index", "file_index", "from_timestamp", "to_timestamp")
        ]
    missing = [c for c in required if c not in episodes.columns]
    if missing:
        return [_fail(f"episodes metadata lacks columns {missing}", file=rel)]
    out = _foreign_episode_columns(ctx, episodes.columns, set(required), rel)
    nulls = [c for c in required if episodes[c].null_count()]
    if nulls:
        out.append(_fail(f"episodes metadata has empty values in {nulls}", file=rel))
    indices = episodes["episode_index"].to_list()
    for row, ep in enumerate(indices):
        if ep != row:
            out.append(
                _fail(
                    f"row {row} holds episode {ep}: episodes must be rows 0..N-1 in order (sort the rows by episode_index)",
                    file=rel,
                    episode=ep,
                )
            )
    n = len(indices)
    if n != ctx.info["total_episodes"]:
        out.append(
            _fail(f"{n} episode rows but info.json total_episodes is {ctx.info['total_episodes']}", file=rel)
        )
    total = int(episodes["length"].sum())
    if total != ctx.info["total_frames"]:
        out.append(
            _fail(
                f"episode lengths sum to {total} but info.json total_frames is {ctx.info['total_frames']}",
                file=rel,
            )
        )
    for ep, length in zip(indices, episodes["length"].to_list(), strict=True):
        if length is not None and length <= 0:
            out.append(_fail(f"episode length is {length}", file=rel, episode=ep))
    splits = ctx.info.get("splits", {})
    if isinstance(splits, dict) and "train" in splits and splits["train"] != f"0:{n}":
        out.append(_fail(f"splits.train is {splits['train']!r}, expected '0:{n}'", file=INFO_PATH))
    # each row names the meta/episodes file it sits in
    for path in ctx.episode_files:
        rel_p = str(path.relative_to(ctx.root))
        pairs = pl.read_parquet(
            path, columns=["meta/episodes/chunk_index", "meta/episodes/file_index"]
        ).unique()
        for chunk, file in pairs.iter_rows():
            expected = f"meta/episodes/chunk-{chunk:03d}/file-{file:03d}.parquet"
            if expected != rel_p:
                out.append(_fail(f"rows say they live in {expected}", file=rel_p))
    return out


def _foreign_episode_columns(
    ctx: DatasetContext, columns: list[str], known: set[str], rel: str
) -> list[Finding]:
    """Episodes-metadata columns lerobot does not write: its loader keeps and ignores them (a warning)."""
    stats = tuple(f"stats/{key}/" for key in ctx.features)
    return [
        Finding(
            status="warn",
            reason=f"column `{c}` is not one lerobot writes; lerobot 0.6.1 loads the episodes metadata and ignores it",
            file=rel,
        )
        for c in columns
        if c not in known and not c.startswith(stats)
    ]


def _stray(rel: str) -> Finding:
    """lerobot loads every `data/*/*.parquet` and `meta/episodes/*/*.parquet` it finds, so such a
    stray file joins the dataset (a failure); any other stray file it never reads (a warning)."""
    parts = PurePosixPath(rel).parts
    loaded = rel.endswith(".parquet") and (
        (len(parts) == 3 and parts[0] == "data") or (len(parts) == 4 and parts[:2] == ("meta", "episodes"))
    )
    if loaded:
        return _fail(
            "stray file: no episode references it, but lerobot loads every parquet file there, "
            "so its rows would join the dataset (delete it or fix the episodes metadata)",
            file=rel,
        )
    return Finding(
        status="warn", reason="stray file: nothing references it and lerobot never reads it", file=rel
    )


def _listed(root: Path, folder: str) -> set[str]:
    base = root / folder
    if not base.exists():
        return set()
    return {str(p.relative_to(root)) for p in base.rglob("*") if p.is_file() or p.is_symlink()}


@check("structure.files", requires=("structure.paths", "structure.episodes"))
def files(ctx: DatasetContext) -> list[Finding]:
    """Every data and video file the episodes reference exists, and no stray files lie beside them."""
    out = []
    referenced = set(ctx.referenced_data_files)
    for rel in ctx.referenced_data_files:
        if not (ctx.root / rel).is_file():
            eps = _episodes_using(ctx, "data", rel)
            out.append(_fail(f"data file is missing (referenced by episodes {eps})", file=rel))
    for key, rels in ctx.referenced_video_files.items():
        referenced.update(rels)
        for rel in rels:
            if not (ctx.root / rel).is_file():
                eps = _episodes_using(ctx, f"videos/{key}", rel)
                out.append(
                    _fail(f"video file of `{key}` is missing (referenced by episodes {eps})", file=rel)
                )
    referenced.update(str(p.relative_to(ctx.root)) for p in ctx.episode_files)
    present = _listed(ctx.root, "data") | _listed(ctx.root, "videos") | _listed(ctx.root, "images")
    present |= _listed(ctx.root, "meta/episodes")
    out.extend(_stray(rel) for rel in sorted(present - referenced))
    return out


def _episodes_using(ctx: DatasetContext, prefix: str, rel: str) -> str:
    eps = []
    for row in ctx.episode_rows():
        chunk, file = row[f"{prefix}/chunk_index"], row[f"{prefix}/file_index"]
        path = ctx.data_file(chunk, file) if prefix == "data" else ctx.video_file(prefix[7:], chunk, file)
        if path == rel:
            eps.append(row["episode_index"])
    return _ranges(eps)


def _ranges(values: list[int]) -> str:
    """[0,1,2,5] -> '0-2, 5'."""
    if not values:
        return "none"
    values = sorted(values)
    parts, start, prev = [], values[0], values[0]
    for v in [*values[1:], None]:
        if v is not None and v == prev + 1:
            prev = v
            continue
        parts.append(f"{start}-{prev}" if prev != start else f"{start}")
        if v is not None:
            start = prev = v
    return ", ".join(parts)


def _arrow_type(feature: dict[str, Any], *, fixed: bool = True) -> str:
    """The parquet/arrow type lerobot's writer produces for an info.json feature.

    `fixed=False`: the same with variable-length lists, which lerobot's loader also accepts.
    """
    dtype, shape = feature["dtype"], list(feature["shape"])
    if dtype == "image":
        return "struct<bytes: binary, path: string>"
    scalar = {
        "string": "string",
        "language": "string",
        "float64": "double",
        "float32": "float",
        "float16": "halffloat",
    }.get(dtype, dtype)
    if dtype in ("string", "language") or shape == [1]:
        return scalar
    inner = scalar
    for size in reversed(shape):
        inner = f"fixed_size_list<element: {inner}>[{size}]" if fixed else f"list<element: {inner}>"
    return inner


def _normalise(t: pa.DataType) -> str:
    if pa.types.is_large_string(t):
        return "string"
    if pa.types.is_large_binary(t):
        return "binary"
    if pa.types.is_struct(t):
        fields = ", ".join(f"{f.name}: {_normalise(f.type)}" for f in t)
        return f"struct<{fields}>"
    if pa.types.is_fixed_size_list(t):
        return f"fixed_size_list<element: {_normalise(t.value_type)}>[{t.list_size}]"
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return f"list<element: {_normalise(t.value_type)}>"
    return str(t)


def _fixed_type(feature: dict[str, Any]) -> pa.DataType:
    """The fixed-size list type lerobot's loader casts a vector feature to."""
    out = pa.type_for_alias(feature["dtype"])
    for size in reversed(list(feature["shape"])):
        out = pa.list_(out, size)
    return out


def _list_column(path: Path, rel: str, key: str, feature: dict[str, Any]) -> Finding:
    """A vector column stored as variable-length lists: a warning when every row has the declared
    shape (lerobot's loader casts it), a failure naming the first bad row when one does not."""
    column = pq.read_table(path, columns=[key]).column(key)
    shape = list(feature["shape"])
    lengths = pc.list_value_length(column).to_numpy(zero_copy_only=False)
    bad = np.flatnonzero(lengths != shape[0])
    if bad.size:
        k = int(bad[0])
        return _fail(
            f"column `{key}` is a list column whose row {k} holds {lengths[k]} values, info.json says "
            f"{shape}: lerobot cannot cast it to fixed_size_list and fails to load the dataset",
            file=rel,
        )
    try:
        column.cast(_fixed_type(feature))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        return _fail(f"column `{key}` does not cast to {feature['dtype']}{shape}: {exc}", file=rel)
    return Finding(
        status="warn",
        reason=f"column `{key}` is stored as {_arrow_type(feature, fixed=False)}; lerobot writes "
        f"{_arrow_type(feature)} but loads this too (every row holds {shape} values)",
        file=rel,
    )


@check("structure.schema", requires=("structure.paths", "structure.episodes"))
def schema(ctx: DatasetContext) -> list[Finding]:
    """Every data parquet's columns match the non-video features of info.json in dtype and shape."""
    out = []
    expected = {k: _arrow_type(f) for k, f in ctx.features.items() if f["dtype"] != "video"}
    for rel in ctx.referenced_data_files:
        if not (ctx.root / rel).is_file():
            out.append(
                Finding(status="skip", reason="data file missing (structure.files reports it)", file=rel)
            )
            continue
        try:
            parquet = pq.ParquetFile(ctx.root / rel)
        except Exception as exc:
            out.append(_fail(f"parquet file does not open ({exc}); was the writer closed?", file=rel))
            continue
        actual = {f.name: _normalise(f.type) for f in parquet.schema_arrow}
        for key, want in expected.items():
            feature = ctx.features[key]
            if key not in actual:
                out.append(
                    _fail(
                        f"column `{key}` ({want}) declared in info.json is missing: lerobot fails to load the file",
                        file=rel,
                    )
                )
            elif actual[key] == _arrow_type(feature, fixed=False) != want:
                out.append(_list_column(ctx.root / rel, rel, key, feature))
            elif actual[key] != want:
                out.append(
                    _fail(
                        f"column `{key}` is {actual[key]} but info.json says {feature['dtype']}{feature['shape']} ({want})",
                        file=rel,
                    )
                )
        for key in sorted(set(actual) - set(expected)):
            out.append(
                _fail(
                    f"column `{key}` is not declared in info.json features: lerobot's loader refuses the file "
                    "(datasets: column names don't match); declare the feature or drop the column",
                    file=rel,
                )
            )
    return out


@check("structure.episode_ranges", requires=("structure.episodes", "structure.schema"))
def episode_ranges(ctx: DatasetContext) -> list[Finding]:
    """dataset_from/to_index are contiguous, match lengths and the data rows of each episode."""
    out = []
    data = ctx.data
    expected_from = 0
    counts = dict(data.group_by("episode_index").len().iter_rows())
    for row in ctx.episode_rows():
        ep, length = row["episode_index"], row["length"]
        start, stop = row["dataset_from_index"], row["dataset_to_index"]
        rel = ctx.data_file(row["data/chunk_index"], row["data/file_index"])
        if start != expected_from:
            out.append(
                _fail(
                    f"dataset_from_index is {start}, expected {expected_from} (ranges must be contiguous)",
                    episode=ep,
                )
            )
        if stop - start != length:
            out.append(
                _fail(
                    f"dataset_to_index - dataset_from_index = {stop - start} but length is {length}",
                    episode=ep,
                )
            )
        expected_from = stop
        rows = counts.get(ep, 0)
        if rows != length:
            out.append(
                _fail(
                    f"the data holds {rows} rows of this episode, its length is {length}",
                    file=rel,
                    episode=ep,
                )
            )
            continue
        files = data.filter(pl.col("episode_index") == ep)["_file"].unique().to_list()
        if files != [rel]:
            out.append(
                _fail(f"its rows lie in {files}, the episodes metadata says {rel}", file=rel, episode=ep)
            )
    if len(data) != ctx.info["total_frames"]:
        out.append(
            _fail(
                f"the data files hold {len(data)} rows, info.json total_frames is {ctx.info['total_frames']}"
            )
        )
    unknown = sorted(set(counts) - set(ctx.episodes["episode_index"].to_list()))
    if unknown:
        out.append(_fail(f"data rows of episodes {_ranges(unknown)} have no episodes metadata row"))
    return out


@check("structure.index", requires=("structure.episode_ranges",))
def global_index(ctx: DatasetContext) -> list[Finding]:
    """`index` is 0..total-1 in row order, frame_index is 0..length-1, and index = from + frame_index."""
    out = []
    starts = {r["episode_index"]: r["dataset_from_index"] for r in ctx.episode_rows()}
    for ep, frame in ctx.data.group_by("episode_index", maintain_order=True):
        episode = int(ep[0])  # type: ignore[arg-type]
        frame_index = frame["frame_index"].to_numpy()
        bad = np.flatnonzero(frame_index != np.arange(len(frame)))
        rel = frame["_file"][0]
        if bad.size:
            k = int(bad[0])
            out.append(
                _fail(
                    f"frame_index is {frame_index[k]} at row {k} of the episode, expected {k}",
                    file=rel,
                    episode=episode,
                    frame=k,
                )
            )
            continue
        index = frame["index"].to_numpy()
        bad = np.flatnonzero(index != starts[episode] + np.arange(len(frame)))
        if bad.size:
            k = int(bad[0])
            out.append(
                _fail(
                    f"index is {index[k]}, expected {starts[episode] + k} (dataset_from_index + frame_index)",
                    file=rel,
                    episode=episode,
                    frame=k,
                )
            )
    index = ctx.data["index"].to_numpy()
    if not out and not np.array_equal(index, np.arange(len(index))):
        k = int(np.flatnonzero(index != np.arange(len(index)))[0])
        out.append(
            _fail(
                f"global index is not contiguous in row order: row {k} holds {index[k]}",
                file=ctx.data["_file"][k],
            )
        )
    return out


@check("structure.tasks", requires=("structure.episodes", "structure.schema"))
def tasks(ctx: DatasetContext) -> list[Finding]:
    """tasks.parquet lists tasks 0..T-1 once each; data task_index and episodes' tasks agree with it."""
    try:
        table = ctx.tasks
    except Exception as exc:
        return [_fail(f"tasks cannot be read: {exc}", file=TASKS_PATH)]
    out = []
    indices = table["task_index"].to_list()
    strings = table["task"].to_list()
    if sorted(indices) != list(range(len(indices))):
        out.append(
            _fail(
                f"task_index values are {_ranges(indices)}, expected 0..{len(indices) - 1} once each",
                file=TASKS_PATH,
            )
        )
    if len(set(strings)) != len(strings):
        out.append(_fail("a task string appears twice", file=TASKS_PATH))
    if len(indices) != ctx.info["total_tasks"]:
        out.append(
            _fail(
                f"{len(indices)} tasks but info.json total_tasks is {ctx.info['total_tasks']}",
                file=TASKS_PATH,
            )
        )
    by_index = dict(zip(indices, strings, strict=True))
    known = set(strings)
    for row in ctx.episode_rows():
        ep = row["episode_index"]
        listed = set(row["tasks"] or [])
        for task in sorted(listed - known):
            out.append(
                _fail(f"task {task!r} of this episode is not in tasks.parquet", file=TASKS_PATH, episode=ep)
            )
        frame = ctx.episode_data(ep)
        if frame.is_empty():
            continue
        used = frame["task_index"].to_numpy()
        missing = sorted({int(i) for i in used} - set(by_index))
        if missing:
            k = int(np.flatnonzero(np.isin(used, missing))[0])
            out.append(
                _fail(
                    f"task_index {missing} not in tasks.parquet", file=frame["_file"][0], episode=ep, frame=k
                )
            )
            continue
        in_data = {by_index[int(i)] for i in np.unique(used)}
        if in_data != listed:
            out.append(
                _fail(
                    f"the data uses tasks {sorted(in_data)} but the episodes metadata lists {sorted(listed)}",
                    file=frame["_file"][0],
                    episode=ep,
                )
            )
    return out
