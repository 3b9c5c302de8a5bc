"""The dataset's features: defined by the first episode, every later episode checked against them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lerobot_nb.episode import AlignedEpisode
from lerobot_nb.errors import LerobotNbError
from lerobot_nb.lerobot_v3.layout import DEFAULT_FEATURES, camera_feature, numeric_feature

__all__ = ["IMAGE_PREFIX", "BadEpisode", "FeatureSchema"]

#: Cameras become features `observation.images.<key>` (lerobot's convention).
IMAGE_PREFIX = "observation.images."


class BadEpisode(LerobotNbError):
    """An episode that does not fit the dataset (skippable with `skip_bad_episodes`)."""


@dataclass
class FeatureSchema:
    """fps, numeric and camera features (info.json order: numeric as given, then cameras).

    `names` are user-given dimension names per numeric feature (they win over the recording's).
    """

    names: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    fps: int | None = None
    features: dict[str, dict[str, Any]] = field(default_factory=dict)
    cameras: dict[str, tuple[int, int]] = field(default_factory=dict)  # feature key -> (h, w)

    @property
    def defined(self) -> bool:
        """True once `fps` and the features are set (by `define` or `from_info`)."""
        return self.fps is not None

    @classmethod
    def from_info(cls, info: Mapping[str, Any]) -> FeatureSchema:
        """The schema of an existing dataset's `meta/info.json` (for --resume)."""
        features = {k: v for k, v in info["features"].items() if k not in DEFAULT_FEATURES}
        cameras = {
            k: (int(v["shape"][0]), int(v["shape"][1])) for k, v in features.items() if v["dtype"] == "video"
        }
        return cls(fps=int(info["fps"]), features=features, cameras=cameras)

    def define(self, episode: AlignedEpisode) -> None:
        """Features from the first episode (key order: numeric as given, then cameras)."""
        self.fps = episode.fps
        given = self.names
        unknown = sorted(set(given) - set(episode.numeric))
        if unknown:
            raise LerobotNbError(
                f"feature_names names unknown feature(s) {', '.join(unknown)}; numeric "
                f"features: {', '.join(episode.numeric)}"
            )
        for key, values in episode.numeric.items():
            array = np.asarray(values)
            names = given.get(key, episode.names.get(key))
            dim = 1 if array.ndim == 1 else int(array.shape[1])
            if names is not None and len(names) != dim:
                if key in given:
                    raise LerobotNbError(
                        f"feature_names gives {len(names)} names for {dim} dimensions", stream=key
                    )
                names = None  # the recording's names do not fit (e.g. a changed joint set): leave out
            self.features[key] = numeric_feature(array, names)
        for key, src in episode.images.items():
            self.features[IMAGE_PREFIX + key] = camera_feature(src.height, src.width)
            self.cameras[IMAGE_PREFIX + key] = (src.height, src.width)

    def all_features(self) -> dict[str, dict[str, Any]]:
        """info.json's features: the numeric and camera ones, then lerobot's default columns."""
        return {**self.features, **DEFAULT_FEATURES}

    def check(self, episode: AlignedEpisode) -> None:
        """Raise BadEpisode when the episode does not fit the dataset's features."""
        where = {"file": episode.source or None, "episode": episode.episode_id}
        if episode.length < 1:
            raise BadEpisode("the episode is shorter than one frame at this fps", **where)
        if episode.fps != self.fps:
            raise BadEpisode(f"fps {episode.fps} differs from the dataset's {self.fps}", **where)
        if not episode.tasks:
            raise BadEpisode(
                "the episode has no task (no task stream in it and no constant task given)", **where
            )
        numeric_keys = [k for k, f in self.features.items() if f["dtype"] != "video"]
        if sorted(episode.numeric) != sorted(numeric_keys):
            missing = sorted(set(numeric_keys) - set(episode.numeric))
            extra = sorted(set(episode.numeric) - set(numeric_keys))
            raise BadEpisode(
                f"numeric features differ from the dataset's: missing {missing}, extra {extra}", **where
            )
        for key in numeric_keys:
            got = numeric_feature(np.asarray(episode.numeric[key]), None)
            want = self.features[key]
            if np.asarray(episode.numeric[key]).ndim > 2:
                raise BadEpisode(
                    f"shape {np.asarray(episode.numeric[key]).shape}: only (T,) and (T, D) "
                    "features are supported",
                    **where,
                    stream=key,
                )
            if got["shape"] != want["shape"] or got["dtype"] != want["dtype"]:
                raise BadEpisode(
                    f"shape {got['dtype']}{got['shape']} differs from the dataset's "
                    f"{want['dtype']}{want['shape']} (feature shape changed between episodes)",
                    **where,
                    stream=key,
                )
        cams = {IMAGE_PREFIX + k: s for k, s in episode.images.items()}
        if sorted(cams) != sorted(self.cameras):
            raise BadEpisode(
                f"cameras {sorted(cams)} differ from the dataset's {sorted(self.cameras)}", **where
            )
        for key, src in cams.items():
            if (src.height, src.width) != self.cameras[key]:
                h, w = self.cameras[key]
                raise BadEpisode(
                    f"image size {src.height}x{src.width} differs from the dataset's {h}x{w} "
                    "(image size changed between episodes)",
                    **where,
                    stream=key,
                )
