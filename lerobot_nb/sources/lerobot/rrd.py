"""One LeRobot episode as an `.rrd`, for the Rerun server, notebook 01 and the viewer.

Entities are the reader's stream keys, so a served episode aligns with the same config as a
directly read one: `/<feature>` Scalars (SeriesLines names from info.json), `/<camera feature>`
a VideoStream of the mp4's own packets (H.264/H.265 as Annex B, AV1 OBUs) when Rerun can play them
(no B-frames), else JPEG `EncodedImage`s (PNG cells of image features as they are), `/task` a
TextDocument wherever the task changes. Timelines: `frame_index` (sequence) and `timestamp`
(the stored seconds, as a timestamp timeline). Files whose data is missing are left out of the
recording (a camera without its mp4 is simply absent).
"""

from __future__ import annotations

import hashlib
import io
import itertools
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from lerobot_nb.episode import ImageStream
from lerobot_nb.errors import LerobotNbError
from lerobot_nb.sources.lerobot.cameras import EmbeddedImages, VideoCamera

if TYPE_CHECKING:
    from lerobot_nb.sources.lerobot.reader import EpisodeRows, LeRobotReader

__all__ = ["episode_rrd"]

#: Bump when what is written changes: cached conversions are then made again.
_SALT = "lerobot-rrd-1"
_RERUN_CODECS = {"h264": "H264", "hevc": "H265", "av1": "AV1"}
#: JPEG frames sent per call: the episode's pictures are never all in memory at once.
_JPEG_BATCH = 128


def _cache_key(reader: LeRobotReader, episode: int) -> str:
    """Path, size and mtime of the episode's files (a v3.0 file is shared by many episodes: its
    bytes are not hashed per episode)."""
    files = [reader.dataset.data_path(episode)]
    files += [
        reader.dataset.video(episode, k).path for k, f in reader.cameras.items() if f["dtype"] == "video"
    ]
    digest = hashlib.sha256(f"{_SALT}:{reader.path.resolve()}:{episode}".encode())
    for path in files:
        stat = path.stat() if path.is_file() else None
        digest.update(f"{path}:{stat.st_size if stat else -1}:{stat.st_mtime_ns if stat else -1}".encode())
    return digest.hexdigest()[:20]


def episode_rrd(reader: LeRobotReader, episode_id: str, cache_dir: Path) -> Path:
    """Write (once per content) and return the `.rrd` of one episode; recording id = episode id."""
    import rerun as rr

    data = reader.rows(episode_id)
    cache_dir.mkdir(parents=True, exist_ok=True)
    target = cache_dir / f"{episode_id}-{_cache_key(reader, data.episode)}.rrd"
    if target.exists():
        return target
    tmp = target.with_suffix(".rrd.part")
    rec = rr.RecordingStream("lerobot_nb", recording_id=episode_id, send_properties=False)
    rec.save(tmp)
    try:
        _write(rec, reader, data, episode_id)
    finally:
        rec.flush()
        rec.disconnect()
    tmp.replace(target)
    return target


def _write(rec: Any, reader: LeRobotReader, data: EpisodeRows, episode_id: str) -> None:
    import rerun as rr

    n = data.rows.num_rows
    frame_index = np.arange(n, dtype=np.int64)

    def indexes(rows: np.ndarray | slice = slice(None)) -> list[Any]:
        return [
            rr.TimeColumn("frame_index", sequence=frame_index[rows]),
            rr.TimeColumn("timestamp", timestamp=data.timestamp_ns[rows].astype("datetime64[ns]")),
        ]

    for key, stream in reader.numeric_streams(data, frame_index).items():
        if stream.names:
            rec.log(key, rr.SeriesLines(names=list(stream.names)), static=True)
        rec.send_columns(key, indexes=indexes(), columns=rr.Scalars.columns(scalars=stream.values))
    for key, camera in reader.camera_streams(data, frame_index, episode_id).items():
        _camera(rec, key, camera, indexes)
    task = reader.task_stream(data, frame_index)
    if task is not None and n:
        texts = np.array(task.texts, dtype=object)
        changes = np.flatnonzero(np.r_[True, texts[1:] != texts[:-1]])
        rec.send_columns(
            "/task", indexes=indexes(changes), columns=rr.TextDocument.columns(text=texts[changes])
        )


def _camera(rec: Any, key: str, camera: ImageStream, indexes: Any) -> None:
    """A VideoStream of the file's packets when Rerun can play them, else encoded images."""
    import rerun as rr

    if isinstance(camera, EmbeddedImages):
        blobs = camera.blobs()
        media = [_media_type(b) for b in blobs]
        rec.send_columns(
            key, indexes=indexes(), columns=rr.EncodedImage.columns(blob=blobs, media_type=media)
        )
        return
    assert isinstance(camera, VideoCamera)
    try:
        frames = camera.frames(np.arange(len(camera), dtype=np.int64))
    except LerobotNbError:
        return  # the mp4 is missing or does not hold the episode: the recording shows no camera
    encoded = frames.encoded(frames.codec) if frames.codec in _RERUN_CODECS else None
    if encoded is not None:
        codec = getattr(rr.VideoCodec, _RERUN_CODECS[frames.codec])
        rec.log(key, rr.VideoStream(codec=codec), static=True)
        samples = rr.VideoStream.columns(sample=list(encoded.packets), is_keyframe=list(encoded.keyframes))
        rec.send_columns(key, indexes=indexes(), columns=samples)
        return
    start = 0
    for batch in itertools.batched((_jpeg(frame) for frame in frames), _JPEG_BATCH):
        rows = slice(start, start + len(batch))
        columns = rr.EncodedImage.columns(blob=list(batch), media_type=["image/jpeg"] * len(batch))
        rec.send_columns(key, indexes=indexes(rows), columns=columns)
        start += len(batch)


def _jpeg(frame: np.ndarray) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(frame).save(out, format="JPEG", quality=90)
    return out.getvalue()


def _media_type(data: bytes | None) -> str:
    return "image/png" if data and data[:4] == b"\x89PNG" else "image/jpeg"
