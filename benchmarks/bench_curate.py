"""Scoring throughput on an exported dataset: frames per second with and without the cameras.

Exports `--episodes` synthetic episodes (two AV1 cameras of `--size` at 30 fps, `--seconds` each)
with the project's writer, then times `score_dataset` without cameras, with the default camera
sampling (every 6th frame at 30 fps: thumbnails of 5 samples per second, every frame still decoded),
with every frame sampled, and, as the baseline, validate's video pass (`scan_video`: every frame
decoded and converted to an array, as `quality.repeated_frames` reads it). Run:
`.venv/bin/python benchmarks/bench_curate.py [--episodes 10 --seconds 20 --size 240x320]`.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from lerobot_nb.curate import ScoreConfig, score_dataset
from lerobot_nb.episode import AlignedEpisode
from lerobot_nb.export import ExportConfig, export_dataset
from lerobot_nb.lerobot_v3.dataset import SourceDataset
from lerobot_nb.validate.video_scan import scan_video

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from export_support import NumpyFrames  # test helper: moving synthetic frames

FPS = 30


def episode(i: int, seconds: float, h: int, w: int) -> AlignedEpisode:
    n = int(seconds * FPS)
    t = np.arange(n)[:, None] / FPS
    motion = np.sin(t + np.arange(6)[None, :] + i)
    return AlignedEpisode(
        episode_id=f"bench-{i}",
        fps=FPS,
        index="real_time",
        ticks=np.arange(n, dtype=np.int64) * (1_000_000_000 // FPS),
        numeric={"action": motion, "observation.state": motion * 0.9},
        images={"front": NumpyFrames(n, i, h, w), "wrist": NumpyFrames(n, 50 + i, h, w)},  # type: ignore[dict-item]
        tasks=("bench",) * n,
        source=f"bench-{i}",
    )


def timed(label: str, frames: int, run: object) -> tuple[str, float, float]:
    start = time.perf_counter()
    run()  # type: ignore[operator]
    seconds = time.perf_counter() - start
    return label, seconds, frames / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--episodes", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--size", default="240x320", help="camera HxW")
    args = parser.parse_args()
    h, w = map(int, args.size.split("x"))
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "ds"
        export_dataset(
            (episode(i, args.seconds, h, w) for i in range(args.episodes)),
            ExportConfig(output=str(out), progress=False),
        )
        frames = args.episodes * int(args.seconds * FPS)
        score_dataset(out, ScoreConfig(cameras=False))  # warm imports
        dataset = SourceDataset(out)
        videos = sorted(
            {dataset.video(e, k).path for e in range(dataset.num_episodes) for k in dataset.video_keys}
        )
        rows = [
            timed("scores without cameras", frames, lambda: score_dataset(out, ScoreConfig(cameras=False))),
            timed("scores, cameras sampled at 5 Hz (default)", frames, lambda: score_dataset(out)),
            timed(
                "scores, every frame sampled",
                frames,
                lambda: score_dataset(out, ScoreConfig(camera_sample_hz=FPS)),
            ),
            timed(
                "baseline: validate's scan_video (every frame)",
                frames,
                lambda: [scan_video(p, [], 1e-4) for p in videos],
            ),
        ]
    base = rows[-1][2]
    print(f"{args.episodes} episodes, {frames} frames, 2 AV1 cameras {h}x{w} at {FPS} fps")
    print(f"{'part':48} {'seconds':>8} {'frames/s':>10} {'vs baseline':>12}")
    for label, seconds, rate in rows:
        print(f"{label:48} {seconds:8.2f} {rate:10.0f} {rate / base:11.2f}x")


if __name__ == "__main__":
    main()
