"""The six notebooks executed by papermill on the sample recordings, checked by their recorded results."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from lerobot_nb.align import AlignConfig, AlignedEpisode, iter_aligned
from lerobot_nb.cli.main import main
from lerobot_nb.notebooks import NOTEBOOKS, RunResult, notebook_dir, read_results, run_notebooks
from lerobot_nb.server import open_recordings
from lerobot_nb.sources.sample import sample_recordings

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("notebooks")]

SAMPLE_YAML = notebook_dir() / "params" / "sample.yaml"
CAMERAS = ("top:/camera/top:video", "wrist:/camera/wrist:compressed")
EPISODES = ["pusht_000", "pusht_001"]


@pytest.fixture(scope="module")
def recordings(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two sample episodes (fewer than the default four: the notebooks run in seconds)."""
    return sample_recordings(tmp_path_factory.mktemp("sample"), episodes=2)


def expected_ticks(recordings: Path, **config: Any) -> dict[str, int]:
    """Tick counts from the align API in this process: what every notebook must agree with."""
    with open_recordings(recordings) as server:
        return {
            ep.episode_id: ep.length
            for ep in iter_aligned(server, AlignConfig(**config))
            if isinstance(ep, AlignedEpisode)
        }


def outputs(ipynb: Path) -> list[dict[str, Any]]:
    nb = json.loads(ipynb.read_text())
    return [o for c in nb["cells"] if c["cell_type"] == "code" for o in c["outputs"]]


@pytest.fixture(scope="module")
def full_run(recordings: Path, tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    """`lerobot-nb notebooks run` with the README's parameters file, on two sample episodes."""
    return run_notebooks(
        SAMPLE_YAML, tmp_path_factory.mktemp("run"), overrides={"recordings": str(recordings)}
    )


def test_all_run_in_order(full_run: RunResult) -> None:
    assert full_run.ok, full_run.summary()
    assert [r.name for r in full_run.runs] == list(NOTEBOOKS) and full_run.exit_code == 0
    for r in full_run.runs:
        assert r.executed.is_file() and r.html is not None and r.html.stat().st_size > 10_000
        assert r.results == read_results(r.executed)
        outs = outputs(r.executed)
        # headless: figures are rendered, no viewer or widget waits for a browser
        assert any("image/png" in o.get("data", {}) for o in outs), r.name
        assert not any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in outs), r.name


def test_recorded_results_match_the_data(full_run: RunResult, recordings: Path) -> None:
    res = full_run.results
    assert set(res) == set(NOTEBOOKS), full_run.summary()
    ticks = expected_ticks(recordings, fps=10, image=CAMERAS)
    assert sorted(ticks) == EPISODES

    assert res["01_inspect"]["episode_count"] == 2 and res["01_inspect"]["episodes"] == EPISODES
    suggestion = res["01_inspect"]["suggestion"]
    assert (suggestion["index"], suggestion["action_path"], suggestion["state_path"]) == (
        "real_time",
        ["/action"],
        ["/observation/state"],
    )
    assert sorted(suggestion["image"]) == sorted(CAMERAS)

    assert res["02_align"]["episode_count"] == 2
    assert res["02_align"]["ticks"] == ticks
    assert set(res["02_align"]["dropped_ticks"]) == set(EPISODES) and res["02_align"]["skipped"] == {}
    assert res["03_hand_pose"]["frames"] == ticks  # one hand row per aligned frame, none dropped
    assert res["03_hand_pose"]["detection_rate"] == {"pusht_000": 0.0, "pusht_001": 0.0}  # PushT has no hands
    assert res["04_export"]["episode_count"] == 2 and res["04_export"]["frames"] == ticks
    assert res["04_export"]["total_frames"] == sum(ticks.values())

    dataset = Path(res["04_export"]["output"])
    assert dataset == full_run.output_dir / "dataset"  # 04 writes where 05 reads by default
    info = json.loads((dataset / "meta" / "info.json").read_text())
    assert (info["fps"], info["total_episodes"], info["total_frames"]) == (10, 2, sum(ticks.values()))

    assert res["05_validate"].get("failed") == [], full_run.summary()
    assert res["05_validate"]["verdict"] == "pass"
    assert res["05_validate"]["frames_loaded"] == sum(ticks.values())
    assert res["05_validate"]["episodes_loaded"] == 2

    # 06 prepares what 04 wrote, merged with the hand demonstration, and trains on it
    prep = res["06_train_prep"]
    assert prep["datasets"][0] == str(dataset) and prep["datasets"][1].endswith(":mano")
    hand = Path(prep["datasets"][1].rsplit(":", 1)[0])
    hand_frames = json.loads((hand / "meta" / "info.json").read_text())["total_frames"]
    assert prep["embodiments"] == ["pusht", "mano"] and prep["normalized"] is True
    assert (prep["episodes"], prep["frames"]) == (4, sum(ticks.values()) + hand_frames)
    assert Path(prep["output"]) == full_run.output_dir / "prepared"
    prepared = json.loads((full_run.output_dir / "prepared" / "meta" / "info.json").read_text())
    assert prepared["total_frames"] == prep["frames"] and "action_chunk" in prepared["features"]
    assert (
        "observation.images.wrist" in prepared["features"]
        and "observation.images.top" not in prepared["features"]
    )
    assert prep["coverage"]["pusht"] == {
        "episodes": 2,
        "frames": sum(ticks.values()),
        "eef_pos": 0.6667,
        "eef_rot": 0.0,
        "gripper": 0.0,
    }
    assert prep["coverage"]["mano"]["eef_pos"] > 0.85  # MediaPipe finds the drawn hand in most frames
    losses = prep["losses"]
    assert prep["train_exit_code"] == 0 and len(losses) == 20 and losses[-1] < losses[0]

    # clean sample episodes: nothing flagged, the rules decide nothing, the curated copy is the same
    curate = res["07_curate"]
    assert curate["episodes"] == EPISODES and curate["flagged"] == [] and curate["curation"] == {}
    assert (
        curate["before"]
        == curate["after"]
        == {
            "episodes": 2,
            "frames": sum(ticks.values()),
            "seconds": round(sum(ticks.values()) / 10, 1),
            "flagged episodes": 0,
        }
    )
    assert curate["verdict"] == "pass" and curate["curated_output"] == f"{dataset}_curated"


