"""The hand demonstration sample: its streams, the drawn truth, MediaPipe measured against it, and a
quiet backend (no TFLite/absl lines on stderr; what matters goes to the notes)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from lerobot_nb.align import AlignConfig, AlignedEpisode, iter_aligned
from lerobot_nb.enrich.hands import HandPoseConfig, HandsResult, run_hands
from lerobot_nb.enrich.hands.native_log import captured_native_stderr, significant_lines
from lerobot_nb.query import component_columns, read_streams
from lerobot_nb.server import RecordingServer, open_recordings
from lerobot_nb.sources.sample import read_sample_summary, sample_hand_recordings, sample_recordings
from lerobot_nb.sources.sample_hands import HAND_ENTITY, HandTruth, read_hand_truth

pytestmark = pytest.mark.xdist_group("sample")

EPISODES = ["pusht_hand_000", "pusht_hand_001"]
ALIGN = AlignConfig(
    fps=10,
    action_path="/action",
    state_path="/observation/state",
    task_path="/language_instruction",
    image=("top:/camera/top:video", "wrist:/camera/wrist:compressed"),
)
NATIVE_NOISE = ("TensorFlow Lite", "absl::InitializeLog", "inference_feedback_manager", "XNNPACK")


@pytest.fixture(scope="module")
def hand_server() -> Iterator[RecordingServer]:
    with open_recordings(sample_hand_recordings()) as server:
        yield server


@pytest.fixture(scope="module")
def hand_results(hand_server: RecordingServer) -> dict[str, HandsResult]:
    """MediaPipe (tracking mode, as notebook 03 runs it) over the aligned top camera of each episode."""
    config = HandPoseConfig(camera="top")
    return {
        ep.episode_id: run_hands(ep, config)
        for ep in iter_aligned(hand_server, ALIGN)
        if isinstance(ep, AlignedEpisode)
    }


def test_hand_set_has_the_pusht_streams_plus_the_truth(hand_server: RecordingServer) -> None:
    assert hand_server.episodes == EPISODES
    names = [c.name for c in component_columns(hand_server.dataset)]
    with open_recordings(sample_recordings()) as pusht:
        pusht_names = [c.name for c in component_columns(pusht.dataset)]
        state = "/observation/state:Scalars:scalars"
        same = read_streams(pusht.dataset, "pusht_001", [state], "real_time")[state]
    assert sorted(set(names) - set(pusht_names)) == [f"{HAND_ENTITY}:Points2D:positions"]
    assert set(pusht_names) <= set(names)
    # Same seed, same simulation and timing: the hand does exactly pusht_001's pushes.
    mine = read_streams(hand_server.dataset, "pusht_hand_001", [state], "real_time")[state]
    np.testing.assert_array_equal(mine.times, same.times)
    assert mine.values.to_pylist() == same.values.to_pylist()


def test_truth_matches_the_recording_and_the_picture(hand_server: RecordingServer) -> None:
    """The truth file, the logged Points2D and the pixels agree: every joint in view sits on skin."""
    folder = sample_hand_recordings()
    rows = {r["episode"]: r for r in read_sample_summary(folder)}
    top = "/camera/top:VideoStream:sample"
    points = f"{HAND_ENTITY}:Points2D:positions"
    for ep in EPISODES:
        truth = read_hand_truth(folder, ep)
        assert (
            truth.keypoints.shape == (len(truth.times_ns), 21, 2) and truth.left and truth.image_size == 256
        )
        streams = read_streams(hand_server.dataset, ep, [top, points], "real_time")
        np.testing.assert_array_equal(streams[top].times, truth.times_ns)
        np.testing.assert_array_equal(streams[points].times, truth.times_ns)
        logged = np.array([np.array(cell, np.float32) for cell in streams[points].values.to_pylist()])
        np.testing.assert_array_equal(logged, truth.keypoints)
        assert rows[ep]["hand_in_view"] == pytest.approx(truth.in_view().mean(), abs=1e-4)
        assert truth.in_view().mean() > 0.9  # the demonstrator stands where the hand stays in view
        frames = _decode([bytes(c[0]) for c in streams[top].values.to_pylist()])
        assert frames[0].shape == (256, 256, 3)
        for i in np.flatnonzero(truth.in_view())[::10]:
            for u, v in truth.keypoints[i]:
                r, g, b = frames[i][int(v), int(u)].astype(int)
                assert r > 120 and r > g > b, (ep, i, (u, v), (r, g, b))  # skin, not table or T
        # No pusher disc: nothing royal blue (65, 105, 225) anywhere.
        for f in frames[::15]:
            blue = (f[..., 2] > 170) & (f[..., 0] < 110) & (f[..., 1] < 150)
            assert not blue.any(), ep


def _decode(samples: list[bytes]) -> list[np.ndarray]:
    import av

    ctx = av.CodecContext.create("h264", "r")
    frames = []
    for data in samples:
        frames += [f.to_ndarray(format="rgb24") for f in ctx.decode(av.Packet(data))]
    return frames + [f.to_ndarray(format="rgb24") for f in ctx.decode(None)]


def test_truth_at_ticks_takes_the_latest_frame() -> None:
    kp = np.arange(3 * 21 * 2, dtype=np.float32).reshape(3, 21, 2)
    truth = HandTruth(np.array([100, 200, 300]), kp, left=True, image_size=256)
    got = truth.at(np.array([50, 100, 250, 999]))
    assert np.isnan(got[0]).all()
    np.testing.assert_array_equal(got[1:], kp[[0, 1, 2]])


@pytest.mark.slow
def test_mediapipe_finds_the_drawn_hand_near_the_truth(hand_results: dict[str, HandsResult]) -> None:
    """Measured (mediapipe 0.10.14, tracking): detection 93.6 % / 100 % of the ticks, 100 % of the ticks
    with the whole hand in view; mean 2D error 5.6 / 5.4 px, per-frame p95 10.7 / 9.8 px, max 12.9 /
    15.7 px, for a hand 108 px from wrist to middle fingertip."""
    folder = sample_hand_recordings()
    assert sorted(hand_results) == EPISODES
    for ep, result in hand_results.items():
        truth = read_hand_truth(folder, ep).at(result.episode.ticks)
        in_view = np.all((truth >= 0) & (truth < 256), axis=(1, 2))
        found = result.frames["detections"].to_numpy() > 0
        assert found.mean() > 0.85, ep
        assert found[in_view].mean() > 0.95, ep
        n = result.episode.numeric
        left = n["observation.hands.left.present"][:, 0] > 0
        right = n["observation.hands.right.present"][:, 0] > 0
        assert np.array_equal(left | right, found) and not (left & right).any()
        kp = np.where(left[:, None], n["observation.hands.left.kp2d"], n["observation.hands.right.kp2d"])
        err = np.linalg.norm(kp.reshape(-1, 21, 2) - truth, axis=2).mean(axis=1)[found]
        assert err.mean() < 8.0, (ep, err.mean())
        assert np.percentile(err, 95) < 14.0, (ep, np.percentile(err, 95))
        assert err.max() < 22.0, (ep, err.max())  # a fifth of the hand's length
        assert any("hand in" in note and "no hand in" in note for note in result.notes)
        assert not any("mediapipe log" in note for note in result.notes)  # only start-up noise was logged


def test_native_stderr_is_captured_and_noise_dropped() -> None:
    with captured_native_stderr() as lines:
        os.write(2, b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\n")
        os.write(2, b"E0000 00:00:1.0   42 model_loader.cc:7] could not open hand_landmark.tflite\n")
    assert len(lines) == 2
    assert significant_lines(lines) == [
        "E0000 00:00:1.0   42 model_loader.cc:7] could not open hand_landmark.tflite"
    ]


def test_a_significant_native_line_becomes_an_episode_note() -> None:
    """The graph is a stand-in that writes to fd 2 like MediaPipe's C++ does; the backend is real."""
    from lerobot_nb.enrich.hands.mediapipe_backend import MediaPipeBackend
    from lerobot_nb.frames import ArrayFrames

    class Graph:
        def process(self, frame: np.ndarray) -> Any:
            os.write(2, b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\n")
            os.write(2, b"W0000 00:00:1.0   42 gpu.cc:1] GPU unavailable, falling back to CPU\n")
            return type("Result", (), {"multi_hand_landmarks": None})()

        def close(self) -> None:
            pass

    backend = MediaPipeBackend()
    backend._resource, backend._size = Graph(), (32, 24)
    frames = [np.zeros((24, 32, 3), np.uint8)] * 3
    episode = AlignedEpisode("ep", 10, "frame", np.arange(3), {}, {"cam": ArrayFrames(frames)})
    notes = run_hands(episode, HandPoseConfig(), backend).notes
    assert [n for n in notes if "mediapipe log" in n] == [
        "mediapipe log: W0000 00:00:1.0   42 gpu.cc:1] GPU unavailable, falling back to CPU"
    ]
    assert backend.take_messages() == []  # taken by that episode


def test_hands_cli_prints_no_native_log(tmp_path: Path) -> None:
    """`lerobot-nb hands` in a fresh process: the report on stdout, nothing from TFLite/absl on stderr."""
    rrd = sample_hand_recordings() / "pusht_hand_001.rrd"
    proc = subprocess.run(
        [sys.executable, "-m", "lerobot_nb.cli.main", "hands", str(rrd), "--image", "top:/camera/top:video"],
        capture_output=True,
        text=True,
        timeout=300,
        env={k: v for k, v in os.environ.items() if k not in ("GLOG_minloglevel", "TF_CPP_MIN_LOG_LEVEL")},
    )
    assert proc.returncode == 0, proc.stderr
    assert not [ln for ln in proc.stderr.splitlines() if any(s in ln for s in NATIVE_NOISE)], proc.stderr
    assert proc.stderr == ""
    first = proc.stdout.splitlines()[0]
    assert first.startswith("pusht_hand_001: 78 frames, left 78, right 0, failed 0"), proc.stdout


@pytest.mark.slow
@pytest.mark.xdist_group("notebooks")
def test_notebook_03_finds_the_sample_hand_quietly(tmp_path: Path) -> None:
    """03 with its defaults (the hand demonstration): non-zero rates, real figures, no native-log stderr."""
    from lerobot_nb.notebooks import read_results, run_notebooks

    params = {"camera": "top", "interactive": False}
    run = run_notebooks(params, tmp_path, notebooks=["03_hand_pose"], html=False)
    assert run.ok, run.summary()
    res = read_results(tmp_path / "03_hand_pose.ipynb")
    assert sorted(res["detection_rate"]) == EPISODES
    assert all(rate > 0.85 for rate in res["detection_rate"].values()), res["detection_rate"]
    assert all(err < 8.0 for err in res["truth_error_px"].values()), res["truth_error_px"]
    nb = json.loads((tmp_path / "03_hand_pose.ipynb").read_text())
    outs = [o for c in nb["cells"] if c["cell_type"] == "code" for o in c["outputs"]]
    stderr = "".join("".join(o["text"]) for o in outs if o.get("name") == "stderr")
    assert not any(s in stderr for s in NATIVE_NOISE), stderr
    assert sum("image/png" in o.get("data", {}) for o in outs) >= 3  # rate bars, keypoints, frame with truth
