"""One home for shared facts: codecs, time units and periods, image kinds, tables, CLI flags."""

from __future__ import annotations

import importlib
import sys
import typing
from fractions import Fraction
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from lerobot_nb.codecs import DECODER_NAME, normalize_codec, open_decoder
from lerobot_nb.columns import IMAGE_COMPONENTS, IMAGE_KINDS, image_kind
from lerobot_nb.config import as_flags, flag_name
from lerobot_nb.errors import LerobotNbError
from lerobot_nb.tables import render_table
from lerobot_nb.units import NS_PER_S, median_interval

T0 = 1_700_000_000_000_000_000
H, W = 64, 96


# -- codecs ------------------------------------------------------------------------------------------
def test_every_rerun_codec_id_has_a_name() -> None:
    import rerun as rr

    names = {c.name: normalize_codec(int(c.value)) for c in rr.components.VideoCodec}
    assert names == {"AV1": "av1", "H264": "h264", "H265": "hevc", "VP8": "vp8", "VP9": "vp9"}
    assert [normalize_codec(n) for n in ("H.264", "avc1", "h265", "AV01", None)] == [
        "h264",
        "h264",
        "hevc",
        "av1",
        "h264",
    ]
    with pytest.raises(LerobotNbError, match=r"unknown video codec id 0x1$"):
        normalize_codec(1)


def test_av1_opens_the_software_decoder() -> None:
    assert open_decoder("av1").name == "libdav1d"  # FFmpeg's native `av1` needs hardware
    assert open_decoder("h264").name == "h264"


def test_export_codecs_are_the_shared_table() -> None:
    from lerobot_nb.export import config

    assert config.DECODER_NAME is DECODER_NAME
    assert config.CODECS == ("libsvtav1", "h264", "hevc")
    assert [normalize_codec(DECODER_NAME[c]) for c in config.CODECS] == ["av1", "h264", "hevc"]


def _av1_samples(count: int) -> list[bytes]:
    """AV1 temporal units (OBUs) of `count` grey frames, W x H, a keyframe first."""
    import av

    ctx = av.CodecContext.create("libaom-av1", "w")
    ctx.width, ctx.height, ctx.pix_fmt = W, H, "yuv420p"
    ctx.time_base = Fraction(1, 15)
    ctx.options = {"cpu-used": "8", "g": str(count)}
    packets: list[bytes] = []
    for n in range(count):
        frame = av.VideoFrame.from_ndarray(np.full((H, W, 3), 10 * n, np.uint8), format="rgb24")
        frame.pts = n
        packets += [bytes(p) for p in ctx.encode(frame)]
    return packets + [bytes(p) for p in ctx.encode(None)]


