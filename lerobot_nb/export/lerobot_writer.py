"""`writer="lerobot"`: the same export through lerobot's own public writer API.

`LeRobotDataset.create / add_frame / save_episode / finalize`, for users who want exactly
lerobot's files (and as the benchmark baseline). Output checks, episode checks, skipping and
the build-beside-then-rename publish are the native writer's; `resume` is native-only.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from lerobot_nb.episode import AlignedEpisode, EpisodeSkipped
from lerobot_nb.errors import LerobotNbError
from lerobot_nb.export.admission import admitted_episodes
from lerobot_nb.export.config import ExportConfig
from lerobot_nb.export.publish import check_output, new_build_dir, publish, remove_stale_builds
from lerobot_nb.export.scheduling import forbid_realtime_scheduling
from lerobot_nb.export.schema import IMAGE_PREFIX, FeatureSchema
from lerobot_nb.export.summary import ExportSummary, NothingWritten, Progress, dir_size
from lerobot_nb.lerobot_v3.layout import SOURCES_PATH, write_json_atomic

__all__ = ["export_with_lerobot"]


def _frames(
    episode: AlignedEpisode, names: list[str], shapes: dict[str, list[int]]
) -> Iterable[dict[str, Any]]:
    """lerobot frames (dicts) of one episode, cameras iterated in lockstep (lazy)."""

    cams = {IMAGE_PREFIX + k: iter(src) for k, src in episode.images.items()}
    for k in range(episode.length):
        frame: dict[str, Any] = {}
        for key in names:
            value = np.asarray(episode.numeric[key][k])
            frame[key] = value.reshape(shapes[key])
        for key, it in cams.items():
            frame[key] = next(it)
        frame["task"] = episode.tasks[k]
        yield frame


def export_with_lerobot(
    episodes: Iterable[AlignedEpisode | EpisodeSkipped],
    config: ExportConfig,
    *,
    total: int | None = None,
    inputs: Iterable[Path] = (),
    skip_bad_episodes: bool = False,
) -> ExportSummary:
    """Write with lerobot's writer into a build folder beside the output, then publish atomically."""
    from lerobot.configs.video import RGBEncoderConfig
    from lerobot.datasets import LeRobotDataset

    if config.resume:
        raise LerobotNbError("--resume is supported by the native writer only (--writer native)")
    forbid_realtime_scheduling()  # lerobot encodes in this thread or in processes forked from it
    output = Path(config.output).expanduser().absolute()
    check_output(output, overwrite=config.overwrite, resume=False, inputs=inputs)
    remove_stale_builds(output)
    started = time.perf_counter()
    summary = ExportSummary(output, writer="lerobot")
    build = new_build_dir(output)
    root = build / "dataset"
    schema = FeatureSchema(names=config.names_mapping())
    sources: dict[str, int] = {}
    progress = Progress(config.progress, total)
    dataset: Any = None
    try:
        for episode in admitted_episodes(
            episodes, config, schema, summary, progress, skip_bad_episodes=skip_bad_episodes
        ):
            numeric = [k for k, f in schema.features.items() if f["dtype"] != "video"]
            shapes = {k: schema.features[k]["shape"] for k in numeric}
            if dataset is None:
                encoder = RGBEncoderConfig(
                    vcodec=config.codec,
                    pix_fmt=config.pix_fmt,
                    g=config.g,
                    crf=config.crf,
                    preset=config.effective_preset,
                    fast_decode=config.fast_decode,
                )
                dataset = LeRobotDataset.create(
                    repo_id="local/" + output.name,
                    fps=episode.fps,
                    root=root,
                    robot_type=config.robot_type,
                    features={k: {**f, "shape": tuple(f["shape"])} for k, f in schema.features.items()},
                    use_videos=True,
                    image_writer_threads=4,
                    rgb_encoder=encoder,
                    data_files_size_in_mb=int(config.data_files_size_in_mb) or 1,
                    video_files_size_in_mb=int(config.video_files_size_in_mb) or 1,
                )
            for frame in _frames(episode, numeric, shapes):
                dataset.add_frame(frame)
                progress.frame(1)
            dataset.save_episode()
            sources[episode.episode_id] = len(sources)
            summary.add(
                episode.episode_id,
                "written",
                index=sources[episode.episode_id],
                frames=episode.length,
                source=episode.source,
                notes=episode.notes,
            )
            progress.episode()
        if dataset is None:
            raise NothingWritten(summary, output)
        dataset.finalize()
        write_json_atomic(root / SOURCES_PATH, {"episodes": sources})
        publish(root, output)
        os.rmdir(build)
    except BaseException:
        if dataset is not None:
            with contextlib.suppress(Exception):
                dataset.finalize()
        shutil.rmtree(build, ignore_errors=True)
        raise
    finally:
        progress.close()
    summary.seconds = time.perf_counter() - started
    summary.bytes = dir_size(output)
    return summary
