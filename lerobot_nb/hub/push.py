"""Publish a finished LeRobot v3.0 dataset folder to the Hugging Face Hub, tagged for lerobot.

The calls, in this order, so that a failure at any point leaves no tag claiming a finished
dataset (lerobot loads the commit that the `v3.0` tag names):

1. Look for a token and `validate` the folder, before any call: offline mode, a missing token
   or an invalid dataset stop here with one line.
2. `create_repo(repo_type="dataset", private=..., exist_ok=True)`: an empty repository claims nothing.
3. `create_branch(branch, revision="main", exist_ok=True)`, only when a branch is asked.
4. `repo_info(revision=branch)` and `list_repo_files(revision=<its head>)`: the parent commit and
   the files of a previous push that the new dataset no longer has.
5. One `create_commit` with every file of the dataset, lerobot's dataset card as `README.md` and
   the deletions, on `parent_commit=<head>`: the Hub applies the whole commit or nothing.
6. Last, `delete_tag("v3.0")` and `create_tag("v3.0", revision=<the new commit>)`, as lerobot does.

`LeRobotDataset.push_to_hub` (lerobot 0.6.1) makes the same calls, but is not used as is:
it creates the branch from `self.revision`, which for a dataset opened from disk is the tag
`v3.0` (missing on a new repository, the previous push on an old one); with hf_xet installed
(huggingface_hub pulls it) its `upload_folder` commits in batches (~250 files, 100 MB of non-LFS
content or 5 minutes, whichever comes first), so a failure midway leaves part of the files; it
keeps files of a previous push that the new dataset does not have; the card is a second commit;
and the tag names the branch (whatever its head is by then), not the commit it made. Its dataset
card (`create_lerobot_dataset_card`), version, ignore patterns and call order are reused.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from lerobot_nb.errors import LerobotNbError
from lerobot_nb.hub.config import PushConfig
from lerobot_nb.lerobot_v3.layout import INFO_PATH
from lerobot_nb.validate import ValidateConfig, ValidationReport, validate

if TYPE_CHECKING:
    from huggingface_hub import HfApi
    from huggingface_hub.hf_api import CommitOperation

__all__ = ["CARD_PATH", "PushResult", "dataset_files", "push_dataset"]

#: Where the Hub shows the dataset card; a README.md inside the dataset is replaced by the card.
CARD_PATH = "README.md"
#: What lerobot's `push_to_hub` leaves out (its writer's temporary PNG frames).
LEROBOT_IGNORE = ("images/",)
#: Either one switches huggingface_hub to offline mode.
OFFLINE_VARIABLES = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
_LOGIN_HINT = "run `hf auth login` (huggingface_hub 1.x's `huggingface-cli login`) or set HF_TOKEN"


@dataclass(frozen=True, kw_only=True)
class PushResult:
    """What a push published: `commit` holds exactly the dataset and the `tag` names it."""

    root: Path
    repo_id: str
    revision: str  # the branch the commit is on ("main" without --branch)
    commit: str  # oid of the commit; lerobot's version tag points here
    tag: str
    files: int  # dataset files in the commit (the card not counted)
    size_bytes: int
    deleted: tuple[str, ...]  # files of an earlier push that the dataset no longer has
    url: str
    notes: tuple[str, ...] = ()

    def __str__(self) -> str:
        lines = [
            f"pushed {self.root} to {self.url} ({self.revision}, commit {self.commit[:12]}): "
            f"{self.files} files, {self.size_bytes / 1e6:.1f} MB, {len(self.deleted)} old files removed; "
            f"tag {self.tag} -> {self.commit[:12]}"
        ]
        return "\n".join(lines + [f"note: {n}" for n in self.notes])


def dataset_files(root: Path) -> list[str]:
    """The dataset's files as repository paths (sorted), without what lerobot and the Hub skip."""
    from huggingface_hub.utils import DEFAULT_IGNORE_PATTERNS, filter_repo_objects

    paths = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    ignore = [*LEROBOT_IGNORE, *DEFAULT_IGNORE_PATTERNS, CARD_PATH]
    return list(filter_repo_objects(paths, ignore_patterns=ignore))


def _require_valid(root: Path, report: ValidationReport | None, config: ValidateConfig | None) -> None:
    if report is None or report.path.resolve() != root:
        report = validate(root, config=config)
    if not report.ok:
        raise LerobotNbError(
            f"the dataset failed validation ({', '.join(sorted(report.failed))}): nothing was pushed; "
            f"see `lerobot-nb validate {root}`",
            file=root,
        )


