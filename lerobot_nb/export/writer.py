"""The streaming LeRobot v3.0 writer: aligned episodes in, a published dataset out.

Per episode, in arrival order: check it against the dataset's features, write its numeric data
as one parquet row group (then drop it), and hand each camera to a worker thread that encodes
(or remuxes) a video segment while computing image statistics. Finished episodes are appended
to the video files and the episode metadata strictly in order; at most `workers` episodes are in
flight, so memory does not grow with the number of episodes. Everything is built in a folder
beside the output and published by one atomic rename (`publish.py`).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from lerobot_nb.episode import AlignedEpisode, EpisodeSkipped, FrameSource
from lerobot_nb.errors import LerobotNbError
from lerobot_nb.export.admission import ALREADY_PRESENT, admitted_episodes
from lerobot_nb.export.config import DECODER_NAME, ExportConfig
from lerobot_nb.export.parquet import (
    META_LOCATION,
    RollingParquet,
    arrow_column,
    bookkeeping_columns,
    bookkeeping_stats,
)
from lerobot_nb.export.publish import (
    check_output,
    link_tree,
    new_build_dir,
    publish,
    remove_stale_builds,
    write_error,
)
from lerobot_nb.export.schema import IMAGE_PREFIX, FeatureSchema
from lerobot_nb.export.summary import ExportSummary, NothingWritten, Progress, dir_size
from lerobot_nb.export.video import (
    EncoderSettings,
    Segment,
    SegmentEncoder,
    VideoTrack,
    can_remux,
    remux_segment,
)
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
    next_file,
    read_json,
    video_info,
    write_json_atomic,
)
from lerobot_nb.lerobot_v3.tasks import TaskTable
from lerobot_nb.stats import (
    STAT_NAMES,
    aggregate_stats,
    image_stats,
    numeric_stats,
    stats_from_json,
    stats_to_json,
)

__all__ = ["ALREADY_PRESENT", "export_dataset", "read_sources"]

#: The reason given for a recording that --resume finds already in the dataset.
_META_BATCH = 10  # episode metadata rows per parquet row group, as lerobot buffers them


@dataclass
class _Pending:
    """An episode whose data is written and whose videos are being encoded."""

    row: dict[str, Any]
    stats: dict[str, dict[str, np.ndarray]]
    jobs: dict[str, Future[tuple[Segment, dict[str, np.ndarray]]]]
    episode_id: str
    source: str
    summary_row: dict[str, object]


@dataclass
class _Existing:
    """What --resume reads from the dataset already at the output."""

    info: dict[str, Any]
    tasks: TaskTable
    stats: dict[str, dict[str, np.ndarray]]
    sources: dict[str, int]  # recording id -> episode_index
    last: dict[str, Any]  # the last episode's metadata row


def _read_existing(output: Path) -> _Existing:
    import pandas as pd

    info = read_json(output / INFO_PATH)
    sidecar = output / SOURCES_PATH
    if not sidecar.is_file():
        raise LerobotNbError(
            f"--resume needs {SOURCES_PATH} (which recording each episode came from); "
            "this dataset was not written by lerobot_nb",
            file=output,
        )
    sources = {str(k): int(v) for k, v in read_json(sidecar)["episodes"].items()}
    files = sorted((output / "meta/episodes").rglob("*.parquet"))
    last = pd.read_parquet(files[-1]).iloc[-1].to_dict() if files else {}
    stats_path = output / STATS_PATH
    stats = stats_from_json(read_json(stats_path)) if stats_path.is_file() else {}
    return _Existing(info, TaskTable.read(output / TASKS_PATH), stats, sources, last)


@dataclass
class _Builder:
    """The dataset under construction in `root` (the build folder)."""

    root: Path
    config: ExportConfig
    schema: FeatureSchema
    tasks: TaskTable = field(default_factory=TaskTable)
    stats: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    sources: dict[str, int] = field(default_factory=dict)
    total_episodes: int = 0
    total_frames: int = 0
    data: RollingParquet | None = None
    meta: RollingParquet | None = None
    tracks: dict[str, VideoTrack] = field(default_factory=dict)
    starts: dict[str, tuple[int, int]] = field(default_factory=dict)
    meta_rows: list[dict[str, Any]] = field(default_factory=list)
    video_infos: dict[str, dict[str, Any]] = field(default_factory=dict)
    remuxed_cameras: set[str] = field(default_factory=set)

    # -- schema --------------------------------------------------------------------------------
    def resume_from(self, existing: _Existing, output: Path) -> None:
        info = existing.info
        self.schema = FeatureSchema.from_info(info)
        self.video_infos = {k: v["info"] for k, v in self.schema.features.items() if "info" in v}
        _check_same_encoding(self.video_infos, EncoderSettings.from_config(self.config), output)
        self.tasks, self.stats, self.sources = existing.tasks, existing.stats, dict(existing.sources)
        self.total_episodes, self.total_frames = int(info["total_episodes"]), int(info["total_frames"])
        last = existing.last
        # New episodes go to new files: existing files are never appended to (their content stays).
        if last:
            self.starts["data"] = next_file(
                int(last["data/chunk_index"]), int(last["data/file_index"]), self.config.chunks_size
            )
            self.starts["meta"] = next_file(
                int(last["meta/episodes/chunk_index"]),
                int(last["meta/episodes/file_index"]),
                self.config.chunks_size,
            )
            for key in self.schema.cameras:
                self.starts[key] = next_file(
                    int(last[f"videos/{key}/chunk_index"]),
                    int(last[f"videos/{key}/file_index"]),
                    self.config.chunks_size,
                )

    def open_writers(self) -> None:
        cfg = self.config
        feats = self.schema.all_features()
        mb = 1024 * 1024
        self.data = RollingParquet(
            self.root,
            DATA_PATH,
            data_schema(feats),
            cfg.data_files_size_in_mb * mb,
            cfg.chunks_size,
            *self.starts.get("data", (0, 0)),
        )
        self.meta = RollingParquet(
            self.root,
            EPISODES_PATH,
            episodes_schema(feats),
            cfg.data_files_size_in_mb * mb,
            cfg.chunks_size,
            *self.starts.get("meta", (0, 0)),
        )
        for key in self.schema.cameras:
            self.tracks[key] = VideoTrack(
                self.root,
                key,
                fps=self.schema.fps or 1,
                chunks_size=cfg.chunks_size,
                max_mb=cfg.video_files_size_in_mb,
                start=self.starts.get(key, (0, 0)),
            )

    # -- one episode ---------------------------------------------------------------------------
    def write_data(self, episode: AlignedEpisode) -> tuple[dict[str, Any], dict[str, dict[str, np.ndarray]]]:
        """Write the numeric columns as one row group; returns the metadata row and numeric stats."""
        assert self.data is not None
        n = episode.length
        ep_index = self.total_episodes
        from_index = self.total_frames
        task_index = self.tasks.indices(episode.tasks)
        columns: dict[str, np.ndarray] = {}
        stats: dict[str, dict[str, np.ndarray]] = {}
        for key, feature in self.schema.features.items():
            if feature["dtype"] == "video":
                continue
            values = np.asarray(episode.numeric[key])
            columns[key] = values
            stats[key] = numeric_stats(values)
        columns.update(
            bookkeeping_columns(
                n, episode.fps, episode_index=ep_index, from_index=from_index, task_index=task_index
            )
        )
        stats.update(bookkeeping_stats(columns, episode.fps))
        table = pa.Table.from_arrays(
            [arrow_column(columns[f.name], f.type) for f in self.data.schema], schema=self.data.schema
        )
        chunk, file = self.data.write(table)
        row = {
            "episode_index": ep_index,
            "tasks": list(dict.fromkeys(episode.tasks)),
            "length": n,
            "data/chunk_index": chunk,
            "data/file_index": file,
            "dataset_from_index": from_index,
            "dataset_to_index": from_index + n,
        }
        self.total_episodes += 1
        self.total_frames += n
        return row, stats

    def finish(self, pending: _Pending) -> int:
        """Append the episode's segments in camera order and write its metadata row; remux count."""
        assert self.meta is not None
        row, stats = pending.row, pending.stats
        remuxed = 0
        for key in self.schema.cameras:
            try:
                segment, img_stats = pending.jobs[key].result()
            except LerobotNbError as exc:
                raise exc.with_context(
                    file=pending.source or None, episode=pending.episode_id, stream=key
                ) from None
            remuxed += segment.remuxed
            if segment.remuxed:
                self.remuxed_cameras.add(key)
            chunk, file, t0, t1 = self.tracks[key].append(segment)
            row[f"videos/{key}/chunk_index"] = chunk
            row[f"videos/{key}/file_index"] = file
            row[f"videos/{key}/from_timestamp"] = t0
            row[f"videos/{key}/to_timestamp"] = t1
            stats[key] = img_stats
        ordered = {k: stats[k] for k in self.schema.all_features()}
        for key, feature_stats in ordered.items():
            for name in STAT_NAMES:
                row[f"stats/{key}/{name}"] = np.asarray(feature_stats[name]).tolist()
        self.meta_rows.append(row)
        if len(self.meta_rows) >= _META_BATCH:
            self.flush_meta()
        self.stats = aggregate_stats([self.stats, ordered]) if self.stats else ordered
        self.sources[pending.episode_id] = int(row["episode_index"])
        return remuxed

    def flush_meta(self) -> None:
        assert self.meta is not None
        if not self.meta_rows:
            return
        # lerobot rolls the episodes file by the same size rule as the data files.
        rows, self.meta_rows = self.meta_rows, []
        self.meta.write_rows(rows, location=META_LOCATION)

    def abort(self) -> None:
        """Release every open file after a failure (their content is thrown away)."""
        for closer in (self.data, self.meta, *self.tracks.values()):
            if closer is not None:
                with contextlib.suppress(Exception):
                    closer.close()

    def close(self) -> None:
        self.flush_meta()
        for writer in (self.data, self.meta):
            if writer is not None:
                writer.close()
        for track in self.tracks.values():
            track.close()

    def write_meta(self, settings: EncoderSettings) -> None:
        """info.json, stats.json, tasks.parquet and the sources sidecar (all new files)."""
        features = {}
        for key, feature in self.schema.features.items():
            feature = dict(feature)
            if feature["dtype"] == "video":
                h, w = self.schema.cameras[key]
                feature["info"] = self.video_infos.get(key) or video_info(
                    height=h,
                    width=w,
                    codec=DECODER_NAME[settings.codec],
                    pix_fmt=settings.pix_fmt,
                    fps=self.schema.fps or 0,
                    g=settings.g,
                    crf=settings.crf,
                    preset=settings.preset,
                    fast_decode=settings.fast_decode,
                    extra_options=settings.extra_options,
                )
                if key in self.remuxed_cameras:
                    feature["info"] = _remuxed_info(feature["info"])
            features[key] = feature
        info = info_json(
            fps=self.schema.fps or 0,
            features={**features, **DEFAULT_FEATURES},
            total_episodes=self.total_episodes,
            total_frames=self.total_frames,
            total_tasks=len(self.tasks),
            chunks_size=self.config.chunks_size,
            data_files_size_in_mb=self.config.data_files_size_in_mb,
            video_files_size_in_mb=self.config.video_files_size_in_mb,
            robot_type=self.config.robot_type,
        )
        self.tasks.write(self.root / TASKS_PATH)
        write_json_atomic(self.root / STATS_PATH, stats_to_json(self.stats))
        write_json_atomic(self.root / SOURCES_PATH, {"episodes": self.sources})
        write_json_atomic(self.root / INFO_PATH, info)


