"""The built-in sample recordings as LeRobot datasets, exported once into the cache (for 06 and tests).

`sample_dataset("pusht")` is what notebook 04 writes from the PushT sample recordings by default;
`sample_dataset("hands")` the hand demonstration with MediaPipe's hand features added (as
`lerobot-nb hands` writes it). Each is written by the pipeline (crash-safe, published atomically)
the first time and reused afterwards.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from lerobot_nb.align import AlignConfig
from lerobot_nb.enrich.hands import HandPoseConfig
from lerobot_nb.export.config import ExportConfig
from lerobot_nb.notebooks.params import SAMPLE_DEFAULTS, default_output
from lerobot_nb.pipeline import HandPoseStep, Inputs, run_pipeline
from lerobot_nb.server import ServerConfig
from lerobot_nb.sources.sample import sample_hand_recordings, sample_recordings

__all__ = ["SAMPLE_ALIGN", "sample_dataset"]

#: How 04 aligns the sample recordings (notebooks/params/sample.yaml).
SAMPLE_ALIGN = AlignConfig(
    fps=10,
    index="real_time",
    action_path=("/action",),
    state_path=("/observation/state",),
    task_path="/language_instruction",
    image=SAMPLE_DEFAULTS["image"],
)


def sample_dataset(kind: Literal["pusht", "hands"] = "pusht", out: str | Path | None = None) -> Path:
    """The folder of the sample dataset `kind` (written when missing; `out` default: the cache)."""
    recordings = sample_recordings() if kind == "pusht" else sample_hand_recordings()
    target = (
        Path(out) if out is not None else default_output().parent / f"sample-{kind}-{recordings.parent.name}"
    )
    if (target / "meta/info.json").is_file():
        return target
    inputs = Inputs.discover(ServerConfig(recordings=(str(recordings),)))
    steps = [HandPoseStep(HandPoseConfig(camera="top"))] if kind == "hands" else []
    export = ExportConfig(output=str(target), overwrite=True, progress=False)
    run_pipeline(inputs.open(SAMPLE_ALIGN), export, steps, inputs=inputs.paths)
    return target
