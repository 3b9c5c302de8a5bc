"""`lerobot-nb curate apply`: curated datasets compared row by row and frame by frame with the input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from dataset_support import assert_same_episode, copy_fixture, digest, episodes, export, info
from export_support import synthetic_episode
from fixture_files import fixture

from lerobot_nb.cli.main import main
from lerobot_nb.curate import CurateApplyConfig, apply_curation

#: 4 episodes of 12, 9, 15, 20 frames at 10 fps, recordings rec-0 .. rec-3.
LENGTHS = (12, 9, 15, 20)

CURATION = """
episodes:
  1: {drop: operator paused}
  rec-0: {trim: [0.3, 1.0]}
  3: {trim: [0.2, null], split: [1.1]}
  2: {task: fold the towel}
"""
#: (source episode, start, end, task) of each output episode
EXPECTED = ((0, 3, 10, None), (2, 0, 15, "fold the towel"), (3, 2, 11, None), (3, 11, 20, None))


@pytest.fixture(scope="module", params=["libsvtav1", "h264"])
def exported(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A dataset this project's exporter wrote (read-only in every test: checked by digest)."""
    root = tmp_path_factory.mktemp(f"src-{request.param}")
    aligned = [synthetic_episode(f"rec-{i}", n, i) for i, n in enumerate(LENGTHS)]
    return export(root / "ds", aligned, codec=request.param)


def _curation(tmp_path: Path, text: str = CURATION) -> Path:
    path = tmp_path / "curation.yaml"
    path.write_text(text)
    return path


