"""The rewriter refuses what it cannot do exactly, in one line, and never leaves half a dataset."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from dataset_support import assert_same_episode, digest, export, info
from export_support import synthetic_episode

from lerobot_nb.dataset import (
    EditPlan,
    EpisodeEdit,
    RewriteConfig,
    delete_episodes,
    merge_datasets,
    rewrite_dataset,
    split_episode,
    trim_episodes,
)
from lerobot_nb.errors import LerobotNbError

TESTS = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def src(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three episodes of 12, 9, 15 frames (h264, one camera), read-only in every test."""
    aligned = [synthetic_episode(f"rec-{i}", n, i, cameras=("front",)) for i, n in enumerate((12, 9, 15))]
    return export(tmp_path_factory.mktemp("src") / "ds", aligned, codec="h264")


def _config(out: Path, **kw: object) -> RewriteConfig:
    return RewriteConfig(**{"output": str(out), "progress": False, "validate": "quick", **kw})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("edits", "message"),
    [
        ([], "no episode would be left in the new dataset"),
        ([EpisodeEdit(0, 7)], "no episode 7 (the dataset has episodes 0..2)"),
        ([EpisodeEdit(0, 0, 5, 13)], "episode 0: frames [5, 13) are outside the episode's 12 frames"),
        ([EpisodeEdit(0, 0, 6, 6)], "episode 0: frames [6, 6) leave no frame in the episode"),
        ([EpisodeEdit(0, 1), EpisodeEdit(0, 1, 2)], "recording id 'rec-1' would name two output episodes"),
    ],
)
def test_bad_plans(src: Path, tmp_path: Path, edits: list[EpisodeEdit], message: str) -> None:
    before = digest(src)
    with pytest.raises(LerobotNbError) as caught:
        rewrite_dataset(EditPlan.of([src], edits), _config(tmp_path / "out"))
    assert message in str(caught.value) and "\n" not in str(caught.value)
    assert digest(src) == before
    assert list(tmp_path.iterdir()) == []  # no output, no build folder


def test_ops_check_their_arguments(src: Path, tmp_path: Path) -> None:
    with pytest.raises(LerobotNbError, match="no episode 5"):
        delete_episodes(src, [5], _config(tmp_path / "a"))
    with pytest.raises(LerobotNbError, match="no episode would be left"):
        delete_episodes(src, [0, 1, 2], _config(tmp_path / "a"))
    with pytest.raises(LerobotNbError, match=re.escape("split frames [0] must be distinct and inside")):
        split_episode(src, 1, [0], _config(tmp_path / "a"))
    with pytest.raises(LerobotNbError, match="no episode 3"):
        trim_episodes(src, {3: (0, 2)}, _config(tmp_path / "a"))
    with pytest.raises(LerobotNbError, match="no datasets to merge"):
        merge_datasets([], _config(tmp_path / "a"))
    assert list(tmp_path.iterdir()) == []


def test_ops_results(src: Path, tmp_path: Path) -> None:
    delete_episodes(src, [1], _config(tmp_path / "del"))
    assert info(tmp_path / "del")["total_episodes"] == 2
    assert_same_episode(src, 2, 0, 15, tmp_path / "del", 1)
    split_episode(src, 2, [4, 10], _config(tmp_path / "split"))
    for out_ep, (start, end) in enumerate([(0, 4), (4, 10), (10, 15)], start=2):
        assert_same_episode(src, 2, start, end, tmp_path / "split", out_ep)
    trim_episodes(src, {0: (2, None)}, _config(tmp_path / "trim"))
    assert_same_episode(src, 0, 2, 12, tmp_path / "trim", 0)


