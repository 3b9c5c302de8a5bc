"""Test recordings in the xgym recorder's exact layout: real `np.memmap` `.dat`s, real sidecars.

Like `xgym/nodes/writer.py`: the sidecar is written first with `len: 0`, `maxlen` zeroed records
are preallocated through `np.memmap(..., mode="w+")`, one record per tick holds `time` (seconds
since the node started, rounded to 0.1 ms, with timer jitter) and every schema entry in declaration
order, camera frames are BGR, and a clean stop rewrites `len` (a crash leaves 0).

Every value is a function of (seed, record), so tests know the truth: `numeric_truth` and
`record_times` give exactly what was stored; frames carry a readable id (`read_frame_id`) that
survives video encoding: the record number and camera index as 16 black/white blocks below a
band that is blue when the channels are in RGB order (`marker_rgb`).

    python -m lerobot_nb.sources.xgym_sample OUT_DIR   # the sample folder (`SAMPLE_EPISODES`)
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "DEFAULT_CAMERAS",
    "SAMPLE_EPISODES",
    "SAMPLE_TASK",
    "XgymEpisodeSpec",
    "frame_bgr",
    "marker_rgb",
    "numeric_truth",
    "read_frame_id",
    "record_times",
    "write_episode",
    "write_xgym_folder",
]

DEFAULT_CAMERAS = ("/xgym/camera/worm", "/xgym/camera/side", "/xgym/camera/wrist")
SAMPLE_TASK = "pick up the red block"
#: The writer's numeric schema, in its declaration order.
NUMERIC_SCHEMA = {"xarm_joints": 7, "xarm_pose": 6, "xarm_gripper": 1, "gello_joints": 8}
#: Bits of the frame id: record number (12) and camera index (2), two spare.
_RECORD_BITS, _CAMERA_BITS = 12, 2
_GRID = 4  # 4 x 4 blocks = 16 bits


@dataclass(frozen=True, kw_only=True)
class XgymEpisodeSpec:
    """One generated episode. `late` holds (camera index, first record with a frame) pairs."""

    records: int = 40
    maxlen: int | None = None  # preallocated records (default: `records`, no padding)
    hz: int = 50
    cameras: tuple[str, ...] = DEFAULT_CAMERAS
    height: int = 224
    width: int = 224
    crashed: bool = False  # the sidecar keeps `len: 0`
    late: tuple[tuple[int, int], ...] = ()
    nan_gripper: tuple[int, ...] = ()  # records whose xarm_gripper is NaN
    start_s: float = 3.0  # node uptime at record 0
    jitter_s: float = 0.002  # timer jitter, uniform +-
    seed: int = 0
    texture: bool = False  # camera-like detail in the frames (see `frame_bgr`)

    @property
    def total(self) -> int:
        """Records preallocated in the file: `maxlen`, else `records`."""
        return self.maxlen if self.maxlen is not None else self.records

    def first_frame(self, camera: int) -> int:
        """First record with a frame of camera index `camera` (0 unless `late` says otherwise)."""
        return dict(self.late).get(camera, 0)

    def schema(self) -> dict[str, int | list[int]]:
        """The sidecar schema: the numeric widths, then `[height, width, 3]` per camera."""
        return {**NUMERIC_SCHEMA, **{c: [self.height, self.width, 3] for c in self.cameras}}


def record_times(spec: XgymEpisodeSpec) -> np.ndarray:
    """`time` of each written record as stored: float32 seconds, rounded to 0.1 ms, jittered."""
    rng = np.random.default_rng([spec.seed, 50])
    jitter = rng.uniform(-spec.jitter_s, spec.jitter_s, spec.records)
    return np.round(spec.start_s + np.arange(spec.records) / spec.hz + jitter, 4).astype(np.float32)


def numeric_truth(spec: XgymEpisodeSpec) -> dict[str, np.ndarray]:
    """Every numeric field of the written records as stored (float32; pose x, y, z in mm)."""
    i = np.arange(spec.records, dtype=np.float64)[:, None]
    joints = 0.001 * i + 0.1 * np.arange(7) + 0.01 * spec.seed
    pose = np.hstack(
        [400 + 0.5 * i, -50 + 0.2 * i, 250 - 0.1 * i, 3.14 - 0.001 * i, 0.002 * i, -1.57 + 0.001 * i]
    )
    gripper = 850 - 2 * i
    gripper[list(spec.nan_gripper)] = np.nan
    gello = np.hstack([joints + 0.02, 0.8 - 0.001 * i])
    values = {"xarm_joints": joints, "xarm_pose": pose, "xarm_gripper": gripper, "gello_joints": gello}
    return {k: v.astype(np.float32) for k, v in values.items()}


def frame_bgr(
    record: int, camera: int, height: int = 224, width: int = 224, *, texture: bool = False
) -> np.ndarray:
    """The stored (BGR) frame of `camera` at `record`: a blue band (BGR 255, 0, 0) on top, then
    the id `record | camera << 12` as a 4 x 4 grid of black (0) and white (1) blocks, row-major.

    `texture` overlays a moving pattern and grain (at most 40 levels, so the id still reads) for
    codecs to work on as on a camera image."""
    if record >= 1 << _RECORD_BITS or camera >= 1 << _CAMERA_BITS:
        raise ValueError(f"frame id out of range: record {record}, camera {camera}")
    frame = np.zeros((height, width, 3), np.uint8)
    band = height // 4
    frame[:band, :, 0] = 255
    value = record | camera << _RECORD_BITS
    bits = np.array([(value >> k) & 1 for k in range(_GRID * _GRID)], np.uint8).reshape(_GRID, _GRID) * 255
    rows = np.linspace(0, _GRID, height - band, endpoint=False).astype(int)
    cols = np.linspace(0, _GRID, width, endpoint=False).astype(int)
    frame[band:] = bits[rows[:, None], cols[None, :], None]
    return _textured(frame, record, camera) if texture else frame


def _textured(frame: np.ndarray, record: int, camera: int) -> np.ndarray:
    height, width = frame.shape[:2]
    y, x = np.mgrid[0:height, 0:width]
    wave = 14 * (1 + np.sin((x + 3 * record) / 11.0 + camera) * np.cos((y - 2 * record) / 7.0))
    grain = np.random.default_rng([record, camera]).integers(0, 12, (height, width, 3))
    detail = (wave[:, :, None] + grain).astype(np.int16)
    signed = np.where(frame > 127, -detail, detail)  # towards mid-grey, never across it
    return (frame.astype(np.int16) + signed).astype(np.uint8)


def read_frame_id(rgb: np.ndarray) -> tuple[int, int]:
    """`(record, camera)` of a frame made by `frame_bgr` (in either channel order, after lossy
    video coding too): each block's central half is averaged and thresholded at mid-grey."""
    height, width = rgb.shape[:2]
    band = height // 4
    bits_area = rgb[band:].astype(np.float64).mean(axis=2)
    bh, bw = bits_area.shape[0] / _GRID, width / _GRID
    value = 0
    for k in range(_GRID * _GRID):
        r, c = divmod(k, _GRID)
        block = bits_area[
            int(r * bh + bh / 4) : int(r * bh + 3 * bh / 4), int(c * bw + bw / 4) : int(c * bw + 3 * bw / 4)
        ]
        value |= int(block.mean() > 127) << k
    return value & ((1 << _RECORD_BITS) - 1), (value >> _RECORD_BITS) & ((1 << _CAMERA_BITS) - 1)


