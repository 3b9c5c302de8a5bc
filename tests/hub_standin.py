"""A recording stand-in for the Hugging Face Hub at the `HfApi` boundary (no Hub is reachable here).

`RecordingHub.install(monkeypatch)` replaces the `HfApi` methods a push calls, on the class, so
every `HfApi()` (ours or a library's) goes through it. Each call is recorded with all its
arguments bound against the real method's signature (a wrong keyword fails as it would with the
real client), then answered from a small model of repositories: branches, tags and commits with
their file trees. The model is strict where the Hub is: a revision that does not exist, a
`parent_commit` that is not the branch head, an existing tag or branch without `exist_ok`. Every
other `HfApi` call goes to `HF_ENDPOINT`, which the fixture points at a closed port.
"""

from __future__ import annotations

import hashlib
import inspect
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import free_port
from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi, constants
from huggingface_hub.errors import HfHubHTTPError, RevisionNotFoundError
from huggingface_hub.hf_api import CommitInfo, DatasetInfo

#: The methods a push may call (any order); the stand-in answers exactly these.
METHODS = frozenset(
    {
        "create_branch",
        "create_commit",
        "create_repo",
        "create_tag",
        "delete_tag",
        "list_repo_files",
        "repo_info",
    }
)


def closed_endpoint(monkeypatch: pytest.MonkeyPatch) -> str:
    """Online mode, a token, and the Hub endpoint on a closed local port: an unanswered call fails."""
    url = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setattr(constants, "ENDPOINT", url)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setenv("HF_TOKEN", "hf_standin")
    return url


def recording_hub(monkeypatch: pytest.MonkeyPatch) -> RecordingHub:
    """A `RecordingHub` installed on `HfApi`, behind a closed endpoint."""
    return RecordingHub(closed_endpoint(monkeypatch)).install(monkeypatch)


@dataclass
class Call:
    name: str
    args: dict[str, Any]  # every parameter of the real method, defaults included


@dataclass
class Repo:
    private: bool
    branches: dict[str, str] = field(default_factory=dict)  # name -> commit oid
    tags: dict[str, str] = field(default_factory=dict)
    trees: dict[str, dict[str, bytes]] = field(default_factory=dict)  # oid -> {path: content}

    def resolve(self, revision: str | None) -> str:
        rev = revision or "main"
        oid = self.branches.get(rev) or self.tags.get(rev) or (rev if rev in self.trees else None)
        if oid is None:
            raise http_error(RevisionNotFoundError, 404, f"Invalid rev id: {rev}")
        return oid

    def add_commit(self, tree: dict[str, bytes], message: str) -> str:
        oid = hashlib.sha1(f"{len(self.trees)}:{message}".encode() + repr(sorted(tree)).encode()).hexdigest()
        self.trees[oid] = tree
        return oid


def http_error(cls: type[HfHubHTTPError], status: int, message: str) -> HfHubHTTPError:
    response = httpx.Response(status, request=httpx.Request("POST", "http://hub.invalid/api"))
    return cls(message, response=response)