def _camera_job(
    src: FrameSource, path: Path, *, fps: int, settings: EncoderSettings, remux: bool, on_frames: Any
) -> tuple[Segment, dict[str, np.ndarray]]:
    """Encode (or remux) one camera of one episode and compute its image statistics in one pass.

    The statistics pull the frames; each frame is encoded on its way through, so the episode is
    decoded once and only the frames lerobot samples for statistics are kept (downscaled).
    """
    height, width, length = src.height, src.width, len(src)
    codec = DECODER_NAME[settings.codec]
    encoded = src.encoded(codec) if remux else None
    try:
        if can_remux(
            encoded, codec=codec, height=height, width=width, length=length, pix_fmt=settings.pix_fmt
        ):
            assert encoded is not None
            segment = remux_segment(encoded, path, fps=fps, pix_fmt=settings.pix_fmt)
            return segment, image_stats(_counting(src, on_frames), length=length)
        with SegmentEncoder(path, fps=fps, height=height, width=width, settings=settings) as encoder:
            frames = encoder.passthrough(_counting(src, on_frames))
            stats = image_stats(frames, length=length)
            for _ in frames:  # statistics may stop at the last sampled frame: encode the rest too
                pass
            if encoder.count != length:
                raise LerobotNbError(f"the camera gave {encoder.count} frames for {length} ticks")
            return encoder.finish(), stats
    except ValueError as exc:  # image_stats: the source ran out of frames before `length`
        raise LerobotNbError(f"the camera gave fewer frames than its {length} ticks ({exc})") from None


