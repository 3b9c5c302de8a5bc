"""Write a new LeRobot v3.0 dataset from an edit plan: rows re-indexed, videos packet-copied, stats exact.

Per output episode, in order: its kept rows become one parquet row group with lerobot's five
bookkeeping columns rebuilt (`timestamp = frame_index / fps` re-based, global `index`, tasks
renumbered into one `tasks.parquet`); each camera's GOPs that cover the kept frames are copied
into the new video files (`video.py`); per-episode stats are the stored ones for whole episodes
and recomputed for cut ones; `stats.json` folds them in output order exactly like the streaming
writer (`export/writer.py`), so shards merged here equal one inline export bit for bit. The
dataset is built beside the output, validated, then published atomically; inputs are only read.
"""

from __future__ import annotations

import contextlib
import functools
import io
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import av
import numpy as np
import pyarrow as pa

from lerobot_nb.dataset.config import RewriteConfig
from lerobot_nb.dataset.plan import EditPlan, OutputLayout, ResolvedEdit, merged_layout, resolve
from lerobot_nb.dataset.summary import RewriteSummary
from lerobot_nb.dataset.video import PacketIndex, PacketReader, copy_cut, plan_cut
from lerobot_nb.errors import LerobotNbError
from lerobot_nb.export.parquet import (
    META_LOCATION,
    RollingParquet,
    bookkeeping_columns,
    bookkeeping_stats,
)
from lerobot_nb.export.publish import check_output, new_build_dir, publish, remove_stale_builds, write_error
from lerobot_nb.export.video import VideoTrack
from lerobot_nb.lerobot_v3.dataset import TEXT_DTYPES, SourceDataset, feature_array
from lerobot_nb.lerobot_v3.layout import (
    DATA_PATH,
    DEFAULT_FEATURES,
    EPISODES_PATH,
    INFO_PATH,
    SOURCES_PATH,
    STATS_PATH,
    TASKS_PATH,
    data_schema,
    episodes_schema,
    info_json,
    write_json_atomic,
)
from lerobot_nb.lerobot_v3.tasks import TaskTable
from lerobot_nb.stats import (
    STAT_NAMES,
    FeatureStats,
    aggregate_stats,
    image_stats,
    numeric_stats,
    sample_frame_indices,
    stats_to_json,
)

__all__ = ["ColumnTransform", "rewrite_dataset"]

_META_BATCH = 10  # episode metadata rows per parquet row group, as lerobot buffers them
_MB = 1024 * 1024


class ColumnTransform(Protocol):
    """Changes the non-video columns of every output episode, e.g. `prepare`'s new state/action.

    `features` gives the output features (info.json entries, video ones included) of one
    source's episodes: sources with different features merge when they map to the same ones
    (video features left out are not copied). `apply` gets an output episode's kept rows and
    returns them with those columns (cameras are still copied from the source videos). Features
    in `changed` get their stats recomputed from the new values; every other whole-episode stat
    is reused. `write_meta` adds its own files to the new dataset (its folder `root`), after the
    engine's metadata and before validation, so they are published with it or not at all.
    """

    changed: frozenset[str]

    def features(self, source: SourceDataset) -> dict[str, dict[str, Any]]:
        """Output features (info.json entries, video ones included) for the episodes of `source`."""

    def apply(self, edit: ResolvedEdit, rows: pa.Table) -> pa.Table:
        """The kept rows of output episode `edit` with the changed columns; same row count and order."""

    def write_meta(self, root: Path) -> None:
        """Write the transform's own files into the new dataset folder `root` (before validation)."""


