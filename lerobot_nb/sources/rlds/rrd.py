"""One RLDS episode as a Rerun `.rrd` on the `step` sequence timeline, cached by content.

Entities are the stream keys of `RldsReader.read`: numeric features as `Scalars` (names as
`SeriesLines`), cameras as `EncodedImage` (the JPEG/PNG bytes as stored, not re-encoded),
per-step text as `TextDocument`, per-episode text as a static `TextDocument`.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from lerobot_nb.episode import NumericStream
from lerobot_nb.sources.cache import content_key
from lerobot_nb.sources.rlds.steps import EpisodeSteps, numeric_streams
from lerobot_nb.sources.rlds.tfrecord import read_record

if TYPE_CHECKING:
    from lerobot_nb.sources.rlds.reader import RldsReader

__all__ = ["episode_rrd"]

#: Bumped when the conversion changes, so stale cache entries are not reused.
_CONVERTER_VERSION = "2"


def episode_rrd(reader: RldsReader, episode_id: str, cache_dir: Path) -> Path:
    """The episode's `.rrd` in `cache_dir` (recording id = episode id), written once per content:
    the key covers `features.json`, the record's bytes and the converter version."""
    slot = reader._slot(episode_id)
    steps = reader.steps(episode_id)  # raises for unreadable records before anything is written
    assert slot.span is not None
    record = hashlib.sha256(read_record(slot.span)).hexdigest()
    key = content_key(
        reader.builder.root / "features.json", salt=f"{_CONVERTER_VERSION}:{episode_id}:{record}"
    )
    cache_dir.mkdir(parents=True, exist_ok=True)
    target = cache_dir / f"{episode_id}-{key}.rrd"
    if target.exists():
        return target
    fd, tmp_name = tempfile.mkstemp(dir=cache_dir, suffix=".rrd.part")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        _write(steps, numeric_streams(steps, language=reader.language_embedding_path()), episode_id, tmp)
        tmp.replace(target)  # atomic: a crash never leaves a half-written cache entry
    finally:
        tmp.unlink(missing_ok=True)
    return target


def _write(steps: EpisodeSteps, numeric: Mapping[str, NumericStream], episode_id: str, path: Path) -> None:
    import rerun as rr

    from lerobot_nb.sources.rlds.reader import STEP

    rec = rr.RecordingStream("lerobot_nb_rlds", recording_id=episode_id, send_properties=False)
    rec.save(path)
    index = [rr.TimeColumn(STEP, sequence=np.arange(steps.length, dtype=np.int64))]
    for key, stream in numeric.items():
        if stream.names:
            rec.log(key, rr.SeriesLines(names=list(stream.names)), static=True)
        rec.send_columns(key, indexes=index, columns=rr.Scalars.columns(scalars=stream.values))
    for v in steps.values.values():
        if v.spec.kind == "image" and v.spec.in_steps:
            media = [v.spec.media_type] * len(v.blobs)
            rec.send_columns(v.spec.key, indexes=index, columns=rr.EncodedImage.columns(blob=list(v.blobs), media_type=media))  # fmt: skip
        elif v.texts and v.spec.in_steps:
            rec.send_columns(v.spec.key, indexes=index, columns=rr.TextDocument.columns(text=list(v.texts)))
        elif v.texts:
            rec.log(v.spec.key, rr.TextDocument(v.texts[0]), static=True)
    rec.flush()
    rec.disconnect()
