"""Which column of an entity is its stream, and what kind of data it carries."""

from __future__ import annotations

from lerobot_nb.columns import image_kind
from lerobot_nb.inspect.access import ServerLike, dataset_of
from lerobot_nb.query import ColumnInfo, component_columns

__all__ = ["STREAM_COMPONENTS", "column_kind", "stream_columns"]

#: The component that carries the data of each archetype: one column per entity is "the stream".
STREAM_COMPONENTS = {
    "Scalars": "scalars",
    "Image": "buffer",
    "EncodedImage": "blob",
    "VideoStream": "sample",
    "TextDocument": "text",
    "TextLog": "text",
    "Points3D": "positions",
    "Points2D": "positions",
    "Transform3D": "translation",
    "Tensor": "data",
    "DepthImage": "buffer",
}


def column_kind(info: ColumnInfo) -> str:
    """`numeric`, `text`, `image:raw|compressed|video`, the archetype's name in lower case for
    other data streams (`points3d`), or `other` for a component that is not the stream's data."""
    field = info.component.split(":", 1)[-1]
    if STREAM_COMPONENTS.get(info.archetype) != field:
        return "other"
    kind = image_kind(info.archetype)
    if kind is not None:
        return f"image:{kind}"
    if info.archetype == "Scalars":
        return "numeric"
    if info.archetype in ("TextDocument", "TextLog"):
        return "text"
    return info.archetype.lower()


def stream_columns(server: ServerLike) -> list[ColumnInfo]:
    """The temporal data column of every entity (see `STREAM_COMPONENTS`), sorted by name."""
    return [
        info
        for info in component_columns(dataset_of(server))
        if not info.is_static and column_kind(info) != "other"
    ]
