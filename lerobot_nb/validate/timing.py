"""Time and video checks: timestamps on the fps grid, video segments, decoding, frame lookup."""

from __future__ import annotations

import numpy as np

from lerobot_nb.validate.context import INFO_PATH, DatasetContext, check
from lerobot_nb.validate.report import Finding
from lerobot_nb.validate.video_scan import SampleRequest, VideoScan, sample_requests, scan_video

__all__ = ["video_scans"]


def _fail(reason: str, **where: object) -> Finding:
    return Finding(status="fail", reason=reason, **where)  # type: ignore[arg-type]


def video_scans(ctx: DatasetContext) -> dict[str, VideoScan]:
    """Scan of every referenced video file (relative path -> scan), decoded once and cached."""
    if "video_scans" not in ctx.cache:
        requests: dict[str, list[SampleRequest]] = {}
        for row in ctx.episode_rows():
            for key in ctx.video_keys:
                rel = ctx.video_file(key, row[f"videos/{key}/chunk_index"], row[f"videos/{key}/file_index"])
                requests.setdefault(rel, []).extend(
                    sample_requests(
                        row["episode_index"], row[f"videos/{key}/from_timestamp"], row["length"], ctx.fps
                    )
                )
        ctx.cache["video_scans"] = {
            rel: scan_video(ctx.root / rel, requests.get(rel, []), ctx.config.tolerance_s)
            for rels in ctx.referenced_video_files.values()
            for rel in rels
        }
    scans: dict[str, VideoScan] = ctx.cache["video_scans"]
    return scans


def _disabled(ctx: DatasetContext) -> list[Finding] | None:
    if not ctx.video_keys:
        return [Finding(status="pass", reason="no video features")]
    if not ctx.config.video:
        return [Finding(status="skip", reason="video decoding disabled (video=False)")]
    return None


def _segments(ctx: DatasetContext) -> list[tuple[dict[str, object], str, str]]:
    """(episode row, video key, video file) for every episode and camera."""
    return [
        (row, key, ctx.video_file(key, row[f"videos/{key}/chunk_index"], row[f"videos/{key}/file_index"]))
        for row in ctx.episode_rows()
        for key in ctx.video_keys
    ]


@check("time.timestamps", requires=("structure.index",))
def timestamps(ctx: DatasetContext) -> list[Finding]:
    """Every frame's timestamp equals frame_index / fps within tolerance_s (1e-4 s)."""
    out = []
    tol = ctx.config.tolerance_s
    for ep, frame in ctx.data.group_by("episode_index", maintain_order=True):
        raw = frame["timestamp"].to_numpy()
        stored = raw.astype(np.float64)
        # lerobot stores float32(frame_index / fps): compare with that rounding, not the exact value
        expected = (frame["frame_index"].to_numpy() / ctx.fps).astype(raw.dtype).astype(np.float64)
        error = np.abs(stored - expected)
        bad = np.flatnonzero(~(error <= tol))
        if bad.size:
            k = int(bad[0])
            more = f" ({bad.size} frames in this episode)" if bad.size > 1 else ""
            out.append(
                _fail(
                    f"timestamp is {stored[k]:.6f} s but frame_index/fps is {expected[k]:.6f} s "
                    f"(off by {error[k]:.2g} s > {tol:g}){more}; lerobot requires timestamp = frame_index/fps",
                    file=frame["_file"][0],
                    episode=int(ep[0]),  # type: ignore[arg-type]
                    frame=int(frame["frame_index"][k]),
                )
            )
    return out


@check("video.decode", requires=("structure.files",))
def decode(ctx: DatasetContext) -> list[Finding]:
    """Every video file opens and every frame in it decodes (PyAV, in order)."""
    disabled = _disabled(ctx)
    if disabled is not None:
        return disabled
    out = []
    for rel, scan in video_scans(ctx).items():
        if scan.open_error is not None:
            out.append(
                _fail(
                    f"video does not open ({scan.open_error}); the file is truncated or not an mp4", file=rel
                )
            )
            continue
        total = max(scan.header_frames, scan.packets)
        if scan.errors:
            frame, message = scan.errors[0]
            out.append(
                _fail(
                    f"frame {frame} of {total} does not decode ({message}; {len(scan.errors)} failing packets, "
                    f"{scan.decoded} frames decoded): the file is truncated or corrupt, re-export it",
                    file=rel,
                    frame=frame,
                )
            )
        if not scan.errors and scan.decoded < total:
            out.append(
                _fail(
                    f"only {scan.decoded} of {total} frames decode; the file is truncated or corrupt",
                    file=rel,
                    frame=scan.decoded,
                )
            )
    return out


