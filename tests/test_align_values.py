"""Aligned values at every tick equal a brute-force latest-at / nearest / interpolation (real server)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from align_recordings import (
    T0,
    brute_latest,
    brute_linear,
    brute_nearest,
    expected_ticks,
    irregular_times,
    write_rrd,
)

from lerobot_nb.align import AlignConfig, align_episode, align_segments, iter_aligned
from lerobot_nb.query import read_latest_at
from lerobot_nb.server import RecordingServer, ServerConfig

pytestmark = pytest.mark.xdist_group("align_values")

FPS = 30
DUR = 6.0


@pytest.fixture(scope="module")
def streams() -> dict[str, dict[str, tuple[np.ndarray, np.ndarray]]]:
    """Per episode: entity -> (times ns, values). Irregular rates, jitter, gaps, late starts."""
    rng = np.random.default_rng(7)
    out = {}
    for ep in ("irregular_a", "irregular_b"):
        act_t = irregular_times(
            rng, 97.0, DUR, start_ns=T0 + int(rng.integers(0, 50_000_000)), gaps=[(1.0, 1.4), (3.3, 3.45)]
        )
        st_t = irregular_times(rng, 203.0, DUR, jitter=0.45, gaps=[(2.0, 2.25)])
        out[ep] = {
            "/action": (act_t, rng.normal(size=(len(act_t), 6))),
            "/observation/state": (st_t, rng.normal(size=(len(st_t), 7))),
        }
    gap_t = irregular_times(rng, 50.0, DUR, jitter=0.1, gaps=[(2.0, 3.0)])
    out["with_gap"] = {
        "/action": (gap_t, rng.normal(size=(len(gap_t), 2))),
        "/observation/state": (gap_t, rng.normal(size=(len(gap_t), 3))),
    }
    return out


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, streams: dict) -> Iterator[RecordingServer]:
    folder = tmp_path_factory.mktemp("align_values")
    for ep, scalars in streams.items():
        write_rrd(
            folder / f"{ep}.rrd",
            ep,
            scalars,
            names={"/observation/state": [f"joint_{i}" for i in range(7 if ep != "with_gap" else 3)]},
            task=f"task of {ep}",
        )
    with RecordingServer(ServerConfig(recordings=(str(folder),))) as srv:
        yield srv


def _span(scalars: dict) -> tuple[int, int]:
    return max(int(t[0]) for t, _ in scalars.values()), min(int(t[-1]) for t, _ in scalars.values())


@pytest.mark.parametrize("policy", ["latest", "nearest", "linear"])
@pytest.mark.parametrize("episode", ["irregular_a", "irregular_b"])
def test_every_tick_matches_brute_force(
    server: RecordingServer, streams: dict, policy: str, episode: str
) -> None:
    cfg = AlignConfig(fps=FPS, policy=policy, max_staleness_s=10.0)  # type: ignore[arg-type]  # keep every tick: compare values
    ep = align_episode(server.dataset, episode, cfg)
    start, end = _span(streams[episode])
    ticks = expected_ticks(start, end, FPS)
    assert np.array_equal(ep.ticks, ticks)
    assert np.array_equal(ep.timestamps, np.arange(len(ticks)) / FPS)
    assert ep.ticks[1] - ep.ticks[0] in (33_333_333, 33_333_334)
    for key, entity in (("action", "/action"), ("observation.state", "/observation/state")):
        times, values = streams[episode][entity]
        got = ep.numeric[key]
        for k, tick in enumerate(ticks):
            if policy == "latest":
                want, _ = brute_latest(times, values, int(tick))
            elif policy == "nearest":
                want, _ = brute_nearest(times, values, int(tick))
            else:
                want = brute_linear(times, values, int(tick))
            np.testing.assert_allclose(got[k], want, rtol=0, atol=1e-12, err_msg=f"{key} tick {k}")
    assert ep.names["observation.state"] == tuple(f"joint_{i}" for i in range(7))
    assert ep.names["action"] is None
    assert ep.tasks == (f"task of {episode}",) * len(ticks)


def test_server_latest_at_equals_numpy_latest_at(server: RecordingServer, streams: dict) -> None:
    """The pushed-down latest-at (fill_latest_at at using_index_values) equals numpy's."""
    episode = "irregular_a"
    start, end = _span(streams[episode])
    ticks = expected_ticks(start, end, FPS)
    served = read_latest_at(server.dataset, episode, ["/action:Scalars:scalars"], "real_time", ticks)
    got = np.array(served["/action:Scalars:scalars"].to_pylist())
    times, values = streams[episode]["/action"]
    want = np.array([brute_latest(times, values, int(t))[0] for t in ticks])
    np.testing.assert_array_equal(got, want)
    on = align_episode(server.dataset, episode, AlignConfig(fps=FPS, pushdown=True, on_stale="flag"))
    off = align_episode(server.dataset, episode, AlignConfig(fps=FPS, pushdown=False, on_stale="flag"))
    np.testing.assert_array_equal(on.ticks, off.ticks)
    for key in on.numeric:
        np.testing.assert_array_equal(on.numeric[key], off.numeric[key])


