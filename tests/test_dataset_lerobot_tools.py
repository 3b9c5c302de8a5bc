"""lerobot 0.6.1's own `dataset_tools` against this rewriter on the same inputs.

These tests pin down where lerobot's tools fall short (and why `lerobot_nb.dataset` does not call
them): `delete_episodes` re-encodes every video file that mixes kept and deleted episodes and
keeps the deleted layout's `index`/`episode_index` stats; `merge_datasets` copies videos exactly
but aggregates `stats.json` from the inputs' `stats.json`, so `index`/`episode_index` are those
of one shard, and turns fixed-size vector columns into variable-size lists. If a lerobot update
fixes one of these, its test fails: then reconsider using the tool.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest
from dataset_support import BOOKKEEPING, data, episodes, export, frames, rows
from export_support import synthetic_episode

from lerobot_nb.dataset import RewriteConfig, delete_episodes, merge_datasets
from lerobot_nb.stats import numeric_stats

pytestmark = pytest.mark.slow
FRONT = "observation.images.front"


def _lerobot(root: Path, name: str):  # type: ignore[no-untyped-def]
    from lerobot.datasets import LeRobotDataset

    logging.getLogger().setLevel(logging.WARNING)
    return LeRobotDataset(f"local/{name}", root=root, video_backend="pyav")


def _config(out: Path) -> RewriteConfig:
    return RewriteConfig(output=str(out), progress=False, validate="off")


def test_delete_episodes(tmp_path: Path) -> None:
    from lerobot.datasets import dataset_tools

    aligned = [synthetic_episode(f"rec-{i}", n, i) for i, n in enumerate((12, 9, 15, 20))]
    src = export(tmp_path / "src", aligned)
    dataset_tools.delete_episodes(_lerobot(src, "src"), [1], output_dir=tmp_path / "lr", repo_id="local/lr")
    delete_episodes(src, [1], _config(tmp_path / "nb"))
    lr, nb = tmp_path / "lr", tmp_path / "nb"
    for out_ep, src_ep in enumerate((0, 2, 3)):
        for name in ("action", "observation.state"):  # both keep the values
            want = rows(src, src_ep)[name].to_pylist()
            assert rows(lr, out_ep)[name].to_pylist() == want == rows(nb, out_ep)[name].to_pylist()
        source = frames(src, src_ep, FRONT)
        ours, theirs = frames(nb, out_ep, FRONT), frames(lr, out_ep, FRONT)
        assert all(np.array_equal(a, b) for a, b in zip(source, ours, strict=True))  # packets copied
        worst = max(int(np.abs(a.astype(int) - b).max()) for a, b in zip(source, theirs, strict=True))
        assert worst > 0, "lerobot re-encoded the file (kept + deleted episodes): pixels change"
    # per-episode index stats: ours describe the new rows, lerobot's still the deleted layout
    new_index = rows(nb, 1)["index"].to_numpy()
    assert episodes(nb)[1]["stats/index/min"] == numeric_stats(new_index)["min"].tolist() == [12.0]
    assert episodes(lr)[1]["stats/index/min"] == [21.0]
    assert json.loads((lr / "meta/stats.json").read_text())["episode_index"]["max"] == [
        3.0
    ]  # 3 episodes: 0..2
    assert json.loads((nb / "meta/stats.json").read_text())["episode_index"]["max"] == [2]


def test_merge_datasets(tmp_path: Path) -> None:
    from lerobot.datasets import dataset_tools

    aligned = [synthetic_episode(f"rec-{i}", n, i) for i, n in enumerate((10, 14, 9, 12, 16, 11))]
    inline = export(tmp_path / "inline", aligned)
    shards = [export(tmp_path / f"shard{i}", aligned[3 * i : 3 * i + 3]) for i in range(2)]
    dataset_tools.merge_datasets(
        [_lerobot(s, s.name) for s in shards], output_repo_id="local/lr", output_dir=tmp_path / "lr"
    )
    merge_datasets(shards, _config(tmp_path / "nb"))
    lr, nb = tmp_path / "lr", tmp_path / "nb"
    assert data(nb).equals(data(inline))
    theirs, want = data(lr), data(inline)
    for name in want.column_names:  # lerobot keeps the values ...
        assert theirs[name].to_pylist() == want[name].to_pylist(), name
    assert str(theirs.schema.field("action").type) == "list<element: float>"  # ... not the vector type
    for ep in range(6):  # both copy the packets
        assert all(
            np.array_equal(a, b)
            for a, b in zip(frames(lr, ep, FRONT), frames(inline, ep, FRONT), strict=True)
        )
    stats = {
        name: json.loads((root / "meta/stats.json").read_text()) for name, root in (("lr", lr), ("nb", nb))
    }
    inline_stats = json.loads((inline / "meta/stats.json").read_text())
    assert stats["nb"] == inline_stats  # bit for bit
    assert inline_stats["index"]["max"] == [71] and inline_stats["episode_index"]["max"] == [5]
    assert stats["lr"]["index"]["max"] == [38.0] and stats["lr"]["episode_index"]["max"] == [2.0]
    for name in set(inline_stats) - set(BOOKKEEPING):  # the other features agree to float rounding
        for stat, value in inline_stats[name].items():
            np.testing.assert_allclose(stats["lr"][name][stat], value, rtol=1e-6, atol=1e-12)
