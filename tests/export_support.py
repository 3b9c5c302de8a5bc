"""Synthetic aligned episodes and a lerobot round-trip check, shared by the export tests."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lerobot_nb.episode import AlignedEpisode, EncodedVideo
from lerobot_nb.frames import DecodedFrames

H, W = 48, 64


def frame(t: int, seed: int, h: int = H, w: int = W) -> np.ndarray:
    """A smooth, moving RGB test image (compresses well, so PSNR bounds are meaningful)."""
    y, x = np.mgrid[0:h, 0:w]
    r = (128 + 100 * np.sin((x + 3 * t + seed) / 9.0)).astype(np.uint8)
    g = (128 + 100 * np.cos((y + 2 * t) / 7.0 + seed)).astype(np.uint8)
    b = np.full((h, w), (40 * seed + 5 * t) % 256, np.uint8)
    return np.stack([r, g, b], axis=-1)


class NumpyFrames(DecodedFrames):
    """A FrameSource over frames made on the fly (never holds the episode in memory)."""

    def __init__(
        self,
        length: int,
        seed: int,
        h: int = H,
        w: int = W,
        encoded: EncodedVideo | None = None,
        bad_at: int | None = None,
        short_by: int = 0,
    ) -> None:
        super().__init__(length, h, w)
        self.length, self.seed = length, seed
        self._encoded = encoded
        self.bad_at = bad_at
        self.short_by = short_by  # a broken source that yields fewer frames than it claims

    def __iter__(self) -> Iterator[np.ndarray]:
        for t in range(self.length - self.short_by):
            if t == self.bad_at:
                yield frame(t, self.seed, self._h + 2, self._w)
            else:
                yield frame(t, self.seed, self._h, self._w)

    def encoded(self, codec: str) -> EncodedVideo | None:
        return self._encoded if self._encoded is not None and self._encoded.codec == codec else None


def synthetic_episode(
    episode_id: str,
    length: int,
    seed: int,
    *,
    fps: int = 10,
    cameras: Sequence[str] = ("front", "wrist"),
    tasks: Sequence[str] | None = None,
    state_dim: int = 7,
    h: int = H,
    w: int = W,
    **frames_kw: Any,
) -> AlignedEpisode:
    rng = np.random.default_rng(seed)
    action = rng.standard_normal((length, 6)).astype(np.float32)
    state = rng.standard_normal((length, state_dim)).astype(np.float32)
    if tasks is None:
        tasks = ["pick the cube"] * (length // 2) + ["place the cube"] * (length - length // 2)
    return AlignedEpisode(
        episode_id=episode_id,
        fps=fps,
        index="real_time",
        ticks=np.arange(length, dtype=np.int64) * (1_000_000_000 // fps),
        numeric={"action": action, "observation.state": state},
        images={c: NumpyFrames(length, seed + i, h, w, **frames_kw) for i, c in enumerate(cameras)},
        tasks=tuple(tasks),
        names={"action": tuple(f"a{i}" for i in range(6)), "observation.state": None},
        source=f"/recordings/{episode_id}.rrd",
    )


def assert_valid(root: Path) -> None:
    """The validate step (independent checks of structure, time, video, stats, loading) passes."""
    from lerobot_nb.validate import validate

    report = validate(root)
    assert report.ok, report.summary()


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 99.0 if mse == 0 else 10 * np.log10(255.0**2 / mse)


def check_loads_in_lerobot(root: Path, episodes: Sequence[AlignedEpisode], *, min_psnr: float = 28.0) -> Any:
    """Open with lerobot (pyav), read every item and frame; numeric exact, images within PSNR.

    `episodes` are the aligned inputs in dataset order. Returns the dataset.
    """
    from lerobot.datasets import LeRobotDataset

    ds = LeRobotDataset("local/test", root=root, video_backend="pyav")
    assert ds.num_episodes == len(episodes)
    assert ds.num_frames == sum(e.length for e in episodes)
    # On disk the values are exactly the aligned input, in its own dtype.
    import pyarrow as pa
    import pyarrow.parquet as pq

    data = pa.concat_tables(pq.read_table(f) for f in sorted((root / "data").rglob("*.parquet")))
    start = 0
    for ep in episodes:
        for key, values in ep.numeric.items():
            column = data[key].slice(start, ep.length)
            stored = (
                np.stack(column.to_numpy(zero_copy_only=False))
                if pa.types.is_fixed_size_list(column.type)
                else column.to_numpy()
            )
            np.testing.assert_array_equal(stored.reshape(np.asarray(values).shape), values)
            assert stored.dtype == np.asarray(values).dtype
        start += ep.length
    i = 0
    for ep_index, ep in enumerate(episodes):
        truth = {cam: iter(src) for cam, src in ep.images.items()}  # the aligned frames, in order
        for k in range(ep.length):
            item = ds[i]
            assert int(item["episode_index"]) == ep_index
            assert int(item["frame_index"]) == k
            assert float(item["timestamp"]) == np.float32(k / ep.fps)
            for key, values in ep.numeric.items():
                want_k = np.asarray(values)[k]
                if want_k.dtype.kind == "f":  # lerobot's loader hands out float32 (torch.tensor default)
                    want_k = want_k.astype(np.float32)
                np.testing.assert_array_equal(item[key].numpy().reshape(want_k.shape), want_k)
            assert item["task"] == ep.tasks[k]
            for cam, frames in truth.items():
                got = (
                    (item[f"observation.images.{cam}"].numpy().transpose(1, 2, 0) * 255)
                    .round()
                    .astype(np.uint8)
                )
                want = next(frames)
                assert psnr(got, want) >= min_psnr, (ep.episode_id, cam, k, psnr(got, want))
            i += 1
    # An action chunk as a policy trains on it: 3 ticks from the last-but-one frame, padded past the end.
    if episodes and "action" in episodes[0].numeric:
        fps = episodes[0].fps
        chunked = LeRobotDataset(
            "local/test",
            root=root,
            video_backend="pyav",
            delta_timestamps={"action": [0.0, 1 / fps, 2 / fps]},
        )
        start = 0
        for ep in episodes:
            k = max(ep.length - 2, 0)
            item = chunked[start + k]
            want = np.asarray(ep.numeric["action"])[k : k + 3].astype(np.float32)
            np.testing.assert_array_equal(item["action"][: len(want)].numpy().reshape(want.shape), want)
            assert item["action_is_pad"].tolist() == [False] * len(want) + [True] * (3 - len(want))
            start += ep.length
    return ds
