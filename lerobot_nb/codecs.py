"""Video codec names: Rerun's codec ids, user spellings, encoder names, and opening a PyAV decoder."""

from __future__ import annotations

from typing import Any

from lerobot_nb.errors import LerobotNbError

__all__ = ["DECODER_NAME", "RERUN_CODECS", "normalize_codec", "open_decoder"]

#: `rerun.components.VideoCodec` (a FourCC) -> codec name as PyAV spells it.
RERUN_CODECS: dict[int, str] = {
    0x61766331: "h264",  # avc1
    0x68657631: "hevc",  # hev1
    0x61763031: "av1",  # av01
    0x76703038: "vp8",
    0x76703039: "vp9",
}
_ALIASES = {
    "h264": "h264",
    "avc1": "h264",
    "avc": "h264",
    "h.264": "h264",
    "h265": "hevc",
    "hevc": "hevc",
    "h.265": "hevc",
    "hev1": "hevc",
    "av1": "av1",
    "av01": "av1",
    "vp8": "vp8",
    "vp9": "vp9",
}
#: The codec name of what each export encoder (lerobot's `vcodec`) writes.
DECODER_NAME: dict[str, str] = {"libsvtav1": "av1", "h264": "h264", "hevc": "hevc"}
#: PyAV decoders to try per codec, best first: FFmpeg's native `av1` needs hardware, dav1d does not.
_DECODERS = {"av1": ("libdav1d", "av1", "libaom-av1")}


def normalize_codec(codec: str | int | None, default: str = "h264") -> str:
    """A PyAV codec name from a Rerun FourCC, a user string (`H.264`, `avc1`, `hevc`) or None."""
    if codec is None:
        codec = default
    if isinstance(codec, int):
        if codec not in RERUN_CODECS:
            raise LerobotNbError(f"unknown video codec id {codec:#x}")
        return RERUN_CODECS[codec]
    name = _ALIASES.get(codec.strip().lower())
    if name is None:
        raise LerobotNbError(f"unknown video codec {codec!r} (use h264, hevc or av1)")
    return name


def open_decoder(codec: str) -> Any:
    """A fresh `av.CodecContext` decoding `codec` (a name from `normalize_codec`).

    Tries the codec's software decoders in order; raises `LerobotNbError` when PyAV has none.
    """
    import av

    for name in _DECODERS.get(codec, (codec,)):
        try:
            return av.CodecContext.create(name, "r")
        except (av.FFmpegError, ValueError):
            continue
    raise LerobotNbError(f"no {codec} decoder available in PyAV")