def marker_rgb(rgb: np.ndarray) -> np.ndarray:
    """Mean colour of the top band: about (0, 0, 255) when the frame is RGB, (255, 0, 0) if BGR."""
    band = rgb.shape[0] // 4
    return rgb[band // 4 : 3 * band // 4].reshape(-1, 3).mean(axis=0)


def _record_dtype(schema: dict[str, int | list[int]]) -> np.dtype:
    # The writer's own construction (xgym/nodes/writer.py).
    return np.dtype(
        [("time", np.float32)]
        + [(name, np.float32 if isinstance(v, int) else np.uint8, v) for name, v in schema.items()]
    )


def _write_sidecar(dat: Path, spec: XgymEpisodeSpec, length: int) -> None:
    info = {"hz": spec.hz, "len": length, "maxlen": spec.total, "path": str(dat)}
    dat.with_suffix(".json").write_text(json.dumps({"schema": spec.schema(), "info": info}, indent=2))


def write_episode(dat: Path, spec: XgymEpisodeSpec) -> Path:
    """Write one episode (`dat` and its sidecar) the way the recorder does; returns `dat`."""
    if spec.total < spec.records:
        raise ValueError(f"maxlen {spec.total} < records {spec.records}")
    _write_sidecar(dat, spec, 0)
    records = np.memmap(dat, dtype=_record_dtype(spec.schema()), mode="w+", shape=(spec.total,))
    times, values = record_times(spec), numeric_truth(spec)
    for i in range(spec.records):
        records["time"][i] = times[i]
        for name, v in values.items():
            records[name][i] = v[i]
        for c, topic in enumerate(spec.cameras):
            if i >= spec.first_frame(c):
                records[topic][i] = frame_bgr(i, c, spec.height, spec.width, texture=spec.texture)
    records.flush()
    del records
    if not spec.crashed:
        _write_sidecar(dat, spec, spec.records)
    return dat


def _write_task(folder: Path, task: str, task_file: Path | None) -> None:
    """Copy a real task file, or write `task-<words>.npy` with a unit vector seeded by the sentence."""
    if task_file is not None:
        shutil.copyfile(task_file, folder / task_file.name)
        return
    seed = int.from_bytes(hashlib.sha256(task.encode()).digest()[:8], "little")
    vector = np.random.default_rng(seed).standard_normal(512)
    np.save(
        folder / f"task-{task.replace(' ', '_')}.npy", (vector / np.linalg.norm(vector)).astype(np.float32)
    )


def write_xgym_folder(
    folder: str | Path,
    episodes: Sequence[XgymEpisodeSpec],
    *,
    task: str = SAMPLE_TASK,
    task_file: Path | None = None,
) -> list[Path]:
    """Write `episodes` into `folder` as `xgym_data_20250301-<090000 + i>.dat` (+ `.json`) and one
    task file (`task_file` copied, else generated from `task`); returns the `.dat` paths in order."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    _write_task(out, task, task_file)
    return [
        write_episode(out / f"xgym_data_20250301-{90000 + i:06d}.dat", spec)
        for i, spec in enumerate(episodes)
    ]


#: The sample folder (all shorter than 200 records, which xgym's own converter drops): a clean stop
#: with maxlen padding, a crash (`len: 0`) with padding, a late camera with a NaN gripper.
SAMPLE_EPISODES = (
    XgymEpisodeSpec(records=60, maxlen=75, seed=0),
    XgymEpisodeSpec(records=50, maxlen=75, crashed=True, seed=1),
    XgymEpisodeSpec(records=70, late=((1, 4),), nan_gripper=(10, 11, 12, 40), seed=2),
)


def main(argv: Sequence[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        raise SystemExit("usage: python -m lerobot_nb.sources.xgym_sample OUT_DIR")
    for dat in write_xgym_folder(args[0], SAMPLE_EPISODES):
        print(dat)


if __name__ == "__main__":
    main()