def rewrite_dataset(
    plan: EditPlan,
    config: RewriteConfig,
    *,
    sources: Sequence[SourceDataset] | None = None,
    transform: ColumnTransform | None = None,
) -> RewriteSummary:
    """Write the plan's episodes as a new dataset at `config.output` (validated, then published).

    `sources` are the plan's datasets already opened (else they are opened here); `transform`
    rewrites columns on the way. Raises LerobotNbError for a bad plan or input before anything
    is written; on any failure the output path is untouched and the build folder removed.
    """
    started = time.perf_counter()
    if not config.output:
        raise LerobotNbError("no output folder given")
    opened = list(sources) if sources is not None else [SourceDataset(p) for p in plan.sources]
    layout = merged_layout(opened, transform.features if transform is not None else None)
    edits = resolve(plan, opened)
    for src in opened:
        src.check_files(sorted({e.episode for e in edits if e.source is src}))
    output = Path(config.output).expanduser().absolute()
    _check_not_in_place(output, opened, overwrite=config.overwrite)
    remove_stale_builds(output)
    build = new_build_dir(output)
    summary = RewriteSummary(output)
    writer = _Writer(build, layout, config, transform=transform)
    try:
        writer.open()
        for edit in _progress(edits, config.progress):
            summary.rows.append(writer.add(edit))
        writer.close()
        writer.write_meta()
        if transform is not None:
            transform.write_meta(build)
        summary.seconds = time.perf_counter() - started
        if config.validate != "off":
            summary.report = _validated(build, output, quick=config.validate == "quick")
            summary.validate_seconds = time.perf_counter() - started - summary.seconds
        publish(build, output)
    except OSError as exc:
        writer.abort()
        shutil.rmtree(build, ignore_errors=True)
        raise write_error(exc, build, output) from None
    except BaseException:
        writer.abort()
        shutil.rmtree(build, ignore_errors=True)
        raise
    return summary


def _check_not_in_place(output: Path, sources: Sequence[SourceDataset], *, overwrite: bool) -> None:
    """The output is a new folder: never an input, inside one, or a folder holding one."""
    resolved = output.resolve()
    for src in sources:
        root = src.root.resolve()
        if resolved == root:
            raise LerobotNbError(
                "the output is the input dataset; edits are written to a new dataset (choose another "
                "--output)",
                file=output,
            )
        if resolved in root.parents:
            raise LerobotNbError(f"the input dataset {root} is inside the output folder", file=output)
        if root in resolved.parents:
            raise LerobotNbError(
                f"the output is inside the input dataset {root}; write the new dataset elsewhere", file=output
            )
    if not overwrite and output.is_dir() and any(output.iterdir()):
        raise LerobotNbError("the output exists; pass --overwrite to replace it", file=output)
    check_output(output, overwrite=overwrite, resume=False, inputs=[s.root for s in sources])


def _progress(edits: list[ResolvedEdit], enabled: bool) -> Any:
    if not enabled:
        return edits
    from tqdm.auto import tqdm

    return tqdm(edits, desc="episodes", unit="ep")


def _validated(build: Path, output: Path, *, quick: bool) -> Any:
    from lerobot_nb.validate import ValidateConfig, validate

    report = validate(build, config=ValidateConfig(video=not quick, training=not quick))
    if not report.ok:
        failed = report.table.filter(report.table["status"] == "fail").row(0, named=True)
        raise LerobotNbError(
            f"the new dataset fails validation ({', '.join(sorted(report.failed))}: {failed['reason']}); "
            "nothing was published",
            file=output,
        )
    return report


