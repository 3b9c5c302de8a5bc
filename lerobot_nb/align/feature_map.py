"""`feature_map`: rename source streams to dataset features (`state=observation.state`), on top of
whatever the stream fields (`action_path`, `state_path`, `extra`, `image`) already assign.

A map entry `SRC=DST` takes every stream whose entity is `/SRC` and makes it feed feature `DST`:
`action`, `observation.state`, `observation.images.<key>` (cameras only), any other name (an extra
numeric feature), or nothing (an empty `DST` leaves the stream out). Applying a map twice gives
the same assignment, so a config rebuilt from its own fields (`dataclasses.replace`) is unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from lerobot_nb.errors import LerobotNbError

__all__ = ["CAMERA_PREFIX", "Assignment", "parse_feature_map", "remap"]

#: Cameras are written as `observation.images.<key>` features (lerobot's convention).
CAMERA_PREFIX = "observation.images."


@dataclass(frozen=True)
class Assignment:
    """One stream feeding one feature: `source` is its entity (`/state`), `text` its spec as the
    stream fields give it, without a feature key (`/state`, `/cam:video`)."""

    feature: str
    source: str
    camera: bool
    text: str


def _entity(name: str) -> str:
    name = name.strip()
    return name if name.startswith("/") else "/" + name


def parse_feature_map(items: Sequence[str]) -> list[tuple[str, str]]:
    """`("state=observation.state,image=observation.images.front",)` -> [(entity, feature), ...]."""
    out: list[tuple[str, str]] = []
    for item in items:
        for part in str(item).split(","):
            if not part.strip():
                continue
            src, sep, dst = part.partition("=")
            if not sep or not src.strip():
                raise LerobotNbError(
                    f"feature_map={part.strip()!r} is not SRC=DST (DST empty: leave SRC out)"
                )
            out.append((_entity(src), dst.strip()))
    return out


def remap(assignments: Sequence[Assignment], entries: Sequence[tuple[str, str]]) -> list[Assignment]:
    """`assignments` with each entry's streams moved to its feature, in map order (see the module)."""
    mapped = {src for src, _ in entries}
    out = list(assignments)
    for src, dst in entries:
        hits = [a for a in out if a.source == src]
        if not hits:
            have = ", ".join(sorted({a.source.lstrip("/") for a in out})) or "none"
            raise LerobotNbError(f"feature_map: the input has no feature {src.lstrip('/')!r}; it has {have}")
        for a in hits:
            _check_target(a, dst)
        clash = [b for b in out if dst and b.feature == dst and b.source not in mapped]
        if clash:
            raise LerobotNbError(
                f"feature_map: {src.lstrip('/')}={dst} clashes with {clash[0].source.lstrip('/')}, which "
                f"already is {dst}; map that one elsewhere too (or leave it out with "
                f"{clash[0].source.lstrip('/')}=)"
            )
        out = [a for a in out if a.source != src] + ([replace(a, feature=dst) for a in hits] if dst else [])
    return out


def _check_target(a: Assignment, dst: str) -> None:
    if not dst:
        return
    name = a.source.lstrip("/")
    if a.camera and not dst.startswith(CAMERA_PREFIX):
        raise LerobotNbError(f"feature_map: {name} is a camera: map it to {CAMERA_PREFIX}<key>, not {dst}")
    if not a.camera and dst.startswith(CAMERA_PREFIX):
        raise LerobotNbError(f"feature_map: {name} is numeric, {dst} names a camera")
    if a.camera and not _camera_key_ok(dst.removeprefix(CAMERA_PREFIX)):
        raise LerobotNbError(f"feature_map: {dst}: the camera key must be a short name like `front`")


def _camera_key_ok(key: str) -> bool:
    return bool(key) and "/" not in key and "." not in key
