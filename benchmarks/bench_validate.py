"""Validation throughput on an exported dataset: frames per second for each part of `validate`.

Exports `--episodes` synthetic episodes (two 96x128 AV1 cameras, 30 fps, `--seconds` each) with
the project's writer, then times `validate` with everything off but the data checks, with video
decoding, and the full run (LeRobotDataset + DataLoader), against a target of 1000 frames/s for
the full run. Run: `.venv/bin/python benchmarks/bench_validate.py [--episodes 10 --seconds 20]`.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from lerobot_nb.episode import AlignedEpisode
from lerobot_nb.export import ExportConfig, export_dataset
from lerobot_nb.validate import ValidateConfig, validate

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from export_support import NumpyFrames  # test helper: moving synthetic frames

TARGET = 1000.0  # frames per second, full validation
FPS = 30


def episode(i: int, seconds: float) -> AlignedEpisode:
    n = int(seconds * FPS)
    t = np.arange(n)[:, None] / FPS
    motion = np.sin(t + np.arange(6)[None, :] + i).astype(np.float32)
    return AlignedEpisode(
        episode_id=f"bench-{i}",
        fps=FPS,
        index="real_time",
        ticks=np.arange(n, dtype=np.int64) * (1_000_000_000 // FPS),
        numeric={"action": motion, "observation.state": motion * 0.9},
        images={"front": NumpyFrames(n, i, 96, 128), "wrist": NumpyFrames(n, 50 + i, 96, 128)},  # type: ignore[dict-item]
        tasks=("bench",) * n,
        names={"action": None, "observation.state": None},
        source=f"bench-{i}",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--episodes", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "ds"
        export_dataset(
            (episode(i, args.seconds) for i in range(args.episodes)),
            ExportConfig(output=str(out), progress=False),
        )
        frames = args.episodes * int(args.seconds * FPS)
        validate(out, config=ValidateConfig(video=False, training=False))  # warm imports and caches
        import lerobot.datasets  # noqa: F401  (torch + lerobot import, ~5 s, is not validation work)

        rows = []
        for label, config in (
            ("data + stats (no video, no loader)", ValidateConfig(video=False, training=False)),
            ("+ decode every video frame", ValidateConfig(training=False)),
            ("full (+ LeRobotDataset, DataLoader)", ValidateConfig()),
        ):
            start = time.perf_counter()
            report = validate(out, config=config)
            seconds = time.perf_counter() - start
            assert report.ok, report.summary()
            rows.append((label, seconds, frames / seconds))
    print(f"{args.episodes} episodes, {frames} frames, 2 cameras 96x128 at {FPS} fps")
    print(f"{'part':40} {'seconds':>8} {'frames/s':>10} {'vs target':>10}")
    for label, seconds, rate in rows:
        print(f"{label:40} {seconds:8.2f} {rate:10.0f} {rate / TARGET:9.2f}x")


if __name__ == "__main__":
    main()