def _counting(src: Iterable[np.ndarray], on_frames: Any) -> Iterator[np.ndarray]:
    for frame in src:
        on_frames(1)
        yield frame


def export_dataset(
    episodes: Iterable[AlignedEpisode | EpisodeSkipped],
    config: ExportConfig,
    *,
    total: int | None = None,
    inputs: Iterable[Path] = (),
    skip_bad_episodes: bool = False,
) -> ExportSummary:
    """Write `episodes` as a LeRobot v3.0 dataset at `config.output` and publish it atomically.

    `episodes` is consumed lazily, one at a time. `total` (if known) sizes the progress bar;
    `inputs` are the recording folders the output must not be inside. Raises LerobotNbError on
    bad input (the output path is then untouched); with `skip_bad_episodes` a bad episode is left
    out and listed in the summary instead.
    """
    if not config.output:
        raise LerobotNbError("no output folder given")
    episodes, skip_bad_episodes = _deprecated_options(episodes, config, skip_bad_episodes)
    if config.writer == "lerobot":
        from lerobot_nb.export.lerobot_writer import export_with_lerobot

        return export_with_lerobot(
            episodes, config, total=total, inputs=inputs, skip_bad_episodes=skip_bad_episodes
        )
    output = Path(config.output).expanduser().absolute()
    check_output(output, overwrite=config.overwrite, resume=config.resume, inputs=inputs)
    remove_stale_builds(output)
    started = time.perf_counter()
    summary = ExportSummary(output)
    existing = _read_existing(output) if config.resume and (output / INFO_PATH).is_file() else None
    build = new_build_dir(output)
    progress = Progress(config.progress, total)
    builder = _Builder(build, config, FeatureSchema(names=config.names_mapping()))
    try:
        if existing is not None:
            link_tree(output, build, skip=(INFO_PATH, STATS_PATH, TASKS_PATH, SOURCES_PATH))
            builder.resume_from(existing, output)
            builder.open_writers()
        _run(episodes, builder, config, summary, progress, skip_bad_episodes)
        if existing is not None and summary.episodes_written == 0:
            # --resume with nothing new: the dataset stays exactly as it is.
            shutil.rmtree(build, ignore_errors=True)
            summary.seconds = time.perf_counter() - started
            summary.bytes = dir_size(output)
            return summary
        if builder.total_episodes == 0:
            raise NothingWritten(summary, output)
        builder.close()
        builder.write_meta(EncoderSettings.from_config(config))
        publish(build, output)
    except OSError as exc:
        builder.abort()
        shutil.rmtree(build, ignore_errors=True)
        raise write_error(exc, build, output) from None
    except BaseException:
        builder.abort()
        shutil.rmtree(build, ignore_errors=True)
        raise
    finally:
        progress.close()
    summary.seconds = time.perf_counter() - started
    summary.bytes = dir_size(output)
    return summary


