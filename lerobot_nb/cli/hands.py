"""`lerobot-nb hands`: find hands in recordings (aligned), xgym `ep*.npz` or a LeRobot dataset; add them as features.

    lerobot-nb hands recordings/ --image front:/camera/front:video --output out/ds
    lerobot-nb hands --dir npz/ --backend hamer --hamer.host gpu-box --hamer.port 8765 --output out/ds
    lerobot-nb hands --lerobot existing_ds/ --camera front --output out/ds_with_hands

Every episode gets `observation.hands.{left,right}.{kp3d,kp3d_world,kp2d,box,confidence,present}`
(+ `mano.*` with HaMeR); with `--output` the episodes are written as a LeRobot v3.0 dataset, with
`--rrd-dir` each episode's overlay (2D keypoints over the camera, 3D in the world) is saved as
`<episode>.hands.rrd`. Without either, only the per-episode report is printed.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from lerobot_nb.align import AlignConfig, AlignedEpisode, EpisodeSkipped
from lerobot_nb.config import add_config_arguments, config_from_args
from lerobot_nb.enrich.hands.enrich import HandPoseConfig, HandsResult, make_backend, run_hands
from lerobot_nb.enrich.hands.intrinsics import CameraModel
from lerobot_nb.errors import LerobotNbError
from lerobot_nb.export.config import ExportConfig
from lerobot_nb.server import ServerConfig

__all__ = ["register", "run"]


def register(sub: Any) -> None:
    from lerobot_nb.cli.convert import add_convert_arguments

    parser: argparse.ArgumentParser = sub.add_parser(
        "hands",
        help="estimate hand pose per frame and add it to the episodes",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("recordings", nargs="*", metavar="PATH", help=".rrd/.mcap files or folders of them")
    parser.add_argument(
        "--dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="folder of xgym ep*.npz episodes (camera arrays) instead of recordings; uses --fps and --task",
    )
    parser.add_argument(
        "--lerobot",
        type=Path,
        default=None,
        metavar="DIR",
        help="an existing LeRobot v3.0 dataset to enrich (written anew at --output)",
    )
    parser.add_argument(
        "--rrd-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="save each episode's hand overlay as DIR/<episode>.hands.rrd",
    )
    add_convert_arguments(parser)
    group = parser.add_argument_group("hand pose")
    add_config_arguments(group, HandPoseConfig)
    # The reference scripts' spellings (xgym's tyro flags).
    group.add_argument(
        "--hamer.host", dest="hamer_host", default=argparse.SUPPRESS, help="alias of --hamer-host"
    )
    group.add_argument(
        "--hamer.port", dest="hamer_port", type=int, default=argparse.SUPPRESS, help="alias of --hamer-port"
    )
    parser.set_defaults(func=run)


def _image_entity(align: AlignConfig, key: str) -> str | None:
    return next((spec.entity for spec in align.image_specs() if spec.key == key), None)


def _from_recordings(
    args: argparse.Namespace,
    align: AlignConfig,
    hands: HandPoseConfig,
    kinds: dict[str, str],
) -> Iterator[tuple[AlignedEpisode | EpisodeSkipped, CameraModel | None]]:
    """Aligned episodes with their recorded camera; fills `kinds` (timeline -> timestamp|sequence)."""
    from lerobot_nb.align import iter_aligned
    from lerobot_nb.enrich.hands.intrinsics import camera_from_recording
    from lerobot_nb.query import index_timelines
    from lerobot_nb.server import RecordingServer

    server_config = config_from_args(ServerConfig, args, recordings=tuple(args.recordings))
    episodes = list(config_from_args(ExportConfig, args).episodes) or None
    with RecordingServer(server_config) as server:
        kinds.update(index_timelines(server.dataset))
        for item in iter_aligned(server, align, episodes=episodes):
            camera = None
            if isinstance(item, AlignedEpisode) and item.images:
                key = hands.camera or next(iter(item.images))
                entity = hands.intrinsics_entity or _image_entity(align, key)
                if entity:
                    camera = camera_from_recording(server.dataset, item.episode_id, entity, index=align.index)
            yield item, camera


def _from_npz(directory: Path, align: AlignConfig) -> Iterator[tuple[AlignedEpisode, None]]:
    from lerobot_nb.sources.mano_npz import find_npz_episodes, read_npz_episode

    for path in find_npz_episodes(directory):
        yield read_npz_episode(path, fps=align.fps, task=align.task), None


def _from_lerobot(root: Path) -> Iterator[tuple[AlignedEpisode, None]]:
    from lerobot_nb.sources.lerobot_dataset import read_lerobot_episodes

    for episode in read_lerobot_episodes(root):
        yield episode, None


def _summary_line(result: HandsResult) -> str:
    f = result.frames
    left = int(f["left"].sum()) if f.height else 0
    right = int(f["right"].sum()) if f.height else 0
    errors = int(f["error"].is_not_null().sum()) if f.height else 0
    return (
        f"{result.episode.episode_id}: {result.episode.length} frames, left {left}, right {right}, "
        f"failed {errors}"
    )


def run(args: argparse.Namespace) -> int:
    align = config_from_args(AlignConfig, args)
    hands = config_from_args(HandPoseConfig, args)
    export = config_from_args(ExportConfig, args)
    given = [
        name
        for name, on in (
            ("recordings", bool(args.recordings) or bool(getattr(args, "server_url", None))),
            ("--dir", args.dir is not None),
            ("--lerobot", args.lerobot is not None),
        )
        if on
    ]
    if len(given) != 1:
        raise LerobotNbError(
            "give exactly one input: recordings (files/folders or --server-url), --dir with "
            "ep*.npz, or --lerobot with a LeRobot dataset" + (f"; got {', '.join(given)}" if given else "")
        )
    kinds: dict[str, str] = {"frame": "sequence", "frame_index": "sequence"}
    if args.dir is not None:
        source: Iterator[tuple[Any, CameraModel | None]] = _from_npz(args.dir, align)
    elif args.lerobot is not None:
        source = _from_lerobot(args.lerobot)
    else:
        source = _from_recordings(args, align, hands, kinds)
    backend = make_backend(hands)
    if args.rrd_dir is not None:
        args.rrd_dir.mkdir(parents=True, exist_ok=True)

    def enriched() -> Iterator[AlignedEpisode | EpisodeSkipped]:
        for item, camera in source:
            if isinstance(item, EpisodeSkipped):
                print(f"{item.episode_id}: skipped: {item.reason}", file=sys.stderr)
                yield item
                continue
            result = run_hands(item, hands, backend, camera_model=camera)
            print(_summary_line(result), flush=True)
            for note in result.notes[1:]:
                print(f"  {note}", flush=True)
            if args.rrd_dir is not None:
                _save_overlay(
                    result.episode,
                    hands,
                    args.rrd_dir / f"{item.episode_id}.hands.rrd",
                    "sequence" if kinds.get(item.index) == "sequence" else "timestamp",
                )
            yield result.episode

    try:
        if export.output:
            from lerobot_nb.export import export_dataset

            inputs = [Path(p) for p in args.recordings] + [
                p for p in (args.dir, args.lerobot) if p is not None
            ]
            summary = export_dataset(enriched(), export, inputs=inputs)
            print(summary.render(), flush=True)
        else:
            for _ in enriched():
                pass
    finally:
        backend.close()
    return 0


def _save_overlay(
    episode: AlignedEpisode, hands: HandPoseConfig, path: Path, kind: Literal["timestamp", "sequence"]
) -> None:
    import rerun as rr

    from lerobot_nb.enrich.hands.rerun_log import log_hands_to_rerun

    rec = rr.RecordingStream("lerobot_nb_hands", recording_id=f"{episode.episode_id}_hands")
    rec.save(path)
    log_hands_to_rerun(
        episode,
        camera=hands.camera,
        recording=rec,
        log_images=True,
        prefix=hands.feature_prefix,
        timeline_kind=kind,
    )
    rec.flush()
    rec.disconnect()
