"""What scoring reads of one episode: motion arrays, tasks, camera traces, alignment facts.

Two readers produce it: `from_aligned` (a recording aligned by the pipeline, before export: the
alignment's flagged/dropped ticks and source gaps come along) and `dataset_episodes` (the
episodes of a LeRobot v3.0 dataset, after export). Times are seconds from the episode start
(frame k at k / fps).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa

from lerobot_nb.align.resample import gaps
from lerobot_nb.curate.cameras import (
    CameraTrace,
    Segment,
    sample_stride,
    thumbnail,
    trace_frames,
    trace_samples,
    trace_videos,
)
from lerobot_nb.episode import AlignedEpisode, StreamTiming
from lerobot_nb.lerobot_v3.dataset import SourceDataset, feature_array

__all__ = ["MOTION_KEYS", "Alignment", "EpisodeData", "Gap", "dataset_episodes", "from_aligned"]

#: The features whose stillness, spikes and range are scored (as validate's quality checks).
MOTION_KEYS = ("action", "observation.state")


@dataclass(frozen=True)
class Gap:
    """A source interval of one stream longer than the gap limit: starts `at_s`, lasts `length_s`.

    `before` marks a gap that ended just before the episode's first tick (it split the recording:
    `at_s` is then 0)."""

    stream: str
    at_s: float
    length_s: float
    before: bool = False


@dataclass(frozen=True)
class Alignment:
    """What the alignment says about one aligned episode (recordings only).

    `stale` ticks are those kept but beyond a stream's tolerance (`on_stale="flag"`) plus those
    dropped just before this piece (or after it, for the last piece); `grid_ticks` counts both.
    """

    stale: int
    dropped: int
    grid_ticks: int
    gaps: tuple[Gap, ...]
    #: the stream of the most stale ticks, for the reason text
    worst_stream: str | None = None


@dataclass(frozen=True)
class EpisodeData:
    """One episode as scoring sees it."""

    episode_index: int | None
    recording: str | None
    fps: int
    length: int
    motion: dict[str, np.ndarray]
    names: dict[str, tuple[str, ...] | None] = field(default_factory=dict)
    tasks: tuple[str, ...] = ()
    cameras: tuple[CameraTrace, ...] = ()
    alignment: Alignment | None = None
    #: recordings: the index timeline and tick k's value on it (to point a viewer at a moment)
    index: str | None = None
    ticks: np.ndarray | None = None

    @property
    def name(self) -> str:
        """The recording id when known, else the episode_index."""
        return self.recording if self.recording is not None else str(self.episode_index)


# -- recordings (aligned episodes) ---------------------------------------------------------------
def from_aligned(
    episode: AlignedEpisode, *, sample_hz: float, gap_s: float, cameras: bool = True
) -> EpisodeData:
    """Read an aligned episode; its cameras are decoded once, every frame (see `cameras`)."""
    stride = sample_stride(episode.fps, sample_hz)
    traces = tuple(trace_frames(k, src, stride) for k, src in episode.images.items()) if cameras else ()
    return EpisodeData(
        episode_index=None,
        recording=episode.episode_id,
        fps=episode.fps,
        length=episode.length,
        motion={k: np.asarray(episode.numeric[k]) for k in MOTION_KEYS if k in episode.numeric},
        names={k: episode.names.get(k) for k in MOTION_KEYS if k in episode.numeric},
        tasks=tuple(dict.fromkeys(episode.tasks)),
        cameras=traces,
        alignment=alignment_facts(episode, gap_s) if episode.timing else None,
        index=episode.index,
        ticks=np.asarray(episode.ticks),
    )


def alignment_facts(episode: AlignedEpisode, gap_s: float) -> Alignment:
    """Stale ticks and source gaps of an aligned piece, from its per-stream timing."""
    timing = dict(episode.timing)
    first = next(iter(timing.values()))
    flagged = np.zeros(episode.length, bool)
    for t in timing.values():
        if len(t.flagged) == episode.length:
            flagged |= t.flagged
    dropped = len(first.dropped_s)
    worst = max(timing, key=lambda s: int(np.sum(timing[s].flagged))) if flagged.any() else None
    found = tuple(g for stream, t in timing.items() for g in _gaps(stream, t, episode.fps, gap_s))
    return Alignment(int(flagged.sum()) + dropped, dropped, episode.length + dropped, found, worst)


def _gaps(stream: str, t: StreamTiming, fps: int, gap_s: float) -> Iterator[Gap]:
    """Source intervals longer than `gap_s` that end inside this piece's window.

    The window is (previous piece's last tick, this piece's last tick]: it holds the ticks a gap
    made this piece drop before its first tick, so a gap that split an episode is reported once,
    by the piece after it.
    """
    if not len(t.tick_s) or len(t.sample_s) < 2:
        return
    first, last = float(t.tick_s[0]), float(t.tick_s[-1])
    before = t.dropped_s[t.dropped_s < first] if len(t.dropped_s) else t.dropped_s
    start = (float(before.min()) if len(before) else first) - 1.0 / fps
    for i in gaps(t.sample_s, gap_s):
        a, b = float(t.sample_s[i]), float(t.sample_s[i + 1])
        if start < b <= last:
            yield Gap(stream, max(0.0, a - first), b - a, before=a < first)


# -- datasets ------------------------------------------------------------------------------------
def dataset_episodes(
    dataset: SourceDataset, *, sample_hz: float, cameras: bool = True, episodes: Sequence[int] | None = None
) -> Iterator[EpisodeData]:
    """The episodes of a dataset in order; each video file is decoded once for all its episodes."""
    chosen = list(episodes) if episodes is not None else list(range(dataset.num_episodes))
    stride = sample_stride(dataset.fps, sample_hz)
    videos = _video_traces(dataset, chosen, stride) if cameras else {}
    motion_keys = [k for k in MOTION_KEYS if k in dataset.features]
    for ep in chosen:
        rows = dataset.rows(ep)
        traces = [videos[(key, ep)] for key in dataset.video_keys if (key, ep) in videos]
        if cameras:
            traces += [_image_trace(key, rows.column(key), stride) for key in dataset.image_keys]
        yield EpisodeData(
            episode_index=ep,
            recording=dataset.recording_of.get(ep),
            fps=dataset.fps,
            length=rows.num_rows,
            motion={k: feature_array(rows.column(k)) for k in motion_keys},
            tasks=tuple(dict.fromkeys(dataset.frame_tasks(rows))),
            cameras=tuple(traces),
        )


def _video_traces(
    dataset: SourceDataset, episodes: list[int], stride: int
) -> dict[tuple[str, int], CameraTrace]:
    """(camera, episode) -> trace, decoding each referenced mp4 once."""
    out: dict[tuple[str, int], CameraTrace] = {}
    for key in dataset.video_keys:
        by_file: dict[Path, list[Segment]] = {}
        for ep in episodes:
            seg = dataset.video(ep, key)
            by_file.setdefault(seg.path, []).append(Segment(ep, seg.from_timestamp, dataset.length(ep)))
        for path, segments in by_file.items():
            for ep, trace in trace_videos(key, path, segments, dataset.fps, stride).items():
                out[(key, ep)] = trace
    return out


def _image_trace(key: str, column: pa.ChunkedArray, stride: int) -> CameraTrace:
    """An `image` feature: the sampled rows' PNG/JPEG cells decoded."""
    try:
        return trace_samples(
            key, ((k, thumbnail(_decode_cell(column[k].as_py(), k))) for k in range(0, len(column), stride))
        )
    except ValueError as exc:
        return CameraTrace.failed(key, str(exc))


def _decode_cell(cell: object, k: int) -> np.ndarray:
    import cv2

    data = cell.get("bytes") if isinstance(cell, dict) else None
    bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR) if data else None
    if bgr is None:
        raise ValueError(f"frame {k} holds no decodable image")
    return np.ascontiguousarray(bgr[:, :, ::-1])
