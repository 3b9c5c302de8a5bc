"""`ValidateConfig`: what `validate` checks and its thresholds (API keywords = CLI flags = notebook params)."""

from __future__ import annotations

from dataclasses import dataclass

from lerobot_nb.config import help_field

__all__ = ["ValidateConfig"]


@dataclass(frozen=True, kw_only=True)
class ValidateConfig:
    """Thresholds of `validate`; the defaults follow lerobot 0.6.1's loader."""

    tolerance_s: float = help_field(
        1e-4,
        "seconds: allowed |timestamp - frame_index/fps| and video frame lookup error (lerobot's tolerance_s)",
    )
    video: bool = help_field(True, "decode every video frame (time/video checks and image stats)")
    training: bool = help_field(
        True, "open the dataset with lerobot's LeRobotDataset and read batches with a torch DataLoader"
    )
    action_chunk: int = help_field(
        10, "frames of action per sample in the DataLoader check (delta_timestamps)"
    )
    batches: int = help_field(3, "DataLoader batches to read in the training check")
    batch_size: int = help_field(8, "DataLoader batch size in the training check")
    numeric_rtol: float = help_field(1e-6, "relative tolerance between stored and recomputed numeric stats")
    image_atol: float = help_field(
        0.02, "absolute tolerance (in [0,1] units) between stored and recomputed image mean/std/min/max"
    )
    short_episode_s: float = help_field(1.0, "seconds: episodes shorter than this are flagged (warning)")
    still_fraction: float = help_field(
        0.95,
        "an episode whose action and state stay constant on this fraction of frames is 'still' (warning)",
    )
    jerk_sigma: float = help_field(
        10.0,
        "a second difference of action/state above this many of the dataset's stds is a jerk spike (warning)",
    )
    outlier_sigma: float = help_field(
        6.0, "an episode whose action/state range lies this many robust stds outside the others is an outlier"
    )
    repeated_frames: int = help_field(
        5, "this many consecutive identical decoded video frames are flagged as a frozen camera (warning)"
    )
