"""One composable pipeline for every interface: inputs -> source -> align -> enrich steps -> export."""

from lerobot_nb.pipeline.inputs import Inputs, given_values
from lerobot_nb.pipeline.job import ConvertJob
from lerobot_nb.pipeline.run import convert, iterate_pipeline, run_pipeline
from lerobot_nb.pipeline.source import EpisodeSource, FileSource, ServedSource
from lerobot_nb.pipeline.steps import (
    CurationStep,
    HandPoseStep,
    LanguageStep,
    Step,
    StepResult,
    curation_steps,
    enrich,
    make_steps,
)

__all__ = [
    "ConvertJob",
    "CurationStep",
    "EpisodeSource",
    "FileSource",
    "HandPoseStep",
    "Inputs",
    "LanguageStep",
    "ServedSource",
    "Step",
    "StepResult",
    "convert",
    "curation_steps",
    "enrich",
    "given_values",
    "iterate_pipeline",
    "make_steps",
    "run_pipeline",
]
