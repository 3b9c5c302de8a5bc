"""xgym memmap folders (the recorder's `.dat` + `.json` episodes and one `task-*.npy`) as a ticked source.

The recorder's records are its own 50 Hz clock ticks and every field of a record was sampled
together, so by default one record is one frame: `defaults()` aligns on the `record` timeline at
`fps = info.hz`, which is the identity. An fps other than `hz` re-grids on `time` (the recorder's
clock, int64 ns) with the usual policies. Episodes are read straight from disk (`read`) or
written as cached `.rrd`s (`to_rrd`, `to_recordings`) for the server, notebooks and viewer.

Default features: `observation.state` = `xarm_joints`, `xarm_gripper`, `xarm_pose` (14 named
values), `action` = `gello_joints` (8), one `observation.images.<key>` per camera topic (its last
component), the task sentence of the `task-*.npy` file; its embedding is the stream
`/language_embedding`.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lerobot_nb.episode import RecordedEpisode, TimelineKind
from lerobot_nb.errors import LerobotNbError
from lerobot_nb.sources.cache import content_key
from lerobot_nb.sources.xgym_episode import TIMELINES, XgymEpisode, load_episode
from lerobot_nb.sources.xgym_files import (
    EpisodeFiles,
    Sidecar,
    camera_key,
    entity_of,
    find_episodes,
    read_sidecar,
    read_task,
)
from lerobot_nb.sources.xgym_rrd import TASK_PATH, write_episode_rrd

if TYPE_CHECKING:
    from lerobot_nb.sources.discover import Recording

__all__ = ["ACTION_STREAMS", "STATE_STREAMS", "XgymReader", "open_reader", "to_recordings"]

#: Schema entries that make `observation.state` and `action` by default, in this order.
STATE_STREAMS = ("xarm_joints", "xarm_gripper", "xarm_pose")
ACTION_STREAMS = ("gello_joints",)
#: Bumped when the conversion changes, so stale cached `.rrd`s are not reused.
_CONVERTER_VERSION = "xgym-1"


class _FolderLayout:
    """What the folder's episodes share (from every readable sidecar, in episode order): the rate,
    the numeric streams and the cameras with their shapes, as the first episode declaring each has it."""

    def __init__(self, sidecars: list[Sidecar]) -> None:
        self.hz = sidecars[0].hz
        self.numeric = list(dict.fromkeys(n for s in sidecars for n in s.numeric))
        self.shapes: dict[str, tuple[int, int]] = {}
        for s in sidecars:
            for camera in s.cameras:
                self.shapes.setdefault(camera, s.shape(camera))

    def check(self, sidecar: Sidecar) -> None:
        """An episode must fit the dataset: the same rate and the same size per camera."""
        if sidecar.hz != self.hz:
            raise LerobotNbError(
                f"records at {sidecar.hz} Hz, the folder's other episodes at {self.hz} Hz (one dataset, one fps)",
                file=sidecar.path,
            )
        for camera in sidecar.cameras:
            if sidecar.shape(camera) != self.shapes.get(camera, sidecar.shape(camera)):
                (h, w), (mine_h, mine_w) = self.shapes[camera], sidecar.shape(camera)
                raise LerobotNbError(
                    f"camera shape [{mine_h}, {mine_w}, 3], other than the folder's schema [{h}, {w}, 3] "
                    "(one dataset feature has one shape)",
                    file=sidecar.path,
                    stream=camera,
                )


def _readable(files: list[EpisodeFiles]) -> list[Sidecar]:
    """The sidecars that parse (the others fail when their episode is read); the first error when none does."""
    found: list[Sidecar] = []
    first: LerobotNbError | None = None
    for f in files:
        try:
            f.check_pair()
            found.append(read_sidecar(f.sidecar))
        except LerobotNbError as exc:
            first = first or exc.with_context(episode=f.episode_id)
    if not found:
        assert first is not None
        raise first
    return found


class XgymReader:
    """The episodes of one xgym folder (`EpisodeReader`). Folder-level problems (no or two task
    files, no episode) raise here; an episode's own problems raise when it is read."""

    def __init__(self, folder: Path) -> None:
        if not folder.is_dir():
            raise LerobotNbError("not a folder", file=folder)
        self._folder = folder
        self.task = read_task(folder)
        self._files = {f.episode_id: f for f in find_episodes(folder)}
        if not self._files:
            raise LerobotNbError("holds no xgym_data_*.dat episodes", file=folder)
        self._layout = _FolderLayout(_readable(list(self._files.values())))

    @property
    def path(self) -> Path:
        """The xgym folder."""
        return self._folder

    def episode_ids(self) -> list[str]:
        """Episode ids (`xgym_data_*` stems), sorted: recording order."""
        return list(self._files)

    def timelines(self) -> Mapping[str, TimelineKind]:
        """`record` (sequence, the default) and `time` (the recorder's clock, ns)."""
        return TIMELINES

    def defaults(self) -> dict[str, Any]:
        """Identity grid (`record` at `hz`), the default state/action streams, every camera, the task."""
        hz, layout = self._layout.hz, self._layout
        cameras = list(layout.shapes)
        return {
            "fps": hz,
            "index": "record",
            "sequence_rate": float(hz),
            "state_path": tuple(entity_of(n) for n in STATE_STREAMS if n in layout.numeric),
            "action_path": tuple(entity_of(n) for n in ACTION_STREAMS if n in layout.numeric),
            "image": tuple(f"{camera_key(c, cameras)}:{entity_of(c)}" for c in cameras),
            "task_path": TASK_PATH,
        }

    def files(self, episode_id: str) -> EpisodeFiles:
        """The `.dat` and sidecar paths of an episode (either may be missing)."""
        files = self._files.get(episode_id)
        if files is None:
            raise LerobotNbError(
                f"no episode {episode_id!r}; episodes: {', '.join(self._files)}", file=self._folder
            )
        return files

    def load(self, episode_id: str) -> XgymEpisode:
        """An episode's trimmed numeric records (images stay on disk), checked against the folder."""
        files = self.files(episode_id)
        try:
            episode = load_episode(files)
            self._layout.check(episode.sidecar)
        except LerobotNbError as exc:
            raise exc.with_context(episode=episode_id) from None
        return episode

    def read(self, episode_id: str, index: str) -> RecordedEpisode:
        """The episode's trimmed streams on `index`, with the folder's task; raises for another index."""
        if index not in TIMELINES:
            raise LerobotNbError(
                f"no timeline {index!r} in xgym recordings; timelines: {', '.join(TIMELINES)}",
                file=self._folder,
                episode=episode_id,
            )
        episode = self.load(episode_id)
        return RecordedEpisode(
            episode_id=episode_id,
            index=index,
            index_kind=TIMELINES[index],
            numeric=episode.numeric_streams(index, self.task.embedding),
            images=episode.image_streams(index),
            task=self.task.sentence,
            rate_hz=float(episode.sidecar.hz),
            source=str(episode.files.dat),
            notes=episode.notes,
        )

    def to_rrd(self, episode_id: str, cache_dir: Path) -> Path:
        """`<cache_dir>/<episode>-<content key>.rrd`, written (atomically) unless already there."""
        return self.converted(episode_id, cache_dir)[0]

    def converted(self, episode_id: str, cache_dir: Path) -> tuple[Path, tuple[str, ...]]:
        """The episode's cached `.rrd` and the reader's notes on it (kept beside it in the cache,
        so a cached episode is not read again)."""
        files = self.files(episode_id)
        if not (files.dat.is_file() and files.sidecar.is_file()):
            self.load(episode_id)  # raises the missing-file error
        key = content_key(files.dat, files.sidecar, self.task.path, salt=_CONVERTER_VERSION)
        target = cache_dir / f"{episode_id}-{key}.rrd"
        notes = _cached_notes(target)
        if target.exists() and notes is not None:
            return target, notes
        episode = self.load(episode_id)  # bad input fails before anything is written
        cache_dir.mkdir(parents=True, exist_ok=True)
        with _part(cache_dir, ".notes.json") as tmp:
            tmp.write_text(json.dumps(list(episode.notes)))
            tmp.replace(_notes_path(target))
        with _part(cache_dir, ".rrd") as tmp:
            write_episode_rrd(episode, self.task, tmp)
            tmp.replace(target)  # last and atomic: an .rrd in the cache is always complete
        return target, episode.notes