def _remuxed_info(info: Mapping[str, Any]) -> dict[str, Any]:
    """A camera with copied packets: its GOP, CRF, preset and options are the source encoder's, not
    known here, so they are recorded as unknown (None) instead of this export's settings."""
    return {**info, "video.g": None, "video.crf": None, "video.preset": None, "video.extra_options": {}}


def _check_same_encoding(
    infos: Mapping[str, Mapping[str, Any]], settings: EncoderSettings, where: Path
) -> None:
    """--resume must encode new episodes like the existing ones (info.json has one video block)."""
    want = {
        "video.codec": DECODER_NAME[settings.codec],
        "video.pix_fmt": settings.pix_fmt,
        "video.g": settings.g,
        "video.crf": settings.crf,
        "video.preset": settings.preset,
    }
    for key, info in infos.items():
        # None: not known (remuxed packets), so any setting agrees with it
        differ = {k: (info.get(k), v) for k, v in want.items() if info.get(k) not in (None, v)}
        if differ:
            text = ", ".join(
                f"{k.removeprefix('video.')} {old!r} (now {new!r})" for k, (old, new) in differ.items()
            )
            raise LerobotNbError(
                f"the dataset's videos were encoded with {text}; pass the same codec options with --resume",
                file=where,
                stream=key,
            )


