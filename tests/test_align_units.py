"""Units of the alignment core without a server: grid arithmetic, resampling edges, image decoding."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pyarrow as pa
import pytest
from align_recordings import expected_ticks
from test_align_video import encode_frames, numbered_frame, psnr, read_number

from lerobot_nb.align.config import AlignConfig
from lerobot_nb.align.grid import episode_span, grid_ticks, units_per_second
from lerobot_nb.align.images import VideoFrames, decode_raw_image, normalize_codec
from lerobot_nb.align.resample import resample, source_indices
from lerobot_nb.errors import LerobotNbError

NS = Fraction(10**9)


@pytest.mark.parametrize("fps", [7, 15, 30, 60])
def test_grid_is_exact_over_hours(fps: int) -> None:
    start = 1_700_000_000_123_456_789
    end = start + 3 * 3600 * 10**9 + 5
    ticks = grid_ticks(start, end, fps, NS)
    assert len(ticks) == 3 * 3600 * fps + 1
    k = np.array([0, 1, 2, 3, len(ticks) // 2, len(ticks) - 1])
    want = [start + int(Fraction(int(i) * 10**9, fps) + Fraction(1, 2)) for i in k]
    assert ticks[k].tolist() == want
    assert ticks[-1] == start + 3 * 3600 * 10**9  # whole seconds land exactly, no float drift


def test_grid_small_cases_match_the_reference() -> None:
    start = 10**18
    for fps, span in ((30, 10**9), (30, 10**9 - 1), (7, 5 * 10**9 + 3), (1, 0)):
        assert (
            grid_ticks(start, start + span, fps, NS).tolist()
            == expected_ticks(start, start + span, fps).tolist()
        )
    assert len(grid_ticks(start, start - 1, 30, NS)) == 0


def test_sequence_grid_and_its_errors() -> None:
    rate = units_per_second("frame", "sequence", 30.0)
    assert grid_ticks(0, 30, 10, rate).tolist() == [0, 3, 6, 9, 12, 15, 18, 21, 24, 27, 30]
    assert grid_ticks(0, 10, 4, units_per_second("frame", "sequence", 10.0)).tolist() == [0, 3, 5, 8, 10]
    with pytest.raises(LerobotNbError, match="sequence_rate"):
        units_per_second("frame", "sequence", None)
    with pytest.raises(LerobotNbError, match="finer than the timeline"):
        grid_ticks(0, 100, 30, units_per_second("frame", "sequence", 10.0))


def test_span_is_latest_first_to_earliest_last() -> None:
    times = {"a": np.array([5, 10, 20]), "b": np.array([7, 30])}
    assert episode_span(times) == (7, 20)
    assert episode_span(times, span_stream="b") == (7, 30)
    with pytest.raises(LerobotNbError, match="do not overlap"):
        episode_span({"a": np.array([1, 2]), "b": np.array([3, 4])})


def test_resample_edges() -> None:
    t = np.array([10, 20, 20, 40], dtype=np.int64)  # a duplicate time: the later row wins for latest
    v = np.array([[1.0], [2.0], [3.0], [4.0]])
    ticks = np.array([5, 10, 15, 20, 30, 40, 50], dtype=np.int64)
    latest = resample(t, v, ticks, "latest")
    assert latest.index.tolist() == [-1, 0, 0, 2, 2, 3, 3]
    assert latest.staleness.tolist()[1:] == [0, 5, 0, 10, 0, 10]
    assert latest.values is not None
    assert np.isnan(latest.values[0, 0]) and latest.values[1:, 0].tolist() == [1, 1, 3, 3, 4, 4]
    idx, dist = source_indices(t, ticks, "nearest")
    assert idx.tolist() == [0, 0, 0, 2, 2, 3, 3]  # 15 and 30 are ties: the earlier sample
    assert dist.tolist() == [5, 0, 5, 0, 10, 0, 10]
    lin = resample(t, v, ticks, "linear")
    assert lin.index.tolist() == [-1, 0, 0, 2, 2, 3, -1]
    assert lin.values is not None
    np.testing.assert_allclose(lin.values[1:6, 0], [1.0, 1.5, 3.0, 3.5, 4.0])
    assert lin.staleness.tolist()[1:6] == [0, 5, 0, 10, 0]


def test_policy_and_stream_specs() -> None:
    cfg = AlignConfig(
        image=("front:/cam/front:video",),
        extra=("observation.effort=/joint_states/effort",),
        stream_policy=("action=nearest:0.05", "front=nearest"),
        max_staleness_s=0.2,
    )
    assert [s.key for s in cfg.numeric_specs()] == ["action", "observation.state", "observation.effort"]
    assert cfg.numeric_specs()[2].column.name == "/joint_states/effort:Scalars:scalars"
    assert cfg.image_specs()[0].column == "/cam/front:VideoStream:sample"
    assert cfg.policy_for("action").max_staleness_s == 0.05
    assert cfg.policy_for("front").policy == "nearest" and cfg.policy_for("front").max_staleness_s == 0.2
    assert cfg.policy_for("observation.state").policy == "latest"
    custom = AlignConfig(state_path="/robot/joints:schemas.proto.JointState:joint_positions", task="wipe")
    assert custom.numeric_specs()[1].column.component == "schemas.proto.JointState:joint_positions"
    assert custom.task_spec() is None
    assert [s.key for s in AlignConfig(action_path="", state_path=None).numeric_specs()] == []


def _fmt(color_model: int, datatype: int, w: int = 4, h: int = 2, pixel_format: int | None = None) -> dict:
    return {
        "width": w,
        "height": h,
        "color_model": color_model,
        "channel_datatype": datatype,
        "pixel_format": pixel_format,
    }


def test_raw_image_formats_become_rgb_uint8() -> None:
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (2, 4, 3), dtype=np.uint8)
    assert np.array_equal(decode_raw_image(rgb.ravel(), _fmt(2, 6)), rgb)
    bgr = rgb[:, :, ::-1].copy()
    assert np.array_equal(decode_raw_image(bgr.ravel(), _fmt(4, 6)), rgb)
    rgba = np.concatenate([rgb, np.full((2, 4, 1), 7, np.uint8)], axis=2)
    assert np.array_equal(decode_raw_image(rgba.ravel(), _fmt(3, 6)), rgb)
    bgra = np.concatenate([bgr, np.full((2, 4, 1), 7, np.uint8)], axis=2)
    assert np.array_equal(decode_raw_image(bgra.ravel(), _fmt(5, 6)), rgb)
    gray = rgb[:, :, 0].copy()
    assert np.array_equal(decode_raw_image(gray.ravel(), _fmt(1, 6)), np.repeat(gray[:, :, None], 3, 2))
    u16 = rgb.astype(np.uint16) * 257  # full 16-bit range: the top byte is the 8-bit value
    assert np.array_equal(decode_raw_image(u16.view(np.uint8).ravel(), _fmt(2, 8)), rgb)
    f32 = (rgb / 255.0).astype(np.float32)
    assert np.array_equal(decode_raw_image(f32.view(np.uint8).ravel(), _fmt(2, 34)), rgb)
    with pytest.raises(LerobotNbError, match="needs 24"):
        decode_raw_image(rgb.ravel()[:10], _fmt(2, 6))


def test_nv12_image_decodes_to_its_colour() -> None:
    w, h = 16, 8
    y = np.full((h, w), 81, np.uint8)  # BT.601 limited-range pure red: Y 81, U 90, V 240
    uv = np.tile(np.array([90, 240], np.uint8), (h // 2, w // 2))
    out = decode_raw_image(np.concatenate([y.ravel(), uv.ravel()]), _fmt(0, 6, w, h, pixel_format=26))
    assert out.shape == (h, w, 3)
    assert np.abs(out.astype(int) - [255, 0, 0]).max() <= 3


@pytest.mark.parametrize(("encoder", "codec"), [("libx265", "hevc"), ("libsvtav1", "av1")])
def test_hevc_and_av1_streams_decode_in_order_with_flush(encoder: str, codec: str) -> None:
    options = {"x265-params": "bframes=0:log-level=none", "crf": "10"} if codec == "hevc" else {"crf": "20"}
    packets = encode_frames(12, encoder, options)
    samples = pa.array([[p] for p in packets], pa.list_(pa.list_(pa.uint8())))
    picks = np.array([0, 3, 3, 7, 11])
    src = VideoFrames(samples, picks, codec=normalize_codec(codec), stream="cam", episode="e", file="f")
    frames = list(src)
    assert [read_number(f) for f in frames] == picks.tolist()
    assert min(psnr(f, numbered_frame(int(n))) for f, n in zip(frames, picks, strict=True)) >= 30.0
    assert src.encoded(codec) is None  # frames skipped and repeated: no remux
    whole = VideoFrames(
        samples, np.arange(12), codec=normalize_codec(codec), stream="cam", episode="e", file="f"
    )
    enc = whole.encoded(codec)
    assert enc is not None and enc.keyframes[0] and list(enc.packets) == packets


def test_codec_names() -> None:
    assert normalize_codec(0x61766331) == "h264" and normalize_codec("H.265") == "hevc"
    assert normalize_codec(None, "av1") == "av1"
    with pytest.raises(LerobotNbError, match="unknown video codec"):
        normalize_codec("mjpeg2")