@dataclass
class _Writer:
    """The dataset under construction in `root` (the build folder)."""

    root: Path
    layout: OutputLayout
    config: RewriteConfig
    tasks: TaskTable = field(default_factory=TaskTable)
    stats: dict[str, FeatureStats] = field(default_factory=dict)
    recordings: dict[str, int] = field(default_factory=dict)
    total_episodes: int = 0
    total_frames: int = 0
    data: RollingParquet | None = None
    meta: RollingParquet | None = None
    tracks: dict[str, VideoTrack] = field(default_factory=dict)
    meta_rows: list[dict[str, Any]] = field(default_factory=list)
    indexes: dict[Path, PacketIndex] = field(default_factory=dict)
    readers: dict[Path, PacketReader] = field(default_factory=dict)
    #: features of the current episode whose stored stats were impossible and were recomputed
    repaired: set[str] = field(default_factory=set)
    transform: ColumnTransform | None = None

    @property
    def changed(self) -> frozenset[str]:
        return self.transform.changed if self.transform is not None else frozenset()

    @property
    def features(self) -> dict[str, dict[str, Any]]:
        return self.layout.features

    @property
    def chunks_size(self) -> int:
        return self.config.chunks_size or self.layout.chunks_size

    @property
    def data_mb(self) -> float:
        return self.config.data_files_size_in_mb or self.layout.data_files_size_in_mb

    @property
    def video_mb(self) -> float:
        return self.config.video_files_size_in_mb or self.layout.video_files_size_in_mb

    def open(self) -> None:
        try:
            schema = data_schema(self.features)
        except ValueError as exc:
            raise LerobotNbError(f"a feature cannot be rewritten: {exc}") from None
        self.data = RollingParquet(self.root, DATA_PATH, schema, self.data_mb * _MB, self.chunks_size)
        self.meta = RollingParquet(
            self.root, EPISODES_PATH, episodes_schema(self.features), self.data_mb * _MB, self.chunks_size
        )
        for key, feature in self.features.items():
            if feature["dtype"] == "video":
                self.tracks[key] = VideoTrack(
                    self.root, key, fps=self.layout.fps, chunks_size=self.chunks_size, max_mb=self.video_mb
                )

    # -- one episode -------------------------------------------------------------------------
    def add(self, edit: ResolvedEdit) -> dict[str, object]:
        """Write one output episode (rows, videos, metadata row); returns its summary row."""
        assert self.data is not None
        src, n, fps = edit.source, edit.length, self.layout.fps
        rows = src.rows(edit.episode).slice(edit.start, n)
        if self.transform is not None:
            rows = self.transform.apply(edit, rows)
        tasks = [edit.task] * n if edit.task is not None else src.frame_tasks(rows)
        columns = bookkeeping_columns(
            n,
            fps,
            episode_index=self.total_episodes,
            from_index=self.total_frames,
            task_index=self.tasks.indices(tasks),
        )
        chunk, file = self.data.write(self._table(edit, rows, columns))
        row: dict[str, Any] = {
            "episode_index": self.total_episodes,
            "tasks": list(dict.fromkeys(tasks)),
            "length": n,
            "data/chunk_index": chunk,
            "data/file_index": file,
            "dataset_from_index": self.total_frames,
            "dataset_to_index": self.total_frames + n,
        }
        self.repaired.clear()
        stats = {**self._feature_stats(edit, rows), **bookkeeping_stats(columns, fps)}
        lead = 0
        for key in self.tracks:
            lead = max(lead, self._copy_video(edit, key, row, stats))
        self._finish(row, stats)
        recording = self._record(edit)
        self.total_episodes += 1
        self.total_frames += n
        return {
            "episode_index": row["episode_index"],
            "source": str(src.root),
            "source_episode": edit.episode,
            "recording": recording,
            "start": edit.start,
            "end": edit.end,
            "frames": n,
            "stats": _stats_status(edit, self.repaired, transformed=bool(self.changed)),
            "lead_frames": lead,
        }

    def _table(self, edit: ResolvedEdit, rows: pa.Table, columns: dict[str, np.ndarray]) -> pa.Table:
        assert self.data is not None
        arrays = []
        for f in self.data.schema:
            if f.name in columns:
                arrays.append(pa.array(columns[f.name], type=f.type))
                continue
            try:
                arrays.append(rows.column(f.name).cast(f.type))
            except (KeyError, pa.ArrowException) as exc:
                raise LerobotNbError(
                    f"feature {f.name} cannot be stored as {f.type} ({type(exc).__name__}: {exc})",
                    file=edit.source.data_path(edit.episode),
                    episode=str(edit.episode),
                ) from None
        return pa.Table.from_arrays(arrays, schema=self.data.schema)

    def _feature_stats(self, edit: ResolvedEdit, rows: pa.Table) -> dict[str, FeatureStats]:
        """Stats of every non-video feature: stored ones for a whole episode, else recomputed."""
        out: dict[str, FeatureStats] = {}
        for key, feature in self.features.items():
            if key in DEFAULT_FEATURES or feature["dtype"] in ("video", *TEXT_DTYPES):
                continue
            stored = self._stored(edit, key) if key not in self.changed else None
            if stored is not None:
                out[key] = as_computed(stored, feature)
            elif feature["dtype"] == "image":
                out[key] = image_stats(_png_frames(rows.column(key)), presampled=True)
            else:
                out[key] = numeric_stats(feature_array(rows.column(key)))
        return out

    def _copy_video(
        self, edit: ResolvedEdit, key: str, row: dict[str, Any], stats: dict[str, FeatureStats]
    ) -> int:
        """Copy one camera's frames of the episode; fills the row's video columns and the stats."""
        segment = edit.source.video(edit.episode, key)
        fps = self.layout.fps
        try:
            index = self._index(segment.path)
            cut = plan_cut(index, segment.from_timestamp + edit.start / fps, edit.length, fps)
            stored = self._stored(edit, key)
            keep = frozenset() if stored is not None else frozenset(sample_frame_indices(edit.length))
            place, frames = copy_cut(self._reader(segment.path), cut, self.tracks[key], fps=fps, keep=keep)
        except LerobotNbError as exc:
            raise exc.with_context(file=segment.path, episode=str(edit.episode), stream=key) from None
        except (ValueError, av.FFmpegError) as exc:
            raise LerobotNbError(
                f"the video could not be copied ({exc})",
                file=segment.path,
                episode=str(edit.episode),
                stream=key,
            ) from None
        row[f"videos/{key}/chunk_index"] = place.chunk
        row[f"videos/{key}/file_index"] = place.file
        row[f"videos/{key}/from_timestamp"] = place.from_frame / fps
        row[f"videos/{key}/to_timestamp"] = (place.from_frame + edit.length) / fps
        if stored is not None:
            stats[key] = as_computed(stored, self.features[key])
        else:
            stats[key] = image_stats([frames[k] for k in sample_frame_indices(edit.length)], presampled=True)
        return cut.lead

    def _stored(self, edit: ResolvedEdit, key: str) -> FeatureStats | None:
        """The source's stats of a whole episode, unless missing or impossible (then None).

        lerobot <= 0.5 squared uint8 pixels in uint8: its image std is 0 in every channel while
        min < max. Such stats are recomputed (and the episode counted as repaired).
        """
        stored = edit.source.stored_stats(edit.episode, key) if edit.whole else None
        if stored is None or self.features[key]["dtype"] not in ("video", "image"):
            return stored
        if np.all(stored["std"] == 0) and np.any(stored["max"] > stored["min"]):
            self.repaired.add(key)
            return None
        return stored

    def _index(self, path: Path) -> PacketIndex:
        if path not in self.indexes:
            self.indexes[path] = PacketIndex.read(path)
        return self.indexes[path]

    def _reader(self, path: Path) -> PacketReader:
        if path not in self.readers:
            self.readers[path] = PacketReader(path)
        return self.readers[path]

    def _finish(self, row: dict[str, Any], stats: dict[str, FeatureStats]) -> None:
        """The metadata row with its stats columns, and the dataset stats folded like the writer."""
        ordered = {k: stats[k] for k in self.features if k in stats}
        for key, feature_stats in ordered.items():
            for name in STAT_NAMES:
                row[f"stats/{key}/{name}"] = np.asarray(feature_stats[name]).tolist()
        self.meta_rows.append(row)
        if len(self.meta_rows) >= _META_BATCH:
            self.flush_meta()
        self.stats = aggregate_stats([self.stats, ordered]) if self.stats else ordered

    def _record(self, edit: ResolvedEdit) -> str | None:
        recording = edit.recording or edit.source.recording_of.get(edit.episode)
        if recording is None:
            return None
        if recording in self.recordings:
            raise LerobotNbError(
                f"recording id {recording!r} would name two output episodes ({self.recordings[recording]} "
                f"and {self.total_episodes}): merged datasets must hold different recordings, and an "
                "episode used twice needs its own recording id",
                file=edit.source.root,
                episode=str(edit.episode),
            )
        self.recordings[recording] = self.total_episodes
        return recording

    # -- the end -----------------------------------------------------------------------------
    def flush_meta(self) -> None:
        assert self.meta is not None
        if self.meta_rows:
            rows, self.meta_rows = self.meta_rows, []
            self.meta.write_rows(rows, location=META_LOCATION)

    def close(self) -> None:
        self.flush_meta()
        for writer in (self.data, self.meta, *self.tracks.values()):
            if writer is not None:
                writer.close()
        self._close_readers()

    def abort(self) -> None:
        """Release every open file after a failure (their content is thrown away)."""
        for closer in (self.data, self.meta, *self.tracks.values(), *self.readers.values()):
            if closer is not None:
                with contextlib.suppress(Exception):
                    closer.close()
        self.readers.clear()

    def _close_readers(self) -> None:
        for reader in self.readers.values():
            reader.close()
        self.readers.clear()

    def write_meta(self) -> None:
        """info.json, stats.json, tasks.parquet and the recordings sidecar."""
        info = info_json(
            fps=self.layout.fps,
            features=self.features,
            total_episodes=self.total_episodes,
            total_frames=self.total_frames,
            total_tasks=len(self.tasks),
            chunks_size=self.chunks_size,
            data_files_size_in_mb=self.data_mb,
            video_files_size_in_mb=self.video_mb,
            robot_type=self.layout.robot_type,
        )
        self.tasks.write(self.root / TASKS_PATH)
        write_json_atomic(self.root / STATS_PATH, stats_to_json(self.stats))
        if self.recordings:
            write_json_atomic(self.root / SOURCES_PATH, {"episodes": self.recordings})
        write_json_atomic(self.root / INFO_PATH, info)


