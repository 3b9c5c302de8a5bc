"""`validate` on this project's own exports: a clean one passes; planted quality defects give exactly their warnings."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from export_support import NumpyFrames, frame
from matplotlib.figure import Figure

from lerobot_nb.episode import AlignedEpisode
from lerobot_nb.export import ExportConfig, export_dataset
from lerobot_nb.validate import (
    ValidateConfig,
    ValidationReport,
    plot_episode_lengths,
    plot_feature_stats,
    validate,
)

pytestmark = pytest.mark.xdist_group("validate")

FPS = 10
LENGTHS = (20, 20, 20, 20, 5, 20, 20)


class FrozenFrames(NumpyFrames):
    """A camera that shows frame 3 again for frames 3..10 (a frozen driver). AV1 refines the
    picture once more at frame 4, so the decoded video repeats identically from frame 4 to 10."""

    def __iter__(self) -> Iterator[np.ndarray]:
        for t in range(self.length):
            yield frame(3 if 3 <= t <= 10 else t, self.seed, self.height, self.width)


def smooth(length: int, dim: int, phase: float) -> np.ndarray:
    """Smooth joint trajectories in [-1, 1]: tiny second differences, so a planted spike stands out."""
    t = np.arange(length)[:, None]
    return np.sin(2 * np.pi * t / 20 + phase + np.arange(dim)[None, :]).astype(np.float32)


def planted_episode(i: int) -> AlignedEpisode:
    """Episode i carries one planted defect: 1 jerk, 2 still, 3 out of range, 4 short, 5 frozen camera,
    6 a duplicate of episode 0's motion."""
    n = LENGTHS[i]
    phase = 0.3 * (0 if i == 6 else i)
    action, state = smooth(n, 6, phase), smooth(n, 6, phase + 0.1)
    if i == 1:
        action[10, 2] += 0.5  # a glitch inside the normal range
    if i == 2:
        action[:] = action[0]
        state[:] = state[0]
    if i == 3:
        state += 20.0
    state[:, 5] = 0.25  # a dead joint sensor in every episode
    cameras = {"front": (FrozenFrames if i == 5 else NumpyFrames)(n, i), "wrist": NumpyFrames(n, 10 + i)}
    return AlignedEpisode(
        episode_id=f"rec-{i}",
        fps=FPS,
        index="real_time",
        ticks=np.arange(n, dtype=np.int64) * (1_000_000_000 // FPS),
        numeric={"action": action, "observation.state": state},
        images=cameras,  # type: ignore[arg-type]
        tasks=("pick the cube",) * n,
        names={
            "action": tuple(f"a{k}" for k in range(6)),
            "observation.state": tuple(f"j{k}" for k in range(6)),
        },
        source=f"/recordings/rec-{i}.rrd",
    )


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ValidationReport]:
    out = tmp_path_factory.mktemp("exports") / "planted"
    export_dataset(
        [planted_episode(i) for i in range(len(LENGTHS))], ExportConfig(output=str(out), progress=False)
    )
    return out, validate(out)


def test_own_export_passes_every_check(planted: tuple[Path, ValidationReport]) -> None:
    _, report = planted
    assert report.failed == set(), report.summary()
    assert report.with_status("skip") == set()
    assert report.status("training.batches") == "pass"


def test_planted_defects_give_exactly_their_warnings(planted: tuple[Path, ValidationReport]) -> None:
    _, report = planted
    warnings = report.table.filter(pl.col("status") == "warn")
    got = {(r["check"], r["episode"], r["frame"]) for r in warnings.iter_rows(named=True)}
    assert got == {
        ("quality.jerk", 1, 10),
        ("quality.still_episodes", 2, None),
        ("quality.range_outliers", 3, None),
        ("quality.short_episodes", 4, None),
        ("quality.repeated_frames", 5, 4),
        ("quality.constant_streams", None, None),
        ("quality.duplicate_episodes", 6, None),
    }, report.summary()
    reasons = dict(warnings.select("check", "reason").iter_rows())
    assert reasons["quality.constant_streams"].startswith("`observation.state` j5 is constant (0.25)")
    assert reasons["quality.repeated_frames"].startswith(
        "`observation.images.front` shows the same picture for 7 consecutive frames"
    )
    assert reasons["quality.jerk"].startswith("`action`[2] changes speed by")
    assert reasons["quality.range_outliers"].startswith("`observation.state`[")
    assert report.ok  # warnings never fail a dataset


def test_plots(planted: tuple[Path, ValidationReport]) -> None:
    root, _ = planted
    fig = plot_episode_lengths(root)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert ax.get_title() == f"7 episodes, {sum(LENGTHS)} frames at 10 fps"
    assert sum(p.get_height() for p in ax.patches) == len(LENGTHS)
    fig = plot_feature_stats(root)
    titles = [a.get_title() for a in fig.axes]
    assert titles == [
        f"{k} (count {sum(LENGTHS)})"
        for k in ("action", "observation.state", "observation.images.front", "observation.images.wrist")
    ] or sorted(titles) == sorted(
        f"{k} (count {sum(LENGTHS)})"
        for k in ("action", "observation.state", "observation.images.front", "observation.images.wrist")
    )
    state_axis = fig.axes[[t.split(" ")[0] for t in titles].index("observation.state")]
    assert [t.get_text() for t in state_axis.get_xticklabels()] == [f"j{k}" for k in range(6)]


def test_rolled_export_passes(tmp_path: Path) -> None:
    from export_support import synthetic_episode

    episodes = [synthetic_episode(f"r{i}", 20, i, cameras=("front",)) for i in range(4)]
    out = tmp_path / "rolled"
    export_dataset(
        episodes,
        ExportConfig(
            output=str(out), progress=False, data_files_size_in_mb=0.004, video_files_size_in_mb=0.01
        ),
    )
    assert len(list((out / "videos").rglob("*.mp4"))) > 1
    report = validate(out, config=ValidateConfig(training=False))
    assert report.failed == set(), report.summary()


def test_png_dataset_written_by_lerobot_itself_passes(tmp_path: Path) -> None:
    """lerobot 0.6's image mean/std are float32 accumulations (its std runs ~17% low on a bright,
    low-variance camera) while lerobot_nb recomputes them exactly: validate must still pass it."""
    from lerobot.datasets import LeRobotDataset

    h, w = 48, 64
    features = {
        "observation.state": {"dtype": "float32", "shape": (2,), "names": None},
        "action": {"dtype": "float32", "shape": (2,), "names": None},
        "observation.images.cam": {
            "dtype": "image",
            "shape": (h, w, 3),
            "names": ["height", "width", "channels"],
        },
    }
    root = tmp_path / "lr"
    ds = LeRobotDataset.create(repo_id="local/png", fps=10, features=features, root=root, use_videos=False)
    rng = np.random.default_rng(0)
    for _ in range(2):
        for _ in range(12):
            image = np.clip(rng.normal(230, 3, (h, w, 3)), 0, 255).astype(np.uint8)
            ds.add_frame(
                {
                    "observation.state": rng.standard_normal(2).astype(np.float32),
                    "action": rng.standard_normal(2).astype(np.float32),
                    "observation.images.cam": image,
                    "task": "hold still",
                }
            )
        ds.save_episode()
    ds.finalize()
    report = validate(root)
    assert report.failed == set(), report.summary()
    assert report.table.filter(pl.col("check") == "stats.images")["status"].to_list() == ["pass"]
