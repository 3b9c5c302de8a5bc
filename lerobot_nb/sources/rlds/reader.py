"""RLDS episodes of a TFDS builder folder as `RecordedEpisode`s on the `step` timeline.

Stream keys are the feature paths with a leading `/`: `/steps/observation/state`,
`/steps/action`, `/steps/observation/image_0`, `/steps/language_embedding`; per-episode
numeric features (`/episode_metadata/has_image_0`) hold their one value at every step.
Episode ids are `<split>_<record number in the split>` (`train_00012`), unique across splits.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from lerobot_nb.episode import ImageStream, RecordedEpisode, TextStream, TimelineKind
from lerobot_nb.errors import LerobotNbError
from lerobot_nb.sources.rlds.builder import Builder, EpisodeSlot, open_builder
from lerobot_nb.sources.rlds.features import FeatureSpec
from lerobot_nb.sources.rlds.steps import (
    EpisodeSteps,
    camera_key,
    decode_steps,
    episode_notes,
    numeric_streams,
)

__all__ = ["STEP", "RldsReader", "open_reader"]

#: The one timeline: the step number within the episode (a sequence, 0..length-1).
STEP = "step"
#: Episodes read to find cameras that are black everywhere (left out of the default cameras).
_PROBE = 3
_LANGUAGE = re.compile(r"instruction|language|task", re.IGNORECASE)


def open_reader(
    path: Path, *, split: str | Sequence[str] | None = None, fps: float | None = None
) -> RldsReader:
    """The reader of the builder folder (or version parent, or one shard file) at `path`.

    `split` keeps only those splits; `fps` is the steps per second when the metadata has none
    (or overrides it).
    """
    return RldsReader(open_builder(Path(path).expanduser(), split=split), fps=fps)


class RldsReader:
    """An `EpisodeReader` over one TFDS/RLDS dataset version."""

    def __init__(self, builder: Builder, *, fps: float | None = None) -> None:
        if fps is not None and fps <= 0:
            raise LerobotNbError(f"fps={fps} must be > 0", file=builder.root)
        self.builder = builder
        #: Steps per second: the given fps, else the metadata's, else None (unknown).
        self.rate_hz = float(fps) if fps is not None else builder.rate_hz
        self._slots = {slot.episode_id: slot for slot in builder.episodes}

    @property
    def path(self) -> Path:
        """The dataset version folder."""
        return self.builder.root

    def episode_ids(self) -> list[str]:
        """Episode ids in split, then record order (unreadable ones the metadata lists included)."""
        return list(self._slots)

    def timelines(self) -> Mapping[str, TimelineKind]:
        """One sequence timeline, `step` (the step number within the episode)."""
        return {STEP: "sequence"}

    def steps(self, episode_id: str) -> EpisodeSteps:
        """The decoded record of one episode."""
        return decode_steps(self.builder, self._slot(episode_id))

    def _slot(self, episode_id: str) -> EpisodeSlot:
        if episode_id not in self._slots:
            known = ", ".join(list(self._slots)[:5]) + (", ..." if len(self._slots) > 5 else "")
            raise LerobotNbError(f"no episode {episode_id} (episodes: {known})", file=self.path)
        return self._slots[episode_id]

    def fps_request(self) -> str | None:
        """The one-line request for an fps when neither the metadata nor the caller gave one, else None."""
        if self.rate_hz is not None:
            return None
        b = self.builder
        return (
            f"{b.root}: RLDS dataset {b.name} {b.version} does not say its steps per second (no fps in "
            f"metadata.json): pass --fps <steps per second> (one step = one frame; API/notebooks: fps=...)"
        )

    def read(self, episode_id: str, index: str = STEP) -> RecordedEpisode:
        """The episode's streams on `step`, noting black cameras and unread features; raises for any other."""
        if index != STEP:
            raise LerobotNbError(f"RLDS episodes have one timeline, {STEP!r}, not {index!r}", file=self.path)
        steps = self.steps(episode_id)
        images = steps.images()
        black = {key for key, im in images.items() if im.black()}
        skipped = [f"feature {path} not read: {why}" for path, why in self.builder.features.skipped.items()]
        return RecordedEpisode(
            episode_id=episode_id,
            index=STEP,
            index_kind="sequence",
            numeric=numeric_streams(steps, language=self.language_embedding_path()),
            images=dict[str, ImageStream](images),
            task=_task(steps),
            rate_hz=self.rate_hz,
            source=str(steps.slot.shard),
            notes=(*episode_notes(steps, black), *skipped),
        )

    # -- what fits this data -----------------------------------------------------------------
    def defaults(self) -> Mapping[str, Any]:
        """State, action, cameras (without those black in every probed episode), task, and the
        fps and step rate when known; `fps` is None when not (the caller must ask for one)."""
        return self._defaults

    @cached_property
    def _defaults(self) -> dict[str, Any]:
        specs = self.builder.features.specs
        black = self._black_cameras()
        cameras = [s for s in specs if s.kind == "image" and s.in_steps and s.key not in black]
        task = _task_spec(specs)
        out: dict[str, Any] = {
            "index": STEP,
            "state_path": tuple(s.key for s in _state_specs(specs)),
            "action_path": tuple(s.key for s in _action_specs(specs)),
            "image": tuple(f"{camera_key(s, specs)}:{s.key}" for s in cameras),
            "task_path": task.key if task is not None else "",
        }
        if self.rate_hz is None:
            out["fps"] = None  # the pipeline's "pass --fps" request (see `fps_request`)
        else:
            out |= {"fps": max(1, round(self.rate_hz)), "sequence_rate": self.rate_hz}
        return out

    def _black_cameras(self) -> set[str]:
        """Cameras black in each of the first readable episodes (at most `_PROBE` read)."""
        found: set[str] | None = None
        probed = 0
        for episode_id, slot in self._slots.items():
            if probed == _PROBE:
                break
            if slot.span is None:
                continue
            try:
                images = self.steps(episode_id).images()
            except LerobotNbError:
                continue
            probed += 1
            black = {key for key, im in images.items() if im.black()}
            found = black if found is None else found & black
        return found or set()

    def language_embedding_path(self) -> str | None:
        """The per-step language embedding stream (`/steps/language_embedding`), if the data has one."""
        for s in self.builder.features.specs:
            if s.in_steps and s.kind == "tensor" and "embedding" in s.path.split("/")[-1]:
                return s.key
        return None

    def to_rrd(self, episode_id: str, cache_dir: Path) -> Path:
        """The episode's `.rrd` in `cache_dir`, written once per content (later calls reuse it)."""
        from lerobot_nb.sources.rlds.rrd import episode_rrd

        return episode_rrd(self, episode_id, cache_dir)