def test_stale_ticks_are_dropped_exactly_where_brute_force_says(
    server: RecordingServer, streams: dict
) -> None:
    episode = "irregular_b"
    pieces = align_segments(server.dataset, episode, AlignConfig(fps=FPS, on_stale="drop", max_gap_s=None))
    start, end = _span(streams[episode])
    ticks = expected_ticks(start, end, FPS)
    keep = np.ones(len(ticks), bool)
    tolerance = {}
    for entity, (times, values) in streams[episode].items():
        tol = 2 * float(np.median(np.diff(times)))
        tolerance[entity] = tol
        stale = np.array([brute_latest(times, values, int(t))[1] for t in ticks])
        keep &= stale <= tol
    assert (~keep).sum() > 3  # the gaps really make stale ticks
    # Every piece is a run of consecutive grid ticks (timestamp = k / fps stays true), split
    # exactly where brute force drops ticks.
    kept = np.flatnonzero(keep)
    runs = np.split(kept, np.flatnonzero(np.diff(kept) > 1) + 1)
    assert len(pieces) == len(runs) > 1
    assert [p.episode_id for p in pieces] == [f"{episode}#{n}" for n in range(len(runs))]
    for piece, run in zip(pieces, runs, strict=True):
        np.testing.assert_array_equal(piece.ticks, ticks[run])
    rows = [r for p in pieces for r in p.report.iter_rows(named=True) if r["stream"] == "action"]
    assert sum(r["kept"] for r in rows) == keep.sum()
    assert sum(r["grid_ticks"] for r in rows) == len(ticks)
    # Each dropped grid tick is accounted to exactly one piece.
    assert sum(len(p.timing["action"].dropped_s) for p in pieces) == len(ticks) - keep.sum()
    rep = {r["stream"]: r for r in pieces[0].report.iter_rows(named=True)}
    assert rep["action"]["tolerance_ms"] == pytest.approx(tolerance["/action"] / 1e6)
    assert rep["action"]["staleness_max_ms"] <= rep["action"]["tolerance_ms"]
    assert rep["action"]["gaps"] == 2
    assert rep["observation.state"]["gaps"] == 1
    assert rep["action"]["max_gap_ms"] == pytest.approx(np.diff(streams[episode]["/action"][0]).max() / 1e6)


def test_flag_keeps_stale_ticks_and_marks_them(server: RecordingServer, streams: dict) -> None:
    ep = align_episode(server.dataset, "irregular_b", AlignConfig(fps=FPS, on_stale="flag"))
    start, end = _span(streams["irregular_b"])
    assert np.array_equal(ep.ticks, expected_ticks(start, end, FPS))
    times, values = streams["irregular_b"]["/action"]
    stale_s = np.array([brute_latest(times, values, int(t))[1] for t in ep.ticks]) / 1e9
    tol = 2 * float(np.median(np.diff(times))) / 1e9
    np.testing.assert_array_equal(ep.timing["action"].flagged, stale_s > tol)
    np.testing.assert_allclose(ep.timing["action"].staleness_s, stale_s, atol=1e-12)
    assert ep.report.filter(stream="action")["flagged"][0] == int((stale_s > tol).sum()) > 0


