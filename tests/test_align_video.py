"""Video: decode once in order, pick the latest frame not newer than each tick (frame numbers in pixels)."""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from align_recordings import T0, expected_ticks

from lerobot_nb.align import AlignConfig, align_episode
from lerobot_nb.align.images import VideoFrames
from lerobot_nb.server import RecordingServer, ServerConfig

pytestmark = pytest.mark.xdist_group("align_video")

W, H = 128, 64
BITS = 8  # frame number as 8 white/black 16x16 blocks along the top


def numbered_frame(n: int) -> np.ndarray:
    """A frame showing `n` in binary (top blocks) over a smooth gradient that moves with n."""
    y, x = np.mgrid[0:H, 0:W]
    img = np.empty((H, W, 3), np.uint8)
    img[..., 0] = 40 + x + n  # smooth, no wrap-around: a fair PSNR target for 4:2:0 H.264
    img[..., 1] = 30 + 2 * y + n
    img[..., 2] = 128
    for bit in range(BITS):
        img[0:16, bit * 16 : (bit + 1) * 16] = 255 if (n >> bit) & 1 else 0
    return img


def read_number(frame: np.ndarray) -> int:
    return sum(1 << bit for bit in range(BITS) if frame[2:14, bit * 16 + 2 : bit * 16 + 14].mean() > 128)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def encode_frames(count: int, encoder: str = "libx264", options: dict[str, str] | None = None) -> list[bytes]:
    """Access units (Annex-B for H.264/H.265, OBUs for AV1) of frames 0..count-1, no B-frames."""
    import av

    ctx: Any = av.CodecContext.create(encoder, "w")
    ctx.width, ctx.height, ctx.pix_fmt = W, H, "yuv420p"
    ctx.time_base = Fraction(1, 30)
    ctx.options = (
        options if options is not None else {"bf": "0", "g": "30", "crf": "12", "preset": "veryfast"}
    )
    packets: list[bytes] = []
    for n in range(count):
        frame = av.VideoFrame.from_ndarray(numbered_frame(n), format="rgb24")
        frame.pts = n
        packets += [bytes(p) for p in ctx.encode(frame)]
    packets += [bytes(p) for p in ctx.encode(None)]
    assert len(packets) == count
    return packets


def write_video_rrd(path: Path, video: dict[str, tuple[np.ndarray, list[bytes]]], duration_ns: int) -> None:
    """Each `entity -> (times, packets)` as an H.264 VideoStream, plus a 100 Hz `/action`."""
    import rerun as rr

    rec = rr.RecordingStream("lerobot_nb_align_test", recording_id="video")
    rec.save(path)
    for entity, (times, packets) in video.items():
        rec.log(entity, rr.VideoStream(codec=rr.VideoCodec.H264), static=True)
        rec.send_columns(
            entity,
            indexes=[rr.TimeColumn("real_time", timestamp=times.astype("datetime64[ns]"))],
            columns=rr.VideoStream.columns(sample=packets[: len(times)]),
        )
    t = T0 + np.arange(0, duration_ns + 1, 10_000_000, dtype=np.int64)  # 100 Hz action
    rec.send_columns(
        "/action",
        indexes=[rr.TimeColumn("real_time", timestamp=t.astype("datetime64[ns]"))],
        columns=rr.Scalars.columns(scalars=np.arange(len(t), dtype=np.float64)),
    )
    rec.flush()
    rec.disconnect()


@pytest.fixture(scope="module")
def setup(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[RecordingServer, dict[str, np.ndarray]]]:
    rng = np.random.default_rng(3)
    n = 75
    jitter = rng.integers(-8_000_000, 8_000_000, n)
    jitter[0] = 0
    cam15 = T0 + np.round(np.arange(n) * 1e9 / 15).astype(np.int64) + jitter  # ~15 Hz with jitter
    cam10 = T0 + np.round(np.arange(50) * 1e9 / 10).astype(np.int64)  # exactly on a 10 fps grid
    duration = int(cam10[-1] - T0)
    folder = tmp_path_factory.mktemp("align_video")
    packets = encode_frames(n)
    # A recording that starts mid-GOP: keyframes every 10 frames, the first 3 packets missing.
    gop10 = encode_frames(
        40, options={"bf": "0", "g": "10", "keyint_min": "10", "sc_threshold": "0", "crf": "12"}
    )
    midgop = T0 + np.arange(3, 40, dtype=np.int64) * 100_000_000
    write_video_rrd(
        folder / "video.rrd",
        {
            "/camera/jittery": (cam15, packets),
            "/camera/ongrid": (cam10, packets),
            "/camera/midgop": (midgop, gop10[3:]),
        },
        duration,
    )
    with RecordingServer(ServerConfig(recordings=(str(folder),))) as srv:
        yield srv, {"jittery": cam15, "ongrid": cam10}


