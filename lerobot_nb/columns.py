"""Column specs: `entity`, or `entity:Archetype:field`, as the reference CLI accepts them."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass

from lerobot_nb.errors import LerobotNbError

__all__ = [
    "DEFAULT_COMPONENT",
    "IMAGE_COMPONENTS",
    "IMAGE_KINDS",
    "ColumnSpec",
    "closest_columns",
    "image_kind",
    "resolve_column",
]

#: The component a bare entity path means, per role (reference CLI: Scalars for action and state,
#: TextDocument for the task).
DEFAULT_COMPONENT = {
    "numeric": "Scalars:scalars",
    "task": "TextDocument:text",
}

#: Image kind (the `kind` of a camera `key:path:kind`) -> the component that holds its frames.
IMAGE_COMPONENTS: dict[str, str] = {
    "raw": "Image:buffer",
    "compressed": "EncodedImage:blob",
    "video": "VideoStream:sample",
}
#: The kinds a camera spec may name: the three stream kinds, and `file` (a video file beside the
#: recording, read without the server).
IMAGE_KINDS: tuple[str, ...] = (*IMAGE_COMPONENTS, "file")
_KIND_OF_ARCHETYPE = {component.split(":", 1)[0]: kind for kind, component in IMAGE_COMPONENTS.items()}


def image_kind(archetype: str) -> str | None:
    """The image kind an archetype's frames are (`EncodedImage` -> `compressed`); None if no image."""
    return _KIND_OF_ARCHETYPE.get(archetype)


@dataclass(frozen=True)
class ColumnSpec:
    """A Rerun dataframe column: entity path plus `Archetype:field` component.

    The column name on the server is `f"{entity}:{component}"`, e.g.
    `/observation/joint_positions:Scalars:scalars`.
    """

    entity: str
    component: str

    @property
    def name(self) -> str:
        """Column name on the server, e.g. `/observation/joint_positions:Scalars:scalars`."""
        return f"{self.entity}:{self.component}"

    @property
    def archetype(self) -> str:
        """Archetype part of the component, e.g. `Scalars`."""
        return self.component.split(":", 1)[0]

    @property
    def field(self) -> str:
        """Field part of the component, e.g. `scalars`."""
        return self.component.split(":", 1)[1]

    @classmethod
    def parse(cls, text: str, *, role: str = "numeric") -> ColumnSpec:
        """Parse `/entity` (the role's default component) or `/entity:Archetype:field`.

        The entity part may itself not contain `:`; the archetype may be dotted
        (`schemas.proto.JointState`).
        """
        text = text.strip()
        if not text:
            raise LerobotNbError("empty column path")
        parts = text.split(":")
        entity = parts[0] if parts[0].startswith("/") else "/" + parts[0]
        if len(parts) == 1:
            if role not in DEFAULT_COMPONENT:
                raise LerobotNbError(
                    f"column {text!r} needs an explicit component (`{entity}:Archetype:field`)"
                )
            return cls(entity, DEFAULT_COMPONENT[role])
        if len(parts) == 3 and all(parts[1:]):
            return cls(entity, f"{parts[1]}:{parts[2]}")
        raise LerobotNbError(f"column {text!r} is neither `/entity` nor `/entity:Archetype:field`")


def closest_columns(name: str, available: Iterable[str], n: int = 3) -> list[str]:
    """The `n` available column names that look most like `name` (for error messages).

    Columns of the same entity come first: a right entity with the wrong component (a custom
    `JointState` instead of `Scalars`) is the most common mistake.
    """
    pool = list(available)
    entity = name.split(":", 1)[0]
    same_entity = [c for c in pool if c.split(":", 1)[0] == entity]
    similar = difflib.get_close_matches(name, pool, n=n, cutoff=0.3)
    return list(dict.fromkeys(same_entity + similar))[:n]


def resolve_column(
    spec: ColumnSpec, available: Iterable[str], *, source: str | None = None, episode: str | None = None
) -> str:
    """Return `spec.name` if the server has it, else raise with the closest matches.

    `source` names the dataset or file in the error; `episode` the episode looked in.
    """
    pool = list(available)
    if spec.name in pool:
        return spec.name
    close = closest_columns(spec.name, pool)
    hint = f"; closest: {', '.join(close)}" if close else ""
    raise LerobotNbError(
        f"unknown column {spec.name}{hint} (list all with `lerobot-nb inspect PATH --columns`)",
        file=source,
        episode=episode,
        stream=spec.entity,
    )