def _deprecated_options(
    episodes: Iterable[AlignedEpisode | EpisodeSkipped], config: ExportConfig, skip_bad_episodes: bool
) -> tuple[Iterable[AlignedEpisode | EpisodeSkipped], bool]:
    """Honour the options that moved out of `ExportConfig` (they warned when it was made)."""
    if config.language_embedding:
        from lerobot_nb.enrich.language import add_language_embedding

        episodes = (add_language_embedding(e) if isinstance(e, AlignedEpisode) else e for e in episodes)
    return episodes, skip_bad_episodes or bool(config.skip_bad_episodes)


def _run(
    episodes: Iterable[AlignedEpisode | EpisodeSkipped],
    builder: _Builder,
    config: ExportConfig,
    summary: ExportSummary,
    progress: Progress,
    skip_bad_episodes: bool,
) -> None:
    # SVT-AV1 and x264 start a thread per core (x264: 1.5 per core) in every encoder: with `workers`
    # encoders side by side that oversubscribes the cores (measured ~10% slower on 2 cores for
    # SVT-AV1), so split them instead. A fixed share also keeps x264's frame threading, and so its
    # bytes, the same from run to run (an inline and a sharded export of the same episodes match).
    threads = max(1, (os.cpu_count() or 1) // config.workers) if config.workers > 1 else None
    settings = EncoderSettings.from_config(config, threads=threads)
    pending: deque[_Pending] = deque()
    seg_dir = builder.root / ".segments"
    seg_dir.mkdir()
    pool = ThreadPoolExecutor(max_workers=config.workers, thread_name_prefix="encode")

    def finish_one() -> None:
        item = pending.popleft()
        item.summary_row["remuxed_videos"] = builder.finish(item)
        item.summary_row["status"] = "written"
        progress.episode()

    try:
        for episode in admitted_episodes(
            episodes,
            config,
            builder.schema,
            summary,
            progress,
            existing=builder.sources,
            on_define=builder.open_writers,
            skip_bad_episodes=skip_bad_episodes,
        ):
            row, stats = builder.write_data(episode)
            jobs = {
                IMAGE_PREFIX + key: pool.submit(
                    _camera_job,
                    src,
                    seg_dir / f"{row['episode_index']:06d}-{key}.mp4",
                    fps=episode.fps,
                    settings=settings,
                    remux=config.remux,
                    on_frames=progress.frame,
                )
                for key, src in episode.images.items()
            }
            if not jobs:
                progress.frame(episode.length)
            summary_row = summary.add(
                episode.episode_id,
                "encoding",
                index=int(row["episode_index"]),
                frames=episode.length,
                source=episode.source,
                notes=episode.notes,
            )
            pending.append(_Pending(row, stats, jobs, episode.episode_id, episode.source, summary_row))
            del episode  # the numeric data is on disk; only the lazy frame sources stay referenced
            while len(pending) > config.workers:
                finish_one()
        while pending:
            finish_one()
    finally:
        for item in pending:
            for job in item.jobs.values():
                job.cancel()
        pool.shutdown(wait=True, cancel_futures=True)
    with contextlib.suppress(OSError):
        seg_dir.rmdir()


def read_sources(dataset: Path) -> Mapping[str, int]:
    """Recording id -> episode_index of a dataset this package wrote."""
    return {str(k): int(v) for k, v in json.loads((dataset / SOURCES_PATH).read_text())["episodes"].items()}
