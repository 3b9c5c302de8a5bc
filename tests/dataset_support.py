"""Independent readers for the dataset-editing tests: rows, decoded frames, file digests, comparisons.

Nothing here uses `lerobot_nb.dataset`: frames are decoded with PyAV from the whole file and
picked by time, rows are read with pyarrow, so the rewriter is checked against the files alone.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import av
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from lerobot_nb.episode import AlignedEpisode
from lerobot_nb.export.config import ExportConfig
from lerobot_nb.export.writer import export_dataset

BOOKKEEPING = ("timestamp", "frame_index", "episode_index", "index", "task_index")


def export(out: Path, episodes: Sequence[AlignedEpisode], **kw: Any) -> Path:
    """Write episodes with this project's exporter (the datasets these tests edit)."""
    export_dataset(list(episodes), ExportConfig(output=str(out), progress=False, **kw))
    return out


def copy_fixture(src: Path, tmp: Path) -> Path:
    dst = tmp / src.name
    shutil.copytree(src, dst)
    return dst


def digest(root: Path) -> dict[str, str]:
    """sha256 of every file under root (relative path -> hex): proves an input was not modified."""
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def info(root: Path) -> dict[str, Any]:
    return dict(json.loads((root / "meta/info.json").read_text()))


def episodes(root: Path) -> list[dict[str, Any]]:
    files = sorted((root / "meta/episodes").rglob("*.parquet"))
    return pa.concat_tables(pq.read_table(f) for f in files).to_pylist()


def data(root: Path) -> pa.Table:
    files = sorted((root / "data").rglob("*.parquet"))
    return pa.concat_tables(pq.read_table(f) for f in files)


def tasks(root: Path) -> dict[int, str]:
    table = pq.read_table(root / "meta/tasks.parquet")
    name = next(n for n in table.column_names if n != "task_index")
    return dict(zip(table["task_index"].to_pylist(), table[name].to_pylist(), strict=True))


def rows(root: Path, episode: int) -> pa.Table:
    table = data(root)
    mask = np.asarray(table["episode_index"]) == episode
    return table.filter(pa.array(mask))


def _decoded(path: Path, cache: dict[Path, list[tuple[float, np.ndarray]]]) -> list[tuple[float, np.ndarray]]:
    if path not in cache:
        with av.open(str(path)) as c:
            stream = c.streams.video[0]
            cache[path] = [
                (float(f.pts * stream.time_base), f.to_ndarray(format="rgb24")) for f in c.decode(stream)
            ]
    return cache[path]


def frames(root: Path, episode: int, key: str, cache: dict[Path, Any] | None = None) -> list[np.ndarray]:
    """Every frame of one episode's camera: the decoded picture at from_timestamp + k / fps."""
    cache = {} if cache is None else cache
    row = episodes(root)[episode]
    fps = info(root)["fps"]
    rel = info(root)["video_path"].format(
        video_key=key,
        chunk_index=row[f"videos/{key}/chunk_index"],
        file_index=row[f"videos/{key}/file_index"],
    )
    decoded = _decoded(root / rel, cache)
    times = np.array([t for t, _ in decoded])
    out = []
    for k in range(row["length"]):
        t = row[f"videos/{key}/from_timestamp"] + k / fps
        i = int(np.argmin(np.abs(times - t)))
        assert abs(times[i] - t) < 1e-4, (root, episode, key, k, t, times[i])
        out.append(decoded[i][1])
    return out


def assert_same_episode(
    src: Path, src_episode: int, start: int, end: int, out: Path, out_episode: int, *, task: str | None = None
) -> None:
    """Output episode = frames [start, end) of the source episode: every value, task and picture."""
    fps = info(out)["fps"]
    a, b = rows(src, src_episode).slice(start, end - start), rows(out, out_episode)
    assert b.num_rows == end - start
    assert a.column_names == b.column_names
    for name in a.column_names:
        if name not in BOOKKEEPING:
            assert a[name].equals(b[name]), (name, out_episode)
    n = end - start
    np.testing.assert_array_equal(b["frame_index"].to_numpy(), np.arange(n))
    np.testing.assert_array_equal(
        b["timestamp"].to_numpy(), (np.arange(n, dtype=np.float64) / fps).astype(np.float32)
    )
    assert set(b["episode_index"].to_pylist()) == {out_episode}
    first = episodes(out)[out_episode]["dataset_from_index"]
    np.testing.assert_array_equal(b["index"].to_numpy(), np.arange(first, first + n))
    src_tasks, out_tasks = tasks(src), tasks(out)
    want = [task] * n if task else [src_tasks[i] for i in a["task_index"].to_pylist()]
    assert [out_tasks[i] for i in b["task_index"].to_pylist()] == want
    for key in video_keys(out):
        got, expected = frames(out, out_episode, key), frames(src, src_episode, key)[start:end]
        assert len(got) == len(expected)
        for k, (x, y) in enumerate(zip(got, expected, strict=True)):
            assert np.array_equal(x, y), (key, out_episode, k)


def video_keys(root: Path) -> list[str]:
    return [k for k, f in info(root)["features"].items() if f["dtype"] == "video"]


def assert_loader_frames(root: Path, backend: str) -> None:
    """lerobot's own loader hands out, at every item, the picture decoded from the file."""
    from lerobot.datasets import LeRobotDataset

    ds = LeRobotDataset("local/edited", root=root, video_backend=backend)
    cache: dict[Path, Any] = {}
    i = 0
    for ep, row in enumerate(episodes(root)):
        truth = {key: frames(root, ep, key, cache) for key in video_keys(root)}
        for k in range(row["length"]):
            item = ds[i]
            assert int(item["episode_index"]) == ep and int(item["frame_index"]) == k
            for key, pictures in truth.items():
                got = (item[key].numpy().transpose(1, 2, 0) * 255).round().astype(np.uint8)
                assert np.array_equal(got, pictures[k]), (backend, ep, k, key)
            i += 1
    assert i == len(ds)
