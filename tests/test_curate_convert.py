"""`lerobot-nb convert --curation FILE` writes the dataset that `convert` + `curate apply` write.

Both runs start from the same planted-defect recordings; the curation drops, trims, splits and
retasks. The datasets are compared row by row (every column), in their metadata, statistics and
frame by frame (PyAV, independent of the package).
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import numpy as np
import pytest
from curate_defects import SAMPLE_ALIGN
from dataset_support import data, episodes, frames, info, tasks, video_keys
from export_support import psnr

from lerobot_nb.cli.main import main
from lerobot_nb.sources.sample import sample_recordings

pytestmark = pytest.mark.slow

CURATION = """
episodes:
  pusht_001: {trim: [1.4, 6.1]}       # an idle head and tail
  pusht_002: {split: [4.0]}           # two pieces
  pusht_003: {task: push it gently}   # a new task
  pusht_004: {drop: a gap of 0.8 s}
  pusht_005: {drop: a duplicate of pusht_000}
"""
#: the recording id of each output episode
EXPECTED = ["pusht_000", "pusht_001", "pusht_002#0", "pusht_002#1", "pusht_003"]


def align_flags() -> list[str]:
    flags = [f"--fps={SAMPLE_ALIGN['fps']}", f"--index={SAMPLE_ALIGN['index']}"]
    flags += [
        f"--{k.replace('_', '-')}={SAMPLE_ALIGN[k]}" for k in ("action_path", "state_path", "task_path")
    ]
    return flags + [f"--image={spec}" for spec in SAMPLE_ALIGN["image"]] + ["--no-progress"]


@pytest.fixture(scope="module")
def runs(defects: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path, str]:
    """(convert + curate apply, convert --curation, plain convert, what convert --curation printed)."""
    tmp = tmp_path_factory.mktemp("convert")
    recordings = defects
    curation = tmp / "curation.yaml"
    curation.write_text(CURATION)
    plain, applied, direct = tmp / "plain", tmp / "applied", tmp / "direct"
    assert main(["convert", str(recordings), *align_flags(), "--output", str(plain)]) == 0
    assert main(["curate", "apply", str(plain), "--curation", str(curation), "--output", str(applied)]) == 0
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert (
            main(
                [
                    "convert",
                    str(recordings),
                    *align_flags(),
                    "--output",
                    str(direct),
                    "--curation",
                    str(curation),
                ]
            )
            == 0
        )
    return applied, direct, plain, printed.getvalue()


def test_same_episodes_rows_and_tasks(runs: tuple[Path, Path, Path, str]) -> None:
    applied, direct, plain, _ = runs
    for root in (applied, direct):
        assert json.loads((root / "meta/lerobot_nb.json").read_text())["episodes"] == {
            rec: i for i, rec in enumerate(EXPECTED)
        }
    a, b = data(applied), data(direct)
    assert a.column_names == b.column_names and a.num_rows == b.num_rows
    for name in a.column_names:  # values, timestamps k/fps, frame/episode/global indices, task indices
        assert a[name].equals(b[name]), name
    assert tasks(applied) == tasks(direct) and "push it gently" in tasks(direct).values()
    lengths = [e["length"] for e in episodes(direct)]
    assert lengths == [e["length"] for e in episodes(applied)]
    plain_lengths = {
        r: e["length"]
        for r, e in zip(
            json.loads((plain / "meta/lerobot_nb.json").read_text())["episodes"], episodes(plain), strict=True
        )
    }
    # the trim keeps frames 14..60 of pusht_001; the split cuts pusht_002 at frame 40
    assert (
        lengths[1] == 61 - 14 and lengths[2] + lengths[3] == plain_lengths["pusht_002"] and lengths[2] == 40
    )
    assert info(direct)["total_frames"] == info(applied)["total_frames"] == sum(lengths)


def test_same_statistics(runs: tuple[Path, Path, Path, str]) -> None:
    applied, direct, _, _ = runs
    sa = json.loads((applied / "meta/stats.json").read_text())
    sb = json.loads((direct / "meta/stats.json").read_text())
    assert sa.keys() == sb.keys()
    for feature in sa:
        for stat in sa[feature]:
            if feature.startswith("observation.images"):
                # apply recomputes the trimmed episode's image stats from its decoded video, convert from
                # the source pixels: validate's tolerances for video (mean/std 0.02, quantiles 0.05;
                # min/max of yuv420p video move single edge pixels, so they are not compared)
                atol = {"mean": 0.02, "std": 0.02, "min": None, "max": None, "count": 0}.get(stat, 0.05)
                if atol is not None:
                    np.testing.assert_allclose(sa[feature][stat], sb[feature][stat], atol=atol, err_msg=stat)
            else:
                assert sa[feature][stat] == sb[feature][stat], (feature, stat)


def test_same_frames(runs: tuple[Path, Path, Path, str]) -> None:
    """Episodes kept whole, and both pieces of the split (at a keyframe), are bit-identical: each is
    encoded on its own with the same settings. The trimmed episode is re-encoded from the aligned
    frames by convert but packet-copied by apply: the same pictures within lossy coding, each frame
    closest to its counterpart (no frame shifted)."""
    applied, direct, _, _ = runs
    for key in video_keys(applied):
        for ep in range(len(EXPECTED)):
            fa, fb = frames(applied, ep, key), frames(direct, ep, key)
            assert len(fa) == len(fb)
            if EXPECTED[ep] != "pusht_001":
                assert all(np.array_equal(x, y) for x, y in zip(fa, fb, strict=True)), (key, ep)
                continue
            for k, y in enumerate(fb):
                scores = [psnr(fa[j], y) if 0 <= j < len(fa) else -1.0 for j in (k - 1, k, k + 1)]
                assert scores[1] >= 35 and scores[1] == max(scores), (key, k, scores)


def test_dropped_episodes_are_listed(runs: tuple[Path, Path, Path, str]) -> None:
    lines = {
        line.split()[0]: " ".join(line.split()[1:])
        for line in runs[3].splitlines()
        if line.startswith("pusht_")
    }
    for episode, reason in (("pusht_005", "a duplicate of pusht_000"), ("pusht_004", "a gap of 0.8 s")):
        assert lines[episode].startswith("skipped ")
        assert lines[episode].endswith(f" dropped by curation.yaml: {reason}")
    assert lines["pusht_002#1"].split()[0] == "written" and "38" in lines["pusht_002#1"].split()


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("episodes:\n  3: {drop: x}\n", "episode 3: converting names episodes by recording id"),
        (
            "episodes:\n  pusht_009: {drop: x}\n",
            "episode pusht_009: unknown recording id (known: pusht_000, pusht_001",
        ),
        (
            "episodes:\n  pusht_002#1: {drop: x}\n",
            "episode pusht_002#1: the alignment produced no such episode (this recording gave pusht_002)",
        ),
        (
            "episodes:\n  pusht_001: {trim: [0.0, 30.0]}\n",
            "episode pusht_001: trim [0.0, 30.0] s is out of range",
        ),
        ("episodes:\n  pusht_001: {trim: 3}\n", "episode pusht_001: trim 3 is not [START_S, END_S]"),
    ],
)
def test_bad_curation_is_one_line_and_writes_nothing(
    tmp_path: Path, text: str, error: str, capsys: pytest.CaptureFixture[str]
) -> None:
    source = sample_recordings(episodes=3)
    curation = tmp_path / "curation.yaml"
    curation.write_text(text)
    out = tmp_path / "out"
    assert (
        main(["convert", str(source), *align_flags(), "--output", str(out), "--curation", str(curation)]) == 2
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {curation}, ") and error in err[0], err
    assert not out.exists() and not list(tmp_path.glob(".out*"))