@pytest.mark.slow
def test_cli_applies_drop_trim_split_and_task(
    exported: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = digest(exported)
    out = tmp_path / "out"
    code = main(
        ["curate", "apply", str(exported), "--curation", str(_curation(tmp_path)), "--output", str(out)]
    )
    printed = capsys.readouterr().out
    assert code == 0
    assert "dropped episode 1 (rec-1): operator paused" in printed and "validated" in printed
    assert digest(exported) == before
    assert info(out)["total_episodes"] == 4
    for out_ep, (ep, start, end, task) in enumerate(EXPECTED):
        assert_same_episode(exported, ep, start, end, out, out_ep, task=task)
    assert json.loads((out / "meta/lerobot_nb.json").read_text())["episodes"] == {
        "rec-0": 0,
        "rec-2": 1,
        "rec-3#0": 2,
        "rec-3#1": 3,
    }
    assert [r["tasks"] for r in episodes(out)][1] == ["fold the towel"]
    # --overwrite replaces the curated dataset; without it the existing output is refused
    assert main(["curate", "apply", str(exported), "--output", str(out), "--validate", "quick"]) == 2
    assert "pass --overwrite" in capsys.readouterr().err
    assert (
        main(["curate", "apply", str(exported), "--output", str(out), "--overwrite", "--validate", "off"])
        == 0
    )
    assert info(out)["total_episodes"] == len(LENGTHS)


@pytest.mark.slow
def test_api_on_a_lerobot_written_fixture(tmp_path: Path) -> None:
    src = copy_fixture(fixture("lerobot/synthetic_v30_video_lerobot061"), tmp_path)
    before = digest(src)
    curation = _curation(tmp_path, "episodes:\n  0: {trim: [0.25, 1.1]}\n  1: {drop: too short}\n")
    summary = apply_curation(
        src, CurateApplyConfig(curation=str(curation), output=str(tmp_path / "out"), progress=False)
    )
    assert summary.report.ok and summary.notes == ["dropped episode 1: too short"]
    assert digest(src) == before
    assert_same_episode(src, 0, 3, 11, tmp_path / "out", 0)  # 0.25 s -> frame 3 (first at or after)
    assert_same_episode(src, 2, 0, 15, tmp_path / "out", 1)
    assert not (tmp_path / "out/meta/lerobot_nb.json").exists()  # lerobot's datasets name no recordings


def test_several_datasets_are_merged_then_curated(exported: Path, tmp_path: Path) -> None:
    second = export(tmp_path / "second", [synthetic_episode("other-0", 8, 7)], codec=_codec(exported))
    curation = _curation(
        tmp_path, "episodes:\n  0: {drop: x}\n  other-0: {trim: [0.2, 0.6]}\n  2: {drop: y}\n"
    )
    config = CurateApplyConfig(
        curation=str(curation), output=str(tmp_path / "out"), progress=False, validate="quick"
    )
    apply_curation([exported, second], config)
    out = tmp_path / "out"
    assert info(out)["total_episodes"] == 3
    assert_same_episode(exported, 1, 0, 9, out, 0)
    assert_same_episode(exported, 3, 0, 20, out, 1)
    assert_same_episode(second, 0, 2, 6, out, 2)


def _codec(root: Path) -> str:
    return "libsvtav1" if "libsvtav1" in root.parent.name else "h264"


BAD = [
    ("episodes:\n  9: {drop: x}\n", "episode 9: unknown episode: the dataset has episodes 0..3"),
    (
        "episodes:\n  rec-9: {drop: x}\n",
        "episode rec-9: unknown recording id (known: rec-0, rec-1, rec-2, rec-3)",
    ),
    (
        "episodes:\n  0: {trim: [0.5, 9.0]}\n",
        "episode 0: trim [0.5, 9.0] s is out of range: the episode lasts 1.2 s",
    ),
    ("episodes:\n  0: {trim: [1.2, null]}\n", "trim [1.2, None] s is out of range: it starts at or after"),
    ("episodes:\n  0: {trim: [0.8, 0.3]}\n", "episode 0: trim [0.8, 0.3] does not end after it starts"),
    ("episodes:\n  0: {trim: [0.51, 0.55]}\n", "episode 0: trim [0.51, 0.55] s leaves an empty episode"),
    ("episodes:\n  0: {trim: [0, 1]}\n  rec-0: {trim: [0.2, 1]}\n", "named twice (as 0 and as 'rec-0')"),
    ("episodes:\n  0:\n    trim: [0, 1]\n    trim: [0.5, 1]\n", "line 4: several trims for one episode"),
    ("episodes:\n  0: {trim: [0.2, 0.6], split: [0.9]}\n", "split at 0.9 s is outside the kept [0.2, 0.6) s"),
    (
        "episodes:\n  0: {drop: a}\n  1: {drop: b}\n  2: {drop: c}\n  3: {drop: d}\n",
        "the curation drops every episode (4 of 4); nothing would be left",
    ),
]


@pytest.mark.parametrize(("text", "message"), BAD)
def test_bad_curation_is_one_line_and_writes_nothing(
    exported: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    before = digest(exported)
    curation = _curation(tmp_path, text)
    code = main(
        ["curate", "apply", str(exported), "--curation", str(curation), "--output", str(tmp_path / "out")]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith(f"error: {curation}"), err
    assert message in err
    assert digest(exported) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["curation.yaml"]  # nothing half-written


def test_merging_datasets_of_different_fps_is_one_line(
    exported: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = export(tmp_path / "at15", [synthetic_episode("x", 6, 1, fps=15)], codec="h264")
    before = digest(exported), digest(other)
    code = main(["curate", "apply", str(exported), str(other), "--output", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert f"error: {other} cannot be merged with {exported}: fps 15 differs from 10" in err
    assert (digest(exported), digest(other)) == before
    assert not (tmp_path / "out").exists()


def test_output_is_never_the_input(
    exported: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = tmp_path / "ds"
    shutil.copytree(exported, copy)
    before = digest(copy)
    assert main(["curate", "apply", str(copy), "--output", str(copy), "--overwrite"]) == 2
    assert "the output is the input dataset" in capsys.readouterr().err
    assert main(["curate", "apply", str(copy), "--output", str(tmp_path), "--overwrite"]) == 2
    assert "is inside the output folder" in capsys.readouterr().err
    assert main(["curate", "apply", str(copy), "--output", str(copy / "sub")]) == 2
    assert f"the output is inside the input dataset {copy}" in capsys.readouterr().err
    assert digest(copy) == before


def test_failed_apply_leaves_the_previous_output(exported: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    config = CurateApplyConfig(output=str(out), progress=False, validate="off")
    apply_curation(exported, config)
    before = digest(out)
    curation = _curation(tmp_path, "episodes:\n  0: {trim: [0.51, 0.55]}\n")
    with pytest.raises(Exception, match="leaves an empty episode"):
        apply_curation(exported, CurateApplyConfig(curation=str(curation), output=str(out), overwrite=True))
    assert digest(out) == before


@pytest.mark.parametrize(
    ("rel", "message"),
    [
        # real lerobot-record output whose videos were not published: named, nothing written
        (
            "lerobot/record-test",
            "episode 0: videos/observation.images.front/chunk-000/file-000.mp4 is missing",
        ),
        # a real, interrupted v3.0 recording: meta only, no episode
        ("real/so100_lerobot_v30_empty_unfinalized", "the dataset has no episodes"),
    ],
)
def test_real_datasets_that_cannot_be_curated_say_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], rel: str, message: str
) -> None:
    src = copy_fixture(fixture(rel), tmp_path)
    before = digest(src)
    assert main(["curate", "apply", str(src), "--output", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err
    assert digest(src) == before and not (tmp_path / "out").exists()
