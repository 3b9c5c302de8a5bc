"""`push_dataset` against a recording Hub stand-in: the exact calls, the order that keeps the tag honest.

The dataset is exported in the test by the project's exporter; the stand-in (tests/hub_standin.py)
sits at the `HfApi` boundary. Offline is a real network failure (a closed local port).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import httpx
import pytest
from export_support import synthetic_episode
from hub_standin import RecordingHub, closed_endpoint, http_error
from huggingface_hub import CommitOperationAdd, CommitOperationDelete, DatasetCard, constants
from huggingface_hub.errors import HfHubHTTPError

from lerobot_nb.errors import LerobotNbError
from lerobot_nb.export import ExportConfig, export_dataset
from lerobot_nb.hub import PushConfig, push_dataset
from lerobot_nb.validate import validate

REPO = "lab/pick-red-block"
#: What the exporter writes for one camera, independently of how the push lists files.
EXPECTED_FILES = [
    "data/chunk-000/file-000.parquet",
    "meta/episodes/chunk-000/file-000.parquet",
    "meta/info.json",
    "meta/lerobot_nb.json",
    "meta/stats.json",
    "meta/tasks.parquet",
    "videos/observation.images.front/chunk-000/file-000.mp4",
]
FLOW = [
    "create_repo",
    "create_branch",
    "repo_info",
    "list_repo_files",
    "create_commit",
    "delete_tag",
    "create_tag",
]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("hub") / "pick"
    episodes = [synthetic_episode(f"e{i}", 12, i, cameras=("front",)) for i in range(2)]
    export_dataset(episodes, ExportConfig(output=str(root), progress=False))
    assert validate(root).ok  # warms the loader once for the module
    return root


def listing(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


@pytest.fixture
def endpoint(monkeypatch: pytest.MonkeyPatch) -> str:
    return closed_endpoint(monkeypatch)


@pytest.fixture
def hub(endpoint: str, monkeypatch: pytest.MonkeyPatch) -> RecordingHub:
    return RecordingHub(endpoint).install(monkeypatch)


def adds(operations: list[object]) -> dict[str, object]:
    return {op.path_in_repo: op.path_or_fileobj for op in operations if isinstance(op, CommitOperationAdd)}


def deletes(operations: list[object]) -> list[str]:
    return [op.path_in_repo for op in operations if isinstance(op, CommitOperationDelete)]


def test_first_push_to_a_branch_makes_exactly_these_calls(
    dataset: Path, hub: RecordingHub, endpoint: str
) -> None:
    config = PushConfig(repo_id=REPO, branch="v0.1", private=True, tags=("xgym", "lift"))
    result = push_dataset(dataset, config)

    assert hub.names() == FLOW
    repo = hub.only("create_repo")
    assert (repo["repo_id"], repo["repo_type"], repo["private"], repo["exist_ok"]) == (
        REPO,
        "dataset",
        True,
        True,
    )
    initial = hub.repos[REPO].branches["main"]  # the Hub's first commit (.gitattributes only)
    branch = hub.only("create_branch")
    assert (branch["branch"], branch["revision"], branch["repo_type"], branch["exist_ok"]) == (
        "v0.1",
        "main",
        "dataset",
        True,
    )
    assert hub.only("repo_info")["revision"] == "v0.1"
    assert hub.only("list_repo_files")["revision"] == initial

    commit = hub.only("create_commit")
    assert (commit["repo_type"], commit["revision"], commit["parent_commit"]) == ("dataset", "v0.1", initial)
    assert (
        commit["commit_message"] == "LeRobot v3.0 dataset: 2 episodes, 24 frames at 10 fps (lerobot-nb push)"
    )
    added = adds(commit["operations"])
    assert listing(dataset) == EXPECTED_FILES
    assert sorted(added) == sorted([*EXPECTED_FILES, "README.md"])  # every file, nothing else, and the card
    assert {p: added[p] for p in EXPECTED_FILES} == {p: str(dataset / p) for p in EXPECTED_FILES}
    assert deletes(commit["operations"]) == []

    card = DatasetCard(added["README.md"].decode())  # type: ignore[union-attr]
    assert card.data.tags == ["LeRobot", "xgym", "lift"]
    assert card.data.license == "apache-2.0"
    assert card.data.task_categories == ["robotics"]
    assert '"total_frames": 24' in card.text and f"visualize_dataset?path={REPO}" in card.text

    assert hub.only("delete_tag")["tag"] == "v3.0"  # none yet: the Hub's 404 is expected
    tag = hub.only("create_tag")
    new = hub.repos[REPO].branches["v0.1"]
    assert (tag["tag"], tag["revision"], tag["repo_type"]) == ("v3.0", new, "dataset")
    assert hub.repos[REPO].tags == {"v3.0": new}
    assert hub.repos[REPO].branches["main"] == initial  # main untouched

    tree = hub.tree(REPO, "v3.0")
    assert sorted(tree) == sorted([*EXPECTED_FILES, "README.md", ".gitattributes"])
    assert all(tree[p] == (dataset / p).read_bytes() for p in EXPECTED_FILES)

    assert (result.commit, result.revision, result.tag, result.files) == (new, "v0.1", "v3.0", 7)
    assert result.size_bytes == sum((dataset / p).stat().st_size for p in EXPECTED_FILES)
    assert result.url == f"{endpoint}/datasets/{REPO}"
    assert str(result).splitlines()[0] == (
        f"pushed {dataset} to {endpoint}/datasets/{REPO} (v0.1, commit {new[:12]}): 7 files, "
        f"{result.size_bytes / 1e6:.1f} MB, 0 old files removed; tag v3.0 -> {new[:12]}"
    )
    # lerobot 0.6.1 resolves revision="v0.1" as a format version: the note says how to load it.
    assert result.notes and "revision='v0.1'" in result.notes[0]


def test_repush_replaces_the_previous_dataset_and_moves_the_tag(dataset: Path, hub: RecordingHub) -> None:
    old = {"data/chunk-000/file-001.parquet": b"old", "meta/info.json": b"{}", "README.md": b"old card"}
    previous = hub.seed(REPO, old, tag="v3.0")

    result = push_dataset(dataset, PushConfig(repo_id=REPO))

    assert hub.names() == [n for n in FLOW if n != "create_branch"]
    assert hub.only("create_repo")["private"] is None  # the Hub's default visibility
    commit = hub.only("create_commit")
    assert (commit["revision"], commit["parent_commit"]) == (None, previous)
    assert deletes(commit["operations"]) == ["data/chunk-000/file-001.parquet"]  # .gitattributes stays
    assert result.deleted == ("data/chunk-000/file-001.parquet",)
    new = hub.repos[REPO].branches["main"]
    assert sorted(hub.tree(REPO, "main")) == sorted([*EXPECTED_FILES, "README.md", ".gitattributes"])
    assert hub.tree(REPO, "main")["meta/info.json"] == (dataset / "meta/info.json").read_bytes()
    assert hub.repos[REPO].tags == {"v3.0": new} and new != previous
    assert result.notes == ()


def test_a_failed_commit_leaves_the_previous_tag_and_says_so(dataset: Path, hub: RecordingHub) -> None:
    previous = hub.seed(REPO, {"meta/info.json": b"{}"}, tag="v3.0")
    hub.fail("create_commit", httpx.ConnectError("connection reset by peer"))

    with pytest.raises(LerobotNbError) as err:
        push_dataset(dataset, PushConfig(repo_id=REPO))

    assert str(err.value) == (
        f"{dataset}: push failed while committing the dataset to main: cannot reach the Hub at "
        f"{hub.endpoint} (ConnectError: connection reset by peer); check the network or HF_ENDPOINT; "
        "nothing was committed (a commit is all or nothing) and the v3.0 tag was not touched; "
        "the dataset is complete here, push again"
    )
    assert hub.names()[-1] == "create_commit"  # no tag call after a failed commit
    assert hub.repos[REPO].tags == {"v3.0": previous}
    assert hub.repos[REPO].branches["main"] == previous


def test_a_failed_tag_after_the_commit_names_the_commit(dataset: Path, hub: RecordingHub) -> None:
    hub.fail("create_tag", http_error(HfHubHTTPError, 500, "Internal Server Error"))

    with pytest.raises(LerobotNbError) as err:
        push_dataset(dataset, PushConfig(repo_id=REPO, branch="v0.1"))

    oid = hub.repos[REPO].branches["v0.1"]
    assert str(err.value) == (
        f"{dataset}: push failed while tagging {oid} as v3.0: the Hub answered 500: Internal Server Error; "
        f"the dataset is committed as {oid} but there is no v3.0 tag now, so lerobot will not load it; "
        "the dataset is complete here, push again"
    )
    assert hub.repos[REPO].tags == {}


def test_existing_public_repo_is_not_pushed_as_private(dataset: Path, hub: RecordingHub) -> None:
    hub.seed(REPO, {}, private=False)
    with pytest.raises(
        LerobotNbError, match=r"lab/pick-red-block exists and is public, not what --private asks"
    ):
        push_dataset(dataset, PushConfig(repo_id=REPO, private=True))
    assert "create_commit" not in hub.names()


def test_invalid_dataset_is_refused_before_any_call(dataset: Path, hub: RecordingHub, tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    shutil.copytree(dataset, bad)
    info = json.loads((bad / "meta/info.json").read_text())
    info["total_frames"] = 25
    (bad / "meta/info.json").write_text(json.dumps(info))
    failed = sorted(validate(bad).failed)
    assert failed

    with pytest.raises(LerobotNbError) as err:
        push_dataset(bad, PushConfig(repo_id=REPO))

    assert str(err.value) == (
        f"{bad}: the dataset failed validation ({', '.join(failed)}): nothing was pushed; "
        f"see `lerobot-nb validate {bad}`"
    )
    assert hub.calls == []


def test_no_token_is_one_line_before_any_call(
    dataset: Path, hub: RecordingHub, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_OIDC_RESOURCE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(tmp_path / "no-token"))

    with pytest.raises(LerobotNbError) as err:
        push_dataset(dataset, PushConfig(repo_id=REPO))

    assert str(err.value) == (
        f"{dataset}: no Hugging Face token: nothing was pushed; the dataset is complete here, run "
        "`hf auth login` (huggingface_hub 1.x's `huggingface-cli login`) or set HF_TOKEN"
    )
    assert hub.calls == []


@pytest.mark.parametrize("switch", ["HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"])
def test_offline_mode_is_one_line_before_any_call(
    dataset: Path, hub: RecordingHub, monkeypatch: pytest.MonkeyPatch, switch: str
) -> None:
    """huggingface_hub goes offline with either variable (read at import: the constant is patched too)."""
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(switch, "1")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(LerobotNbError) as err:
        push_dataset(dataset, PushConfig(repo_id=REPO))
    assert str(err.value) == (
        f"{dataset}: offline mode is on ({switch}=1): nothing was pushed; the dataset is complete "
        f"here, unset {switch} and push again"
    )
    assert hub.calls == []


def test_unreachable_hub_is_a_real_network_failure(dataset: Path, endpoint: str) -> None:
    """No stand-in: the real client against a closed local port."""
    with pytest.raises(LerobotNbError) as err:
        push_dataset(dataset, PushConfig(repo_id=REPO, branch="v0.1"))
    message = str(err.value)
    assert message.startswith(
        f"{dataset}: push failed while creating the dataset repository {REPO}: cannot reach the Hub at "
        f"{endpoint} (ConnectError: "
    )
    assert message.endswith(
        "check the network or HF_ENDPOINT; nothing was uploaded and the v3.0 tag was not touched; "
        "the dataset is complete here, push again"
    )
    assert "\n" not in message


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "no Hub repository given: pass --repo-id user/name"),
        ({"repo_id": "pick"}, "--repo-id 'pick' is not a Hub repository id: expected user/name"),
        ({"repo_id": "a/b/c"}, "--repo-id 'a/b/c' is not a Hub repository id"),
        ({"repo_id": "a/b", "branch": "v3.0"}, "--branch v3.0 would shadow the v3.0 version tag"),
        ({"repo_id": "a/b", "branch": "my branch"}, "--branch 'my branch' is not a valid branch name"),
        ({"repo_id": "a/b", "branch": "x..y"}, "--branch 'x..y' is not a valid branch name"),
    ],
)
def test_push_config_refuses_bad_names(kwargs: dict[str, str], message: str) -> None:
    with pytest.raises(LerobotNbError) as err:
        PushConfig(**kwargs)  # type: ignore[arg-type]
    assert str(err.value).startswith(message)


def test_why_not_lerobots_push_to_hub(dataset: Path, hub: RecordingHub) -> None:
    """lerobot 0.6.1's own push branches a dataset opened from disk off the `v3.0` tag, which a new
    repository does not have: it stops at create_branch (the Hub answers 404 to a missing revision)."""
    from huggingface_hub.errors import RevisionNotFoundError
    from lerobot.datasets import LeRobotDataset

    with pytest.raises(RevisionNotFoundError):
        LeRobotDataset(REPO, root=dataset, video_backend="pyav").push_to_hub(branch="v0.1")
    assert hub.names() == ["create_repo", "create_branch"]
    assert hub.only("create_branch")["revision"] == "v3.0"
