"""RLDS episodes stored by TensorFlow Datasets (a TFDS builder folder), read without TensorFlow.

`open_reader(path)` gives an `EpisodeReader` (episodes `train_00012`, timeline `step`, streams
named by feature path); `to_recordings` converts every episode to a cached `.rrd` for the
server. Modules: `tfrecord` (framing, CRC32C), `example` (the protobuf messages), `features`
(`features.json` and decoding), `builder` (folder, splits, shards), `steps` (one episode and its
notes), `images` (lazy JPEG/PNG frames), `reader`, `rrd`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from lerobot_nb.sources.rlds.builder import builder_dir
from lerobot_nb.sources.rlds.reader import STEP, RldsReader, open_reader

if TYPE_CHECKING:
    from lerobot_nb.sources.discover import Recording

__all__ = ["STEP", "RldsReader", "builder_dir", "open_reader", "to_recordings"]


def to_recordings(path: Path, cache_dir: Path) -> list[Recording]:
    """Every episode of the dataset at `path` as a `Recording` whose `.rrd` is cached by content."""
    from lerobot_nb.sources.discover import Recording

    reader = open_reader(path)
    defaults = reader.defaults()
    source = Path(path).resolve()
    return [
        Recording(source, reader.to_rrd(e, cache_dir).resolve(), e, format="rlds", defaults=defaults)
        for e in reader.episode_ids()
    ]
