"""The inline Rerun viewer (rerun-notebook widget) showing one episode, for the interactive notebooks.

The widget queues everything sent to it until the browser side says it is ready, so creating one
never blocks a kernel without a frontend (papermill); notebooks still create it only when
`interactive` is true, so headless runs carry no viewer payload.
"""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path
from typing import TYPE_CHECKING

from lerobot_nb.errors import LerobotNbError

if TYPE_CHECKING:
    import rerun as rr
    import rerun.notebook

    from lerobot_nb.align import AlignConfig, AlignedEpisode
    from lerobot_nb.server import RecordingServer

__all__ = ["EpisodeViewer", "show_episode", "show_episode_with_hands", "use_local_viewer_assets"]

#: Height of the inline viewer in pixels (the width follows the notebook cell).
VIEWER_HEIGHT = 480


def use_local_viewer_assets() -> None:
    """Serve the viewer's JS/Wasm from the installed rerun-notebook package, not from app.rerun.io.

    rerun-notebook's default makes the browser fetch the viewer from the internet, which fails
    offline. `serve-local` has the kernel serve its own copy on localhost (fine when the browser
    runs on the same machine). A `RERUN_NOTEBOOK_ASSET` set by the user wins (e.g. `inline` for a
    remote JupyterHub). Must run before `rerun_notebook` is first imported.
    """
    os.environ.setdefault("RERUN_NOTEBOOK_ASSET", "serve-local")


def _application_id(rrd: Path) -> str:
    import rerun.chunk as rrc

    stores = rrc.RrdReader(rrd).recordings()
    return stores[0].application_id if stores else "lerobot_nb"


def show_episode(
    server: RecordingServer, episode: str, *, height: int = VIEWER_HEIGHT, display: bool = True
) -> tuple[rerun.notebook.Viewer, rr.RecordingStream]:
    """Display an inline viewer of `episode` with all its streams; returns (viewer, recording).

    A served local file is streamed from disk into a fresh recording whose id is the episode id;
    more can be logged to the returned recording (e.g. hand overlays) and shows up in the same
    viewer. For an attached remote server the viewer opens the episode's URL on that server.
    """
    use_local_viewer_assets()
    import rerun as rr

    with contextlib.redirect_stdout(io.StringIO()):  # the asset server's start-up chatter
        import rerun.notebook

    if episode not in server.episodes:
        raise LerobotNbError(
            f"no such episode; the dataset has {', '.join(server.episodes)}", file=server.url, episode=episode
        )
    local = server.recordings.get(episode)
    if local is not None:
        # Log into the file's own store (same application and recording id): overlays logged to
        # `rec` later land in the same recording as the images they belong to.
        rec = rr.RecordingStream(_application_id(local.rrd), recording_id=episode)
        viewer = rerun.notebook.Viewer(width="auto", height=height, recording=rec)
        rec.log_file_from_path(local.rrd)
    else:
        rec = rr.RecordingStream("lerobot_nb", recording_id=episode)
        viewer = rerun.notebook.Viewer(width="auto", height=height, url=server.dataset.segment_url(episode))
        viewer.add_recording(rec)
    if display:
        viewer.display()
    return viewer, rec


def show_episode_with_hands(
    server: RecordingServer,
    episode: AlignedEpisode,
    config: AlignConfig,
    *,
    camera: str | None = None,
    prefix: str = "observation.hands",
    height: int = VIEWER_HEIGHT,
) -> tuple[rerun.notebook.Viewer, rr.RecordingStream]:
    """`show_episode` plus the hand keypoints of an enriched `episode` drawn over its camera.

    The overlays go to the camera's own entity on the recording's own timeline, so they sit on
    the recorded images in the viewer. `camera` defaults to the episode's first camera.
    """
    from lerobot_nb.enrich.hands import log_hands_to_rerun
    from lerobot_nb.query import index_timelines

    key = camera or next(iter(episode.images), None)
    spec = next((s for s in config.image_specs() if s.key == key), None)
    if spec is None:
        raise LerobotNbError(f"no camera {key!r} in the alignment spec", episode=episode.episode_id)
    base_id = episode.episode_id.split("#")[0]  # a piece of a split episode views its recording
    viewer, rec = show_episode(server, base_id, height=height)
    kind = index_timelines(server.dataset).get(episode.index, "timestamp")
    log_hands_to_rerun(
        episode,
        camera=key,
        camera_entity=spec.entity,
        prefix=prefix,
        recording=rec,
        timeline=episode.index,
        timeline_kind="sequence" if kind == "sequence" else "timestamp",
    )
    return viewer, rec


class EpisodeViewer:
    """One inline viewer that switches between episodes and jumps to a moment (the curation notebook).

    Each episode's recording is loaded once (streamed from its local file into a recording whose
    id is the episode id) and made active when shown; `show(episode, tick)` also puts the time
    cursor on `tick`, a value of the episode's index timeline (ns for timestamps, steps for sequences).
    """

    def __init__(self, server: RecordingServer, *, height: int = VIEWER_HEIGHT) -> None:
        use_local_viewer_assets()
        with contextlib.redirect_stdout(io.StringIO()):
            import rerun.notebook

        from lerobot_nb.query import index_timelines

        self.server = server
        self.viewer = rerun.notebook.Viewer(width="auto", height=height)
        self._kinds = index_timelines(server.dataset)
        self._loaded: dict[str, rr.RecordingStream] = {}

    def show(self, episode: str, *, index: str | None = None, tick: int | None = None) -> None:
        """Make `episode` (a recording id; `rec#k` pieces show their recording) active, at `tick`."""
        import numpy as np
        import rerun as rr

        recording = episode.split("#", 1)[0]
        local = self.server.recordings.get(recording)
        if local is None:
            if recording not in self.server.episodes:
                raise LerobotNbError("no such episode on the server", file=self.server.url, episode=recording)
            self.viewer.open_url(self.server.dataset.segment_url(recording))
        elif recording not in self._loaded:
            rec = rr.RecordingStream(_application_id(local.rrd), recording_id=recording)
            self.viewer.add_recording(rec)
            rec.log_file_from_path(local.rrd)
            self._loaded[recording] = rec
        self.viewer.set_active_recording(recording_id=recording)
        if index is not None and tick is not None:
            if self._kinds.get(index, "timestamp") == "sequence":
                self.viewer.set_time_ctrl(sequence=int(tick), timeline=index)
            else:
                self.viewer.set_time_ctrl(timestamp=np.datetime64(int(tick), "ns"), timeline=index)

    def display(self) -> None:
        """Show the embedded Rerun viewer in the notebook's output."""
        self.viewer.display()