def _offline_switch() -> str:
    """Which variable made huggingface_hub offline (it reads both, once, at import)."""
    on = [v for v in OFFLINE_VARIABLES if os.environ.get(v, "").upper() in ("1", "ON", "YES", "TRUE")]
    return on[0] if on else OFFLINE_VARIABLES[0]


def _require_credentials(root: Path) -> None:
    """Offline mode and a missing token are known before any call: say so, touch nothing."""
    from huggingface_hub import constants, get_token

    if constants.HF_HUB_OFFLINE:
        switch = _offline_switch()
        raise LerobotNbError(
            f"offline mode is on ({switch}=1): nothing was pushed; the dataset is complete here, "
            f"unset {switch} and push again",
            file=root,
        )
    if get_token() is None:
        raise LerobotNbError(
            f"no Hugging Face token: nothing was pushed; the dataset is complete here, {_LOGIN_HINT}",
            file=root,
        )


def _describe(exc: Exception, endpoint: str, repo_id: str) -> str:
    """One line saying what went wrong between us and the Hub, and what fixes it."""
    import httpx
    from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled

    if isinstance(exc, OfflineModeIsEnabled):
        return f"offline mode is on ({_offline_switch()}=1): unset it"
    if isinstance(exc, HfHubHTTPError):
        status = exc.response.status_code if exc.response is not None else None
        if status == 401:
            return f"the Hub refused the token (401 Unauthorized); {_LOGIN_HINT} with a valid token"
        if status == 403:
            return f"the token may not write to {repo_id} (403 Forbidden); use a token with write access"
        return f"the Hub answered {status}: {str(exc).splitlines()[0]}"
    if isinstance(exc, httpx.TransportError | OSError):  # HfHubHTTPError is an OSError too: checked first
        return f"cannot reach the Hub at {endpoint} ({type(exc).__name__}: {exc}); check the network or HF_ENDPOINT"
    return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"


def _card(root: Path, config: PushConfig) -> bytes:
    """lerobot's own dataset card (tags LeRobot + `config.tags`, meta/info.json shown)."""
    from lerobot.datasets.io_utils import load_info
    from lerobot.datasets.utils import create_lerobot_dataset_card

    card = create_lerobot_dataset_card(
        tags=list(dict.fromkeys(config.tags)),
        dataset_info=load_info(root),
        license=config.license,
        repo_id=config.repo_id,
    )
    return str(card).encode()


def _commit_message(root: Path, version: str) -> str:
    info = json.loads((root / INFO_PATH).read_text())
    return (
        f"LeRobot {version} dataset: {info['total_episodes']} episodes, {info['total_frames']} frames "
        f"at {info['fps']} fps (lerobot-nb push)"
    )


def _version_note(revision: str, repo_id: str) -> tuple[str, ...]:
    """lerobot resolves a revision that parses as a version (`v0.1`) against its version tags."""
    from lerobot.datasets.utils import is_valid_version

    if revision == "main" or not is_valid_version(revision):
        return ()
    return (
        f"lerobot 0.6.1 reads revision {revision!r} as a dataset format version, so "
        f"LeRobotDataset({repo_id!r}, revision={revision!r}) raises; load this push with "
        "revision=<the commit above>, or name branches so they do not parse as versions",
    )