def _write_av1_recording(path: Path) -> None:
    import rerun as rr

    samples = _av1_samples(8)
    t = T0 + np.arange(len(samples), dtype=np.int64) * (NS_PER_S // 15)
    rec = rr.RecordingStream("lerobot_nb_codec_test", recording_id="av1")
    rec.save(path)
    rec.log("/camera/av1", rr.VideoStream(codec=rr.VideoCodec.AV1), static=True)
    rec.send_columns(
        "/camera/av1",
        indexes=[rr.TimeColumn("real_time", timestamp=t.astype("datetime64[ns]"))],
        columns=rr.VideoStream.columns(sample=samples),
    )
    rec.send_columns(  # a stream with a single sample: no interval, no period
        "/once",
        indexes=[rr.TimeColumn("real_time", timestamp=t[:1].astype("datetime64[ns]"))],
        columns=rr.Scalars.columns(scalars=[1.0]),
    )
    rec.flush()
    rec.disconnect()


def test_inspect_reports_the_size_of_an_av1_stream(tmp_path: Path) -> None:
    from lerobot_nb.inspect import list_columns, stream_stats
    from lerobot_nb.server import open_recordings

    _write_av1_recording(tmp_path / "av1.rrd")
    with open_recordings(tmp_path / "av1.rrd") as server:
        cols = list_columns(server).filter(pl.col("column") == "/camera/av1:VideoStream:sample")
        stats = stream_stats(server, index="real_time")
    assert cols.select("kind", "height", "width").row(0) == ("image:video", H, W)
    once = stats.filter(pl.col("stream") == "/once:Scalars:scalars").row(0, named=True)
    assert (once["count"], once["nominal_hz"], once["rate_hz"], once["gaps"]) == (1, None, None, 0)
    video = stats.filter(pl.col("stream") == "/camera/av1:VideoStream:sample").row(0, named=True)
    assert video["nominal_hz"] == pytest.approx(1e9 / (NS_PER_S // 15))


# -- units and periods -------------------------------------------------------------------------------
def test_one_median_interval_under_each_callers_convention() -> None:
    from lerobot_nb.align.grid import NS_PER_S as grid_ns
    from lerobot_nb.align.resample import median_period

    times = np.array([0, 10, 10, 30, 60], np.int64)  # intervals 10, (0: repeated), 20, 30
    assert median_interval(times) == 20.0
    assert median_period(times) == 20.0
    assert median_interval(np.array([5, 5], np.int64)) is None
    assert median_period(np.array([5, 5], np.int64)) == float("inf")  # align: no finite tolerance
    assert grid_ns is NS_PER_S == 1_000_000_000


# -- image kinds -------------------------------------------------------------------------------------
def test_image_kinds_have_one_definition() -> None:
    from lerobot_nb.align import config

    assert config.IMAGE_KINDS is IMAGE_KINDS == ("raw", "compressed", "video", "file")
    assert tuple(IMAGE_COMPONENTS) == IMAGE_KINDS[:3]  # `file` is read beside the server
    assert config.IMAGE_COMPONENTS is IMAGE_COMPONENTS
    assert typing.get_args(config.ImageKind) == IMAGE_KINDS
    assert [image_kind(a) for a in ("Image", "EncodedImage", "VideoStream", "DepthImage")] == [
        "raw",
        "compressed",
        "video",
        None,
    ]


# -- tables ------------------------------------------------------------------------------------------
def test_render_rows_as_plain_text() -> None:
    rows = [
        {"stream": "action", "kept": 40, "rate": 29.96, "note": None},
        {"stream": "observation.state", "kept": 7, "rate": None, "note": "x" * 12},
    ]
    assert render_table(rows, floats=".1f", max_width=10, indent="  ") == (
        "  stream      kept  rate  note\n  action        40  30.0  -\n  observa...     7     -  xxxxxxx..."
    )


def test_render_a_frame_as_markdown() -> None:
    frame = pl.DataFrame({"episode": ["a", "bb"], "count": [3, 120], "at": [T0, T0 + 1]}).with_columns(
        pl.col("at").cast(pl.Datetime("ns"))
    )
    assert render_table(frame, ["episode", "count", "at"], markdown=True) == (
        "| episode | count | at                            |\n"
        "|---------|-------|-------------------------------|\n"
        "| a       |     3 | 2023-11-14 22:13:20.000000000 |\n"
        "| bb      |   120 | 2023-11-14 22:13:20.000000001 |"
    )
    assert render_table([], ["a", "b"]) == "a  b"


# -- flags -------------------------------------------------------------------------------------------
def test_flag_spelling_has_one_home() -> None:
    assert flag_name("max_staleness_s") == "--max-staleness-s"
    assert flag_name("fps", prefix="align_") == "--align-fps"
    flags = as_flags(
        {
            "fps": 15,
            "image": ("a:/b:raw", "c:/d d:video"),
            "task": None,  # left out: the default applies
            "extra": (),
            "state_path": "",  # explicitly nothing
            "overwrite": True,
            "resume": False,
        }
    )
    assert flags == "--fps 15 --image a:/b:raw --image 'c:/d d:video' --state-path '' --overwrite --no-resume"


# -- the deprecated module ---------------------------------------------------------------------------
def test_inspection_is_a_deprecated_alias_of_inspect() -> None:
    import lerobot_nb.inspect as new

    sys.modules.pop("lerobot_nb.inspection", None)
    with pytest.warns(
        DeprecationWarning, match="lerobot_nb.inspection is deprecated; import from lerobot_nb.inspect"
    ):
        old = importlib.import_module("lerobot_nb.inspection")
    # The names the module had before the split, and everything the package exports.
    before = "STREAM_COMPONENTS Suggestion list_columns list_episodes plot_stream_rates plot_stream_timeline"
    before += " stream_columns stream_stats stream_summary suggest NS_PER_S"
    assert set(old.__all__) == {*new.__all__, "NS_PER_S"} and set(before.split()) <= set(old.__all__)
    for name in new.__all__:
        assert getattr(old, name) is getattr(new, name), name
