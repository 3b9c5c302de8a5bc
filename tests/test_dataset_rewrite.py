"""The dataset rewriter on datasets this project's exporter wrote: rows, frames and stats compared exactly."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import av
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from dataset_support import (
    BOOKKEEPING,
    assert_loader_frames,
    assert_same_episode,
    data,
    digest,
    episodes,
    export,
    frames,
    info,
)
from export_support import frame, psnr, synthetic_episode

from lerobot_nb.dataset import (
    EditPlan,
    EpisodeEdit,
    ResolvedEdit,
    RewriteConfig,
    SourceDataset,
    merge_datasets,
    rewrite_dataset,
)
from lerobot_nb.errors import LerobotNbError
from lerobot_nb.stats import aggregate_stats, image_stats, numeric_stats, stats_to_json

LENGTHS = (12, 9, 15, 20)
CAMERAS = ("front", "wrist")


def _episodes(lengths: tuple[int, ...] = LENGTHS, first_seed: int = 0) -> list:  # type: ignore[type-arg]
    return [synthetic_episode(f"rec-{first_seed + i}", n, first_seed + i) for i, n in enumerate(lengths)]


def _config(out: Path, **kw: object) -> RewriteConfig:
    return RewriteConfig(output=str(out), progress=False, **kw)  # type: ignore[arg-type]


#: (source episode, start, end, task override) of each output episode: ep 1 dropped, 0 trimmed,
#: 2 whole with a new task, 3 split at frame 7 with its tail trimmed.
PLAN = ((0, 3, 10, None), (2, 0, 15, "fold the towel"), (3, 0, 7, None), (3, 7, 16, None))


def _plan(src: Path) -> EditPlan:
    edits = [EpisodeEdit(0, ep, start, end, task) for ep, start, end, task in PLAN]
    edits[2:] = [
        EpisodeEdit(0, 3, 0, 7, recording="rec-3#0"),
        EpisodeEdit(0, 3, 7, 16, recording="rec-3#1"),
    ]
    return EditPlan.of([src], edits)


@pytest.mark.slow
@pytest.mark.parametrize("codec", ["libsvtav1", "h264"])
def test_trim_drop_split_keep_every_value_and_picture(tmp_path: Path, codec: str) -> None:
    aligned = _episodes()
    src = export(tmp_path / "src", aligned, codec=codec)
    before = digest(src)
    summary = rewrite_dataset(_plan(src), _config(tmp_path / "out"))
    out = tmp_path / "out"
    assert digest(src) == before  # the input is only read
    assert summary.report is not None and summary.report.ok
    assert summary.table["stats"].to_list() == ["recomputed", "reused", "recomputed", "recomputed"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "src"]  # no build folder left
    meta = info(out)
    assert (meta["total_episodes"], meta["total_frames"]) == (4, 7 + 15 + 7 + 9)
    for out_ep, (ep, start, end, task) in enumerate(PLAN):
        assert_same_episode(src, ep, start, end, out, out_ep, task=task)
    assert json.loads((out / "meta/lerobot_nb.json").read_text())["episodes"] == {
        "rec-0": 0,
        "rec-2": 1,
        "rec-3#0": 2,
        "rec-3#1": 3,
    }
    # g=2: frame 3 decodes from the keyframe at 2, which stays in the file, unreferenced
    front = [r["videos/observation.images.front/from_timestamp"] for r in episodes(out)]
    assert front == [0.1, 0.8, 2.3, 3.0 + 0.1]
    _check_stats(src, out, aligned)


def _check_stats(src: Path, out: Path, aligned: list) -> None:  # type: ignore[type-arg]
    """Per-episode stats: reused ones equal the source's, cut ones an independent recomputation;
    stats.json: those folded in order (as the exporter folds), bit for bit."""
    table = data(out)
    src_rows, out_rows = episodes(src), episodes(out)
    expected_episodes = []
    for out_ep, (ep, start, end, _task) in enumerate(PLAN):
        whole = (start, end) == (0, aligned[ep].length)
        mine = table.filter(np.asarray(table["episode_index"]) == out_ep)
        expected: dict[str, dict[str, np.ndarray]] = {}
        for key in ("action", "observation.state"):
            expected[key] = numeric_stats(np.asarray(aligned[ep].numeric[key])[start:end])
        for i, cam in enumerate(CAMERAS):
            key = f"observation.images.{cam}"
            if whole:  # the exporter's stats of the frames it encoded
                expected[key] = image_stats([frame(t, ep + i) for t in range(aligned[ep].length)])
            else:  # recomputed from the kept frames as they decode
                expected[key] = image_stats(frames(out, out_ep, key))
            if whole:
                for stat in ("mean", "std", "min", "max", "q50"):
                    assert out_rows[out_ep][f"stats/{key}/{stat}"] == src_rows[ep][f"stats/{key}/{stat}"]
        for key in BOOKKEEPING:
            values = mine[key].to_numpy()
            expected[key] = numeric_stats(values if key != "timestamp" else np.arange(len(values)) / 10)
        for key, stats in expected.items():
            for stat, value in stats.items():
                assert out_rows[out_ep][f"stats/{key}/{stat}"] == np.asarray(value).tolist(), (
                    out_ep,
                    key,
                    stat,
                )
        expected_episodes.append({k: expected[k] for k in info(out)["features"]})
    folded = expected_episodes[0]
    for episode_stats in expected_episodes[1:]:
        folded = aggregate_stats([folded, episode_stats])
    assert json.loads((out / "meta/stats.json").read_text()) == json.loads(json.dumps(stats_to_json(folded)))


@pytest.mark.slow
def test_lerobot_loader_reads_the_kept_pictures_with_both_backends(tmp_path: Path) -> None:
    src = export(tmp_path / "src", _episodes(), codec="libsvtav1")
    rewrite_dataset(_plan(src), _config(tmp_path / "out", validate="off"))
    for backend in ("pyav", "torchcodec"):
        assert_loader_frames(tmp_path / "out", backend)


def _inline_and_sharded(tmp_path: Path, codec: str) -> tuple[Path, Path]:
    lengths = (10, 14, 9, 12, 16, 11)
    aligned = _episodes(lengths)
    inline = export(tmp_path / "inline", aligned, codec=codec)
    shards = [export(tmp_path / f"shard{i}", aligned[3 * i : 3 * i + 3], codec=codec) for i in range(2)]
    merge_datasets(shards, _config(tmp_path / "merged"))
    return inline, tmp_path / "merged"


@pytest.mark.slow
@pytest.mark.parametrize("codec", ["libsvtav1", "h264"])
def test_merged_shards_equal_one_inline_export(tmp_path: Path, codec: str) -> None:
    inline, merged = _inline_and_sharded(tmp_path, codec)
    assert data(merged).equals(data(inline))  # every column, every row, same types
    assert episodes(merged) == episodes(inline)  # indices, tasks, video timestamps, every stat
    for rel in ("meta/stats.json", "meta/lerobot_nb.json", "meta/info.json"):
        assert json.loads((merged / rel).read_text()) == json.loads((inline / rel).read_text()), rel
    assert pq.read_table(merged / "meta/tasks.parquet").equals(pq.read_table(inline / "meta/tasks.parquet"))
    # libx264 here does not give the same bytes for the same frames in every run (an inline export
    # against itself too, about 1 in 6; SVT-AV1 does): for h264 the packets' timing and keyframes
    # must match and the pictures agree within 40 dB, for AV1 bit for bit.
    exact = codec == "libsvtav1"
    for rel in sorted(p.relative_to(inline) for p in (inline / "videos").rglob("*.mp4")):
        got, want = _payloads(merged / rel), _payloads(inline / rel)
        assert (got if exact else [p[1:] for p in got]) == (want if exact else [p[1:] for p in want]), rel
    cache: dict[Path, object] = {}
    for ep in range(6):
        for cam in CAMERAS:
            key = f"observation.images.{cam}"
            pictures = zip(frames(merged, ep, key, cache), frames(inline, ep, key, cache), strict=True)  # type: ignore[arg-type]
            same = (np.array_equal(a, b) if exact else psnr(a, b) > 40 for a, b in pictures)
            assert all(same), (ep, key)


def _payloads(path: Path) -> list[tuple[bytes, int | None, bool]]:
    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        return [(bytes(p), p.pts, p.is_keyframe) for p in c.demux(stream) if p.size]


def test_files_roll_at_the_size_limits(tmp_path: Path) -> None:
    src = export(tmp_path / "src", _episodes((20, 20, 20, 20)))
    rewrite_dataset(
        EditPlan.of([src], [EpisodeEdit(0, e, 2, 18) for e in range(4)]),
        _config(tmp_path / "out", data_files_size_in_mb=0.004, video_files_size_in_mb=0.004),
    )
    out = tmp_path / "out"
    assert len(list((out / "data").rglob("*.parquet"))) > 1
    assert len(list((out / "videos/observation.images.front").rglob("*.mp4"))) > 1
    for f in (out / "data").rglob("*.parquet"):  # still one row group per episode
        assert pq.ParquetFile(f).metadata.num_row_groups == len(pq.read_table(f)["episode_index"].unique())
    for ep in range(4):
        assert_same_episode(src, ep, 2, 18, out, ep)
    assert info(out)["data_files_size_in_mb"] == 0.004


class _Doubled:
    """A column transform as `prepare` will use one: action doubled, a new scalar feature added."""

    changed = frozenset({"action", "observation.speed"})

    def features(self, source: SourceDataset) -> dict[str, dict[str, Any]]:
        return {"observation.speed": {"dtype": "float32", "shape": [1], "names": None}, **source.features}

    def write_meta(self, root: Path) -> None:
        pass

    def apply(self, edit: ResolvedEdit, rows: pa.Table) -> pa.Table:
        action = np.stack(rows["action"].to_numpy(zero_copy_only=False))
        doubled = pa.FixedSizeListArray.from_arrays(pa.array((2 * action).ravel()), 6)
        rows = rows.set_column(rows.column_names.index("action"), "action", doubled)
        return rows.append_column("observation.speed", pa.array(np.abs(action[:, 0]), pa.float32()))


@pytest.mark.slow
def test_column_transform_rewrites_columns_and_their_stats_only(tmp_path: Path) -> None:
    aligned = _episodes((12, 9))
    src = export(tmp_path / "src", aligned, codec="h264")
    plan = EditPlan.of([src], [EpisodeEdit(0, 0, 2, 10), EpisodeEdit(0, 1)])
    rewrite_dataset(plan, _config(tmp_path / "out"), transform=_Doubled())  # fully validated
    out = tmp_path / "out"
    assert next(iter(info(out)["features"])) == "observation.speed"
    table, rows = data(out), episodes(out)
    for out_ep, (ep, start, end) in enumerate([(0, 2, 10), (1, 0, 9)]):
        action = aligned[ep].numeric["action"][start:end]
        mine = table.filter(np.asarray(table["episode_index"]) == out_ep)
        np.testing.assert_array_equal(np.stack(mine["action"].to_numpy(zero_copy_only=False)), 2 * action)
        np.testing.assert_array_equal(mine["observation.speed"].to_numpy(), np.abs(action[:, 0]))
        assert rows[out_ep]["stats/action/std"] == numeric_stats(2 * action)["std"].tolist()
        assert (
            rows[out_ep]["stats/observation.speed/max"] == numeric_stats(np.abs(action[:, 0]))["max"].tolist()
        )
        for cam in CAMERAS:
            key = f"observation.images.{cam}"
            assert all(
                np.array_equal(a, b)
                for a, b in zip(frames(out, out_ep, key), frames(src, ep, key)[start:end], strict=True)
            )
    assert rows[1]["stats/observation.state/q50"] == episodes(src)[1]["stats/observation.state/q50"]  # reused


class _NewState:
    """Sources of different state sizes mapped to one 2-dim state; the wrist camera left out; a sidecar."""

    changed = frozenset({"observation.state"})

    def features(self, source: SourceDataset) -> dict[str, dict[str, Any]]:
        out = {k: f for k, f in source.features.items() if k != "observation.images.wrist"}
        out["observation.state"] = {"dtype": "float32", "shape": [2], "names": ["first", "last"]}
        return out

    def apply(self, edit: ResolvedEdit, rows: pa.Table) -> pa.Table:
        state = np.stack(rows["observation.state"].to_numpy(zero_copy_only=False))
        both = np.stack([state[:, 0], state[:, -1]], axis=1).astype(np.float32)
        column = pa.FixedSizeListArray.from_arrays(pa.array(both.ravel()), 2)
        return rows.set_column(rows.column_names.index("observation.state"), "observation.state", column)

    def write_meta(self, root: Path) -> None:
        (root / "meta" / "sidecar.json").write_text('{"ok": true}')


def test_column_transform_merges_sources_of_other_features(tmp_path: Path) -> None:
    """Features are compared after the transform: 7- and 5-dim states merge into one 2-dim state;
    a camera the transform leaves out is not copied; its own meta file is published with the rest."""
    seven = [synthetic_episode("rec-a", 10, 1)]
    five = [synthetic_episode("rec-b", 8, 2, state_dim=5)]
    a, b = export(tmp_path / "a", seven, codec="h264"), export(tmp_path / "b", five, codec="h264")
    plan = EditPlan.of([a, b], [EpisodeEdit(0, 0), EpisodeEdit(1, 0)])
    with pytest.raises(LerobotNbError, match=r"feature observation.state has shape \[5\], not \[7\]"):
        rewrite_dataset(plan, _config(tmp_path / "plain"))
    rewrite_dataset(plan, _config(tmp_path / "out"), transform=_NewState())
    out = tmp_path / "out"
    assert json.loads((out / "meta/sidecar.json").read_text()) == {"ok": True}
    assert "observation.images.wrist" not in info(out)["features"]
    assert not (out / "videos/observation.images.wrist").exists()
    table = data(out)
    for out_ep, ep in enumerate([seven[0], five[0]]):
        state = ep.numeric["observation.state"]
        mine = np.stack(
            table.filter(np.asarray(table["episode_index"]) == out_ep)["observation.state"].to_numpy(
                zero_copy_only=False
            )
        )
        np.testing.assert_array_equal(mine, np.stack([state[:, 0], state[:, -1]], axis=1))
        assert episodes(out)[out_ep]["stats/observation.state/mean"] == numeric_stats(mine)["mean"].tolist()
        assert all(
            np.array_equal(x, y)
            for x, y in zip(
                frames(out, out_ep, "observation.images.front"),
                frames([a, b][out_ep], 0, "observation.images.front"),
                strict=True,
            )
        )
