"""`curation.yaml`: which episodes to drop, trim or split, read, checked and written in one place.

```yaml
episodes:
  3: {drop: idle the whole time}          # episode_index 3 is left out (the reason is kept)
  pusht_002: {trim: [1.5, null]}          # recording id (datasets this tool wrote): from 1.5 s to the end
  5: {trim: [0.0, 7.2], split: [4.0]}     # keep [0, 7.2) s, cut into [0, 4) and [4, 7.2) s
  7: {task: push the T to the target}     # every kept frame gets this task
```

Keys are an episode's `episode_index` (a YAML integer) or, for datasets this package wrote, its
recording id (`meta/lerobot_nb.json`); episodes not named are kept as they are. Times are
seconds from the episode start: `trim: [START_S, END_S]` keeps the frames with
START_S <= t < END_S (`null` = to the end), `split: [T, ...]` starts a new episode at each T.
`drop` excludes everything else. This module checks the file on its own (`read_curation`);
whether the episodes and times exist in a dataset is checked when it is applied
(`lerobot_nb.curate.apply`). The notebook and `curate suggest` write it with `write_curation`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from lerobot_nb.errors import LerobotNbError

__all__ = [
    "Curation",
    "EpisodeDecision",
    "EpisodeKey",
    "curation_to_yaml",
    "parse_curation",
    "read_curation",
    "write_curation",
]

#: An episode as the file names it: its episode_index (int) or its recording id (str).
EpisodeKey = int | str

_FIELDS = ("drop", "trim", "split", "task")
_HEADER = (
    "# lerobot-nb curation file: episodes not listed are kept. Keys: episode_index or recording id.\n"
    "# drop: REASON | trim: [START_S, END_S or null] | split: [T_S, ...] | task: TEXT (seconds from the episode start)\n"
)


@dataclass(frozen=True)
class EpisodeDecision:
    """What happens to one episode: dropped (with a reason), or kept with an optional trim
    [start_s, end_s) (end None = the end), split times and a new task."""

    drop: str | None = None
    trim: tuple[float, float | None] | None = None
    split: tuple[float, ...] = ()
    task: str | None = None

    def __post_init__(self) -> None:
        try:
            _check_decision(self)
        except ValueError as exc:
            raise LerobotNbError(str(exc)) from None

    @property
    def dropped(self) -> bool:
        """True if the episode is dropped (`drop` holds the reason)."""
        return self.drop is not None

    def to_yaml(self) -> dict[str, Any]:
        """The mapping the file stores (only the fields that are set)."""
        out: dict[str, Any] = {}
        if self.drop is not None:
            out["drop"] = self.drop
        if self.trim is not None:
            out["trim"] = list(self.trim)
        if self.split:
            out["split"] = list(self.split)
        if self.task is not None:
            out["task"] = self.task
        return out


@dataclass(frozen=True)
class Curation:
    """Decisions per episode, in file order; `path` is the file they were read from (if any)."""

    episodes: Mapping[EpisodeKey, EpisodeDecision] = field(default_factory=dict)
    path: Path | None = None

    def with_decision(self, key: EpisodeKey, decision: EpisodeDecision | None) -> Curation:
        """A copy with `key`'s decision replaced (None removes it: the episode is kept as is)."""
        episodes = {k: v for k, v in self.episodes.items() if k != key}
        if decision is not None:
            episodes[key] = decision
        return Curation(episodes, self.path)


def _bad(what: str, path: Path | None, episode: EpisodeKey | None = None) -> LerobotNbError:
    return LerobotNbError(what, file=path, episode=None if episode is None else str(episode))


def _check_decision(d: EpisodeDecision) -> None:
    """Errors that need no dataset: a drop with other fields, bad trim/split values."""
    if d.drop is not None:
        if not isinstance(d.drop, str) or not d.drop.strip():
            raise ValueError("drop needs a reason (text)")
        if d.trim is not None or d.split or d.task is not None:
            raise ValueError("a dropped episode cannot also be trimmed, split or retasked")
    if d.trim is not None:
        start, end = d.trim
        if not _is_seconds(start) or start < 0:
            raise ValueError(f"trim start {start!r} is not a number of seconds >= 0")
        if end is not None and (not _is_seconds(end) or end <= start):
            raise ValueError(f"trim [{start}, {end}] does not end after it starts")
    if any(not _is_seconds(t) or t <= 0 for t in d.split) or list(d.split) != sorted(set(d.split)):
        raise ValueError(f"split times {list(d.split)} must be increasing seconds > 0")
    if d.task is not None and (not isinstance(d.task, str) or not d.task.strip()):
        raise ValueError("task must be non-empty text")


