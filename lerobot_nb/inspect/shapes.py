"""Shape probing: the vector length of numeric streams and the pixel size of cameras, from first rows."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Sequence
from typing import Any

from lerobot_nb.codecs import normalize_codec, open_decoder
from lerobot_nb.errors import LerobotNbError
from lerobot_nb.inspect.access import ServerLike, collect, dataset_of
from lerobot_nb.inspect.streams import column_kind
from lerobot_nb.inspect.timing import default_index
from lerobot_nb.query import ColumnInfo, index_timelines

__all__ = ["Shapes", "probe_shapes"]

#: Column name -> values per row (numeric) and column name -> (height, width) (images).
Shapes = tuple[dict[str, int], dict[str, tuple[int, int]]]
#: Video samples read to find the first decodable frame (a stream may open mid-GOP).
_VIDEO_SAMPLES = 30


def _first_values(server: ServerLike, columns: Sequence[str], n: int = 1) -> dict[str, list[Any]]:
    """The first `n` non-null cells of each column (any episode), as Python values.

    Static columns are read without an index; temporal ones on the first timeline that has them
    (a stream need not exist on every timeline, e.g. an MCAP String without header stamps).
    """
    from datafusion import col

    dataset = dataset_of(server)
    out: dict[str, list[Any]] = {c: [] for c in columns}
    entities = sorted({c.split(":", 1)[0] for c in columns})
    if not entities:
        return out
    timelines = [None, default_index(server), *sorted(index_timelines(dataset))]
    for index in dict.fromkeys(timelines):
        todo = [c for c in columns if not out[c]]
        if not todo:
            break
        names = set(dataset.filter_contents(entities).reader(index=index).schema().names)
        for c in todo:
            if c in names:

                def first_rows(d: Any, c: str = c, index: str | None = index) -> Any:
                    reader = d.filter_contents(entities).reader(index=index)
                    return reader.filter(col(c).is_not_null()).select(col(c)).limit(n)

                table = collect(server, first_rows)
                out[c] = [cell for cell in table.column(0).to_pylist() if cell]
    return out


def _encoded_image_size(blob: Any) -> tuple[int, int] | None:
    from PIL import Image

    try:
        with Image.open(io.BytesIO(bytes(blob))) as img:
            return img.height, img.width
    except Exception:
        return None


def _video_size(samples: Sequence[Any], codec: str) -> tuple[int, int] | None:
    """(height, width) of the first frame the samples decode to; None when none does."""
    import av

    try:
        ctx = open_decoder(codec)
    except LerobotNbError:
        return None
    for sample in samples:
        with contextlib.suppress(av.FFmpegError):
            for frame in ctx.decode(av.Packet(bytes(sample))):
                return frame.height, frame.width
    with contextlib.suppress(av.FFmpegError):
        for frame in ctx.decode(None):
            return frame.height, frame.width
    return None


def _video_codec(cells: list[Any]) -> str | None:
    """The codec of a `VideoStream:codec` cell (H.264 when the stream names none)."""
    fourcc = cells[0][0] if cells and cells[0] else None
    try:
        return normalize_codec(int(fourcc) if fourcc else None)
    except LerobotNbError:
        return None  # a codec id this package cannot decode: no size, not an error


def _image_size(info: ColumnInfo, cells: list[Any], firsts: dict[str, list[Any]]) -> tuple[int, int] | None:
    if info.archetype == "Image":
        fmt = (firsts.get(f"{info.entity}:Image:format") or [[None]])[0][0]
        return (int(fmt["height"]), int(fmt["width"])) if isinstance(fmt, dict) and fmt.get("width") else None
    if info.archetype == "EncodedImage":
        return _encoded_image_size(cells[0][0])
    codec = _video_codec(firsts.get(f"{info.entity}:VideoStream:codec") or [])
    return _video_size([c[0] for c in cells if c], codec) if codec else None


def probe_shapes(server: ServerLike, infos: Sequence[ColumnInfo]) -> Shapes:
    """Vector length of numeric streams and (height, width) of image streams, from first rows.

    Reads one row per stream (up to 30 of a video stream, to reach a decodable frame); a stream
    whose first rows do not say (an undecodable codec, an empty stream) is left out.
    """
    by_name = {i.name: i for i in infos}
    wanted = [i.name for i in infos if column_kind(i) == "numeric" or column_kind(i).startswith("image:")]
    extra = [f"{by_name[n].entity}:Image:format" for n in wanted if by_name[n].archetype == "Image"]
    extra += [
        f"{by_name[n].entity}:VideoStream:codec" for n in wanted if by_name[n].archetype == "VideoStream"
    ]
    videos = [n for n in wanted if by_name[n].archetype == "VideoStream"]
    firsts = _first_values(
        server, [n for n in wanted if n not in videos] + [e for e in extra if e in by_name]
    )
    firsts.update(_first_values(server, videos, n=_VIDEO_SAMPLES))
    length: dict[str, int] = {}
    size: dict[str, tuple[int, int]] = {}
    for name in wanted:
        cells = firsts.get(name) or []
        if not cells:
            continue
        if by_name[name].archetype == "Scalars":
            length[name] = len(cells[0])
        elif (got := _image_size(by_name[name], cells, firsts)) is not None:
            size[name] = got
    return length, size
