"""`lerobot-nb push` and the Hub flags other commands reuse: exit codes, one-line errors, the flags' values."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import free_port
from export_support import synthetic_episode
from hub_standin import RecordingHub, recording_hub
from huggingface_hub import DatasetCard

from lerobot_nb.cli.main import SUBCOMMANDS, main
from lerobot_nb.errors import LerobotNbError
from lerobot_nb.export import ExportConfig, export_dataset
from lerobot_nb.hub import PushConfig, add_push_arguments, push_request

REPO = "lab/pick-red-block"


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("hubcli") / "pick"
    export_dataset(
        [synthetic_episode("e0", 12, 0, cameras=("front",))], ExportConfig(output=str(root), progress=False)
    )
    return root


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch) -> RecordingHub:
    return recording_hub(monkeypatch)


def test_push_is_listed_after_stats() -> None:
    # the data flow: validate, stats, curate (edits a validated dataset), then push
    assert SUBCOMMANDS.index("push") == SUBCOMMANDS.index("curate") + 1 == SUBCOMMANDS.index("stats") + 2
    assert SUBCOMMANDS.index("notebooks") == SUBCOMMANDS.index("push") + 1


def test_cli_push_exit_0(dataset: Path, hub: RecordingHub, capsys: pytest.CaptureFixture[str]) -> None:
    argv = [
        "push",
        str(dataset),
        "--repo-id",
        REPO,
        "--branch",
        "xgym-v0.1",
        "--private",
        "--tags",
        "xgym",
        "lift",
    ]
    assert main(argv) == 0
    oid = hub.repos[REPO].branches["xgym-v0.1"]
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(
        f"pushed {dataset} to {hub.endpoint}/datasets/{REPO} (xgym-v0.1, commit {oid[:12]}): 7 files"
    )
    assert len(out) == 1  # a branch name that is no version: no note
    assert hub.only("create_repo")["private"] is True
    assert hub.only("create_branch")["branch"] == "xgym-v0.1"
    assert hub.only("create_commit")["revision"] == "xgym-v0.1"
    assert hub.only("create_tag")["revision"] == oid
    card = DatasetCard(hub.tree(REPO, oid)["README.md"].decode())
    assert card.data.tags == ["LeRobot", "xgym", "lift"]


def test_cli_bad_repo_id_exits_2(
    dataset: Path, hub: RecordingHub, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["push", str(dataset), "--repo-id", "pick"]) == 2
    assert capsys.readouterr().err == (
        "error: --repo-id 'pick' is not a Hub repository id: expected user/name (letters, digits, '-', '_', '.')\n"
    )
    assert hub.calls == []


def test_cli_not_a_dataset_exits_2(
    tmp_path: Path, hub: RecordingHub, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["push", str(tmp_path), "--repo-id", REPO]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1
    assert hub.calls == []


def _run(
    dataset: Path, tmp_path: Path, argv: list[str | Path] | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    # Earlier tests in this process may have set TRANSFORMERS_OFFLINE (the language step does).
    offline = ("HF_", "HUGGING_FACE", "TRANSFORMERS_OFFLINE")
    base = {k: v for k, v in os.environ.items() if not k.startswith(offline)}
    exe = Path(sys.executable).with_name("lerobot-nb")
    return subprocess.run(
        argv or [exe, "push", dataset, "--repo-id", REPO, "--branch", "v0.1"],
        env={**base, "HF_HOME": str(tmp_path / "hf-home"), **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


@pytest.mark.slow
def test_subprocess_unreachable_hub_is_one_line_exit_2(dataset: Path, tmp_path: Path) -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"
    run = _run(dataset, tmp_path, HF_ENDPOINT=endpoint, HF_TOKEN="hf_not_a_real_token")
    assert run.returncode == 2, run.stderr
    assert run.stdout == ""
    lines = run.stderr.splitlines()
    assert len(lines) == 1 and "Traceback" not in run.stderr, run.stderr
    assert lines[0].startswith(
        f"error: {dataset}: push failed while creating the dataset repository {REPO}: cannot reach the Hub "
        f"at {endpoint} (ConnectError: "
    )


@pytest.mark.slow
def test_subprocess_without_token_is_one_line_exit_2(dataset: Path, tmp_path: Path) -> None:
    run = _run(dataset, tmp_path, HF_ENDPOINT=f"http://127.0.0.1:{free_port()}")
    assert run.returncode == 2, run.stderr
    assert run.stderr == (
        f"error: {dataset}: no Hugging Face token: nothing was pushed; the dataset is complete here, run "
        "`hf auth login` (huggingface_hub 1.x's `huggingface-cli login`) or set HF_TOKEN\n"
    )


@pytest.mark.slow
def test_validating_first_does_not_make_the_push_offline(dataset: Path, tmp_path: Path) -> None:
    """A writing command's order: validate (its loader check keeps lerobot off the Hub for that block
    only), import the hub, then push with that report: the push still goes online."""
    script = (
        "import sys, os; from lerobot_nb.validate import validate\n"
        "report = validate(sys.argv[1]); assert 'HF_HUB_OFFLINE' not in os.environ\n"
        "from lerobot_nb.hub import PushConfig, push_dataset\n"
        "push_dataset(sys.argv[1], PushConfig(repo_id='lab/pick-red-block'), report=report)\n"
    )
    endpoint = f"http://127.0.0.1:{free_port()}"
    run = _run(
        dataset, tmp_path, [sys.executable, "-c", script, dataset], HF_ENDPOINT=endpoint, HF_TOKEN="hf_x"
    )
    assert run.returncode == 1
    assert (
        f"push failed while creating the dataset repository {REPO}: cannot reach the Hub at {endpoint}"
        in (run.stderr.splitlines()[-1])
    ), run.stderr


def _parse(argv: list[str], *, push: bool | None = True) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_push_arguments(parser, push=push)
    return parser.parse_args(argv)


def test_push_flags_for_commands_that_write_a_dataset() -> None:
    """What an xgym `lrbt` command gets: push by default, --no-push, the PushConfig from the flags."""
    args = _parse(["--repo-id", REPO, "--branch", "v0.1", "--tags", "xgym", "lift", "--tags", "memmap"])
    assert args.push is True
    assert push_request(args) == PushConfig(repo_id=REPO, branch="v0.1", tags=("xgym", "lift", "memmap"))
    assert push_request(_parse(["--no-push"])) is None
    assert push_request(_parse([], push=False)) is None
    assert push_request(_parse(["--push", "--repo-id", REPO, "--no-private"], push=False)) == PushConfig(
        repo_id=REPO, private=False
    )
    with pytest.raises(LerobotNbError) as err:
        push_request(_parse(["--branch", "v0.1"]))
    assert str(err.value) == "--push needs --repo-id user/name (or pass --no-push to only write the dataset)"
    with pytest.raises(SystemExit):
        _parse(["--no-push"], push=None)  # `lerobot-nb push` has no --no-push