def _is_seconds(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value == value  # not NaN


# -- reading ---------------------------------------------------------------------------------
class _DuplicateKey(Exception):
    pass


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping (PyYAML keeps the last silently)."""


def _mapping_without_duplicates(loader: _StrictLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)  # type: ignore[no-untyped-call]
        line = key_node.start_mark.line + 1
        if key in seen:
            if key == "trim":
                raise _DuplicateKey(f"line {line}: several trims for one episode (give one [START_S, END_S])")
            if key in _FIELDS:
                raise _DuplicateKey(f"line {line}: `{key}` is given twice for one episode")
            raise _DuplicateKey(f"line {line}: episode {key!r} is listed twice (first on line {seen[key]})")
        seen[key] = line
    return loader.construct_mapping(node)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_duplicates)


def read_curation(path: str | Path) -> Curation:
    """Read and check a curation file (one-line LerobotNbError naming the file and episode)."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise LerobotNbError(f"cannot read the curation file ({exc.strerror or exc})", file=path) from None
    return parse_curation(text, path=path)


def parse_curation(text: str, *, path: Path | None = None) -> Curation:
    """A curation from YAML text; `path` only names the file in errors."""
    try:
        data = yaml.load(text, Loader=_StrictLoader)
    except _DuplicateKey as exc:
        raise _bad(str(exc), path) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f"line {mark.line + 1}: " if mark is not None else ""
        raise _bad(f"{line}not valid YAML ({getattr(exc, 'problem', None) or exc})", path) from None
    if data is None:
        return Curation({}, path)
    if not isinstance(data, dict) or set(data) - {"episodes"}:
        raise _bad("a curation file is a mapping with one key, `episodes:`", path)
    episodes = data.get("episodes") or {}
    if not isinstance(episodes, dict):
        raise _bad("`episodes:` must map episodes to {drop: REASON} or {trim: [START_S, END_S]}", path)
    return Curation({_key(k, path): _decision(k, v, path) for k, v in episodes.items()}, path)


def _key(key: object, path: Path | None) -> EpisodeKey:
    if isinstance(key, bool) or not isinstance(key, int | str) or (isinstance(key, int) and key < 0):
        raise _bad(f"{key!r} is not an episode_index (0, 1, ...) or a recording id", path)
    if isinstance(key, str) and not key.strip():
        raise _bad("an empty episode key", path)
    return key


def _decision(key: EpisodeKey, value: object, path: Path | None) -> EpisodeDecision:
    if not isinstance(value, dict) or not value:
        raise _bad(f"expected {{drop: REASON}} or {{trim: [START_S, END_S]}}, got {value!r}", path, key)
    unknown = sorted(set(map(str, value)) - set(_FIELDS))
    if unknown:
        raise _bad(f"unknown field(s) {', '.join(unknown)}; known: {', '.join(_FIELDS)}", path, key)
    try:
        return EpisodeDecision(
            drop=value.get("drop"),
            trim=_trim(value["trim"]) if "trim" in value else None,
            split=_split(value.get("split", [])),
            task=value.get("task"),
        )
    except ValueError as exc:
        raise _bad(str(exc), path, key) from None
    except LerobotNbError as exc:
        raise exc.with_context(file=path, episode=str(key)) from None


def _trim(value: object) -> tuple[float, float | None]:
    if isinstance(value, list) and value and all(isinstance(v, list) for v in value):
        raise ValueError("several trims for one episode (give one [START_S, END_S])")
    if not isinstance(value, list) or len(value) != 2:
        raise ValueError(f"trim {value!r} is not [START_S, END_S] (END_S null = the end)")
    start, end = value
    if not _is_seconds(start) or (end is not None and not _is_seconds(end)):
        raise ValueError(f"trim {value!r}: START_S and END_S must be seconds (END_S may be null)")
    return float(start), None if end is None else float(end)


def _split(value: object) -> tuple[float, ...]:
    values: list[object] = value if isinstance(value, list) else [value]
    seconds = [v for v in values if isinstance(v, int | float) and _is_seconds(v)]
    if len(seconds) != len(values):
        raise ValueError(f"split {value!r} is not a list of seconds")
    return tuple(float(v) for v in seconds)


# -- writing ---------------------------------------------------------------------------------
def curation_to_yaml(curation: Curation) -> str:
    """The file's text: a header comment, then one flow mapping per episode, in order."""
    body = {"episodes": {k: d.to_yaml() for k, d in curation.episodes.items()}}
    text = yaml.safe_dump(body, sort_keys=False, default_flow_style=None, allow_unicode=True, width=120)
    return _HEADER + text


def write_curation(path: str | Path, curation: Curation) -> Path:
    """Write the file atomically (a temporary file renamed over it); returns the path."""
    path = Path(path)
    text = curation_to_yaml(curation)
    if parse_curation(text) != Curation(curation.episodes):  # what we write must read back the same
        raise LerobotNbError("the curation does not round-trip through YAML", file=path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.part")
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return path
