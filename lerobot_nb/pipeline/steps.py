"""Steps of the pipeline: each takes an aligned episode and returns it with features added, or curated.

A step sees the episode source too (the hand step reads the camera's intrinsics from the
recording when it is served). Enrichment steps never drop frames; the curation step may drop an
episode (it returns an `EpisodeSkipped` with the reason), trim it or split it (several episodes).
`close()` releases what a step holds (a HaMeR connection, a model); a step with a `finish()`
has it called after the last episode went through, before the export publishes (it may raise).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

from lerobot_nb.align import AlignConfig
from lerobot_nb.curate.episodes import CurationConfig, Curator
from lerobot_nb.enrich.hands.enrich import HandPoseConfig, HandsResult, make_backend, run_hands
from lerobot_nb.enrich.hands.intrinsics import CameraModel
from lerobot_nb.enrich.language import LanguageConfig, add_language_embedding
from lerobot_nb.episode import AlignedEpisode, EpisodeSkipped
from lerobot_nb.pipeline.source import EpisodeSource, ServedSource

__all__ = [
    "CurationStep",
    "FinishingStep",
    "HandPoseStep",
    "LanguageStep",
    "Step",
    "StepResult",
    "curation_steps",
    "enrich",
    "make_steps",
]

#: What a step returns: the episode (changed or not), why it was dropped, or the pieces it was cut into.
StepResult = AlignedEpisode | EpisodeSkipped | tuple[AlignedEpisode, ...]


class Step(Protocol):
    """One step: `apply` adds features to an episode (or curates it); `close` ends the step's resources."""

    name: str

    def apply(self, episode: AlignedEpisode, source: EpisodeSource) -> StepResult: ...

    def close(self) -> None: ...


@runtime_checkable
class FinishingStep(Protocol):
    """A step with a check at the end of the run (called before the export publishes)."""

    def finish(self) -> None: ...


class CurationStep:
    """The decisions of a curation file (drop / trim / split / task by recording id), while converting."""

    name = "curation"

    def __init__(self, curator: Curator) -> None:
        self._curator = curator
        self._checked = False

    def apply(self, episode: AlignedEpisode, source: EpisodeSource) -> StepResult:
        if not self._checked:  # the source knows its recordings once it is open
            self._curator.check(source.episodes)
            self._checked = True
        return self._curator.apply(episode)

    def finish(self) -> None:
        self._curator.finish()

    def close(self) -> None:
        return None


class LanguageStep:
    """`observation.language_embedding` from the task text (mode `minilm`; `npy` is aligned as a stream)."""

    name = "language"

    def apply(self, episode: AlignedEpisode, source: EpisodeSource) -> AlignedEpisode:
        return add_language_embedding(episode)

    def close(self) -> None:
        return None


class HandPoseStep:
    """Hand pose per frame of one camera (`lerobot_nb.enrich.hands`), one backend for the whole run.

    `on_result` sees every episode's `HandsResult` (CLI summary lines); with `overlay_dir`, each
    episode's 2D/3D hand overlay is saved as `<episode>.hands.rrd` there.
    """

    name = "hands"

    def __init__(
        self,
        config: HandPoseConfig,
        *,
        on_result: Callable[[HandsResult], None] | None = None,
        overlay_dir: Path | None = None,
    ) -> None:
        self.config = config
        self._backend = make_backend(config)
        self._on_result = on_result
        self._overlay_dir = overlay_dir
        if overlay_dir is not None:
            overlay_dir.mkdir(parents=True, exist_ok=True)

    def apply(self, episode: AlignedEpisode, source: EpisodeSource) -> AlignedEpisode:
        result = run_hands(episode, self.config, self._backend, camera_model=self._camera(episode, source))
        if self._on_result is not None:
            self._on_result(result)
        if self._overlay_dir is not None:
            kind: Literal["timestamp", "sequence"] = source.timeline_kind()
            self._save_overlay(result.episode, self._overlay_dir / f"{episode.episode_id}.hands.rrd", kind)
        return result.episode

    def _camera(self, episode: AlignedEpisode, source: EpisodeSource) -> CameraModel | None:
        """The camera as the recording logged it (Pinhole/Transform3D), when it is served."""
        if not isinstance(source, ServedSource) or not episode.images:
            return None
        from lerobot_nb.enrich.hands.intrinsics import camera_from_recording

        key = self.config.camera or next(iter(episode.images))
        entity = self.config.intrinsics_entity or _image_entity(source.align, key)
        if not entity:
            return None
        recording = episode.episode_id.split("#", 1)[0]
        return camera_from_recording(source.server.dataset, recording, entity, index=source.align.index)

    def _save_overlay(
        self, episode: AlignedEpisode, path: Path, kind: Literal["timestamp", "sequence"]
    ) -> None:
        import rerun as rr

        from lerobot_nb.enrich.hands.rerun_log import log_hands_to_rerun

        rec = rr.RecordingStream("lerobot_nb_hands", recording_id=f"{episode.episode_id}_hands")
        rec.save(path)
        log_hands_to_rerun(
            episode,
            camera=self.config.camera,
            recording=rec,
            log_images=True,
            prefix=self.config.feature_prefix,
            timeline_kind=kind,
        )
        rec.flush()
        rec.disconnect()

    def close(self) -> None:
        self._backend.close()


def _image_entity(align: AlignConfig, key: str) -> str | None:
    return next((spec.entity for spec in align.image_specs() if spec.key == key), None)


def make_steps(
    language: LanguageConfig | None = None,
    hands: HandPoseConfig | None = None,
    *,
    on_hands: Callable[[HandsResult], None] | None = None,
    overlay_dir: Path | None = None,
) -> list[Step]:
    """The enrichment steps these configs ask for, in pipeline order (hands, then language)."""
    steps: list[Step] = []
    if hands is not None:
        steps.append(HandPoseStep(hands, on_result=on_hands, overlay_dir=overlay_dir))
    if language is not None and language.language_embedding == "minilm":
        steps.append(LanguageStep())
    return steps


def curation_steps(config: CurationConfig) -> list[Step]:
    """The curation step `config` asks for (none without a file); it reads and checks the file now."""
    return [CurationStep(Curator.read(config.curation))] if config.curation else []


def enrich(
    episodes: Iterable[AlignedEpisode | EpisodeSkipped], steps: Sequence[Step], source: EpisodeSource
) -> Iterator[AlignedEpisode | EpisodeSkipped]:
    """`episodes` with every step applied in order, lazily: skips pass through, a dropped episode
    becomes a skip, the pieces of a split go through the later steps one by one. After the last
    episode, every step's `finish()` runs."""
    for episode in episodes:
        yield from _through(episode, steps, source)
    for step in steps:
        if isinstance(step, FinishingStep):
            step.finish()


def _through(
    episode: AlignedEpisode | EpisodeSkipped, steps: Sequence[Step], source: EpisodeSource
) -> Iterator[AlignedEpisode | EpisodeSkipped]:
    if not steps or isinstance(episode, EpisodeSkipped):
        yield episode
        return
    result = steps[0].apply(episode, source)
    for item in result if isinstance(result, tuple) else (result,):
        yield from _through(item, steps[1:], source)