@check("video.format", requires=("video.decode",))
def video_format(ctx: DatasetContext) -> list[Finding]:
    """Each video's size, fps and codec agree with its feature in info.json."""
    disabled = _disabled(ctx)
    if disabled is not None:
        return disabled
    out = []
    scans = video_scans(ctx)
    for key, rels in ctx.referenced_video_files.items():
        feature = ctx.features[key]
        height, width = feature["shape"][0], feature["shape"][1]
        info = feature.get("info") or {}
        for rel in rels:
            scan = scans[rel]
            if (scan.height, scan.width) != (height, width):
                out.append(
                    _fail(
                        f"video is {scan.width}x{scan.height} but `{key}` has shape {feature['shape']} in info.json",
                        file=rel,
                    )
                )
            if scan.fps is not None and scan.fps != ctx.fps:
                out.append(
                    _fail(f"video runs at {float(scan.fps):g} fps, the dataset at {ctx.fps} fps", file=rel)
                )
            codec = info.get("video.codec")
            if codec and not _same_codec(codec, scan.codec):
                out.append(_fail(f"video codec is {scan.codec}, info.json says {codec}", file=rel))
            if info.get("video.fps") not in (None, ctx.fps):
                out.append(
                    _fail(
                        f"info.json `{key}` video.fps is {info['video.fps']}, the dataset fps is {ctx.fps}",
                        file=INFO_PATH,
                    )
                )
    return out


def _same_codec(declared: str, decoder: str) -> bool:
    """'av1' matches the decoders libdav1d/libaom-av1, 'h264' matches h264, and so on."""
    declared = declared.lower().replace(".", "").replace("-", "")
    decoder = decoder.lower().replace("-", "")
    aliases = {
        "av1": ("av1", "libdav1d", "libaomav1"),
        "h264": ("h264", "libopenh264"),
        "hevc": ("hevc", "h265"),
    }
    return decoder in aliases.get(declared, (declared,))


@check("video.frames", requires=("video.decode", "structure.episode_ranges"))
def frames(ctx: DatasetContext) -> list[Finding]:
    """Each episode's video segment holds exactly `length` frames and from/to_timestamp fit the mp4."""
    disabled = _disabled(ctx)
    if disabled is not None:
        return disabled
    out = []
    tol = ctx.config.tolerance_s
    scans = video_scans(ctx)
    for row, key, rel in _segments(ctx):
        ep, length = int(row["episode_index"]), int(row["length"])  # type: ignore[call-overload]
        start = float(row[f"videos/{key}/from_timestamp"])  # type: ignore[arg-type]
        stop = float(row[f"videos/{key}/to_timestamp"])  # type: ignore[arg-type]
        times = scans[rel].times
        if abs((stop - start) - length / ctx.fps) > tol:
            out.append(
                _fail(
                    f"`{key}` from/to_timestamp span {stop - start:.4f} s but {length} frames at {ctx.fps} fps last {length / ctx.fps:.4f} s",
                    file=rel,
                    episode=ep,
                )
            )
            continue
        inside = int(np.count_nonzero((times >= start - tol) & (times < stop - tol)))
        if inside != length:
            end = times.max() + 1 / ctx.fps if times.size else 0.0
            out.append(
                _fail(
                    f"`{key}` segment [{start:.4f}, {stop:.4f}) s holds {inside} video frames, the episode has {length} "
                    f"(video ends at {end:.4f} s)",
                    file=rel,
                    episode=ep,
                )
            )
    return out


@check("video.sync", requires=("video.frames", "time.timestamps"))
def sync(ctx: DatasetContext) -> list[Finding]:
    """The frame lerobot looks up at from_timestamp + timestamp is the episode's k-th frame, within tolerance_s."""
    disabled = _disabled(ctx)
    if disabled is not None:
        return disabled
    out = []
    tol = ctx.config.tolerance_s
    scans = video_scans(ctx)
    for row, key, rel in _segments(ctx):
        ep = int(row["episode_index"])  # type: ignore[call-overload]
        start = float(row[f"videos/{key}/from_timestamp"])  # type: ignore[arg-type]
        # lerobot adds the stored (float32) timestamps to from_timestamp in float64
        query = start + ctx.episode_data(ep)["timestamp"].to_numpy().astype(np.float64)
        times = np.sort(scans[rel].times)
        first = int(np.searchsorted(times, start - tol))
        nearest = np.clip(np.searchsorted(times, query), 1, len(times) - 1)
        left, right = times[nearest - 1], times[nearest]
        pick = np.where(np.abs(query - left) <= np.abs(query - right), nearest - 1, nearest)
        error = np.abs(times[pick] - query)
        wrong = (error >= tol) | (pick != first + np.arange(len(query)))
        bad = np.flatnonzero(wrong)
        if bad.size:
            k = int(bad[0])
            out.append(
                _fail(
                    f"`{key}` frame requested at {query[k]:.4f} s lands on the frame at {times[pick[k]]:.4f} s "
                    f"(off by {error[k]:.2g} s, tolerance {tol:g}); lerobot would raise FrameTimestampError",
                    file=rel,
                    episode=ep,
                    frame=k,
                )
            )
    return out