def test_overridden_parameters(recordings: Path, tmp_path: Path) -> None:
    """Another fps and another camera, through the CLI: the notebooks honour both. `interactive=true`
    under papermill: the viewer and pickers are created but nothing waits for a browser."""
    out = tmp_path / "run5"
    rc = main(
        [
            "notebooks",
            "run",
            "--params",
            str(SAMPLE_YAML),
            "--output-dir",
            str(out),
            "--only",
            "02_align",
            "--only",
            "04_export",
            "--no-html",
            "-p",
            f"recordings={recordings}",
            "-p",
            "fps=5",
            "-p",
            "image=[wrist:/camera/wrist:compressed]",
            "-p",
            "interactive=true",
        ]
    )
    assert rc == 0
    ticks = expected_ticks(recordings, fps=5, image=("wrist:/camera/wrist:compressed",))
    assert read_results(out / "02_align.ipynb")["ticks"] == ticks
    assert read_results(out / "04_export.ipynb")["frames"] == ticks
    assert not (out / "01_inspect.ipynb").exists() and not (out / "02_align.html").exists()
    widgets = [
        o
        for o in outputs(out / "02_align.ipynb")
        if "application/vnd.jupyter.widget-view+json" in o.get("data", {})
    ]
    assert len(widgets) >= 2  # the Rerun viewer and the episode/streams/fps picker
    info = json.loads((out / "dataset" / "meta" / "info.json").read_text())
    assert info["fps"] == 5 and info["total_frames"] == sum(ticks.values())
    cameras = sorted(k for k, f in info["features"].items() if f["dtype"] == "video")
    assert cameras == ["observation.images.wrist"]
    # about half the ticks of the 10 fps grid over the same span
    assert all(
        abs(2 * n - m) <= 2
        for n, m in zip(
            ticks.values(),
            expected_ticks(recordings, fps=10, image=("wrist:/camera/wrist:compressed",)).values(),
            strict=True,
        )
    )


def test_train_prep_alone(full_run: RunResult, tmp_path: Path) -> None:
    """06 on its own: one dataset named with its embodiment, delta actions, no hand demonstration,
    no training; `interactive=true` under papermill creates the chunk slider without waiting."""
    dataset = full_run.output_dir / "dataset"
    # the `notebooks:` entry is where 06's own parameters go (a shared `output` is 04's)
    run = run_notebooks(
        {
            "interactive": True,
            "notebooks": {
                "06_train_prep": {
                    "datasets": [f"{dataset}:pusht"],
                    "hand_demo": False,
                    "horizon": 3,
                    "action_mode": "delta",
                    "steps": 0,
                    "output": str(tmp_path / "mine"),
                }
            },
        },
        tmp_path / "run7",
        notebooks=["06_train_prep"],
        html=False,
    )
    assert run.ok, run.summary()
    results = run.runs[0].results
    assert results["embodiments"] == ["pusht"] and results["normalized"] is False
    assert "train_exit_code" not in results and results["output"] == str(tmp_path / "mine")
    info = json.loads((tmp_path / "mine" / "meta" / "info.json").read_text())
    assert info["features"]["action_chunk_is_pad"]["shape"] == [3]
    widgets = [
        o
        for o in outputs(tmp_path / "run7" / "06_train_prep.ipynb")
        if "application/vnd.jupyter.widget-view+json" in o.get("data", {})
    ]
    assert len(widgets) >= 1  # the frame slider of the action chunks


def test_stops_at_first_failure_naming_the_cell(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A deliberately bad parameter: 01 fails, 02..05 never run, the exit code says so."""
    out = tmp_path / "bad"
    missing = tmp_path / "no_such_recordings"
    rc = main(
        [
            "notebooks",
            "run",
            "--params",
            str(SAMPLE_YAML),
            "--output-dir",
            str(out),
            "-p",
            f"recordings={missing}",
        ]
    )
    assert rc == 1
    err = capsys.readouterr().err
    line = next(ln for ln in err.splitlines() if ln.startswith("error: "))
    assert line.startswith(
        "error: 01_inspect.ipynb, cell 5 (In [4]) line 1 `server = start_server(recordings, "
    )
    assert line.endswith(f": LerobotNbError: {missing}: no such file or folder")
    assert "LerobotNbError" in line and str(missing) in line
    assert (out / "01_inspect.ipynb").is_file() and (out / "01_inspect.html").is_file()
    assert not any((out / f"{n}.ipynb").exists() for n in NOTEBOOKS[1:])
    # the executed copy keeps the traceback for the user
    assert any(o.get("output_type") == "error" for o in outputs(out / "01_inspect.ipynb"))


def test_bad_parameters_file_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    params = tmp_path / "p.yaml"
    params.write_text("fsp: 10\n")
    assert main(["notebooks", "run", "--params", str(params), "--output-dir", str(tmp_path / "o")]) == 2
    assert "p.yaml: unknown parameter(s) fsp" in capsys.readouterr().err
    assert (
        main(["notebooks", "run", "--params", str(tmp_path / "none.yaml"), "--output-dir", str(tmp_path)])
        == 2
    )
    assert "none.yaml: parameters file not found" in capsys.readouterr().err
