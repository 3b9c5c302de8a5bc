"""Pieces of `prepare` on their own: rotations vs scipy, normalization vs lerobot's normalizer, the YAML."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lerobot_nb.errors import LerobotNbError
from lerobot_nb.prepare import normalize, parse_embodiments, unnormalize
from lerobot_nb.prepare.actions import action_chunks, actions_from_state
from lerobot_nb.prepare.rotation import matrix_from_rot6d, rot6d, to_matrix
from lerobot_nb.prepare.run import parse_source
from lerobot_nb.prepare.training import parse_losses
from lerobot_nb.stats import numeric_stats


@pytest.fixture
def rotations() -> np.ndarray:
    spatial = pytest.importorskip("scipy.spatial.transform")
    return spatial.Rotation.random(50, random_state=3)  # type: ignore[no-any-return]


def test_rotations_match_scipy(rotations: object) -> None:
    r = rotations
    want = r.as_matrix()  # type: ignore[attr-defined]
    np.testing.assert_allclose(to_matrix(r.as_euler("xyz"), "rpy"), want, atol=1e-12)  # type: ignore[attr-defined]
    quat = r.as_quat()  # type: ignore[attr-defined]  # x y z w
    np.testing.assert_allclose(to_matrix(quat, "quat_xyzw"), want, atol=1e-12)
    np.testing.assert_allclose(to_matrix(-quat[:, [3, 0, 1, 2]], "quat_wxyz"), want, atol=1e-12)  # q ~ -q
    np.testing.assert_allclose(to_matrix(r.as_rotvec(), "rotvec"), want, atol=1e-12)  # type: ignore[attr-defined]
    np.testing.assert_allclose(to_matrix(want.reshape(-1, 9), "matrix"), want, atol=0)
    six = rot6d(want)
    np.testing.assert_array_equal(six, np.concatenate([want[:, :, 0], want[:, :, 1]], axis=1))
    np.testing.assert_allclose(matrix_from_rot6d(six), want, atol=1e-12)
    np.testing.assert_allclose(to_matrix(np.zeros((1, 3)), "rotvec"), np.eye(3)[None], atol=0)


def test_normalization_is_lerobots() -> None:
    torch = pytest.importorskip("torch")
    from lerobot.configs.types import FeatureType, NormalizationMode, PolicyFeature
    from lerobot.lerobot_types import TransitionKey
    from lerobot.processor.converters import create_transition
    from lerobot.processor.normalize_processor import NormalizerProcessorStep, UnnormalizerProcessorStep

    rng = np.random.default_rng(0)
    values = rng.normal(3.0, 2.0, (40, 4)).astype(np.float32)
    values[:, 3] = 1.5  # a constant dimension: lerobot's eps guards
    stats = numeric_stats(values)
    features = {"observation.state": PolicyFeature(FeatureType.STATE, (4,))}
    for ours, theirs in (
        ("mean_std", "MEAN_STD"),
        ("min_max", "MIN_MAX"),
        ("quantiles", "QUANTILES"),
        ("quantile10", "QUANTILE10"),
    ):
        norm_map = {FeatureType.STATE: NormalizationMode[theirs]}
        lerobot_stats = {"observation.state": {k: v for k, v in stats.items()}}
        step = NormalizerProcessorStep(features=features, norm_map=norm_map, stats=lerobot_stats)
        out = step(create_transition(observation={"observation.state": torch.from_numpy(values)}))
        want = out[TransitionKey.OBSERVATION]["observation.state"].numpy()
        got = normalize(values, stats, ours)
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6, err_msg=ours)
        back = UnnormalizerProcessorStep(features=features, norm_map=norm_map, stats=lerobot_stats)
        undone = back(create_transition(observation={"observation.state": torch.from_numpy(got)}))
        np.testing.assert_allclose(
            unnormalize(got, stats, ours),
            undone[TransitionKey.OBSERVATION]["observation.state"].numpy(),
            rtol=1e-5,
            atol=1e-5,
        )


def test_actions_and_chunks_of_a_short_episode() -> None:
    state = np.arange(12, dtype=np.float32).reshape(4, 3)
    mask = np.ones((4, 3), bool)
    mask[2, 1] = False
    absolute = actions_from_state(state, mask, "absolute")
    np.testing.assert_array_equal(absolute.action, state[[1, 2, 3, 3]])
    assert absolute.mask.tolist() == [[True] * 3, [True, False, True], [True] * 3, [False] * 3]
    delta = actions_from_state(state, mask, "delta")
    np.testing.assert_array_equal(delta.action, [[3, 3, 3], [3, 3, 3], [3, 3, 3], [0, 0, 0]])
    assert delta.mask[:, 1].tolist() == [True, False, False, False] and delta.mask[:3, 0].all()
    one = actions_from_state(state[:1], mask[:1], "absolute")  # a one-frame episode: held, masked
    np.testing.assert_array_equal(one.action, state[:1])
    assert not one.mask.any()
    chunks = action_chunks(absolute, 3)
    assert chunks.is_pad.tolist() == [[False] * 3, [False] * 3, [False, False, True], [False, True, True]]
    np.testing.assert_array_equal(chunks.chunk[3], np.tile(state[3], 3))
    assert not chunks.mask[3].any()


def test_parse_source(tmp_path: Path) -> None:
    colon = tmp_path / "runs:1"
    colon.mkdir()
    assert parse_source(f"{tmp_path}/ds:xarm7", "") == (tmp_path / "ds", "xarm7")
    assert parse_source(str(colon), "so100") == (colon, "so100")  # an existing folder is a path
    assert parse_source("ds", "mano") == (Path("ds"), "mano")
    with pytest.raises(LerobotNbError, match="ds: no embodiment: name it as SRC:NAME or give --embodiment"):
        parse_source("ds", "")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("arm: {keys: {elbow: {feature: s, indices: [0]}}}", "embodiment arm: unknown key 'elbow'"),
        (
            "arm: {keys: {eef_pos: {feature: s, indices: [0, 1]}}}",
            "eef_pos has 3 dimension(s), the mapping lists 2",
        ),
        ("arm: {keys: {eef_rot: {feature: s, indices: [0, 1, 2]}}}", "`rotation` must be one of rpy"),
        (
            "arm: {keys: {eef_rot: {feature: s, indices: [0, 1, null], rotation: rpy}}}",
            "takes 3 dimensions, all present",
        ),
        ("arm: {keys: {gripper: {feature: s, indices: [0], range: [5, 5]}}}", "range [5, 5] is empty"),
        (
            "arm: {keys: {joints: {feature: s, indices: [0], names: [a]}}}",
            "give exactly one of `indices` or `names`",
        ),
        ("arm: {keys: {joints: {feature: s, indices: [-1]}}}", "indices must be whole numbers >= 0 or null"),
        ("arm: {keys: {joints: {feature: s, indices: [0], scale: x}}}", "scale must be a finite number"),
        ("arm: {keys: {}, hand: {}}", "needs exactly one of `keys`"),
        ("arm: {hand: {points: kp2d}}", "points must be kp3d or kp3d_world"),
        ("arm: {hand: {aperture: [0.2, 0.1]}}", "must be 0 <= closed < open"),
        ("arm: [1, 2]", "must be a mapping with `keys` or `hand`"),
        ("arm: {keys: {joints: {feature: s, indices: [0]}}, colour: red}", "unknown field(s) colour"),
        ("- a\n- b", "an embodiment file maps names to embodiments"),
        ("arm: {keys: [", "not valid YAML"),
    ],
)
def test_bad_embodiment_files(text: str, message: str) -> None:
    with pytest.raises(LerobotNbError) as info:
        parse_embodiments(text, "mine.yaml")
    assert str(info.value).startswith("mine.yaml: ") and message in str(info.value)
    assert "\n" not in str(info.value)


def test_parse_losses() -> None:
    log = (
        "INFO step:1 smpl:8 ep:0 epch:0.05 loss:96.270 grdn:1318.537 lr:1.0e-05\n"
        "noise\nINFO step:2K smpl:16 ep:0 epch:0.10 loss:71.5 grdn:1.0\n"
    )
    steps, losses = parse_losses(log)
    assert steps.tolist() == [1, 2000] and losses.tolist() == [96.27, 71.5]