def test_gap_splits_or_ends_the_episode(server: RecordingServer, streams: dict) -> None:
    times = streams["with_gap"]["/action"][0]
    ticks = expected_ticks(int(times[0]), int(times[-1]), 10)
    big = np.flatnonzero(np.diff(times) > 0.5e9)
    assert len(big) == 1
    lo, hi = times[big[0]], times[big[0] + 1]
    before, after = ticks[ticks <= lo], ticks[ticks >= hi]
    cfg = AlignConfig(fps=10, max_gap_s=0.5, max_staleness_s=10.0)
    pieces = align_segments(server.dataset, "with_gap", cfg)
    assert [p.episode_id for p in pieces] == ["with_gap#0", "with_gap#1"]
    np.testing.assert_array_equal(pieces[0].ticks, before)
    np.testing.assert_array_equal(pieces[1].ticks, after)
    assert pieces[1].timestamps[0] == 0.0
    ended = align_segments(
        server.dataset, "with_gap", AlignConfig(fps=10, max_gap_s=0.5, on_gap="end", max_staleness_s=10.0)
    )
    assert len(ended) == 1 and np.array_equal(ended[0].ticks, before)
    with pytest.raises(Exception, match="splits into 2 pieces"):
        align_episode(server.dataset, "with_gap", cfg)


def test_span_stream_takes_the_span_of_one_stream(server: RecordingServer, streams: dict) -> None:
    act = streams["irregular_a"]["/action"][0]
    st = streams["irregular_a"]["/observation/state"][0]
    ep = align_episode(
        server.dataset, "irregular_a", AlignConfig(fps=FPS, span_stream="action", max_staleness_s=10.0)
    )
    ticks = expected_ticks(int(act[0]), int(act[-1]), FPS)
    # Ticks where the state has no sample yet are dropped; the rest of the action's span stays.
    np.testing.assert_array_equal(ep.ticks, ticks[ticks >= st[0]])


def test_by_default_stale_ticks_are_kept_and_flagged_where_brute_force_says(
    server: RecordingServer, streams: dict
) -> None:
    episode = "irregular_b"
    (ep,) = align_segments(server.dataset, episode, AlignConfig(fps=FPS, max_gap_s=None))
    start, end = _span(streams[episode])
    ticks = expected_ticks(start, end, FPS)
    np.testing.assert_array_equal(ep.ticks, ticks)  # no tick dropped, no split
    rows = {r["stream"]: r for r in ep.report.iter_rows(named=True)}
    for key, entity in (("action", "/action"), ("observation.state", "/observation/state")):
        times, values = streams[episode][entity]
        tol = 2 * float(np.median(np.diff(times)))
        latest = [brute_latest(times, values, int(t)) for t in ticks]
        np.testing.assert_array_equal(ep.numeric[key], np.stack([v for v, _ in latest]))
        assert rows[key]["flagged"] == sum(stale > tol for _, stale in latest) > 0
        assert rows[key]["dropped"] == 0


def test_iter_aligned_is_lazy_and_in_episode_order(server: RecordingServer) -> None:
    it = iter_aligned(
        server, AlignConfig(fps=FPS, max_staleness_s=10.0), episodes=["irregular_b", "irregular_a"]
    )
    first = next(it)
    assert first.episode_id == "irregular_b"
    assert [e.episode_id for e in it] == ["irregular_a"]


def test_report_counts_every_grid_tick_of_a_piece(server: RecordingServer, streams: dict) -> None:
    """Kept + dropped = the grid ticks of the piece (its run between gaps; all when unsplit)."""
    act = streams["irregular_a"]["/action"][0]
    parts = align_segments(
        server.dataset,
        "irregular_a",
        AlignConfig(fps=FPS, span_stream="action", on_stale="drop", max_gap_s=None),
    )
    reps = [{r["stream"]: r for r in p.report.iter_rows(named=True)} for p in parts]
    n = len(expected_ticks(int(act[0]), int(act[-1]), FPS))
    assert sum(rep["action"]["grid_ticks"] for rep in reps) == n
    dropped = n - sum(p.length for p in parts)
    assert dropped > 0
    assert sum(rep["observation.state"]["dropped"] + rep["action"]["dropped"] for rep in reps) >= dropped
    assert sum(len(p.timing["action"].dropped_s) for p in parts) == dropped
    pieces = align_segments(
        server.dataset, "with_gap", AlignConfig(fps=10, max_gap_s=0.5, max_staleness_s=10.0)
    )
    times = streams["with_gap"]["/action"][0]
    ticks = expected_ticks(int(times[0]), int(times[-1]), 10)
    gap_ticks = int(
        ((ticks > times[np.diff(times).argmax()]) & (ticks < times[np.diff(times).argmax() + 1])).sum()
    )
    assert sum(p.report["grid_ticks"][0] for p in pieces) == len(ticks) - gap_ticks
