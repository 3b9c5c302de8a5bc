"""`lerobot_nb.stats` reproduces the statistics lerobot 0.6.1 wrote and computes: bit for bit,
except image mean/std, which lerobot_nb sums exactly (integers) where lerobot sums float32."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest
from conftest import assert_stat_equal
from fixture_files import fixture

from lerobot_nb.stats import (
    STAT_NAMES,
    aggregate_stats,
    image_stats,
    numeric_stats,
    sample_frame_indices,
    stats_from_json,
    stats_to_json,
)

#: lerobot 0.6.1's own dataset (a fixture, relative path).
DS061 = "lerobot/synthetic_v30_video_lerobot061"
LENGTHS = (12, 9, 15)
H, W = 48, 64
NUMERIC = ("observation.state", "action", "frame_index", "episode_index", "index", "task_index")


def fixture_frame(t: int) -> np.ndarray:
    """The front-camera frame `make_fixture061.py` fed lerobot at step t (wrist is 255 - it)."""
    img = np.zeros((H, W, 3), np.uint8)
    img[:, : (t * 4) % W] = 200
    img[..., 1] = (t * 7) % 255
    return img


def recomputed_episode_stats() -> list[dict[str, dict[str, np.ndarray]]]:
    data = pl.read_parquet(fixture(DS061) / "data/chunk-000/file-000.parquet")
    out = []
    for ep, n in enumerate(LENGTHS):
        rows = data.filter(pl.col("episode_index") == ep)
        stats = {key: numeric_stats(rows[key].to_numpy()) for key in NUMERIC}
        # lerobot's writer computes timestamp stats from float64 frame_index / fps
        stats["timestamp"] = numeric_stats(rows["frame_index"].to_numpy() / 10)
        stats["observation.images.front"] = image_stats([fixture_frame(t) for t in range(n)])
        stats["observation.images.wrist"] = image_stats(255 - fixture_frame(t) for t in range(n))
        out.append(stats)
    return out


def test_episode_stats_equal_lerobot061_episodes_parquet() -> None:
    episodes = pl.read_parquet(fixture(DS061) / "meta/episodes/chunk-000/file-000.parquet")
    ours = recomputed_episode_stats()
    compared = 0
    for ep, stats in enumerate(ours):
        row = episodes.row(ep, named=True)
        assert {c.split("/")[1] for c in episodes.columns if c.startswith("stats/")} == set(stats)
        for feature, feature_stats in stats.items():
            assert tuple(feature_stats) == STAT_NAMES
            for name, value in feature_stats.items():
                stored = np.asarray(row[f"stats/{feature}/{name}"])
                assert stored.shape == value.shape, (feature, name)
                assert_stat_equal(feature, name, value, stored)
                compared += 1
    assert compared == 3 * 9 * 10
    # image stats: per channel in [0, 1], shape (3, 1, 1), count = sampled frames
    assert ours[0]["observation.images.front"]["mean"].shape == (3, 1, 1)
    assert ours[2]["observation.images.front"]["count"].tolist() == [15]


def test_aggregate_equals_lerobot061_stats_json() -> None:
    expected = stats_from_json(json.loads((fixture(DS061) / "meta/stats.json").read_text()))
    ours = aggregate_stats(recomputed_episode_stats())
    assert set(ours) == set(expected)
    for feature in expected:
        for name in STAT_NAMES:
            assert_stat_equal(feature, name, ours[feature][name], expected[feature][name])
    # the JSON round trip keeps every value
    again = stats_from_json(json.loads(json.dumps(stats_to_json(ours))))
    assert all(np.array_equal(again[f][k], ours[f][k]) for f in ours for k in STAT_NAMES)


def test_aggregate_of_stored_episode_stats_is_close_to_stats_json() -> None:
    """From the float64 stats stored per episode, lerobot's dataset stats are reproduced to 1e-7."""
    episodes = pl.read_parquet(fixture(DS061) / "meta/episodes/chunk-000/file-000.parquet")
    expected = stats_from_json(json.loads((fixture(DS061) / "meta/stats.json").read_text()))
    stored = [
        {f: {k: np.asarray(row[f"stats/{f}/{k}"]) for k in STAT_NAMES} for f in expected}
        for row in episodes.iter_rows(named=True)
    ]
    ours = aggregate_stats(stored)
    for feature in expected:
        for name in STAT_NAMES:
            np.testing.assert_allclose(ours[feature][name], expected[feature][name], rtol=1e-7, atol=1e-12)


@pytest.fixture(scope="module")
def lerobot_compute_stats():  # type: ignore[no-untyped-def]
    from lerobot.datasets import compute_stats

    return compute_stats