def test_merge_refuses_other_features_and_codecs(src: Path, tmp_path: Path) -> None:
    wider = export(
        tmp_path / "wider", [synthetic_episode("w", 6, 1, cameras=("front",), state_dim=9)], codec="h264"
    )
    with pytest.raises(LerobotNbError, match=re.escape("feature observation.state has shape [9], not [7]")):
        merge_datasets([src, wider], _config(tmp_path / "out"))
    av1 = export(tmp_path / "av1", [synthetic_episode("a", 6, 1, cameras=("front",))], codec="libsvtav1")
    with pytest.raises(LerobotNbError) as caught:
        merge_datasets([src, av1], _config(tmp_path / "out"))
    assert "videos of observation.images.front differ in video.codec 'av1' (not 'h264')" in str(caught.value)
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_merge_of_other_encoder_tuning_keeps_frames_and_forgets_the_tuning(src: Path, tmp_path: Path) -> None:
    other = export(
        tmp_path / "crf18", [synthetic_episode("c", 8, 5, cameras=("front",))], codec="h264", crf=18
    )
    merge_datasets([src, other], _config(tmp_path / "out", validate="full"))
    merged = info(tmp_path / "out")["features"]["observation.images.front"]["info"]
    assert merged["video.crf"] is None and merged["video.codec"] == "h264" and merged["video.g"] == 2
    assert_same_episode(other, 0, 0, 8, tmp_path / "out", 3)
    assert_same_episode(src, 2, 0, 15, tmp_path / "out", 2)


def test_invalid_result_is_not_published(tmp_path: Path) -> None:
    """A source whose action holds NaN gives a dataset lerobot_nb.validate fails: nothing is published."""
    episode = synthetic_episode("nan", 10, 0, cameras=("front",))
    episode.numeric["action"][4, 2] = np.nan
    src = export(tmp_path / "src", [episode], codec="h264")
    before = digest(src)
    with pytest.raises(
        LerobotNbError,
        match=re.escape("the new dataset fails validation (stats.present, training.finite: `action`"),
    ):
        trim_episodes(src, {0: (1, 9)}, _config(tmp_path / "out"))
    assert digest(src) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["src"]


CHILD = textwrap.dedent("""
    import sys, time
    from lerobot_nb.curate import CurateApplyConfig, apply_curation
    import lerobot_nb.export.video as video, lerobot_nb.export.publish as publish
    point, marker, src, out = sys.argv[1:5]

    def stop(*args, **kwargs):
        open(marker, "w").close()
        while True:
            time.sleep(1)

    if point == "mid-video":
        original, calls = video.VideoTrack.append_packets, [0]
        def counting(self, *a, **k):
            calls[0] += 1
            if calls[0] == 3:
                stop()
            return original(self, *a, **k)
        video.VideoTrack.append_packets = counting
    else:  # validated, just before the rename
        publish._fsync_tree = stop
    apply_curation(src, CurateApplyConfig(output=out, overwrite=True, progress=False, validate="quick"))
""")


@pytest.mark.slow
@pytest.mark.parametrize("point", ["mid-video", "mid-publish"])
def test_sigkill_leaves_the_previous_output_and_the_input(src: Path, tmp_path: Path, point: str) -> None:
    out = tmp_path / "out"
    delete_episodes(src, [0], _config(out))  # a previous result that must survive
    before_out, before_src = digest(out), digest(src)
    marker = tmp_path / "marker"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS.parent), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, point, str(marker), str(src), str(out)], env=env, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 120
    while not marker.exists():
        assert proc.poll() is None, proc.stderr.read().decode()  # type: ignore[union-attr]
        assert time.monotonic() < deadline
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert digest(out) == before_out and digest(src) == before_src
    assert any(p.name.startswith(".out.building-") for p in tmp_path.iterdir())  # the dead run's folder
    merge_datasets([src], _config(out, overwrite=True))  # the next run cleans it up and succeeds
    assert sorted(p.name for p in tmp_path.iterdir()) == ["marker", "out"]
    assert json.loads((out / "meta/lerobot_nb.json").read_text())["episodes"] == {
        "rec-0": 0,
        "rec-1": 1,
        "rec-2": 2,
    }