@dataclass(frozen=True)
class _Hub:
    """One push's Hub calls; every failure becomes one line saying what the Hub holds now."""

    root: Path
    api: HfApi
    repo: str
    branch: str | None  # None: the default branch
    version: str  # lerobot's codebase version, the tag name

    @property
    def revision(self) -> str:
        return self.branch or "main"

    @contextmanager
    def step(self, what: str, state: str) -> Iterator[None]:
        try:
            yield
        except LerobotNbError:
            raise
        except Exception as exc:
            raise LerobotNbError(
                f"push failed while {what}: {_describe(exc, self.api.endpoint, self.repo)}; {state}; "
                "the dataset is complete here, push again",
                file=self.root,
            ) from exc

    def prepare(self, private: bool | None) -> tuple[str, list[str]]:
        """Create the repository (and branch) if missing: the head commit and its files."""
        untouched = f"nothing was uploaded and the {self.version} tag was not touched"
        with self.step(f"creating the dataset repository {self.repo}", untouched):
            self.api.create_repo(self.repo, repo_type="dataset", private=private, exist_ok=True)
        if self.branch:
            with self.step(f"creating branch {self.branch} from main", untouched):
                self.api.create_branch(
                    self.repo, branch=self.branch, revision="main", repo_type="dataset", exist_ok=True
                )
        with self.step(f"reading the head of {self.revision}", untouched):
            head = self.api.repo_info(self.repo, revision=self.revision, repo_type="dataset")
            remote = self.api.list_repo_files(self.repo, revision=head.sha, repo_type="dataset")
        if private is not None and bool(head.private) != private:
            raise LerobotNbError(
                f"{self.repo} exists and is {'private' if head.private else 'public'}, not what "
                f"--{'' if private else 'no-'}private asks: {untouched}; change its visibility on the Hub "
                "or drop the flag",
                file=self.root,
            )
        assert head.sha is not None  # the Hub always answers a revision with its commit
        return head.sha, remote

    def commit(self, operations: list[CommitOperation], message: str, parent: str) -> str:
        """One commit on the branch, on top of `parent`: the oid of the new head."""
        whole = (
            f"nothing was committed (a commit is all or nothing) and the {self.version} tag was not touched"
        )
        with self.step(f"committing the dataset to {self.revision}", whole):
            info = self.api.create_commit(
                self.repo,
                operations,
                commit_message=message,
                repo_type="dataset",
                revision=self.branch,
                parent_commit=parent,
            )
        return info.oid

    def tag(self, oid: str) -> None:
        """Move lerobot's version tag to `oid` (delete, then create, as lerobot does)."""
        from huggingface_hub.errors import RevisionNotFoundError

        kept = f"the dataset is committed as {oid} but the {self.version} tag still names the previous push"
        with self.step(f"removing the old {self.version} tag", kept), suppress(RevisionNotFoundError):
            self.api.delete_tag(self.repo, tag=self.version, repo_type="dataset")
        gone = f"the dataset is committed as {oid} but there is no {self.version} tag now, so lerobot will not load it"
        with self.step(f"tagging {oid} as {self.version}", gone):
            self.api.create_tag(self.repo, tag=self.version, revision=oid, repo_type="dataset")


def _operations(root: Path, files: list[str], card: bytes, deleted: tuple[str, ...]) -> list[CommitOperation]:
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete

    return [
        *(CommitOperationAdd(path_in_repo=p, path_or_fileobj=str(root / p)) for p in files),
        CommitOperationAdd(path_in_repo=CARD_PATH, path_or_fileobj=card),
        *(CommitOperationDelete(path_in_repo=p) for p in deleted),
    ]


def push_dataset(
    path: str | Path,
    config: PushConfig,
    *,
    report: ValidationReport | None = None,
    validate_config: ValidateConfig | None = None,
) -> PushResult:
    """Publish the LeRobot v3.0 dataset folder `path` to `config.repo_id` (order: module docstring).

    The folder is validated first unless `report` is a report of this same folder. Raises
    `LerobotNbError` (one line: the step, the cause, what the Hub holds now) on an invalid dataset,
    offline mode, no token or any Hub failure; the folder is only read.
    """
    from huggingface_hub import HfApi
    from lerobot.datasets.dataset_metadata import CODEBASE_VERSION

    root = Path(path).expanduser().resolve()
    _require_credentials(root)  # before validating: it takes no time and needs no network
    _require_valid(root, report, validate_config)
    files, card = dataset_files(root), _card(root, config)
    hub = _Hub(
        root, HfApi(), config.repo_id, config.branch if config.branch != "main" else None, CODEBASE_VERSION
    )
    parent, remote = hub.prepare(config.private)
    deleted = tuple(p for p in remote if p not in {*files, CARD_PATH, ".gitattributes"})
    oid = hub.commit(_operations(root, files, card, deleted), _commit_message(root, CODEBASE_VERSION), parent)
    hub.tag(oid)
    return PushResult(
        root=root,
        repo_id=config.repo_id,
        revision=hub.revision,
        commit=oid,
        tag=CODEBASE_VERSION,
        files=len(files),
        size_bytes=sum((root / p).stat().st_size for p in files),
        deleted=deleted,
        url=f"{hub.api.endpoint}/datasets/{config.repo_id}",
        notes=_version_note(hub.revision, config.repo_id),
    )