def _notes_path(rrd: Path) -> Path:
    return rrd.with_suffix(".notes.json")


def _cached_notes(rrd: Path) -> tuple[str, ...] | None:
    try:
        notes = json.loads(_notes_path(rrd).read_text())
    except (OSError, ValueError):
        return None
    return tuple(str(n) for n in notes) if isinstance(notes, list) else None


@contextlib.contextmanager
def _part(folder: Path, suffix: str) -> Iterator[Path]:
    """A temporary file in `folder` that is gone afterwards unless it was renamed away."""
    fd, name = tempfile.mkstemp(dir=folder, suffix=suffix + ".part")
    os.close(fd)
    try:
        yield Path(name)
    finally:
        Path(name).unlink(missing_ok=True)


def open_reader(path: str | Path) -> XgymReader:
    """The reader of the xgym folder `path`."""
    return XgymReader(Path(path))


def to_recordings(path: Path, cache_dir: Path) -> list[Recording]:
    """Every episode of the folder as a cached `.rrd` (recording id = the `.dat` stem), with the
    reader's notes (records trimmed, NaN held) as the recording's notes."""
    from lerobot_nb.sources.discover import Recording

    reader = open_reader(path)
    defaults = reader.defaults()
    out = []
    for episode in reader.episode_ids():
        rrd, notes = reader.converted(episode, cache_dir)
        source = reader.files(episode).dat.resolve()
        out.append(
            Recording(
                source,
                rrd.resolve(),
                episode,
                format="xgym",
                defaults=defaults,
                timelines=reader.timelines(),
                notes=notes,
            )
        )
    return out
