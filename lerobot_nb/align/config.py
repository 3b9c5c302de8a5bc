"""The alignment spec: one frozen config for the API, the CLI flags and the notebook parameters."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from lerobot_nb.align.feature_map import CAMERA_PREFIX, Assignment, parse_feature_map, remap
from lerobot_nb.codecs import normalize_codec
from lerobot_nb.columns import IMAGE_COMPONENTS, IMAGE_KINDS, ColumnSpec
from lerobot_nb.config import help_field, warn_deprecated
from lerobot_nb.errors import LerobotNbError

__all__ = [
    "IMAGE_COMPONENTS",
    "IMAGE_KINDS",
    "POLICIES",
    "AlignConfig",
    "ImageSpec",
    "NumericSpec",
    "Policy",
    "StreamPolicy",
    "stream_paths",
]

Policy = Literal["latest", "nearest", "linear"]
POLICIES: tuple[str, ...] = ("latest", "nearest", "linear")
ImageKind = Literal["raw", "compressed", "video", "file"]  # = columns.IMAGE_KINDS


@dataclass(frozen=True, kw_only=True)
class AlignConfig:
    """How to put one recording's streams onto LeRobot's fixed `k / fps` grid.

    Streams: `action_path` / `state_path` (bare entity = `Scalars:scalars`, or a full
    `entity:Archetype:field`), `*_column` overrides, `extra` numeric features
    (`feature.key=/path`), cameras `image` (`key:path:kind`), and the task
    (`task_path` text stream or the constant `task`).
    """

    fps: int = help_field(10, "target frame rate of the dataset (ticks per second, a whole number)")
    index: str = help_field(
        "real_time", "timeline to align on (real_time, log_time, ros2_timestamp, frame, ...)"
    )
    action_path: tuple[str, ...] = help_field(
        ("/action",),
        "action stream(s): entity or entity:Archetype:field; several (comma-separated or repeated) are "
        "concatenated in order; empty: no action",
        metavar="PATH",
    )
    state_path: tuple[str, ...] = help_field(
        ("/observation/state",),
        "state stream(s), like --action-path; empty: no state",
        metavar="PATH",
    )
    task_path: str | None = help_field(
        "/language_instruction", "task text entity (TextDocument, static or temporal); empty: none"
    )
    image: tuple[str, ...] = help_field(
        (),
        "camera as key:path[:kind], kind raw|compressed|video (default: what the stream is), or "
        "key:FILE:file[:offset_s] for a video file beside the recording ({episode} = recording id) "
        "(repeatable)",
        metavar="KEY:PATH[:KIND]",
    )
    action_column: str | None = help_field(None, "full action column name, overrides --action-path")
    state_column: str | None = help_field(None, "full state column name, overrides --state-path")
    task_column: str | None = help_field(None, "full task column name, overrides --task-path")
    video_format: str = help_field("h264", "codec of video streams that do not name theirs (h264, hevc, av1)")
    task: str | None = help_field(None, "constant task text for every tick (overrides the task stream)")
    extra: tuple[str, ...] = help_field(
        (), "extra numeric feature as feature.key=/path[:Archetype:field] (repeatable)", metavar="KEY=PATH"
    )
    feature_map: tuple[str, ...] = help_field(
        (),
        "rename source features as SRC=DST (comma-separated or repeated): SRC a source feature or "
        "stream (state, /robot/joints), DST action, observation.state, observation.images.KEY or any "
        "other name (an extra feature); an empty DST leaves SRC out. Applied over the stream flags and "
        "the input's defaults",
        metavar="SRC=DST",
    )
    policy: Policy = help_field(
        "latest",
        "how a tick gets a stream's value: latest sample at or before it, "
        "nearest sample, or linear interpolation (numeric only)",
    )
    stream_policy: tuple[str, ...] = help_field(
        (),
        "per-stream override key=policy[:max_staleness_s], key is action, observation.state, a camera "
        "key or an extra key (repeatable)",
        metavar="KEY=POLICY[:S]",
    )
    max_staleness_s: float | None = help_field(
        None,
        "largest allowed age of a value at a tick in seconds (default: staleness_factor x the "
        "stream's own median sample period)",
    )
    staleness_factor: float = help_field(
        2.0, "default tolerance as a multiple of each stream's median period"
    )
    on_stale: Literal["drop", "flag"] = help_field(
        "flag",
        "a tick whose value is older than the stream's tolerance keeps the latest value and is flagged "
        "in the report (flag), or is dropped, which splits the episode there (drop)",
    )
    max_gap_s: float | None = help_field(
        1.0,
        "a source gap longer than this (seconds) splits or ends the episode (a real outage, not a "
        "hiccup); empty: never",
    )
    on_gap: Literal["split", "end"] = help_field("split", "what a gap longer than max_gap_s does")
    min_ticks: int = help_field(1, "pieces shorter than this many ticks (after a split) are left out")
    span_stream: str | None = help_field(
        None, "take the grid span from this stream key alone (default: the overlap of all streams)"
    )
    sequence_rate: float | None = help_field(
        None, "steps per second of a sequence timeline (needed to align on e.g. `frame`)"
    )
    pushdown: bool = help_field(
        False,
        "let the server do the latest-at lookups of numeric streams (same values as the default numpy "
        "lookup over the fetched rows, which is faster)",
    )
    image_memory_mb: float = help_field(
        1024.0,
        "episodes stored in at most this many MB keep their encoded images in memory (frames "
        "usable after the server closes); bigger ones fetch image cells from the server while frames "
        "are iterated",
    )
    skip_bad_episodes: bool = help_field(
        False, "leave out a bad episode with its one-line reason instead of stopping the run"
    )
    on_error: Literal["error", "skip"] | None = help_field(
        None, "deprecated: skip_bad_episodes", deprecated="skip_bad_episodes"
    )

    def __post_init__(self) -> None:
        if self.on_error is not None:
            warn_deprecated("on_error", "skip_bad_episodes")
            object.__setattr__(self, "skip_bad_episodes", self.skip_bad_episodes or self.on_error == "skip")
            object.__setattr__(self, "on_error", None)
        for name in ("action_path", "state_path"):
            object.__setattr__(self, name, stream_paths(getattr(self, name)))
        if self.feature_map:
            self._apply_feature_map()
        if isinstance(self.fps, bool) or not isinstance(self.fps, int):
            if isinstance(self.fps, float) and self.fps.is_integer():
                object.__setattr__(self, "fps", int(self.fps))
            else:
                raise LerobotNbError(f"fps={self.fps!r} must be a whole number of ticks per second")
        if self.fps <= 0:
            raise LerobotNbError(f"fps={self.fps} must be > 0")
        if self.policy not in POLICIES:
            raise LerobotNbError(f"policy={self.policy!r} is not one of {', '.join(POLICIES)}")
        if self.max_staleness_s is not None and self.max_staleness_s <= 0:
            raise LerobotNbError(f"max_staleness_s={self.max_staleness_s} must be > 0")
        if self.staleness_factor <= 0:
            raise LerobotNbError(f"staleness_factor={self.staleness_factor} must be > 0")
        if self.max_gap_s is not None and self.max_gap_s <= 0:
            raise LerobotNbError(f"max_gap_s={self.max_gap_s} must be > 0")
        if self.sequence_rate is not None and self.sequence_rate <= 0:
            raise LerobotNbError(f"sequence_rate={self.sequence_rate} must be > 0")
        normalize_codec(self.video_format)  # an unknown codec name fails here, not mid-run
        # Parse everything once so a bad spec fails before any server work.
        keys = list(dict.fromkeys(s.key for s in self.numeric_specs())) + [s.key for s in self.image_specs()]
        dup = sorted({k for k in keys if keys.count(k) > 1})
        if dup:
            raise LerobotNbError(f"stream key(s) {', '.join(dup)} given twice")
        overrides = self.stream_policies()
        unknown = sorted(set(overrides) - set(keys))
        if unknown:
            raise LerobotNbError(
                f"stream_policy names unknown stream(s) {', '.join(unknown)}; streams: {', '.join(keys)}"
            )
        for key, sp in overrides.items():
            if sp.policy == "linear" and key in {s.key for s in self.image_specs()}:
                raise LerobotNbError("linear interpolation is for numeric streams only", stream=key)
        if self.span_stream is not None and self.span_stream not in keys:
            raise LerobotNbError(
                f"span_stream={self.span_stream!r} is not a stream; streams: {', '.join(keys)}"
            )

    def _apply_feature_map(self) -> None:
        """Rewrite the stream fields as `feature_map` says (idempotent: see `align.feature_map`)."""
        streams = remap(self._assignments(), parse_feature_map(self.feature_map))
        numeric = [a for a in streams if not a.camera]
        fields = {
            "action_path": tuple(a.text for a in numeric if a.feature == "action"),
            "state_path": tuple(a.text for a in numeric if a.feature == "observation.state"),
            "extra": tuple(
                f"{a.feature}={a.text}" for a in numeric if a.feature not in ("action", "observation.state")
            ),
            "image": tuple(f"{a.feature.removeprefix(CAMERA_PREFIX)}:{a.text}" for a in streams if a.camera),
        }
        for name, value in fields.items():
            object.__setattr__(self, name, value)

    def _assignments(self) -> list[Assignment]:
        """Every stream the fields name: action, state, extras, cameras (the `*_column`s aside)."""
        out = [
            Assignment(key, ColumnSpec.parse(text).entity, False, text)
            for key, paths in (("action", self.action_path), ("observation.state", self.state_path))
            for text in paths
        ]
        for item in self.extra:
            key, sep, path = item.partition("=")
            if not sep or not key.strip() or not path.strip():
                raise LerobotNbError(f"extra={item!r} is not feature.key=/path")
            out.append(Assignment(key.strip(), ColumnSpec.parse(path).entity, False, path.strip()))
        for text in self.image:
            spec = ImageSpec.parse(text)
            out.append(Assignment(CAMERA_PREFIX + spec.key, spec.entity, True, spec.text.partition(":")[2]))
        return out

    # -- parsed views ----------------------------------------------------------------------------
    def numeric_specs(self) -> list[NumericSpec]:
        """Numeric streams in output order: action, observation.state, then extras.

        A feature made of several streams has one spec per stream, in the order given (its
        values are concatenated in that order).
        """
        out: list[NumericSpec] = []
        for key, paths, column in (
            ("action", self.action_path, self.action_column),
            ("observation.state", self.state_path, self.state_column),
        ):
            for text in stream_paths(column) if column else paths:
                out.append(NumericSpec(key, ColumnSpec.parse(text, role="numeric")))
        for item in self.extra:
            key, sep, path = item.partition("=")
            if not sep or not key.strip() or not path.strip():
                raise LerobotNbError(f"extra={item!r} is not feature.key=/path")
            out.append(NumericSpec(key.strip(), ColumnSpec.parse(path, role="numeric")))
        return out

    def image_specs(self) -> list[ImageSpec]:
        """Cameras in the order given."""
        return [ImageSpec.parse(text) for text in self.image]

    def task_spec(self) -> ColumnSpec | None:
        """The task text column, or None when there is none or a constant `task` is given."""
        if self.task is not None:
            return None
        text = self.task_column or self.task_path
        return ColumnSpec.parse(text, role="task") if text else None

    def stream_policies(self) -> dict[str, StreamPolicy]:
        """Per-stream overrides from `stream_policy` (key -> policy and optional tolerance)."""
        out: dict[str, StreamPolicy] = {}
        for item in self.stream_policy:
            key, sep, rest = item.partition("=")
            policy, _, tol = rest.partition(":")
            if not sep or policy not in POLICIES:
                raise LerobotNbError(
                    f"stream_policy={item!r} is not key=policy[:max_staleness_s] with policy one of "
                    f"{', '.join(POLICIES)}"
                )
            staleness = None
            if tol:
                try:
                    staleness = float(tol)
                except ValueError:
                    raise LerobotNbError(f"stream_policy={item!r}: {tol!r} is not seconds") from None
                if staleness <= 0:
                    raise LerobotNbError(f"stream_policy={item!r}: tolerance must be > 0")
            out[key.strip()] = StreamPolicy(policy, staleness)  # type: ignore[arg-type]
        return out

    def policy_for(self, key: str) -> StreamPolicy:
        """The policy and explicit tolerance (seconds, None = automatic) of stream `key`."""
        sp = self.stream_policies().get(key)
        if sp is None:
            return StreamPolicy(self.policy, self.max_staleness_s)
        return StreamPolicy(
            sp.policy, sp.max_staleness_s if sp.max_staleness_s is not None else self.max_staleness_s
        )


def stream_paths(value: str | Sequence[str] | None) -> tuple[str, ...]:
    """Stream paths as a tuple: None, "" and () mean none; "a,b" and ("a", "b") mean two streams."""
    if value is None:
        return ()
    items = [value] if isinstance(value, str) else list(value)
    return tuple(part.strip() for item in items for part in str(item).split(",") if part.strip())


@dataclass(frozen=True)
class StreamPolicy:
    """Resampling policy of one stream; `max_staleness_s` None means automatic."""

    policy: Policy
    max_staleness_s: float | None = None


@dataclass(frozen=True)
class NumericSpec:
    """A numeric feature: LeRobot key (`action`, `observation.state`, ...) and its column."""

    key: str
    column: ColumnSpec


@dataclass(frozen=True)
class ImageSpec:
    """A camera `key:path[:kind]` (`front:/camera/front:raw`), or a video file `key:FILE:file[:offset_s]`.

    `kind` None means "whatever the stream is" (resolved against the recording). For `file`,
    `entity` is the file path relative to the recording's folder, with `{episode}` standing for the
    recording id, and `offset_s` moves the video's first frame from the recording's first sample.
    """

    key: str
    entity: str
    kind: ImageKind | None
    offset_s: float = 0.0

    @property
    def column(self) -> str:
        """The data column on the server (a known kind only)."""
        if self.kind is None or self.kind == "file":
            raise ValueError(f"camera {self.key} has no server column of its own (kind {self.kind})")
        return f"{self.entity}:{IMAGE_COMPONENTS[self.kind]}"

    @property
    def text(self) -> str:
        """The spec as `ImageSpec.parse` reads it back."""
        if self.kind == "file":
            return f"{self.key}:{self.entity}:file:{self.offset_s:g}"
        return f"{self.key}:{self.entity}" + (f":{self.kind}" if self.kind else "")

    def with_kind(self, kind: ImageKind) -> ImageSpec:
        """The same camera with its kind resolved."""
        return ImageSpec(self.key, self.entity, kind, self.offset_s)

    @classmethod
    def parse(cls, text: str) -> ImageSpec:
        """Parse `key:path`, `key:path:kind` or `key:FILE:file[:offset_s]`."""
        parts = [p.strip() for p in text.strip().split(":")]
        if len(parts) == 4 and parts[2] == "file":
            return cls._file(text, parts)
        if len(parts) not in (2, 3) or not all(parts):
            raise LerobotNbError(
                f"image={text!r} is not key:path[:kind] (e.g. front:/camera/front:video) or key:FILE:file[:offset_s]"
            )
        key, path = parts[0], parts[1]
        kind = parts[2] if len(parts) == 3 else None
        if kind is not None and kind not in IMAGE_KINDS:
            raise LerobotNbError(f"image={text!r}: kind {kind!r} is not one of {', '.join(IMAGE_KINDS)}")
        _check_key(text, key)
        if kind == "file":
            return cls._file(text, [*parts, "0"])
        entity = path if path.startswith("/") else "/" + path
        return cls(key, entity, kind)  # type: ignore[arg-type]

    @classmethod
    def _file(cls, text: str, parts: list[str]) -> ImageSpec:
        key, path, _, offset = parts
        _check_key(text, key)
        if not path:
            raise LerobotNbError(f"image={text!r}: no video file given")
        try:
            offset_s = float(offset)
        except ValueError:
            raise LerobotNbError(f"image={text!r}: offset {offset!r} is not seconds") from None
        return cls(key, path, "file", offset_s)


def _check_key(text: str, key: str) -> None:
    if not key or "/" in key or "." in key:
        raise LerobotNbError(f"image={text!r}: key {key!r} must be a short name like `front`")