class RecordingHub:
    """The Hub's side of `HfApi`: records calls, keeps repositories in memory."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self.calls: list[Call] = []
        self.repos: dict[str, Repo] = {}
        self.failures: dict[str, Exception] = {}

    def install(self, monkeypatch: pytest.MonkeyPatch) -> RecordingHub:
        for name in METHODS:
            monkeypatch.setattr(HfApi, name, self._recorder(name))
        return self

    def fail(self, name: str, exc: Exception) -> None:
        """The next call of `name` is recorded, then raises `exc` (the Hub changes nothing)."""
        self.failures[name] = exc

    def names(self) -> list[str]:
        return [c.name for c in self.calls]

    def only(self, name: str) -> dict[str, Any]:
        """The arguments of the one call of `name`."""
        found = [c.args for c in self.calls if c.name == name]
        assert len(found) == 1, (name, self.names())
        return found[0]

    def _recorder(self, name: str) -> Any:
        signature = inspect.signature(getattr(HfApi, name))
        answer = getattr(self, f"_{name}")

        def method(api: HfApi, *args: Any, **kwargs: Any) -> Any:
            bound = signature.bind(api, *args, **kwargs)
            bound.apply_defaults()
            arguments = dict(bound.arguments)
            arguments.pop("self")
            self.calls.append(Call(name, arguments))
            if name in self.failures:
                raise self.failures.pop(name)
            return answer(**arguments)

        return method

    def _repo(self, repo_id: str, repo_type: str | None) -> Repo:
        assert repo_type == "dataset", repo_type
        if repo_id not in self.repos:
            raise http_error(HfHubHTTPError, 404, f"Repository not found: {repo_id}")
        return self.repos[repo_id]

    def seed(
        self, repo_id: str, files: dict[str, bytes], *, private: bool = False, tag: str | None = None
    ) -> str:
        """A repository as an earlier push left it: `files` on main, optionally tagged."""
        repo = self.repos[repo_id] = Repo(private=private)
        oid = repo.add_commit({".gitattributes": b"*.mp4 filter=lfs\n", **files}, "earlier push")
        repo.branches["main"] = oid
        if tag:
            repo.tags[tag] = oid
        return oid

    def tree(self, repo_id: str, revision: str) -> dict[str, bytes]:
        repo = self.repos[repo_id]
        return repo.trees[repo.resolve(revision)]

    # The answers: one per method in METHODS, taking its parameters by name.

    def _create_repo(
        self, repo_id: str, repo_type: str | None, private: bool | None, exist_ok: bool, **_: Any
    ) -> str:
        if repo_id in self.repos:
            if not exist_ok:
                raise http_error(HfHubHTTPError, 409, "You already created this dataset repo")
        else:
            repo = self.repos[repo_id] = Repo(private=bool(private))  # users' repos are public by default
            repo.branches["main"] = repo.add_commit(
                {".gitattributes": b"*.mp4 filter=lfs\n"}, "initial commit"
            )
        return f"{self.endpoint}/datasets/{repo_id}"

    def _create_branch(
        self, repo_id: str, branch: str, revision: str | None, repo_type: str | None, exist_ok: bool, **_: Any
    ) -> None:
        repo = self._repo(repo_id, repo_type)
        if branch in repo.branches:
            if not exist_ok:
                raise http_error(HfHubHTTPError, 409, f"Reference already exists: refs/heads/{branch}")
            return
        repo.branches[branch] = repo.resolve(revision)

    def _repo_info(self, repo_id: str, revision: str | None, repo_type: str | None, **_: Any) -> DatasetInfo:
        repo = self._repo(repo_id, repo_type)
        return DatasetInfo(id=repo_id, sha=repo.resolve(revision), private=repo.private)

    def _list_repo_files(
        self, repo_id: str, revision: str | None, repo_type: str | None, **_: Any
    ) -> list[str]:
        return sorted(self._repo(repo_id, repo_type).trees[self._repo(repo_id, repo_type).resolve(revision)])

    def _create_commit(
        self,
        repo_id: str,
        operations: Any,
        commit_message: str,
        repo_type: str | None,
        revision: str | None,
        parent_commit: str | None,
        **_: Any,
    ) -> CommitInfo:
        repo = self._repo(repo_id, repo_type)
        branch = revision or "main"
        if branch not in repo.branches:
            raise http_error(RevisionNotFoundError, 404, f"Invalid rev id: {branch}")
        head = repo.branches[branch]
        if parent_commit is not None and parent_commit != head:
            raise http_error(
                HfHubHTTPError, 412, "A commit has happened since. Please refresh and try again."
            )
        tree = dict(repo.trees[head])
        for op in operations:
            if isinstance(op, CommitOperationDelete):
                del tree[op.path_in_repo]
            else:
                assert isinstance(op, CommitOperationAdd)
                source = op.path_or_fileobj
                tree[op.path_in_repo] = source if isinstance(source, bytes) else Path(source).read_bytes()
        oid = repo.branches[branch] = repo.add_commit(tree, commit_message)
        return CommitInfo(
            commit_url=f"{self.endpoint}/datasets/{repo_id}/commit/{oid}",
            commit_message=commit_message,
            commit_description="",
            oid=oid,
            pr_url=None,
            _endpoint=self.endpoint,
        )

    def _delete_tag(self, repo_id: str, tag: str, repo_type: str | None, **_: Any) -> None:
        repo = self._repo(repo_id, repo_type)
        if tag not in repo.tags:
            raise http_error(RevisionNotFoundError, 404, f"Invalid rev id: {tag}")
        del repo.tags[tag]

    def _create_tag(
        self, repo_id: str, tag: str, revision: str | None, repo_type: str | None, exist_ok: bool, **_: Any
    ) -> None:
        repo = self._repo(repo_id, repo_type)
        if tag in repo.tags and not exist_ok:
            raise http_error(HfHubHTTPError, 409, f"Tag {tag} already exists")
        repo.tags[tag] = repo.resolve(revision)