CONFIG = AlignConfig(
    fps=10,
    state_path=None,
    task="watch",
    image=("jittery:/camera/jittery:video", "ongrid:/camera/ongrid:video"),
)


def test_picked_frame_is_the_latest_not_newer_than_each_tick(setup: tuple) -> None:
    server, times = setup
    ep = align_episode(server.dataset, "video", CONFIG)
    cam15 = times["jittery"]
    start = max(int(cam15[0]), int(times["ongrid"][0]))
    end = min(int(cam15[-1]), int(times["ongrid"][-1]), int(times["ongrid"][-1]))
    ticks = expected_ticks(start, end, 10)
    assert np.array_equal(ep.ticks, ticks)
    frames = list(ep.images["jittery"])
    assert len(frames) == len(ticks) == len(ep.images["jittery"])
    for k, (tick, frame) in enumerate(zip(ticks, frames, strict=True)):
        want = max(j for j, t in enumerate(cam15) if t <= tick)  # brute-force latest-at
        assert read_number(frame) == want, f"tick {k}"
        assert frame.shape == (H, W, 3) and frame.dtype == np.uint8
        assert psnr(frame, numbered_frame(want)) >= 35.0
    # Re-iterable: a second pass decodes again and gives the same frames.
    again = list(ep.images["jittery"])
    assert all(np.array_equal(a, b) for a, b in zip(frames, again, strict=True))
    assert (ep.images["jittery"].height, ep.images["jittery"].width) == (H, W)


def test_last_frame_survives_the_decoder_flush(setup: tuple) -> None:
    server, times = setup
    ep = align_episode(server.dataset, "video", CONFIG)
    last = list(ep.images["ongrid"])[-1]
    assert read_number(last) == len(times["ongrid"]) - 1  # only there after decode(None)


def test_encoded_packets_only_when_every_tick_has_its_own_frame(setup: tuple) -> None:
    server, _ = setup
    ep = align_episode(server.dataset, "video", CONFIG)
    assert ep.images["jittery"].encoded("h264") is None  # 15 Hz source on a 10 fps grid: frames skipped
    enc = ep.images["ongrid"].encoded("h264")
    assert enc is not None and enc.codec == "h264"
    assert len(enc.packets) == ep.length
    packets = encode_frames(75)
    assert list(enc.packets) == packets[: ep.length]
    assert enc.keyframes[0] and (enc.width, enc.height) == (W, H)
    assert ep.images["ongrid"].encoded("av1") is None


def test_video_frames_never_resample_packets() -> None:
    """Picking frame 40 still decodes from the first packet (P-frames need their references)."""
    import pyarrow as pa

    packets = encode_frames(45)
    samples = pa.array([[p] for p in packets], pa.list_(pa.list_(pa.uint8())))
    src = VideoFrames(samples, np.array([40, 40, 44]), codec="h264", stream="s", episode="e", file="f")
    got = [read_number(f) for f in src]
    assert got == [40, 40, 44]


def test_a_stream_starting_mid_gop_starts_at_its_first_keyframe(setup: tuple) -> None:
    server, _ = setup
    cfg = AlignConfig(fps=10, state_path=None, task="t", image=("mid:/camera/midgop:video",))
    ep = align_episode(server.dataset, "video", cfg)
    # Samples 3..9 cannot be decoded without the keyframe 0: the stream (and grid) starts at 10.
    assert ep.ticks[0] == T0 + 10 * 100_000_000
    assert [read_number(f) for f in ep.images["mid"]] == list(range(10, 10 + ep.length))
    assert ep.report.filter(stream="mid")["samples"][0] == 30
    enc = ep.images["mid"].encoded("h264")
    assert enc is not None and enc.keyframes[0] and sum(enc.keyframes) == 3  # frames 10, 20, 30