def _stats_status(edit: ResolvedEdit, repaired: set[str], *, transformed: bool = False) -> str:
    if not edit.whole:
        return "recomputed"
    if repaired:
        return f"reused; recomputed {', '.join(sorted(repaired))} (uint8 overflow)"
    return "reused; transformed recomputed" if transformed else "reused"


def _png_frames(column: pa.ChunkedArray) -> list[np.ndarray]:
    """The RGB pixels of the PNG cells lerobot samples for image stats, in sample order."""
    from PIL import Image

    frames = []
    for i in sample_frame_indices(len(column)):
        with Image.open(io.BytesIO(column[i].as_py()["bytes"])) as img:
            frames.append(np.asarray(img.convert("RGB")))
    return frames


def as_computed(stored: FeatureStats, feature: dict[str, Any]) -> FeatureStats:
    """Stored (float64) stats in the dtypes the writer computed them in, so folds match bit for bit.

    The fold squares each episode's std before promoting it, so a float32 std must stay float32;
    min, max, mean and count dtypes follow the feature's dtype as in `lerobot_nb.stats`, and
    quantiles stay float64 (the fold promotes them before any arithmetic).
    """
    dtypes = _computed_dtypes(feature["dtype"], int(feature["shape"][-1]))
    return {name: value.astype(dtypes[name]) if name in dtypes else value for name, value in stored.items()}


@functools.cache
def _computed_dtypes(dtype: str, dim: int) -> dict[str, np.dtype[Any]]:
    if dtype in ("video", "image"):
        sample = image_stats([np.zeros((2, 2, 3), np.uint8)] * 2, presampled=True)
    else:
        sample = numeric_stats(np.zeros((2, dim), dtype=np.dtype(dtype)))
    return {name: sample[name].dtype for name in ("min", "max", "mean", "std", "count")}
