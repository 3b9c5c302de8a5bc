"""Scores on synthetic aligned episodes whose every value is known, and the shared signal tests."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from lerobot_nb.curate import ScoreConfig, score_recordings
from lerobot_nb.episode import AlignedEpisode
from lerobot_nb.frames import ArrayFrames
from lerobot_nb.validate.signals import (
    clipped_std,
    longest_run,
    moving_steps,
    range_reach,
    second_differences,
    spikes,
)

FPS = 10


def smooth(n: int, phase: float, dim: int = 3) -> np.ndarray:
    t = np.arange(n)[:, None]
    return np.sin(2 * np.pi * t / 40 + phase + np.arange(dim)[None, :])


def picture(k: int, seed: int) -> np.ndarray:
    """A textured 48x64 picture that moves with k (never uniform)."""
    y, x = np.mgrid[0:48, 0:64]
    r = 128 + 100 * np.sin((x + 3 * k + seed) / 5.0)
    g = 128 + 100 * np.cos((y + 2 * k) / 4.0 + seed)
    return np.stack([r, g, np.full_like(r, 60.0)], axis=-1).astype(np.uint8)


def episode(i: int, n: int = 60, **kw: object) -> AlignedEpisode:
    frames = kw.pop("frames", None)
    state = kw.pop("state", smooth(n, 0.4 * i))
    return AlignedEpisode(
        episode_id=f"rec-{i}",
        fps=FPS,
        index="real_time",
        ticks=np.arange(n, dtype=np.int64) * 100_000_000,
        numeric={"action": smooth(n, 0.4 * i + 0.2), "observation.state": state},  # type: ignore[dict-item]
        images={"front": ArrayFrames(frames if frames is not None else [picture(k, i) for k in range(n)])},  # type: ignore[arg-type]
        tasks=kw.pop("tasks", ("stack the cups",) * n),  # type: ignore[arg-type]
        **kw,  # type: ignore[arg-type]
    )


def test_synthetic_defects_each_found_once() -> None:
    black = [picture(k, 3) if not 20 <= k < 35 else np.zeros((48, 64, 3), np.uint8) for k in range(60)]
    far = smooth(60, 1.6)
    far[40:45, 1] += (
        25.0  # five frames far outside every other episode's state (and no jump back in one frame)
    )
    eps = [
        episode(0),
        episode(1),
        episode(2),
        episode(3, frames=black),
        episode(4, state=far),
        episode(5, tasks=("",) * 60),
        episode(6, n=8),
    ]
    s = score_recordings(eps, ScoreConfig(outlier_min_episodes=5))
    got = {(r["episode"], r["flag"]): r for r in s.findings.iter_rows(named=True)}
    assert set(got) == {
        ("rec-3", "dead_camera"),
        ("rec-4", "out_of_range"),
        ("rec-5", "no_task"),
        ("rec-6", "short"),
    }, s.render()
    dead = got[("rec-3", "dead_camera")]
    assert (dead["at_s"], dead["length_s"]) == (2.0, 1.6)  # samples 20, 22, ..., 34: 8 samples x 2 frames
    assert got[("rec-4", "out_of_range")]["at_s"] == pytest.approx(4.0, abs=0.41)
    assert got[("rec-6", "short")]["reason"] == "only 0.80 s (8 frames)"
    row = s.table.filter(pl.col("recording") == "rec-4").row(0, named=True)
    assert row["range_sigma"] > 6 and row["spikes"] == 0
    assert s.table.filter(pl.col("recording") == "rec-5")["task_present"].to_list() == [False]
    assert s.table["stale_fraction"].null_count() == 7  # no alignment timing on synthetic episodes


def test_a_frozen_camera_while_still_is_no_defect() -> None:
    """The same picture while nothing moves (an idle robot in a static scene) is not a frozen camera."""
    n = 60
    held = smooth(n, 0.0)
    held[10:45] = held[10]  # still on steps 10 -> 11 ... 43 -> 44: 34 of 59 steps
    ep = AlignedEpisode(
        episode_id="rec-idle",
        fps=FPS,
        index="real_time",
        ticks=np.arange(n, dtype=np.int64),
        numeric={"action": held.copy(), "observation.state": held},
        images={"front": ArrayFrames([picture(10 if 10 <= k < 45 else k, 0) for k in range(n)])},
        tasks=("x",) * n,
    )
    s = score_recordings([ep])
    assert [(r["flag"], r["reason"]) for r in s.findings.iter_rows(named=True)] == [
        ("idle", "still on 58% of the steps")
    ]
    assert s.table["frozen_camera_s"].to_list() == [0.0]
    assert s.table["idle_fraction"][0] == pytest.approx(34 / 59)


# -- the shared signal tests ---------------------------------------------------------------------
def ramp(n: int = 30, v: float = 1.0) -> np.ndarray:
    return (np.arange(n, dtype=np.float64) * v)[:, None]


SIGMA = np.array([0.5])


@pytest.mark.parametrize(
    ("change", "spike_frames"),
    [
        (
            lambda x: x.__setitem__((15, 0), x[15, 0] + 20),
            [14, 15, 16],
        ),  # a one-frame glitch (and its two neighbours)
        (lambda x: x.__setitem__((slice(15, 17), 0), x[15:17, 0] + 20), [15, 16]),  # two frames out and back
        (lambda x: x.__setitem__((slice(15, None), 0), x[15:, 0] + 20), []),  # a position step that stays
        (
            lambda x: x.__setitem__((slice(15, None), 0), x[15, 0] + 4 * (x[15:, 0] - x[15, 0])),
            [],
        ),  # a velocity step
        (lambda x: None, []),  # a plain ramp
    ],
)
def test_spikes_come_back(change: object, spike_frames: list[int]) -> None:
    x = ramp()
    change(x)  # type: ignore[operator]
    found = spikes(x, SIGMA, 10.0)
    assert found.frames.tolist() == spike_frames
    if spike_frames:
        k, d, z = found.worst()  # type: ignore[misc]
        assert (
            d == 0
            and k in (15, 16)
            and z == pytest.approx(40 / 0.5 if k == 15 and len(spike_frames) == 3 else 20 / 0.5)
        )


def test_held_value_after_a_gap_is_not_a_spike() -> None:
    x = ramp(40, 2.0)
    x[10:18] = x[10]  # the stream stopped: latest-at holds its last value, then catches up
    found = spikes(x, SIGMA, 10.0)
    assert found.frames.tolist() == [] and found.z.max() > 10


def test_small_helpers() -> None:
    assert longest_run(np.array([0, 1, 1, 0, 1, 1, 1, 0], bool)) == (3, 4)
    assert longest_run(np.zeros(4, bool)) == (0, 0)
    a = np.array([[0.0], [0.0], [0.5], [0.5]])
    assert moving_steps([a], [0.1]).tolist() == [False, True, False]
    assert moving_steps([a], [1.0]).tolist() == [False, False, False]
    reach, where = range_reach(np.array([[0.0], [10.0]]), np.array([[-1.0], [1.0], [0.0]]))
    assert reach[0] == pytest.approx(10 / np.std([-1.0, 1.0, 0.0])) and where[0] == 1
    values = np.concatenate([np.zeros(100), [50.0]])[:, None]
    assert clipped_std(values)[0] == 0.0 and values.std() > 4
    assert second_differences(ramp(5)).tolist() == [[0.0]] * 3