# -- streams ---------------------------------------------------------------------------------------
def _task_spec(specs: Sequence[FeatureSpec]) -> FeatureSpec | None:
    """The task text: a per-step text feature named like `language_instruction`, else a per-episode one."""
    texts = [s for s in specs if s.kind == "text" and _LANGUAGE.search(s.path.split("/")[-1])]
    return next((s for s in texts if s.in_steps), texts[0] if texts else None)


def _task(steps: EpisodeSteps) -> str | TextStream | None:
    spec = _task_spec([v.spec for v in steps.values.values()])
    if spec is None:
        return None
    texts = steps.values[spec.path].texts
    if len(set(texts)) <= 1:
        return texts[0] if texts else None
    changes = [0] + [i for i in range(1, len(texts)) if texts[i] != texts[i - 1]]
    return TextStream(np.asarray(changes, np.int64), tuple(texts[i] for i in changes))


def _numeric_leaves(specs: Sequence[FeatureSpec], prefix: str) -> list[FeatureSpec]:
    """Per-step vector or scalar tensors at or under `prefix`, language features left out."""
    return [
        s
        for s in specs
        if s.in_steps
        and s.kind == "tensor"
        and (s.path == prefix or s.path.startswith(prefix + "/"))
        and len(s.shape) <= 1
        and not _LANGUAGE.search(s.path.split("/")[-1])
        and "embedding" not in s.path.split("/")[-1]
    ]


def _state_specs(specs: Sequence[FeatureSpec]) -> list[FeatureSpec]:
    """`steps/observation/state` when it exists, else every numeric observation leaf (sorted)."""
    leaves = _numeric_leaves(specs, "steps/observation")
    exact = [s for s in leaves if s.path == "steps/observation/state"]
    return exact or leaves


def _action_specs(specs: Sequence[FeatureSpec]) -> list[FeatureSpec]:
    """`steps/action`, or its leaves (sorted) when the action is a dict."""
    return _numeric_leaves(specs, "steps/action")