@pytest.mark.parametrize(
    ("n", "dtype"),
    [
        (1, np.float32),
        (2, np.float32),
        (37, np.float32),
        (500, np.float64),
        (64, np.int64),
        (3000, np.float32),
    ],
)
def test_numeric_stats_equal_lerobot_functions(lerobot_compute_stats, n: int, dtype: type) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(n)
    values = (rng.standard_normal((n, 5)) * 100).astype(dtype)
    expected = lerobot_compute_stats.get_feature_stats(values, axis=0, keepdims=False)
    ours = numeric_stats(values)
    for name in STAT_NAMES:
        np.testing.assert_array_equal(ours[name], expected[name], err_msg=name)
    scalar = values[:, 0]
    expected = lerobot_compute_stats.get_feature_stats(scalar, axis=0, keepdims=True)
    ours = numeric_stats(scalar)
    for name in STAT_NAMES:
        assert ours[name].shape == (1,)
        np.testing.assert_array_equal(ours[name], expected[name], err_msg=name)


@pytest.mark.parametrize(("n", "height", "width"), [(1, 8, 8), (250, 40, 30), (7, 480, 640), (3, 320, 200)])
def test_image_stats_equal_lerobot_functions(lerobot_compute_stats, n: int, height: int, width: int) -> None:  # type: ignore[no-untyped-def]
    """Sampling (> 100 frames), stride downscaling (>= 300 px) and no uint8 overflow in std."""
    rng = np.random.default_rng(height)
    frames = rng.integers(0, 256, (n, height, width, 3), dtype=np.uint8)
    chw = frames.transpose(0, 3, 1, 2)
    idx = lerobot_compute_stats.sample_indices(n)
    assert sample_frame_indices(n) == idx
    sampled = np.stack([lerobot_compute_stats.auto_downsample_height_width(chw[i]) for i in idx])
    expected = lerobot_compute_stats.get_feature_stats(sampled, axis=(0, 2, 3), keepdims=True)
    ours = image_stats(iter(list(frames)))  # a plain iterator: length found by materialising
    for name in STAT_NAMES:
        want = expected[name] if name == "count" else np.squeeze(expected[name] / 255.0, axis=0)
        assert ours[name].shape == ((1,) if name == "count" else (3, 1, 1))
        assert_stat_equal("images", name, ours[name], want)
    if n > 1:
        # uniform noise: std of U{0..255} / 255 ~ 0.289; lerobot <= 0.5 wrapped uint8 squares
        assert np.all(np.abs(ours["std"] - 0.2887) < 0.01)


def test_multi_dim_feature_reduces_all_but_the_last_axis(lerobot_compute_stats) -> None:  # type: ignore[no-untyped-def]
    """A (N, 21, 3) keypoint feature: lerobot reduces over frames and keypoints, stats are (3,)."""
    values = np.random.default_rng(5).standard_normal((40, 21, 3)).astype(np.float32)
    expected = lerobot_compute_stats.get_feature_stats(values, axis=0, keepdims=False)
    ours = numeric_stats(values)
    assert ours["mean"].shape == (3,) and ours["count"].tolist() == [40]
    for name in STAT_NAMES:
        np.testing.assert_array_equal(ours[name], expected[name], err_msg=name)


def test_sample_frame_indices_growth() -> None:
    assert sample_frame_indices(5) == [0, 1, 2, 3, 4]
    assert len(sample_frame_indices(1000)) == 177
    assert len(sample_frame_indices(10_000)) == 1000
    assert sample_frame_indices(0) == []


def test_image_stats_reads_only_what_it_needs() -> None:
    """With `length=` it stops after the last sampled frame (lazy FrameSource use)."""
    seen = []

    def frames():  # type: ignore[no-untyped-def]
        for t in range(20):
            seen.append(t)
            yield fixture_frame(t)

    stats = image_stats(frames(), length=12)
    assert seen == list(range(12))
    assert stats["count"].tolist() == [12]
    with pytest.raises(ValueError, match="expected 30 frames"):
        image_stats(frames(), length=30)


def test_image_mean_and_std_are_exact_where_float32_accumulation_drifts() -> None:
    """A bright, low-variance camera: lerobot's float32 E[x^2] - E[x]^2 loses ~17% of the std;
    ours equals a float64 computation over the same sampled pixels."""
    rng = np.random.default_rng(1)
    frames = np.clip(rng.normal(230, 3, (50, 64, 64, 3)), 0, 255).astype(np.uint8)
    ours = image_stats(list(frames))
    pixels = frames.reshape(-1, 3).astype(np.float64)
    np.testing.assert_allclose(ours["mean"].ravel(), pixels.mean(0) / 255, rtol=1e-12)
    np.testing.assert_allclose(ours["std"].ravel(), pixels.std(0) / 255, rtol=1e-9)
    f32 = frames.reshape(-1, 3).astype(np.float32)
    float32_std = np.sqrt(np.maximum(0, (f32**2).mean(0) - f32.mean(0) ** 2)) / 255
    assert np.all(np.abs(float32_std - pixels.std(0) / 255) / (pixels.std(0) / 255) > 0.1)
